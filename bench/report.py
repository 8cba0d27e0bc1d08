#!/usr/bin/env python3
"""Writes BENCHMARKS.md from the result lines bench/run.sh collected.

usage: report.py RESULTS.jsonl OUT.md key=value...

Each result line is {"stack","rep","scenario","r":{...}}.  Every figure is
shown as the median over its samples with the spread (min-max) and the
ratio Node/PM2 : wsd; the fan-out figures SPEC §6 sets relative to the
naive ceiling (bench/ceiling) get a second table with the ceiling's column.
A third table holds each SPEC §6 target against this run's medians, and
bench/limits.md (written by hand, from profiles) is copied in after it: what
keeps a target that is not met from being met.  Nothing here fails a build.
"""
import json
import os
import platform
import statistics
import subprocess
import sys


def load(path):
    rows = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            try:
                rows.append(json.loads(line))
            except ValueError:
                pass
    return rows


def samples(rows, stack, scenario, fn):
    out = []
    for r in rows:
        if r["stack"] != stack or r["scenario"] != scenario:
            continue
        try:
            v = fn(r["r"])
        except (KeyError, TypeError, IndexError, ZeroDivisionError):
            v = None
        if isinstance(v, list):
            out.extend(float(x) for x in v)
        elif v is not None:
            out.append(float(v))
    return out


def fmt(v, unit):
    if v is None:
        return "–"
    if unit == "ms":
        return "%.3g ms" % v if v < 100 else "%.0f ms" % v
    if unit == "MB":
        return "%.1f MB" % (v / 1e6)
    if unit == "KB":
        return "%.2f KB" % (v / 1000)
    if unit == "/s":
        if v >= 1e6:
            return "%.3g M/s" % (v / 1e6)
        return "%.3g k/s" % (v / 1000) if v >= 1000 else "%.0f /s" % v
    if unit == "s":
        return "%.3g s" % v
    if unit == "n":
        return "%d" % round(v)
    if unit == "us":
        return "%.3g µs" % v
    if unit == "B":
        return "%.0f B" % v
    return "%.3g" % v


def cell(xs, unit):
    if not xs:
        return "–", None
    m = statistics.median(xs)
    if len(xs) == 1:
        return fmt(m, unit) + " (n=1)", m
    return "%s (%s – %s, n=%d)" % (fmt(m, unit), fmt(min(xs), unit),
                                   fmt(max(xs), unit), len(xs)), m


def ratio(node, wsd, better):
    """How many times better wsd is (above 1) or worse (below 1)."""
    if node is None or wsd is None:
        return "–"
    a, b = (node, wsd) if better == "lower" else (wsd, node)
    if b == 0:
        return "– (%s 0)" % ("wsd" if better == "lower" else "Node") if a > 0 else "– (both 0)"
    return "%.3g×" % (a / b)


def cost_ratio(a, b, target):
    """a ÷ b of two medians, with SPEC's target for it (or none)."""
    if a is None or b is None or b == 0:
        return "–"
    return "%.2f%s" % (a / b, " (target %s)" % target if target else "")


def machine():
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = "?"
    try:
        with open("/proc/meminfo") as f:
            mem = "%.1f GiB" % (int(f.readline().split()[1]) / 1048576)
    except (OSError, ValueError, IndexError):
        pass
    try:
        nofile = subprocess.run(["sh", "-c", "ulimit -Hn"], capture_output=True,
                                text=True).stdout.strip()
    except OSError:
        nofile = "?"
    return {"nproc": os.cpu_count(), "cpu": cpu, "kernel": platform.release(),
            "mem": mem, "nofile": nofile}


def pg_section(rows, w):
    """The database channel rule (SPEC §4.10): bench/pgrules.js's rows."""
    cold = [r for r in rows if r["scenario"] == "pg_subscribe_cold"]
    if not cold:
        return
    x = cold[0]["r"]
    w("### Channel rules from the database (SPEC §4.10)")
    w("")
    w("Subscribes to a **locked post** with fonana's post rule, %s users (one "
      "connection each, half of them paying subscribers), %s subscribes in flight, "
      "one worker with a pool of %s connections to a private PostgreSQL %s. **Cold**: "
      "every (user, post) pair is asked of the database; **warm**: the same "
      "subscribes again within the cache window (`WS_RULES_CACHE_MS`), answered "
      "from the worker's cache. Latency = subscribe sent → reply received, at the "
      "client. The Node server checked posts through Prisma, whose query engine "
      "is a binary downloaded from outside the package registries and cannot be "
      "installed here, so the comparison is with the ceiling of **one query per "
      "subscribe**: `pgbench -M prepared` running the very statement the worker "
      "prepared (taken from its start log), with as many connections as the "
      "worker's pool, for 3 s."
      % (x.get("users"), x.get("window"), x.get("pool"),
         x.get("pg_version")))
    w("")
    w("| figure | wsd, cold cache | wsd, warm cache | one query per subscribe (pgbench) | cold ÷ ceiling |")
    w("|---|---|---|---|---|")
    # latencies are not a ratio: pgbench has no queue, the subscribes have
    # the window in flight over the pool
    for label, field, unit in (("subscribes/s", "per_s", "/s"),
                               ("latency p50", "p50_ms", "ms"),
                               ("latency p99", "p99_ms", "ms"),
                               ("worker CPU per subscribe", "worker_cpu_us", "us")):
        c = samples(rows, "wsd", "pg_subscribe_cold", lambda r: r[field])
        h = samples(rows, "wsd", "pg_subscribe_warm", lambda r: r[field])
        q = samples(rows, "pgbench", "pg_query_ceiling", lambda r: r[field])
        cc, mc = cell(c, unit)
        ch, _ = cell(h, unit)
        cq, mq = cell(q, unit)
        w("| %s | %s | %s | %s | %s |" % (label, cc, ch, cq or "–",
          cost_ratio(mc, mq, None) if unit == "/s" else "–"))
    qs = samples(rows, "wsd", "pg_subscribe_warm", lambda r: r["queries"])
    w("")
    w("Queries sent by the warm passes: %s (every answer from the cache). The "
      "warm rate is bounded by the load generator (one Node process parsing "
      "every reply), not by the worker. The latencies are not comparable with "
      "pgbench's: its %s clients wait for nothing, while the subscribes queue %s "
      "deep over the pool, so a cold subscribe's latency is mostly its wait "
      "for a connection. Client, worker and PostgreSQL share the machine's "
      "cores; the worker's CPU per subscribe (all its threads' on-CPU time "
      "over the pass, from `/proc/<pid>/task/*/schedstat`) depends much less "
      "on that load than the rates do. More connections (`WS_DB_POOL`) raise "
      "the cold rate."
      % (", ".join("%d" % q for q in qs), x.get("pool"), x.get("window")))
    w("")


