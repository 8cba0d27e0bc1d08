#!/usr/bin/env bash
# The container files: deploy/docker-compose.prod.yml parses as YAML and
# holds the services, secrets, logging and sysctl settings; the Dockerfile
# has the stages, user, health check and runtime libraries it must have;
# deploy/ecosystem.docker.json is a valid ecosystem.
. "$(dirname "$0")/lib.sh"

note "the files' structure; test_container_*.sh build the images and run them"
C=$TOP/deploy/docker-compose.prod.yml
F=$TOP/Dockerfile

if ! python3 -c 'import yaml' 2>/dev/null; then
	not_ok "PyYAML is available to parse the compose file"
	finish
fi

# Each check is one line "ok|not ok - …" printed by python.
python3 - "$C" > "$T/compose.tap" 2>&1 <<'EOF'
import sys, yaml

path = sys.argv[1]
def res(cond, name, detail=""):
    print(("ok - " if cond else "not ok - ") + name)
    if not cond and detail:
        print("  # " + str(detail))

try:
    d = yaml.safe_load(open(path))
except Exception as e:
    res(False, "compose file parses as YAML", e)
    sys.exit(0)
res(isinstance(d, dict), "compose file parses as YAML")
svcs = d.get("services", {})
want = ["wsd", "redis-master", "redis-replica", "sentinel-1", "sentinel-2", "sentinel-3"]
res(all(s in svcs for s in want), "services: wsd, redis master, one replica, three sentinels",
    sorted(svcs))
res(sum(1 for s in svcs if s.startswith("sentinel")) == 3, "exactly three sentinels")

def cmd(s):
    c = svcs.get(s, {}).get("command", "")
    return " ".join(c) if isinstance(c, list) else str(c)

res("replicaof redis-master 6379" in cmd("redis-replica"), "the replica follows redis-master")
for s in ("sentinel-1", "sentinel-2", "sentinel-3"):
    c = cmd(s)
    res("sentinel monitor mymaster redis-master 6379 2" in c and "--sentinel" in c,
        s + " monitors mymaster with quorum 2")
    res(svcs[s].get("volumes") and svcs[s]["volumes"][0].startswith(s + ":"),
        s + " keeps its rewritten config in its own volume", svcs[s].get("volumes"))

top = d.get("secrets", {})
for name in ("redis_password", "nextauth_secret"):
    res(top.get(name, {}).get("file") == "./secrets/" + name,
        "secret " + name + " comes from the file ./secrets/" + name, top.get(name))
w = svcs.get("wsd", {})
res(set(w.get("secrets", [])) >= {"redis_password", "nextauth_secret"},
    "wsd receives both secrets", w.get("secrets"))
for s in ("redis-master", "redis-replica", "sentinel-1"):
    res("redis_password" in svcs[s].get("secrets", []) and
        "/run/secrets/redis_password" in cmd(s), s + " reads the password from its secret")
env = w.get("environment", {})
res("REDIS_PASSWORD" not in env and "NEXTAUTH_SECRET" not in env,
    "no secret value in wsd's environment")
sents = str(env.get("REDIS_SENTINELS", "")).split(",")
res(sorted(x.split(":")[0] for x in sents) == ["sentinel-1", "sentinel-2", "sentinel-3"],
    "REDIS_SENTINELS names the three sentinel services", sents)
res(env.get("REDIS_MASTER_NAME") == "mymaster", "REDIS_MASTER_NAME is mymaster")

sc = w.get("sysctls", {})
val = sc.get("net.ipv4.tcp_migrate_req") if isinstance(sc, dict) else \
    dict(x.split("=", 1) for x in sc).get("net.ipv4.tcp_migrate_req")
res(str(val) == "1", "wsd has sysctl net.ipv4.tcp_migrate_req=1", sc)
res(w.get("init") is True, "wsd runs with an init process (init: true)")
ports = [str(p) for p in w.get("ports", [])]
res(any(p.endswith(":3002") for p in ports), "wsd publishes port 3002", ports)

