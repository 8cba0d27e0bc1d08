# Shared by the black-box shell tests: a private temp folder and home per
# test file, free ports, polling instead of sleeping, TAP-style results, and
# a trap that stops every process the test started.
#
#   . "$(dirname "$0")/lib.sh"
#   start_wsd -f "$T/eco.json"       # foreground wsd in the background
#   wait_for 5 "instance online" instance_status 0 online
#   ok "kill -9 restarts the instance"   /   not_ok "…" "details"
#   finish                            # exit status from the results
set -u
TOP=${WSD_TOP:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
BIN=${WSD_BINDIR:-$TOP/bin}
export PATH="$BIN:$PATH"
T=$(mktemp -d "${TMPDIR:-/tmp}/wsd-bb.XXXXXX")
export WSD_HOME=$T/home
mkdir -p "$WSD_HOME"
# Short timers so restart/backoff tests are quick (each is documented in README).
export WSD_STATS_INTERVAL_MS=${WSD_STATS_INTERVAL_MS:-200}
BB_PASS=0
BB_FAIL=0
BB_PIDS=()

ok()     { BB_PASS=$((BB_PASS + 1)); echo "ok - $1"; }
not_ok() { BB_FAIL=$((BB_FAIL + 1)); echo "not ok - $1"; [ $# -lt 2 ] || printf '  # %s\n' "${@:2}"; }
# check NAME CMD... : ok when CMD succeeds
check()  { local n=$1; shift; if "$@"; then ok "$n"; else not_ok "$n" "command: $*"; fi; }
note()   { echo "# $*"; }

# free_port: a TCP port nobody listens on now (bind to 0, read, close).
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# wait_for SECONDS DESCRIPTION CMD...: poll CMD every 50 ms until it
# succeeds; returns 1 (and says what it waited for) on timeout.
wait_for() {
	local secs=$1 what=$2 end
	shift 2
	end=$(( $(date +%s%N) / 1000000 + secs * 1000 ))
	while :; do
		if "$@" >/dev/null 2>&1; then return 0; fi
		if [ $(( $(date +%s%N) / 1000000 )) -ge $end ]; then
			echo "# timed out after ${secs}s waiting for: $what"
			return 1
		fi
		sleep 0.05
	done
}

# track PID: kill it (and its process group) at exit.
track() { BB_PIDS+=("$1"); }

# start_wsd ARGS...: wsd --foreground in the background, tracked; waits for
# the control socket to answer.  Sets WSD_PID.
start_wsd() {
	wsd --foreground "$@" >> "$T/wsd.stdout" 2>&1 &
	WSD_PID=$!
	track "$WSD_PID"
	wait_for 10 "wsd control socket" wsctl ping
}

# start_redis: a private redis-server on a free port, tracked. Sets REDIS_PORT.
start_redis() {
	REDIS_PORT=$(free_port)
	redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' \
	    --appendonly no --dir "$T" --logfile "$T/redis-$REDIS_PORT.log" &
	track $!
	REDIS_PID=$!
	wait_for 10 "redis on $REDIS_PORT" redis-cli -p "$REDIS_PORT" ping
}

# start_redis_on PORT [ARGS...]: a private redis-server on PORT with extra
# arguments (a restart on the same port, --requirepass, --replicaof), tracked.
# Sets REDIS_PID.
start_redis_on() {
	local port=$1
	shift
	redis-server --port "$port" --bind 127.0.0.1 --save '' \
	    --appendonly no --dir "$T" --logfile "$T/redis-$port.log" "$@" &
	REDIS_PID=$!
	track "$REDIS_PID"
	wait_for 10 "redis on $port" redis_answers "$port"
}
# redis_answers PORT: the server replies (PONG, or NOAUTH with a password).
redis_answers() {
	redis-cli -p "$1" ping 2>&1 | grep -qE 'PONG|NOAUTH'
}

# start_sentinel PORT MASTER_PORT [NAME]: a redis-sentinel on PORT watching
# 127.0.0.1:MASTER_PORT (quorum 2, down after 1 s, failover timeout 5 s), its
# config in $T, tracked.  Sets SENTINEL_PID.
start_sentinel() {
	local port=$1 master=$2 name=${3:-mymaster}
	cat > "$T/sentinel-$port.conf" <<-EOF
	port $port
	bind 127.0.0.1
	dir $T
	logfile $T/sentinel-$port.log
	sentinel monitor $name 127.0.0.1 $master 2
	sentinel down-after-milliseconds $name 1000
	sentinel failover-timeout $name 5000
	sentinel parallel-syncs $name 1
	EOF
	redis-sentinel "$T/sentinel-$port.conf" &
	SENTINEL_PID=$!
	track "$SENTINEL_PID"
	wait_for 10 "sentinel on $port" redis-cli -p "$port" ping
}

# jq-free JSON access for shell tests: json_get 'EXPR' < json  (python)
json_get() {
	python3 -c 'import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1], {"d": d}))' "$1"
}

# instance_field ID FIELD: a field of instance ID from `wsctl list --json`.
instance_field() {
	wsctl status --json | json_get "[i for i in d['instances'] if i['id']==$1][0]['$2']"
}
instance_status() { [ "$(instance_field "$1" status)" = "$2" ]; }

bb_cleanup() {
	local p
	# Ask the daemon first (it stops its instances), then make sure.
	if [ -n "${WSD_PID:-}" ] && kill -0 "$WSD_PID" 2>/dev/null; then
		timeout 10 wsctl kill >/dev/null 2>&1
		for _ in $(seq 1 100); do kill -0 "$WSD_PID" 2>/dev/null || break; sleep 0.05; done
	fi
	for p in "${BB_PIDS[@]}"; do
		kill -KILL "-$p" 2>/dev/null
		kill -KILL "$p" 2>/dev/null
	done
	# Anything still running out of this test's home (daemonized wsd).
	pkill -KILL -f "$T/" 2>/dev/null
	if [ -f "$WSD_HOME/wsd.pid" ]; then kill -KILL "$(cat "$WSD_HOME/wsd.pid")" 2>/dev/null; fi
	wait 2>/dev/null
	if [ "${BB_KEEP:-0}" = 1 ]; then echo "# kept $T"; else rm -rf "$T"; fi
}
trap bb_cleanup EXIT
trap 'exit 130' INT TERM

finish() {
	echo "# $BB_PASS passed, $BB_FAIL failed"
	[ "$BB_FAIL" = 0 ]
	exit $?
}
