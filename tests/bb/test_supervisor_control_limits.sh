#!/usr/bin/env bash
# Nobody can lock the operator out of the control socket: with 512 idle
# connections held, `wsctl ping` and `wsctl restart` still work (slots
# reserved for the daemon's uid and root); one process gets at most 32
# connections, another uid at most 64; idle connections are closed after WSD_CTL_IDLE_MS, but not
# one waiting for a long command's reply.
. "$(dirname "$0")/lib.sh"
if [ -x /usr/bin/python3 ]; then python3() { /usr/bin/python3 "$@"; }; fi
# The holders may run as another uid: a python outside root's home.
PY=$(command -v /usr/bin/python3 || command -v python3)

# hold.py SOCK NAME NCONN: one process opening NCONN connections, each
# sending a ping.  Writes $T/out/NAME.ready ("answered A refused R") once
# every connection has its answer, then NAME.closed when the daemon has
# closed every answered one; it is killed at the end of the test otherwise.
cat > "$T/hold.py" <<'EOF2'
import os, select, socket, sys
path, out, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
held, refused = [], 0
for i in range(n):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    buf = b''
    try:
        s.sendall(b'{"v":1,"id":1,"cmd":"ping"}\n')
        while not buf.endswith(b'\n'):
            d = s.recv(4096)
            if not d:
                break
            buf += d
    except OSError as e:	# refused: closed before reading the ping
        print(e, file=sys.stderr)
    if b'"ok":true' in buf:
        held.append(s)
    else:
        refused += 1
        s.close()
with open(out + '.tmp', 'w') as f:
    f.write('answered %d refused %d\n' % (len(held), refused))
os.rename(out + '.tmp', out + '.ready')
while held:
    r, _, _ = select.select(held, [], [])
    for s in r:
        if not s.recv(4096):
            held.remove(s)
            s.close()
open(out + '.closed', 'w').close()
EOF2
hold() {	# hold NAME NCONN [CMD…]: a holder process (run by CMD) in the background, tracked
	local name=$1 n=$2; shift 2
	"$@" "$PY" "$T/hold.py" "$WSD_HOME/wsd.sock" "$T/out/$name" "$n" > /dev/null 2> "$T/out/$name.err" &
	track $!
}
ready() { [ -f "$T/out/$1.ready" ]; }
counts() { cat "$T/out/$1.ready" 2>/dev/null; }
closed() { [ -f "$T/out/$1.closed" ]; }
# Another uid reaches the socket through a wider mode and traversable folders.
mkdir -p "$T/out"
chmod 777 "$T/out"
chmod 711 "$T"

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
for i in $(seq 1 16); do closed "h$i" || n=$((n + 1)); done
[ "$n" = 16 ] && ok "the held connections were not cut to make room (the reserve served)" ||
	not_ok "the held connections were not cut to make room" "$((16 - n)) holders lost all"

# One process asking for 33: the 33rd is refused, however full the socket.
hold over 33
if wait_for 60 "the over-cap holder" ready over && [ "$(counts over)" = "answered 32 refused 1" ]; then
	ok "one process gets 32 connections, the 33rd is refused"
else
	not_ok "one process gets 32 connections, the 33rd is refused" "$(counts over)"
fi

new_daemon() {	# new_daemon HOME: stop this wsd, start one on HOME
	timeout 10 wsctl kill > /dev/null 2>&1
	wait_for 30 "wsd exited" sh -c "! kill -0 $WSD_PID 2>/dev/null"
	export WSD_HOME=$1
	mkdir -p "$WSD_HOME"
	chmod 711 "$WSD_HOME"
	start_wsd
}

# --- Phase 2: another uid gets 64 connections -------------------------------
WSD_SOCKET_MODE=0666 new_daemon "$T/home2" || { not_ok "wsd starts (mode 0666)"; finish; }
hold u1 32 setpriv --reuid=nobody --regid=nogroup --clear-groups
hold u2 32 setpriv --reuid=nobody --regid=nogroup --clear-groups
wait_for 60 "holders u1 u2" sh -c "test -f $T/out/u1.ready && test -f $T/out/u2.ready"
hold u3 1 setpriv --reuid=nobody --regid=nogroup --clear-groups
if wait_for 60 "holder u3" ready u3 && [ "$(counts u1)" = "answered 32 refused 0" ] &&
    [ "$(counts u2)" = "answered 32 refused 0" ] && [ "$(counts u3)" = "answered 0 refused 1" ]; then
	ok "another uid gets 64 connections, the 65th is refused"
else
	not_ok "another uid gets 64 connections, the 65th is refused" "u1: $(counts u1)" "u2: $(counts u2)" "u3: $(counts u3)"
fi
out=$(timeout 20 wsctl ping 2>&1) && ok "the daemon's uid still gets in" ||
	not_ok "the daemon's uid still gets in" "$out"

# --- Phase 3: a short idle timeout ------------------------------------------
export WSD_CTL_IDLE_MS=300
new_daemon "$T/home3" || { not_ok "wsd starts (idle 300 ms)"; finish; }
hold idle 4
if wait_for 60 "the idle connections closed by the daemon" closed idle; then
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
