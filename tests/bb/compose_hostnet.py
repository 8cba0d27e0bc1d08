#!/usr/bin/env python3
"""The production compose file as run commands on the host network.

Prints, for each service, a bash array SVC_<name> with the arguments of
`<engine> run` after --name/--network (options, image, command), taken from
deploy/docker-compose.prod.yml and changed only where host networking on
127.0.0.1 forces it:

- every service gets its own loopback port (PORTS, below) instead of its
  container's 6379/26379, and service names become 127.0.0.1:port;
- ports: and sysctls: are dropped (no port mapping on the host network, and
  net.* sysctls cannot be set in the host's network namespace);
- logging: is dropped (the Loki driver is not installed here);
- ulimits: nofile is left at the host's when the host cannot raise its
  hard limit that far (a sandboxed test host);
- secrets and named volumes become bind mounts of the test's folders.

Each rewrite must match the file exactly once, so a change to the
production file that the test would no longer follow fails loudly.

  compose_hostnet.py COMPOSE SECRETS_DIR VOLUMES_DIR \
      redis-master=PORT redis-replica=PORT sentinel-1=PORT … > run.sh
"""
import os
import re
import resource
import shlex
import sys

import yaml

compose, secrets_dir, volumes_dir = sys.argv[1:4]
ports = dict(a.split("=", 1) for a in sys.argv[4:])
d = yaml.safe_load(open(compose))
top_secrets = d.get("secrets", {})


def die(msg):
    sys.exit("compose_hostnet.py: " + msg)


def interpolate(s):
    """${VAR:-default} and ${VAR:?msg} from the environment; $$ → $."""
    def var(m):
        name, op, arg = m.group(1), m.group(2), m.group(3)
        v = os.environ.get(name, "")
        if op == ":?" and not v:
            die("%s is required (%s)" % (name, arg))
        return v or (arg if op == ":-" else "")
    s = re.sub(r"\$\{(\w+)(?:(:-|:\?)([^}]*))?\}", var, s)
    return s.replace("$$", "$")


def once(texts, old, new, where):
    """texts: a list of strings; old must occur once in all of them."""
    if sum(t.count(old) for t in texts) != 1:
        die("%s: expected %r once in %r" % (where, old, texts))
    return [t.replace(old, new) for t in texts]


def hostnet(name, text):
    """The rewrites that host networking forces on one service's command
    (a list of arguments)."""
    m = ports["redis-master"]
    if name in ("redis-master", "redis-replica"):
        text = once(text, "redis-server /data/redis.conf",
                    "redis-server /data/redis.conf --port %s --bind 127.0.0.1"
                    % ports[name], name)
    if name == "redis-replica":
        text = once(text, "replicaof redis-master 6379", "replicaof 127.0.0.1 " + m, name)
    if name.startswith("sentinel-"):
        text = once(text, "port 26379", "port %s\\nbind 127.0.0.1" % ports[name], name)
        text = once(text, "monitor mymaster redis-master 6379", "monitor mymaster 127.0.0.1 " + m, name)
    return text


# Not part of the topology under test: the monitoring side, whose image
# comes from a registry this host cannot reach (its config is checked by
# promtool in test_deploy_prometheus.sh).
SKIPPED = {"prometheus"}

out = []
for name, svc in d["services"].items():
    if name in SKIPPED:
        sys.stderr.write("%s: not run (monitoring, not under test)\n" % name)
        continue
    if name not in ports and name != "wsd":
        die("a service the test does not know: " + name)
    args = []
    if svc.get("init"):
        args.append("--init")
    if svc.get("restart"):
        args.append("--restart=" + svc["restart"])
    if svc.get("stop_grace_period"):
        g = str(svc["stop_grace_period"])
        args.append("--stop-timeout=" + g.rstrip("s"))
    for k, v in (svc.get("ulimits") or {}).items():
        soft, hard = (v["soft"], v["hard"]) if isinstance(v, dict) else (v, v)
        # Not a network matter: a sandboxed test host may be unable to
        # raise its own hard limit (no CAP_SYS_RESOURCE), and podman then
        # fails to start the container; it keeps the host's limit instead.
        cap = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
        if k == "nofile" and cap != resource.RLIM_INFINITY and int(hard) > cap:
            sys.stderr.write("%s: nofile %s is above this host's hard limit %d: "
                             "left at the host's\n" % (name, hard, cap))
            continue
        args.append("--ulimit=%s=%s:%s" % (k, soft, hard))
    for k, v in (svc.get("environment") or {}).items():
        v = interpolate(str(v))
        if k == "REDIS_SENTINELS":
            for s in v.split(","):
                host = s.split(":")[0]
                v = once([v], s, "127.0.0.1:" + ports[host], k)[0]
        args.append("--env=%s=%s" % (k, v))
    for s in svc.get("secrets") or []:
        f = top_secrets[s]["file"]
        args.append("--volume=%s:/run/secrets/%s:ro" % (
            os.path.join(secrets_dir, os.path.basename(f)), s))
    for v in svc.get("volumes") or []:
        src, dst = v.split(":", 1)
        os.makedirs(os.path.join(volumes_dir, src), exist_ok=True)
        args.append("--volume=%s:%s" % (os.path.join(volumes_dir, src), dst))
    args.append(interpolate(svc["image"]))
    cmd = svc.get("command") or []
    if isinstance(cmd, str):
        cmd = shlex.split(cmd)
    args += hostnet(name, [interpolate(c) for c in cmd])
    out.append("SVC_%s=(%s)" % (name.replace("-", "_"),
                                " ".join(shlex.quote(a) for a in args)))
print("\n".join(out))
