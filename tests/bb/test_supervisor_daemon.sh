#!/usr/bin/env bash
# wsd as a daemon: one per home, a stale socket is replaced, detaching
# returns only once the socket answers, SIGKILL of wsd leaves no instance
# behind (PDEATHSIG), a bad ecosystem is refused with every error (exit 78).
. "$(dirname "$0")/lib.sh"
# The test machine's own *_FILE variables are not what these tests are about.
for v in $(env | sed -n 's/^\([A-Za-z_][A-Za-z0-9_]*_FILE\)=.*/\1/p'); do unset "$v"; done
# pyenv's python3 shim costs a second per call; the system one is enough.
if [ -x /usr/bin/python3 ]; then python3() { /usr/bin/python3 "$@"; }; fi

cat > "$T/sleeper.sh" <<'S'
#!/bin/sh
exec sleep 1000
S
chmod +x "$T/sleeper.sh"
cat > "$T/eco.json" <<EOF2
{"apps":[{"name":"sl","script":"$T/sleeper.sh","instances":2,"exec_mode":"fork"}]}
EOF2

# A bad file: every error at once, exit 78, for -n and for a real start.
cat > "$T/bad.json" <<'EOF2'
{"apps":[{"name":"a","script":"x","instances":"lots"},
         {"name":"b","script":"y","max_restarts":"many","vizion":true}]}
EOF2
wsd -n "$T/bad.json" > "$T/n.out" 2>&1; st=$?
if [ "$st" = 78 ] && grep -q 'apps\[0\].instances' "$T/n.out" && grep -q 'apps\[1\].max_restarts' "$T/n.out"; then
	ok "wsd -n: exit 78 with every error listed"
else
	not_ok "wsd -n bad file" "status $st" "$(cat "$T/n.out")"
fi
grep -q 'apps\[1\].vizion' "$T/n.out" && ok "unknown key warned" || not_ok "unknown key warned" "$(cat "$T/n.out")"
wsd --foreground -f "$T/bad.json" > "$T/f.out" 2>&1; st=$?
if [ "$st" = 78 ] && grep -q 'apps\[0\].instances' "$T/f.out" && grep -q 'apps\[1\].max_restarts' "$T/f.out" && [ ! -e "$WSD_HOME/wsd.sock" ]; then
	ok "wsd -f bad file: exit 78, nothing started"
else
	not_ok "wsd -f bad file" "status $st" "$(cat "$T/f.out")"
fi
wsd -n "$T/eco.json" > "$T/n2.out" 2>&1 && ok "wsd -n good file: exit 0" || not_ok "wsd -n good file" "$(cat "$T/n2.out")"

# A stale socket file (nobody listening) is probed and replaced.
python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])' "$WSD_HOME/wsd.sock"
[ -S "$WSD_HOME/wsd.sock" ] || not_ok "stale socket prepared"

# Detached start: the first process returns once the socket answers.
if wsd -f "$T/eco.json"; then
	if wsctl ping >/dev/null; then ok "detached wsd answers as soon as it returns (stale socket replaced)"; else not_ok "ping right after detached start"; fi
else
	not_ok "detached wsd starts"
fi
DPID=$(cat "$WSD_HOME/wsd.pid")
WSD_PID=$DPID	# for cleanup
[ "$(ps -o sid= -p "$DPID" | tr -d ' ')" != "$(ps -o sid= -p $$ | tr -d ' ')" ] && ok "daemon runs in its own session" || not_ok "own session"
[ "$(readlink /proc/$DPID/cwd)" = / ] && ok "daemon cwd is /" || not_ok "daemon cwd" "$(readlink /proc/$DPID/cwd)"
mode=$(stat -c %a "$WSD_HOME/wsd.sock")
[ "$mode" = 600 ] && ok "socket mode 0600" || not_ok "socket mode" "$mode"
both_online() { instance_status 0 online && instance_status 1 online; }
wait_for 20 "instances online" both_online

# A second daemon on the same home is refused; the first keeps working.
p0=$(instance_field 0 pid)
wsd --foreground -f "$T/eco.json" > "$T/second.out" 2>&1; st=$?
if [ "$st" != 0 ] && grep -q "another wsd" "$T/second.out"; then ok "second wsd refused ($(cat "$T/second.out"))"; else not_ok "second wsd refused" "status $st" "$(cat "$T/second.out")"; fi
wsd -f "$T/eco.json" > "$T/second2.out" 2>&1; st=$?
[ "$st" != 0 ] && ok "second detached wsd refused too" || not_ok "second detached wsd refused" "status $st"
if wsctl ping >/dev/null && [ "$(instance_field 0 pid)" = "$p0" ] && [ "$(cat "$WSD_HOME/wsd.pid")" = "$DPID" ]; then
	ok "first wsd keeps working, its pid file intact"
else
	not_ok "first wsd keeps working"
fi
kill -9 "$p0"
respawned() { p=$(instance_field 0 pid); [ "$p" != 0 ] && [ "$p" != "$p0" ]; }
wait_for 20 "respawn after the refused second daemon" respawned && ok "first wsd still supervises" || not_ok "first wsd still supervises"

# SIGKILL of wsd: PDEATHSIG takes every instance with it.
pids=$(wsctl status --json | json_get "' '.join(str(i['pid']) for i in d['instances'] if i['pid'])")
[ -n "$pids" ] || not_ok "instance pids known"
kill -9 "$DPID"
none_alive() { for p in $pids; do kill -0 "$p" 2>/dev/null && return 1; done; return 0; }
wait_for 20 "instances to die with wsd" none_alive && ok "wsd SIGKILLed → no instance survives" || not_ok "no instance survives" "alive: $pids"

# The next daemon starts over the dead one's files.
start_wsd -f "$T/eco.json" && ok "a new wsd starts after a SIGKILLed one" || not_ok "restart after SIGKILL"
wsctl kill >/dev/null
wait "$WSD_PID"

# wsctl start FILE with no daemon: it starts one (detached, logging to wsd.log).
if wsctl start "$T/eco.json" > "$T/auto.out" 2>&1; then
	wait_for 20 "autostarted instances online" both_online && ok "wsctl start FILE starts the daemon and the apps" \
	    || not_ok "autostart apps online" "$(wsctl status)"
	WSD_PID=$(cat "$WSD_HOME/wsd.pid")
	grep -q '"msg":"wsd started"' "$WSD_HOME/wsd.log" && ok "detached daemon logs to wsd.log" || not_ok "wsd.log" "$(cat "$WSD_HOME/wsd.log")"
else
	not_ok "wsctl start autostarts wsd" "$(cat "$T/auto.out")"
fi
finish
