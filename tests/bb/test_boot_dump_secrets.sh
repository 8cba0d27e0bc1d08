#!/usr/bin/env bash
# dump.json holds no secret value: inline secrets of env/env_<mode> (the
# secret-name table, URLs with a password) are left out and read again from
# the ecosystem file on resurrect, where the app gets them back; an app whose
# ecosystem file is gone is named with the reason and not started, the
# others are.
. "$(dirname "$0")/lib.sh"
for v in $(env | sed -n 's/^\([A-Za-z_][A-Za-z0-9_]*_FILE\)=.*/\1/p'); do unset "$v"; done
if [ -x /usr/bin/python3 ]; then python3() { /usr/bin/python3 "$@"; }; fi

D=$WSD_HOME/dump.json
mkdir -p "$T/app"
cat > "$T/app/show.sh" <<S
#!/bin/sh
env > "$T/env.\$WSD_APP_NAME.\$\$"
mv "$T/env.\$WSD_APP_NAME.\$\$" "$T/env.\$WSD_APP_NAME"
exec sleep 1000
S
chmod +x "$T/app/show.sh"
# Every kind of inline secret, each value unique so grep finds any copy.
SECRETS="NEXTAUTH_SECRET=na-secret-v1-0123456789abcdef0123456789
NEXTAUTH_SECRET_PREVIOUS=na-secret-v0-0123456789abcdef0123456789
REDIS_URL=redis://:redis-pass-4f1c@127.0.0.1:6379/0
GITHUB_TOKEN=ghp-token-9b2e
STRIPE_KEY=sk-stripe-key-77aa
DB_PASSWORD=db-pass-c0ffee
PROD_TOKEN=prod-only-token-5d5d"
cat > "$T/app/eco.json" <<J
{"apps":[
 {"name":"sec","script":"./show.sh","kill_timeout":500,
  "env":{"NEXTAUTH_SECRET":"na-secret-v1-0123456789abcdef0123456789",
         "NEXTAUTH_SECRET_PREVIOUS":"na-secret-v0-0123456789abcdef0123456789",
         "REDIS_URL":"redis://:redis-pass-4f1c@127.0.0.1:6379/0",
         "GITHUB_TOKEN":"ghp-token-9b2e","STRIPE_KEY":"sk-stripe-key-77aa",
         "DB_PASSWORD":"db-pass-c0ffee","PLAIN":"plain-value"},
  "env_production":{"PROD_TOKEN":"prod-only-token-5d5d"}},
 {"name":"plain","script":"./show.sh","kill_timeout":500,"env":{"A":"1"}}
]}
J
cat > "$T/app/eco2.json" <<'J'
{"apps":[{"name":"gone","script":"./show.sh","kill_timeout":500,
  "env":{"NEXTAUTH_SECRET":"gone-secret-1234567890abcdef1234567890"}}]}
J

val() { sed -n "s/^$2=//p" "$T/env.$1" 2>/dev/null; }
has_all_secrets() {	# the app "sec" got every secret value
	local kv
	while IFS= read -r kv; do
		[ "$(val sec "${kv%%=*}")" = "${kv#*=}" ] || return 1
	done <<< "$SECRETS"
	[ "$(val sec PLAIN)" = plain-value ]
}
stop_daemon() {
	timeout 20 wsctl kill >/dev/null 2>&1
	wait_for 30 "wsd exited" sh -c "! kill -0 $WSD_PID 2>/dev/null"
	rm -f "$T"/env.*
}

start_wsd || { not_ok "wsd starts"; finish; }
wsctl start "$T/app/eco.json" --env production > /dev/null || not_ok "wsctl start eco.json"
wsctl start "$T/app/eco2.json" > /dev/null || not_ok "wsctl start eco2.json"
wait_for 20 "the apps' env dumps" sh -c "test -f $T/env.sec && test -f $T/env.plain && test -f $T/env.gone"
check "the app got its inline secrets" has_all_secrets
check "wsctl save" wsctl save
leaks=""
while IFS= read -r kv; do
	grep -qF -- "${kv#*=}" "$D" && leaks="$leaks ${kv%%=*}"
done <<< "$SECRETS"
grep -qF redis-pass-4f1c "$D" && leaks="$leaks REDIS_URL-password"
grep -qF gone-secret "$D" && leaks="$leaks gone:NEXTAUTH_SECRET"
[ -z "$leaks" ] && ok "dump.json holds none of the inline secret values" ||
	not_ok "dump.json holds none of the inline secret values" "found:$leaks"
grep -qF plain-value "$D" && ok "dump.json keeps the non-secret env values" ||
	not_ok "dump.json keeps the non-secret env values" "$(cat "$D")"

# A new daemon, wsctl resurrect: the secrets come back from eco.json.
stop_daemon
start_wsd || { not_ok "wsd starts again"; finish; }
out=$(wsctl resurrect 2>&1) && ok "wsctl resurrect" || not_ok "wsctl resurrect" "$out"
wait_for 20 "the resurrected app's env" test -f "$T/env.sec"
check "the resurrected app has every inline secret again (env and env_production)" has_all_secrets

# The second ecosystem file removed: that app is named with the reason, the
# others are restored.
wait_for 20 "the env dumps of plain and gone" sh -c "test -f $T/env.plain && test -f $T/env.gone"
stop_daemon
rm "$T/app/eco2.json"
start_wsd || { not_ok "wsd starts a third time"; finish; }
out=$(wsctl resurrect 2>&1); rc=$?
if [ "$rc" = 0 ] && printf '%s' "$out" | grep -q "app \"gone\" not restored: .*$T/app/eco2.json.*No such file"; then
	ok "resurrect names the app whose ecosystem file is gone, and why"
else
	not_ok "resurrect names the app whose ecosystem file is gone, and why" "status $rc" "$out"
fi
wait_for 20 "the other apps restored" sh -c "test -f $T/env.sec && test -f $T/env.plain"
check "the other apps are restored, with their secrets" has_all_secrets
names=$(wsctl status --json | python3 -c 'import json,sys; print(" ".join(sorted(set(i["name"] for i in json.load(sys.stdin)["instances"]))))')
[ "$names" = "plain sec" ] && ok "the app that could not be restored is not started" ||
	not_ok "the app that could not be restored is not started" "apps: $names"
finish
