#!/usr/bin/env bash
# wsd restart policy, end to end: kill -9 → respawn counted, crash loops →
# errored with no further spawns, exit 78 → errored at once, kill_timeout →
# SIGKILL, the time prefix in captured logs, SIGTERM → everything stopped.
. "$(dirname "$0")/lib.sh"
# The test machine's own *_FILE variables are not what these tests are about.
for v in $(env | sed -n 's/^\([A-Za-z_][A-Za-z0-9_]*_FILE\)=.*/\1/p'); do unset "$v"; done
# pyenv's python3 shim costs a second per call; the system one is enough.
if [ -x /usr/bin/python3 ]; then python3() { /usr/bin/python3 "$@"; }; fi

cat > "$T/sleeper.sh" <<'S'
#!/bin/sh
echo "hello from $WSD_APP_NAME $WSD_INSTANCE"
echo "oops" >&2
exec sleep 1000
S
cat > "$T/crash.sh" <<S
#!/bin/sh
echo start >> "$T/crash.count"
exit 1
S
cat > "$T/slowcrash.sh" <<S
#!/bin/sh
echo start >> "$T/slowcrash.count"
sleep 0.3
exit 2
S
cat > "$T/config78.sh" <<S
#!/bin/sh
echo start >> "$T/c78.count"
exit 78
S
cat > "$T/stubborn.sh" <<'S'
#!/bin/sh
trap '' INT TERM
while :; do sleep 1; done
S
chmod +x "$T"/*.sh
cat > "$T/eco.json" <<EOF2
{"apps":[
 {"name":"sleeper","script":"$T/sleeper.sh","instances":2,"exec_mode":"fork","time":true},
 {"name":"crash","script":"$T/crash.sh","max_restarts":3,"min_uptime":1000},
 {"name":"slowcrash","script":"$T/slowcrash.sh","max_restarts":3,"min_uptime":100},
 {"name":"config78","script":"$T/config78.sh"},
 {"name":"stubborn","script":"$T/stubborn.sh","kill_timeout":300}
]}
EOF2

PY=python3; [ -x /usr/bin/python3 ] && PY=/usr/bin/python3
cat > "$T/mem.json" <<EOF2
{"apps":[{"name":"hog","script":"/bin/sh","args":["-c","$PY -c 'import time; b = b\\"x\\" * (64 << 20); time.sleep(1000)'; echo done"],
  "max_memory_restart":"32M"}]}
EOF2
start_wsd -f "$T/eco.json" || { not_ok "wsd starts"; finish; }
ok "wsd starts with 5 apps"

id_of() {	# id_of NAME [INSTANCE]
	wsctl status --json | json_get "[i['id'] for i in d['instances'] if i['name']=='$1' and i['instance']==${2:-0}][0]"
}
S0=$(id_of sleeper 0)
wait_for 30 "sleeper online" instance_status "$S0" online
pid0=$(instance_field "$S0" pid)
r0=$(instance_field "$S0" restarts)
kill -9 "$pid0"
newpid() { p=$(instance_field "$S0" pid); [ "$p" != 0 ] && [ "$p" != "$pid0" ] && instance_status "$S0" online; }
if wait_for 20 "a new pid for sleeper 0" newpid; then
	r1=$(instance_field "$S0" restarts)
	if [ "$r1" = $((r0 + 1)) ]; then ok "kill -9 → new pid, ↺ +1"; else not_ok "kill -9 → ↺ +1" "restarts $r0 → $r1"; fi
	sig=$(instance_field "$S0" exit_signal)
	[ "$sig" = SIGKILL ] && ok "last exit recorded as SIGKILL" || not_ok "exit_signal" "got $sig"
else
	not_ok "kill -9 → new pid"
fi
kill -0 "$pid0" 2>/dev/null && not_ok "old process gone" || ok "old process gone (reaped)"
# No zombie children of wsd.
zombies=$(ps -o stat= --ppid "$WSD_PID" | grep -c Z)
[ "$zombies" = 0 ] && ok "no zombies" || not_ok "no zombies" "$zombies zombie children"

C=$(id_of crash)
if wait_for 30 "crash errored" instance_status "$C" errored; then
	ok "fast crash loop → errored"
	n1=$(wc -l < "$T/crash.count")
	[ "$n1" = 4 ] && ok "max_restarts 3 → 4 runs" || not_ok "max_restarts 3 → 4 runs" "ran $n1 times"
	sleep 1
	n2=$(wc -l < "$T/crash.count")
	[ "$n1" = "$n2" ] && instance_status "$C" errored && ok "no spawn after errored" || not_ok "no spawn after errored" "$n1 → $n2"
else
	not_ok "fast crash loop → errored" "status $(instance_field "$C" status)"
fi

SC=$(id_of slowcrash)
if wait_for 30 "slowcrash errored" instance_status "$SC" errored; then
	u=$(instance_field "$SC" unstable_restarts)
	[ "$u" = 0 ] && ok "crash loop of processes past min_uptime → errored (sliding window)" \
	    || not_ok "slow loop counted as unstable?" "unstable_restarts $u"
else
	not_ok "slow crash loop → errored" "status $(instance_field "$SC" status)"
fi

C78=$(id_of config78)
if wait_for 20 "config78 errored" instance_status "$C78" errored; then
	n=$(wc -l < "$T/c78.count"); code=$(instance_field "$C78" exit_code); r=$(instance_field "$C78" restarts)
	[ "$n" = 1 ] && [ "$code" = 78 ] && [ "$r" = 0 ] && ok "exit 78 → errored at once, not respawned" \
	    || not_ok "exit 78 → errored at once" "runs $n code $code restarts $r"
else
	not_ok "exit 78 → errored"
fi

ST=$(id_of stubborn)
wait_for 20 "stubborn online" instance_status "$ST" online
spid=$(instance_field "$ST" pid)
if wsctl stop stubborn >/dev/null; then
	sig=$(instance_field "$ST" exit_signal); st=$(instance_field "$ST" status)
	if [ "$sig" = SIGKILL ] && [ "$st" = stopped ] && ! kill -0 "$spid" 2>/dev/null; then
		ok "app ignoring SIGINT is SIGKILLed after kill_timeout"
	else
		not_ok "SIGKILL after kill_timeout" "signal $sig status $st"
	fi
	grep -q '"msg":"kill_timeout passed: SIGKILL"' "$T/wsd.stdout" && ok "SIGKILL logged" || not_ok "SIGKILL logged"
else
	not_ok "wsctl stop stubborn"
fi

# Captured output with the time prefix.
out=$(instance_field "$S0" out_file); err=$(instance_field "$S0" error_file)
has_hello() { grep -Eq '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}: hello from sleeper 0$' "$out"; }
wait_for 20 "hello in $out" has_hello && ok "stdout captured with the time prefix (PM2's YYYY-MM-DDTHH:mm:ss)" || not_ok "stdout captured" "$(cat "$out" 2>&1)"
grep -Eq 'T[0-9]{2}:[0-9]{2}:[0-9]{2}: oops$' "$err" && ok "stderr captured to error_file" || not_ok "stderr captured" "$(cat "$err" 2>&1)"
case "$out" in "$WSD_HOME"/logs/sleeper-out-*.log) ok "default log path per instance" ;; *) not_ok "default log path" "$out" ;; esac

# Events as JSON lines with app/instance/pid.
python3 - "$T/wsd.stdout" <<'P' && ok "wsd events are JSON lines with app, instance, pid" || not_ok "JSON event lines"
import json, sys
seen = False
for line in open(sys.argv[1]):
    o = json.loads(line)
    assert "ts" in o and "level" in o and "msg" in o
    if o["msg"].startswith("exited with code") or o["msg"].startswith("killed by"):
        assert "app" in o and "instance" in o and "pid" in o
        seen = True
assert seen
P

# max_memory_restart: RSS over the limit → the instance is restarted.
wsctl start "$T/mem.json" >/dev/null || not_ok "start the memory hog"
M=$(id_of hog)
mem_restarted() { [ "$(instance_field "$M" restarts)" -ge 1 ]; }
if wait_for 30 "hog restarted for memory" mem_restarted; then
	grep -q '"msg":"memory limit reached' "$T/wsd.stdout" && ok "max_memory_restart: the RSS of the process tree (sh → python) over the limit → restart (logged)" \
	    || not_ok "memory restart logged"
else
	not_ok "max_memory_restart" "$(wsctl status)"
fi
wsctl stop hog >/dev/null

# SIGTERM: every instance stopped, exit 0.
pids=$(wsctl status --json | json_get "' '.join(str(i['pid']) for i in d['instances'] if i['pid'])")
kill -TERM "$WSD_PID"
wait "$WSD_PID"; st=$?
[ "$st" = 0 ] && ok "SIGTERM → wsd exits 0" || not_ok "SIGTERM → exit 0" "status $st"
alive=""
for p in $pids; do kill -0 "$p" 2>/dev/null && alive="$alive $p"; done
[ -z "$alive" ] && ok "SIGTERM → every instance stopped" || not_ok "instances stopped" "alive:$alive"
[ ! -e "$WSD_HOME/wsd.sock" ] && ok "socket file removed at exit" || not_ok "socket removed"
finish
