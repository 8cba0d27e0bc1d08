#!/usr/bin/env bash
# Every format PM2 reads (SPEC §1): `wsd -n` on a fixture of each format and
# dialect; a JavaScript file evaluated by node without root, in time, with
# its error shown, and a clear refusal without node; a fonana-shaped
# ecosystem.config.js that starts under wsd with its instances online.
. "$(dirname "$0")/lib.sh"
FIX=$TOP/tests/fixtures/pm2
WSD=$BIN/wsd
# node runs unprivileged when the tests run as root: let it into $T.
chmod 0755 "$T"

# wsd_n FILE [ENV...]: wsd -n FILE, its output in $T/out, its status in $rc.
wsd_n() {
	local f=$1
	shift
	env "$@" "$WSD" -n "$f" > "$T/out" 2>&1
	rc=$?
}

# expect STATUS REGEX NAME: the last wsd -n exited STATUS and said REGEX.
expect() {
	if [ "$rc" = "$1" ] && grep -q -- "$2" "$T/out"; then
		ok "$3"
	else
		not_ok "$3" "status $rc" "$(cat "$T/out")"
	fi
}

for f in "$FIX"/apps-*; do
	n=$(basename "$f" | sed 's/^apps-\([0-9]*\).*/\1/')
	want="ok ($n app$([ "$n" = 1 ] || echo s))"
	wsd_n "$f"
	if [ "$rc" = 0 ] && grep -qF "$want" "$T/out"; then
		ok "wsd -n $(basename "$f"): $want"
	else
		not_ok "wsd -n $(basename "$f"): $want" "status $rc" "$(cat "$T/out")"
	fi
done

# A syntax error is still reported FILE:LINE:COL, at the real place when
# the file uses JavaScript-literal syntax before it.
printf '{ apps: [ // the apps\n  { script: "x" "y" }\n] }\n' > "$T/bad.json"
wsd_n "$T/bad.json"
expect 78 "^$T/bad.json:2:[0-9]*: " "a .json that is neither JSON nor a literal: FILE:LINE:COL at the error, exit 78"
printf 'apps:\n  - name: a\n   script: x\n' > "$T/bad.yaml"
wsd_n "$T/bad.yaml"
expect 78 "^$T/bad.yaml:3:[0-9]*: " "a YAML syntax error: FILE:LINE:COL, exit 78"

# Without node on PATH: a clear refusal naming the file and the way out.
mkdir -p "$T/nonode"
wsd_n "$FIX/apps-2.config.js" PATH="$T/nonode"
expect 78 'apps-2.config.js: .*needs node.*install Node.js' "no node on PATH: a clear error naming the file, exit 78"

# A config that never ends is killed at the timeout, its children with it.
cat > "$T/loop.config.js" <<'EOF'
require('child_process').spawn('sleep', ['987654'], { stdio: 'ignore' });
for (;;) {}
EOF
wsd_n "$T/loop.config.js" WSD_CONFIG_JS_TIMEOUT_MS=1500
if [ "$rc" = 78 ] && grep -q 'loop.config.js: node did not finish .* within 1500 ms' "$T/out" &&
    wait_for 5 "the config's sleep to be gone" sh -c '! pgrep -x -f "sleep 987654"'; then
	ok "a config.js that loops forever: timeout error, exit 78, its process group killed"
else
	not_ok "a config.js that loops forever: timeout error, exit 78, its process group killed" "status $rc" \
	    "$(cat "$T/out")" "$(pgrep -a -x -f 'sleep 987654')"
	pkill -x -f 'sleep 987654'
fi

# A config that leaves a process holding its stdout is read when node exits;
# that process goes with node's process group.
cat > "$T/holder.config.js" <<'EOF'
require('child_process').spawn('sleep', ['987655'], { stdio: 'inherit' });
module.exports = { apps: [ { name: 'h', script: 'sleep', args: '1' } ] };
EOF
wsd_n "$T/holder.config.js" WSD_CONFIG_JS_TIMEOUT_MS=60000
if [ "$rc" = 0 ] && grep -q 'ok (1 app)' "$T/out" &&
    wait_for 5 "the config's sleep to be gone" sh -c '! pgrep -x -f "sleep 987655"'; then
	ok "a config.js whose child holds stdout: read when node exits, the child killed"
else
	not_ok "a config.js whose child holds stdout: read when node exits, the child killed" "status $rc" \
	    "$(cat "$T/out")" "$(pgrep -a -x -f 'sleep 987655')"
	pkill -x -f 'sleep 987655'
fi

