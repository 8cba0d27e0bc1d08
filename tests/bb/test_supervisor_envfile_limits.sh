#!/usr/bin/env bash
# The files a config names are read with care: an env_file or secret file
# that is a FIFO or a device is refused at once with "not a regular file"
# (wsd -n, and a reload of a running app, which keeps its loop and its
# previous environment); files over the 1 MiB cap are refused naming it;
# a JSON syntax error gives FILE:LINE:COL and the reason, never the text
# near it (it may be a secret).
. "$(dirname "$0")/lib.sh"
for v in $(env | sed -n 's/^\([A-Za-z_][A-Za-z0-9_]*_FILE\)=.*/\1/p'); do unset "$v"; done

mkdir -p "$T/app"
cd "$T/app" || exit 1
mkfifo fifo
printf 'A=1\n' > .env
head -c $((1024 * 1024 + 1)) /dev/zero | tr '\0' 'x' > big
printf '#!/bin/sh\nexec sleep 1000\n' > app.sh
chmod +x app.sh
eco() {	# eco FILE ENV_FILE [EXTRA_ENV_JSON]
	printf '{"apps":[{"name":"lim","script":"./app.sh","kill_timeout":500,"env_file":"%s","env":{%s}}]}\n' \
	    "$2" "${3:-}" > "$1"
}

# dry_run NAME FILE WANT: wsd -n fails with status 78 and WANT in its output,
# quickly enough for `timeout` (the old code blocked on the FIFO forever).
dry_run() {
	local out rc
	# 1 GiB of address space at most: the old code grew without bound on
	# /dev/zero, and the new one must not need anything near that.  (An
	# ASan build reserves terabytes of shadow memory up front: no limit.)
	out=$( (ldd "$(command -v wsd)" | grep -q libasan || ulimit -v 1048576
	    timeout 20 wsd -n "$2") 2>&1); rc=$?
	if [ "$rc" = 78 ] && printf '%s' "$out" | grep -qF -- "$3"; then ok "$1"
	else not_ok "$1" "status $rc" "$out"; fi
}
eco fifo.json fifo
dry_run "wsd -n: a FIFO env_file is refused at once" fifo.json \
    "fifo.json: apps[0].env_file: $T/app/fifo: not a regular file"
eco zero.json /dev/zero
dry_run "wsd -n: /dev/zero as env_file is refused at once" zero.json \
    "apps[0].env_file: /dev/zero: not a regular file"
eco big.json big
dry_run "wsd -n: an env_file over the cap is refused naming the cap" big.json \
    "$T/app/big: larger than the 1 MiB cap"
eco bigsecret.json .env '"DB_PASSWORD_FILE":"'"$T"'/app/big"'
dry_run "wsd -n: a _FILE secret over the cap is refused naming the cap" bigsecret.json \
    "DB_PASSWORD_FILE=$T/app/big: larger than the 1 MiB cap"
eco fifosecret.json .env '"DB_PASSWORD_FILE":"'"$T"'/app/fifo"'
dry_run "wsd -n: a FIFO _FILE secret is refused at once" fifosecret.json \
    "DB_PASSWORD_FILE=$T/app/fifo: not a regular file"
mkdir -p "$T/secrets"
mkfifo "$T/secrets/api_token"
printf '{"apps":[{"name":"lim","script":"./app.sh","secrets":["api_token"]}]}\n' > secdir.json
SECRETS_DIR=$T/secrets dry_run "wsd -n: a FIFO in the secrets dir is refused at once" secdir.json \
    "$T/secrets/api_token: not a regular file"

# A syntax error right after a secret value: the place, not the text.
# (\u12 is invalid in JSON and in JSON5, which a .json is also read as.)
printf '{"apps":[{"name":"lim","script":"./app.sh",\n "env":{"NEXTAUTH_SECRET":"TopSecretValue\\u12"}}]}\n' > syntax.json
out=$(timeout 20 wsd -n syntax.json 2>&1); rc=$?
if [ "$rc" = 78 ] && printf '%s' "$out" | grep -q 'syntax.json:2:[0-9]*: invalid escape' &&
    ! printf '%s' "$out" | grep -q TopSecret; then
	ok "a JSON syntax error names FILE:LINE:COL and the reason, not the secret near it"
else
	not_ok "a JSON syntax error names FILE:LINE:COL and the reason, not the secret near it" "status $rc" "$out"
fi

# A running app whose env_file becomes a FIFO: reload refused, loop alive.
eco run.json .env
start_wsd || { not_ok "wsd starts"; finish; }
wsctl start "$T/app/run.json" > /dev/null || not_ok "wsctl start run.json"
wait_for 20 "instance 0 online" instance_status 0 online || not_ok "instance 0 online"
rm .env && mkfifo .env
out=$(timeout 20 wsctl reload lim 2>&1); rc=$?
if [ "$rc" != 0 ] && [ "$rc" != 124 ] && printf '%s' "$out" | grep -qF "$T/app/.env: not a regular file"; then
	ok "reload with a FIFO env_file is refused with the reason"
else
	not_ok "reload with a FIFO env_file is refused with the reason" "status $rc" "$out"
fi
check "wsctl ping still answers after that reload" timeout 10 wsctl ping
pid=$(instance_field 0 pid)
restarted() {	# instance 0 online with a pid other than $pid
	local p; p=$(instance_field 0 pid)
	[ -n "$p" ] && [ "$p" != None ] && [ "$p" != "$pid" ] && instance_status 0 online
}
if [ -n "$pid" ] && [ "$pid" != None ] && kill -9 "$pid" &&
    wait_for 20 "instance 0 restarted" restarted; then
	ok "a kill -9'd instance is restarted (with its previous env)"
else
	not_ok "a kill -9'd instance is restarted (with its previous env)" "pid $pid" "$(wsctl status 2>&1)"
fi
finish
