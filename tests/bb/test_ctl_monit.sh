#!/usr/bin/env bash
# wsctl monit in a real terminal (a private tmux server, 80x24): a row per
# instance with its status, wsd's recent events, `q` and Ctrl-C quit, the
# terminal is given back (canonical mode and echo, also when the daemon
# goes away mid-view), NO_COLOR honoured.
. "$(dirname "$0")/lib.sh"

for v in $(env | sed -n 's/^\([A-Za-z_][A-Za-z0-9_]*_FILE\)=.*/\1/p'); do unset "$v"; done
if ! command -v tmux >/dev/null 2>&1; then
	not_ok "tmux is installed (make deps)"
	finish
fi

mkdir -p "$T/app"
cat > "$T/app/app.sh" <<'EOS'
#!/bin/sh
while :; do sleep 1; done
EOS
chmod +x "$T/app/app.sh"
cat > "$T/app/eco.json" <<EOS
{"apps":[{"name":"monapp","script":"app.sh","instances":2,"exec_mode":"fork","kill_timeout":1000}]}
EOS
# in the foreground: the events come from wsd's ring, not from wsd.log
start_wsd -f "$T/app/eco.json"
wait_for 15 "2 instances online" instance_status 1 online

TM="tmux -S $T/tmux.sock -f /dev/null"
track_tmux() { $TM kill-server >/dev/null 2>&1; }
trap 'track_tmux; bb_cleanup' EXIT

# run_monit NAME ENV...: wsctl monit in a new 80x24 session; after it exits
# the shell prints its status and whether the terminal is canonical again.
run_monit() {
	local name=$1
	shift
	$TM new-session -d -s "$name" -x 80 -y 24 \
	    "env WSD_HOME='$WSD_HOME' PATH='$PATH' TERM=xterm $* wsctl monit; echo EXIT=\$?; stty -a | tr ' ;' '\n\n' | grep -xE -- '-?(icanon|echo)' | tr '\n' ' '; echo; sleep 600"
}
pane() { $TM capture-pane -p -t "$1"; }
pane_esc() { $TM capture-pane -p -e -t "$1"; }
pane_has() { pane "$1" | grep -qE -- "$2"; }
rows_shown() { [ "$(pane "$1" | grep -cE '^ +[0-9]+ monapp +online')" = 2 ]; }

run_monit q NO_COLOR=
if wait_for 15 "monit rows" rows_shown q; then
	ok "monit draws one row per instance (status online)"
else
	not_ok "monit draws one row per instance (status online)" "$(pane q)"
fi
check "monit shows the column heads" pane_has q 'status +cpu +mem +conns +msg/s +dlv/s'
# The events come with a second request, after the rows are on screen.
check "monit shows wsd's recent events" wait_for 10 "wsd's events" pane_has q 'info +wsd started'
check "monit shows an app's events" wait_for 10 "the app's events" pane_has q 'info +monapp: online'
if [ "$(pane q | awk 'length > 80' | wc -l)" = 0 ]; then ok "every line fits 80 columns"; else not_ok "every line fits 80 columns" "$(pane q)"; fi
if pane_esc q | grep -q $'\033\\[32m'; then ok "online is green on a colour terminal"; else not_ok "online is green on a colour terminal" "$(pane_esc q | head -5 | cat -v)"; fi
$TM send-keys -t q q
if wait_for 10 "monit exit on q" pane_has q 'EXIT=0'; then ok "q quits with status 0"; else not_ok "q quits with status 0" "$(pane q)"; fi
if wait_for 10 "stty after q" pane_has q '^icanon echo'; then ok "q gives the terminal back (icanon, echo)"; else not_ok "q gives the terminal back (icanon, echo)" "$(pane q)"; fi

run_monit c NO_COLOR=1
wait_for 15 "monit rows" rows_shown c
if pane_esc c | grep -q $'\033\\[3[0-9]m'; then not_ok "NO_COLOR: no colours" "$(pane_esc c | head -5 | cat -v)"; else ok "NO_COLOR: no colours"; fi
$TM send-keys -t c C-c
if wait_for 10 "monit exit on Ctrl-C" pane_has c 'EXIT=0'; then ok "Ctrl-C quits"; else not_ok "Ctrl-C quits" "$(pane c)"; fi
if wait_for 10 "stty after Ctrl-C" pane_has c '^icanon echo'; then ok "Ctrl-C gives the terminal back (icanon, echo)"; else not_ok "Ctrl-C gives the terminal back (icanon, echo)" "$(pane c)"; fi

run_monit t NO_COLOR=1
wait_for 15 "monit rows" rows_shown t
monit_pid() { pgrep -x -P "$($TM display -p -t t '#{pane_pid}')" wsctl; }
wait_for 10 "the monit process" monit_pid
kill -TERM "$(monit_pid)"
if wait_for 10 "monit exit on SIGTERM" pane_has t 'EXIT='; then ok "SIGTERM ends monit"; else not_ok "SIGTERM ends monit" "$(pane t)"; fi
if wait_for 10 "stty after SIGTERM" pane_has t '^icanon echo'; then ok "SIGTERM gives the terminal back (icanon, echo)"; else not_ok "SIGTERM gives the terminal back (icanon, echo)" "$(pane t)"; fi

run_monit d NO_COLOR=1
wait_for 15 "monit rows" rows_shown d
wsctl kill > /dev/null 2>&1
if wait_for 15 "monit exit when wsd is gone" pane_has d 'EXIT=[1-9]'; then ok "monit ends with a failure status when the daemon goes away"; else not_ok "monit ends with a failure status when the daemon goes away" "$(pane d)"; fi
if wait_for 10 "stty after the daemon left" pane_has d '^icanon echo'; then ok "the terminal is given back then too"; else not_ok "the terminal is given back then too" "$(pane d)"; fi
check "and monit says why" pane_has d 'monit: the daemon stopped answering'
finish
