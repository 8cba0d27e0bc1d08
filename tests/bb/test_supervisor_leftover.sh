#!/usr/bin/env bash
# A SIGKILLed wsd leaves nothing that keeps serving: PR_SET_PDEATHSIG only
# reaches an instance's own process, so the server under a `sh -c` wrapper
# and an app's background jobs outlive it; the next wsd on the same home
# kills them (run.json) before it starts its own instances.  Another home's
# identical apps are left alone, and neither is a process whose pid is on
# record but with another start time (a reused pid).
. "$(dirname "$0")/lib.sh"
for v in $(env | sed -n 's/^\([A-Za-z_][A-Za-z0-9_]*_FILE\)=.*/\1/p'); do unset "$v"; done
if [ -x /usr/bin/python3 ]; then python3() { /usr/bin/python3 "$@"; }; fi

SECRET=leftover-test-secret-0123456789abcdef
# alive PID: it runs (a zombie holds nothing: it is as good as gone).
alive() {
	local st
	st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)
	[ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}
dead() { ! alive "$1"; }
all_dead() { local p; for p in "$@"; do alive "$p" && return 1; done; return 0; }
all_alive() { local p; for p in "$@"; do alive "$p" || return 1; done; return 0; }
starttime() { sed 's/.*) //' "/proc/$1/stat" | cut -d' ' -f20; }
envval() { tr '\0' '\n' < "/proc/$1/environ" 2>/dev/null | sed -n "s/^$2=//p"; }
# health PORT: the pid of the wsworker that answers GET /health there.
health() {
	python3 - "$1" <<'P'
import json, socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
data = b""
while True:
    b = s.recv(65536)
    if not b:
        break
    data += b
print(json.loads(data.split(b"\r\n\r\n", 1)[1])["pid"])
P
}

# The fork-mode app: a background job in its group and one that left it.
cat > "$T/forked.sh" <<'S'
#!/bin/sh
sleep 100001 &
echo $! > "$OUT/bg.group.$$"
setsid sleep 100002 &
echo $! > "$OUT/bg.setsid.$$"
wait
S
chmod +x "$T/forked.sh"
eco() {	# eco FILE PORT GEN OUT
	mkdir -p "$4"
	cat > "$1" <<E
{"apps":[
 {"name":"wrapped","script":"sh","args":["-c","wsworker; :"],"instances":2,"exec_mode":"cluster",
  "env":{"WS_PORT":$2,"WS_HOST":"127.0.0.1","NEXTAUTH_SECRET":"$SECRET","LOG_LEVEL":"warn","GEN":"$3"}},
 {"name":"forked","script":"$T/forked.sh","env":{"GEN":"$3","OUT":"$4"}}]}
E
}
ids_online() {	# ids_online HOME: the three instances of eco are online
	local s
	s=$(WSD_HOME=$1 wsctl status --json) || return 1
	echo "$s" | json_get "len([i for i in d['instances'] if i['status']=='online' and i['pid']>0])==3" | grep -q True
}
pid_of() { WSD_HOME=$1 wsctl status --json | json_get "[i['pid'] for i in d['instances'] if i['id']==$2][0]"; }
bg_of() { local f; f=$3/bg.$2.$(pid_of "$1" 2); [ -s "$f" ] && cat "$f"; }

PORT=$(free_port)
PORT_B=$(free_port)
eco "$T/a1.json" "$PORT" 1 "$T/a1"
eco "$T/b.json" "$PORT_B" 1 "$T/b"

