#!/usr/bin/env bash
# The SysV script against a temp home: start / status / stop / status give
# the LSB exit codes, start restores the saved apps, stale pid files are
# told apart from a running daemon.
. "$(dirname "$0")/lib.sh"

S=$TOP/init/wsd.init
# The script takes its settings from the environment when no defaults file
# says otherwise (WSD_DEFAULTS=/dev/null: never the host's /etc/default/wsd).
export WSD_BINDIR=$BIN WSD_DEFAULTS=/dev/null WSD_USER=$(id -un)
export WSD_START_TIMEOUT=20 WSD_STOP_TIMEOUT=20

lsb() {	# lsb ACTION EXPECTED DESCRIPTION
	local out rc
	out=$("$S" "$1" 2>&1)
	rc=$?
	if [ "$rc" = "$2" ]; then ok "$3 (exit $rc)"
	else not_ok "$3" "expected exit $2, got $rc" "$out"; fi
}

wsd_alive() { [ -f "$WSD_HOME/wsd.pid" ] && kill -0 "$(cat "$WSD_HOME/wsd.pid")" 2>/dev/null; }

check "LSB header present" grep -q '^### BEGIN INIT INFO' "$S"
for k in Provides Required-Start Required-Stop Default-Start Default-Stop Short-Description; do
	check "LSB header has $k" grep -q "^# $k:" "$S"
done
check "script is valid sh" sh -n "$S"

lsb status 3 "status of a stopped service is 3"
lsb stop 0 "stop of a stopped service is 0"
lsb reload 7 "reload of a stopped service is 7"
lsb start 0 "start is 0"
check "the daemon answers after start" wsctl ping
check "the daemon wrote its pid file" test -s "$WSD_HOME/wsd.pid"
lsb status 0 "status of a running service is 0"
lsb start 0 "start of a running service is 0"
check "still one daemon after a second start" \
	test "$(pgrep -fc -- "$BIN/wsd --resurrect")" = 1
lsb reload 0 "reload of a running service is 0"

# An app saved now comes back when the script starts wsd (--resurrect).
cat > "$T/eco.json" <<EOF
{"apps":[{"name":"sleeper","script":"sleep","args":["1000"],"kill_timeout":500}]}
EOF
wsctl start "$T/eco.json" >/dev/null 2>&1
wait_for 30 "sleeper online" instance_status 0 online
wsctl save >/dev/null 2>&1
check "wsctl save wrote the dump" test -s "$WSD_HOME/dump.json"
lsb restart 0 "restart is 0"
wait_for 30 "sleeper resurrected" instance_status 0 online
check "restart restored the saved app" instance_status 0 online
pid=$(cat "$WSD_HOME/wsd.pid" 2>/dev/null)
spid=$(instance_field 0 pid 2>/dev/null)

lsb stop 0 "stop is 0"
check "the daemon is gone after stop" test -n "$pid" -a ! -d "/proc/$pid"
check "the app's process is gone after stop" test -n "$spid" -a "$spid" != 0 -a ! -d "/proc/$spid"
lsb status 3 "status after stop is 3"

# A pid file whose process is gone: "dead but pid file exists".
( sleep 0.01 ) & dead=$!
wait "$dead"
echo "$dead" > "$WSD_HOME/wsd.pid"
lsb status 1 "status with a stale pid file is 1"
lsb start 0 "start over a stale pid file is 0"
lsb status 0 "status after that start is 0"
lsb stop 0 "stop is 0 again"
check "stop removed the pid file" test ! -e "$WSD_HOME/wsd.pid"

out=$("$S" bogus 2>&1)
rc=$?
check "an unknown action is refused with 2" test "$rc" = 2

finish
