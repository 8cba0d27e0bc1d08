#!/usr/bin/env bash
# Zero-downtime reload (SPEC §2 "Reload"): instance by instance, the
# replacement starts on the same slot socket, is waited for until online
# (IPC ready), then the old process drains and exits.  Same ids, new pids,
# ↺ +1, the other instance online throughout, the old process's exit never
# taken for a crash, its last output captured; env files re-read (a plain
# restart does not); a replacement that fails → the reload reports it and
# the old processes keep running; other commands on an app being reloaded
# get `busy`.
. "$(dirname "$0")/lib.sh"
# The test machine's own *_FILE variables are not what these tests are about.
for v in $(env | sed -n 's/^\([A-Za-z_][A-Za-z0-9_]*_FILE\)=.*/\1/p'); do unset "$v"; done
# pyenv's python3 shim costs a second per call; the system one is enough.
if [ -x /usr/bin/python3 ]; then python3() { /usr/bin/python3 "$@"; }; fi
PY=python3; [ -x /usr/bin/python3 ] && PY=/usr/bin/python3

PORT=$(free_port)
PORT2=$(free_port)
# A cluster server: records its env, says ready over IPC once $T/go.<slot>
# exists (or at once without HOLD), answers each connection with its pid,
# says goodbye on SIGINT.  With FAIL_MARKER it exits 3 on every start of
# its slot after the first.
cat > "$T/server.py" <<P
#!/usr/bin/env $PY
import json, os, signal, socket, sys, time
slot = os.environ["WSD_INSTANCE"]
fm = os.environ.get("FAIL_MARKER")
fm = fm and fm + "." + slot
with open("$T/starts.%s" % os.environ["WSD_APP_NAME"], "a") as f:
    f.write("%d\n" % os.getpid())
if fm:
    if os.path.exists(fm):
        print("second start: failing on purpose", flush=True)
        sys.exit(3)
    open(fm, "w").close()
def bye(*a):
    print("bye from %d" % os.getpid(), flush=True)
    os._exit(0)
signal.signal(signal.SIGINT, bye)
info = {"pid": os.getpid(), "color": os.environ.get("COLOR"), "slot": slot}
tmp = "$T/info.%d.tmp" % os.getpid()
with open(tmp, "w") as f:
    json.dump(info, f)
os.rename(tmp, "$T/info.%d" % os.getpid())
s = socket.socket(fileno=int(os.environ["WSD_LISTEN_FD"]))
s.setblocking(True)
ipc = socket.socket(fileno=int(os.environ["WSD_IPC_FD"]))
if os.environ.get("HOLD"):
    while not os.path.exists("$T/go.%d" % os.getpid()):
        time.sleep(0.02)
ipc.sendall(b'{"ready":true}\n')
while True:
    c, _ = s.accept()
    c.sendall(b"%d\n" % os.getpid())
    c.close()
