#!/usr/bin/env bash
# wsctl against the real wsd: `start FILE` spawning the daemon, the status
# table piped and on a terminal, jlist's PM2 shape, --json, describe/env
# masking, logs --lines/--err/--out/--follow, token and publish with the
# app's revealed env, restart/stop/start/delete/flush, error replies (1, 78),
# and kill waiting until the daemon is gone.
. "$(dirname "$0")/lib.sh"

st() { "$@" > "$T/out" 2> "$T/err"; echo $?; }

# wsd applies the VAR_FILE rule to the environment it inherits too; a
# host's TF_CLI_CONFIG_FILE pointing nowhere would fail every app here.
for v in $(env | sed -n 's/^\([A-Za-z_][A-Za-z0-9_]*_FILE\)=.*/\1/p'); do unset "$v"; done

SECRET=daemon-secret-abcdefghijklmnopqrstuvwxyz
API_KEY=api-key-xyz
WS_PORT_APP=$(free_port)
mkdir -p "$T/app"
cat > "$T/app/app.sh" <<'EOF'
#!/bin/sh
i=0
while :; do
	echo "out line $i of $WSD_INSTANCE"
	echo "err line $i of $WSD_INSTANCE" >&2
	i=$((i + 1))
	sleep 0.05
done
EOF
chmod +x "$T/app/app.sh"
cat > "$T/app/eco.json" <<EOF
{"apps":[
 {"name":"ctlapp","script":"app.sh","instances":2,"exec_mode":"fork","kill_timeout":1000,
  "env":{"NEXTAUTH_SECRET":"$SECRET","WS_PORT":$WS_PORT_APP,"WS_API_KEY":"$API_KEY"}},
 {"name":"other","script":"app.sh","instances":1,"kill_timeout":1000,"vizion":false}
]}
EOF

# --- start FILE with no daemon: the daemon is started, the table printed ------
s=$(cd "$T/app" && st wsctl start eco.json)
if [ -f "$WSD_HOME/wsd.pid" ]; then WSD_PID=$(cat "$WSD_HOME/wsd.pid"); track "$WSD_PID"; fi
if [ "$s" = 0 ] && grep -q 'ctlapp' "$T/out" && grep -q '┌' "$T/out"; then
	ok "wsctl start eco.json (relative path, no daemon) starts wsd and prints the table"
else
	not_ok "wsctl start eco.json (relative path, no daemon) starts wsd and prints the table" "status $s" "$(cat "$T/out" "$T/err")"
fi
grep -q '^wsctl: warning: .*vizion' "$T/err" && ok "start prints the daemon's warnings (unknown key vizion)" ||
	not_ok "start prints the daemon's warnings (unknown key vizion)" "$(cat "$T/err")"
check "ping answers after start" sh -c "wsctl ping > /dev/null"
wait_for 10 "instance 0 online" instance_status 0 online
wait_for 10 "instance 1 online" instance_status 1 online
wait_for 10 "instance 2 online" instance_status 2 online

# --- status piped: the columns, box drawing, no escapes -----------------------
s=$(st wsctl status)
hdr=$(grep '│ id' "$T/out" | sed 's/  */ /g')
if [ "$s" = 0 ] && [ "$hdr" = "│ id │ name │ mode │ pid │ uptime │ ↺ │ status │ cpu │ mem │ conns │" ]; then
	ok "status piped has the SPEC columns"
else
	not_ok "status piped has the SPEC columns" "status $s" "header: $hdr"
fi
grep -q $'\033' "$T/out" && not_ok "status piped has no escape codes" || ok "status piped has no escape codes"
[ "$(head -c 3 "$T/out")" = "┌" ] && grep -q '^├─' "$T/out" && grep -q '^└─.*┘$' "$T/out" &&
	ok "status draws ┌ ├ └ borders" || not_ok "status draws ┌ ├ └ borders" "$(cat "$T/out")"
