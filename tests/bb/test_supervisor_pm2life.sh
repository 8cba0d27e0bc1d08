#!/usr/bin/env bash
# PM2's life cycle under wsd, end to end: a Node app's process.send('ready')
# (wait_ready), listen_timeout without it, `wsctl start` reporting an
# instance that did not come up, and `start FILE` on running apps
# restarting them with the file's new definition.
. "$(dirname "$0")/lib.sh"
if [ -x /usr/bin/python3 ]; then python3() { /usr/bin/python3 "$@"; }; fi
command -v node >/dev/null || { echo "skip - node is not installed"; finish; }

# --- wait_ready: a plain Node app, process.send('ready') on SIGUSR2 ---------
cat > "$T/ready.js" <<'S'
const fs = require('fs');
process.on('SIGUSR2', () => process.send('ready'));
fs.writeFileSync(process.env.PID_AT, String(process.pid));
setInterval(() => {}, 1000);
S
cat > "$T/ready.json" <<EOF
{"apps":[{"name":"rd","script":"$T/ready.js","wait_ready":true,
  "listen_timeout":600000,"env":{"PID_AT":"$T/rd.pid"}},
 {"name":"late","script":"$T/ready.js","wait_ready":true,
  "listen_timeout":300,"env":{"PID_AT":"$T/late.pid"}}]}
EOF
start_wsd || { not_ok "wsd starts"; finish; }
wsctl start "$T/ready.json" > "$T/ready.out" 2>&1 &
START=$!
track "$START"
id_of() { wsctl status --json | json_get "[i['id'] for i in d['instances'] if i['name']=='$1'][0]"; }
have_pid() { [ -s "$T/rd.pid" ] && kill -0 "$(cat "$T/rd.pid")"; }
if wait_for 30 "the Node app runs" have_pid; then
	RD=$(id_of rd)
	LATE=$(id_of late)
	# Stays launching until it says ready (listen_timeout is 10 min).
	wait_for 30 "late online after listen_timeout" instance_status "$LATE" online
	if instance_status "$RD" launching && kill -0 "$START" 2>/dev/null; then
		ok "wait_ready: launching, and start waits, until process.send('ready')"
	else
		not_ok "wait_ready: launching until ready" "status $(instance_field "$RD" status)"
	fi
	kill -USR2 "$(cat "$T/rd.pid")"
	if wait_for 30 "rd online" instance_status "$RD" online; then
		ok "process.send('ready') → online"
	else
		not_ok "process.send('ready') → online" "status $(instance_field "$RD" status)"
	fi
	wait "$START"
	st=$?
	[ "$st" = 0 ] && grep -q '✓' "$T/ready.out" &&
	    ok "start answers ✓ once ready" ||
	    not_ok "start answers ✓ once ready" "exit $st: $(cat "$T/ready.out")"
	# listen_timeout without a message: online, as PM2 does.
	instance_status "$LATE" online &&
	    grep -q 'listen_timeout passed' "$WSD_HOME/wsd.log" "$T/wsd.stdout" 2>/dev/null &&
	    ok "no ready message: online after listen_timeout (logged)" ||
	    not_ok "no ready message: online after listen_timeout"
	wsctl delete all > /dev/null
else
	not_ok "the Node app runs" "$(cat "$T/ready.out")"
fi

# --- Node's channel: wsd's messages are 'message' events, it holds nothing --
cat > "$T/msg.js" <<'S'
const fs = require('fs');
process.on('message', (m) => fs.appendFileSync(process.env.OUT, JSON.stringify(m) + '\n'));
process.on('SIGINT', () => setTimeout(() => process.exit(0), 100));
setInterval(() => {}, 1000);
S
cat > "$T/once.js" <<'S'
console.log('once: send is a ' + typeof process.send);
S
cat > "$T/node.json" <<EOF
{"apps":[{"name":"msg","script":"$T/msg.js","min_uptime":100,"env":{"OUT":"$T/msg.out"}},
 {"name":"once","script":"$T/once.js","autorestart":false}]}
EOF
wsctl start "$T/node.json" > /dev/null 2>&1
ONCE=$(id_of once)
wait_for 30 "once stopped" instance_status "$ONCE" stopped &&
    [ "$(instance_field "$ONCE" exit_code)" = 0 ] &&
    grep -q 'once: send is a function' "$WSD_HOME/logs/once-out-$ONCE.log" &&
    ok "a Node script that ends exits 0 with the channel open (process.send is there)" ||
    not_ok "a Node script that ends exits 0" "status $(instance_field "$ONCE" status)"
