#!/usr/bin/env bash
# The wsctl flags and commands PM2 deploy scripts use, against the real wsd:
# start --only, startOrReload/startOrRestart, start SCRIPT --name -i -- args,
# logs --nostream/--raw/--timestamp, --no-color, status NAME, ps, pid, id,
# prettylist, describe of every instance, reload/restart --update-env,
# sendSignal, reset, resurrect starting the daemon, cleardump, startup -u --hp.
. "$(dirname "$0")/lib.sh"

st() { "$@" > "$T/out" 2> "$T/err"; echo $?; }
for v in $(env | sed -n 's/^\([A-Za-z_][A-Za-z0-9_]*_FILE\)=.*/\1/p'); do unset "$v"; done

mkdir -p "$T/app"
cat > "$T/app/app.sh" <<'EOF'
#!/bin/sh
trap 'echo "got USR1 in $WSD_INSTANCE"' USR1
echo "hello from $WSD_INSTANCE"
while :; do sleep 0.1; done
EOF
chmod +x "$T/app/app.sh"
cat > "$T/app/args.js" <<'EOF'
console.log('args: ' + process.argv.slice(2).join(' '));
setInterval(() => {}, 1000);
EOF
cat > "$T/app/eco.json" <<EOF
{"apps":[
 {"name":"web","script":"app.sh","instances":2,"kill_timeout":1000},
 {"name":"jobs","script":"app.sh","instances":1,"kill_timeout":1000}
]}
EOF
names() { wsctl status --json | json_get "' '.join(sorted(set(i['name'] for i in d['instances'])))"; }
count() { wsctl status --json | json_get "len([i for i in d['instances'] if i['name']=='$1' and i['status']=='online'])"; }
online_n() { [ "$(count "$1")" = "$2" ]; }

# --- start FILE --only: only the named apps, the daemon started -----------
s=$(cd "$T/app" && st wsctl start eco.json --only web)
if [ -f "$WSD_HOME/wsd.pid" ]; then WSD_PID=$(cat "$WSD_HOME/wsd.pid"); track "$WSD_PID"; fi
if [ "$s" = 0 ] && [ "$(names)" = "web" ]; then ok "start eco.json --only web starts web alone"
else not_ok "start eco.json --only web starts web alone" "status $s" "$(cat "$T/out" "$T/err")" "names: $(names)"; fi
wait_for 10 "web online" online_n web 2
s=$(cd "$T/app" && st wsctl start eco.json --only nosuch)
if [ "$s" = 78 ] && grep -q 'nosuch: no such app' "$T/err"; then ok "--only with an unknown app is refused, naming it"
else not_ok "--only with an unknown app is refused, naming it" "status $s" "$(cat "$T/err")"; fi

# --- startOrReload: web reloaded (new pids), jobs started -------------------
old=$(wsctl pid web | sort | tr '\n' ' ')
s=$(cd "$T/app" && st wsctl startOrReload eco.json --update-env)
new=$(wsctl pid web | sort | tr '\n' ' ')
if [ "$s" = 0 ] && [ "$(names)" = "jobs web" ] && [ "$old" != "$new" ] && grep -q 'reloaded web' "$T/out"; then
	ok "startOrReload reloads the running app and starts the others"
else not_ok "startOrReload reloads the running app and starts the others" "status $s" "$old / $new" "$(cat "$T/out" "$T/err")"; fi
wait_for 10 "jobs online" online_n jobs 1
s=$(cd "$T/app" && st wsctl startOrRestart eco.json --only jobs)
if [ "$s" = 0 ] && grep -q 'restarted jobs' "$T/out" && ! grep -q 'web' <(grep '\[wsd\]' "$T/out"); then
	ok "startOrRestart --only jobs restarts jobs alone"
else not_ok "startOrRestart --only jobs restarts jobs alone" "status $s" "$(cat "$T/out" "$T/err")"; fi
wait_for 10 "web online" online_n web 2
wait_for 10 "jobs online" online_n jobs 1

