#!/usr/bin/env bash
# make bench / make bench-quick: runs wsd and the Node ws + PM2 stack it
# replaces side by side on this machine, alternating A/B with repeats,
# and writes BENCHMARKS.md at the top of the tree.  The load sessions run
# a third stack, "ceiling" (bench/ceiling: the naive single-threaded epoll
# server of SPEC §6, one write() per delivery), that the fan-out figures
# are compared against; it has no supervisor, so no supervisor rows.
#
#   O=<objdir> BINDIR=<programs> [QUICK=1] [BENCH_KEEP=1] bash bench/run.sh
#
# BENCH_OUT=FILE writes the report elsewhere (default BENCHMARKS.md);
# BENCH_KEEP=1 keeps the temp folder (every raw wsbench line, the logs);
# BENCH_CONNS_BIG=N changes the 50 000-connection figure of the full run;
# BENCH_ONLY="history reload" runs only the sessions named (sup load big
# reload pg history), for work on one of them: the report then lacks the
# other rows.
#
# Everything runs on loopback, on free ports, with a private redis-server,
# a private WSD_HOME and a private PM2_HOME under one temp folder; a trap
# stops every process this script started.  Figures are reported, never
# judged: nothing here passes or fails on a number.
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -u
cd "$(dirname "$0")/.."
TOP=$(pwd)
O=${O:-build}
BINDIR=${BINDIR:-bin}
QUICK=${QUICK:-0}
O=$(cd "$O" && pwd)
BINDIR=$(cd "$BINDIR" && pwd)
WSBENCH=$O/wsbench
WSD=$BINDIR/wsd
WSCTL=$BINDIR/wsctl
WSWORKER=$BINDIR/wsworker
CEILING=$O/ceiling
for f in "$WSBENCH" "$CEILING" "$WSD" "$WSCTL" "$WSWORKER"; do
	[ -x "$f" ] || { echo "bench: $f is missing (make all $O/wsbench $O/ceiling)" >&2; exit 1; }
done
# pyenv's python3 shim costs about a second per call here: the system one.
PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3
for c in node npm redis-server redis-cli "$PY"; do
	command -v "$c" >/dev/null || { echo "bench: $c is needed (make deps)" >&2; exit 1; }
done

W=$(mktemp -d "${TMPDIR:-/tmp}/wsd-bench.XXXXXX")
RES=$W/results.jsonl
: > "$RES"
BG_PIDS=()
WSD_PID=
CEIL_PID=
export PM2_HOME=$W/pm2
export WSD_HOME=$W/wsd-home
mkdir -p "$PM2_HOME" "$WSD_HOME"
PM2=$TOP/bench/node_modules/.bin/pm2
SECRET=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
export NEXTAUTH_SECRET=$SECRET
NODE_DIR=$(dirname "$(command -v node)")
# The servers and their supervisors get a clean environment (the same for
# both stacks), not the caller's.
CLEAN_ENV=(env -i "PATH=$NODE_DIR:/usr/local/bin:/usr/bin:/bin" "HOME=$W"
    "PM2_HOME=$PM2_HOME" "WSD_HOME=$WSD_HOME" "LANG=C")

if [ "$QUICK" = 1 ]; then
	REPS=1; CTL_RUNS=5; RESPAWNS=1; CHURN_MS=3000; CONNS=2000
	FAN_SMALL=1000; FAN_BIG=0; FAN_EVENTS_SMALL=100; PACED_EVENTS=20; CONNS_BIG=0
	HIST_SOCKETS=300; HIST_EVENTS=1000; HIST_REPS=1; RELOAD_N=2000
	CHURN_ACTIONS="none restart crash scale"
else
	REPS=3; CTL_RUNS=15; RESPAWNS=3; CHURN_MS=8000; CONNS=10000
	# about 0.5 M and 1 M deliveries per burst run
	FAN_SMALL=1000; FAN_BIG=10000; FAN_EVENTS_SMALL=500; FAN_EVENTS_BIG=100
	PACED_EVENTS=40
	CONNS_BIG=${BENCH_CONNS_BIG:-50000}
	HIST_SOCKETS=500; HIST_EVENTS=10000; HIST_REPS=5; RELOAD_N=10000
	CHURN_ACTIONS="none restart reload crash scale"
