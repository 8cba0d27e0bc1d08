#!/usr/bin/env bash
# CPU profile behind BENCHMARKS.md's "one event at a time" rows: the same
# paced fan-out as make bench (5 000 subscribers on one channel, 40 events
# at 10/s) against one wsworker, then against the naive ceiling, twice
# each, measured from the first publish to the end: once for CPU per
# delivery (user and kernel, from /proc) and system calls per delivery
# (perf stat), once under perf record for the hottest symbols.
#
#   make profile-cpu    (= O=build BINDIR=bin bash bench/profile-cpu.sh)
#   KEEP=1 keeps the perf data in the printed folder.
set -u
N=${N:-5000}
EVENTS=${EVENTS:-40}
PROFILE=profile-cpu
NEED="${O:-build}/wsbench ${O:-build}/ceiling ${BINDIR:-bin}/wsworker"
NEED_CMD=perf
. "$(dirname "$0")/profile-lib.sh"
# utime and stime of a process, in clock ticks
ticks() { awk '{ print $14, $15 }' "/proc/$1/stat"; }

# fanout NAME PID PORT: start one paced run (its pid in WB) and return once
# the subscribers are in place, for the caller to attach to PID.
fanout() {
	"$O/wsbench" fanout -n "$N" -m "$EVENTS" --rate 10 --channel post:bench \
	    --redis "127.0.0.1:$RPORT" --port "$3" --secret "$SECRET" \
	    --pids "$2" --drain-ms 2000 --timeout-ms 60000 > "$W/$1.json" &
	WB=$!
	for _ in $(seq 1 600); do grep -q '"subscribed"' "$W/$1.json" && break; sleep 0.05; done
}

summary() {	# NAME RESULT STAT TICKS_BEFORE TICKS_AFTER
	"$PY" - "$@" "$(getconf CLK_TCK)" <<'PYEOF'
import json, sys
name, res, stat, t0, t1, hz = sys.argv[1:]
r = [json.loads(l) for l in open(res) if '"event"' not in l][-1]
u0, s0 = map(int, t0.split()); u1, s1 = map(int, t1.split()); hz = int(hz)
calls = [int(l.split(",")[0]) for l in open(stat) if "sys_enter" in l][0]
d = r["deliveries"]
print("%s: %d/%d delivered, p99 %.1f ms; per delivery: %.2f µs user + %.2f µs kernel, "
      "%.2f system calls" % (name, d, r["expected"], r["p99_ms"],
      (u1 - u0) / hz / d * 1e6, (s1 - s0) / hz / d * 1e6, calls / d))
PYEOF
}

profile() {	# NAME PID PORT
	local name=$1 pid=$2 port=$3 t0 t1 st rp
	for _ in $(seq 1 100); do health "$port" && break; sleep 0.1; done
	# 1: CPU time and system calls, no sampling (it would inflate both)
	fanout "$name" "$pid" "$port"
	t0=$(ticks "$pid")
	perf stat -x, -e raw_syscalls:sys_enter -p "$pid" -o "$W/$name.stat" &
	st=$!
	wait "$WB"
	t1=$(ticks "$pid")
	kill -INT "$st"
	wait "$st" 2>/dev/null
	summary "$name" "$W/$name.json" "$W/$name.stat" "$t0" "$t1"
	# 2: where the time goes (perf record -g, a run of its own)
	fanout "$name" "$pid" "$port"
	perf record -q -g -p "$pid" -o "$W/$name.data" > /dev/null 2>&1 &
	rp=$!
	wait "$WB"
	kill -INT "$rp"
	wait "$rp" 2>/dev/null
	perf report -i "$W/$name.data" --no-children --sort dso --stdio -g none 2>/dev/null |
	    grep -v '^#' | grep -v '^$' | head -4 | sed 's/^/  /'
	perf report -i "$W/$name.data" --no-children --sort dso,sym --stdio -g none 2>/dev/null |
	    grep -v '^#' | grep -v '^$' | head -14 | sed 's/^/  /'
	echo
}

PORT=$(free_port)
env -i PATH=/usr/bin:/bin WS_PORT="$PORT" WS_HOST=127.0.0.1 \
    NEXTAUTH_SECRET="$SECRET" REDIS_URL="redis://127.0.0.1:$RPORT" LOG_LEVEL=warn \
    "$BINDIR/wsworker" > "$W/worker.log" 2>&1 &
WPID=$!
PIDS+=($WPID)
profile wsworker "$WPID" "$PORT"
kill -TERM "$WPID"

PORT=$(free_port)
"$O/ceiling" --port "$PORT" --redis "127.0.0.1:$RPORT" > "$W/ceiling.log" 2>&1 &
CPID=$!
PIDS+=($CPID)
profile ceiling "$CPID" "$PORT"