# --- reading -----------------------------------------------------------------
wait_for 10 "web's log" sh -c "wsctl logs web --nostream --lines 5 | grep -q 'hello from 0'"
s=$(st timeout 10 wsctl logs web --nostream --lines 5)
if [ "$s" = 0 ] && grep -q '^[0-9]*|web | .*hello from' "$T/out"; then ok "logs --nostream prints and exits"
else not_ok "logs --nostream prints and exits" "status $s" "$(cat "$T/out" "$T/err")"; fi
s=$(st timeout 10 wsctl logs web --nostream --raw --out --lines 5)
if [ "$s" = 0 ] && grep -q 'hello from' "$T/out" && ! grep -q '|web |\|last 5 lines' "$T/out"; then ok "logs --raw: the lines only"
else not_ok "logs --raw: the lines only" "status $s" "$(cat "$T/out" "$T/err")"; fi
s=$(st timeout 10 wsctl logs web --nostream --timestamp --out --lines 5)
if [ "$s" = 0 ] && grep -Eq '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}: [0-9]+\|web \| .*hello' "$T/out"; then ok "logs --timestamp prefixes the time"
else not_ok "logs --timestamp prefixes the time" "status $s" "$(cat "$T/out" "$T/err")"; fi
script -qec "wsctl status --no-color" /dev/null > "$T/tty" 2>&1
if grep -q 'web' "$T/tty" && ! grep -q $'\033' "$T/tty"; then ok "--no-color: no escapes on a tty"
else not_ok "--no-color: no escapes on a tty" "$(cat -v "$T/tty" | head -5)"; fi
script -qec "wsctl logs web --nostream --no-color --lines 2" /dev/null > "$T/tty" 2>&1
if grep -q 'hello' "$T/tty" && ! grep -q $'\033' "$T/tty"; then ok "logs --no-color: no escapes on a tty"
else not_ok "logs --no-color: no escapes on a tty" "$(cat -v "$T/tty" | head -5)"; fi
s=$(st wsctl status web)
if [ "$s" = 0 ] && grep -q '│ web' "$T/out" && ! grep -q 'jobs' "$T/out"; then ok "status NAME shows that app only"
else not_ok "status NAME shows that app only" "status $s" "$(cat "$T/out" "$T/err")"; fi
s=$(st wsctl ps)
if [ "$s" = 0 ] && grep -q 'jobs' "$T/out" && grep -q 'web' "$T/out"; then ok "ps is status"
else not_ok "ps is status" "status $s" "$(cat "$T/err")"; fi
pids=$(wsctl status --json | json_get "' '.join(str(i['pid']) for i in d['instances'] if i['name']=='web')")
s=$(st wsctl pid web)
if [ "$s" = 0 ] && [ "$(tr '\n' ' ' < "$T/out")" = "$pids " ]; then ok "pid NAME prints each instance's pid"
else not_ok "pid NAME prints each instance's pid" "status $s" "want $pids" "$(cat "$T/out" "$T/err")"; fi
ids=$(wsctl status --json | json_get "', '.join(str(i['id']) for i in d['instances'] if i['name']=='web')")
s=$(st wsctl id web)
if [ "$s" = 0 ] && [ "$(cat "$T/out")" = "[ $ids ]" ]; then ok "id NAME prints the ids as pm2 does"
else not_ok "id NAME prints the ids as pm2 does" "status $s" "want [ $ids ]" "$(cat "$T/out" "$T/err")"; fi
s=$(st wsctl pid nosuch)
[ "$s" = 1 ] && grep -q 'no app or id matches' "$T/err" && ok "pid of an unknown app: status 1, says so" ||
	not_ok "pid of an unknown app: status 1, says so" "status $s" "$(cat "$T/err")"
s=$(st wsctl prettylist)
if [ "$s" = 0 ] && [ "$(wc -l < "$T/out")" -gt 10 ] &&
    [ "$(json_get "len(d)" < "$T/out")" = 3 ]; then ok "prettylist: the jlist array, indented"
else not_ok "prettylist: the jlist array, indented" "status $s" "$(head -5 "$T/out") $(cat "$T/err")"; fi
s=$(st wsctl describe web)
if [ "$s" = 0 ] && [ "$(grep -c 'Describing instance' "$T/out")" = 2 ]; then ok "describe NAME shows every instance"
else not_ok "describe NAME shows every instance" "status $s" "$(grep Describing "$T/out")"; fi

# --- reload/restart/delete FILE: the apps the file defines --------------------
s=$(cd "$T/app" && st wsctl reload eco.json --env production)
if [ "$s" = 1 ] && grep -q 'web runs with env mode (none).*wsctl start eco.json --env production --only web' "$T/err"; then
	ok "reload FILE --env MODE with another mode is refused, saying what to run"
else not_ok "reload FILE --env MODE with another mode is refused, saying what to run" "status $s" "$(cat "$T/err")"; fi
old=$(wsctl pid all | sort | tr '\n' ' ')
s=$(cd "$T/app" && st wsctl reload eco.json --update-env)
new=$(wsctl pid all | sort | tr '\n' ' ')
if [ "$s" = 0 ] && grep -q 'reloaded web' "$T/out" && grep -q 'reloaded jobs' "$T/out" && [ "$old" != "$new" ]; then
	ok "reload eco.json reloads the file's apps"
else not_ok "reload eco.json reloads the file's apps" "status $s" "$(cat "$T/out" "$T/err")"; fi
s=$(cd "$T/app" && st wsctl delete eco.json --only jobs)
if [ "$s" = 0 ] && [ "$(names)" = "web" ]; then ok "delete FILE --only jobs deletes jobs alone"
else not_ok "delete FILE --only jobs deletes jobs alone" "status $s" "$(cat "$T/err")" "names $(names)"; fi
s=$(cd "$T/app" && st wsctl restart eco.json)
if [ "$s" = 1 ] && grep -q 'jobs is not running.*startOrRestart eco.json' "$T/err" && grep -q 'restarted web' "$T/out"; then
	ok "restart FILE restarts what runs and names what does not, with the command that starts it"
