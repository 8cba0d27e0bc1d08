#!/usr/bin/env bash
# How an app's process is started, as PM2 starts it: a script with spaces
# is a command line (bash -c), a name on PATH runs with its args split as a
# shell splits words, node_args go to node before the script, instance_var
# and increment_var number the instances, and uid/gid run the app as that
# user with its groups.  wsd -n refuses what a start could not run.
. "$(dirname "$0")/lib.sh"
if [ -x /usr/bin/python3 ]; then python3() { /usr/bin/python3 "$@"; }; fi

# The apps run as other users too: everything they read is in $T, open to all.
chmod 755 "$T"
mkdir -p "$T/app/bin"
cat > "$T/app/bin/myprog" <<'S'
#!/bin/sh
for a in "$@"; do printf '%s|' "$a"; done
echo
exec sleep 1000
S
cat > "$T/app/show.sh" <<'S'
#!/bin/sh
echo "inst=$INST port=$PORT nai=${NODE_APP_INSTANCE-unset}"
exec sleep 1000
S
cat > "$T/app/args.js" <<'S'
console.log(JSON.stringify({ execArgv: process.execArgv, argv: process.argv.slice(2) }))
setInterval(() => {}, 1000)
S
chmod -R a+rX "$T/app"
chmod a+x "$T/app/bin/myprog" "$T/app/show.sh"
APP_PATH="$T/app/bin:/usr/local/bin:/usr/bin:/bin"

# --- wsd -n: what cannot start is refused at load, naming file, app and key.
want_line() {	# want_line TEXT: a line of $T/out has it
	grep -qF -- "$1" "$T/out"
}
cat > "$T/app/bad.json" <<EOF
{"apps":[
 {"name":"cmd","script":"nosuchprog-$$ run src/server.ts"},
 {"name":"gone","script":"./nothere.js"},
 {"name":"inc","script":"sleep","args":"1","increment_var":"PORT","env":{"PORT":"http"}}
]}
EOF
wsd -n "$T/app/bad.json" > "$T/out" 2>&1
rc=$?
if [ "$rc" = 78 ] &&
    want_line "bad.json: apps[0].script: \"nosuchprog-$$\" not found" &&
    want_line "bad.json: apps[1].script: \"./nothere.js\" not found"; then
	ok "wsd -n refuses a command line or a script it cannot find, naming file, app and key"
else
	not_ok "wsd -n refuses a command line or a script it cannot find" "status $rc" "$(cat "$T/out")"
fi
if [ "$rc" = 78 ] && want_line "bad.json: apps[2].increment_var: PORT is \"http\", not a whole number"; then
	ok "wsd -n refuses an increment_var that is not a number"
else
	not_ok "wsd -n refuses an increment_var that is not a number" "status $rc" "$(cat "$T/out")"
fi
cat > "$T/app/users.json" <<EOF
{"apps":[
 {"name":"who","script":"sleep","args":"1","uid":"nosuchuser$$"},
 {"name":"grp","script":"sleep","args":"1","uid":"nobody","gid":"nosuchgroup$$"}
]}
EOF
wsd -n "$T/app/users.json" > "$T/out" 2>&1
rc=$?
if [ "$rc" = 78 ] && want_line "users.json: apps[0].uid: no user \"nosuchuser$$\"" &&
    want_line "users.json: apps[1].gid: no group \"nosuchgroup$$\""; then
	ok "wsd -n refuses an unknown user or group"
else
	not_ok "wsd -n refuses an unknown user or group" "status $rc" "$(cat "$T/out")"
fi

# Not root: an app that asks for another user is refused at load, naming
# the key and why (run as nobody, with a copy of wsd nobody can reach).
mkdir -p "$T/nb"
cp "$BIN/wsd" "$T/nb/wsd"
printf '{"apps":[{"name":"asroot","script":"sleep","args":"1","uid":"root"}]}\n' > "$T/nb/eco.json"
chmod -R a+rX "$T/nb"
if command -v setpriv >/dev/null && [ "$(id -u)" = 0 ]; then
	setpriv --reuid=nobody --regid=nogroup --clear-groups "$T/nb/wsd" -n "$T/nb/eco.json" > "$T/out" 2>&1
	rc=$?