HIST_COLS = (("pre", "hist_fanout_pre"), ("wsd", "hist_fanout_legacy"),
             ("wsd", "hist_fanout_plain"), ("wsd", "hist_fanout_positions"),
             ("node", "hist_fanout_node"))


def hist_per_delivery(r):
    return r["cpu_ms_per_1k_deliveries"]


def history_section(rows, meta, w):
    """Channel history's cost (SPEC §6): bench/history.js's rows."""
    if not any(r["scenario"].startswith("hist_fanout_") for r in rows):
        return
    rev = meta.get("pre_rev") if not meta.get("pre_note") else ""
    w("### Channel history's cost (SPEC §6)")
    w("")
    if rev:
        before = ("the worker of %s, built from git in the run's temp folder, fed by a "
                  "plain `PUBLISH`" % rev)
    else:
        before = "not run (%s), so no ratios" % (meta.get("pre_note") or "no baseline")
    w("One server process, %s sockets on one channel, %s events pipelined 50 at a "
      "time; server CPU per 1000 deliveries (= µs per delivery). **Before "
      "history**: %s. **Today, plain PUBLISH**: today's worker fed the same way "
      "(an app that was not changed). **No positions**: today's worker, every event "
      "through the history script (`clients/node/publisher.js`), sockets that did not ask for "
      "positions. **Positions**: the same, sockets subscribed with `recover:true`. "
      "**Node**: `bench/peer/server.js` alone (no PM2), plain `PUBLISH`. Ratios of "
      "medians, with SPEC §6's targets against the worker before history (\"plain\": "
      "no history). The last two columns compare today's worker with itself fed a "
      "plain `PUBLISH`, for scale: for sockets without positions the code run per "
      "delivery is the same on both paths (the history path differs once per event), "
      "so that ratio's distance from 1 is what this bench cannot resolve; events "
      "through the history script also reach the worker at another pace (the script "
      "costs Redis about 3× a PUBLISH), which changes how many frames each write "
      "carries."
      % (meta.get("hist_sockets"), meta.get("hist_events"), before))
    w("")
    w("| figure | before history%s | today, plain PUBLISH | no positions | positions | "
      "Node ws | no positions ÷ before | positions ÷ before | no positions ÷ plain | "
      "positions ÷ plain |" % (" (%s)" % rev if rev else ""))
    w("|---|---|---|---|---|---|---|---|---|---|")
    cells, meds = [], []
    for stack, scen in HIST_COLS:
        c, m = cell(samples(rows, stack, scen, hist_per_delivery), "ms")
        cells.append(c)
        meds.append(m)
    w("| server CPU per 1000 deliveries | %s | %s | %s | %s | %s | %s | %s | %s | %s |"
      % tuple(cells + [cost_ratio(meds[2], meds[0], "≤ 1.05"),
                       cost_ratio(meds[3], meds[0], "≤ 1.15"),
                       cost_ratio(meds[2], meds[1], None),
                       cost_ratio(meds[3], meds[1], None)]))
    w("")
    by_kind = {}
    for r in rows:
        if r["scenario"].startswith("hist_fanout_") and "redis_ms_per_1k_publishes" in r["r"]:
            by_kind.setdefault(r["r"].get("publish"), []).append(
                float(r["r"]["redis_ms_per_1k_publishes"]))
    cp, mp = cell(by_kind.get("plain", []), "ms")
    ch, mh = cell(by_kind.get("history", []), "ms")
    w("| figure | plain `PUBLISH` | history script (`EVALSHA`) | script ÷ `PUBLISH` |")
    w("|---|---|---|---|")
    w("| redis-server CPU per 1000 publishes | %s | %s | %s |" % (cp, ch, cost_ratio(mh, mp, None)))
    w("")


RELOAD_ROWS = (
    ("peak reconnects per second (100 ms buckets × 10)", "peak_reconnects_per_s", "n"),
    ("peak reconnects in one 1 s bucket", "peak_reconnects_per_s_1s", "n"),
    ("reconnects, all clients (a client closed again by the instance reloaded next counts twice)",
     "reconnects", "n"),
    ("reload command wall time", "cmd_ms", "ms"),
    ("first close → last client back", "window_ms", "ms"),
    ("one client's outage (its first close → its last welcome): p50", "outage_p50_ms", "ms"),
    ("… p99", "outage_p99_ms", "ms"),
    ("… the longest", "outage_max_ms", "ms"),
    ("reconnect attempts that failed (refused, reset, upgrade not answered in 10 s)",
     "failed_attempts", "n"),
    ("numbered events published during the run (all channels)", "events", "n"),
    ("events lost, all clients", "lost", "n"),
    ("… clients that lost any", "clients_lost", "n"),
    ("… most lost by one client", "lost_max", "n"),
    ("events doubled, all clients", "doubled", "n"),
    ("… most doubled by one client", "doubled_max", "n"),
    ("`resync` messages received", "resyncs", "n"),
    ("clients not back at the end", "not_back", "n"),
)