rows=$(grep -c '│ online ' "$T/out")
[ "$rows" = 3 ] && grep -q '│ ctlapp *│ fork ' "$T/out" && grep -q '│ - *│$' "$T/out" &&
	ok "status: 3 online rows, mode fork, conns '-' for apps that do not report" ||
	not_ok "status: 3 online rows, mode fork, conns '-' for apps that do not report" "$(cat "$T/out")"
for a in ls list l; do
	wsctl $a | grep -q '│ ctlapp' && ok "alias $a" || not_ok "alias $a"
done

# On a terminal (script(1) gives a pty): status coloured, unless NO_COLOR.
if script -qec "wsctl status" /dev/null > "$T/tty" 2>&1 && grep -q $'\033\\[32monline' "$T/tty"; then
	ok "status on a tty colours online green"
else
	not_ok "status on a tty colours online green" "$(cat -v "$T/tty")"
fi
NO_COLOR=1 script -qec "wsctl status" /dev/null > "$T/tty" 2>&1
grep -q $'\033' "$T/tty" && not_ok "NO_COLOR: no escapes on a tty" "$(cat -v "$T/tty")" || ok "NO_COLOR: no escapes on a tty"

# --- jlist -----------------------------------------------------------------------
if wsctl jlist > "$T/jlist" && python3 - "$T/jlist" "$WSD_HOME" <<'EOF'
import json, sys, time
d = json.load(open(sys.argv[1]))
assert isinstance(d, list) and len(d) == 3, d
now = time.time() * 1000
for i, p in enumerate(sorted(d, key=lambda p: p["pm_id"])):
    for k in ("pid", "name", "pm_id", "monit", "pm2_env"):
        assert k in p, (k, p)
    assert p["pid"] > 0 and isinstance(p["monit"]["memory"], int) and p["monit"]["memory"] > 0, p
    assert isinstance(p["monit"]["cpu"], (int, float)), p
    e = p["pm2_env"]
    for k in ("status", "restart_time", "unstable_restarts", "pm_uptime", "created_at",
              "exit_code", "instances", "exec_mode", "pm_id", "name", "NODE_APP_INSTANCE",
              "pm_out_log_path", "pm_err_log_path"):
        assert k in e, (k, e)
    assert e["status"] == "online" and e["exec_mode"] == "fork_mode", e
    assert e["pm_id"] == p["pm_id"] == i and e["name"] == p["name"], e
    assert abs(e["pm_uptime"] - now) < 60000 and e["created_at"] <= e["pm_uptime"], e
    assert e["restart_time"] == 0 and e["unstable_restarts"] == 0, e
    assert "connections" not in e, e
    assert e["pm_out_log_path"].startswith("/") and e["pm_err_log_path"].startswith("/"), e
names = [(p["name"], p["pm2_env"]["NODE_APP_INSTANCE"], p["pm2_env"]["instances"]) for p in sorted(d, key=lambda p: p["pm_id"])]
assert names == [("ctlapp", 0, 2), ("ctlapp", 1, 2), ("other", 0, 1)], names
EOF
then ok "jlist is a PM2-shaped JSON array"; else not_ok "jlist is a PM2-shaped JSON array" "$(cat "$T/jlist")"; fi

# --- --json: the reply's data -------------------------------------------------------
wsctl status --json | python3 -c 'import json,sys; d=json.load(sys.stdin); assert len(d["instances"]) == 3 and d["instances"][0]["name"] == "ctlapp"' &&
	ok "status --json prints the list data" || not_ok "status --json prints the list data"
wsctl --json ping | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["pid"] == int(sys.argv[1])' "$WSD_PID" &&
	ok "--json before the command: ping data with the daemon pid" || not_ok "--json before the command: ping data with the daemon pid"
wsctl describe 0 --json | python3 -c 'import json,sys; d=json.load(sys.stdin); i=d["instances"][0]; assert i["id"] == 0 and "config" in i and "env" in i' &&
	ok "describe --json has config and env" || not_ok "describe --json has config and env"

