#!/usr/bin/env bash
# The environment an instance gets: wsd's env → env_file(s) → env →
# env_<mode>, then secrets (VAR_FILE and the secrets list); secrets masked
# in describe/env; a plain restart keeps the env, --update-env re-reads it.
. "$(dirname "$0")/lib.sh"
# The test machine's own *_FILE variables are not what these tests are about.
for v in $(env | sed -n 's/^\([A-Za-z_][A-Za-z0-9_]*_FILE\)=.*/\1/p'); do unset "$v"; done
# pyenv's python3 shim costs a second per call; the system one is enough.
if [ -x /usr/bin/python3 ]; then python3() { /usr/bin/python3 "$@"; }; fi

mkdir -p "$T/app" "$T/secrets"
cat > "$T/app/show.sh" <<S
#!/bin/sh
env > "$T/env.\$WSD_INSTANCE.\$\$"
mv "$T/env.\$WSD_INSTANCE.\$\$" "$T/env.\$WSD_INSTANCE"
exec sleep 1000
S
chmod +x "$T/app/show.sh"
cat > "$T/app/.env" <<'S'
# a comment
FROM_ENVFILE=file
OVER_ENV=file
OVER_MODE=file
export QUOTED="two words # not a comment"
S
cat > "$T/app/.env2" <<'S'
SECOND=second
FROM_ENVFILE=file2
S
printf 's3cr3t-token\n' > "$T/secrets/api_token"
chmod 600 "$T/secrets/api_token"
printf 'db-pass-xyz\n' > "$T/dbpw"
chmod 600 "$T/dbpw"
cat > "$T/app/eco.json" <<EOF2
{"apps":[{"name":"envy","script":"./show.sh",
  "env_file":[".env",".env2"],
  "env":{"OVER_ENV":"env","OVER_MODE":"env","DB_PASSWORD_FILE":"$T/dbpw","FROM_WSD":"env"},
  "env_production":{"OVER_MODE":"prod"},
  "secrets":["api_token"]}]}
EOF2
export FROM_WSD=wsd ONLY_WSD=wsd SECRETS_DIR="$T/secrets"

start_wsd || { not_ok "wsd starts"; finish; }
wsctl start "$T/app/eco.json" --env production >/dev/null || not_ok "wsctl start --env production"
wait_for 20 "the app's env dump" test -f "$T/env.0" || { not_ok "app started"; finish; }

val() { sed -n "s/^$1=//p" "$T/env.0"; }
expect() {	# expect KEY VALUE
	local got; got=$(val "$1")
	[ "$got" = "$2" ] && ok "$1=$2" || not_ok "$1" "want '$2' got '$got'"
}
expect ONLY_WSD wsd
expect FROM_WSD env
expect FROM_ENVFILE file2
expect SECOND second
expect QUOTED "two words # not a comment"
expect OVER_ENV env
expect OVER_MODE prod
expect API_TOKEN s3cr3t-token
expect DB_PASSWORD db-pass-xyz
grep -q '^DB_PASSWORD_FILE=' "$T/env.0" && not_ok "DB_PASSWORD_FILE removed" || ok "DB_PASSWORD_FILE removed"
expect WSD_APP_NAME envy
expect WSD_INSTANCE 0
expect NODE_APP_INSTANCE 0
expect WSD_IPC_FD 3

wsctl describe envy --json > "$T/describe.json"
wsctl env 0 --json > "$T/env.json"
python3 - "$T/describe.json" "$T/env.json" <<'P' && ok "secrets masked in describe and env" || not_ok "secrets masked" "$(cat "$T/describe.json" "$T/env.json")"
import json, sys
d = json.load(open(sys.argv[1]))
e = json.load(open(sys.argv[2]))["env"]
env = d["instances"][0]["env"]
for m in (env, e):
    assert m["API_TOKEN"] == "****", m["API_TOKEN"]
    assert m["DB_PASSWORD"] == "****", m["DB_PASSWORD"]
    assert m["OVER_MODE"] == "prod"
P
if grep -q 's3cr3t-token\|db-pass-xyz' "$T/describe.json" "$T/env.json" "$T/wsd.stdout"; then
	not_ok "secret values never shown" "$(grep -l 's3cr3t-token\|db-pass-xyz' "$T/describe.json" "$T/env.json" "$T/wsd.stdout")"
else
	ok "secret values appear in no reply and no wsd log line"
fi
wsctl --json env 0 --reveal > "$T/reveal.json" 2>&1 && grep -q s3cr3t-token "$T/reveal.json" \
    && ok "env --reveal shows values to the daemon's uid" || not_ok "env --reveal" "$(cat "$T/reveal.json")"

# Plain restart keeps the env; --update-env re-reads the files.
sed -i 's/^FROM_ENVFILE=file2/FROM_ENVFILE=changed/' "$T/app/.env2"
rm -f "$T/env.0"
wsctl restart envy >/dev/null || not_ok "restart"
wait_for 20 "env dump after restart" test -f "$T/env.0"
expect FROM_ENVFILE file2
rm -f "$T/env.0"
wsctl restart envy --update-env >/dev/null || not_ok "restart --update-env"
wait_for 20 "env dump after restart --update-env" test -f "$T/env.0"
expect FROM_ENVFILE changed
expect OVER_MODE prod

# reload re-reads the env files too (for now a restart with update_env).
sed -i 's/^FROM_ENVFILE=changed/FROM_ENVFILE=reloaded/' "$T/app/.env2"
rm -f "$T/env.0"
wsctl reload envy >/dev/null || not_ok "reload"
wait_for 20 "env dump after reload" test -f "$T/env.0"
expect FROM_ENVFILE reloaded

# A missing env_file on --update-env is a config error; the app keeps running.
mv "$T/app/.env2" "$T/app/.env2.gone"
pid=$(instance_field 0 pid)
if wsctl restart envy --update-env > "$T/err.out" 2>&1; then
	not_ok "missing env_file refused"
else
	grep -q '.env2' "$T/err.out" && ok "missing env_file → error naming the path" || not_ok "error names the path" "$(cat "$T/err.out")"
fi
[ "$(instance_field 0 pid)" = "$pid" ] && instance_status 0 online && ok "app untouched by the refused restart" || not_ok "app untouched"
finish
