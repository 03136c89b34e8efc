"""Autoscaling and scale to zero (issue 5), end to end through berthd and berth-proxy with
real runc containers: idle services run nothing, a burst at zero is buffered and served
(Knative's TestActivatorOverload), a step load scales out and back to min, and a rolling
update under constant load fails no request. Skipped (with the reason) when not root."""
import os
import shutil
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import EXAMPLES, Daemon, Load, require_root, wait_for, write_spec  # noqa: E402

APP = os.path.join(EXAMPLES, "lambda-style", "app")

SPEC = """name: {env}
x-berth:
  params:
    version: {{default: "1"}}
services:
  fn:
    image: host
    command: ["python3", "-S", "/app/handler.py"]
    environment: {{PORT: "8080", WORK_MS: "{work_ms}", VERSION: "${{version}}"}}
    volumes: ["{app}:/app:ro"]
    stop_grace_period: 5s
    x-berth:
      expose: {{port: 8080}}
      concurrency: {{limit: {limit}, queue: {queue}, queue_timeout: 60s}}
      scale: {{min: {min}, max: {max}, idle: {idle}, window: 6s}}
"""


def spec(env, limit=1, queue=200, min=0, max=10, idle="2s", work_ms=0):
    return SPEC.format(env=env, app=APP, limit=limit, queue=queue, min=min, max=max, idle=idle, work_ms=work_ms)


class AutoscaleTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        require_root(cls)
        cls.d = Daemon().start()

    @classmethod
    def tearDownClass(cls):
        cls.d.cleanup()

    def create(self, env, text, *extra):
        path = write_spec(self.d.tmp, text, f"{env}.yaml")
        self.d.berth("env", "create", "-f", path, *extra)
        self.addCleanup(lambda: self.d.berth("env", "rm", env, check=False))
        return path

    def serving(self, env, svc="fn"):
        """Replicas that count (not standbys, not stopped ones)."""
        return [r for r in self.d.ps(env) if r["service"] == svc and r["state"] not in ("standby", "stopped")]

    def ready(self, env, svc="fn"):
        return [r for r in self.serving(env, svc) if r["state"] == "running" and r["health"] in ("none", "healthy")]

    def test_min_zero_runs_nothing_when_idle_and_goes_back_to_zero(self):
        self.create("idle", spec("idle", idle="1s"))
        time.sleep(3)
        self.assertEqual(self.serving("idle"), [], "a min: 0 service started a replica without traffic")
        # A standby may be prepared (runc created), but no process of the app runs.
        for r in self.d.ps("idle"):
            self.assertEqual(r["state"], "standby")
        status, body = self.d.proxy_get("fn.idle.localhost")
        self.assertEqual(status, 200, body)
        self.assertIn("hello from fn-", body)
        self.assertEqual(len(self.ready("idle")), 1)
        # No traffic for `idle` (1 s): back to zero, with a scaling event saying why.
        wait_for(lambda: not self.serving("idle"), timeout=30, what="scale back to zero")
        msgs = [e["message"] for e in self.d.json("events", "--env", "idle") if e["kind"] == "autoscale"]
        self.assertTrue(any(m.startswith("0 -> 1") for m in msgs), msgs)
        # (limit 1 at 70 % wants ceil(1 / 0.7) = 2 replicas for one steady request: Knative's rule)
        self.assertTrue(any(m.split(" (")[0].endswith("-> 0") for m in msgs), msgs)

    def test_burst_of_100_at_zero_all_served(self):
        # Knative's TestActivatorOverload: limit 1, scaled to zero, 100 requests at once.
        self.create("burst", spec("burst", limit=1, queue=200, max=10, work_ms=50))
        wait_for(lambda: any(r["state"] == "standby" for r in self.d.ps("burst")), timeout=30, what="standby")
        self.assertEqual(self.serving("burst"), [])
        load = Load(self.d.proxy_port, "fn.burst.localhost", clients=100, per_client=1).start()
        results = load.stop(timeout=120)
        statuses = [r[0] for r in results]
        self.assertEqual(len(statuses), 100)
        self.assertEqual(statuses.count(200), 100, f"not all 200: {sorted(set(map(str, statuses)))}")
        replicas = {r[1].strip() for r in results}
        self.assertGreater(len(replicas), 1, "the burst was served by one replica: no scale-out")
        msgs = [e["message"] for e in self.d.json("events", "--env", "burst") if e["kind"] == "autoscale"]
        print(f"\nburst: {len(replicas)} replicas served it, slowest {max(r[2] for r in results):.2f} s; "
              f"decisions: {msgs}", file=sys.stderr)

    def test_step_load_scales_out_then_back_to_min(self):
        # limit 2 at 70 % -> 1.4 per replica; 8 clients of 200 ms requests want ~6 replicas.
        self.create("step", spec("step", limit=2, queue=100, min=1, max=6, work_ms=200, idle="1s"), "--wait")
        wait_for(lambda: len(self.ready("step")) == 1, timeout=30, what="min replicas ready")
        load = Load(self.d.proxy_port, "fn.step.localhost", clients=8).start()
        try:
            wait_for(lambda: len(self.ready("step")) >= 4, timeout=40, interval=0.25, what="scale out to >= 4")
            peak = len(self.ready("step"))
            view = self.d.json("autoscale", "--env", "step")
            metrics = subprocess.run(["curl", "-sf", "--unix-socket", self.d.socket, "http://berthd/v1/metrics"],
                                     capture_output=True, text=True, check=True).stdout
        finally:
            statuses = [r[0] for r in load.stop()]
        bad = [s for s in statuses if s != 200]
        self.assertEqual(bad, [], f"{len(bad)} of {len(statuses)} failed under a step load")
        # With one client left the stable window (6 s) empties and the count returns to min
        # (1) — draining each replica it stops: that client sees no error.
        trickle = Load(self.d.proxy_port, "fn.step.localhost", clients=1).start()
        try:
            wait_for(lambda: len(self.serving("step")) == 1, timeout=60, interval=0.5, what="scale back to min")
        finally:
            down = [r[0] for r in trickle.stop()]
        self.assertEqual([s for s in down if s != 200], [], f"failures while scaling down ({len(down)} requests)")
        msgs = [e["message"] for e in self.d.json("events", "--env", "step") if e["kind"] == "autoscale"]
        print(f"\nstep: peak {peak} ready replicas; decisions: {msgs}", file=sys.stderr)
        self.assertTrue(any("stable" in m or "panic" in m for m in msgs), msgs)
        # Observability: desired vs ready, panic and the observed concurrency, as JSON and metrics.
        self.assertEqual([(v["env"], v["service"]) for v in view], [("step", "fn")])
        self.assertGreaterEqual(view[0]["desired"], 4)
        self.assertGreater(view[0]["stable_concurrency"], 1)
        self.assertAlmostEqual(view[0]["target"], 1.4)
        self.assertRegex(metrics, r'berth_autoscaler_desired_replicas\{env="step",service="fn"\} [4-6]\.0+\n')
        self.assertRegex(metrics, r'berth_autoscaler_ready_replicas\{env="step",service="fn"\} \d\.0+\n')
        self.assertRegex(metrics, r'berth_autoscaler_panic\{env="step",service="fn"\} [01]\.0+\n')
        if shutil.which("promtool"):
            r = subprocess.run(["promtool", "check", "metrics"], input=metrics, capture_output=True, text=True)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def test_rolling_update_under_load_fails_nothing(self):
        path = self.create("roll", spec("roll", limit=4, queue=100, min=2, max=2, work_ms=20), "--wait")
        wait_for(lambda: len(self.ready("roll")) == 2, timeout=30, what="two replicas ready")
        old_ids = {r["id"] for r in self.ready("roll")}
        load = Load(self.d.proxy_port, "fn.roll.localhost", clients=4, path="/version").start()
        try:
            time.sleep(1)
            self.d.berth("env", "update", "roll", "-f", path, "--set", "version=2", "--wait")
            wait_for(lambda: not (old_ids & {r["id"] for r in self.serving("roll")}), timeout=60,
                     what="old replicas gone")
            time.sleep(1)
        finally:
            results = load.stop()
        bad = [r[0] for r in results if r[0] != 200]
        self.assertEqual(bad, [], f"{len(bad)} of {len(results)} requests failed during the rolling update")
        self.assertGreater(len(results), 50)
        self.assertEqual(results[-1][1].strip(), "2", "did not end on the new version")
        self.assertEqual(len(self.ready("roll")), 2)
        versions = [r[1].strip() for r in results]
        print(f"\nrolling update: {len(results)} requests, {versions.count('1')} on v1, "
              f"{versions.count('2')} on v2, 0 failed", file=sys.stderr)


if __name__ == "__main__":
    unittest.main()