wsctl stop msg > /dev/null
grep -q '{"cmd":"drain"}' "$T/msg.out" 2>/dev/null &&
    ok "wsd's drain reaches a Node app as a 'message' event" ||
    not_ok "wsd's drain reaches a Node app as a 'message' event" "$(cat "$T/msg.out" 2>&1)"
wsctl delete all > /dev/null

# --- start reports an instance that did not come up ------------------------
cat > "$T/fail.json" <<EOF
{"apps":[{"name":"quick","script":"/bin/sh","args":["-c","exit 3"],"max_restarts":2},
 {"name":"good","script":"/bin/sleep","args":["1000"],"min_uptime":100}]}
EOF
wsctl start "$T/fail.json" > "$T/fail.out" 2> "$T/fail.err"
st=$?
if [ "$st" = 1 ] && grep -q '✗ quick (id [0-9]*, instance 0) did not come up: errored' "$T/fail.err" &&
    grep -q 'last exit: code 3' "$T/fail.err"; then
	ok "start FILE: an errored instance → ✗ with the reason, exit 1"
else
	not_ok "start FILE: an errored instance → ✗, exit 1" "exit $st" "$(cat "$T/fail.out" "$T/fail.err")"
fi
grep -q '✗ good' "$T/fail.err" && not_ok "the good app is not reported" || ok "the good app is not reported"
wsctl describe quick | grep -q 'reason .*too many unstable restarts' &&
    ok "describe gives the reason an instance is errored" ||
    not_ok "describe gives the reason" "$(wsctl describe quick | head -30)"
wsctl start quick > "$T/fail2.out" 2> "$T/fail2.err"
st=$?
[ "$st" = 1 ] && grep -q '✗ quick' "$T/fail2.err" &&
    ok "start NAME: ✗ and exit 1 again" ||
    not_ok "start NAME: ✗ and exit 1" "exit $st: $(cat "$T/fail2.out" "$T/fail2.err")"
wsctl restart good > /dev/null 2>&1 && ok "restart of a good app: exit 0" ||
    not_ok "restart of a good app: exit 0"
wsctl restart quick > /dev/null 2> "$T/fail3.err"
st=$?
[ "$st" = 1 ] && grep -q '✗ quick' "$T/fail3.err" &&
    ok "restart: ✗ and exit 1" || not_ok "restart: ✗ and exit 1" "exit $st"
wsctl start "$T/fail.json" --json > "$T/fail.jsonout" 2>/dev/null
st=$?
[ "$st" = 1 ] && json_get "[f['name'] for f in d['failed']] == ['quick']" < "$T/fail.jsonout" | grep -q True &&
    ok "--json: the failed instances in \"failed\", exit 1" ||
    not_ok "--json: \"failed\"" "exit $st: $(cat "$T/fail.jsonout")"
wsctl delete all > /dev/null

# --- start FILE on running apps: restarted with the new definition ---------
cat > "$T/env.sh" <<'S'
#!/bin/sh
echo "$GREETING" > "$OUT"
exec sleep 1000
S
chmod +x "$T/env.sh"
eco() {
	cat > "$T/live.json" <<EOF
{"apps":[{"name":"live","script":"$T/env.sh","min_uptime":100,
  "env":{"GREETING":"$1","OUT":"$T/live.out"}}]}
EOF
}
eco hello
wsctl start "$T/live.json" > /dev/null 2>&1
LIVE=$(id_of live)
pid1=$(instance_field "$LIVE" pid)
eco bonjour
wsctl start "$T/live.json" > "$T/live.start" 2>&1
st=$?
pid2=$(instance_field "$LIVE" pid)
if [ "$st" = 0 ] && [ "$pid2" != "$pid1" ] && [ "$pid2" != 0 ] &&
    [ "$(cat "$T/live.out")" = bonjour ]; then
	ok "start FILE on a running app: restarted with the file's new env"
else
	not_ok "start FILE on a running app: restarted with the new env" \
	    "exit $st, pid $pid1 → $pid2, says $(cat "$T/live.out")"
fi
grep -q 'live was running: restarted with the file' "$T/live.start" &&
    ok "start FILE says it restarted the running app" ||
    not_ok "start FILE says it restarted it" "$(cat "$T/live.start")"
eco hola
wsctl restart "$T/live.json" > "$T/live.restart" 2>&1
st=$?
[ "$st" = 0 ] && [ "$(cat "$T/live.out")" = hola ] &&
    ok "restart FILE applies the file's new env first (as PM2 passes it)" ||
    not_ok "restart FILE applies the file's new env" "exit $st, says $(cat "$T/live.out")" "$(cat "$T/live.restart")"
finish