P
cat > "$T/stubborn.sh" <<'S'
#!/bin/sh
trap '' INT TERM
while :; do sleep 1; done
S
# A fork-mode app that owns a resource alone (a lock, as a port bound
# without SO_REUSEPORT would be): a second copy exits 3 before it is ready.
cat > "$T/locked.sh" <<S
#!/bin/sh
exec flock -n -E 3 "$T/fork.lock" $PY -c 'import os, socket, time
socket.socket(fileno=int(os.environ["WSD_IPC_FD"])).sendall(b"{\\"ready\\":true}\\n")
time.sleep(1000)'
S
chmod +x "$T/server.py" "$T/stubborn.sh" "$T/locked.sh"
echo "COLOR=blue" > "$T/app.env"
cat > "$T/eco.json" <<EOF2
{"apps":[
 {"name":"web","script":"$T/server.py","instances":2,"exec_mode":"cluster",
  "listen_timeout":60000,"kill_timeout":5000,"env_file":"app.env",
  "env":{"WS_PORT":$PORT,"WS_HOST":"127.0.0.1","HOLD":"1"}},
 {"name":"flaky","script":"$T/server.py","instances":2,"exec_mode":"cluster",
  "listen_timeout":60000,"env":{"WS_PORT":$PORT2,"WS_HOST":"127.0.0.1",
  "FAIL_MARKER":"$T/flaky.marker"}},
 {"name":"stubborn","script":"$T/stubborn.sh","exec_mode":"cluster","kill_timeout":300},
 {"name":"locked","script":"$T/locked.sh","exec_mode":"fork","wait_ready":true,"listen_timeout":60000}
]}
EOF2
# Every process of "web" is held back until the test lets it be ready.
release_all() { for f in "$T"/info.*; do [ -f "$f" ] && touch "$T/go.${f##*.}"; done; return 0; }
start_wsd -f "$T/eco.json" || { not_ok "wsd starts"; finish; }
insts() { wsctl status --json | json_get "' '.join('%d:%d:%s:%d' % (i['id'], i['pid'], i['status'].replace(' ', '_'), i['restarts']) for i in d['instances'] if i['name']=='$1')"; }
all_online() {	# all_online APP N
	release_all
	[ "$(wsctl status --json | json_get "sum(1 for i in d['instances'] if i['name']=='$1' and i['status']=='online' and i['pid']>0 and not i.get('reloading'))")" = "$2" ]
}
wait_for 30 "web online" all_online web 2 && wait_for 30 "flaky online" all_online flaky 2 \
    || { not_ok "apps online" "$(wsctl status)"; finish; }
ok "two cluster apps online"
color_of() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["color"])' "$T/info.$1"; }

# ---- a plain reload, watched from the side
before=$(insts web)
note "before: $before"
rm -f "$T"/go.*
# The watcher: status samples while the reload runs.
( while [ ! -f "$T/stop.watch" ]; do wsctl status --json >> "$T/samples" 2>/dev/null; echo >> "$T/samples"; sleep 0.02; done ) &
WATCH=$!
track "$WATCH"
wsctl reload web > "$T/reload.out" 2>&1 &
RL=$!
# The first replacement holds its ready: the reload must wait for it.
overlap() {
	wsctl status --json | json_get "[i for i in d['instances'] if i['name']=='web' and i.get('old_pid') and i['status']=='launching'][0]['pid']"
}
if wait_for 20 "a replacement launching next to its old process" overlap; then
	np=$(overlap)
	op=$(wsctl status --json | json_get "[i for i in d['instances'] if i['pid']==$np][0]['old_pid']")
	kill -0 "$op" 2>/dev/null && kill -0 "$np" 2>/dev/null \
	    && ok "overlap: status shows the new pid ($np, launching) and old_pid $op, both running" \
	    || not_ok "overlap: both processes run" "old $op new $np"
	# Commands on an app under reload are refused, not queued.
	out=$(wsctl restart web 2>&1); st=$?
	[ "$st" = 1 ] && echo "$out" | grep -q "being reloaded" && ok "restart during a reload → busy (exit 1: $out)" \
	    || not_ok "busy during a reload" "status $st: $out"
	# Still waiting for the replacement: the old process serves on.
	kill -0 "$op" 2>/dev/null && ok "the old process is kept while its replacement is not ready" || not_ok "old kept until ready"
	touch "$T/go.$np"
else
	not_ok "overlap seen" "$(wsctl status)"
