#!/usr/bin/env bash
# wsbench on a tiny load against the real wsworker (and wsd for respawn):
# every mode runs and counts right.  Counts only: no figure is judged.
. "$(dirname "$0")/lib.sh"
# *_FILE variables of the test machine would be read as secrets by wsd.
for v in $(env | sed -n 's/^\([A-Za-z_][A-Za-z0-9_]*_FILE\)=.*/\1/p'); do unset "$v"; done
if [ -x /usr/bin/python3 ]; then python3() { /usr/bin/python3 "$@"; }; fi

OBJ=${WSD_OBJDIR:-$TOP/build}
WSBENCH=$OBJ/wsbench
CEILING=$OBJ/ceiling
if [ ! -x "$WSBENCH" ] || [ ! -x "$CEILING" ]; then
	# make test builds the programs, not the benchmark: build it here.
	make -C "$TOP" --no-print-directory O="$OBJ" BINDIR="$BIN" "$OBJ/wsbench" \
	    "$OBJ/ceiling" > "$T/make.log" 2>&1 || { cat "$T/make.log"; }
fi
if [ ! -x "$WSBENCH" ]; then
	not_ok "wsbench builds" "see the make output above"
	finish
fi

SECRET=bench-test-secret-0123456789abcdef0123
export NEXTAUTH_SECRET=$SECRET
start_redis
PORT=$(free_port)
WS_PORT=$PORT WS_HOST=127.0.0.1 REDIS_URL=redis://127.0.0.1:$REDIS_PORT \
    WS_API_KEY=k LOG_LEVEL=warn WS_RULE_POST=public wsworker > "$T/worker.log" 2>&1 &
WPID=$!
track "$WPID"
health() { python3 -c 'import sys,urllib.request; urllib.request.urlopen("http://127.0.0.1:%s/health" % sys.argv[1], timeout=1).read()' "$PORT"; }
wait_for 10 "wsworker /health" health || { not_ok "wsworker starts" "$(tail -5 "$T/worker.log")"; finish; }

# field FILE EXPR: from the last result line (the one without "event").
field() { grep -v '"event"' "$1" | tail -n 1 | json_get "$2"; }

"$WSBENCH" conns -n 20 --port "$PORT" --channel own --pids "$WPID" \
    --settle-ms 100 --timeout-ms 10000 > "$T/conns" 2>"$T/conns.err"
check "conns: 20 authenticated subscribed connections" \
    test "$(field "$T/conns" "d['ready']")" = 20
check "conns: no failed connect" test "$(field "$T/conns" "d['failed_total']")" = 0
check "conns: RSS of the worker measured" \
    test "$(field "$T/conns" "d['procs']")" = 1
check "conns: RSS read before, between the two halves and after" \
    test "$(field "$T/conns" "d['rss_before'] > 0 and d['rss_mid'] > 0 and d['rss_after'] > 0 and 'marginal_bytes_per_conn' in d")" = True

"$WSBENCH" fanout -n 20 -m 10 --port "$PORT" --channel post:benchtest \
    --redis "127.0.0.1:$REDIS_PORT" --pids "$WPID" --drain-ms 3000 \
    --timeout-ms 10000 > "$T/fanout" 2>"$T/fanout.err"
check "fanout: 20 subscribers × 10 events = 200 deliveries" \
    test "$(field "$T/fanout" "d['deliveries']")" = 200
check "fanout: none lost, none duplicated" \
    test "$(field "$T/fanout" "d['lost'] + d['dups'] + d['gaps']")" = 0
check "fanout: Redis had one receiver per event (one worker)" \
    test "$(field "$T/fanout" "d['redis_receivers']")" = 10
check "fanout: latency percentiles reported" \
    test "$(field "$T/fanout" "d['p99_ms'] >= d['p50_ms'] > 0")" = True

"$WSBENCH" churn --rate 50 --duration-ms 1000 --port "$PORT" \
    --timeout-ms 5000 > "$T/churn" 2>"$T/churn.err"
check "churn: 50 attempts in 1 s at 50/s" test "$(field "$T/churn" "d['attempts']")" = 50
check "churn: each one welcomed" test "$(field "$T/churn" "d['ok']")" = 50

"$WSBENCH" storm -n 200 --port "$PORT" --pids "$WPID" --timeout-ms 10000 \
    > "$T/storm" 2>"$T/storm.err"
check "storm: 200 clients at once, each welcomed" \
    test "$(field "$T/storm" "d['ok'] == 200 and d['failed_total'] == 0")" = True