def reload_section(rows, meta, w):
    """A reload under load: bench/reload.js's rows."""
    scen = "reload_" + meta.get("reload_n", "")
    if not any(r["scenario"] == scen for r in rows):
        return
    x = [r["r"] for r in rows if r["scenario"] == scen][0]
    w("### A reload of 2 instances holding %s clients" % meta.get("reload_n"))
    w("")
    w("%s clients (%d client processes, %s clients per 127.x.y.z source address), each subscribed to one of %s post channels "
      "with positions through `clients/js/wsd-client.js`, which reconnects with "
      "backoff and full jitter and resubscribes with `since`; %s numbered events/s "
      "in all, steady, during the reload: `wsctl reload fonana-ws` (events through "
      "the history script) / `pm2 reload fonana-ws` (plain `PUBLISH`: the Node "
      "server has no history, so its clients lose what is published while they "
      "are away). Medians over repeats."
      % (meta.get("reload_n"), x.get("client_procs", 0), x.get("per_addr", "?"),
         x.get("channels"), x.get("rate")))
    w("")
    w("| figure | wsd | Node ws + PM2 |")
    w("|---|---|---|")
    for label, field, unit in RELOAD_ROWS:
        a, _ = cell(samples(rows, "wsd", scen, lambda r: r[field]), unit)
        b, _ = cell(samples(rows, "node", scen, lambda r: r[field]), unit)
        w("| %s | %s | %s |" % (label, a, b))
    w("")


