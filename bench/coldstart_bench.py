#!/usr/bin/env python3
"""Cold start (issue 5): from the first request to a scaled-to-zero Python HTTP service to
its response, through berth-proxy, with real runc containers. Run as root.

Each round waits until the service has no running replica (scale to zero after `idle`)
and its standby (bundle, network and `runc create` done ahead) is prepared, then sends
one GET through the proxy and times it. The breakdown comes from berthd's events:

  activate   request sent -> the autoscaler's decision (the proxy's activation message)
  start      decision -> the supervisor starts the standby (`start` event)
  runc       start -> the container's process runs (`running` event)
  app+ready  running -> readiness seen (the app listens; TCP probe every 10 ms)
  respond    ready -> the response is back (route push, proxy releases the request)

The service is examples/lambda-style (stdlib-only handler, `python3 -S`), limit 1.
Usage: bench/coldstart_bench.py [--rounds 15] [--idle 1s] [--json]
"""
import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "integration"))
from harness import EXAMPLES, Daemon, require_root, wait_for, write_spec  # noqa: E402

SPEC = """name: cold
services:
  fn:
    image: host
    command: ["python3", "-S", "/app/handler.py"]
    environment: {{PORT: "8080"}}
    volumes: ["{app}:/app:ro"]
    deploy:
      resources: {{limits: {{cpus: "1", memory: 64M}}}}
    x-berth:
      expose: {{port: 8080}}
      concurrency: {{limit: 1, queue: 50, queue_timeout: 30s}}
      scale: {{min: 0, max: 4, idle: {idle}, window: 6s}}
"""


def get(port, host, timeout=30.0):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    s.sendall(f"GET / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    s.close()
    return int(data.split(b" ", 2)[1])


def fn_replicas(d):
    return [r for r in d.ps("cold") if r["service"] == "fn"]


def runc_status(d, cid):
    r = subprocess.run(["runc", "--root", os.path.join(d.run_dir, "runc"), "state", cid],
                       capture_output=True, text=True)
    return json.loads(r.stdout).get("status") if r.returncode == 0 else None


def scaled_to_zero_with_standby(d):
    """No replica serving, and one standby whose container runc has created."""
    reps = fn_replicas(d)
    running = [r for r in reps if r["state"] not in ("standby", "exited", "stopped")]
    standby = [r for r in reps if r["state"] == "standby"]
    return not running and len(standby) == 1 and runc_status(d, standby[0]["id"]) == "created"


def first_after(evs, kind, t0_ms, pred=lambda e: True):
    for e in evs:
        if e["kind"] == kind and e["time_ms"] >= t0_ms and pred(e):
            return e["time_ms"]
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--idle", default="1s")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    require_root()
    d = Daemon().start()
    try:
        path = write_spec(d.tmp, SPEC.format(app=os.path.join(EXAMPLES, "lambda-style", "app"), idle=a.idle))
        d.berth("env", "create", "-f", path)
        host = "fn.cold.localhost"
        rows = []
        for r in range(a.rounds + 1):  # round 0 warms the page cache and is not counted
            wait_for(lambda: scaled_to_zero_with_standby(d), timeout=60, interval=0.1, what="scale to zero")
            time.sleep(0.3)  # let the last stats report and probes settle
            after = max([e["seq"] for e in d.json("events", "--env", "cold")] or [0])
            t0 = time.time()
            status = get(d.proxy_port, host)
            t1 = time.time()
            if status != 200:
                raise AssertionError(f"round {r}: status {status}")
            evs = [e for e in d.json("events", "--env", "cold", "--after", str(after))]
            t0_ms, t1_ms = t0 * 1000, t1 * 1000
            ev_auto = first_after(evs, "autoscale", t0_ms - 1)
            ev_start = first_after(evs, "start", t0_ms - 1)
            ev_run = first_after(evs, "running", t0_ms - 1)
            ev_ready = first_after(evs, "health", t0_ms - 1, lambda e: e["message"].startswith(("ready", "healthy")))
            row = {"total_ms": (t1 - t0) * 1000}
            if None not in (ev_auto, ev_start, ev_run, ev_ready):
                row.update(activate_ms=ev_auto - t0_ms, start_ms=ev_start - ev_auto, runc_ms=ev_run - ev_start,
                           app_ready_ms=ev_ready - ev_run, respond_ms=t1_ms - ev_ready)
            if r > 0:
                rows.append(row)
            print(f"round {r:2d}: {row['total_ms']:6.1f} ms" + ("" if r else "  (warm-up, not counted)") +
                  "".join(f"  {k[:-3]} {v:5.1f}" for k, v in row.items() if k != "total_ms"), flush=True)
        totals = [x["total_ms"] for x in rows]
        keys = ["activate_ms", "start_ms", "runc_ms", "app_ready_ms", "respond_ms"]
        med = {k: statistics.median([x[k] for x in rows if k in x]) for k in keys if any(k in x for x in rows)}
        summary = {"rounds": len(rows), "median_ms": statistics.median(totals), "min_ms": min(totals),
                   "max_ms": max(totals), "breakdown_median_ms": med}
        print(f"\ncold start, zero -> first response through berth-proxy ({len(rows)} rounds): "
              f"median {summary['median_ms']:.0f} ms, min {summary['min_ms']:.0f}, max {summary['max_ms']:.0f}")
        print("breakdown (medians, ms; event times have 1 ms resolution): " +
              ", ".join(f"{k[:-3]} {v:.0f}" for k, v in med.items()))
        if a.json:
            print(json.dumps({"summary": summary, "rounds": rows}))
        d.berth("env", "rm", "cold")
    finally:
        d.cleanup()


if __name__ == "__main__":
    main()
