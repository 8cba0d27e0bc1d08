#!/usr/bin/env bash
# Apps over the daemon's life: start by file and by name, stop, delete,
# scale, SIGHUP re-reading the ecosystem file, save + resurrect, and the
# systemd readiness messages (READY=1 once online, STOPPING=1 at the end).
. "$(dirname "$0")/lib.sh"
# The test machine's own *_FILE variables are not what these tests are about.
for v in $(env | sed -n 's/^\([A-Za-z_][A-Za-z0-9_]*_FILE\)=.*/\1/p'); do unset "$v"; done
# pyenv's python3 shim costs a second per call; the system one is enough.
if [ -x /usr/bin/python3 ]; then python3() { /usr/bin/python3 "$@"; }; fi

cat > "$T/show.sh" <<S
#!/bin/sh
echo "\$WSD_INSTANCE \$COLOR \$\$" >> "$T/runs.\$WSD_APP_NAME"
exec sleep 1000
S
chmod +x "$T/show.sh"
eco() {	# eco COLOR
	cat > "$T/eco.json" <<EOF2
{"apps":[{"name":"a","script":"$T/show.sh","env":{"COLOR":"$1"}},
         {"name":"b","script":"$T/show.sh","env":{"COLOR":"fixed"}}]}
EOF2
}
eco red

# A NOTIFY_SOCKET listener, as systemd would hold it.
python3 - "$T/notify.sock" "$T/notify.log" <<'P' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.bind(sys.argv[1])
with open(sys.argv[2], "a", buffering=1) as f:
    while True:
        f.write(s.recv(4096).decode() + "\n")
P
track $!
wait_for 20 "notify socket" test -S "$T/notify.sock"
NOTIFY_SOCKET="$T/notify.sock" start_wsd -f "$T/eco.json" || { not_ok "wsd starts"; finish; }
id_of() { wsctl status --json | json_get "[i['id'] for i in d['instances'] if i['name']=='$1' and i['instance']==${2:-0}][0]"; }
A=$(id_of a); B=$(id_of b)
ready() { grep -q '^READY=1' "$T/notify.log"; }
wait_for 20 "READY=1" ready && ok "READY=1 sent once the apps are online" || not_ok "READY=1" "$(cat "$T/notify.log" 2>&1)"

# SIGHUP: a changed app restarts with its new env, an unchanged one does not.
bpid=$(instance_field "$B" pid); apid=$(instance_field "$A" pid)
eco blue
kill -HUP "$WSD_PID"
blue() { tail -1 "$T/runs.a" | grep -q '^0 blue '; }
wait_for 20 "a restarted blue" blue && ok "SIGHUP restarts a changed app with its new config" || not_ok "SIGHUP reload" "$(cat "$T/runs.a")"
[ "$(instance_field "$B" pid)" = "$bpid" ] && ok "SIGHUP leaves an unchanged app alone" || not_ok "unchanged app untouched"
grep -q 'RELOADING=1' "$T/notify.log" && ok "RELOADING=1 around the reload" || not_ok "RELOADING=1" "$(cat "$T/notify.log")"

# stop / start by name.
wsctl stop a >/dev/null && instance_status "$A" stopped && ok "stop replies once stopped" || not_ok "stop" "$(instance_field "$A" status)"
wsctl start a >/dev/null && wait_for 20 "a online" instance_status "$A" online && ok "start by name" || not_ok "start by name"

# scale up and down.
if wsctl scale b 3 >/dev/null; then
	three() { [ "$(wsctl status --json | json_get "len([i for i in d['instances'] if i['name']=='b' and i['status']=='online'])")" = 3 ]; }
	wait_for 20 "3 instances of b" three && ok "scale up to 3" || not_ok "scale up" "$(wsctl status)"
	wsctl scale b 1 >/dev/null
	one() { [ "$(wsctl status --json | json_get "len([i for i in d['instances'] if i['name']=='b'])")" = 1 ]; }
	wait_for 20 "1 instance of b" one && ok "scale down to 1" || not_ok "scale down" "$(wsctl status)"
else
	not_ok "wsctl scale"
fi

# save, kill, resurrect: the same apps come back, a stopped one stays stopped.
wsctl stop b >/dev/null
wsctl save >/dev/null && [ -f "$WSD_HOME/dump.json" ] && ok "save writes dump.json" || not_ok "save"
wsctl kill >/dev/null
wait "$WSD_PID"; st=$?
[ "$st" = 0 ] && ok "kill → daemon exits 0" || not_ok "kill exit status" "$st"
stopping() { grep -q '^STOPPING=1' "$T/notify.log"; }
wait_for 20 "STOPPING=1" stopping && ok "STOPPING=1 at shutdown" || not_ok "STOPPING=1"
start_wsd --resurrect || not_ok "wsd --resurrect starts"
back() { [ "$(wsctl status --json | json_get "sorted((i['name'], i['status']) for i in d['instances'])")" = "[('a', 'online'), ('b', 'stopped')]" ]; }
wait_for 20 "a online, b stopped" back && ok "resurrect restores the saved apps and states" || not_ok "resurrect" "$(wsctl status)"
tail -1 "$T/runs.a" | grep -q '^0 blue ' && ok "resurrected app keeps its config (env)" || not_ok "resurrected config" "$(tail -1 "$T/runs.a")"

# delete: gone from the table, process stopped.
wsctl delete a >/dev/null || not_ok "delete"
gone() { [ "$(wsctl status --json | json_get "len([i for i in d['instances'] if i['name']=='a'])")" = 0 ]; }
wait_for 20 "a deleted" gone && ok "delete removes the app" || not_ok "delete" "$(wsctl status)"
wsctl stop a > /dev/null 2>&1 && not_ok "deleted app still addressable" || ok "deleted app → no_such_app"
finish
