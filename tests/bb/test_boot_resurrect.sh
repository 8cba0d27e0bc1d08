#!/usr/bin/env bash
# save → kill → resurrect restores the same table: names, ids, instance
# counts, a stopped app stays stopped, the env_file read again; an empty
# save needs --force; the dump holds no secret value; a corrupt dump.json
# falls back to dump.json.bak with a warning.
. "$(dirname "$0")/lib.sh"

D=$WSD_HOME/dump.json
mkdir -p "$T/app"
cat > "$T/app/.env" <<'EOF'
FOO=first
NEXTAUTH_SECRET=s3cr3t-never-in-the-dump-0123456789
EOF
cat > "$T/app/eco.json" <<'EOF'
{"apps":[
 {"name":"alpha","script":"sleep","args":["1000"],"instances":2,
  "env_file":".env","kill_timeout":500},
 {"name":"beta","script":"sleep","args":["1000"],"kill_timeout":500}
]}
EOF

# "id name slot status instances" per instance, sorted: what must survive.
table() {
	wsctl status --json | python3 -c '
import json, sys
for i in sorted(json.load(sys.stdin)["instances"], key=lambda i: i["id"]):
    print(i["id"], i["name"], i["instance"], i["status"], i["instances"])'
}
settled() {	# every instance online or stopped
	! table | awk '{print $4}' | grep -qvE '^(online|stopped)$'
}
env_of() { wsctl --json env "$1" | json_get "d['env'].get('$2')"; }
stop_daemon() {
	wsctl kill >/dev/null 2>&1
	wait_for 30 "wsd exited" sh -c "! kill -0 $WSD_PID 2>/dev/null"
}

start_wsd || { not_ok "wsd starts"; finish; }

# Nothing to save yet: refused without --force, and nothing written.
out=$(wsctl save 2>&1)
rc=$?
if [ $rc -ne 0 ] && grep -qi "force" <<<"$out" && [ ! -e "$D" ]; then
	ok "an empty save is refused without --force (status $rc)"
else
	not_ok "an empty save is refused without --force" "status $rc" "$out"
fi
check "save --force writes an empty list" wsctl save --force
check "the empty dump has no apps" \
	test "$(json_get "len(d['apps'])" < "$D" 2>/dev/null)" = 0

wsctl start "$T/app/eco.json" >/dev/null 2>&1
wait_for 30 "apps online" sh -c '[ "$(wsctl status --json | python3 -c "import json,sys; print(sum(i[\"status\"]==\"online\" for i in json.load(sys.stdin)[\"instances\"]))")" = 3 ]'
wsctl stop beta >/dev/null 2>&1
wait_for 30 "beta stopped" instance_status 2 stopped
check "env_file value seen before the save" test "$(env_of 0 FOO)" = first
before=$(table)
note "before: $(echo "$before" | tr '\n' ';')"

check "save" wsctl save
check "dump.json is mode 0600" test "$(stat -c %a "$D")" = 600
check "the previous (empty) dump is kept as dump.json.bak" \
	test "$(json_get "len(d['apps'])" < "$D.bak" 2>/dev/null)" = 0
check "dump holds both apps" test "$(json_get "len(d['apps'])" < "$D")" = 2
if grep -q "s3cr3t-never-in-the-dump" "$D" "$D.bak"; then
	not_ok "the dump holds no secret value"
else ok "the dump holds no secret value"; fi
check "save again (dump.json.bak now holds the apps too)" wsctl save

pids=$(wsctl status --json | json_get "' '.join(str(i['pid']) for i in d['instances'] if i['pid'])")
stop_daemon
gone() { local p; for p in $pids; do [ ! -d "/proc/$p" ] || return 1; done; }
wait_for 30 "the instances exited" gone
check "the apps' processes ($pids) are gone with the daemon" test -n "$pids" -a "$(gone && echo y)" = y

# Env files are read again on resurrect, not taken from the dump.
sed -i 's/^FOO=first/FOO=second/' "$T/app/.env"
start_wsd --resurrect || { not_ok "wsd --resurrect starts"; finish; }
wait_for 30 "resurrected apps settled" settled
after=$(table)
if [ "$before" = "$after" ]; then
	ok "wsd --resurrect restores the same table (ids, names, instances, stopped beta)"
else
	not_ok "wsd --resurrect restores the same table" "before: $(echo "$before" | tr '\n' ';')" \
	    "after:  $(echo "$after" | tr '\n' ';')"
fi
check "the env_file is read again on resurrect" test "$(env_of 0 FOO)" = second

# wsctl resurrect on a fresh daemon does the same.
stop_daemon
start_wsd || { not_ok "wsd restarts"; finish; }
check "a daemon started without --resurrect has no apps" test -z "$(table)"
check "wsctl resurrect" wsctl resurrect
wait_for 30 "resurrected apps settled" settled
after=$(table)
if [ "$before" = "$after" ]; then ok "wsctl resurrect restores the same table"
else not_ok "wsctl resurrect restores the same table" "after: $(echo "$after" | tr '\n' ';')"; fi

# A corrupt dump.json: the .bak is used, with a warning.
stop_daemon
printf '{"version":1,"apps":[{"config":{"na' > "$D"
: > "$T/wsd.stdout"
start_wsd --resurrect || { not_ok "wsd --resurrect starts over a corrupt dump"; finish; }
wait_for 30 "apps from the backup settled" settled
after=$(table)
if [ "$before" = "$after" ]; then ok "a corrupt dump.json falls back to dump.json.bak"
else not_ok "a corrupt dump.json falls back to dump.json.bak" "after: $(echo "$after" | tr '\n' ';')"; fi
if grep -q 'dump.json.bak' "$T/wsd.stdout" && grep -q '"warn' "$T/wsd.stdout"; then
	ok "the fallback is logged as a warning"
else
	not_ok "the fallback is logged as a warning" "$(tail -5 "$T/wsd.stdout")"
fi

finish