res(str(w.get("image", "")).startswith("${WSD_IMAGE:-"), "wsd's image is overridable (WSD_IMAGE)",
    w.get("image"))
rimg = set(str(svcs[s].get("image")) for s in want if s != "wsd")
res(len(rimg) == 1 and list(rimg)[0].startswith("${REDIS_IMAGE:-"),
    "every Redis service runs the one image REDIS_IMAGE names", rimg)

xl = d.get("x-logging")
res(isinstance(xl, dict) and xl.get("driver") == "loki", "x-logging anchor uses the loki driver")
urls = set()
for name, s in svcs.items():
    lg = s.get("logging", {})
    ok = lg.get("driver") == "loki"
    res(ok, name + " logs through the loki driver")
    urls.add(str(lg.get("options", {}).get("loki-url")))
res(len(urls) == 1 and list(urls)[0].startswith("${LOKI_URL"),
    "every service has the same loki-url, from the one variable LOKI_URL", urls)
raw = open(path).read()
res(raw.count("loki-url:") == 1, "loki-url is written once (the x-logging anchor)")
EOF
cat "$T/compose.tap"
BB_PASS=$((BB_PASS + $(grep -c '^ok ' "$T/compose.tap")))
BB_FAIL=$((BB_FAIL + $(grep -c '^not ok ' "$T/compose.tap")))
[ -s "$T/compose.tap" ] || not_ok "compose checks ran"

# The Promtail alternative to the Loki driver: json-file for every
# production service, Promtail reading their JSON logs and pushing to LOKI_URL.
python3 - "$C" "$TOP/deploy/docker-compose.promtail.yml" "$TOP/deploy/promtail.yml" \
    > "$T/promtail.tap" 2>&1 <<'EOF'
import sys, yaml
prod, over, conf = (yaml.safe_load(open(f)) for f in sys.argv[1:4])
def res(cond, name, detail=""):
    print(("ok - " if cond else "not ok - ") + name)
    if not cond and detail:
        print("  # " + str(detail))
svcs = over.get("services", {})
drivers = {n: svcs.get(n, {}).get("logging", {}).get("driver") for n in prod["services"]}
res(all(d == "json-file" for d in drivers.values()),
    "promtail override: every production service logs to json-file", drivers)
pt = svcs.get("promtail", {})
res("/var/run/docker.sock:/var/run/docker.sock:ro" in pt.get("volumes", []) and
    str(pt.get("environment", {}).get("LOKI_URL", "")).startswith("${LOKI_URL"),
    "promtail reads the Docker API and pushes to LOKI_URL", pt)
sc = (conf.get("scrape_configs") or [{}])[0]
res(conf.get("clients", [{}])[0].get("url") == "${LOKI_URL}" and
    "com.docker.compose.project=fonana-ws" in str(sc.get("docker_sd_configs")),
    "promtail.yml scrapes the fonana-ws containers into LOKI_URL", sc)
EOF
cat "$T/promtail.tap"
BB_PASS=$((BB_PASS + $(grep -c '^ok ' "$T/promtail.tap")))
BB_FAIL=$((BB_FAIL + $(grep -c '^not ok ' "$T/promtail.tap")))
[ -s "$T/promtail.tap" ] || not_ok "promtail checks ran"

# The Dockerfile.
check "Dockerfile: build stage on debian:bookworm" grep -qE '^FROM debian:bookworm AS build' "$F"
check "Dockerfile: runtime stage on debian:bookworm-slim" grep -qE '^FROM debian:bookworm-slim' "$F"
check "Dockerfile: runs as a non-root user" grep -qE '^USER wsd' "$F"
check "Dockerfile: creates that user" grep -q 'useradd .*wsd' "$F"
check "Dockerfile: HEALTHCHECK via wsctl ping" grep -qE 'CMD \["wsctl", "ping"\]' "$F"
check "Dockerfile: wsd --foreground" grep -qE '^ENTRYPOINT \["wsd", "--foreground"\]' "$F"
check "Dockerfile: installs libwebsockets-evlib-uv" grep -q 'libwebsockets-evlib-uv' "$F"
check "Dockerfile: bakes in deploy/ecosystem.docker.json" grep -q 'deploy/ecosystem.docker.json' "$F"

