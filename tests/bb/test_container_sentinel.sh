#!/usr/bin/env bash
# The production topology in containers: deploy/docker-compose.prod.yml run
# on the host network (tests/bb/compose_hostnet.py says what that changes):
# a Redis master, a replica and three Sentinels from the Redis image built on
# the same Debian base, and wsd finding the master through the Sentinels.
# Clients subscribe; a SENTINEL FAILOVER promotes the replica; the clients
# stay connected and events published on the new master keep arriving.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/container_lib.sh"
container_setup

ctr_secrets
mkdir -m 0700 "$T/volumes"

M=$(free_port); R=$(free_port); S1=$(free_port); S2=$(free_port); S3=$(free_port)
WP=$(free_port)
if LOKI_URL=unused python3 "$TOP/tests/bb/compose_hostnet.py" \
    "$TOP/deploy/docker-compose.prod.yml" "$T/secrets" "$T/volumes" \
    redis-master="$M" redis-replica="$R" sentinel-1="$S1" sentinel-2="$S2" \
    sentinel-3="$S3" > "$T/run.sh" 2> "$T/run.err"; then
	sed "s/^/# /" "$T/run.err"
	ok "the production compose file translates to host-network runs"
else
	not_ok "the production compose file translates to host-network runs" "$(cat "$T/run.err")"
	finish
fi
. "$T/run.sh"
ctr_ecosystem "$WP"

rcli() { local p=$1; shift; redis-cli -p "$p" -a "$PW" --no-auth-warning "$@"; }
role_of() { rcli "$1" role 2>/dev/null | head -1; }
sentinel_ready() {	# it knows the replica and the two other sentinels
	local info
	info=$(redis-cli -p "$1" sentinel master mymaster 2>/dev/null | tr '\n' ' ')
	case "$info" in *"num-slaves 1 "*"num-other-sentinels 2 "*) return 0 ;; esac
	return 1
}
replica_synced() { rcli "$R" info replication | grep -q '^master_link_status:up'; }

# Started in the compose file's depends_on order.
started=0
for svc in redis-master redis-replica sentinel-1 sentinel-2 sentinel-3; do
	name=$(ctr_name "$svc")
	eval 'args=("${SVC_'"${svc//-/_}"'[@]}")'
	ctr run -d --name "$name" --network=host "${args[@]}" >> "$T/run.out" 2>&1 &&
	    started=$((started + 1))
done
MASTER_CTR=wsd-bb-$CTR_ID-redis-master
check "five Redis containers start (master, replica, three sentinels)" [ "$started" = 5 ]
wait_for 30 "master answers" redis_answers "$M"
if wait_for 60 "replica in sync" replica_synced; then
	ok "the replica syncs from the password-protected master"
else
	not_ok "the replica syncs" "$(ctr logs "wsd-bb-$CTR_ID-redis-replica" 2>&1 | tail -10)"
fi
if wait_for 60 "sentinels see the replica and each other" \
    eval 'sentinel_ready $S1 && sentinel_ready $S2 && sentinel_ready $S3'; then
	ok "three sentinels monitor the master, the replica and each other"
else
	not_ok "three sentinels monitor the master" \
	    "$(redis-cli -p "$S1" sentinel master mymaster | tr '\n' ' ')"
fi
mpid=$(ctr_pid "$MASTER_CTR" 2>/dev/null)
muid=$( [ -z "$mpid" ] || ctr_uid_of "$mpid")
check "the Redis master runs as the redis user, not root (uid '$muid')" \
    test -n "$muid" -a "$muid" != 0

W=$(ctr_name wsd)
ctr run -d --name "$W" --network=host \
    -v "$T/ecosystem.json:/etc/wsd/ecosystem.json:ro" "${SVC_wsd[@]}" >> "$T/run.out" 2>&1
if wait_for 60 "two instances online" ctr_online "$W" 2; then
	ok "wsd brings two instances online"
else
	not_ok "wsd brings two instances online" "$(cat "$T/run.out")" "$(ctr logs "$W" 2>&1 | tail -20)"
fi
check "wsd runs as uid 10001" [ "$(ctr_uid_of "$(ctr_pid "$W")")" = 10001 ]

N=4
ctr_clients "$WP" "$N" 9
# Both workers hold a subscription when every client's is in place... the
# clients spread over them; at least one subscribed on the master.
numsub() { rcli "$1" pubsub numsub ws:creator_9 2>/dev/null | sed -n 2p; }
wait_for 15 "ws:creator_9 subscribed on the master" eval '[ "$(numsub $M)" -ge 1 ]'

if wait_for 15 "an event through the master" publish_seen "$M" 9 before; then
	ok "an event published on the master reaches every client"
else
	not_ok "an event published on the master reaches every client" "$(cat "$T/clients.out")"
fi

# The failover, asked of one sentinel; the old master becomes a replica.
out=$(redis-cli -p "$S1" sentinel failover mymaster 2>&1)
check "SENTINEL FAILOVER is accepted ($out)" [ "$out" = OK ]
if wait_for 60 "the replica promoted" eval '[ "$(role_of $R)" = master ]'; then
	ok "the sentinels promote the replica"
else
	not_ok "the sentinels promote the replica" "$(redis-cli -p "$S1" sentinel get-master-addr-by-name mymaster | tr '\n' ' ')"
fi
if wait_for 60 "events on the new master" publish_seen "$R" 9 after; then
	ok "events published on the new master keep arriving at every client"
else
	not_ok "events published on the new master keep arriving" "$(cat "$T/clients.out")" \
	    "$(ctr logs "$W" 2>&1 | tail -10)"
fi
check "no client was disconnected during the failover" [ "$(client_count close)" = 0 ]
check "no client failed" [ "$(client_count error)" = 0 ]
check "both instances still online" ctr_online "$W" 2

finish
