#!/usr/bin/env bash
# watch (PM2's watch & restart) end to end, with inotify: a change under the
# app's cwd restarts it and the log says which file; ignore_watch (and PM2's
# default: dot folders, node_modules) changes nothing; a folder created
# later is followed; a list of paths; watch_delay folds changes into one
# restart; a stopped app stays stopped; the cap on watched folders warns.
. "$(dirname "$0")/lib.sh"
if [ -x /usr/bin/python3 ]; then python3() { /usr/bin/python3 "$@"; }; fi
export WSD_WATCH_MAX_DIRS=5

A=$T/app
mkdir -p "$A/lib" "$A/node_modules/dep" "$A/.git" "$T/two/src" "$T/two/other" "$T/many"
for i in 1 2 3 4 5 6 7 8; do mkdir -p "$T/many/d$i"; done
cat > "$T/run.sh" <<'S'
#!/bin/sh
exec sleep 100000
S
chmod +x "$T/run.sh"
cat > "$T/eco.json" <<EOF
{"apps":[
 {"name":"dev","script":"$T/run.sh","cwd":"$A","watch":true,"min_uptime":100},
 {"name":"two","script":"$T/run.sh","cwd":"$T/two","watch":["src"],
  "ignore_watch":["*.tmp"],"watch_delay":3000,"min_uptime":100},
 {"name":"many","script":"$T/run.sh","cwd":"$T/many","watch":true,"min_uptime":100}
]}
EOF
start_wsd -f "$T/eco.json" || { not_ok "wsd starts"; finish; }
id_of() { wsctl status --json | json_get "[i['id'] for i in d['instances'] if i['name']=='$1'][0]"; }
DEV=$(id_of dev)
TWO=$(id_of two)
wait_for 30 "dev online" instance_status "$DEV" online
wait_for 30 "two online" instance_status "$TWO" online
logs() { cat "$T/wsd.stdout"; }
# restarted ID PID: a new process, online.
restarted() { p=$(instance_field "$1" pid); [ "$p" != 0 ] && [ "$p" != "$2" ] && instance_status "$1" online; }
logged() { logs | grep -qF "$1"; }
# idle APP N: the watch of APP counts changes again after its Nth restart.
idle() { [ "$(logs | grep '"app":"'"$1"'"' | grep -c 'watch: restart done')" -ge "$2" ]; }

# A change in a watched folder restarts the app, and the log says why.
pid=$(instance_field "$DEV" pid)
r0=$(instance_field "$DEV" restarts)
echo x > "$A/lib/x.js"
if wait_for 30 "dev restarted" restarted "$DEV" "$pid"; then
	ok "a file written under cwd restarts the app (watch: true)"
	logged "watch: $A/lib/x.js changed: restarting" &&
	    ok "the log says which file changed" ||
	    not_ok "the log says which file changed" "$(logs | grep watch)"
	[ "$(instance_field "$DEV" restarts)" = $((r0 + 1)) ] &&
	    ok "counted as a restart (↺ +1)" || not_ok "↺ +1"
	wsctl describe dev | grep -q "watch .*2 folders; last restart: $A/lib/x.js changed, at " &&
	    ok "describe shows the watch and the change that restarted it" ||
	    not_ok "describe shows the watch" "$(wsctl describe dev | grep -i watch)"
else
	not_ok "a file written under cwd restarts the app" "$(logs | tail -20)"
fi

# PM2's default ignore list: node_modules and dot folders.  The change that
# counts after them is the one the restart names.
wait_for 30 "dev's watch idle" idle dev 1
pid=$(instance_field "$DEV" pid)
echo y > "$A/node_modules/dep/y.js"
echo y > "$A/.git/HEAD"
echo y > "$A/y.js"
if wait_for 30 "dev restarted" restarted "$DEV" "$pid" && logged "watch: $A/y.js changed"; then
	if logs | grep -q "node_modules/dep/y.js changed\|\.git/HEAD changed"; then
		not_ok "node_modules and .git are ignored by default" "$(logs | grep watch)"
	else
		ok "node_modules and .git are ignored by default"
	fi
else
	not_ok "a change after ignored ones restarts" "$(logs | grep watch)"
fi

# A folder created later is followed.
wait_for 30 "dev's watch idle" idle dev 2
pid=$(instance_field "$DEV" pid)
mkdir "$A/lib/new"
wait_for 30 "dev restarted for mkdir" restarted "$DEV" "$pid"
wait_for 30 "dev's watch idle" idle dev 3
pid=$(instance_field "$DEV" pid)
echo z > "$A/lib/new/z.js"
if wait_for 30 "dev restarted" restarted "$DEV" "$pid" && logged "watch: $A/lib/new/z.js changed"; then
	ok "a folder created after the start is watched too"
else
	not_ok "a folder created after the start is watched too" "$(logs | grep watch)"
fi

# A list of paths (relative to cwd), ignore_watch globs, watch_delay: three
# changes in a row are one restart.
pid=$(instance_field "$TWO" pid)
r0=$(instance_field "$TWO" restarts)
echo a > "$T/two/src/a.tmp"
echo b > "$T/two/other/b.js"
touch "$T/two/src/c.js" "$T/two/src/d.js" "$T/two/src/e.js"
if wait_for 30 "two restarted" restarted "$TWO" "$pid"; then
	logged "watch: $T/two/src/c.js changed" &&
	    ok "watch: [\"src\"]: only src counts, *.tmp (ignore_watch) does not" ||
	    not_ok "watch paths and ignore_watch" "$(logs | grep watch)"
	n=$(logs | grep -c "watch: $T/two/src/.* changed: restarting")
	[ "$n" = 1 ] && [ "$(instance_field "$TWO" restarts)" = $((r0 + 1)) ] &&
	    ok "watch_delay: three changes, one restart" ||
	    not_ok "watch_delay: three changes, one restart" "$n restart lines, ↺ $(instance_field "$TWO" restarts)"
else
	not_ok "two restarted" "$(logs | grep watch)"
fi

# A stopped app stays stopped (a stop holds).
wait_for 30 "dev's watch idle" idle dev 4
wsctl stop dev > /dev/null
echo w > "$A/w.js"
if wait_for 30 "the change seen" logged "watch: $A/w.js changed"; then
	instance_status "$DEV" stopped && ok "a stopped app is not started by a change" ||
	    not_ok "a stopped app is not started by a change" "status $(instance_field "$DEV" status)"
else
	not_ok "the change to a stopped app is seen" "$(logs | grep watch)"
fi

# More folders than WSD_WATCH_MAX_DIRS: a warning naming the knob.
logged "the cap (WSD_WATCH_MAX_DIRS)" &&
    ok "more folders than WSD_WATCH_MAX_DIRS: a warning" ||
    not_ok "more folders than WSD_WATCH_MAX_DIRS: a warning" "$(logs | grep watch)"

# The definition goes away with the app: deleting it closes its watch.
wsctl delete all > /dev/null
kill -0 "$WSD_PID" && ok "wsd runs on after the watching apps are deleted" ||
    not_ok "wsd runs on after the watching apps are deleted"
finish