else not_ok "restart FILE restarts what runs and names what does not, with the command that starts it" "status $s" "$(cat "$T/out" "$T/err")"; fi
(cd "$T/app" && wsctl startOrRestart eco.json > /dev/null 2>&1) || not_ok "startOrRestart brings jobs back"
wait_for 10 "web online" online_n web 2
wait_for 10 "jobs online" online_n jobs 1

# --- restarting with --update-env ---------------------------------------------
s=$(st wsctl reload web --update-env)
[ "$s" = 0 ] && ok "reload --update-env is accepted" || not_ok "reload --update-env is accepted" "status $s" "$(cat "$T/err")"
s=$(st wsctl restart jobs --update-env)
[ "$s" = 0 ] && ok "restart --update-env is accepted" || not_ok "restart --update-env is accepted" "status $s" "$(cat "$T/err")"
wait_for 10 "web online" online_n web 2
wait_for 10 "jobs online" online_n jobs 1

# --- sendSignal, reset ----------------------------------------------------------
s=$(st wsctl sendSignal SIGUSR1 web)
if [ "$s" = 0 ]; then ok "sendSignal SIGUSR1 web"; else not_ok "sendSignal SIGUSR1 web" "status $s" "$(cat "$T/err")"; fi
wait_for 10 "both web instances got USR1" sh -c "wsctl logs web --nostream --out --raw --lines 50 | grep -c 'got USR1' | grep -qx 2"
s=$(st wsctl sendSignal SIGNOPE web)
[ "$s" = 1 ] && grep -q 'no such signal' "$T/err" && ok "sendSignal with a bad signal: status 1, says so" ||
	not_ok "sendSignal with a bad signal: status 1, says so" "status $s" "$(cat "$T/err")"
restarts() { wsctl status --json | json_get "sum(i['restarts'] for i in d['instances'] if i['name']=='jobs')"; }
[ "$(restarts)" -ge 1 ] || not_ok "jobs counts its restart" "restarts $(restarts)"
s=$(st wsctl reset jobs)
if [ "$s" = 0 ] && [ "$(restarts)" = 0 ]; then ok "reset NAME zeroes the restart count"
else not_ok "reset NAME zeroes the restart count" "status $s" "restarts $(restarts)" "$(cat "$T/err")"; fi

# --- start SCRIPT --name -i -- args: a .js without an ecosystem file ------------
s=$(cd "$T/app" && st wsctl start args.js --name scr -i 2 -- one two)
if [ "$s" = 0 ] && [ "$(wsctl status --json | json_get "len([i for i in d['instances'] if i['name']=='scr'])")" = 2 ]; then
	ok "start args.js --name scr -i 2 starts two instances"
else not_ok "start args.js --name scr -i 2 starts two instances" "status $s" "$(cat "$T/out" "$T/err")"; fi
wait_for 10 "scr runs with node and its args" sh -c "wsctl logs scr --nostream --raw --out | grep -q '^args: one two$'"
s=$(cd "$T/app" && st wsctl start args.js)
if [ "$s" = 0 ] && [ "$(wsctl status --json | json_get "len([i for i in d['instances'] if i['name']=='args'])")" = 1 ]; then
	ok "start args.js alone: one app named after the file"
else not_ok "start args.js alone: one app named after the file" "status $s" "$(cat "$T/out" "$T/err")"; fi
s=$(cd "$T/app" && st wsctl start eco.json --name x)
[ "$s" = 64 ] && grep -q 'ecosystem file' "$T/err" && ok "--name on an ecosystem file is refused, saying where names go" ||
	not_ok "--name on an ecosystem file is refused, saying where names go" "status $s" "$(cat "$T/err")"

# --- save, kill, resurrect with no daemon, cleardump ----------------------------
check "save" sh -c "wsctl save > /dev/null"
wsctl kill > /dev/null 2>&1
s=$(st wsctl resurrect)
if [ -f "$WSD_HOME/wsd.pid" ]; then WSD_PID=$(cat "$WSD_HOME/wsd.pid"); track "$WSD_PID"; fi
if [ "$s" = 0 ] && [ "$(names)" = "args jobs scr web" ]; then ok "resurrect with no daemon starts it and the saved apps"
else not_ok "resurrect with no daemon starts it and the saved apps" "status $s" "$(cat "$T/out" "$T/err")"; fi
s=$(st wsctl cleardump)
if [ "$s" = 0 ] && [ "$(json_get "len(d['apps'])" < "$WSD_HOME/dump.json")" = 0 ]; then ok "cleardump empties dump.json"
else not_ok "cleardump empties dump.json" "status $s" "$(cat "$T/err")"; fi

# --- startup -u USER --hp HOME: PM2's spellings ---------------------------------
mkdir -p "$T/root"
s=$(st wsctl startup systemd -u root --hp /srv/deploy --root "$T/root" --bindir /usr/local/bin)
if [ "$s" = 0 ] && grep -q 'WSD_HOME=/srv/deploy/.wsd' "$T/root/etc/systemd/system/"*.service; then
	ok "startup -u root --hp DIR: the unit uses DIR/.wsd"
else not_ok "startup -u root --hp DIR: the unit uses DIR/.wsd" "status $s" "$(cat "$T/out" "$T/err")"; fi

finish