fi
# Let the second replacement be ready too, then wait for the reply.
second() { release_all; ! kill -0 "$RL" 2>/dev/null; }
wait_for 30 "wsctl reload web to answer" second
wait "$RL"; st=$?
touch "$T/stop.watch"; wait "$WATCH" 2>/dev/null
after=$(insts web)
note "after: $after"
[ "$st" = 0 ] && ok "wsctl reload web → exit 0" || not_ok "wsctl reload web" "status $st: $(cat "$T/reload.out")"
python3 - "$before" "$after" "$T" <<'P' && ok "reload: same ids, new pids, ↺ +1, online, old pids gone" || not_ok "reload result" "$before → $after"
import os, sys
b = {int(x.split(":")[0]): x.split(":") for x in sys.argv[1].split()}
a = {int(x.split(":")[0]): x.split(":") for x in sys.argv[2].split()}
assert set(a) == set(b) and len(a) == 2, (a, b)
for i in a:
    assert a[i][1] != b[i][1], ("same pid", i)
    assert a[i][2] == "online", a[i]
    assert int(a[i][3]) == int(b[i][3]) + 1, ("restarts", b[i], a[i])
    try:
        os.kill(int(b[i][1]), 0)
        raise AssertionError("old pid %s still runs" % b[i][1])
    except ProcessLookupError:
        pass
P
# Every sample: at most one instance of web not online, and any instance
# not online is a replacement whose old process is still there.
python3 - "$T/samples" <<'P' && ok "status during the reload: the other instance online throughout, the slot under reload served by its old pid" || not_ok "status samples"
import json, sys
n = 0
for chunk in open(sys.argv[1]).read().split("\n"):
    if not chunk.strip():
        continue
    d = json.loads(chunk)
    web = [i for i in d["instances"] if i["name"] == "web"]
    assert len(web) == 2, web
    bad = [i for i in web if i["status"] != "online"]
    assert len(bad) <= 1, bad
    for i in bad:
        assert i.get("old_pid"), i
    n += 1
assert n > 0
print("# %d samples" % n)
P
# The old processes were drained (SIGINT) and their goodbye captured; the
# exits were not crashes.
bye_ok=1
for x in $before; do
	op=$(echo "$x" | cut -d: -f2); id=$(echo "$x" | cut -d: -f1)
	f=$(instance_field "$id" out_file)
	has_bye() { grep -q "bye from $op" "$f"; }
	wait_for 10 "bye from $op in $f" has_bye || bye_ok=0
done
[ "$bye_ok" = 1 ] && ok "the old processes' last output is captured in the instance's log" || not_ok "old output captured"
grep -q '"msg":"replaced process exited with code 0"' "$T/wsd.stdout" && ok "old exits logged as replaced" || not_ok "replaced exit logged"
! grep -q '"msg":"restarting in' "$T/wsd.stdout" && ok "no exit during the reload taken for a crash" || not_ok "crash restart during reload" "$(grep 'restarting in' "$T/wsd.stdout")"

# ---- env files: a plain restart keeps the env, a reload re-reads it
echo "COLOR=green" > "$T/app.env"
wsctl restart web >/dev/null 2>&1
wait_for 30 "web online after restart" all_online web 2
colors() { for x in $(insts web); do p=$(echo "$x" | cut -d: -f2); color_of "$p"; done | sort -u | tr '\n' ' '; }
c=$(colors)
[ "$c" = "blue " ] && ok "plain restart keeps the env it was started with ($c)" || not_ok "plain restart env" "colors $c"
( while :; do release_all; sleep 0.05; done ) &
REL=$!
track "$REL"
wsctl reload web >/dev/null 2>&1; st=$?
kill "$REL" 2>/dev/null
wait_for 30 "web online after reload" all_online web 2
c=$(colors)
[ "$st" = 0 ] && [ "$c" = "green " ] && ok "reload re-reads env_file ($c)" || not_ok "reload env_file" "status $st colors $c"

# ---- a replacement that fails: reported, the old processes keep running
fbefore=$(insts flaky)
nstarts=$(wc -l < "$T/starts.flaky")
out=$(wsctl reload flaky 2>&1); st=$?
fafter=$(insts flaky)
[ "$st" = 1 ] && echo "$out" | grep -q "replacement exited with code 3" \
    && ok "reload with a failing replacement → exit 1: $(echo "$out" | head -1)" \
    || not_ok "failed reload reported" "status $st: $out"
