#!/usr/bin/env bash
# wsctl without a daemon: exit statuses (69, 64), help from the command
# table, `token` from wsctl's own environment, and `publish` request
# building and error paths against a small HTTP catcher (not the worker).
. "$(dirname "$0")/lib.sh"

# st CMD...: exit status of CMD, its stdout and stderr kept in $T/out, $T/err.
st() { "$@" > "$T/out" 2> "$T/err"; echo $?; }

# --- no daemon: 69 with the socket named --------------------------------
for c in status ls jlist ping "describe 0" "env 0" "stop all" "restart all" \
    "logs" flush reloadLogs kill save "scale x 2" "start all" ps "status x" \
    prettylist "pid x" "id x" "sendSignal USR1 x" "reset x" cleardump; do
	# shellcheck disable=SC2086
	s=$(st wsctl $c)
	if [ "$s" = 69 ] && grep -q "daemon not running (no answer on $WSD_HOME/wsd.sock)" "$T/err"; then
		ok "no daemon: wsctl $c exits 69 and names the socket"
	else
		not_ok "no daemon: wsctl $c exits 69 and names the socket" "status $s" "$(cat "$T/err")"
	fi
done
s=$(st wsctl status --json)
[ "$s" = 69 ] && [ ! -s "$T/out" ] && ok "no daemon: --json prints nothing on stdout, exits 69" ||
	not_ok "no daemon: --json prints nothing on stdout, exits 69" "status $s" "$(cat "$T/out")"

# --- usage: 64 --------------------------------------------------------------
for c in "" bogus "status --bogus" "status a b" "logs --lines" "logs --lines x" \
    "logs a b" "restart" "restart all --nope" "scale x" "scale x many" \
    "describe" "env" "env 0 --bogus" "env 0 1" "token" "token --user" "token --user 1 --ttl 5x" \
    "publish post_1" "start" "start --env" "save --nope" "logs --timestamp=HH:mm" \
    "sendSignal USR1" "reset" "id" "startOrReload" "start all --only a" "startup -u"; do
	# shellcheck disable=SC2086
	s=$(st wsctl $c)
	if [ "$s" = 64 ] && grep -q "usage: wsctl" "$T/err"; then
		ok "usage: 'wsctl $c' exits 64 with a usage line"
	else
		not_ok "usage: 'wsctl $c' exits 64 with a usage line" "status $s" "$(cat "$T/err")"
	fi
done

# --- help lists every command of the table -----------------------------------
s=$(st wsctl help)
missing=
for c in start stop restart reload delete scale status jlist describe env \
    logs flush reloadLogs ping kill save resurrect token publish prettylist \
    pid id sendSignal reset cleardump startOrReload startOrRestart; do
	grep -q "^  $c\b" "$T/out" || missing="$missing $c"
done
[ "$s" = 0 ] && [ -z "$missing" ] && ok "wsctl help lists the commands, exits 0" ||
	not_ok "wsctl help lists the commands, exits 0" "status $s, missing:$missing"
s=$(st wsctl --help); [ "$s" = 0 ] && grep -q 'usage: wsctl' "$T/out" && ok "--help exits 0" || not_ok "--help exits 0" "status $s"
s=$(st wsctl -h); [ "$s" = 0 ] && ok "-h exits 0" || not_ok "-h exits 0" "status $s"
s=$(st wsctl restart -h); [ "$s" = 0 ] && grep -q 'usage: wsctl restart' "$T/out" &&
	ok "wsctl restart -h prints its usage" || not_ok "wsctl restart -h prints its usage" "status $s"