# --- describe / env: readable, secrets masked -------------------------------------
s=$(st wsctl describe ctlapp)
if [ "$s" = 0 ] && grep -q '│ status *│ online' "$T/out" && grep -q "│ script *│ " "$T/out" &&
    grep -q "out log path" "$T/out" && [ "$(grep -c 'Describing instance' "$T/out")" = 2 ] &&
    ! grep -q "$SECRET" "$T/out"; then
	ok "describe NAME: one box per instance, secret not shown"
else
	not_ok "describe NAME: one box per instance, secret not shown" "status $s" "$(cat "$T/out" "$T/err")"
fi
s=$(st wsctl env 0)
[ "$s" = 0 ] && grep -q "^WS_PORT: $WS_PORT_APP\$" "$T/out" && grep -q '^NEXTAUTH_SECRET: \*\*\*\*$' "$T/out" &&
	! grep -q "$SECRET" "$T/out" && ok "env ID: KEY: value lines, NEXTAUTH_SECRET masked" ||
	not_ok "env ID: KEY: value lines, NEXTAUTH_SECRET masked" "status $s" "$(cat "$T/out" "$T/err")"

s=$(st wsctl env 0 --reveal)
[ "$s" = 0 ] && grep -q "^NEXTAUTH_SECRET: $SECRET\$" "$T/out" && ok "env ID --reveal shows the value to the daemon's uid" ||
	not_ok "env ID --reveal shows the value to the daemon's uid" "status $s" "$(cat "$T/err")"

# --- logs ---------------------------------------------------------------------------
OUT0=$(wsctl logs 0 --json | json_get '[f["path"] for f in d["files"] if f["type"]=="out"][0]')
wait_for 10 "5 lines in $OUT0" sh -c "[ \$(wc -l < '$OUT0') -ge 5 ]"
s=$(st wsctl logs ctlapp --lines 3 --out)
n0=$(grep -c '^0|ctlapp | .*out line [0-9]* of 0$' "$T/out")
n1=$(grep -c '^1|ctlapp | .*out line [0-9]* of 1$' "$T/out")
[ "$s" = 0 ] && [ "$n0" = 3 ] && [ "$n1" = 3 ] && ! grep -q 'err line' "$T/out" &&
	ok "logs NAME --lines 3 --out: 3 prefixed lines per instance, no err" ||
	not_ok "logs NAME --lines 3 --out: 3 prefixed lines per instance, no err" "status $s n0=$n0 n1=$n1" "$(cat "$T/out" "$T/err")"
s=$(st wsctl logs 2 --err --lines 2)
[ "$s" = 0 ] && [ "$(grep -c '^2|other | .*err line' "$T/out")" = 2 ] && ! grep -q 'out line' "$T/out" &&
	ok "logs ID --err --lines 2" || not_ok "logs ID --err --lines 2" "status $s" "$(cat "$T/out")"
enough() {	# every log file has at least 15 lines
	local f
	for f in $(wsctl logs --json | json_get '" ".join(f["path"] for f in d["files"])'); do
		[ -f "$f" ] && [ "$(wc -l < "$f")" -ge 15 ] || return 1
	done
}
wait_for 10 "15 lines in every log" enough
s=$(st wsctl logs)
[ "$s" = 0 ] && [ "$(grep -c '^[012]|' "$T/out")" = 90 ] && ok "logs: default 15 lines of each of 6 files" ||
	not_ok "logs: default 15 lines of each of 6 files" "status $s, $(grep -c '^[012]|' "$T/out") lines"
s=$(st wsctl logs nosuch)
[ "$s" = 1 ] && grep -q '^wsctl: ' "$T/err" && ok "logs of an unknown app → 1" || not_ok "logs of an unknown app → 1" "status $s"

wsctl logs 2 --out --lines 0 --follow > "$T/follow" 2>&1 &
FPID=$!
track $FPID
wait_for 15 "followed lines" grep -q '^2|other | out line' "$T/follow" &&
	ok "logs --follow prints new lines" || not_ok "logs --follow prints new lines" "$(cat "$T/follow")"
