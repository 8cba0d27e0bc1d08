#!/usr/bin/env bash
# The Redis bus with Redis Sentinel: a master, a replica and three
# sentinels; bus-probe finds the master through the sentinels (the first
# listed one is dead), and after kill -9 of the master it follows the
# failover to the promoted replica and receives again.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/bus_lib.sh"

role_of()   { redis-cli -p "$1" role 2>/dev/null | head -1; }
master_of() { redis-cli -p "$1" sentinel get-master-addr-by-name mymaster 2>/dev/null | tr '\n' ' '; }
# sentinel_ready PORT: it knows the replica and the two other sentinels.
sentinel_ready() {
	local info
	info=$(redis-cli -p "$1" sentinel master mymaster 2>/dev/null | tr '\n' ' ')
	case "$info" in *"num-slaves 1 "*"num-other-sentinels 2 "*) return 0 ;; esac
	return 1
}
replica_synced() {
	redis-cli -p "$1" info replication | grep -q '^master_link_status:up'
}

M=$(free_port)
start_redis_on "$M"
MASTER_PID=$REDIS_PID
R=$(free_port)
start_redis_on "$R" --replicaof 127.0.0.1 "$M"
wait_for 15 "replica in sync" replica_synced "$R" || not_ok "replica in sync"

S1=$(free_port); start_sentinel "$S1" "$M"
S2=$(free_port); start_sentinel "$S2" "$M"
S3=$(free_port); start_sentinel "$S3" "$M"
if wait_for 30 "sentinels see the replica and each other" \
    eval 'sentinel_ready $S1 && sentinel_ready $S2 && sentinel_ready $S3'; then
	ok "three sentinels monitor the master"
else
	not_ok "three sentinels monitor the master" \
	    "$(redis-cli -p "$S1" sentinel master mymaster | tr '\n' ' ')"
fi

DEAD=$(free_port)	# nobody listens there: the probe must move on
SENTINELS="127.0.0.1:$DEAD,127.0.0.1:$S1,127.0.0.1:$S2,127.0.0.1:$S3"
probe_start a REDIS_SENTINELS="$SENTINELS" -- sub k1
if wait_for 15 "probe up on the master" probe_has a "state up 127.0.0.1:$M"; then
	ok "the probe finds the master through the sentinels"
else
	not_ok "the probe finds the master through the sentinels" \
	    "$(cat "$T/a.out")" "$(tail -5 "$T/a.err")"
fi
redis-cli -p "$M" publish ws:k1 before-failover >/dev/null
if wait_for 5 "before-failover" probe_has a "msg k1 before-failover"; then
	ok "a message on the master arrives"
else
	not_ok "a message on the master arrives" "$(cat "$T/a.out")"
fi
out=$(timeout 20 env REDIS_SENTINELS="$SENTINELS" "$PROBE" pub k1 via-sentinel 2>"$T/pub.err")
if [ "$out" = 1 ] && wait_for 5 "via-sentinel" probe_has a "msg k1 via-sentinel"; then
	ok "bus_publish through the sentinels reaches the subscriber"
else
	not_ok "bus_publish through the sentinels" "output '$out'" "$(cat "$T/pub.err")"
fi

# Failover.
kill -KILL "$MASTER_PID"
if wait_for 10 "probe down" probe_count_ge a '^state down' 1; then
	ok "the dead master is reported down"
else
	not_ok "the dead master is reported down" "$(cat "$T/a.out")"
fi
if wait_for 40 "sentinels promote the replica" eval '[ "$(role_of $R)" = master ]'; then
	ok "the sentinels promote the replica"
else
	not_ok "the sentinels promote the replica" "$(master_of "$S1")"
fi
if wait_for 30 "probe up on the new master" probe_has a "state up 127.0.0.1:$R"; then
	ok "the probe follows the failover to the new master"
else
	not_ok "the probe follows the failover to the new master" \
	    "$(cat "$T/a.out")" "$(tail -5 "$T/a.err")"
fi
redis-cli -p "$R" publish ws:k1 after-failover >/dev/null
if wait_for 5 "after-failover" probe_has a "msg k1 after-failover"; then
	ok "a message on the new master arrives"
else
	not_ok "a message on the new master arrives" "$(cat "$T/a.out")"
fi
check "the new master sees the probe's subscription" numsub_is "$R" ws:k1 1

kill -TERM "${PROBE_PID[a]}"
probe_wait a 10
st=$PROBE_STATUS
check "SIGTERM: the probe frees the bus and exits 0 (status $st)" [ "$st" = 0 ]

finish