# --- token from our own environment ---------------------------------------------
# verify_token TOKEN SECRET USER TTL: HS256 signature, header and claims.
verify_token() {
	python3 - "$@" <<'EOF'
import base64, hashlib, hmac, json, sys, time
tok, secret, user, ttl = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
def d(x): return base64.urlsafe_b64decode(x + '=' * (-len(x) % 4))
h, p, s = tok.split('.')
mac = hmac.new(secret.encode(), (h + '.' + p).encode(), hashlib.sha256).digest()
if not hmac.compare_digest(d(s), mac): sys.exit("bad signature")
hd, c = json.loads(d(h)), json.loads(d(p))
if hd.get('alg') != 'HS256': sys.exit("alg %r" % hd.get('alg'))
if c.get('userId') != user or c.get('sub') != user: sys.exit("user %r" % c)
if not isinstance(c.get('exp'), int) or abs(c['exp'] - time.time() - ttl) > 60: sys.exit("exp %r" % c)
if c['exp'] - c['iat'] != ttl: sys.exit("iat %r" % c)
EOF
}
SECRET=bb-secret-0123456789abcdef0123456789
s=$(NEXTAUTH_SECRET=$SECRET st wsctl token --user 42 --ttl 30m)
tok=$(cat "$T/out")
if [ "$s" = 0 ] && [ "$(wc -l < "$T/out")" = 1 ] && verify_token "$tok" "$SECRET" 42 1800; then
	ok "token (no daemon): NEXTAUTH_SECRET from the environment, verifies with HS256"
else
	not_ok "token (no daemon): NEXTAUTH_SECRET from the environment, verifies with HS256" "status $s" "$(cat "$T/out" "$T/err")"
fi
if verify_token "$tok" "another-secret" 42 1800 2>/dev/null; then
	not_ok "token: the check refuses another secret"
else
	ok "token: the check refuses another secret"
fi
s=$(NEXTAUTH_SECRET=$SECRET st wsctl token --user u-7)
verify_token "$(cat "$T/out")" "$SECRET" u-7 3600 && ok "token: default ttl is 1h" ||
	not_ok "token: default ttl is 1h" "status $s"
s=$(env -u NEXTAUTH_SECRET wsctl token --user 1 > "$T/out" 2> "$T/err"; echo $?)
[ "$s" = 69 ] && [ ! -s "$T/out" ] && grep -q NEXTAUTH_SECRET "$T/err" &&
	ok "token: no daemon and no NEXTAUTH_SECRET → 69 with a message" ||
	not_ok "token: no daemon and no NEXTAUTH_SECRET → 69 with a message" "status $s" "$(cat "$T/err")"

# --- publish ---------------------------------------------------------------------
# catcher PORT STATUS: answers one HTTP request with STATUS, saves it in $T/req.
catcher() {
	python3 - "$1" "$2" "$T/req" <<'EOF' &
import socket, sys
port, status, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", port)); s.listen(1)
open(out + ".ready", "w").close()
c, _ = s.accept(); data = b""
while b"\r\n\r\n" not in data: data += c.recv(65536)
head, body = data.split(b"\r\n\r\n", 1)
n = [int(l.split(b":")[1]) for l in head.split(b"\r\n") if l.lower().startswith(b"content-length:")][0]
while len(body) < n: body += c.recv(65536)
open(out, "wb").write(head + b"\r\n\r\n" + body)
reply = b'{"delivered":0}' if status == 200 else b'{"error":"Unauthorized"}'
c.sendall(b"HTTP/1.1 %d X\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s" % (status, len(reply), reply))
c.close()
EOF
	track $!
	wait_for 20 "catcher on $1" test -e "$T/req.ready"
}

PORT=$(free_port)
rm -f "$T/req" "$T/req.ready"
catcher "$PORT" 200
s=$(WS_PORT=$PORT WS_API_KEY=k-123 st wsctl publish post_1 '{"type":"post_liked","data":{"postId":"1","likesCount":3}}')
if [ "$s" = 0 ] && python3 - "$T/req" <<'EOF'
import json, sys
raw = open(sys.argv[1], "rb").read()
head, body = raw.split(b"\r\n\r\n", 1)
lines = head.decode().split("\r\n")
assert lines[0] == "POST /api/publish HTTP/1.1", lines[0]
h = {l.split(":", 1)[0].lower(): l.split(":", 1)[1].strip() for l in lines[1:]}
assert h["authorization"] == "Bearer k-123", h
assert h["content-type"] == "application/json", h
assert int(h["content-length"]) == len(body)
b = json.loads(body)
assert b == {"channel": "post_1", "type": "post_liked", "data": {"postId": "1", "likesCount": 3}}, b
assert list(b)[0] == "channel"
EOF
then
	ok "publish (no daemon): POST /api/publish with Bearer WS_API_KEY and {channel,type,data}"
else
	not_ok "publish (no daemon): POST /api/publish with Bearer WS_API_KEY and {channel,type,data}" "status $s" "$(cat "$T/req" "$T/err" 2>/dev/null)"
