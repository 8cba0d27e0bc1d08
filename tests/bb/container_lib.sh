# Helpers of the container tests (test_container_*.sh), sourced after
# lib.sh: the engine (podman with deploy/podman/containers.conf, or docker),
# the images from deploy/image.sh, unique container names removed at exit
# even on failure, and the skip line when this machine cannot run a
# container.
#
#   container_setup                    engine + images, or skip and exit
#   ctr run -d --name "$(ctr_name wsd)" …   ctr = the engine command
#   ctr_pid NAME / ctr_exit_code NAME / ctr_health NAME
#
# Host networking only, on 127.0.0.1: no bridge network is ever created.
WSD_IMAGE=${WSD_IMAGE:-wsd:latest}
REDIS_IMAGE=${REDIS_IMAGE:-wsd-redis:latest}
export WSD_IMAGE REDIS_IMAGE
CTR_ID=$$-$RANDOM
CTR_ENGINE=

ctr() { $CTR_ENGINE "$@"; }
# ctr_name ROLE: a name no other test (nor another run) uses; every
# container named so is removed at exit.
ctr_name() { echo "wsd-bb-$CTR_ID-$1"; }
ctr_pid()       { ctr inspect --format '{{.State.Pid}}' "$1"; }
ctr_running()   { [ "$(ctr inspect --format '{{.State.Running}}' "$1" 2>/dev/null)" = true ]; }
ctr_exit_code() { ctr inspect --format '{{.State.ExitCode}}' "$1"; }
# ctr_health NAME: the image's HEALTHCHECK passes now.
ctr_health() {
	case "$CTR_ENGINE" in
	*podman*) ctr healthcheck run "$1" ;;
	*) [ "$(ctr inspect --format '{{.State.Health.Status}}' "$1")" = healthy ] ;;
	esac
}
# ctr_uid_of PID: the real uid of a host process (no user namespace here).
ctr_uid_of() { awk '/^Uid:/ { print $2 }' "/proc/$1/status"; }

# ctr_secrets: $T/secrets/{redis_password,nextauth_secret} with fresh
# values in PW and SECRET, as Compose mounts them: a file each, owned by
# wsd's uid (Redis reads its file as root, before it drops privileges).
ctr_secrets() {
	PW=pw-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
	SECRET=ns-$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
	mkdir -m 0700 "$T/secrets"
	printf %s "$PW" > "$T/secrets/redis_password"
	printf %s "$SECRET" > "$T/secrets/nextauth_secret"
	chown 10001:10001 "$T/secrets"/*
	chmod 0400 "$T/secrets"/*
}

# ctr_ecosystem PORT: $T/ecosystem.json, the shipped
# deploy/ecosystem.docker.json except what host networking forces: a port
# free on this machine and the loopback address.
ctr_ecosystem() {
	python3 - "$TOP/deploy/ecosystem.docker.json" "$1" > "$T/ecosystem.json" <<-'PY'
	import json, sys
	d = json.load(open(sys.argv[1]))
	d["apps"][0]["env"].update({"WS_PORT": int(sys.argv[2]), "WS_HOST": "127.0.0.1"})
	print(json.dumps(d, indent=2))
	PY
	chmod 0644 "$T/ecosystem.json"
}

# ctr_online NAME N: wsd in container NAME reports N instances online.
ctr_online() {
	[ "$(ctr exec "$1" wsctl status --json 2>/dev/null |
	    json_get "sum(1 for i in d['instances'] if i['status']=='online')" 2>/dev/null)" = "$2" ]
}

# ctr_clients PORT N CREATOR_ID: N clients (tests/bb/ws_clients.js, tokens
# signed with SECRET) subscribe to creator CREATOR_ID (a public channel: the
# image's ecosystem has no database, so post channels are refused); reports "ok" once each got
# its welcome and subscription.  client_count WORD: lines "WORD …" so far.
client_count() { grep -c "^$1 " "$T/clients.out"; }
ctr_clients() {
	CLIENT_SECRET=$SECRET node "$TOP/tests/bb/ws_clients.js" "ws://127.0.0.1:$1" "$2" "$3" \
	    > "$T/clients.out" 2> "$T/clients.err" &
	track $!
	if wait_for 30 "$2 clients subscribed" eval '[ "$(client_count subscribed)" = '"$2"' ]'; then
		ok "$2 clients get the welcome and subscribe"
	else
		not_ok "$2 clients get the welcome and subscribe" "$(cat "$T/clients.out" "$T/clients.err")"
	fi
}

# publish_seen PORT CREATOR_ID TAG: publish one event {"type":TAG} on the Redis
# at PORT (password PW), then check that every client (N) has an event
# with TAG.  Polled with wait_for, it publishes again each time: pub/sub is
# at most once, and a worker may still be subscribing.
PUB_SEQ=0
publish_seen() {
	PUB_SEQ=$((PUB_SEQ + 1))
	redis-cli -p "$1" -a "$PW" --no-auth-warning publish "ws:creator_$2" \
	    "{\"type\":\"$3\",\"n\":$PUB_SEQ}" >/dev/null 2>&1
	[ "$(grep '^event ' "$T/clients.out" | grep -F "\"type\":\"$3\"" |
	    cut -d' ' -f2 | sort -u | wc -l)" = "$N" ]
}

ctr_cleanup() {
	local n
	[ -z "$CTR_ENGINE" ] || for n in $(ctr ps -a --format '{{.Names}}' \
	    --filter "name=^wsd-bb-$CTR_ID-" 2>/dev/null); do
		if [ "${BB_KEEP:-0}" = 1 ]; then
			ctr logs "$n" > "$T/ctr-$n.log" 2>&1
		fi
		ctr kill "$n" >/dev/null 2>&1
		ctr rm -f "$n" >/dev/null 2>&1
	done
	bb_cleanup
}
trap ctr_cleanup EXIT

# container_setup: the engine and up-to-date images (deploy/image.sh, a
# no-op when nothing changed).  A machine that cannot run a container
# skips the file with one "skip - reason" line that tests/run.sh shows and
# counts as skipped, never as passed.
container_setup() {
	local out st
	if [ -n "${WSD_CONTAINER_SKIP:-}" ]; then	# make test found out already
		echo "skip - $(basename "$0"): $WSD_CONTAINER_SKIP"
		exit 0
	fi
	out=$(bash "$TOP/deploy/image.sh" tests 2>&1)
	st=$?
	if [ "$st" = 3 ]; then
		echo "skip - $(basename "$0"): $(echo "$out" | tail -1)"
		exit 0
	fi
	if [ "$st" != 0 ]; then
		not_ok "deploy/image.sh builds the images" "$(echo "$out" | tail -20)"
		finish
	fi
	CTR_ENGINE=$(bash "$TOP/deploy/image.sh" engine)
	note "engine: $CTR_ENGINE; images $WSD_IMAGE, $REDIS_IMAGE"
}
