#!/usr/bin/env bash
# The wsd image, run as a user would (host network, loopback only): wsd runs
# as uid 10001, reads its secrets from /run/secrets only (none in the
# container's environment or command line), its HEALTHCHECK answers, two
# instances authenticate to a password-protected Redis and a client gets
# its welcome and an event published through Redis; SIGTERM (the stop
# command) closes every client with 1001 and wsd exits 0 in time.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/container_lib.sh"
container_setup

ctr_secrets
RP=$(free_port)
start_redis_on "$RP" --requirepass "$PW"
WP=$(free_port)

ctr_ecosystem "$WP"

W=$(ctr_name wsd)
if ctr run -d --name "$W" --network=host \
    -v "$T/secrets/redis_password:/run/secrets/redis_password:ro" \
    -v "$T/secrets/nextauth_secret:/run/secrets/nextauth_secret:ro" \
    -v "$T/ecosystem.json:/etc/wsd/ecosystem.json:ro" \
    -e REDIS_URL="redis://127.0.0.1:$RP" -e WS_DRAIN_TIMEOUT_MS=3000 \
    "$WSD_IMAGE" > "$T/run.out" 2>&1; then
	ok "the image starts with host networking and the secret files"
else
	not_ok "the image starts" "$(cat "$T/run.out")"
	finish
fi

if wait_for 60 "two instances online" ctr_online "$W" 2; then
	ok "wsd brings two instances online in the container"
else
	not_ok "wsd brings two instances online" "$(ctr logs "$W" 2>&1 | tail -20)"
fi

# uid: wsd (the container's main process) and each instance, seen from the
# host's /proc.
P=$(ctr_pid "$W")
check "wsd runs as uid 10001 (host pid $P)" [ "$(ctr_uid_of "$P")" = 10001 ]
kids=$(pgrep -P "$P")
bad=
for k in $kids; do [ "$(ctr_uid_of "$k")" = 10001 ] || bad="$bad $k"; done
check "its instances run as uid 10001 too ($(echo $kids))" test -n "$kids" -a -z "$bad"

# Secrets: present in the instances (they authenticate), absent from the
# container's configuration and from wsd's command line and environment.
ctr inspect "$W" > "$T/inspect.json"
if grep -qF -e "$PW" -e "$SECRET" "$T/inspect.json"; then
	not_ok "no secret in the container's inspect (environment, command line)"
else
	ok "no secret in the container's inspect (environment, command line)"
fi
if tr '\0' '\n' < "/proc/$P/cmdline" | grep -qF -e "$PW" -e "$SECRET" ||
    tr '\0' '\n' < "/proc/$P/environ" | grep -qF -e "$PW" -e "$SECRET"; then
	not_ok "no secret in wsd's own command line or environment"
else
	ok "no secret in wsd's own command line or environment"
fi

if wait_for 30 "the HEALTHCHECK passes" ctr_health "$W"; then
	ok "the image's HEALTHCHECK command answers"
else
	not_ok "the image's HEALTHCHECK command answers" \
	    "$(ctr inspect --format '{{json .State.Health}}' "$W" 2>&1 | tail -3)"
fi

# Clients: welcome, subscription, then an event published on Redis.
N=4
ctr_clients "$WP" "$N" 7
if wait_for 15 "an event at every client" publish_seen "$RP" 7 post_liked; then
	ok "an event published through the password-protected Redis reaches every client"
else
	not_ok "an event published through Redis reaches every client" "$(cat "$T/clients.out")" \
	    "$(ctr logs "$W" 2>&1 | tail -10)"
fi

# SIGTERM through the engine's stop, with the compose file's grace period.
ctr stop -t 30 "$W" > "$T/stop.out" 2>&1
st=$(ctr_exit_code "$W")
check "stop (SIGTERM): wsd exits 0 within the 30 s stop timeout (exit code $st)" [ "$st" = 0 ]
if wait_for 10 "every client closed" eval '[ "$(client_count close)" = $N ]' &&
    [ "$(grep -c '^close [0-9]* 1001$' "$T/clients.out")" = "$N" ]; then
	ok "stop (SIGTERM): every client is closed with 1001"
else
	not_ok "stop (SIGTERM): every client is closed with 1001" "$(grep -v '^event' "$T/clients.out")"
fi

finish