def main():
    rows = load(sys.argv[1])
    out = sys.argv[2]
    meta = dict(a.split("=", 1) for a in sys.argv[3:])
    m = machine()
    quick = meta.get("quick") == "1"
    conns = meta.get("conns", "10000")
    big = meta.get("conns_big", "0")

    def ctl_ms(r):
        if "ms" in r:
            return r["ms"]		# wsbench exectime: one sample per run
        return r["value"] / 1000.0

    def burst(field):
        return lambda r: r[field]

    def respawn(field):
        return lambda r: r[field] if r.get("mode") in ("respawn", "respawn-online") else None

    def big_per_conn(r):
        if not r["ready"]:
            return None
        return (r["after"]["rss"] - r["before"]["rss"]) / r["ready"]

    # (label, unit, [(scenario, extractor)], better)
    table = [
        ("`status` wall time (wsctl / pm2)", "ms", "ctl_status", ctl_ms, "lower"),
        ("`jlist` wall time", "ms", "ctl_jlist", ctl_ms, "lower"),
        ("`restart fonana-ws` wall time (under churn)", "ms", "ctl_restart", ctl_ms, "lower"),
        ("(for scale: `/bin/true` spawned the same way)", "ms", "exec_true", ctl_ms, "lower"),
        ("supervisor RSS, 3 apps (wsd / PM2 God daemon)", "MB", "sup_rss",
         lambda r: r["value"], "lower"),
        ("kill -9 → replacement online", "ms", "respawn", respawn("online_ms"), "lower"),
        ("kill -9 → first connection served by the replacement", "ms", "respawn",
         respawn("served_ms"), "lower"),
        ("failed connects, %s connects/s for %s s, nothing else happening (baseline)" %
         (meta.get("churn_rate"), int(meta.get("churn_ms", "0")) // 1000), "n",
         "churn_none", lambda r: r["failed_total"], "lower"),
        ("failed connects during `restart fonana-ws` (same load)", "n",
         "churn_restart", lambda r: r["failed_total"], "lower"),
        ("failed connects during `reload` (same load)", "n", "churn_reload",
         lambda r: r["failed_total"], "lower"),
        ("failed connects during a crash: kill -9 of an instance (same load)", "n",
         "churn_crash", lambda r: r["failed_total"], "lower"),
        ("failed + hung connects during `scale` 2→3→2 (same load, 6 s at least)", "n",
         "churn_scale", lambda r: r["failed_total"], "lower"),
        ("worker RSS per idle authenticated subscribed connection, %s conns, 2 instances: "
         "marginal (the second half)" % conns, "KB", "conns_" + conns,
         lambda r: r["marginal_bytes_per_conn"], "lower"),
        ("… the whole run, one-time costs included ((after − before) ÷ %s)" % conns,
         "KB", "conns_" + conns, lambda r: r["bytes_per_conn"], "lower"),
    ]
    if big != "0":
        table.append(("worker RSS per idle subscribed connection, %s conns, 3 instances"
                      % big, "KB", "conns_" + big, big_per_conn, "lower"))
    storm = meta.get("storm_n", "8000")
    table += [
        ("reconnect storm, %s clients at once, 2 instances: handshakes (JWT checked, "
         "welcome received) per server CPU-second" % storm, "/s", "storm_" + storm,
         lambda r: r.get("handshakes_per_cpu_s"), "higher"),
        ("reconnect storm: clients that got no welcome", "n", "storm_" + storm,
         lambda r: r["failed_total"], "lower"),
    ]
    paced = meta.get("paced_subs", "5000")
    paced_rate = meta.get("paced_rate", "10")
    for n in ("1000", "10000"):
        ev = [r["r"].get("events") for r in rows if r["scenario"] == "fanout_burst_" + n]
        if not ev:
            continue
        table += [
            ("fan-out burst, %s subs × %s events: deliveries/s" % (n, ev[0]),
             "/s", "fanout_burst_" + n, burst("deliveries_per_s"), "higher"),
            ("fan-out burst, %s subs: server CPU s per million deliveries" % n, "s",
             "fanout_burst_" + n, burst("cpu_s_per_million"), "lower"),
            ("fan-out burst, %s subs: latency p50 (queueing included)" % n, "ms",
             "fanout_burst_" + n, burst("p50_ms"), "lower"),
            ("fan-out burst, %s subs: latency p99" % n, "ms",
             "fanout_burst_" + n, burst("p99_ms"), "lower"),
            ("fan-out burst, %s subs: lost deliveries" % n, "n",
             "fanout_burst_" + n, burst("lost"), "lower"),
        ]
    table += [
        ("fan-out %s events/s, %s subs, 1 instance: latency p50" % (paced_rate, paced),
         "ms", "fanout_paced_" + paced, burst("p50_ms"), "lower"),
        ("fan-out %s events/s, %s subs, 1 instance: latency p99" % (paced_rate, paced),
         "ms", "fanout_paced_" + paced, burst("p99_ms"), "lower"),
        ("fan-out %s events/s, %s subs, 1 instance: server CPU s per million deliveries"
         % (paced_rate, paced), "s", "fanout_paced_" + paced,
         burst("cpu_s_per_million"), "lower"),
        ("fan-out %s events/s, %s subs, 1 instance: lost deliveries" % (paced_rate, paced),
         "n", "fanout_paced_" + paced, burst("lost"), "lower"),
    ]

    # SPEC §6's rows relative to the naive ceiling: every figure a cost
    # (lower is better), so both ratios read the same way.
    # (label, unit, scenario, extractor, wsd÷ceiling target, Node÷wsd target)
    us = lambda r: r["cpu_s_per_million"]	# s per million = µs per delivery
    ceil_rows = [
        ("fan-out one event at a time (%s subs, %s events/s, 1 instance): server "
         "µs CPU per delivery" % (paced, paced_rate), "us", "fanout_paced_" + paced, us,
         "≤ 1.15", "≥ 1.8"),
        ("p99 latency, %s subscribers, %s events/s (1 instance)" % (paced, paced_rate),
         "ms", "fanout_paced_" + paced, burst("p99_ms"), "≤ 1.2", None),
        ("p50 latency, %s subscribers, %s events/s (1 instance)" % (paced, paced_rate),
         "ms", "fanout_paced_" + paced, burst("p50_ms"), None, None),
    ]
    for n in ("1000", "10000"):
        ceil_rows.append(("fan-out burst, %s subs (2 instances): server µs CPU per "
                          "delivery" % n, "us", "fanout_burst_" + n, us, None, "≥ 5"))
    ceil_rows.append(("RSS per idle subscribed connection (own channel each), %s conns "
                      "(2 instances), marginal" % conns, "B", "conns_" + conns,
                      lambda r: r["marginal_bytes_per_conn"], None, None))

    def med(stack, scen, fn):
        xs = samples(rows, stack, scen, fn)
        return statistics.median(xs) if xs else None

    def worst(stack, scen, fn):
        xs = samples(rows, stack, scen, fn)
        return max(xs) if xs else None

    def div(a, b):
        return a / b if a is not None and b else None

    cpu = lambda r: r["cpu_s_per_million"]
    failed = lambda r: r["failed_total"]
    pscen = "fanout_paced_" + paced
    # (SPEC §6 row, target text, measured value, its unit, met?)
    targets = [
        ("`wsctl status` wall time", "under 5 ms",
         med("wsd", "ctl_status", ctl_ms), "ms", lambda v: v < 5),
        ("… against `pm2 status`", "≥ 50× faster",
         div(med("node", "ctl_status", ctl_ms), med("wsd", "ctl_status", ctl_ms)),
         "x", lambda v: v >= 50),
        ("`wsd` RSS with 3 apps", "under 4 MB",
         med("wsd", "sup_rss", lambda r: r["value"]), "MB", lambda v: v < 4e6),
        ("kill -9 of an instance → replacement online", "under 50 ms",
         med("wsd", "respawn", respawn("online_ms")), "ms", lambda v: v < 50),
        ("failed connects during a crash restart (kill -9), 500 connects/s",
         "0 (worst run)", worst("wsd", "churn_crash", failed), "n", lambda v: v == 0),
        ("… during `wsctl restart` (not a SPEC row; PM2's weak spot)", "0 (worst run)",
         worst("wsd", "churn_restart", failed), "n", lambda v: v == 0),
        ("failed connects during `wsctl reload`, 500 connects/s", "0 (worst run)",
         worst("wsd", "churn_reload", failed), "n", lambda v: v == 0),
        ("failed + hung connects during `wsctl scale` 2→3→2, 500 connects/s ("
         "not a SPEC row)", "0 (worst run)",
         worst("wsd", "churn_scale", failed), "n", lambda v: v == 0),
        ("worker memory per idle authenticated subscribed connection (marginal, %s "
         "conns)" % conns, "under 2 KB (aim 1 KB)",
         med("wsd", "conns_" + conns, lambda r: r["marginal_bytes_per_conn"]), "B",
         lambda v: v < 2000),
        ("… whole run, one-time costs included", "under 2 KB (aim 1 KB)",
         med("wsd", "conns_" + conns, lambda r: r["bytes_per_conn"]), "B",
         lambda v: v < 2000),
        ("fan-out one event at a time: server CPU per delivery, wsd ÷ ceiling",
         "≤ 1.15", div(med("wsd", pscen, cpu), med("ceiling", pscen, cpu)), "x",
         lambda v: v <= 1.15),
        ("… Node ÷ wsd", "≥ 1.8", div(med("node", pscen, cpu), med("wsd", pscen, cpu)),
         "x", lambda v: v >= 1.8),
        ("… for scale: Node ÷ the ceiling, the most a server making one `write()` per "
         "delivery reaches here", "–", div(med("node", pscen, cpu),
                                          med("ceiling", pscen, cpu)), "x", None),
    ]
    for n in ("1000", "10000"):
        b = "fanout_burst_" + n
        targets.append(("fan-out bursts, %s subs: deliveries per server CPU-second, "
                        "wsd ÷ Node" % n, "≥ 5",
                        div(med("node", b, cpu), med("wsd", b, cpu)), "x",
                        lambda v: v >= 5))
    targets.append(("publish → delivery p99, %s subs, %s events/s: wsd ÷ ceiling"
                    % (paced, paced_rate), "≤ 1.2",
                    div(med("wsd", pscen, burst("p99_ms")),
                        med("ceiling", pscen, burst("p99_ms"))), "x",
                    lambda v: v <= 1.2))
    hs = lambda r: r.get("handshakes_per_cpu_s")
    targets.append(("reconnect storm, %s clients at once: handshakes per server "
                    "CPU-second, wsd ÷ Node" % storm, "≥ 10",
                    div(med("wsd", "storm_" + storm, hs), med("node", "storm_" + storm, hs)),
                    "x", lambda v: v >= 10))
    hpd = hist_per_delivery
    pre = med("pre", "hist_fanout_pre", hpd)
    targets.append(("fan-out CPU per delivery with history, sockets without positions "
                    "÷ the worker before history", "≤ 1.05",
                    div(med("wsd", "hist_fanout_plain", hpd), pre), "x", lambda v: v <= 1.05))
    targets.append(("… sockets with positions ÷ the worker before history", "≤ 1.15",
                    div(med("wsd", "hist_fanout_positions", hpd), pre), "x",
                    lambda v: v <= 1.15))
    # Not SPEC rows: history's own cost in one build.  For sockets without
    # positions the per-delivery code is the plain path's, so the ratio
    # shows how finely this bench resolves (the history section says so).
    legacy = med("wsd", "hist_fanout_legacy", hpd)
    targets.append(("… for scale: sockets without positions ÷ today's worker fed a plain "
                    "`PUBLISH` (not a SPEC row)", "–",
                    div(med("wsd", "hist_fanout_plain", hpd), legacy), "x", None))
    targets.append(("… for scale: sockets with positions ÷ today's worker fed a plain "
                    "`PUBLISH` (not a SPEC row)", "–",
                    div(med("wsd", "hist_fanout_positions", hpd), legacy), "x", None))
    rscen = "reload_" + meta.get("reload_n", "")
    for what in ("lost", "doubled"):
        targets.append(("events %s by clients using `since` across `wsctl reload` (%s "
                        "clients, all of them)" % (what, meta.get("reload_n")), "0 (worst run)",
                        worst("wsd", rscen, lambda r, k=what: r[k]), "n", lambda v: v == 0))
    limits = os.path.join(os.path.dirname(os.path.abspath(__file__)), "limits.md")

    lines = []
    w = lines.append
    w("# BENCHMARKS")
    w("")
    w("Written by `bench/run.sh` (`%s`), %s, in %s s. Do not edit by hand: run "
      "`make bench` again." % (meta.get("cmd"), meta.get("start"), meta.get("duration_s")))
    w("")
    w("wsd (wsd + wsworker, C) side by side with the stack it replaces: a Node.js `ws` %s "
      "server implementing the same protocol (`bench/peer/server.js`, ws + jsonwebtoken + "
      "ioredis, per-channel Redis subscriptions) under PM2 %s in cluster mode (Node %s). "
      "Same machine, same load, same Redis (%s), in the same run, alternating A/B "
      "(wsd first in odd repeats, Node first in even ones), %s repeat(s)%s."
      % (meta.get("ws"), meta.get("pm2"), meta.get("node"), meta.get("redis"),
         meta.get("reps"), " — quick mode: a small subset" if quick else ""))
    w("")
    w("## Machine")
    w("")
    w("- %s CPUs (`nproc`), %s, %s RAM, Linux %s" % (m["nproc"], m["cpu"], m["mem"], m["kernel"]))
    w("- open files per process: at most %s (hard limit, cannot be raised here)" % m["nofile"])
    w("- load average (1/5/15 min) at start: %s, at end: %s"
      % (meta.get("load_start"), meta.get("load_end")))
    w("")
    w("**Read the figures with this in mind:** the load generator (`wsbench`), Redis, "
      "the supervisors and the servers all share these %s cores, and other work on the "
      "machine (builds, tests) shows in the load average above. Absolute numbers are "
      "those of a loaded 2-core box; the ratios, measured side by side in one run, are "
      "the meaningful part." % m["nproc"])
    w("")
    w("## Results")
    w("")
    w("Median (min – max over samples, n = number of samples). The last column is "
      "how many times better wsd's median is than the Node stack's in the direction "
      "the \"better\" column gives (Node ÷ wsd for lower-is-better rows, wsd ÷ Node "
      "for higher-is-better ones); below 1× means the Node stack did better.")
    w("")
    w("| figure | better | wsd | Node ws + PM2 | wsd's advantage |")
    w("|---|---|---|---|---|")
    for label, unit, scen, fn, better in table:
        if scen == "exec_true":
            x = samples(rows, "host", scen, fn)
            if x:
                cx, _ = cell(x, unit)
                w("| %s | – | %s | %s | – |" % (label, cx, cx))
            continue
        a = samples(rows, "wsd", scen, fn)
        b = samples(rows, "node", scen, fn)
        if not a and not b:
            continue	# not run in this mode
        ca, ma = cell(a, unit)
        cb, mb = cell(b, unit)
        w("| %s | %s | %s | %s | %s |" % (label, better, ca, cb, ratio(mb, ma, better)))
    w("")
    w("### Against the naive ceiling (SPEC §6)")
    w("")
    w("The ceiling (`bench/ceiling/ceiling.c`) is a bare single-threaded epoll "
      "server that skips the JWT check and writes each event with one `write()` "
      "per subscriber: what one small loopback write costs here, plus the least "
      "around it. It is always **one process**. The paced rows run wsd and Node "
      "with **one instance** too: a loopback `write()` costs more when the reader "
      "it wakes sits idle on the other core, so two busy instances batch those "
      "wake-ups and would look cheaper per delivery than any single thread can be. "
      "The burst and memory rows use the sessions' 2 instances (server CPU summed "
      "over them). Every figure below is a cost (lower is better); the ratios are "
      "of medians, with SPEC §6's target where it sets one.")
    w("")
    w("| figure | ceiling | wsd | Node ws + PM2 | wsd ÷ ceiling | Node ÷ wsd |")
    w("|---|---|---|---|---|---|")
    for label, unit, scen, fn, t_ceil, t_node in ceil_rows:
        c = samples(rows, "ceiling", scen, fn)
        a = samples(rows, "wsd", scen, fn)
        b = samples(rows, "node", scen, fn)
        if not c and not a and not b:
            continue
        cc, mc = cell(c, unit)
        ca, ma = cell(a, unit)
        cb, mb = cell(b, unit)
        w("| %s | %s | %s | %s | %s | %s |" % (label, cc, ca, cb,
          cost_ratio(ma, mc, t_ceil), cost_ratio(mb, ma, t_node)))
    w("")
    pg_section(rows, w)
    history_section(rows, meta, w)
    reload_section(rows, meta, w)
    w("### SPEC §6 targets in this run")
    w("")
    w("Each target against this run's medians (worst run for the failed-connect "
      "rows). A target that is not met is explained, with the profile that shows "
      "what limits it, in the next section.")
    w("")
    w("| SPEC §6 row | target | this run | met |")
    w("|---|---|---|---|")
    for label, goal, v, unit, ok in targets:
        if v is None:
            w("| %s | %s | – (not run) | – |" % (label, goal))
            continue
        shown = "%.2f×" % v if unit == "x" else fmt(v, unit)
        met = "–" if ok is None else "yes" if ok(v) else "**no**"
        w("| %s | %s | %s | %s |" % (label, goal, shown, met))
    w("")
    if os.path.exists(limits):
        with open(limits) as f:
            w(f.read().rstrip("\n"))
        w("")
    w("## How each figure is taken")
    w("")
    w("- **CLI wall time**: `wsctl status` / `pm2 status` (and `jlist`) with 3 apps "
      "defined (fonana-ws ×2 in cluster mode plus two idle fork-mode apps), output to "
      "`/dev/null`, %s runs per repeat, timed by `wsbench exectime` from spawn to "
      "reaped exit (no shell in the measurement); process start included, so the "
      "`/bin/true` row gives the machine's floor for any command. `restart` is timed "
      "the same way while the churn below runs." % meta.get("ctl_runs"))
    w("- **Supervisor RSS**: `VmRSS` of the wsd process / of the PM2 God daemon "
      "(`$PM2_HOME/pm2.pid`), same 3 apps, 1 s after all are online.")
    w("- **kill -9**: `wsbench respawn` sends SIGKILL to instance 0 and then (a) polls "
      "the supervisor's list every 2 ms over one persistent connection (wsd's control "
      "socket; PM2's RPC socket via `bench/peer/pm2poll.js`) until the slot runs a new "
      "pid whose status is `online`, and (b) keeps up to 32 `GET /health` probes in "
      "flight (a new one every ms) until one is answered by a pid that did not exist "
      "before the kill (both servers put their pid in `/health`).")
    w("- **Failed connects**: `wsbench churn` opens %s authenticated WebSocket "
      "connections per second for %s s (connect, upgrade with `?token=`, wait for "
      "`{\"type\":\"connected\"}`, close). A baseline run does nothing else, so "
      "that failures of a stack that cannot keep up with the rate at all are not "
      "blamed on the restart; then, 1.5 s in, `wsctl restart fonana-ws` / "
      "`pm2 restart fonana-ws` (then, in a second run, `reload`). Every attempt that "
      "does not reach the welcome counts: refused, reset, handshake failure, closed "
      "before the welcome, or no welcome within 5 s. A third run sends SIGKILL to "
      "instance 0 instead (the crash restart of SPEC §6). A fourth runs at least 6 s "
      "and, 1.5 s in, scales 2→3 (`wsctl scale fonana-ws 3` / `pm2 scale fonana-ws 3`), "
      "waits until 3 are online, then back to 2 and waits until 2 are left: a connect "
      "stranded on a removed slot hangs, and counts as failed (no welcome within 5 s). "
      "wsd's `reload` starts the "
      "replacement, waits for it to be ready, then drains the old instance "
      "(docs/supervisor.md); PM2's is its cluster-mode reload."
      % (meta.get("churn_rate"), int(meta.get("churn_ms", "0")) // 1000))
    w("- **Memory per connection**: `wsbench conns -n %s --channel own`: each "
      "connection has its own user (a fresh HS256 token, `?token=`), waits for the "
      "welcome, subscribes to its own `notifications_<user>` channel and waits for "
      "`subscribed`. The connections are opened in two halves; RSS of the instances' "
      "process trees (from `/proc`) is read before the first connect and 2 s after "
      "each half. **Marginal** = (after − between) ÷ the second half: what one more "
      "idle connection costs. **Whole run** = (after − before) ÷ all of them, which "
      "also spreads each process's one-time costs (lws's pool of 32 handshake "
      "buffers of 16 KB, tables grown by doubling, code and JIT pages first "
      "touched) over the connections. Supervisor and Redis excluded. 20 "
      "connections are opened and closed first, for every stack." % conns)
    if big != "0":
        w("- **%s connections**: one process may hold at most %s open files, so this "
          "runs **3 instances** of each server and **%d wsbench processes** of 10 000 "
          "connections each (source addresses 127.0.0.2–250 split between them); run "
          "once, not repeated." % (big, m["nofile"], int(big) // 10000))
    w("- **Fan-out**: `wsbench fanout -n N` subscribers on one channel (`post_bench`), "
      "2 instances for the bursts; a publisher thread `PUBLISH`es `ws:post_bench` "
      "`{\"type\":\"bench\",\"data\":{\"t\":<CLOCK_MONOTONIC ns>,\"seq\":i}}` into Redis "
      "(burst: all events as fast as Redis takes them, pipelined 50 at a time; paced: %s "
      "subscribers on **one instance** of each stack, %s events at %s/s, so that each "
      "event is delivered before the next is published: the \"one event at a time\" "
      "figure). Latency = "
      "receive time − `t`; deliveries/s = deliveries ÷ (last receive − first publish); "
      "lost = N × events − deliveries; server CPU = on-CPU time of every thread of the "
      "instances (`/proc/<pid>/task/*/schedstat`) from the first publish to the last "
      "delivery; per delivery = that ÷ deliveries." % (paced, meta.get("paced_events"),
                                                        paced_rate))
    w("- **Reconnect storm**: `wsbench storm -n %s`: %s clients, each its own user "
      "with a fresh HS256 token, connect at once (all connects in flight together), "
      "upgrade with `?token=`, wait for the welcome and close; server CPU = on-CPU "
      "time of the 2 instances' threads from before the first connect to 200 ms after "
      "the last welcome; the figure is welcomes ÷ that CPU time. Not run against the "
      "ceiling, which checks no token." % (storm, storm))
    w("- **Channel history's cost**: `bench/history.js`: for each column "
      "a fresh redis-server and one server process (the five columns alternate, "
      "reversed in even repeats); %s sockets (Node `ws`, one "
      "process) subscribe to `post_bench`, 100 events warm up, then %s events are "
      "published 50 in flight at a time (plain `PUBLISH`, or the publisher module's "
      "`publish()`, which runs the history script with `EVALSHA`). Server CPU = the "
      "process's utime+stime over every thread, read in ns from "
      "`/proc/<pid>/task/*/schedstat` (`/proc/<pid>/stat` counts 10 ms ticks; its "
      "figure is in the raw lines too), from the first publish to the last "
      "delivery; Redis CPU the same for redis-server over the publishes. The baseline is the worker of %s, "
      "before channel history existed (`git archive` + `make bin/wsworker` in the "
      "temp folder)%s." % (meta.get("hist_sockets"), meta.get("hist_events"),
                           meta.get("pre_rev"),
                           "; not run here: " + meta["pre_note"] if meta.get("pre_note") else ""))
    w("- **Reload under load**: `bench/reload.js`, on a fresh 2-instance stack: "
      "%s clients in processes of at most 2 500 (each from its own 127.0.0.x source "
      "address), each its own user, subscribed to one of N/100 post channels "
      "through `clients/js/wsd-client.js` (backoff from 500 ms, full jitter, "
      "`since` on resubscribe). Each channel gets one event before the clients "
      "come (so it has a position), then a publisher numbers each channel's events "
      "from 1 at 2 events/s per channel; 1 s in, the reload command runs; once "
      "every client has been closed and is subscribed again, 1 s more, then the "
      "publisher stops and each client's numbers are checked: a number never "
      "received is lost, one received twice doubled. A connect whose upgrade is not "
      "answered within 10 s is given up (as a browser gives up in the end) and "
      "retried with the client's backoff. A reconnect is a welcome "
      "received after a close, timed by the client (one clock: same machine); the "
      "peak is the busiest 100 ms bucket × 10 (and the busiest 1 s bucket). The "
      "close codes and connect errors the clients saw are in the details below."
      % meta.get("reload_n"))
    w("- **The naive ceiling**: `bench/ceiling/ceiling.c`, one process, one thread, "
      "one level-triggered epoll: takes any token (no JWT check), sends the same "
      "welcome and `subscribed` replies as the worker, SUBSCRIBEs `ws:<key>` while "
      "a key has subscribers, and for each message builds the frame once and "
      "calls `write()` once per subscriber (what the kernel does not take is "
      "buffered and sent on EPOLLOUT). The same wsbench runs drive it, with its pid "
      "in `--pids`, so its CPU and RSS are measured as the other stacks' are.")
    w("")
    w("## Notes")
    w("")
    w("- Open files: one process may hold at most %s descriptors here and the hard "
      "limit cannot be raised (wsbench raises its soft limit to it and refuses an "
      "`-n` that does not fit), so a server instance holds at most about 19 900 "
      "connections. The %s-connection figure uses 2 instances and one wsbench "
      "process%s." % (m["nofile"], conns,
                      "; the %s one uses 3 instances and %d wsbench processes of 10 000"
                      % (big, int(big) // 10000) if big != "0" else ""))
    w("- A baseline churn run (no restart) sits next to the restart run: on a loaded "
      "machine a stack that cannot accept the rate at all would otherwise have its "
      "capacity failures counted as restart failures.")
    w("- The ceiling runs in the same load sessions, between the two stacks, so "
      "the relative rows share the run's conditions.")
    w("- `wsbench` is one thread on epoll (plus a publisher thread in fan-out); its "
      "own CPU time per run is in the details below, so a stack that makes the "
      "generator work harder (one frame per write vs coalesced frames) shows there.")
    w("")
    w("## Exact commands")
    w("")
    w("```")
    w("%s        # = O=build BINDIR=bin%s sh bench/run.sh" %
      (meta.get("cmd"), " QUICK=1" if quick else ""))
    w("npm ci --prefix bench                          # pm2 %s, ws %s, jsonwebtoken, ioredis"
      % (meta.get("pm2"), meta.get("ws")))
    w("wsd --foreground -f eco.json                   # WSD_HOME private, env -i")
    w("pm2 start bench/peer/ecosystem.config.js       # PM2_HOME private, env -i, cluster")
    w("wsbench conns  -n %s --channel own --pids <instances> --settle-ms 2000" % conns)
    w("wsbench fanout -n N -m M --channel post:bench --redis 127.0.0.1:<port> --pids <instances>")
    w("wsbench fanout -n %s -m %s --rate %s --channel post:bench --redis … --pids …"
      % (paced, meta.get("paced_events"), paced_rate))
    w("ceiling --port <port> --redis 127.0.0.1:<port>          # bench/ceiling, 1 process")
    w("wsbench churn  --rate %s --duration-ms %s --timeout-ms 5000   # + restart / reload / scale at 1.5 s"
      % (meta.get("churn_rate"), meta.get("churn_ms")))
    w("wsbench storm  -n %s --pids <instances> --timeout-ms 30000" % storm)
    w("wsbench respawn --kill <pid> --pids <instances> [--wsd-sock $WSD_HOME/wsd.sock]")
    w("wsbench exectime -n %s -- wsctl status     # and pm2 status, jlist, /bin/true"
      % meta.get("ctl_runs"))
    w("node bench/pgrules.js USERS 64 REPS        # the database rule; also make bench-pg")
    w("node bench/history.js %s %s REPS           # PRE_BINDIR=<the %s worker>"
      % (meta.get("hist_sockets"), meta.get("hist_events"), meta.get("pre_rev")))
    w("node bench/reload.js --stack wsd -n %s --history … -- wsctl reload fonana-ws"
      % meta.get("reload_n"))
    w("node bench/reload.js --stack node -n %s … -- pm2 reload fonana-ws" % meta.get("reload_n"))
    w("```")
    w("")
    w("## Details per run")
    w("")
    w("Raw result lines are JSON (`wsbench` prints one per run); the failure "
      "breakdown of the churn runs and the generator's own CPU time:")
    w("")
    for scen in ("churn_none", "churn_restart", "churn_reload", "churn_crash", "churn_scale"):
        for s in ("wsd", "node"):
            for r in rows:
                if r["scenario"] == scen and r["stack"] == s:
                    x = r["r"]
                    w("- %s %s rep %s: %s attempts, %s ok, failed %s, welcome p50 %s ms "
                      "p99 %s ms, failures per second %s"
                      % (s, scen, r["rep"], x.get("attempts"), x.get("ok"),
                         json.dumps({k: v for k, v in x.get("failed", {}).items() if v}),
                         x.get("welcome_p50_ms"), x.get("welcome_p99_ms"),
                         x.get("fails_per_s")))
    for s in ("ceiling", "wsd", "node"):
        for r in rows:
            if r["stack"] == s and r["scenario"].startswith("fanout"):
                x = r["r"]
                w("- %s %s rep %s: %s/%s delivered, %.0f/s, generator CPU %.2f s, server "
                  "CPU %.2f s, Redis receivers %s%s"
                  % (s, r["scenario"], r["rep"], x.get("deliveries"), x.get("expected"),
                     x.get("deliveries_per_s", 0), x.get("gen_cpu_s", 0),
                     x.get("server_cpu_s", 0), x.get("redis_receivers"),
                     ", error: " + x["error"] if x.get("error") else ""))
    for r in rows:
        if r["scenario"].startswith("reload_"):
            x = r["r"]
            w("- %s %s rep %s: close codes the clients saw %s, errors of their connects %s"
              % (r["stack"], r["scenario"], r["rep"], json.dumps(x.get("close_codes")),
                 json.dumps(x.get("connect_errors"))))
    for r in rows:
        if r["scenario"] == "up_failed":
            w("- %s rep %s: the stack did not come up for a session (see the run's log)"
              % (r["stack"], r["rep"]))
    w("")
    with open(out + ".new", "w") as f:
        f.write("\n".join(lines) + "\n")
    os.replace(out + ".new", out)


def pg_only():
    """`report.py --pg RESULTS`: the database section alone, on stdout."""
    lines = []
    pg_section(load(sys.argv[2]), lines.append)
    print("\n".join(lines))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--pg":
        pg_only()
    else:
        main()
