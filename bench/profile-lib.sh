# Sourced by bench/profile-*.sh: NAME and the programs it needs are set by
# the caller (PROFILE, NEED, NEED_CMD).  Gives a private folder W, a
# redis-server on RPORT, a SECRET, and stops what was started (PIDS) on
# exit; KEEP=1 keeps W.
cd "$(dirname "$0")/.."
O=${O:-build}
BINDIR=${BINDIR:-bin}
PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3
for f in $NEED; do
	[ -x "$f" ] || { echo "$PROFILE: $f is missing (make all $O/wsbench $O/ceiling)" >&2; exit 1; }
done
command -v "$NEED_CMD" > /dev/null || { echo "$PROFILE: $NEED_CMD is not installed" >&2; exit 1; }
W=$(mktemp -d "${TMPDIR:-/tmp}/wsd-profile.XXXXXX")
PIDS=()
cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
	wait 2>/dev/null
	if [ -n "${KEEP:-}" ]; then echo "$PROFILE: kept $W" >&2; else rm -rf "$W"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
health() { "$PY" -c 'import sys,urllib.request; urllib.request.urlopen("http://127.0.0.1:%s/health" % sys.argv[1], timeout=1).read()' "$1" 2>/dev/null; }

RPORT=$(free_port)
redis-server --port "$RPORT" --bind 127.0.0.1 --save '' --appendonly no \
    > "$W/redis.log" 2>&1 &
PIDS+=($!)
SECRET=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