start_wsd -f "$T/a1.json" || { not_ok "wsd starts"; finish; }
wait_for 20 "home A online" ids_online "$WSD_HOME" || not_ok "home A online" "$(wsctl status)"
leaders=("$(pid_of "$WSD_HOME" 0)" "$(pid_of "$WSD_HOME" 1)" "$(pid_of "$WSD_HOME" 2)")
old=()
for i in 0 1; do old+=("$(pgrep -P "${leaders[$i]}")"); done
wait_for 10 "home A's background jobs" bg_of "$WSD_HOME" setsid "$T/a1"
old+=("$(bg_of "$WSD_HOME" group "$T/a1")" "$(bg_of "$WSD_HOME" setsid "$T/a1")")
for p in "${old[@]}"; do track "$p"; done
# Home B: the same apps under another wsd, started after A's (so only
# the run id tells them apart), which must never be touched.
HB=$T/homeB
mkdir -p "$HB"
WSD_HOME=$HB wsd --foreground -f "$T/b.json" >> "$T/wsdB.stdout" 2>&1 &
WSD_B=$!
track "$WSD_B"
wait_for 20 "home B online" ids_online "$HB" || not_ok "home B starts" "$(tail -5 "$T/wsdB.stdout")"
b_pids=()
for i in 0 1; do b_pids+=("$(pgrep -P "$(pid_of "$HB" "$i")")"); done
wait_for 10 "home B's background jobs" bg_of "$HB" setsid "$T/b"
b_pids+=("$(bg_of "$HB" group "$T/b")" "$(bg_of "$HB" setsid "$T/b")")
for p in "${b_pids[@]}"; do track "$p"; done

note "old generation: wsworkers ${old[0]} ${old[1]}, background jobs ${old[2]} ${old[3]}"
if [ ${#old[@]} = 4 ] && all_alive "${old[@]}" && [ "$(envval "${old[0]}" GEN)" = 1 ]; then
	ok "wrapped wsworkers and background jobs run"
else
	not_ok "old generation found" "${old[*]}"
fi

{ kill -9 "$WSD_PID"; wait "$WSD_PID"; } 2>/dev/null
wait_for 10 "the instances' own processes gone (PR_SET_PDEATHSIG)" all_dead "${leaders[@]}"
if all_alive "${old[@]}" && [ "$(health "$PORT")" -gt 0 ] 2>/dev/null; then
	ok "after kill -9 of wsd its grandchildren still run and serve the port"
else
	not_ok "grandchildren outlive the SIGKILLed wsd" "$(for p in "${old[@]}"; do alive "$p" && echo "$p alive" || echo "$p gone"; done)"
fi

# The next generation, with a new env value to tell its workers apart,
# detached (as `wsctl start` runs it) and launched by a process of the old
# run (it carries the old run id), which must be spared.
eco "$T/a2.json" "$PORT" 2 "$T/a2"
oldrun=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["run"])' "$WSD_HOME/run.json" 2>/dev/null || echo none)
[ -S "$WSD_HOME/wsd.sock" ] && [ -s "$WSD_HOME/wsd.pid" ] && note "the SIGKILLed wsd left its socket and pid files"
env WSD_RUN_ID="$oldrun" sh -c '"$1" -f "$2"; echo $? > "$3"; exec sleep 100005' sh "$(command -v wsd)" "$T/a2.json" "$T/rc" &
L=$!; disown "$L"
track "$L"
wait_for 20 "the detached wsd returned" test -s "$T/rc" || not_ok "the detached wsd returns"
WSD_PID=$(cat "$WSD_HOME/wsd.pid" 2>/dev/null)
[ -n "$WSD_PID" ] && track "$WSD_PID"
if [ "$(cat "$T/rc" 2>/dev/null)" = 0 ] && alive "$L" && wsctl ping >/dev/null 2>&1; then
	ok "wsd starts over the dead one's socket and pid files, sparing the process that ran it"
else
	not_ok "detached start after kill -9" "rc $(cat "$T/rc" 2>/dev/null), launcher $L $(alive "$L" && echo alive || echo gone)"
fi
# wsd returns only once it has started its instances, after the leftovers.
if all_dead "${old[@]}"; then
	ok "the old generation is gone before the new wsd starts its instances"
else
	not_ok "old generation gone" "$(for p in "${old[@]}"; do alive "$p" && echo "$p still alive"; done)"
fi
wait_for 20 "new generation online" ids_online "$WSD_HOME" || not_ok "new generation online" "$(wsctl status)"
bad=""
for _ in $(seq 1 40); do
	p=$(health "$PORT" 2>/dev/null)
	[ -n "$p" ] && [ "$(envval "$p" GEN)" = 2 ] || bad="$bad ${p:-refused}:$(envval "${p:-0}" GEN)"
done
[ -z "$bad" ] && ok "40 connections to the port: all served by new-generation workers" \
    || not_ok "only new workers serve" "pid:GEN $bad"
logged=0
LOG=$WSD_HOME/wsd.log
for p in "${old[@]}"; do grep -q "\"pid\":$p,.*left by wsd pid\|left by wsd pid.*\"pid\":$p[,}]" "$LOG" && logged=$((logged + 1)); done
[ "$logged" = 4 ] && ok "each leftover killed is logged with its pid" || not_ok "leftovers logged" "$(grep 'left by' "$LOG")"
grep -q '"app":"wrapped","instance":0.*left by wsd pid\|left by wsd pid.*"app":"wrapped"' "$LOG" \
    && ok "the log names the leftover's app and instance" || not_ok "app in log" "$(grep 'left by' "$LOG")"

if all_alive "${b_pids[@]}" && ids_online "$HB"; then
	ok "another home's wsd and its identical apps are untouched"
else
	not_ok "home B untouched" "${b_pids[*]}" "$(WSD_HOME=$HB wsctl status)"
fi

groups() { python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["groups"]))' "$WSD_HOME/run.json"; }
[ "$(groups 2>/dev/null)" = 3 ] && ok "run.json records each instance's process group" \
    || not_ok "run.json groups" "$(cat "$WSD_HOME/run.json" 2>&1)"
