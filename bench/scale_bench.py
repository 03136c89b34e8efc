#!/usr/bin/env python3
"""Scale-out under a step load (issue 5): 1 client, then at once 50 concurrent clients,
against a Python service with concurrency limit 5 and scale {min: 1, max: 10}, through
berth-proxy with real runc containers. Run as root.

Reports the time from the step until enough replicas are ready (50 clients / limit 5 = 10),
the latency percentiles during the step, and the 429 and 5xx counts (5xx must be 0; with
queue 100 nothing should be turned away either). Each request sleeps WORK_MS (I/O-bound
handler, like a database call), so the numbers measure the platform, not the CPU.

Usage: bench/scale_bench.py [--clients 50] [--seconds 30] [--work-ms 100] [--json]
"""
import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "integration"))
from harness import EXAMPLES, Daemon, Load, require_root, wait_for, write_spec  # noqa: E402

SPEC = """name: step
services:
  api:
    image: host
    command: ["python3", "-S", "/app/handler.py"]
    environment: {{PORT: "8080", WORK_MS: "{work_ms}"}}
    volumes: ["{app}:/app:ro"]
    deploy:
      resources: {{limits: {{cpus: "0.5", memory: 64M}}}}
    x-berth:
      expose: {{port: 8080}}
      concurrency: {{limit: 5, queue: 100, queue_timeout: 30s}}
      scale: {{min: 1, max: 10}}
"""


def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(round(p / 100 * (len(v) - 1))))] if v else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--work-ms", type=int, default=100)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    require_root()
    d = Daemon().start()
    try:
        path = write_spec(d.tmp, SPEC.format(app=os.path.join(EXAMPLES, "lambda-style", "app"), work_ms=a.work_ms))
        d.berth("env", "create", "-f", path, "--wait")
        host = "api.step.localhost"

        def ready():
            return sum(1 for r in d.ps("step") if r["service"] == "api" and r["state"] == "running"
                       and r["health"] in ("none", "healthy"))

        wait_for(lambda: ready() == 1, timeout=30, what="one replica ready")
        load = Load(d.proxy_port, host, 1, pause_after_429=0.1).start()  # a client told to retry later does so
        time.sleep(5)  # the 1-client baseline
        need = (a.clients + 4) // 5
        step_at = time.monotonic()
        load.add(a.clients - 1)
        reached, timeline, last = None, [], -1
        while time.monotonic() - step_at < a.seconds:
            n = ready()
            if n != last:
                timeline.append((round(time.monotonic() - step_at, 2), n))
                last = n
            if reached is None and n >= need:
                reached = time.monotonic() - step_at
            time.sleep(0.1)
        out = load.stop(timeout=70)
        step = [r for r in out if r[3] >= step_at]
        lat = [r[2] * 1000 for r in step if r[0] == 200]
        codes = {}
        for r in step:
            k = str(r[0]) if isinstance(r[0], int) else "error"
            codes[k] = codes.get(k, 0) + 1
        n5xx = sum(v for k, v in codes.items() if k.startswith("5") or k == "error")
        summary = {
            "clients": a.clients, "limit": 5, "max": 10, "work_ms": a.work_ms,
            "seconds_to_enough_replicas": round(reached, 2) if reached is not None else None,
            "enough_replicas": need, "requests": len(step), "codes": codes, "n429": codes.get("429", 0),
            "n5xx_or_error": n5xx,
            "p50_ms": round(pct(lat, 50), 1), "p90_ms": round(pct(lat, 90), 1), "p99_ms": round(pct(lat, 99), 1),
            "max_ms": round(max(lat), 1) if lat else None, "ready_timeline": timeline,
            "throughput_rps": round(len(step) / a.seconds, 1),
        }
        decisions = [e["message"] for e in d.json("events", "--env", "step") if e["kind"] == "autoscale"]
        print(f"step 1 -> {a.clients} clients (limit 5, max 10, {a.work_ms} ms requests), {a.seconds:.0f} s:")
        print(f"  {need} replicas ready after {summary['seconds_to_enough_replicas']} s; "
              f"ready over time (s, n): {timeline}")
        print(f"  {len(step)} requests ({summary['throughput_rps']}/s): p50 {summary['p50_ms']} ms, "
              f"p90 {summary['p90_ms']} ms, p99 {summary['p99_ms']} ms, max {summary['max_ms']} ms")
        print(f"  status counts {codes}; 429: {summary['n429']}; 5xx or errors: {n5xx}")
        print(f"  decisions: {decisions}")
        if a.json:
            print(json.dumps(summary))
        d.berth("env", "rm", "step")
        if n5xx:
            sys.exit(1)
    finally:
        d.cleanup()


if __name__ == "__main__":
    main()
