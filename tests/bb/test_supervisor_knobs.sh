#!/usr/bin/env bash
# wsd's numeric knobs (common/knob.c, README "Every numeric knob"): a bad
# value is warned about once, naming the variable and its range, the default
# is used, and wsd runs on.
. "$(dirname "$0")/lib.sh"

cat > "$T/sleeper.sh" <<'S'
#!/bin/sh
exec sleep 1000
S
chmod +x "$T/sleeper.sh"
cat > "$T/eco.json" <<EOF2
{"apps":[{"name":"sleeper","script":"$T/sleeper.sh"}]}
EOF2

# Each was read by its own parser before: some warned, some did not.
export WSD_BACKOFF_MAX_MS=10s WSD_CTL_IDLE_MS=0 WSD_SCALE_SETTLE_MS=-1
start_wsd -f "$T/eco.json" || { not_ok "wsd starts with bad knobs"; finish; }
ok "wsd starts with bad knobs"
online() { wsctl status --json | grep -q '"online"'; }
wait_for 20 "sleeper online" online || not_ok "sleeper online"
# A restart reads the app's policy again: still one warning.
wsctl restart sleeper > /dev/null || not_ok "wsctl restart sleeper"
wait_for 20 "sleeper online again" online

warned() {	# warned NAME RANGE TEXT DEFAULT: exactly one such line
	[ "$(grep -F "$1: expected a number of ms from $2, got \\\"$3\\\": using $4" \
	    "$T/wsd.stdout" | wc -l)" = 1 ]
}
for k in "WSD_BACKOFF_MAX_MS|0 to 18446744073709551615|10s|15000" \
    "WSD_CTL_IDLE_MS|1 to 18446744073709551615|0|60000"; do
	IFS='|' read -r name range text dflt <<<"$k"
	if warned "$name" "$range" "$text" "$dflt"; then
		ok "$name=$text: one warning naming the variable and its range"
	else
		not_ok "$name=$text: one warning naming the variable and its range" \
		    "$(grep -F "$name" "$T/wsd.stdout" | head -5)"
	fi
done
# And wsd runs on with the defaults.
out=$(wsctl ping 2>&1) && ok "the control socket still answers" ||
	not_ok "the control socket still answers" "$out"
finish
