# Helpers of the Redis bus tests (test_bus_*.sh), sourced after lib.sh:
# bus-probe processes with a command pipe each, and Redis pub/sub counts.
#
#   probe_start NAME [VAR=value...] -- ARGS...   out in $T/NAME.out
#   probe_cmd NAME "unsub k1"                    a line on its stdin
#   wait_for 5 "…" probe_has NAME "msg k1 x"     fixed-string match
PROBE=${WSD_OBJDIR:-$TOP/build}/tools/bus-probe
if [ ! -x "$PROBE" ]; then
	not_ok "bus-probe is built" "missing $PROBE"
	finish
fi
# Short timers so that reconnects are quick.
export WS_REDIS_BACKOFF_MIN_MS=50 WS_REDIS_BACKOFF_MAX_MS=500
export WS_REDIS_PING_MS=300 WS_REDIS_CONNECT_TIMEOUT_MS=2000
unset REDIS_URL REDIS_SENTINELS REDIS_PASSWORD REDIS_MASTER_NAME
declare -A PROBE_PID PROBE_FD

probe_start() {
	local name=$1 fd
	local envs=()
	shift
	while [ "$1" != -- ]; do envs+=("$1"); shift; done
	shift
	mkfifo "$T/$name.in"
	exec {fd}<>"$T/$name.in"
	PROBE_FD[$name]=$fd
	env "${envs[@]}" "$PROBE" "$@" < "$T/$name.in" > "$T/$name.out" \
	    2> "$T/$name.err" &
	PROBE_PID[$name]=$!
	track $!
}
probe_cmd()      { echo "$2" >&"${PROBE_FD[$1]}"; }
probe_has()      { grep -qF -- "$2" "$T/$1.out"; }
# probe_count_ge NAME REGEX N: at least N lines match
probe_count_ge() { [ "$(grep -c -- "$2" "$T/$1.out")" -ge "$3" ]; }
hex()            { od -An -v -tx1 | tr -d ' \n'; }
numsub()         { redis-cli -p "$1" pubsub numsub "$2" | sed -n 2p; }
numsub_is()      { [ "$(numsub "$1" "$2")" = "$3" ]; }
channels()       { redis-cli -p "$1" pubsub channels "$2" | grep -c .; }
channels_are()   { [ "$(channels "$1" "$2")" = "$3" ]; }
# probe_exited PID: gone, or a zombie waiting to be reaped.
probe_exited() {
	local s
	s=$(ps -o stat= -p "$1" 2>/dev/null)
	[ -z "$s" ] || [ "${s#Z}" != "$s" ]
}
# probe_wait NAME SECONDS: wait for it to exit; sets PROBE_STATUS (124 when
# it did not exit in time).
probe_wait() {
	local pid=${PROBE_PID[$1]}
	if wait_for "$2" "probe $1 exits" probe_exited "$pid"; then
		wait "$pid"
		PROBE_STATUS=$?
	else
		PROBE_STATUS=124
	fi
}
