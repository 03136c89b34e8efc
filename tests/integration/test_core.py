"""Core integration tests: real runc containers under a private berthd.

Covers issue 2's "done means": limits (OOM, pids), hardening, restart with backoff,
unhealthy -> restarted, volumes surviving restarts and env rm, kill -9 of berthd x5
changing nothing, and env rm leaving nothing behind.
"""
import os
import re
import signal
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (EXAMPLES, Daemon, free_port, http_get, require_root, wait_for,  # noqa: E402
                     write_spec)


class CoreTest(unittest.TestCase):
    daemon_args = ("--backoff-base", "300ms", "--backoff-cap", "1200ms")

    @classmethod
    def setUpClass(cls):
        require_root(cls)
        cls.d = Daemon(extra_args=cls.daemon_args).start()
        cls.specs = os.path.join(cls.d.tmp, "specs")
        os.makedirs(cls.specs)

    @classmethod
    def tearDownClass(cls):
        d = cls.d
        d.cleanup()
        leaks = d.runc_containers() + d.leftover_cgroups()
        if leaks:
            raise AssertionError(f"leaked: {leaks}")

    def spec(self, name, text):
        return write_spec(self.specs, text, name + ".yaml")

    def events(self, env):
        return self.d.json("events", "--env", env)

    # ------------------------------------------------------------------------------
    def test_hello_example_up_ps_logs(self):
        port = 8000  # inside the environment's own network
        self.d.berth("up", "-f", os.path.join(EXAMPLES, "hello", "berth.yaml"), "--env", "hello-it", "--wait")
        rows = {r["service"]: r for r in self.d.ps("hello-it")}
        self.assertEqual(set(rows), {"web", "worker"})
        for r in rows.values():
            for k in ("env", "service", "replica", "id", "state", "pid", "ip", "restarts", "health"):
                self.assertIn(k, r)
            self.assertEqual(r["state"], "running")
            self.assertGreater(r["pid"], 0)
        self.assertEqual(rows["web"]["health"], "healthy")
        web_ip = rows["web"]["ip"]
        self.assertTrue(web_ip.startswith(self.d.subnet_pool.split(".0.0/")[0] + "."), web_ip)
        self.assertNotEqual(web_ip, rows["worker"]["ip"])
        status, body = http_get(port, host=web_ip)
        self.assertEqual(status, 200, body)
        self.assertIn("hello from berth", body)
        # The worker started only after web was healthy (depends_on: service_healthy).
        evs = self.events("hello-it")
        healthy = [e["seq"] for e in evs if e["replica"] == "hello-it.web.1" and e["kind"] == "health"
                   and e["message"].startswith("healthy")]
        worker_start = [e["seq"] for e in evs if e["replica"] == "hello-it.worker.1" and e["kind"] == "start"]
        self.assertTrue(healthy and worker_start, evs)
        self.assertLess(healthy[0], worker_start[0])
        # logs: history and follow.
        wait_for(lambda: "listening on" in self.d.berth("logs", "hello-it/web").stdout, what="web log line")
        follow = subprocess.Popen([self.d_berth(), "logs", "-f", "--tail", "0", "hello-it/web"],
                                  stdout=subprocess.PIPE, text=True, env=self.client_env())
        try:
            time.sleep(0.5)
            http_get(port, "/followed", host=web_ip)
            import select
            ready, _, _ = select.select([follow.stdout], [], [], 10)
            self.assertTrue(ready, "logs -f printed nothing within 10s")
            self.assertIn("/followed", follow.stdout.readline())
        finally:
            follow.kill()
            follow.wait()
        tail = self.d.berth("logs", "--tail", "1", "hello-it/worker").stdout
        self.assertEqual(len(tail.strip().splitlines()), 1)
        self.d.berth("env", "rm", "--volumes", "hello-it")

    def d_berth(self):
        from harness import BERTH
        return BERTH

    def client_env(self):
        e = dict(os.environ)
        e["BERTH_SOCKET"] = self.d.socket
        return e

    # ------------------------------------------------------------------------------
    def test_crash_loop_backs_off_as_configured(self):
        path = self.spec("crash", """
name: crash
services:
  c:
    image: host
    command: ["sh", "-c", "echo started; sleep 0.2; exit 3"]
    restart: always
""")
        self.d.berth("env", "create", "-f", path)
        self.d.wait_state("crash", "c", lambda r: r["restarts"] >= 4, timeout=30, what="4 restarts")
        seen_backoff = wait_for(lambda: self.d.replica("crash", "c")["state"] == "backoff", timeout=10,
                                interval=0.02, what="backoff state")
        self.assertTrue(seen_backoff)
        evs = self.events("crash")
        exits = [e["time_ms"] for e in evs if e["kind"] == "exit"]
        starts = [e["time_ms"] for e in evs if e["kind"] == "restart"]
        self.assertGreaterEqual(len(starts), 4)
        delays = [s - x for x, s in zip(exits, starts)]
        # Nominal 300, 600, 1200, 1200 ms with +-20% jitter (plus scheduling slack).
        for got, nominal in zip(delays, [300, 600, 1200, 1200]):
            self.assertGreaterEqual(got, nominal * 0.8 - 5, delays)
            self.assertLessEqual(got, nominal * 1.2 + 250, delays)
        self.assertIn("exited 3", [e["message"].split(",")[0] for e in evs if e["kind"] == "exit"])
        self.d.berth("env", "rm", "crash")

    def test_killed_process_is_restarted(self):
        path = self.spec("victim", """
name: victim
services:
  v:
    image: host
    command: ["sleep", "infinity"]
    restart: always
""")
        self.d.berth("env", "create", "-f", path, "--wait")
        before = self.d.replica("victim", "v")
        os.kill(before["pid"], signal.SIGKILL)
        after = self.d.wait_state("victim", "v", lambda r: r["restarts"] == 1 and r["state"] == "running",
                                  timeout=15)
        self.assertNotEqual(after["pid"], before["pid"])
        exit_ev = [e for e in self.events("victim") if e["kind"] == "exit"][-1]
        self.assertIn("killed by signal 9", exit_ev["message"])
        self.d.berth("env", "rm", "victim")

    def test_memory_limit_oom_kill_is_reported(self):
        path = self.spec("oom", """
name: oom
services:
  hog:
    image: host
    command: ["python3", "-c", "import time; b = bytearray(300 * 1024 * 1024); time.sleep(60)"]
    restart: always
    deploy: {resources: {limits: {memory: 64M}}}
""")
        self.d.berth("env", "create", "-f", path)
        r = self.d.wait_state("oom", "hog", lambda r: r["restarts"] >= 1, timeout=30, what="a restart after OOM")
        evs = [e for e in self.events("oom") if e["kind"] == "exit"]
        self.assertTrue(evs and evs[0]["message"].startswith("OOM-killed"), evs)
        self.d.berth("env", "rm", "oom")

    def test_fork_bomb_stops_at_pids_limit_neighbour_serves(self):
        port = free_port()
        path = self.spec("bomb", f"""
name: bomb
services:
  bomb:
    image: host
    command:
      - python3
      - -c
      - |
        import os, time
        for _ in range(5000):  # bounded: at most 5000 attempts
            try:
                if os.fork() == 0:
                    time.sleep(300)
                    os._exit(0)
            except OSError:
                time.sleep(0.001)
        time.sleep(300)
    deploy: {{resources: {{limits: {{pids: 64}}}}}}
  web:
    image: host
    command: ["python3", "-m", "http.server", "{port}"]
    healthcheck: {{test: ["TCP", "{port}"], interval: 1s, start_period: 10s, start_interval: 100ms}}
""")
        self.d.berth("env", "create", "-f", path, "--wait")
        time.sleep(2)
        stats = {s["id"]: s for s in self.d.json("stats", "--env", "bomb")}
        self.assertLessEqual(stats["bomb.bomb.1"]["pids"], 64)
        self.assertGreaterEqual(stats["bomb.bomb.1"]["pids"], 32)  # it really tried
        status, _ = http_get(port, host=self.d.replica("bomb", "web")["ip"])
        self.assertEqual(status, 200)
        self.d.berth("env", "rm", "bomb")

    def test_hardening_inside_the_container(self):
        path = self.spec("hard", r"""
name: hard
services:
  probe:
    image: host
    command:
      - sh
      - -c
      - |
        grep -E '^(NoNewPrivs|Seccomp|CapEff):' /proc/self/status
        if echo x > /proc/sys/kernel/hostname 2>/dev/null; then echo procsys=writable; else echo procsys=readonly; fi
        if touch /usr/berth-test 2>/dev/null; then echo usr=writable; else echo usr=readonly; fi
        echo done
    restart: "no"
""")
        self.d.berth("env", "create", "-f", path)
        self.d.wait_state("hard", "probe", lambda r: r["state"] == "exited", timeout=20)
        out = self.d.berth("logs", "hard/probe").stdout
        self.assertIn("done", out)
        self.assertRegex(out, r"NoNewPrivs:\s+1")
        self.assertRegex(out, r"Seccomp:\s+2")
        cap = int(re.search(r"CapEff:\s+([0-9a-f]+)", out).group(1), 16)
        self.assertFalse(cap & (1 << 21), "CAP_SYS_ADMIN must not be effective")
        self.assertIn("procsys=readonly", out)
        self.assertIn("usr=readonly", out)
        self.assertFalse(os.path.exists("/usr/berth-test"))
        self.d.berth("env", "rm", "hard")

    def test_unhealthy_replica_is_restarted(self):
        path = self.spec("sick", """
name: sick
services:
  s:
    image: host
    command: ["sleep", "infinity"]
    healthcheck: {test: ["CMD", "false"], interval: 300ms, timeout: 2s, retries: 2}
    restart: always
""")
        self.d.berth("env", "create", "-f", path)
        self.d.wait_state("sick", "s", lambda r: r["restarts"] >= 1, timeout=30, what="restart after unhealthy")
        kinds = [(e["kind"], e["message"]) for e in self.events("sick")]
        self.assertIn("unhealthy", [k for k, _ in kinds])
        self.assertTrue(any(k == "exit" and m.startswith("unhealthy") for k, m in kinds), kinds)
        self.d.berth("env", "rm", "sick")

    def test_volume_survives_restart_and_env_rm(self):
        path = self.spec("vol", """
name: vol
services:
  w:
    image: host
    command: ["sh", "-c", "echo x >> /data/count; wc -l < /data/count; sleep infinity"]
    volumes: ["data:/data"]
    restart: always
volumes: {data: {}}
""")
        count_file = os.path.join(self.d.state_dir, "volumes", "vol", "data", "count")
        lines = lambda: open(count_file).read().count("x") if os.path.exists(count_file) else 0
        self.d.berth("env", "create", "-f", path, "--wait")
        wait_for(lambda: lines() == 1, what="first write")
        self.d.berth("restart", "vol/w")
        wait_for(lambda: lines() == 2, what="write after restart")
        self.d.berth("env", "rm", "vol")
        self.assertTrue(os.path.exists(count_file), "volumes are kept without --volumes")
        self.d.berth("env", "create", "-f", path, "--wait")
        wait_for(lambda: lines() == 3, what="write after re-create")
        self.d.berth("env", "rm", "--volumes", "vol")
        self.assertFalse(os.path.exists(count_file))

    def test_env_rm_leaves_nothing_behind(self):
        path = self.spec("tidy", """
name: tidy
services:
  a: {image: host, command: ["sleep", "infinity"], deploy: {replicas: 2}}
  b: {image: host, command: ["sleep", "infinity"]}
""")
        self.d.berth("env", "create", "-f", path, "--wait")
        pids = [r["pid"] for r in self.d.ps("tidy")]
        self.assertEqual(len(pids), 3)
        self.d.berth("env", "rm", "tidy")
        self.assertEqual([c for c in self.d.runc_containers() if c.startswith("tidy.")], [])
        self.assertEqual([c for c in self.d.leftover_cgroups() if "/tidy." in c], [])
        self.assertEqual([b for b in self.d.leftover_bundles() if b.startswith("tidy.")], [])
        fifo_dir = os.path.join(self.d.run_dir, "fifo")
        self.assertEqual([f for f in os.listdir(fifo_dir) if f.startswith("tidy.")], [])
        for pid in pids:
            self.assertFalse(os.path.exists(f"/proc/{pid}"), f"process {pid} still exists")
        with open("/proc/self/mounts") as f:
            self.assertNotIn(self.d.run_dir, f.read(), "no mount under the run dir is left on the host")
        self.assertEqual(self.d.ps("tidy") if False else [r for r in self.d.ps() if r["env"] == "tidy"], [])


