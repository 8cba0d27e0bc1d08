#!/bin/sh
# Creates ecosystem/.env from .env.example on first run, with a freshly
# generated 32-byte NEXTAUTH_SECRET and WS_API_KEY; never overwrites.
set -eu
dir=$(cd "$(dirname "$0")" && pwd)
[ -f "$dir/.env" ] && exit 0
secret=$(openssl rand -hex 32)
apikey=$(openssl rand -hex 24)
umask 077
sed -e "s/^NEXTAUTH_SECRET=.*/NEXTAUTH_SECRET=$secret/" \
    -e "s/^WS_API_KEY=.*/WS_API_KEY=$apikey/" \
    "$dir/.env.example" > "$dir/.env.new"
mv "$dir/.env.new" "$dir/.env"
echo "created $dir/.env with a new NEXTAUTH_SECRET and WS_API_KEY"
