#!/usr/bin/env bash
# Heap profile behind BENCHMARKS.md's memory-per-connection row: one
# wsworker under valgrind's massif holds N idle authenticated connections,
# each subscribed to its own channel through a real redis-server; the peak
# heap tree is printed with every site's bytes per connection.
#
#   make profile-mem [N=2000]    (= O=build BINDIR=bin bash bench/profile-mem.sh 2000)
#
# Counts what the program asks malloc for (plus massif's 8 B per block for
# malloc's own header): RSS adds rounding to 16 B chunks and free space.
set -u
N=${1:-2000}
PROFILE=profile-mem
NEED="${O:-build}/wsbench ${BINDIR:-bin}/wsworker"
NEED_CMD=valgrind
. "$(dirname "$0")/profile-lib.sh"

PORT=$(free_port)
env -i PATH=/usr/bin:/bin WS_PORT="$PORT" WS_HOST=127.0.0.1 \
    NEXTAUTH_SECRET="$SECRET" REDIS_URL="redis://127.0.0.1:$RPORT" \
    LOG_LEVEL=warn \
    valgrind --tool=massif --massif-out-file="$W/massif.out" --depth=12 \
    --threshold=0.5 "$BINDIR/wsworker" > "$W/worker.log" 2>&1 &
WPID=$!
PIDS+=($WPID)
for _ in $(seq 1 300); do health "$PORT" && break; sleep 0.1; done
health "$PORT" || { echo "profile-mem: the worker did not come up" >&2; tail "$W/worker.log" >&2; exit 1; }
echo "profile-mem: $N connections, each subscribed to its own channel (valgrind is slow)" >&2
"$O/wsbench" conns -n "$N" --channel own --port "$PORT" --secret "$SECRET" \
    --timeout-ms 60000 --concurrency 64 --settle-ms 2000 --pids "$WPID" > "$W/conns.json"
kill -INT "$WPID"
wait "$WPID"
"$PY" - "$W/massif.out" "$N" "$W/conns.json" <<'EOF'
import json, re, sys
path, n = sys.argv[1], int(sys.argv[2])
res = json.loads(open(sys.argv[3]).read().strip().splitlines()[-1])
snaps, cur = [], None
for line in open(path):
    line = line.rstrip("\n")
    if line.startswith("snapshot="):
        cur = {"tree": []}
        snaps.append(cur)
    elif cur is not None and "=" in line and not line.startswith((" ", "n")):
        k, v = line.split("=", 1)
        cur[k] = v
    elif cur is not None and re.match(r"\s*n\d+: ", line):
        depth = len(line) - len(line.lstrip(" "))
        m = re.match(r"\s*n\d+: (\d+) (.*)", line)
        cur["tree"].append((depth, int(m.group(1)), m.group(2)))
peak = [s for s in snaps if s.get("heap_tree") == "peak"] or \
       [max(snaps, key=lambda s: int(s.get("mem_heap_B", 0)))]
p = peak[0]
heap, extra = int(p["mem_heap_B"]), int(p["mem_heap_extra_B"])
print("wsbench: %s of %d connections ready" % (res.get("ready"), n))
print("peak heap: %d B asked + %d B malloc headers/padding = %.0f B per connection"
      % (heap, extra, (heap + extra) / n))
print("(includes what does not grow with connections: lws's tables, Redis link, code)")
print()
print("bytes/conn  site (depth: caller of the allocating function, then its callers)")
for depth, b, label in p["tree"]:
    if depth > 6 or b < 4 * n:
        continue
    label = re.sub(r"^0x[0-9A-F]+: ", "", label)
    label = re.sub(r" \(in [^)]*\)$", "", label)
    print("%9.0f  %s%s" % (b / n, "  " * depth, label[:110]))
EOF