class Kill9Test(unittest.TestCase):
    """kill -9 of berthd, five times: no PID, restart count or replica changes."""

    @classmethod
    def setUpClass(cls):
        require_root(cls)
        cls.d = Daemon().start()

    @classmethod
    def tearDownClass(cls):
        cls.d.cleanup()

    def test_kill9_five_times_changes_nothing(self):
        port = free_port()
        path = write_spec(self.d.tmp, f"""
name: sturdy
services:
  web:
    image: host
    command: ["python3", "-m", "http.server", "{port}"]
    healthcheck: {{test: ["HTTP", "http://localhost:{port}/"], interval: 500ms, start_period: 10s, start_interval: 100ms}}
    restart: always
  worker:
    image: host
    command: ["sh", "-c", "while true; do echo tick; sleep 0.2; done"]
    deploy: {{replicas: 2}}
    restart: always
""")
        self.d.berth("env", "create", "-f", path, "--wait")
        def snapshot():
            return {r["id"]: (r["pid"], r["restarts"], r["state"]) for r in self.d.ps("sturdy")}
        before = snapshot()
        self.assertEqual(len(before), 3)
        web_ip = self.d.replica("sturdy", "web")["ip"]
        for i in range(5):
            self.d.kill9()
            self.assertEqual(http_get(port, host=web_ip)[0], 200, "the service keeps serving while berthd is down")
            self.d.start()
            self.assertEqual(snapshot(), before, f"after kill -9 #{i + 1}")
            self.assertEqual(sorted(self.d.runc_containers()), sorted(before), "no duplicate containers")
        # Supervision resumed: logs still flow and a crash is still restarted.
        n = len(self.d.berth("logs", "sturdy/worker/1").stdout.splitlines())
        wait_for(lambda: len(self.d.berth("logs", "sturdy/worker/1").stdout.splitlines()) > n + 2,
                 what="log capture to resume")
        os.kill(before["sturdy.worker.1"][0], signal.SIGKILL)
        self.d.wait_state("sturdy", "worker", lambda r: r["restarts"] == 1 and r["state"] == "running", timeout=20)
        self.d.wait_state("sturdy", "web", lambda r: r["health"] == "healthy", timeout=10)


if __name__ == "__main__":
    unittest.main(verbosity=2)