# Every shared library the built programs need comes from a package the
# runtime stage installs (or from libc6, present in any image).
rt=$(sed -n '/^FROM debian:bookworm-slim/,$p' "$F" | tr ' \\' '\n\n' | grep -E '^lib|^ca-cert' | sort -u)
missing=()
for lib in $(for p in wsd wsworker wsctl; do readelf -d "$BIN/$p"; done |
	sed -n 's/.*Shared library: \[\(.*\)\]/\1/p' | sort -u); do
	path=$(ldconfig -p | awk -v l="$lib" '$1 == l && /x86-64|x86_64|AArch64|aarch64/ {print $NF; exit}')
	[ -n "$path" ] || path=$(ldconfig -p | awk -v l="$lib" '$1 == l {print $NF; exit}')
	pkg=$(dpkg -S "$(readlink -f "$path")" 2>/dev/null | head -1 | cut -d: -f1)
	[ -n "$pkg" ] || pkg=$(dpkg -S "$path" 2>/dev/null | head -1 | cut -d: -f1)
	case "$pkg" in libc6) continue ;; esac
	grep -qx "$pkg" <<<"$rt" || missing+=("$lib($pkg)")
done
if [ ${#missing[@]} -eq 0 ]; then ok "runtime stage installs every library the programs link"
else not_ok "runtime stage installs every library the programs link" "missing: ${missing[*]}"; fi

# The ecosystem baked into the image is valid (its secrets are read at start).
out=$(wsd -n "$TOP/deploy/ecosystem.docker.json" 2>&1)
rc=$?
if [ $rc = 0 ]; then ok "deploy/ecosystem.docker.json passes wsd -n"
else not_ok "deploy/ecosystem.docker.json passes wsd -n" "status $rc" "$out"; fi
check "the docker ecosystem reads both secrets" \
	python3 -c 'import json,sys; a=json.load(open(sys.argv[1]))["apps"][0]; sys.exit(0 if set(a["secrets"])>={"redis_password","nextauth_secret"} else 1)' \
	"$TOP/deploy/ecosystem.docker.json"

# In the container wsd runs as a non-root user and its stdout is a pipe the
# container runtime (root) created: open("/dev/stdout") fails there with
# EACCES, so an app logging to /dev/stdout must still reach wsd's stdout.
if [ "$(id -u)" = 0 ]; then
	chmod 0711 "$T"
	NH=$T/nobody-home
	mkdir -p "$NH" && chown nobody "$NH"
	cat > "$T/stdout-eco.json" <<EOF
{"apps":[{"name":"talker","script":"sh","args":["-c","echo hello-from-the-app; exec sleep 1000"],
  "out_file":"/dev/stdout","error_file":"/dev/stderr","merge_logs":true,
  "log_max_size":0,"kill_timeout":500}]}
EOF
	chmod 0644 "$T/stdout-eco.json"
	( runuser -u nobody -- env WSD_HOME="$NH" "$BIN/wsd" --foreground \
		-f "$T/stdout-eco.json" 2>&1 | cat > "$T/container.out" ) &
	wait_for 30 "the app's line on wsd's stdout" grep -q hello-from-the-app "$T/container.out"
	if grep -q hello-from-the-app "$T/container.out"; then
		ok "as non-root behind a root-made pipe, an app's /dev/stdout reaches wsd's stdout"
	else
		not_ok "as non-root behind a root-made pipe, an app's /dev/stdout reaches wsd's stdout" \
		    "$(grep -i 'stdout\|error' "$T/container.out" | head -3)"
	fi
	pkill -TERM -u nobody -f "$T/stdout-eco.json"
	wait_for 15 "wsd (nobody) exited" sh -c "! pgrep -u nobody -f '$T/stdout-eco.json' >/dev/null"
else
	note "not root: the non-root /dev/stdout case is skipped"
fi

finish
