#!/usr/bin/env bash
# The control socket under abuse (bad JSON, a 1 MB line, wrong versions,
# 100 idle clients, a client that never reads) and its access rules (an
# unprivileged uid reads status but may not restart or stop).
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
{"apps":[{"name":"sl","script":"$T/sleeper.sh"}]}
EOF2
# The unprivileged test needs to reach the socket: a wider socket mode
# (WSD_SOCKET_MODE) and a home others may traverse.
chmod 711 "$T" "$WSD_HOME"
WSD_SOCKET_MODE=0666 start_wsd -f "$T/eco.json" || { not_ok "wsd starts"; finish; }
wait_for 20 "sl online" instance_status 0 online

python3 - "$WSD_HOME/wsd.sock" > "$T/garbage.out" 2>&1 <<'P'
import json, socket, sys, time
path = sys.argv[1]
def conn():
    s = socket.socket(socket.AF_UNIX); s.connect(path); s.settimeout(10)
    return s, s.makefile("rb")
def reply(f):
    return json.loads(f.readline())
s, f = conn()
s.sendall(b'{"v":1,"id":1,"cmd":\n')
r = reply(f); assert r["ok"] is False and r["error"]["code"] == "bad_json", r
print("ok - bad JSON → bad_json")
s.sendall(b'{"v":2,"id":2,"cmd":"ping"}\n')
r = reply(f); assert r["error"]["code"] == "bad_version" and r["id"] == 2, r
print("ok - wrong version → bad_version, id echoed")
s.sendall(b'{"v":1,"id":3,"cmd":"frobnicate"}\n')
r = reply(f); assert r["error"]["code"] == "unknown_command", r
print("ok - unknown command → unknown_command")
s.sendall(b'[1,2,3]\n')
r = reply(f); assert r["error"]["code"] == "bad_request", r
print("ok - a non-object → bad_request")
s.sendall(b'{"v":1,"id":4,"cmd":"restart","args":{"target":"nope"}}\n')
r = reply(f); assert r["error"]["code"] == "no_such_app", r
print("ok - unknown target → no_such_app")
s.sendall(b'{"v":1,"id":5,"cmd":"ping","pad":"' + b"x" * (1024 * 1024) + b'"}\n')
r = reply(f); assert r["error"]["code"] == "line_too_long", r
s.sendall(b'{"v":1,"id":6,"cmd":"ping"}\n')
r = reply(f); assert r["ok"] and r["id"] == 6, r
print("ok - 1 MB line → line_too_long, connection still usable")
# Pipelined requests: replies in request order.
s.sendall(b''.join(b'{"v":1,"id":%d,"cmd":"ping"}\n' % i for i in range(100, 150)))
ids = [reply(f)["id"] for _ in range(50)]
assert ids == list(range(100, 150)), ids
print("ok - 50 pipelined requests answered in order")
# A deferred reply (restart waits for the new process) holds back the next.
s.sendall(b'{"v":1,"id":"r","cmd":"restart","args":{"target":"sl"}}\n{"v":1,"id":"p","cmd":"ping"}\n')
r1, r2 = reply(f), reply(f)
assert r1["id"] == "r" and r1["ok"] and r1["data"]["instances"][0]["restarts"] == 1, r1
assert r2["id"] == "p" and r2["ok"], r2
print("ok - a deferred restart reply comes before the ping sent after it")
# 100 idle clients (from 4 processes: one process may hold 32), then a
# normal one.  Each holder lives as long as this script does.
import os
parent = os.getpid()
for _ in range(4):
    rfd, wfd = os.pipe()
    if os.fork() == 0:
        os.close(rfd)
        held = [conn() for _ in range(25)]
        os.write(wfd, b"x")
        while os.getppid() == parent:
            time.sleep(0.2)
        os._exit(0)
    os.close(wfd)
    assert os.read(rfd, 1) == b"x"
    os.close(rfd)
s2, f2 = conn()
s2.sendall(b'{"v":1,"id":7,"cmd":"list"}\n')
r = reply(f2); assert r["ok"] and len(r["data"]["instances"]) == 1, r
print("ok - 100 idle clients, others still served")
# A client that never reads: flood requests; the daemon must cut it.
hog = socket.socket(socket.AF_UNIX); hog.connect(path)
hog.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
hog.settimeout(20)
req = b'{"v":1,"id":1,"cmd":"describe","args":{"target":"all"}}\n' * 200
cut = False
t0 = time.time()
try:
    while time.time() - t0 < 20:
        hog.sendall(req)
except (BrokenPipeError, ConnectionResetError):
    cut = True
except socket.timeout:
    pass
assert cut, "the hog was never disconnected"
print("ok - a client that never reads is disconnected")
s2.sendall(b'{"v":1,"id":8,"cmd":"ping"}\n')
r = reply(f2); assert r["ok"], r
print("ok - daemon answers after the hog")
P
cat "$T/garbage.out"
grep -q '^ok - daemon answers after the hog' "$T/garbage.out" || not_ok "control socket abuse" "$(tail -5 "$T/garbage.out")"

# Supervision went on through all that.
p0=$(instance_field 0 pid)
kill -9 "$p0"
respawned() { p=$(instance_field 0 pid); [ "$p" != 0 ] && [ "$p" != "$p0" ]; }
wait_for 20 "respawn" respawned && ok "supervision goes on after the abuse" || not_ok "supervision goes on"

# An unprivileged uid: status yes, restart/stop no.
as_nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups env WSD_HOME="$WSD_HOME" PATH="$PATH" "$@"; }
p1=$(instance_field 0 pid)
if as_nobody wsctl status --json > "$T/nobody.json" 2>&1 && grep -q '"instances"' "$T/nobody.json"; then
	ok "nobody can read status"
else
	not_ok "nobody can read status" "$(cat "$T/nobody.json")"
fi
as_nobody wsctl restart sl > "$T/nobody.out" 2>&1; st=$?
if [ "$st" != 0 ] && grep -qi 'permission\|uid or root' "$T/nobody.out"; then ok "nobody is refused restart"; else not_ok "nobody refused restart" "status $st" "$(cat "$T/nobody.out")"; fi
as_nobody wsctl stop sl > "$T/nobody2.out" 2>&1; st=$?
[ "$st" != 0 ] && ok "nobody is refused stop" || not_ok "nobody refused stop" "$(cat "$T/nobody2.out")"
as_nobody wsctl env 0 --reveal > "$T/nobody3.out" 2>&1; st=$?
[ "$st" != 0 ] && grep -qi 'permission\|uid or root' "$T/nobody3.out" && ok "nobody is refused env --reveal" || not_ok "nobody refused env --reveal" "$(cat "$T/nobody3.out")"
as_nobody wsctl env 0 > "$T/nobody4.out" 2>&1 && ok "nobody may read the masked env" || not_ok "nobody reads the masked env" "$(cat "$T/nobody4.out")"
[ "$(instance_field 0 pid)" = "$p1" ] && instance_status 0 online && ok "the app was not touched" || not_ok "app untouched"
grep -q '"peer_uid":65534' "$T/wsd.stdout" && ok "refusal logged with the peer uid" || not_ok "refusal logged"
wsctl restart sl >/dev/null && [ "$(instance_field 0 pid)" != "$p1" ] && ok "the daemon's uid may restart" || not_ok "owner restart"
grep -q '"msg":"control command".*"cmd":"restart"\|"cmd":"restart".*"msg":"control command"' "$T/wsd.stdout" && ok "admin command logged" || not_ok "admin command logged"
finish
