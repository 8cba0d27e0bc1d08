#!/usr/bin/env bash
# Cluster listening sockets: wsd binds one SO_REUSEPORT socket per slot,
# hands it to the instance as fd 3 (LISTEN_FDS/LISTEN_PID/WSD_LISTEN_FD)
# and to every replacement; a connection queued while the slot's process
# restarts is served by the replacement, not reset.  IPC ready → online.
. "$(dirname "$0")/lib.sh"
# The test machine's own *_FILE variables are not what these tests are about.
for v in $(env | sed -n 's/^\([A-Za-z_][A-Za-z0-9_]*_FILE\)=.*/\1/p'); do unset "$v"; done
# pyenv's python3 shim costs a second per call; the system one is enough.
if [ -x /usr/bin/python3 ]; then python3() { /usr/bin/python3 "$@"; }; fi

PORT=$(free_port)
PY=python3; [ -x /usr/bin/python3 ] && PY=/usr/bin/python3
cat > "$T/server.py" <<P
#!/usr/bin/env $PY
import json, os, socket
lfd = int(os.environ["WSD_LISTEN_FD"])
info = {"pid": os.getpid(), "listen_pid": os.environ.get("LISTEN_PID"),
        "listen_fds": os.environ.get("LISTEN_FDS"), "ipc_fd": os.environ.get("WSD_IPC_FD"),
        "lfd": lfd, "inode": os.readlink("/proc/self/fd/%d" % lfd),
        "slot": os.environ["WSD_INSTANCE"]}
s = socket.socket(fileno=lfd)
s.setblocking(True)
info["accepting"] = s.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN)
tmp = "$T/info.%s.tmp" % info["slot"]
with open(tmp, "w") as f:
    json.dump(info, f)
os.rename(tmp, "$T/info.%s.%d" % (info["slot"], os.getpid()))
ipc = socket.socket(fileno=int(os.environ["WSD_IPC_FD"]))
ipc.sendall(b'{"ready":true}\n{"stats":{"connections":7}}\n')
while True:
    c, _ = s.accept()
    c.sendall(b"%d\n" % os.getpid())
    c.close()
P
chmod +x "$T/server.py"
cat > "$T/eco.json" <<EOF2
{"apps":[{"name":"web","script":"$T/server.py","instances":2,"exec_mode":"cluster",
  "listen_timeout":60000,"restart_delay":700,"env":{"WS_PORT":$PORT,"WS_HOST":"127.0.0.1"}}]}
EOF2
start_wsd -f "$T/eco.json" || { not_ok "wsd starts"; finish; }
both_online() { instance_status 0 online && instance_status 1 online; }
# listen_timeout is 60 s: only the IPC ready message can make them online.
wait_for 30 "both instances online" both_online && ok "IPC {\"ready\":true} → online" || not_ok "online by IPC ready" "$(wsctl status)"
[ "$(instance_field 0 connections)" = 7 ] && ok "IPC stats → connections" || not_ok "connections from IPC stats" "$(instance_field 0 connections)"

info() {	# info SLOT PID KEY
	python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$T/info.$1.$2" "$3"
}
p0=$(instance_field 0 pid); p1=$(instance_field 1 pid)
if [ "$(info 0 "$p0" lfd)" = 3 ] && [ "$(info 0 "$p0" listen_fds)" = 1 ] && [ "$(info 0 "$p0" listen_pid)" = "$p0" ] \
    && [ "$(info 0 "$p0" ipc_fd)" = 4 ] && [ "$(info 0 "$p0" accepting)" = 1 ]; then
	ok "fd 3 is a listening socket; LISTEN_FDS=1, LISTEN_PID=own pid, WSD_IPC_FD=4"
else
	not_ok "fd layout" "$(cat "$T/info.0.$p0")"
fi
i0=$(info 0 "$p0" inode); i1=$(info 1 "$p1" inode)
[ "$i0" != "$i1" ] && ok "one socket per slot ($i0, $i1)" || not_ok "one socket per slot" "$i0 $i1"
ls -l "/proc/$WSD_PID/fd" | grep -qF "${i0}" && ok "wsd keeps the slot socket open" || not_ok "wsd holds the socket"

ask() { python3 -c 'import socket,sys; s=socket.create_connection(("127.0.0.1",int(sys.argv[1])),timeout=10); print(s.makefile().readline().strip())' "$PORT"; }
got=$(ask)
[ "$got" = "$p0" ] || [ "$got" = "$p1" ] && ok "a client is served on the shared port" || not_ok "served on the port" "got '$got'"

# kill -9 slot 0 and connect during the restart delay: whichever slot the
# kernel picks, the connection must be answered, never reset.
kill -9 "$p0"
answers=""
for _ in 1 2 3 4 5 6; do answers="$answers $(ask 2>&1 | tr '\n' ' ')"; done
bad=$(echo "$answers" | tr ' ' '\n' | grep -v '^$' | grep -vx '[0-9]*')
[ -z "$bad" ] && ok "connections during a restart are all served ($answers)" || not_ok "no reset during restart" "$answers"
newp() { p=$(instance_field 0 pid); [ "$p" != 0 ] && [ "$p" != "$p0" ] && instance_status 0 online; }
wait_for 30 "slot 0 replaced" newp || not_ok "slot 0 replaced"
np0=$(instance_field 0 pid)
[ "$(info 0 "$np0" inode)" = "$i0" ] && ok "the replacement gets the same socket" || not_ok "same socket" "$(info 0 "$np0" inode) vs $i0"
echo "$answers" | grep -qw "$np0" && ok "a connection queued on the restarting slot was served by the replacement" \
    || note "the kernel sent none of the 6 connects to slot 0 this time ($answers)"
finish