# A config that throws: its message and line.
printf 'const x = 1;\nthrow new Error("no DATABASE_URL in the environment");\n' > "$T/throws.config.js"
wsd_n "$T/throws.config.js"
expect 78 'throws.config.js:2:[0-9]*: Error: no DATABASE_URL in the environment$' "a config.js that throws: FILE:LINE: its message, exit 78"
printf 'module.exports = {\n  apps: [ { name: "a" script: "x" } ]\n};\n' > "$T/syntax.cjs"
wsd_n "$T/syntax.cjs"
expect 78 'syntax.cjs:2: SyntaxError: ' "a .cjs with a syntax error: FILE:LINE: SyntaxError"

# Evaluated without wsd's privileges: the uid node ran as comes back in the
# error message (root: the file's owner, nobody for a root-owned file).
printf 'throw new Error("uid=" + process.getuid() + " gid=" + process.getgid());\n' > "$T/uid.config.js"
wsd_n "$T/uid.config.js"
got=$(sed -n 's/.*Error: uid=\([0-9]*\) gid=\([0-9]*\)$/\1 \2/p' "$T/out")
if [ "$(id -u)" = 0 ]; then
	want="$(id -u nobody) $(id -g nobody)"
else
	want="$(id -u) $(id -g)"
fi
if [ -n "$got" ] && [ "$got" = "$want" ] && { [ "$(id -u)" != 0 ] || [ "${got%% *}" != 0 ]; }; then
	ok "a config.js is evaluated without root (uid gid $got)"
else
	not_ok "a config.js is evaluated without root (uid gid $got)" "want $want" "$(cat "$T/out")"
fi
if [ "$(id -u)" = 0 ]; then
	chown daemon:daemon "$T/uid.config.js"
	wsd_n "$T/uid.config.js"
	got=$(sed -n 's/.*Error: uid=\([0-9]*\) gid=\([0-9]*\)$/\1 \2/p' "$T/out")
	if [ "$got" = "$(id -u daemon) $(id -g daemon)" ]; then
		ok "as root, a config.js owned by a user runs as that user"
	else
		not_ok "as root, a config.js owned by a user runs as that user" "got $got" "$(cat "$T/out")"
	fi
fi

if [ "$(id -u)" = 0 ]; then
	mkdir -m 0700 "$T/private"
	printf 'module.exports = { apps: [] };\n' > "$T/private/eco.config.js"
	wsd_n "$T/private/eco.config.js"
	expect 78 'eco.config.js: .*node runs as nobody' "as root, a folder nobody may enter: the error says who node ran as"
fi

# Only stdio crosses: a descriptor wsd inherited is not the config's.
: > "$T/marker"
cat > "$T/fds.config.js" <<'EOF'
const fs = require('fs');
const seen = fs.readdirSync('/proc/self/fd').map((fd) => {
	try { return fs.readlinkSync('/proc/self/fd/' + fd); } catch (e) { return ''; }
});
throw new Error(seen.some((l) => l.endsWith('/marker')) ? 'leaked' : 'clean');
EOF
exec 7< "$T/marker"
wsd_n "$T/fds.config.js"
exec 7<&-
grep -q 'fds.config.js:.*Error: clean$' "$T/out" &&
	ok "no descriptor of wsd's but stdio reaches the config" ||
	not_ok "no descriptor of wsd's but stdio reaches the config" "$(cat "$T/out")"

# An .mjs with export default, and the top-level `pm2` key, both read.
printf 'export default { pm2: [ { name: "m", cmd: "sleep", args: "1" } ] };\n' > "$T/only.mjs"
wsd_n "$T/only.mjs"
[ "$rc" = 0 ] && grep -q 'ok (1 app)' "$T/out" && ok ".mjs with export default and pm2/cmd aliases" ||
	not_ok ".mjs with export default and pm2/cmd aliases" "status $rc" "$(cat "$T/out")"

# The fonana case: the file as it is, its .env read by require('dotenv')
# from the file's folder, starts under wsd with every instance online.
mkdir -p "$T/fonana"
cp "$FIX/fonana/ecosystem.config.js" "$FIX/fonana/server.js" "$T/fonana/"
# The real dotenv when npm installed it, else a stand-in of the same shape:
# what is tested is that require() resolves from the file's folder.
mkdir -p "$T/fonana/node_modules"
if [ -f "$TOP/node_modules/dotenv/package.json" ]; then
	ln -s "$TOP/node_modules/dotenv" "$T/fonana/node_modules/dotenv"
else
	note "npm's dotenv is not installed: using a stand-in module"
	mkdir -p "$T/fonana/node_modules/dotenv"
	cat > "$T/fonana/node_modules/dotenv/index.js" <<'EOF'
