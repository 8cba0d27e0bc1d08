#!/usr/bin/env bash
# Nobody can lock the operator out of the control socket: with 512 idle
# connections held, `wsctl ping` and `wsctl restart` still work (slots
# reserved for the daemon's uid and root); one process gets at most 32
# connections; idle connections are closed after WSD_CTL_IDLE_MS, but not
# one waiting for a long command's reply.
. "$(dirname "$0")/lib.sh"
if [ -x /usr/bin/python3 ]; then python3() { /usr/bin/python3 "$@"; }; fi

# hold.py SOCK NAME NCONN: one process opening NCONN connections, each
# sending a ping.  Writes $T/NAME.ready ("answered A refused R") once every
# connection has its answer, then NAME.closed when the daemon has closed
# every answered one; it is killed at the end of the test otherwise.
cat > "$T/hold.py" <<'EOF2'
import os, select, socket, sys
path, name, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
held, refused = [], 0
for i in range(n):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    s.sendall(b'{"v":1,"id":1,"cmd":"ping"}\n')
    buf = b''
    while not buf.endswith(b'\n'):
        d = s.recv(4096)
        if not d:
            break
        buf += d
    if b'"ok":true' in buf:
        held.append(s)
    else:
        refused += 1
        s.close()
d = os.path.dirname(path) + '/../' + name
with open(d + '.tmp', 'w') as f:
    f.write('answered %d refused %d\n' % (len(held), refused))
os.rename(d + '.tmp', d + '.ready')
while held:
    r, _, _ = select.select(held, [], [])
    for s in r:
        if not s.recv(4096):
            held.remove(s)
            s.close()
open(d + '.closed', 'w').close()
EOF2
hold() {	# hold NAME NCONN: a holder process in the background, tracked
	python3 "$T/hold.py" "$WSD_HOME/wsd.sock" "$1" "$2" > /dev/null 2>&1 &
	track $!
}
ready() { [ -f "$WSD_HOME/../$1.ready" ]; }
counts() { cat "$WSD_HOME/../$1.ready" 2>/dev/null; }

mkdir -p "$T/app"
cat > "$T/app/app.sh" <<'EOF2'
#!/bin/sh
# Ignores SIGINT, so a stop waits for kill_timeout before SIGKILL.
trap '' INT
while :; do sleep 1; done
EOF2
chmod +x "$T/app/app.sh"
cat > "$T/app/eco.json" <<'EOF2'
{"apps":[{"name":"ctl","script":"./app.sh","kill_timeout":3000}]}
EOF2

# --- Phase 1: a long idle timeout; the caps and the reserved slots ----------
export WSD_CTL_IDLE_MS=600000
start_wsd || { not_ok "wsd starts"; finish; }
wsctl start "$T/app/eco.json" > /dev/null || not_ok "wsctl start"
wait_for 20 "instance 0 online" instance_status 0 online || not_ok "instance 0 online"

# 16 processes × 32: 512 idle connections held.
for i in $(seq 1 16); do hold "h$i" 32; done
all=1
for i in $(seq 1 16); do
	wait_for 60 "holder h$i" ready "h$i" || { all=0; break; }
	[ "$(counts "h$i")" = "answered 32 refused 0" ] || { all=0; break; }
done
[ "$all" = 1 ] && ok "512 idle connections are held (16 processes)" ||
	not_ok "512 idle connections are held (16 processes)" "h$i: $(counts "h$i")"

out=$(timeout 20 wsctl ping 2>&1) && ok "wsctl ping answers with 512 idle connections held" ||
	not_ok "wsctl ping answers with 512 idle connections held" "$out"
out=$(timeout 30 wsctl restart ctl 2>&1) && ok "wsctl restart works with 512 idle connections held" ||
	not_ok "wsctl restart works with 512 idle connections held" "$out"
n=0
for i in $(seq 1 16); do [ -f "$WSD_HOME/../h$i.closed" ] || n=$((n + 1)); done
[ "$n" = 16 ] && ok "the held connections were not cut to make room (the reserve served)" ||
	not_ok "the held connections were not cut to make room" "$((16 - n)) holders lost all"

# One process asking for 33: the 33rd is refused, however full the socket.
hold over 33
if wait_for 60 "the over-cap holder" ready over && [ "$(counts over)" = "answered 32 refused 1" ]; then
	ok "one process gets 32 connections, the 33rd is refused"
else
	not_ok "one process gets 32 connections, the 33rd is refused" "$(counts over)"
fi

# --- Phase 2: a short idle timeout ------------------------------------------
timeout 10 wsctl kill > /dev/null 2>&1
wait_for 30 "wsd exited" sh -c "! kill -0 $WSD_PID 2>/dev/null"
export WSD_HOME=$T/home2
mkdir -p "$WSD_HOME"
export WSD_CTL_IDLE_MS=300
start_wsd || { not_ok "wsd starts (idle 300 ms)"; finish; }
hold idle 4
if wait_for 60 "the idle connections closed by the daemon" test -f "$WSD_HOME/../idle.closed"; then
	ok "idle connections are closed after WSD_CTL_IDLE_MS"
else
	not_ok "idle connections are closed after WSD_CTL_IDLE_MS" "$(counts idle)"
fi
# A stop that waits out kill_timeout (3 s, ten idle periods) is answered.
wsctl start "$T/app/eco.json" > /dev/null || not_ok "wsctl start (idle 300 ms)"
wait_for 20 "the app online" sh -c "wsctl status --json | grep -q online"
out=$(timeout 30 wsctl stop ctl 2>&1) && ok "a connection waiting for its reply is not cut as idle" ||
	not_ok "a connection waiting for its reply is not cut as idle" "$out"
finish