n2=$(bg_of "$WSD_HOME" setsid "$T/a2") && track "$n2"
wsctl kill >/dev/null 2>&1
wait_for 15 "wsd stopped" dead "$WSD_PID"
[ "$(groups 2>/dev/null)" = 0 ] && ok "a clean stop leaves no process group on record" \
    || not_ok "run.json after a clean stop" "$(cat "$WSD_HOME/run.json" 2>&1)"
[ ! -e "$WSD_HOME/wsd.sock" ] && [ ! -e "$WSD_HOME/wsd.pid" ] && ok "a clean stop removes the socket and pid files" \
    || not_ok "socket and pid files after a clean stop" "$(ls "$WSD_HOME")"
# The job that left its group outlives even a clean stop; the run's id
# stays on record, so the next wsd ends it all the same.
alive "$n2" || not_ok "the detached job of the stopped run runs" "$n2"
start_wsd -f "$T/a2.json" || { not_ok "wsd starts after a clean stop"; finish; }
dead "$n2" && ok "the next wsd ends what left its group before a clean stop" || not_ok "detached job ended" "$n2"
wait_for 20 "online after a clean stop" ids_online "$WSD_HOME" || not_ok "online after a clean stop"
n3=$(bg_of "$WSD_HOME" setsid "$T/a2") && track "$n3"
wsctl kill >/dev/null 2>&1
wait_for 15 "wsd stopped" dead "$WSD_PID"

# A hand-made record: U's pid with another start time (a reused pid) and
# V's with its own (a live group leader of that run).
setsid sleep 100003 &
U=$!; disown "$U"
track "$U"
setsid sleep 100004 &
V=$!; disown "$V"
track "$V"
wait_for 5 "U and V in their own groups" sh -c "[ \"\$(sed 's/.*) //' /proc/$U/stat | cut -d' ' -f3)\" = $U ] && [ \"\$(sed 's/.*) //' /proc/$V/stat | cut -d' ' -f3)\" = $V ]"
cat > "$WSD_HOME/run.json" <<J
{"boot":"$(cat /proc/sys/kernel/random/boot_id)","run":"0123456789abcdef0123456789abcdef","pid":1,
 "start":$(starttime "$U"),"groups":[{"pgid":$U,"start":$(( $(starttime "$U") + 1 ))},{"pgid":$V,"start":$(starttime "$V")}]}
J
start_wsd -f "$T/a2.json" || { not_ok "wsd starts on a hand-made run.json"; finish; }
alive "$U" && ok "a recorded pid whose start time differs (reused) is not killed" || not_ok "reused pid spared"
dead "$V" && ok "a recorded group whose leader still runs is killed" || not_ok "recorded live group killed"
wait_for 20 "online on the hand-made record" ids_online "$WSD_HOME" || not_ok "online after the hand-made record"
# What a clean stop leaves (the job that left its group) is this test's to end.
wait_for 10 "the last background jobs" bg_of "$WSD_HOME" setsid "$T/a2" && track "$(bg_of "$WSD_HOME" setsid "$T/a2")"

WSD_HOME=$HB timeout 10 wsctl kill >/dev/null 2>&1
finish
