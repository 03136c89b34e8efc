#!/usr/bin/env python3
"""Core benchmarks (issue 2): run as root with real runc containers.

  1. bring-up: wall time of `berth env create --wait` for environments of N services
  2. memory:   berthd RSS growth per managed container, over 50 containers
  3. start:    container start latency inside berthd (start -> running, from its events)
               against a bare `runc run --detach` of the same bundle, side by side

Usage: bench/core_bench.py [--rounds 5] [--containers 50] [--json]
Prints a table; --json adds one JSON object with every figure.
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "integration"))
from harness import Daemon, require_root, write_spec  # noqa: E402


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def spec(name, services, replicas=1):
    lines = [f"name: {name}", "services:"]
    for i in range(services):
        lines += [f"  s{i}:", "    image: host", '    command: ["sleep", "infinity"]',
                  f"    deploy: {{replicas: {replicas}}}"]
    return "\n".join(lines) + "\n"


def bring_up(d, rounds, sizes):
    out = {}
    for n in sizes:
        times = []
        for r in range(rounds):
            path = write_spec(d.tmp, spec(f"up{n}-{r}", n), f"up{n}.yaml")
            t0 = time.monotonic()
            d.berth("env", "create", "-f", path, "--wait")
            times.append(time.monotonic() - t0)
            d.berth("env", "rm", f"up{n}-{r}")
        out[n] = statistics.median(times)
    return out


def memory(d, containers):
    pid = d.proc.pid
    # Warm up allocator and code paths with one environment first.
    path = write_spec(d.tmp, spec("warm", 2), "warm.yaml")
    d.berth("env", "create", "-f", path, "--wait")
    d.berth("env", "rm", "warm")
    time.sleep(0.5)
    before = rss_kb(pid)
    per_env = 10
    for e in range(containers // per_env):
        path = write_spec(d.tmp, spec(f"mem{e}", per_env), "mem.yaml")
        d.berth("env", "create", "-f", path, "--wait")
    time.sleep(1.0)
    after = rss_kb(pid)
    for e in range(containers // per_env):
        d.berth("env", "rm", f"mem{e}")
    return before, after, (after - before) / containers


def start_latency(d, rounds):
    berth_ms = []
    for r in range(rounds):
        path = write_spec(d.tmp, spec(f"lat{r}", 1), "lat.yaml")
        d.berth("env", "create", "-f", path, "--wait")
        evs = d.json("events", "--env", f"lat{r}")
        t_start = [e["time_ms"] for e in evs if e["kind"] == "start"][0]
        t_run = [e["time_ms"] for e in evs if e["kind"] == "running"][0]
        berth_ms.append(t_run - t_start)
        if r == 0:  # keep this bundle for the bare-runc comparison
            bundle = os.path.join(d.run_dir, "bundles", f"lat{r}.s0.1")
            saved = os.path.join(d.tmp, "bare-bundle")
            shutil.rmtree(saved, ignore_errors=True)
            os.makedirs(saved)
            cfg = json.load(open(os.path.join(bundle, "config.json")))
            shutil.copytree(os.path.join(bundle, "rootfs"), os.path.join(saved, "rootfs"), symlinks=True)
        d.berth("env", "rm", f"lat{r}")
    # Bare runc: same config, its own root and cgroup, detached.
    root = os.path.join(d.tmp, "bare-runc")
    cfg["root"]["path"] = os.path.join(saved, "rootfs")
    # The replica's network namespace and its environment's hosts/resolv.conf went with
    # `env rm`: bare runc gets a fresh namespace (as berthd's does) and no such mounts.
    for ns in cfg["linux"]["namespaces"]:
        ns.pop("path", None)
    def gone(m):
        bind = m.get("type") == "bind" or {"bind", "rbind"} & set(m.get("options", []))
        return bind and not os.path.exists(m.get("source", ""))
    cfg["mounts"] = [m for m in cfg["mounts"] if not gone(m)]
    bare_ms = []
    for r in range(rounds):
        cid = f"bare{r}"
        cfg["linux"]["cgroupsPath"] = f"/{d.cgroup_parent}-bare/{cid}"
        with open(os.path.join(saved, "config.json"), "w") as f:
            json.dump(cfg, f)
        t0 = time.monotonic()
        # Not a pipe: the detached container would hold it open and run() would wait forever.
        with open(os.path.join(d.tmp, "bare-runc.err"), "w+") as err:
            r = subprocess.run(["runc", "--root", root, "run", "--detach", "--bundle", saved, cid],
                               stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err)
            if r.returncode != 0:
                err.seek(0)
                raise RuntimeError(f"bare runc run failed: {err.read().strip()}")
        bare_ms.append((time.monotonic() - t0) * 1000)
        subprocess.run(["runc", "--root", root, "delete", "--force", cid], check=True)
    for base in ("/sys/fs/cgroup",):
        for ctrl in os.listdir(base):
            p = os.path.join(base, ctrl, f"{d.cgroup_parent}-bare")
            if os.path.isdir(p):
                try:
                    os.rmdir(p)
                except OSError:
                    pass
    return statistics.median(berth_ms), statistics.median(bare_ms)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--containers", type=int, default=50)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    require_root()
    d = Daemon().start()
    try:
        up = bring_up(d, a.rounds, [1, 5, 10, 20])
        before, after, per = memory(d, a.containers)
        berth_ms, bare_ms = start_latency(d, a.rounds)
    finally:
        d.cleanup()
    print("bring-up (berth env create --wait, sleep services, median of %d):" % a.rounds)
    for n, t in up.items():
        print(f"  {n:>3} services  {t * 1000:8.0f} ms   ({t * 1000 / n:6.0f} ms/service)")
    print(f"berthd RSS: {before} KiB -> {after} KiB with {a.containers} containers: "
          f"{per:.0f} KiB per container (target <= 200 KB)")
    print(f"container start, median of {a.rounds}: berthd start->running {berth_ms:.0f} ms, "
          f"bare runc run --detach {bare_ms:.0f} ms, ratio {berth_ms / bare_ms:.2f}")
    if a.json:
        print(json.dumps({"bring_up_ms": {n: round(t * 1000) for n, t in up.items()},
                          "rss_before_kib": before, "rss_after_kib": after, "rss_per_container_kib": per,
                          "start_berth_ms": berth_ms, "start_bare_runc_ms": bare_ms}))


if __name__ == "__main__":
    main()
