#!/usr/bin/env bash
# deploy/prometheus and deploy/grafana: promtool accepts the alert rules and
# the scrape config, the alerts fire on series as wsd names them (promtool
# test rules), every metric the rules and the dashboard use is one that
# `wsctl metrics` writes, and the production compose file wires it up.
. "$(dirname "$0")/lib.sh"

for v in $(env | sed -n 's/^\([A-Za-z_][A-Za-z0-9_]*_FILE\)=.*/\1/p'); do unset "$v"; done
P=$TOP/deploy/prometheus
G=$TOP/deploy/grafana/wsd.json

if command -v promtool >/dev/null 2>&1; then
	check "promtool check rules deploy/prometheus/alerts.yml" promtool check rules "$P/alerts.yml"
	check "promtool check config deploy/prometheus/prometheus.yml" promtool check config "$P/prometheus.yml"
	if (cd "$P" && promtool test rules alerts.test.yml) > "$T/ptest" 2>&1; then
		ok "the alerts fire on wsd's series (promtool test rules)"
	else
		not_ok "the alerts fire on wsd's series (promtool test rules)" "$(tail -20 "$T/ptest")"
	fi
else
	not_ok "promtool is installed (make deps: Debian package prometheus)"
fi

# The families wsd writes, from a running daemon.
mkdir -p "$T/app"
printf '#!/bin/sh\nwhile :; do sleep 1; done\n' > "$T/app/app.sh"
chmod +x "$T/app/app.sh"
echo '{"apps":[{"name":"promapp","script":"app.sh","instances":1}]}' > "$T/app/eco.json"
start_wsd -f "$T/app/eco.json"
wait_for 15 "instance online" instance_status 0 online
if wsctl metrics > "$T/metrics" 2> "$T/metrics.err"; then
	ok "wsctl metrics answers"
else
	not_ok "wsctl metrics answers" "$(cat "$T/metrics.err")"
fi
sed -n 's/^# TYPE \([a-z_]*\) .*/\1/p' "$T/metrics" | sort -u > "$T/families"

python3 - "$P/alerts.yml" "$G" "$T/families" "$TOP/deploy/docker-compose.prod.yml" "$P/prometheus.yml" > "$T/deploy.tap" 2>&1 <<'PY'
import json, re, sys, yaml
rules, dash, fam, compose, scrape = sys.argv[1:]
have = set(open(fam).read().split())
def res(cond, name, detail=""):
    print(("ok - " if cond else "not ok - ") + name)
    if not cond and detail:
        print("  # " + str(detail))
def names(expr):
    return {n for n in re.findall(r"\b(wsd_[a-z_]+)", expr)}
exprs = [r["expr"] for g in yaml.safe_load(open(rules))["groups"] for r in g["rules"]]
used = set().union(*map(names, exprs))
res(used and used <= have, "every metric in alerts.yml is written by wsd", sorted(used - have))
want = {"WsdInstanceErrored", "WsdInstanceCrashLoop", "WsdRedisDown", "WsdAuthFailuresSpike",
        "WsdSlowConsumerCloses", "WsdInstanceNearMemoryLimit"}
got = {r["alert"] for g in yaml.safe_load(open(rules))["groups"] for r in g["rules"]}
res(want <= got, "alerts: errored, crash loop, Redis down, auth failures, slow consumers, memory", sorted(want - got))
try:
    d = json.load(open(dash))
    res(True, "deploy/grafana/wsd.json parses as JSON")
except Exception as e:
    res(False, "deploy/grafana/wsd.json parses as JSON", e)
    sys.exit(0)
dexprs = [t["expr"] for p in d["panels"] for t in p.get("targets", [])]
dused = set().union(*map(names, dexprs))
res(len(dexprs) >= 10 and dused <= have, "every metric the dashboard uses is written by wsd", sorted(dused - have))
ids = [p["id"] for p in d["panels"]]
res(len(ids) == len(set(ids)), "dashboard panel ids are unique")
c = yaml.safe_load(open(compose))["services"]
addr = str(c["wsd"].get("environment", {}).get("WSD_METRICS_ADDR", ""))
res(addr.endswith(":9464"), "compose: wsd serves its metrics on :9464", addr)
p = c.get("prometheus", {})
res(any(str(v).startswith("./prometheus:/etc/prometheus") for v in p.get("volumes", [])),
    "compose: a prometheus service with deploy/prometheus as its config", p)
targets = [t for j in yaml.safe_load(open(scrape))["scrape_configs"] for s in j["static_configs"] for t in s["targets"]]
res("wsd:9464" in targets, "prometheus.yml scrapes wsd:9464", targets)
PY
cat "$T/deploy.tap"
BB_PASS=$((BB_PASS + $(grep -c '^ok ' "$T/deploy.tap")))
BB_FAIL=$((BB_FAIL + $(grep -c '^not ok ' "$T/deploy.tap")))
grep -q '^ok ' "$T/deploy.tap" || not_ok "the deploy checks ran" "$(tail -5 "$T/deploy.tap")"
finish