fi
# SPEC §6's paced fan-out: 5 000 subscribers, 10 events/s.  At that rate
# each event (5 000 writes, some 50 ms of server time) is delivered before
# the next is published, so the same run gives "one event at a time":
# server CPU per delivery with nothing to coalesce.
FAN_PACED=5000; PACED_RATE=10
CHURN_RATE=500
# SPEC §6's reconnect storm: this many clients connect at once.
STORM_N=8000
START_TS=$(date -u +%Y-%m-%dT%H:%M:%SZ)
START_S=$(date +%s)
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)

log() { echo "bench: $(date +%H:%M:%S) $*" >&2; }
want() { [ -z "${BENCH_ONLY:-}" ] || [[ " $BENCH_ONLY " == *" $1 "* ]]; }

cleanup() {
	local p
	log "stopping everything"
	if [ -n "$WSD_PID" ] && kill -0 "$WSD_PID" 2>/dev/null; then
		timeout 10 "$WSCTL" kill >/dev/null 2>&1
		for _ in $(seq 1 100); do kill -0 "$WSD_PID" 2>/dev/null || break; sleep 0.05; done
		kill -KILL "$WSD_PID" 2>/dev/null
	fi
	[ -n "$CEIL_PID" ] && kill -TERM "$CEIL_PID" 2>/dev/null
	if [ -x "$PM2" ] && [ -f "$PM2_HOME/pm2.pid" ]; then
		timeout 20 "${CLEAN_ENV[@]}" "$PM2" kill >/dev/null 2>&1
	fi
	for p in "${BG_PIDS[@]}"; do
		kill -TERM "$p" 2>/dev/null
	done
	sleep 0.2
	for p in "${BG_PIDS[@]}"; do
		kill -KILL "$p" 2>/dev/null
	done
	[ -f "$PM2_HOME/pm2.pid" ] && kill -KILL "$(cat "$PM2_HOME/pm2.pid")" 2>/dev/null
	wait 2>/dev/null
	if [ "${BENCH_KEEP:-0}" = 1 ]; then log "kept $W"; else rm -rf "$W"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
	"$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
# wait_for SECONDS CMD...: poll every 50 ms.
wait_for() {
	local end=$(( $(now_ms) + $1 * 1000 ))
	shift
	while ! "$@" >/dev/null 2>&1; do
		[ "$(now_ms)" -lt "$end" ] || return 1
		sleep 0.05
	done
}
# record STACK SCENARIO JSON: one result line.
record() {
	printf '{"stack":"%s","rep":%s,"scenario":"%s","r":%s}\n' "$1" "${REP:-0}" "$2" "$3" >> "$RES"
}
# last result line of a wsbench output file (the one without "event").
result_of() { grep -v '"event"' "$1" | tail -n 1; }

# ---- npm: the Node stack, from the lock file ---------------------------
if [ ! -f bench/node_modules/.package-lock.json ] ||
   [ bench/package-lock.json -nt bench/node_modules/.package-lock.json ]; then
	log "npm ci --prefix bench"
	npm ci --prefix bench --no-audit --no-fund --loglevel=error >&2 ||
	    { echo "bench: npm ci failed" >&2; exit 1; }
fi
PM2_VERSION=$(node -p 'require("./bench/node_modules/pm2/package.json").version')
WS_VERSION=$(node -p 'require("./bench/node_modules/ws/package.json").version')

# ---- redis ---------------------------------------------------------------
REDIS_PORT=$(free_port)
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no \
    --dir "$W" --logfile "$W/redis.log" &
BG_PIDS+=($!)
wait_for 10 redis-cli -p "$REDIS_PORT" ping || { echo "bench: redis did not start" >&2; exit 1; }
export REDIS_URL=redis://127.0.0.1:$REDIS_PORT

# ---- the two stacks -----------------------------------------------------
# up_wsd INSTANCES EXTRA_APPS / up_node …: start the stack on a new port
# (PORT), wait until every instance is online and the port answers.
PORT=
wsd_online() {
	local want=$1 n
	n=$("$WSCTL" jlist 2>/dev/null | "$PY" -c 'import json,sys
d=json.load(sys.stdin); print(sum(1 for i in d if i["name"]=="fonana-ws" and i["pm2_env"]["status"]=="online" and i["pid"]))') || return 1
	[ "$n" = "$want" ]
}
node_online() {
	local want=$1 n
	n=$("${CLEAN_ENV[@]}" "$PM2" jlist 2>/dev/null | "$PY" -c 'import json,sys
d=json.load(sys.stdin); print(sum(1 for i in d if i["name"]=="fonana-ws" and i["pm2_env"]["status"]=="online" and i["pid"]))') || return 1
	[ "$n" = "$want" ]
}
health_ok() { curl -fsS "http://127.0.0.1:$PORT/health" >/dev/null 2>&1 || "$PY" -c '
import sys, urllib.request
urllib.request.urlopen("http://127.0.0.1:%s/health" % sys.argv[1], timeout=1).read()' "$PORT"; }

up_wsd() {
	local inst=$1 extra=$2 i apps
	PORT=$(free_port)
	apps="{\"name\":\"fonana-ws\",\"script\":\"$WSWORKER\",\"instances\":$inst,\"exec_mode\":\"cluster\",\"env\":{\"WS_PORT\":\"$PORT\",\"WS_HOST\":\"127.0.0.1\",\"NEXTAUTH_SECRET\":\"$SECRET\",\"REDIS_URL\":\"$REDIS_URL\",\"WS_API_KEY\":\"bench\",\"WS_RULE_POST\":\"public\"}}"
	for i in $(seq 0 $((extra - 1))); do
		apps="$apps,{\"name\":\"idle-$i\",\"script\":\"/bin/sleep\",\"args\":[\"3600\"],\"exec_mode\":\"fork\"}"
	done
	echo "{\"apps\":[$apps]}" > "$W/eco.json"
	"${CLEAN_ENV[@]}" "$WSD" --foreground -f "$W/eco.json" >> "$W/wsd.out" 2>&1 &
	WSD_PID=$!
	wait_for 20 wsd_online "$inst" && wait_for 10 health_ok
}
down_wsd() {
	[ -n "$WSD_PID" ] || return 0
	timeout 20 "$WSCTL" kill >/dev/null 2>&1
	for _ in $(seq 1 200); do kill -0 "$WSD_PID" 2>/dev/null || break; sleep 0.05; done
	kill -KILL "$WSD_PID" 2>/dev/null
	wait "$WSD_PID" 2>/dev/null
	WSD_PID=
}
up_node() {
	local inst=$1 extra=$2
	PORT=$(free_port)
	"${CLEAN_ENV[@]}" WS_PORT="$PORT" WS_HOST=127.0.0.1 NEXTAUTH_SECRET="$SECRET" \
	    REDIS_URL="$REDIS_URL" BENCH_INSTANCES="$inst" BENCH_EXTRA_APPS="$extra" \
	    timeout 60 "$PM2" start "$TOP/bench/peer/ecosystem.config.js" >> "$W/pm2.out" 2>&1
	wait_for 30 node_online "$inst" && wait_for 10 health_ok
}
down_node() {
	timeout 30 "${CLEAN_ENV[@]}" "$PM2" kill >> "$W/pm2.out" 2>&1
	[ -f "$PM2_HOME/pm2.pid" ] && kill -KILL "$(cat "$PM2_HOME/pm2.pid")" 2>/dev/null
	rm -f "$PM2_HOME/pm2.pid"
	sleep 0.3
}
# The ceiling: one process, one thread by definition; no supervisor.
up_ceiling() {
	PORT=$(free_port)
	"${CLEAN_ENV[@]}" "$CEILING" --port "$PORT" --redis "127.0.0.1:$REDIS_PORT" \
	    >> "$W/ceiling.out" 2>&1 &
	CEIL_PID=$!
	BG_PIDS+=($!)
	wait_for 10 health_ok
}
down_ceiling() {
	[ -n "$CEIL_PID" ] || return 0
	kill -TERM "$CEIL_PID" 2>/dev/null
	for _ in $(seq 1 100); do kill -0 "$CEIL_PID" 2>/dev/null || break; sleep 0.05; done
	kill -KILL "$CEIL_PID" 2>/dev/null
	wait "$CEIL_PID" 2>/dev/null
	CEIL_PID=
}
up()   { "up_$1" "$2" "$3"; }
down() { "down_$1"; }
# pids of the fonana-ws instances, comma separated
pids_wsd()  { "$WSCTL" jlist | "$PY" -c 'import json,sys; print(",".join(str(i["pid"]) for i in json.load(sys.stdin) if i["name"]=="fonana-ws" and i["pid"]))'; }
pids_node() { "${CLEAN_ENV[@]}" "$PM2" jlist | "$PY" -c 'import json,sys; print(",".join(str(i["pid"]) for i in json.load(sys.stdin) if i["name"]=="fonana-ws" and i["pid"]))'; }
pids_ceiling() { echo "$CEIL_PID"; }
sup_pid()   { if [ "$1" = wsd ]; then echo "$WSD_PID"; else cat "$PM2_HOME/pm2.pid"; fi; }
ctl() { if [ "$1" = wsd ]; then shift; "$WSCTL" "$@"; else shift; "${CLEAN_ENV[@]}" "$PM2" "$@"; fi; }
# ctl_time wsd|node|true RUNS ARGS…: wall time of the CLI, one JSON line.
ctl_time() {
	local s=$1 n=$2
	shift 2
	case "$s" in
	wsd)  "${CLEAN_ENV[@]}" "$WSBENCH" exectime -n "$n" -- "$WSCTL" "$@" ;;
	node) "${CLEAN_ENV[@]}" "$WSBENCH" exectime -n "$n" -- "$PM2" "$@" ;;
	true) "${CLEAN_ENV[@]}" "$WSBENCH" exectime -n "$n" -- /bin/true ;;
	esac
}
rss_of() { awk '/^VmRSS:/ { print $2 * 1024 }' "/proc/$1/status" 2>/dev/null; }

wb() { local mode=$1; shift; timeout -k 5 700 "$WSBENCH" "$mode" --port "$PORT" --secret "$SECRET" "$@"; }

# ---- sessions --------------------------------------------------------------

# The supervisor: 3 apps (fonana-ws ×2 + two idle apps); CLI wall time,
# daemon RSS, kill -9 → online / served, failed connects in a restart, a
# reload, a crash and a scale 2→3→2 under 500 connects/s.
session_sup() {
	local s=$1 i t0 t1 pids pid out pmid poll
	log "$s: supervisor session (rep $REP)"
	if ! up "$s" 2 2; then log "$s: did not come up"; record "$s" up_failed '{}'; down "$s"; return; fi
	sleep 1
	record "$s" sup_rss "{\"value\":$(rss_of "$(sup_pid "$s")")}"
	# Timed by wsbench exectime (spawn → reaped exit), not by date(1)
	# around the command: the shell's own forks would be counted too.
	for cmd in status jlist; do
		record "$s" "ctl_$cmd" "$(ctl_time "$s" "$CTL_RUNS" "$cmd")"
	done
	[ "$s" = wsd ] && record host exec_true "$(ctl_time true "$CTL_RUNS")"
	for i in $(seq 1 "$RESPAWNS"); do
		pids=$(pids_$s)
		pid=${pids%%,*}
		out=$W/respawn.$s.$REP.$i
		if [ "$s" = wsd ]; then
			wb respawn --kill "$pid" --pids "$pids" --wsd-sock "$WSD_HOME/wsd.sock" > "$out"
		else
			pmid=$(ctl node jlist | "$PY" -c 'import json,sys; print([i["pm_id"] for i in json.load(sys.stdin) if i["pid"]=='"$pid"'][0])')
			(cd bench/peer && "${CLEAN_ENV[@]}" timeout 20 node pm2poll.js "$pmid" "$pid" 10000 > "$out.poll" 2>&1) &
			poll=$!
			wait_for 10 grep -q ready "$out.poll"
			wb respawn --kill "$pid" --pids "$pids" > "$out"
			wait "$poll"
			"$PY" - "$out" "$out.poll" >> "$out" <<'EOF'
import json, sys
k = [json.loads(l) for l in open(sys.argv[1]) if '"killed"' in l][0]
p = [json.loads(l) for l in open(sys.argv[2]) if 'online_realtime_ms' in l]
print(json.dumps({"mode": "respawn-online",
    "online_ms": (p[0]["online_realtime_ms"] - k["realtime_ns"] / 1e6) if p else None}))
EOF
		fi
		grep -v event "$out" | while read -r l; do record "$s" respawn "$l"; done
		wait_for 20 "${s}_online" 2
		sleep 0.5
	done
	# "none": the same churn with nothing happening, so that failures
	# caused by the load itself are not counted against a restart.
	# "crash": kill -9 of instance 0, restarted by the supervisor.
	# "scale": 2→3, once the third is online 2→3→2, the churn going on
	# for at least 3 s after (connects stranded on a removed slot hang
	# until the 5 s deadline: they count as failed, "timeout").
	for action in $CHURN_ACTIONS; do
		out=$W/churn.$s.$action.$REP
		local dur=$CHURN_MS
		[ "$action" = scale ] && [ "$dur" -lt 6000 ] && dur=6000
		"$WSBENCH" churn --port "$PORT" --secret "$SECRET" --rate "$CHURN_RATE" \
		    --duration-ms "$dur" --timeout-ms 5000 > "$out" &
		BG_PIDS+=($!)
		local cp=$!
		sleep 1.5
		if [ "$action" = none ]; then
			wait "$cp"
		elif [ "$action" = crash ]; then
			pids=$(pids_$s)
			kill -KILL "${pids%%,*}"
			wait "$cp"
		elif [ "$action" = scale ]; then
			ctl "$s" scale fonana-ws 3 >> "$W/scale.out" 2>&1
			wait_for 20 "${s}_online" 3
			ctl "$s" scale fonana-ws 2 >> "$W/scale.out" 2>&1
			wait_for 20 "${s}_online" 2
			wait "$cp"
		else
			local tl
			tl=$(ctl_time "$s" 1 "$action" fonana-ws)
			wait "$cp"
			record "$s" "ctl_$action" "$tl"
		fi
		record "$s" "churn_$action" "$(result_of "$out")"
		wait_for 20 "${s}_online" 2
		sleep 0.5
	done
	down "$s"
}

# The worker: memory per idle subscribed connection, then fan-out: bursts
# at 1 k and 10 k subscribers with 2 instances (the ceiling: its one
# process), CPU summed over the trees; then the paced 5 k run with ONE
# instance of every stack.  One instance there because the ceiling has one
# thread, and a loopback write() costs more when the reader it wakes is
# idle on the other core: two busy instances batch those wake-ups and look
# cheaper per delivery than one process can be (seen here: wsd 7.3 µs per
# delivery with 2 instances, 9 with one, the ceiling 9.5).
session_load() {
	local s=$1 pids out n m
	log "$s: load session (rep $REP)"
	if ! up "$s" 2 0; then log "$s: did not come up"; record "$s" up_failed '{}'; down "$s"; return; fi
	sleep 1
	pids=$(pids_$s)
	# A few connections first: the code pages the first ones fault in
	# (libraries, JIT) are not a per-connection cost.
	wb conns -n 20 --channel own --settle-ms 0 --timeout-ms 10000 > /dev/null
	out=$W/conns.$s.$REP
	wb conns -n "$CONNS" --channel own --pids "$pids" --settle-ms 2000 \
	    --timeout-ms 30000 > "$out"
	record "$s" "conns_$CONNS" "$(result_of "$out")"
	sleep 1
	for n in "$FAN_SMALL" "$FAN_BIG"; do
		[ "$n" -gt 0 ] || continue
		pids=$(pids_$s)
		out=$W/fan.$s.$n.$REP
		if [ "$n" = "$FAN_SMALL" ]; then m=$FAN_EVENTS_SMALL; else m=$FAN_EVENTS_BIG; fi
		wb fanout -n "$n" -m "$m" --channel post:bench \
		    --redis "127.0.0.1:$REDIS_PORT" --pids "$pids" --drain-ms 5000 \
		    --timeout-ms 30000 > "$out"
		record "$s" "fanout_burst_$n" "$(result_of "$out")"
	done
	# The ceiling checks no token: a handshake figure of it means nothing.
	if [ "$s" != ceiling ]; then
		pids=$(pids_$s)
		out=$W/storm.$s.$REP
		wb storm -n "$STORM_N" --pids "$pids" --timeout-ms 30000 > "$out"
		record "$s" "storm_$STORM_N" "$(result_of "$out")"
	fi
	down "$s"
	if ! up "$s" 1 0; then log "$s: did not come up"; record "$s" up_failed '{}'; down "$s"; return; fi
	sleep 1
	pids=$(pids_$s)
	out=$W/paced.$s.$FAN_PACED.$REP
	wb fanout -n "$FAN_PACED" -m "$PACED_EVENTS" --rate "$PACED_RATE" \
	    --channel post:bench --redis "127.0.0.1:$REDIS_PORT" --pids "$pids" \
	    --drain-ms 5000 --timeout-ms 30000 > "$out"
	record "$s" "fanout_paced_$FAN_PACED" "$(result_of "$out")"
	down "$s"
}

# 50 000 connections: 20 000 descriptors per process at most, so the
# servers run 3 instances and wsbench 5 processes of 10 000.
session_big() {
	local s=$1 pids before after k per=10000 nproc i ready
	nproc=$(( CONNS_BIG / per ))
	log "$s: $CONNS_BIG connections (3 instances, $nproc wsbench processes)"
	if ! up "$s" 3 0; then log "$s: did not come up"; record "$s" up_failed '{}'; down "$s"; return; fi
	sleep 1
	pids=$(pids_$s)
	before=$("$WSBENCH" procstat --pids "$pids")
	local holders=()
	for i in $(seq 0 $((nproc - 1))); do
		# wsbench itself in the background (not through wb/timeout), so
		# that $! is its pid and SIGTERM reaches it; --hold-ms bounds it.
		"$WSBENCH" conns --port "$PORT" --secret "$SECRET" -n "$per" \
		    --channel own --user-base $((i * per)) \
		    --src "$((2 + i * 48))-$((49 + i * 48))" --settle-ms 0 \
		    --hold-ms 400000 --timeout-ms 30000 > "$W/big.$s.$i" &
		holders+=($!)
		BG_PIDS+=($!)
	done
	ready=0
	for _ in $(seq 1 3000); do	# at most 300 s
		ready=$(cat "$W"/big."$s".* 2>/dev/null | grep -c '"event":"ready"')
		[ "$ready" -ge "$nproc" ] && break
		sleep 0.1
	done
	sleep 3
	after=$("$WSBENCH" procstat --pids "$pids")
	k=$(cat "$W"/big."$s".* | "$PY" -c 'import json,sys; print(sum(json.loads(l)["ready"] for l in sys.stdin if "\"ready\"" in l and "\"event\":\"ready\"" in l))')
	record "$s" "conns_$CONNS_BIG" "{\"n\":$CONNS_BIG,\"ready\":$k,\"instances\":3,\"wsbench_procs\":$nproc,\"before\":$before,\"after\":$after}"
	for i in "${holders[@]}"; do kill -TERM "$i" 2>/dev/null; done
	for i in "${holders[@]}"; do wait "$i" 2>/dev/null; done
	down "$s"
}

# A reload of 2 instances holding RELOAD_N clients that use positions
# (bench/reload.js: wsd-client.js, a numbered publisher, the reload in the
# middle); the Node stack's clients reconnect the same way under
# `pm2 reload`, its events published with a plain PUBLISH (it has no
# history).
session_reload() {
	local s=$1 out=$W/reload.$s.$REP cmd hist=()
	log "$s: reload of 2 instances holding $RELOAD_N clients (rep $REP)"
	if ! up "$s" 2 0; then log "$s: did not come up"; record "$s" up_failed '{}'; down "$s"; return; fi
	sleep 1
	if [ "$s" = wsd ]; then
		cmd=("$WSCTL" reload fonana-ws); hist=(--history)
	else
		cmd=("${CLEAN_ENV[@]}" "$PM2" reload fonana-ws)
	fi
	timeout -k 5 600 node bench/reload.js --stack "$s" --rep "$REP" --port "$PORT" \
	    --redis-port "$REDIS_PORT" --secret "$SECRET" -n "$RELOAD_N" "${hist[@]}" \
	    -- "${cmd[@]}" > "$out" 2> "$out.err" || log "$s: reload session failed (see $out.err)"
	grep -h '"scenario":"reload_' "$out" >> "$RES"
	down "$s"
}

# The worker before channel history existed, built from git in the temp
# folder: the baseline of the history rows.  No git or no such revision
# (a tarball of the tree): no baseline, and the report says so.
PRE_REV=09462f8
PRE_BINDIR=
PRE_NOTE=
build_pre() {
	if ! git -C "$TOP" cat-file -e "$PRE_REV^{commit}" 2>/dev/null; then
		PRE_NOTE="revision $PRE_REV is not available: no git history here"
		return 1
	fi
	mkdir -p "$W/pre"
	# Not this run's O, BINDIR or make flags: that tree builds into itself.
	if git -C "$TOP" archive "$PRE_REV" | tar -x -C "$W/pre" &&
	   env -u O -u BINDIR -u MAKEFLAGS -u MFLAGS -u MAKELEVEL \
	       make -C "$W/pre" -j2 O=build BINDIR=bin bin/wsworker > "$W/pre.log" 2>&1; then
		PRE_BINDIR=$W/pre/bin
	else
		PRE_NOTE="the worker of $PRE_REV did not build"
		return 1
	fi
}

# ---- the run: A/B alternating, repeats ----------------------------------------
for REP in $(seq 1 "$REPS"); do
	if [ $((REP % 2)) = 1 ]; then order="wsd node"; else order="node wsd"; fi
	want sup && for s in $order; do session_sup "$s"; done
	# The ceiling between the two, so that neither stack always runs
	# right after it (or right before it).
	set -- $order
	want load && for s in "$1" ceiling "$2"; do session_load "$s"; done
	want reload && for s in $order; do session_reload "$s"; done
done
if [ "$CONNS_BIG" -gt 0 ] && want big; then
	REP=1
	for s in wsd node; do session_big "$s"; done
fi

# Channel history's cost (SPEC §6): fan-out CPU per delivery against the
# worker before history, Redis CPU per publish (bench/history.js).
if want history; then
	log "channel history session ($HIST_SOCKETS sockets, $HIST_EVENTS events, $HIST_REPS repeat(s))"
	build_pre || log "no baseline worker: $PRE_NOTE"
	WSD_TOP=$TOP WSD_BINDIR=$BINDIR PRE_BINDIR=$PRE_BINDIR timeout 1200 \
	    node bench/history.js "$HIST_SOCKETS" "$HIST_EVENTS" "$HIST_REPS" \
	    >> "$RES" 2>> "$W/history.err" || log "channel history session failed (see $W/history.err)"
fi

# The database channel rule (SPEC §4.10): wsd alone, against the ceiling
# of one query per subscribe (bench/pgrules.js).
PG_USERS=2000
[ "$QUICK" = 1 ] && PG_USERS=500
if want pg; then
	log "database rule session ($PG_USERS users, $REPS repeat(s))"
	WSD_TOP=$TOP WSD_BINDIR=$BINDIR timeout 600 node bench/pgrules.js "$PG_USERS" 64 "$REPS" \
	    >> "$RES" 2>> "$W/pgrules.err" || log "database rule session failed (see $W/pgrules.err)"
fi

END_S=$(date +%s)
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)
CMD="make bench"
[ "$QUICK" = 1 ] && CMD="make bench-quick"
"$PY" bench/report.py "$RES" "${BENCH_OUT:-BENCHMARKS.md}" \
    "cmd=$CMD" "quick=$QUICK" "reps=$REPS" "start=$START_TS" \
    "duration_s=$((END_S - START_S))" "load_start=$LOAD_START" "load_end=$LOAD_END" \
    "pm2=$PM2_VERSION" "ws=$WS_VERSION" "node=$(node --version)" \
    "redis=$(redis-server --version | sed 's/.*v=\([^ ]*\).*/\1/')" \
    "ctl_runs=$CTL_RUNS" "churn_ms=$CHURN_MS" "churn_rate=$CHURN_RATE" \
    "conns=$CONNS" "conns_big=$CONNS_BIG" "storm_n=$STORM_N" \
    "paced_events=$PACED_EVENTS" "paced_subs=$FAN_PACED" "paced_rate=$PACED_RATE" \
    "hist_sockets=$HIST_SOCKETS" "hist_events=$HIST_EVENTS" "reload_n=$RELOAD_N" \
    "pre_rev=$PRE_REV" "pre_note=$PRE_NOTE" \
    && log "wrote ${BENCH_OUT:-BENCHMARKS.md} ($((END_S - START_S)) s)"
[ "${BENCH_KEEP:-0}" = 1 ] && cp "$RES" "$W/results.copy.jsonl"
exit 0