else
	rc=skip
	note "skip: the not-root case needs root and setpriv (util-linux)"
fi
if [ "$rc" = skip ]; then
	:
elif [ "$rc" = 78 ] && want_line "eco.json: apps[0].uid: wsd runs as uid 65534, not root, so it cannot start processes as root"; then
	ok "wsd not running as root refuses an app with another uid, saying why"
else
	not_ok "wsd not running as root refuses an app with another uid" "status $rc" "$(cat "$T/out")"
fi

# --- The apps, started.
SUPP_USER=postgres
if ! id "$SUPP_USER" >/dev/null 2>&1 || [ "$(id -G "$SUPP_USER" | wc -w)" -lt 2 ]; then
	SUPP_USER=""
fi
cat > "$T/app/eco.json" <<EOF
{"apps":[
 {"name":"cmdline","script":"printf '%s|' one 'two words' \"\$HOME\" > $T/cmdline.out; exec sleep 1000"},
 {"name":"onpath","script":"myprog","args":"start 'a b' \"c d\" e\\\\ f","env":{"PATH":"$APP_PATH"}},
 {"name":"nodeargs","script":"args.js","node_args":"--max-old-space-size=512 --no-warnings","args":["x","y z"]},
 {"name":"numbered","script":"./show.sh","instances":2,"exec_mode":"fork","instance_var":"INST",
  "increment_var":"PORT","env":{"PORT":"4100"}},
 {"name":"stamped","script":"sh","args":["-c","echo stamped; exec sleep 1000"],
  "log_date_format":"YYYY-MM-DD HH:mm:ss.SSS Z [at] dddd"},
 {"name":"asnobody","script":"sh","args":["-c","id -u; exec sleep 1000"],"uid":"nobody","gid":"nogroup"}
 ${SUPP_USER:+,{\"name\":\"asuser\",\"script\":\"sleep\",\"args\":\"1000\",\"user\":\"$SUPP_USER\"\}}
]}
EOF
wsd -n "$T/app/eco.json" > "$T/out" 2>&1 && grep -q "apps\[5\].uid: differs from PM2: PM2 starts the app with no supplementary groups" "$T/out" &&
	ok "wsd -n passes the file, saying how uid differs from PM2" ||
	not_ok "wsd -n passes the file" "$(cat "$T/out")"
# The zone shows in log_date_format's Z: a fixed one, with a half hour.
TZ=Asia/Kolkata start_wsd || { not_ok "wsd starts"; finish; }
wsctl start "$T/app/eco.json" > "$T/start.out" 2>&1 || not_ok "wsctl start" "$(cat "$T/start.out")"
# The running daemon refuses what cannot start, as wsd -n does.
wsctl start "$T/app/bad.json" > "$T/out" 2>&1
rc=$?
if [ "$rc" != 0 ] && want_line "apps[0].script: \"nosuchprog-$$\" not found"; then
	ok "wsctl start refuses a command line it cannot find (exit $rc), naming app and key"
else
	not_ok "wsctl start refuses a command line it cannot find" "status $rc" "$(cat "$T/out")"
fi
# The out logs of app NAME (one per instance, -<id>.log), and a whole line in them.
logs_of() { cat "$WSD_HOME/logs/$1"-out-*.log 2>/dev/null; }
has_line() { logs_of "$1" | grep -qxF -- "$2"; }

if wait_for 20 "cmdline.out" test -s "$T/cmdline.out" &&
    [ "$(cat "$T/cmdline.out")" = "one|two words|$HOME|" ]; then
	ok "a script with spaces runs as bash -c SCRIPT (quotes, \$HOME expanded)"
else
	not_ok "a script with spaces runs as bash -c SCRIPT" "$(cat "$T/cmdline.out" 2>&1)" "$(wsctl status 2>&1)"
fi
if wait_for 20 "myprog's args" has_line onpath 'start|a b|c d|e f|'; then
	ok "a name on the app's PATH runs with args split as a shell splits words"
else
	not_ok "a name on the app's PATH runs with args split as a shell splits words" "$(logs_of onpath)"
fi
want='{"execArgv":["--max-old-space-size=512","--no-warnings"],"argv":["x","y z"]}'
if wait_for 20 "node's execArgv" has_line nodeargs "$want"; then
	ok "node_args go to node before the script: $want"
else
	not_ok "node_args go to node before the script" "want $want" "$(logs_of nodeargs)"
fi
if wait_for 20 "instance 0" has_line numbered "inst=0 port=4100 nai=unset" &&
    wait_for 20 "instance 1" has_line numbered "inst=1 port=4101 nai=unset"; then
	ok "instance_var names the instance number, increment_var adds it (PORT 4100, 4101)"
else
	not_ok "instance_var and increment_var" "$(logs_of numbered)"
fi

# log_date_format alone stamps lines (as in PM2), with day.js's tokens.
stamped() { logs_of stamped | grep -Eq '^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3} \+05:30 at (Mon|Tues|Wednes|Thurs|Fri|Satur|Sun)day: stamped$'; }
if wait_for 20 "a stamped line" stamped; then
	ok "log_date_format prints day.js tokens as PM2 does: $(logs_of stamped | head -1)"
else
	not_ok "log_date_format prints day.js tokens as PM2 does" "$(logs_of stamped)"
fi

# uid/gid: /proc says who the process is; its log is still wsd's file.
pid_of() { wsctl status --json | json_get "[i['pid'] for i in d['instances'] if i['name']=='$1' and i['status']=='online'][0]"; }
proc_ids() {	# proc_ids PID FIELD: the ids of Uid:/Gid:/Groups:
	sed -n "s/^$2:[[:space:]]*//p" "/proc/$1/status" | tr -s ' \t' '\n' | sed '/^$/d' | sort -n | uniq | tr '\n' ' '
}
if wait_for 20 "asnobody online" pid_of asnobody; then
	p=$(pid_of asnobody)
	u=$(proc_ids "$p" Uid) g=$(proc_ids "$p" Gid) gr=$(proc_ids "$p" Groups)
	home=$(tr '\0' '\n' < "/proc/$p/environ" | sed -n 's/^HOME=//p')
	user=$(tr '\0' '\n' < "/proc/$p/environ" | sed -n 's/^USER=//p')
	if [ "$u" = "65534 " ] && [ "$g" = "65534 " ] && [ "$gr" = "65534 " ] &&
	    [ "$home" = /nonexistent ] && [ "$user" = nobody ]; then
		ok "uid nobody, gid nogroup: Uid/Gid/Groups 65534, HOME and USER of nobody"
	else
		not_ok "uid nobody, gid nogroup" "Uid '$u' Gid '$g' Groups '$gr' HOME '$home' USER '$user'"
	fi
	if wait_for 10 "id -u in its log" has_line asnobody 65534 &&
	    [ "$(stat -c %U "$WSD_HOME/logs/asnobody"-out-*.log)" = root ]; then
		ok "the app's output reaches the log file wsd opened (owned by root)"
	else
		not_ok "the app's output reaches the log file wsd opened" "$(ls -l "$WSD_HOME/logs/" 2>&1)"
	fi
else
	not_ok "uid nobody: the app runs" "$(wsctl status 2>&1)" "$(tail -5 "$T/wsd.stdout")"
fi
if [ -n "$SUPP_USER" ]; then
	want_groups=$(id -G "$SUPP_USER" | tr ' ' '\n' | sort -n | tr '\n' ' ')
	if wait_for 20 "asuser online" pid_of asuser; then
		p=$(pid_of asuser)
		gr=$(proc_ids "$p" Groups) g=$(proc_ids "$p" Gid)
		if [ "$gr" = "$want_groups" ] && [ "$g" = "$(id -g "$SUPP_USER") " ]; then
			ok "user $SUPP_USER: its primary group and supplementary groups ($gr)"
		else
			not_ok "user $SUPP_USER: its groups" "want Groups '$want_groups' got '$gr', Gid '$g'"
		fi
	else
		not_ok "user $SUPP_USER: the app runs" "$(wsctl status 2>&1)"
	fi
else
	note "skip: no user with supplementary groups on this machine (postgres in ssl-cert)"
fi
finish