fi
grep -q delivered "$T/out" && ok "publish prints the worker's answer" || not_ok "publish prints the worker's answer" "$(cat "$T/out")"

PORT=$(free_port)
rm -f "$T/req" "$T/req.ready"
catcher "$PORT" 401
s=$(WS_PORT=$PORT WS_API_KEY=wrong st wsctl publish post_1 '{"type":"x"}')
[ "$s" = 1 ] && grep -q "answered 401" "$T/err" && ok "publish: a 401 from the worker → exit 1 with the status" ||
	not_ok "publish: a 401 from the worker → exit 1 with the status" "status $s" "$(cat "$T/err")"

PORT=$(free_port)
s=$(WS_PORT=$PORT WS_API_KEY=k st wsctl publish post_1 '{"type":"x","data":{}}')
[ "$s" = 1 ] && grep -q "cannot connect to 127.0.0.1:$PORT (Connection refused)" "$T/err" &&
	ok "publish to a closed port → exit 1, 'cannot connect … Connection refused'" ||
	not_ok "publish to a closed port → exit 1, 'cannot connect … Connection refused'" "status $s" "$(cat "$T/err")"

s=$(WS_PORT=$PORT st wsctl publish post_1 '{"type":')
[ "$s" = 1 ] && grep -q "invalid JSON" "$T/err" && ok "publish: invalid JSON → exit 1 before connecting" ||
	not_ok "publish: invalid JSON → exit 1 before connecting" "status $s" "$(cat "$T/err")"
s=$(WS_PORT=$PORT st wsctl publish post_1 '[1,2]')
[ "$s" = 1 ] && grep -q 'string "type"' "$T/err" && ok "publish: an event that is not an object with a type → exit 1" ||
	not_ok "publish: an event that is not an object with a type → exit 1" "status $s" "$(cat "$T/err")"
s=$(WS_PORT=$PORT st wsctl publish 'bad key' '{"type":"x"}')
[ "$s" = 1 ] && grep -q 'bad channel key' "$T/err" && ok "publish: a channel key with a space → exit 1" ||
	not_ok "publish: a channel key with a space → exit 1" "status $s" "$(cat "$T/err")"

# --- a daemon socket that misbehaves ---------------------------------------------
# fake_sock MODE: a unix socket at $T/fake/wsd.sock that accepts and then
# stays silent, closes at once, or (stale) no longer listens.
mkdir -p "$T/fake"
fake_sock() {
	rm -f "$T/fake/wsd.sock" "$T/fake/ready"
	python3 - "$1" "$T/fake" <<'EOF' &
import os, socket, sys, time
mode, d = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX); s.bind(d + "/wsd.sock"); s.listen(4)
if mode == "stale":
    s.close(); open(d + "/ready", "w").close(); sys.exit(0)
open(d + "/ready", "w").close()
while True:
    c, _ = s.accept()
    if mode == "close": c.close()
    else: time.sleep(30)
EOF
	FAKE_PID=$!
	track $FAKE_PID
	wait_for 20 "fake socket" test -e "$T/fake/ready"
}
fake_sock silent
s=$(WSD_HOME=$T/fake WSCTL_TIMEOUT_MS=300 st timeout 10 wsctl status)
[ "$s" = 1 ] && grep -q "no answer to list within 300 ms" "$T/err" &&
	ok "a daemon that never answers: status gives up → 1" ||
	not_ok "a daemon that never answers: status gives up → 1" "status $s" "$(cat "$T/err")"
kill "$FAKE_PID" 2>/dev/null
fake_sock close
s=$(WSD_HOME=$T/fake st timeout 10 wsctl ping)
[ "$s" = 1 ] && grep -q "closed the connection" "$T/err" &&
	ok "a daemon that hangs up: ping → 1 with a message" ||
	not_ok "a daemon that hangs up: ping → 1 with a message" "status $s" "$(cat "$T/err")"
kill "$FAKE_PID" 2>/dev/null
fake_sock stale
s=$(WSD_HOME=$T/fake st timeout 10 wsctl status)
[ -S "$T/fake/wsd.sock" ] && [ "$s" = 69 ] && ok "a stale socket file (no listener) → 69" ||
	not_ok "a stale socket file (no listener) → 69" "status $s" "$(cat "$T/err")"

finish
