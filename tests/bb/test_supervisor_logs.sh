#!/usr/bin/env bash
# Log capture: size rotation (log_max_size, log_retain), reopening for
# logrotate (SIGUSR2 and reloadLogs), flush, the logs file list,
# merge_logs, and wsd.log for a detached daemon.
. "$(dirname "$0")/lib.sh"
# The test machine's own *_FILE variables are not what these tests are about.
for v in $(env | sed -n 's/^\([A-Za-z_][A-Za-z0-9_]*_FILE\)=.*/\1/p'); do unset "$v"; done
# pyenv's python3 shim costs a second per call; the system one is enough.
if [ -x /usr/bin/python3 ]; then python3() { /usr/bin/python3 "$@"; }; fi

# The talker prints a line each time it gets SIGUSR1 (so the test decides
# when output happens) and a burst of 2000 lines at start.
cat > "$T/talker.sh" <<'S'
#!/bin/bash
n=0
trap 'n=$((n+1)); echo "tick $n"' USR1
for i in $(seq 1 2000); do echo "burst line $i of the start, padded to be long enough"; done
echo ready
while :; do sleep 0.05; done
S
cat > "$T/quiet.sh" <<'S'
#!/bin/sh
echo "merged $WSD_INSTANCE"
exec sleep 1000
S
chmod +x "$T"/*.sh
mkdir -p "$T/out"
cat > "$T/eco.json" <<EOF2
{"apps":[
 {"name":"talk","script":"$T/talker.sh","out_file":"$T/out/talk.log","log_max_size":"20K","log_retain":3},
 {"name":"merged","script":"$T/quiet.sh","instances":2,"exec_mode":"fork","merge_logs":true}
]}
EOF2
start_wsd -f "$T/eco.json" || { not_ok "wsd starts"; finish; }
has_ready() { cat "$T"/out/talk.log* 2>/dev/null | grep -q '^ready$'; }
wait_for 30 "talker ready" has_ready || not_ok "talker output captured"
# 2000 × ~55 bytes = 110 KB through a 20 KB cap with 3 kept: .1 .2 .3 and no .4
if [ -f "$T/out/talk.log.1" ] && [ -f "$T/out/talk.log.3" ] && [ ! -e "$T/out/talk.log.4" ]; then
	ok "rotation keeps log_retain files"
else
	not_ok "rotation" "$(ls -l "$T/out")"
fi
sz=$(stat -c %s "$T/out/talk.log.1")
[ "$sz" -ge 20480 ] && [ "$sz" -lt 40000 ] && ok "rotated at log_max_size ($sz bytes)" || not_ok "rotation size" "$sz"
bad=0
for f in "$T"/out/talk.log*; do
	b=$(grep -Evc '^(burst line [0-9]+ of the start, padded to be long enough|ready)$' "$f")
	bad=$((bad + b))
	[ -z "$(tail -c 1 "$f")" ] || bad=$((bad + 1))	# ends with a newline
done
[ "$bad" = 0 ] && ok "rotation happens between lines (each file holds whole lines)" || not_ok "rotation cut a line" "$bad bad lines"

TP=$(wsctl status --json | json_get "[i['pid'] for i in d['instances'] if i['name']=='talk'][0]")
TID=$(wsctl status --json | json_get "[i['id'] for i in d['instances'] if i['name']=='talk'][0]")
# logrotate-style: move the file away, then SIGUSR2 → a new file.
mv "$T/out/talk.log" "$T/out/talk.log.moved"
kill -USR2 "$WSD_PID"
wait_for 20 "reopened talk.log" test -f "$T/out/talk.log" && ok "SIGUSR2 reopens the log files" || not_ok "SIGUSR2 reopen"
kill -USR1 "$TP"
tick1() { grep -q '^tick 1$' "$T/out/talk.log"; }
wait_for 20 "tick 1 in the new file" tick1 && ok "output goes to the reopened file" || not_ok "output after reopen" "$(cat "$T/out/talk.log")"
mv "$T/out/talk.log" "$T/out/talk.log.moved2"
wsctl reloadLogs >/dev/null && ok "wsctl reloadLogs" || not_ok "wsctl reloadLogs"
kill -USR1 "$TP"
tick2() { grep -q '^tick 2$' "$T/out/talk.log"; }
wait_for 20 "tick 2 in the new file" tick2 && ok "reloadLogs reopens" || not_ok "reloadLogs reopen"

# flush truncates; the next line lands at offset 0 (O_APPEND).
wsctl flush talk >/dev/null || not_ok "wsctl flush"
[ "$(stat -c %s "$T/out/talk.log")" = 0 ] && ok "flush truncates" || not_ok "flush truncates" "$(stat -c %s "$T/out/talk.log")"
kill -USR1 "$TP"
tick3() { [ "$(head -1 "$T/out/talk.log")" = "tick 3" ]; }
wait_for 20 "tick 3 at the start of the file" tick3 && ok "writing goes on after flush, no hole" || not_ok "after flush" "$(od -c "$T/out/talk.log" | head -3)"

# The logs command lists the files of a target.
python3 - "$WSD_HOME/wsd.sock" "$T/out/talk.log" "$TID" <<'P' && ok "logs command: out and err paths of the target" || not_ok "logs command"
import json, socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
s.sendall(b'{"v":1,"id":1,"cmd":"logs","args":{"target":"talk"}}\n')
d = json.loads(s.makefile().readline())["data"]
types = {f["type"]: f["path"] for f in d["files"]}
assert types["out"] == sys.argv[2], d
assert types["err"].endswith("/logs/talk-error-%s.log" % sys.argv[3]), d
P

# merge_logs: both instances write one file.
merged="$WSD_HOME/logs/merged-out.log"
both() { grep -q '^merged 0$' "$merged" && grep -q '^merged 1$' "$merged"; }
wait_for 20 "both instances in $merged" both && ok "merge_logs: one file for all instances" || not_ok "merge_logs" "$(ls "$WSD_HOME/logs")"
finish