[ "$fbefore" = "$fafter" ] && ok "the old instances keep running: same pids, status, ↺ ($fafter)" \
    || not_ok "old kept after a failed reload" "$fbefore → $fafter"
alive=1
for x in $fafter; do kill -0 "$(echo "$x" | cut -d: -f2)" 2>/dev/null || alive=0; done
[ "$alive" = 1 ] && ok "old flaky processes alive" || not_ok "old flaky processes alive"
n2=$(wc -l < "$T/starts.flaky")
[ "$n2" = $((nstarts + 1)) ] && ok "one replacement tried; the rest of the app skipped, no crash restart" \
    || not_ok "replacement attempts" "$nstarts → $n2"
c=$(echo "$PORT2" | python3 -c 'import socket,sys; s=socket.create_connection(("127.0.0.1",int(sys.stdin.read())),timeout=10); print(s.makefile().readline().strip())')
echo " $fafter " | grep -q ":$c:" && ok "flaky still serves on its port (pid $c)" || not_ok "flaky serves" "got $c"
[ "$(instance_field "$(echo "$fafter" | cut -d: -f1)" exit_code)" = 3 ] && ok "exit_code tells how the replacement ended" \
    || not_ok "exit_code after a failed reload" "$(instance_field "$(echo "$fafter" | cut -d: -f1)" exit_code)"

# ---- a replacement that cannot even be spawned (script gone)
wb=$(insts web)
echo "COLOR=red" > "$T/app.env"
mv "$T/server.py" "$T/server.py.away"
out=$(wsctl reload web 2>&1); st=$?
mv "$T/server.py.away" "$T/server.py"
wa=$(insts web)
[ "$st" = 1 ] && echo "$out" | grep -q "could not be started" && [ "$wb" = "$wa" ] \
    && ok "a replacement that cannot be spawned → reload fails, old processes kept ($(echo "$out" | head -1))" \
    || not_ok "spawn failure during reload" "status $st: $out; $wb → $wa"
# Nothing was replaced: the app keeps the env its processes run with, so a
# later restart does not bring up the env of the failed reload.
( while :; do release_all; sleep 0.05; done ) &
REL=$!
track "$REL"
wsctl restart web >/dev/null 2>&1
wait_for 30 "web online after restart" all_online web 2
kill "$REL" 2>/dev/null
c=$(colors)
[ "$c" = "green " ] && ok "after a failed reload the app keeps the env of its running processes ($c)" || not_ok "env after a failed reload" "colors $c"

# ---- an old process that ignores the drain is SIGKILLed after kill_timeout
wait_for 20 "stubborn online" all_online stubborn 1
sb=$(insts stubborn)
out=$(wsctl reload stubborn 2>&1); st=$?
sa=$(insts stubborn)
op=$(echo "$sb" | cut -d: -f2); np=$(echo "$sa" | cut -d: -f2)
if [ "$st" = 0 ] && [ "$op" != "$np" ] && ! kill -0 "$op" 2>/dev/null && grep -q '"msg":"kill_timeout passed: SIGKILL to the replaced process"' "$T/wsd.stdout" \
    && [ "$(echo "$sa" | cut -d: -f4)" = $(( $(echo "$sb" | cut -d: -f4) + 1 )) ]; then
	ok "an old process ignoring SIGINT is SIGKILLed after kill_timeout; the reload then completes ($sb → $sa)"
else
	not_ok "stubborn old process" "status $st $out; $sb → $sa"
fi

# ---- fork mode: reload is a restart (stop, then start), as PM2's
wait_for 20 "locked online" all_online locked 1
lb=$(insts locked)
out=$(wsctl reload locked 2>&1); st=$?
la=$(insts locked)
if [ "$st" = 0 ] && [ "$(echo "$la" | cut -d: -f3)" = online ] && [ "$(echo "$lb" | cut -d: -f2)" != "$(echo "$la" | cut -d: -f2)" ] \
    && [ "$(echo "$la" | cut -d: -f4)" = $(( $(echo "$lb" | cut -d: -f4) + 1 )) ]; then
	ok "fork-mode reload stops the old process before starting the new one (an exclusive lock passes over: $lb → $la)"