exports.config = () => {
	const text = require('fs').readFileSync(require('path').resolve(process.cwd(), '.env'), 'utf8');
	for (const m of text.matchAll(/^([A-Z_]+)=(.*)$/gm)) if (!(m[1] in process.env)) process.env[m[1]] = m[2];
};
EOF
fi
WS_PORT_FREE=$(free_port)
SITE_PORT=$(free_port)
cat > "$T/fonana/.env" <<EOF
PORT=$SITE_PORT
WS_PORT=$WS_PORT_FREE
WS_HOST=127.0.0.1
NEXTAUTH_SECRET=fonana-bb-secret-0123456789abcdef0123456789
EOF
chmod -R a+rX "$T/fonana"
# fonana gives both time and log_date_format: PM2 then stamps lines
# YYYY-MM-DDTHH:mm:ss, and so does wsd, saying so.
wsd_n "$T/fonana/ecosystem.config.js"
if [ "$rc" = 0 ] && grep -q 'warning: .*apps\[0\].log_date_format: replaced by "YYYY-MM-DDTHH:mm:ss" because time is true' "$T/out"; then
	ok "wsd -n says that time replaces fonana's log_date_format, as in PM2"
else
	not_ok "wsd -n says that time replaces fonana's log_date_format, as in PM2" "status $rc" "$(cat "$T/out")"
fi
printf '{"apps":[{"name":"n","script":"srv.js","instances":2,"exec_mode":"cluster"}]}\n' > "$T/cluster.json"
wsd_n "$T/cluster.json"
grep -q 'warning: .*apps\[0\].exec_mode: differs from PM2' "$T/out" &&
	ok "wsd -n flags a Node script in cluster mode as differing from PM2" ||
	not_ok "wsd -n flags a Node script in cluster mode as differing from PM2" "$(cat "$T/out")"

WSD_CONFIG_JS_TIMEOUT_MS=3000 start_wsd -f "$T/fonana/ecosystem.config.js" --env production
online() {
	wsctl status --json | python3 -c '
import json, sys
d = json.load(sys.stdin)
l = d["instances"] if isinstance(d, dict) else d
on = lambda n: sum(1 for i in l if i["name"] == n and i["status"] == "online")
sys.exit(0 if on("fonana") == 1 and on("fonana-ws") == 2 else 1)'
}
if wait_for 20 "fonana 1 + fonana-ws 2 online" online; then
	ok "fonana's ecosystem.config.js starts unchanged: fonana 1 and fonana-ws 2 instances online"
else
	not_ok "fonana's ecosystem.config.js starts unchanged" "$(wsctl status 2>&1)" "$(tail -5 "$T/wsd.stdout")"
fi
if wait_for 10 "wsworker listening on $WS_PORT_FREE (from .env)" \
    bash -c "exec 3<>/dev/tcp/127.0.0.1/$WS_PORT_FREE"; then
	ok "WS_PORT came from the .env that require('dotenv') read"
else
	not_ok "WS_PORT came from the .env that require('dotenv') read" "$(tail -5 "$T/wsd.stdout")"
fi
# time: true stamps lines as PM2's does, local time without a zone.
stamped() { grep -Eq '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}: site up' "$T/fonana/logs/fonana-out.log"; }
if wait_for 10 "a dated 'site up' in logs/fonana-out.log" stamped; then
	ok "fonana's lines are stamped as PM2 stamps them: $(head -1 "$T/fonana/logs/fonana-out.log")"
else
	not_ok "fonana's lines are stamped as PM2 stamps them" "$(head -3 "$T/fonana/logs/fonana-out.log" 2>&1)"
fi

# In the running daemon: `wsctl start FILE` evaluates a JavaScript file
# from wsd's event loop, and a file that hangs is refused at the timeout
# while the daemon keeps answering.
printf 'export default { apps: [ { name: "late", script: "sleep", args: "1000" } ] };\n' > "$T/late.mjs"
if wsctl start "$T/late.mjs" > "$T/start.out" 2>&1 && wait_for 10 "late online" sh -c \
    "wsctl status --json | grep -q '\"name\": *\"late\"'"; then
	ok "wsctl start FILE.mjs in a running daemon starts its app"
else
	not_ok "wsctl start FILE.mjs in a running daemon starts its app" "$(cat "$T/start.out")" "$(tail -5 "$T/wsd.stdout")"
fi
printf 'for (;;) {}\n' > "$T/hang.config.js"
wsctl start "$T/hang.config.js" > "$T/start.out" 2>&1
st=$?
if [ "$st" != 0 ] && grep -q 'did not finish evaluating it within' "$T/start.out" && wsctl ping >/dev/null 2>&1; then
	ok "wsctl start of a config.js that hangs: refused at the timeout, the daemon still answers"
else
	not_ok "wsctl start of a config.js that hangs: refused at the timeout, the daemon still answers" \
	    "status $st" "$(cat "$T/start.out")"
fi

finish