check "storm: the worker's CPU measured, handshakes per CPU-second given" \
    test "$(field "$T/storm" "d['procs'] == 1 and d['server_cpu_s'] > 0 and d['handshakes_per_cpu_s'] > 0")" = True

# A wrong secret: every connection is closed with 1008 before the welcome.
"$WSBENCH" churn --rate 20 --duration-ms 250 --port "$PORT" --secret wrong-secret-wrong-secret-wrong-secret \
    --timeout-ms 5000 > "$T/bad" 2>"$T/bad.err"
check "churn: a bad token counts as no_welcome" \
    test "$(field "$T/bad" "d['failed']['no_welcome']")" = "$(field "$T/bad" "d['attempts']")"
# A port nobody listens on: refused.
"$WSBENCH" churn --rate 20 --duration-ms 250 --port "$(free_port)" \
    --timeout-ms 5000 > "$T/refused" 2>"$T/refused.err"
check "churn: a closed port counts as refused" \
    test "$(field "$T/refused" "d['failed']['refused']")" = "$(field "$T/refused" "d['attempts']")"

# The naive ceiling (bench/ceiling) serves the same protocol: one
# subscriber gets one event, and SIGTERM ends it.
if [ -x "$CEILING" ]; then
	CPORT=$(free_port)
	"$CEILING" --port "$CPORT" --redis "127.0.0.1:$REDIS_PORT" > "$T/ceiling.log" 2>&1 &
	CPID=$!
	track "$CPID"
	ceil_health() { python3 -c 'import sys,urllib.request; urllib.request.urlopen("http://127.0.0.1:%s/health" % sys.argv[1], timeout=1).read()' "$CPORT"; }
	if wait_for 10 "ceiling /health" ceil_health; then
		"$WSBENCH" fanout -n 1 -m 1 --port "$CPORT" --channel post:ceiltest \
		    --redis "127.0.0.1:$REDIS_PORT" --pids "$CPID" --drain-ms 3000 \
		    --timeout-ms 10000 > "$T/ceilfan" 2>"$T/ceilfan.err"
		check "ceiling: one subscriber gets the one event" \
		    test "$(field "$T/ceilfan" "d['deliveries'] == 1 and d['lost'] == 0")" = True
		check "ceiling: its CPU is measured" \
		    test "$(field "$T/ceilfan" "d['procs']")" = 1
	else
		not_ok "ceiling starts" "$(tail -5 "$T/ceiling.log")"
	fi
	kill -TERM "$CPID" 2>/dev/null
	wait_for 5 "ceiling exits on SIGTERM" eval '! kill -0 "$CPID"'
	wait "$CPID"
	check "ceiling: SIGTERM ends it cleanly" test $? = 0
else
	not_ok "ceiling builds" "see $T/make.log"
fi

"$WSBENCH" conns -n 999999 --port "$PORT" > /dev/null 2>"$T/toomany"
check "conns: more connections than RLIMIT_NOFILE allows is refused (64)" \
    test $? = 64

# respawn against wsd: kill -9 an instance, the replacement is seen online
# in wsd's list and serving a new connection.
P2=$(free_port)
cat > "$T/eco.json" <<EOF
{"apps":[{"name":"fonana-ws","script":"$BIN/wsworker","instances":2,"exec_mode":"cluster",
  "env":{"WS_PORT":"$P2","WS_HOST":"127.0.0.1","NEXTAUTH_SECRET":"$SECRET",
         "REDIS_URL":"redis://127.0.0.1:$REDIS_PORT","LOG_LEVEL":"warn","WS_RULE_POST":"public"}}]}
EOF
start_wsd -f "$T/eco.json"
wait_for 15 "instance 0 online" instance_status 0 online
wait_for 15 "instance 1 online" instance_status 1 online
OLD=$(instance_field 0 pid)
OTHER=$(instance_field 1 pid)
"$WSBENCH" respawn --kill "$OLD" --pids "$OLD,$OTHER" --port "$P2" \
    --wsd-sock "$WSD_HOME/wsd.sock" --timeout-ms 10000 > "$T/respawn" 2>"$T/respawn.err"
NEW=$(field "$T/respawn" "d['new_pid']")
check "respawn: the killed instance is replaced (online in wsd's list)" \
    test "$NEW" != 0 -a "$NEW" != "$OLD" -a "$(field "$T/respawn" "d['online_ms'] is not None")" = True
check "respawn: a new connection is served by the replacement" \
    test "$(field "$T/respawn" "d['served_pid']")" = "$NEW"
note "$(cat "$T/respawn" | tail -n 1)"

finish
