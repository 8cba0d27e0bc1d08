#!/usr/bin/env bash
# Which interpreter runs a script is decided once, when the ecosystem is
# loaded: a .js script runs under node, unless "interpreter": "none" says
# to exec it directly (docs/ecosystem.md) — then node must not come back
# when the process is started.
. "$(dirname "$0")/lib.sh"

# A shell script named .js: node would fail on it, exec runs it.
cat > "$T/run.js" <<S
#!/bin/sh
echo "direct \$\$" >> "$T/runs"
exec sleep 1000
S
chmod +x "$T/run.js"
cat > "$T/eco.json" <<EOF2
{"apps":[{"name":"direct","script":"$T/run.js","interpreter":"none",
          "autorestart":false}]}
EOF2

start_wsd -f "$T/eco.json" || { not_ok "wsd starts"; finish; }
ran() { grep -q '^direct ' "$T/runs"; }
online() { instance_status 0 online; }
if wait_for 20 "run.js ran" ran && wait_for 20 "online" online; then
	ok "interpreter none: a .js script is executed directly"
else
	not_ok "interpreter none: a .js script is executed directly" \
	    "$(wsctl status 2>&1)" "$(grep -h direct "$T"/wsd.stdout "$WSD_HOME"/logs/* 2>/dev/null | tail -5)"
fi
[ "$(instance_field 0 restarts)" = 0 ] && ok "no restart" || not_ok "no restart" "$(wsctl status 2>&1)"
finish
