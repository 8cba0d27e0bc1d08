#!/usr/bin/env bash
# The Redis bus's Sentinel logic against a scripted sentinel, so that each
# path is forced: a sentinel naming a replica (ROLE refuses it, the bus asks
# again), a +switch-master announcement (the bus follows it at once), and a
# master demoted without an announcement (the heartbeat's ROLE notices).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/bus_lib.sh"

# The scripted sentinel: get-master-addr-by-name answers what $T/addr says;
# a line written to $T/switch is published on +switch-master; WATCHERS
# counts the connections subscribed to it.
cat > "$T/fake-sentinel.py" <<'EOF'
import os, socket, sys, threading, time
port, addrfile, switchfile = int(sys.argv[1]), sys.argv[2], sys.argv[3]
watchers, lock = [], threading.Lock()
def bulk(s):
    b = s.encode()
    return b"$%d\r\n%s\r\n" % (len(b), b)
def arr(items):
    return b"*%d\r\n" % len(items) + b"".join(items)
def read_cmd(f):
    line = f.readline()
    if not line:
        return None
    if not line.startswith(b"*"):
        return line.decode().split()
    args = []
    for _ in range(int(line[1:])):
        n = int(f.readline()[1:])
        args.append(f.read(n + 2)[:-2].decode())
    return args
def serve(conn):
    f = conn.makefile("rb")
    while True:
        args = read_cmd(f)
        if not args:
            break
        cmd = args[0].lower()
        if cmd == "ping":
            conn.sendall(b"+PONG\r\n")
        elif cmd == "watchers":
            with lock:
                conn.sendall(b":%d\r\n" % len(watchers))
        elif cmd == "sentinel" and args[1:2] == ["get-master-addr-by-name"]:
            host, p = open(addrfile).read().split()
            conn.sendall(arr([bulk(host), bulk(p)]))
        elif cmd == "subscribe":
            for i, ch in enumerate(args[1:]):
                conn.sendall(arr([bulk("subscribe"), bulk(ch), b":%d\r\n" % (i + 1)]))
            with lock:
                watchers.append(conn)
        else:
            conn.sendall(b"-ERR unknown command\r\n")
    with lock:
        if conn in watchers:
            watchers.remove(conn)
    conn.close()
def announcer():
    while True:
        time.sleep(0.05)
        if os.path.exists(switchfile):
            msg = open(switchfile).read().strip()
            os.unlink(switchfile)
            with lock:
                for c in watchers:
                    try:
                        c.sendall(arr([bulk("message"), bulk("+switch-master"), bulk(msg)]))
                    except OSError:
                        pass
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", port))
s.listen(16)
threading.Thread(target=announcer, daemon=True).start()
while True:
    c, _ = s.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
EOF

set_addr() { echo "127.0.0.1 $1" > "$T/addr.new" && mv "$T/addr.new" "$T/addr"; }
role_is() { [ "$(redis-cli -p "$1" role | head -1)" = "$2" ]; }

A=$(free_port)
start_redis_on "$A"
B=$(free_port)
start_redis_on "$B" --replicaof 127.0.0.1 "$A"
F=$(free_port)
set_addr "$B"			# the sentinel first names the replica
python3 "$T/fake-sentinel.py" "$F" "$T/addr" "$T/switch" 2> "$T/fake.err" &
track $!
wait_for 10 "fake sentinel" redis-cli -p "$F" ping

probe_start a REDIS_SENTINELS="127.0.0.1:$F" -- sub k
if wait_for 10 "ROLE refusal logged" grep -q "127.0.0.1:$B: not the master (ROLE says slave)" "$T/a.err"; then
	ok "a replica named by the sentinel is refused after ROLE"
else
	not_ok "a replica named by the sentinel is refused" "$(tail -3 "$T/a.err")"
fi
check "the replica is never reported up" eval '! probe_has a "state up"'
set_addr "$A"
if wait_for 10 "up on A" probe_has a "state up 127.0.0.1:$A"; then
	ok "the bus asks again and comes up on the master"
else
	not_ok "the bus asks again and comes up on the master" "$(tail -3 "$T/a.err")"
fi
redis-cli -p "$A" publish ws:k on-a >/dev/null
check "a message on the master arrives" wait_for 5 "on-a" probe_has a "msg k on-a"

# +switch-master to B: followed without waiting for a link to fail.
wait_for 10 "the probe watches +switch-master" \
    eval '[ "$(redis-cli -p "$F" watchers)" -ge 1 ]'
redis-cli -p "$B" replicaof no one >/dev/null
set_addr "$B"
echo "mymaster 127.0.0.1 $A 127.0.0.1 $B" > "$T/switch"
if wait_for 10 "up on B" probe_has a "state up 127.0.0.1:$B"; then
	ok "a +switch-master announcement moves the bus to the new master"
else
	not_ok "+switch-master moves the bus" "$(cat "$T/a.out")" "$(tail -3 "$T/a.err")"
fi
check "the switch was announced, not found by a failure" \
    grep -q "switched to 127.0.0.1:$B" "$T/a.err"
redis-cli -p "$A" replicaof 127.0.0.1 "$B" >/dev/null
redis-cli -p "$B" publish ws:k on-b >/dev/null
check "a message on the new master arrives" wait_for 5 "on-b" probe_has a "msg k on-b"
echo "othermaster 127.0.0.1 $B 127.0.0.1 $A" > "$T/switch"
wait_for 5 "announcement sent" eval '[ ! -e "$T/switch" ]'
redis-cli -p "$B" publish ws:k still-b >/dev/null
check "an announcement for another master name is ignored" \
    eval 'wait_for 5 "still-b" probe_has a "msg k still-b" &&
    [ "$(grep -c "^state up" "$T/a.out")" = 2 ]'

# B demoted without an announcement: the heartbeat's ROLE notices.
wait_for 10 "A in sync with B" eval 'redis-cli -p "$A" info replication | grep -q "^master_link_status:up"'
set_addr "$A"
redis-cli -p "$A" replicaof no one >/dev/null
redis-cli -p "$B" replicaof 127.0.0.1 "$A" >/dev/null
if wait_for 15 "up on A again" eval '[ "$(grep -c "^state up 127.0.0.1:$A" "$T/a.out")" = 2 ]'; then
	ok "a master demoted without an announcement is left for the new one"
else
	not_ok "a demoted master is left" "$(cat "$T/a.out")" "$(tail -3 "$T/a.err")"
fi
redis-cli -p "$A" publish ws:k on-a-again >/dev/null
check "a message on the master arrives again" \
    wait_for 5 "on-a-again" probe_has a "msg k on-a-again"

kill -TERM "${PROBE_PID[a]}"
probe_wait a 10
st=$PROBE_STATUS
check "SIGTERM: the probe frees the bus and exits 0 (status $st)" [ "$st" = 0 ]

finish
