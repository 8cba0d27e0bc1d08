#!/usr/bin/env bash
# wsd speaks the sd_notify protocol to a unix datagram socket passed as
# NOTIFY_SOCKET, as systemd's Type=notify expects: READY=1 only once the
# apps are online, RELOADING=1 then READY=1 around a SIGHUP reload,
# STOPPING=1 on SIGTERM, WATCHDOG=1 repeatedly when WATCHDOG_USEC is set,
# and the instances do not inherit the variables.
. "$(dirname "$0")/lib.sh"

SOCK=$T/notify.sock
MSGS=$T/notify.log
# The listener records each datagram with its arrival time; when READY=1
# arrives it asks wsd right away whether every instance is online, so a
# READY=1 sent too early is caught without any sleep.
cat > "$T/listen.py" <<'EOF'
import json, os, socket, subprocess, sys, time
path, out = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
with open(out, "a", buffering=1) as f:
    while True:
        msg = s.recv(4096).decode()
        t = int(time.monotonic() * 1000)
        for line in msg.split("\n"):
            f.write("%d %s\n" % (t, line))
        if "READY=1" in msg.split("\n"):
            try:
                st = json.loads(subprocess.run(["wsctl", "status", "--json"],
                    capture_output=True, text=True, timeout=5).stdout)
                bad = [i["status"] for i in st["instances"] if i["status"] != "online"]
                f.write("%d CHECK %s\n" % (t, "online" if st["instances"] and not bad
                    else "not-online:" + ",".join(bad) if bad else "no-instances"))
            except Exception as e:
                f.write("%d CHECK error:%s\n" % (t, e))
EOF
python3 "$T/listen.py" "$SOCK" "$MSGS" &
LISTENER=$!
track "$LISTENER"
wait_for 30 "notify listener" test -S "$SOCK" || { not_ok "listener started"; finish; }

# Online only after listen_timeout: a READY=1 sent at spawn time would
# find the instances launching.
cat > "$T/eco.json" <<EOF
{"apps":[
 {"name":"slow","script":"sleep","args":["1000"],"instances":2,
  "wait_ready":true,"listen_timeout":1500,"kill_timeout":500},
 {"name":"envdump","script":"sh","args":["-c","env > $T/child.env; exec sleep 1000"],
  "kill_timeout":500}
]}
EOF

count() { grep -c " $1\$" "$MSGS" 2>/dev/null; }
has_msg() { [ "$(count "$1")" -ge "${2:-1}" ]; }

NOTIFY_SOCKET=$SOCK WATCHDOG_USEC=200000 wsd --foreground -f "$T/eco.json" >> "$T/wsd.stdout" 2>&1 &
WSD_PID=$!
track "$WSD_PID"
wait_for 30 "wsd control socket" wsctl ping || { not_ok "wsd starts"; finish; }

wait_for 30 "READY=1" has_msg READY=1
check "READY=1 was sent" has_msg READY=1
# The listener writes its CHECK once wsctl has answered, after READY=1.
wait_for 30 "the check at READY=1" grep -q ' CHECK ' "$MSGS"
first_check=$(grep -m1 ' CHECK ' "$MSGS" | cut -d' ' -f3)
if [ "$first_check" = online ]; then
	ok "READY=1 arrived only once every instance was online"
else
	not_ok "READY=1 arrived only once every instance was online" "at READY=1: $first_check"
fi
check "READY=1 sent once at start" test "$(count READY=1)" = 1

wait_for 30 "three WATCHDOG=1" has_msg WATCHDOG=1 3
check "WATCHDOG=1 is sent repeatedly with WATCHDOG_USEC set" has_msg WATCHDOG=1 3
# Never faster than every WATCHDOG_USEC/2 = 100 ms (generous slack: the
# unit test measures the rate exactly).
read -r n first last < <(awk '$2 == "WATCHDOG=1" {n++; if (!f) f = $1; l = $1} END {print n, f, l}' "$MSGS")
if [ "$n" -le $(( (last - first) / 50 + 2 )) ]; then
	ok "WATCHDOG=1 not faster than the half period ($n in $((last - first)) ms)"
else
	not_ok "WATCHDOG=1 not faster than the half period" "$n in $((last - first)) ms"
fi

wait_for 30 "child env written" test -s "$T/child.env"
if grep -qE '^(NOTIFY_SOCKET|WATCHDOG_USEC|WATCHDOG_PID)=' "$T/child.env"; then
	not_ok "instances do not inherit NOTIFY_SOCKET / WATCHDOG_*" \
	    "$(grep -E '^(NOTIFY_SOCKET|WATCHDOG_)' "$T/child.env")"
elif [ -s "$T/child.env" ]; then
	ok "instances do not inherit NOTIFY_SOCKET / WATCHDOG_*"
else
	not_ok "instances do not inherit NOTIFY_SOCKET / WATCHDOG_*" "no child.env"
fi

# wsctl update: the new image goes on with the watchdog on the same
# socket (the variables handed over, never to the instances), and says
# READY=1 no second time.
n_wd=$(count WATCHDOG=1)
check "wsctl update" wsctl update
wait_for 30 "WATCHDOG=1 from the new image" has_msg WATCHDOG=1 $((n_wd + 3))
check "WATCHDOG=1 goes on after wsctl update" has_msg WATCHDOG=1 $((n_wd + 3))
check "no second READY=1 after wsctl update" test "$(count READY=1)" = 1
rm -f "$T/child.env"
check "restart an instance after the update" wsctl restart envdump
wait_for 30 "child env written again" test -s "$T/child.env"
if [ -s "$T/child.env" ] && ! grep -qE '^(NOTIFY_SOCKET|WATCHDOG_USEC|WATCHDOG_PID|WSD_HANDOVER_FD)=' "$T/child.env"; then
	ok "after the update, instances inherit no NOTIFY_SOCKET / WATCHDOG_* / WSD_HANDOVER_FD"
else
	not_ok "after the update, instances inherit no NOTIFY_SOCKET / WATCHDOG_* / WSD_HANDOVER_FD" \
	    "$(grep -E '^(NOTIFY_SOCKET|WATCHDOG_|WSD_HANDOVER)' "$T/child.env")"
fi

# SIGHUP: RELOADING=1, then READY=1 again once the apps are online.
kill -HUP "$WSD_PID"
wait_for 30 "READY=1 after the reload" has_msg READY=1 2
check "SIGHUP sends RELOADING=1" has_msg RELOADING=1
order=$(awk '$2 == "RELOADING=1" || $2 == "READY=1" {printf "%s ", $2}' "$MSGS")
check "RELOADING=1 is followed by READY=1 ($order)" \
	test "$order" = "READY=1 RELOADING=1 READY=1 "

# SIGTERM: STOPPING=1, then a clean exit.
kill -TERM "$WSD_PID"
wait_for 30 "STOPPING=1" has_msg STOPPING=1
check "SIGTERM sends STOPPING=1" has_msg STOPPING=1
wait "$WSD_PID"
rc=$?
check "wsd exits 0 after SIGTERM" test "$rc" = 0
last=$(awk '$2 !~ /^WATCHDOG/ && $2 != "CHECK" {m = $2} END {print m}' "$MSGS")
check "STOPPING=1 is the last state sent" test "$last" = STOPPING=1

kill "$LISTENER" 2>/dev/null
wait "$LISTENER" 2>/dev/null

finish
