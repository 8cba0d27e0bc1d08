#!/usr/bin/env bash
# The Redis bus with passwords and other URL forms, through bus-probe:
# REDIS_URL with a percent-encoded password, REDIS_PASSWORD, the URL
# winning over REDIS_PASSWORD, an ACL user, a wrong password (stays down,
# keeps retrying, comes up once the password matches), unix sockets,
# SELECT of a database and a database out of range.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/bus_lib.sh"

PW='s@cret/p:w%'
PW_URL='s%40cret%2Fp%3Aw%25'
P=$(free_port)
start_redis_on "$P" --requirepass "$PW"
rcli() { redis-cli --no-auth-warning -a "$PW" -p "$P" "$@"; }
# denied: AUTH refusals so far (the ACL log groups them with a count).
denied() { rcli acl log 128 | awk '/^count$/ { getline; n += $1 } END { print n + 0 }'; }
redis-cli --no-auth-warning -a "$PW" -p "$P" acl setuser app on '>app-pw' '~*' '&*' '+@all' >/dev/null

probe_start url REDIS_URL="redis://:$PW_URL@127.0.0.1:$P" -- sub k
probe_start env REDIS_URL="redis://127.0.0.1:$P" REDIS_PASSWORD="$PW" -- sub k
probe_start wins REDIS_URL="redis://:$PW_URL@127.0.0.1:$P" REDIS_PASSWORD=wrong -- sub k
probe_start acl REDIS_URL="redis://app:app-pw@127.0.0.1:$P/0" -- sub k
for p in url env wins acl; do
	if wait_for 10 "probe $p up" probe_has $p "state up"; then
		ok "password from $p: up"
	else
		not_ok "password from $p: up" "$(tail -3 "$T/$p.err")"
	fi
done
rcli publish ws:k secret-hello >/dev/null
for p in url env wins acl; do
	check "password from $p: the message arrives" \
	    wait_for 5 "msg on $p" probe_has $p "msg k secret-hello"
done

# A wrong password: down, retrying (the server counts the refusals; each
# attempt opens two links, so six refusals are three attempts).
before=$(denied)
probe_start bad REDIS_URL="redis://:wrong@127.0.0.1:$P" -- sub k
if wait_for 20 "six refused AUTHs" eval '[ "$(denied)" -ge $((before + 6)) ]'; then
	ok "a wrong password is retried"
else
	not_ok "a wrong password is retried" "denied $(denied), before $before"
fi
check "a wrong password never reports up" eval '! probe_has bad "state up"'
check "a wrong password does not kill the probe" kill -0 "${PROBE_PID[bad]}"
check "the refusal is logged" grep -q 'WRONGPASS' "$T/bad.err"
check "the password is never logged" eval '! grep -qF -e "$PW" -e app-pw "$T"/*.err'
# The server's password changes to what the probe has: it comes up.
rcli acl setuser default on '>wrong' >/dev/null
if wait_for 10 "bad probe up" probe_has bad "state up"; then
	ok "after a refused password the probe keeps retrying and comes up"
else
	not_ok "after a refused password the probe comes up" "$(tail -3 "$T/bad.err")"
fi

# Unix socket, with a database.
U=$(free_port)
redis-server --port 0 --unixsocket "$T/redis.sock" --save '' --appendonly no \
    --dir "$T" --logfile "$T/redis-unix.log" &
track $!
wait_for 10 "redis on the unix socket" redis-cli -s "$T/redis.sock" ping
probe_start unix REDIS_URL="unix://$T/redis.sock?db=2" -- sub k
if wait_for 10 "unix probe up" probe_has unix "state up $T/redis.sock"; then
	ok "unix:// socket: up"
else
	not_ok "unix:// socket: up" "$(tail -3 "$T/unix.err")"
fi
redis-cli -s "$T/redis.sock" publish ws:k over-unix >/dev/null
check "unix:// socket: the message arrives" \
    wait_for 5 "over-unix" probe_has unix "msg k over-unix"
check "unix:// socket: SELECT 2 on the command link" \
    eval 'redis-cli -s "$T/redis.sock" client list | grep -q " db=2 "'

probe_start baddb REDIS_URL="unix://$T/redis.sock?db=99" -- sub k
if wait_for 10 "SELECT refused" grep -q 'SELECT' "$T/baddb.err"; then
	ok "a database out of range is refused and logged"
else
	not_ok "a database out of range is refused and logged" "$(cat "$T/baddb.err")"
fi
check "a database out of range never reports up" eval '! probe_has baddb "state up"'

# A bad configuration is refused at once, naming the variable.
out=$(REDIS_URL=rediss://127.0.0.1:1 "$PROBE" sub k 2>&1)
st=$?
check "rediss:// is refused with exit 78 (status $st)" [ "$st" = 78 ]
check "the error names REDIS_URL and TLS" eval 'echo "$out" | grep -q "REDIS_URL: TLS"'
out=$(REDIS_URL=redis://h REDIS_SENTINELS=h:1 "$PROBE" sub k 2>&1)
check "REDIS_URL and REDIS_SENTINELS together are refused" \
    eval 'echo "$out" | grep -q "REDIS_URL and REDIS_SENTINELS"'

for p in url env wins acl bad unix baddb; do
	kill -TERM "${PROBE_PID[$p]}"
	probe_wait $p 10
	st=$PROBE_STATUS
	[ "$st" = 0 ] || not_ok "probe $p exits 0 on SIGTERM" "status $st"
done
ok "every probe exits cleanly"

finish