else
	not_ok "fork-mode reload" "status $st $out; $lb → $la"
fi

# ---- the old process dies during the overlap: the reload goes on, no crash restart
rm -f "$T"/go.*
wb=$(insts web)
wsctl reload web > "$T/reload2.out" 2>&1 &
RL=$!
if wait_for 20 "overlap" overlap; then
	np=$(overlap)
	op=$(wsctl status --json | json_get "[i for i in d['instances'] if i['pid']==$np][0]['old_pid']")
	kill -9 "$op"
	gone() { [ -z "$(wsctl status --json | json_get "[i.get('old_pid') for i in d['instances'] if i['pid']==$np][0] or ''")" ]; }
	wait_for 10 "old_pid cleared" gone && ok "kill -9 of the old process during the overlap: reaped, old_pid cleared" || not_ok "old_pid cleared"
else
	not_ok "overlap seen (second reload)" "$(wsctl status)"
fi
wait_for 30 "wsctl reload web to answer" second
wait "$RL"; st=$?
wa=$(insts web)
python3 - "$wb" "$wa" <<'P' && [ "$st" = 0 ] && ok "…and the reload completes: every instance ↺ +1 exactly, online" || not_ok "reload after the old one died" "status $st $(cat "$T/reload2.out"); $wb → $wa"
import sys
b = {x.split(":")[0]: x.split(":") for x in sys.argv[1].split()}
a = {x.split(":")[0]: x.split(":") for x in sys.argv[2].split()}
for i in a:
    assert a[i][2] == "online" and int(a[i][3]) == int(b[i][3]) + 1 and a[i][1] != b[i][1], (b[i], a[i])
P
! grep -q '"msg":"restarting in' "$T/wsd.stdout" && ok "still no exit taken for a crash" || not_ok "crash restart during reload" "$(grep 'restarting in' "$T/wsd.stdout")"

# ---- reload of a stopped instance starts it; no such app → error
wsctl stop flaky >/dev/null 2>&1
rm -f "$T"/flaky.marker.*
out=$(wsctl reload flaky 2>&1); st=$?
[ "$st" = 0 ] && all_online flaky 2 && ok "reload of a stopped app starts it" \
    || not_ok "reload of a stopped app" "status $st: $out $(wsctl status)"
wsctl reload nosuch >/dev/null 2>&1; st=$?
[ "$st" = 1 ] && ok "reload of an unknown app → exit 1" || not_ok "reload nosuch" "status $st"

# ---- wsctl kill in the middle of a reload: old and new processes stop, wsd exits
rm -f "$T"/go.*
wsctl reload web >/dev/null 2>&1 &
track $!
if wait_for 20 "overlap" overlap; then
	np=$(overlap)
	op=$(wsctl status --json | json_get "[i for i in d['instances'] if i['pid']==$np][0]['old_pid']")
	wsctl kill >/dev/null 2>&1
	wsd_gone() { ! kill -0 "$WSD_PID" 2>/dev/null; }
	if wait_for 20 "wsd to exit" wsd_gone && ! kill -0 "$op" 2>/dev/null && ! kill -0 "$np" 2>/dev/null; then
		ok "wsctl kill during a reload stops the old and the new process, then wsd exits"
	else
		not_ok "kill during a reload" "wsd $(kill -0 "$WSD_PID" 2>&1 && echo alive) old $op $(kill -0 "$op" 2>&1 && echo alive) new $np $(kill -0 "$np" 2>&1 && echo alive)"
	fi
else
	not_ok "overlap before kill"
fi
finish
