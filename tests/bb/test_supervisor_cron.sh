#!/usr/bin/env bash
# cron_restart: the running instances restart at the cron times (every
# minute here, so this test may wait up to a minute).
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
{"apps":[{"name":"cr","script":"$T/sleeper.sh","cron_restart":"* * * * *"},
         {"name":"still","script":"$T/sleeper.sh"}]}
EOF2
start_wsd -f "$T/eco.json" || { not_ok "wsd starts"; finish; }
wait_for 20 "cr online" instance_status 0 online
p0=$(instance_field 0 pid); s0=$(instance_field 1 pid)
restarted() { p=$(instance_field 0 pid); [ "$p" != 0 ] && [ "$p" != "$p0" ] && instance_status 0 online; }
if wait_for 75 "the cron restart" restarted; then
	ok "cron_restart restarts the instance at the next minute"
	grep -q '"msg":"cron_restart \* \* \* \* \*: reloading"' "$T/wsd.stdout" && ok "cron restart logged (as a graceful reload)" || not_ok "cron restart logged"
	[ "$(instance_field 0 restarts)" = 1 ] && ok "↺ counts the cron restart" || not_ok "↺ after cron" "$(instance_field 0 restarts)"
	[ "$(instance_field 1 pid)" = "$s0" ] && ok "an app without cron_restart is left alone" || not_ok "other app untouched"
else
	not_ok "cron_restart" "$(wsctl status)"
fi
finish
