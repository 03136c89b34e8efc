#!/usr/bin/env python3
"""Provisioning benchmark (issue 3): N workshop-shaped environments (two light services
each: an HTTP server and a sleeping "database", a generated secret, a volume) created
with one `berth env create --each`, then removed with one `berth env rm --each`.

Reports wall time to provision (target: 80 environments in <= 60 s on 2 cores), berthd's
RSS, teardown time, and a leak count after teardown (must be 0: no netns, veth, bridge,
IPAM lease, iptables rule, cgroup, runc state, bundle, FIFO or mount left).

Usage (root): bench/provision_bench.py [--envs 80] [--parallel 8]
"""
import argparse
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "integration"))
from harness import BERTH, Daemon, require_root, write_spec  # noqa: E402

TEMPLATE = """
name: p-${participant}
x-berth:
  params:
    participant: {required: true, pattern: "^[a-z0-9-]{1,20}$"}
  secrets:
    db_password: {generate: 24}
services:
  notebook:
    image: host
    command: ["python3", "-m", "http.server", "8888"]
    environment: {DB_PASSWORD: "${secret.db_password}"}
    volumes: ["work:/work"]
    healthcheck: {test: ["TCP", "8888"], interval: 10s, start_period: 30s, start_interval: 100ms}
    deploy: {resources: {limits: {memory: 64M}, reservations: {cpus: "0.01", memory: 16M}}}
  db:
    image: host
    command: ["sleep", "infinity"]
    deploy: {resources: {limits: {memory: 32M}, reservations: {cpus: "0.01", memory: 8M}}}
volumes: {work: {}}
"""


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        return next(int(l.split()[1]) for l in f if l.startswith("VmRSS:"))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--envs", type=int, default=80)
    ap.add_argument("--parallel", type=int, default=8)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    require_root()
    d = Daemon().start()
    try:
        tmpl = write_spec(d.tmp, TEMPLATE, "workshop.yaml")
        names = os.path.join(d.tmp, "participants.txt")
        with open(names, "w") as f:
            f.write("".join(f"u{i:02d}\n" for i in range(1, a.envs + 1)))
        rss0 = rss_kb(d.proc.pid)
        t0 = time.monotonic()
        r = d.berth("env", "create", "-f", tmpl, "--each", names, "--set", "participant={name}", "--wait",
                    "--parallel", str(a.parallel), "--timeout", "300", timeout=900)
        provision = time.monotonic() - t0
        running = sum(1 for x in d.ps() if x["state"] == "running")
        rss1 = rss_kb(d.proc.pid)
        t1 = time.monotonic()
        d.berth("env", "rm", "--volumes", "p-{name}", "--each", names, "--parallel", str(a.parallel), timeout=900)
        teardown = time.monotonic() - t1
        time.sleep(0.5)
        leaks = d.leaks()
    finally:
        d.cleanup()
    print(r.stdout.strip().splitlines()[-1])
    print(f"provisioned {a.envs} environments ({running} replicas running) in {provision:.1f} s "
          f"(--parallel {a.parallel}; target <= 60 s)")
    print(f"berthd RSS {rss0} KiB -> {rss1} KiB ({(rss1 - rss0) / max(1, running):.0f} KiB per replica)")
    print(f"teardown {teardown:.1f} s; leaks after teardown: {sum(len(v) for v in leaks.values())} {leaks or ''}")
    if a.json:
        print(json.dumps({"envs": a.envs, "replicas": running, "provision_s": provision, "teardown_s": teardown,
                          "rss_before_kib": rss0, "rss_after_kib": rss1, "leaks": leaks}))
    return 1 if leaks or running != 2 * a.envs else 0


if __name__ == "__main__":
    sys.exit(main())