before=$(wc -l < "$T/follow")
s=$(st wsctl flush other)
[ "$s" = 0 ] && grep -q 'flushed' "$T/out" && ok "flush NAME" || not_ok "flush NAME" "status $s" "$(cat "$T/err")"
wait_for 15 "lines after the flush" sh -c "[ \$(wc -l < '$T/follow') -gt \$(( $before + 5 )) ]" &&
	ok "logs --follow goes on after the file is truncated" || not_ok "logs --follow goes on after the file is truncated"
kill "$FPID" 2>/dev/null

s=$(st wsctl reloadLogs)
[ "$s" = 0 ] && ok "reloadLogs" || not_ok "reloadLogs" "status $s" "$(cat "$T/err")"

# --- token / publish with the app's revealed env -----------------------------------
s=$(NEXTAUTH_SECRET=not-this-one st wsctl token --user 42 --ttl 600)
if [ "$s" = 0 ] && python3 - "$(cat "$T/out")" "$SECRET" <<'EOF'
import base64, hashlib, hmac, json, sys
tok, secret = sys.argv[1], sys.argv[2]
def d(x): return base64.urlsafe_b64decode(x + '=' * (-len(x) % 4))
h, p, s = tok.split('.')
assert hmac.compare_digest(d(s), hmac.new(secret.encode(), (h + '.' + p).encode(), hashlib.sha256).digest())
c = json.loads(d(p)); assert c["userId"] == "42" and c["exp"] - c["iat"] == 600, c
EOF
then ok "token: signed with the app's NEXTAUTH_SECRET from the daemon"; else not_ok "token: signed with the app's NEXTAUTH_SECRET from the daemon" "status $s" "$(cat "$T/out" "$T/err")"; fi
s=$(st wsctl token --user 1 --app other)
[ "$s" = 1 ] && grep -q 'has no NEXTAUTH_SECRET' "$T/err" && ok "token --app without a secret → 1" ||
	not_ok "token --app without a secret → 1" "status $s" "$(cat "$T/err")"
s=$(st wsctl token --user 1 --app nosuch)
[ "$s" = 1 ] && ok "token --app unknown → 1" || not_ok "token --app unknown → 1" "status $s"

python3 - "$WS_PORT_APP" "$T/req" <<'EOF' &
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(1)
open(sys.argv[2] + ".ready", "w").close()
c, _ = s.accept(); data = b""
while b"\r\n\r\n" not in data: data += c.recv(65536)
open(sys.argv[2], "wb").write(data)
c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}"); c.close()
EOF
track $!
wait_for 20 "catcher" test -e "$T/req.ready"
s=$(WS_API_KEY=wrong WS_PORT=1 st wsctl publish post_9 '{"type":"t","data":{}}')
[ "$s" = 0 ] && grep -q "^Authorization: Bearer $API_KEY"$'\r'"\$" "$T/req" &&
	ok "publish: port and API key from the app's env, not wsctl's" ||
	not_ok "publish: port and API key from the app's env, not wsctl's" "status $s" "$(cat "$T/err" "$T/req" 2>/dev/null)"

# --- changes: restart, stop, start, delete; errors ---------------------------------
pid0=$(instance_field 0 pid)
s=$(st wsctl restart ctlapp)
[ "$s" = 0 ] && grep -q '│ ctlapp' "$T/out" && ok "restart NAME prints the table" || not_ok "restart NAME prints the table" "status $s" "$(cat "$T/err")"
wait_for 10 "instance 0 online again" instance_status 0 online
[ "$(instance_field 0 restarts)" = 1 ] && [ "$(instance_field 0 pid)" != "$pid0" ] &&
	ok "restart: new pid, ↺ 1" || not_ok "restart: new pid, ↺ 1" "restarts $(instance_field 0 restarts)"
wsctl status | grep -q '│ 0 *│ ctlapp *│ fork *│ [0-9]* *│ [0-9]*s *│ 1 *│ online' &&
	ok "status shows ↺ 1 for instance 0" || not_ok "status shows ↺ 1 for instance 0" "$(wsctl status)"
s=$(st wsctl restart ctlapp --update-env)
[ "$s" = 0 ] && ok "restart --update-env" || not_ok "restart --update-env" "status $s" "$(cat "$T/err")"

s=$(st wsctl stop 2)
[ "$s" = 0 ] && grep -q '│ 2 *│ other .*│ stopped' "$T/out" && ok "stop ID: table shows stopped" ||
	not_ok "stop ID: table shows stopped" "status $s" "$(cat "$T/out" "$T/err")"
s=$(st wsctl start other)
[ "$s" = 0 ] && wait_for 10 "other online" instance_status 2 online && ok "start NAME starts a stopped app" ||
	not_ok "start NAME starts a stopped app" "status $s" "$(cat "$T/err")"

s=$(st wsctl restart nosuch)
[ "$s" = 1 ] && grep -q '^wsctl: .*nosuch' "$T/err" && ok "restart of an unknown app → 1, 'wsctl: <msg>'" ||
	not_ok "restart of an unknown app → 1, 'wsctl: <msg>'" "status $s" "$(cat "$T/err")"

cat > "$T/app/bad.json" <<'EOF'
{"apps":[{"name":"b1","script":"app.sh","instances":"lots"},{"name":"b2","script":"app.sh","min_uptime":"soon"}]}
EOF
s=$(st wsctl start "$T/app/bad.json")
[ "$s" = 78 ] && grep -q 'apps\[0\].instances' "$T/err" && grep -q 'apps\[1\].min_uptime' "$T/err" &&
	ok "start of a bad file → 78 with every error" || not_ok "start of a bad file → 78 with every error" "status $s" "$(cat "$T/err")"
s=$(st wsctl start "$T/app/missing.json")
[ "$s" = 1 ] && ok "start of a missing file → 1" || not_ok "start of a missing file → 1" "status $s"

s=$(st wsctl scale ctlapp 3)
[ "$s" = 0 ] && [ "$(grep -c '│ ctlapp ' "$T/out")" = 3 ] && ok "scale NAME 3: three rows in the table" ||
	not_ok "scale NAME 3: three rows in the table" "status $s" "$(cat "$T/out" "$T/err")"
s=$(st wsctl scale ctlapp 1)
[ "$s" = 0 ] && wait_for 10 "ctlapp down to 1" sh -c "[ \$(wsctl jlist | python3 -c 'import json,sys; print(sum(1 for p in json.load(sys.stdin) if p[\"name\"]==\"ctlapp\"))') = 1 ]" &&
	ok "scale NAME 1: one instance left" || not_ok "scale NAME 1: one instance left" "status $s" "$(cat "$T/err")"
s=$(st wsctl scale nosuch 2)
[ "$s" = 1 ] && ok "scale of an unknown app → 1" || not_ok "scale of an unknown app → 1" "status $s"

s=$(st wsctl delete other)
[ "$s" = 0 ] && ! grep -q '│ other' "$T/out" && [ "$(wsctl jlist | json_get 'len(d)')" = 1 ] &&
	ok "delete NAME: gone from the table and jlist" || not_ok "delete NAME: gone from the table and jlist" "status $s" "$(cat "$T/out" "$T/err")"

# --- kill: returns once the daemon is gone ---------------------------------------------
pids=$(wsctl jlist | json_get '" ".join(str(p["pid"]) for p in d)')
s=$(st wsctl kill)
alive=
for p in $WSD_PID $pids; do kill -0 "$p" 2>/dev/null && alive="$alive $p"; done
[ "$s" = 0 ] && [ -z "$alive" ] && ok "kill returns after the daemon and its apps are gone" ||
	not_ok "kill returns after the daemon and its apps are gone" "status $s alive:$alive" "$(cat "$T/err")"
s=$(st wsctl status)
[ "$s" = 69 ] && ok "status after kill → 69" || not_ok "status after kill → 69" "status $s"
s=$(st wsctl ping)
[ "$s" = 69 ] && ok "ping after kill → 69" || not_ok "ping after kill → 69" "status $s"

finish
