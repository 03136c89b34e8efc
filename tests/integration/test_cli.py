"""CLI contract tests: exit codes (0 ok, 1 failure, 2 usage/validation), error messages
naming file:line:col, -o json, and behaviour without a daemon. Most need no root: a
berthd with --runtime process runs unprivileged."""
import json
import time
import os
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import BERTH, EXAMPLES, Daemon, write_spec  # noqa: E402


def run(*args, env=None, input=None):
    e = dict(os.environ)
    e.pop("BERTH_HOST", None)
    if env:
        e.update(env)
    return subprocess.run([BERTH] + list(args), capture_output=True, text=True, env=e, input=input, timeout=60)


class ConfigTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="berth-cli-")

    def tearDown(self):
        subprocess.run(["rm", "-rf", self.dir])

    def test_valid_spec_prints_normalized_and_exits_0(self):
        r = run("config", "-f", os.path.join(EXAMPLES, "hello", "berth.yaml"), "-o", "json")
        self.assertEqual(r.returncode, 0, r.stderr)
        model = json.loads(r.stdout)
        self.assertEqual(model["name"], "hello")
        self.assertIn("web", model["services"])
        r = run("config", "-f", os.path.join(EXAMPLES, "hello", "berth.yaml"))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("services:", r.stdout)

    def test_invalid_spec_exits_2_naming_file_line_column(self):
        path = write_spec(self.dir, "name: bad\nservices:\n  web:\n    image: host\n    command: [x]\n"
                                    "    healthcheck: {test: [CMD, x], interval: 5x}\n")
        r = run("config", "-f", path)
        self.assertEqual(r.returncode, 2)
        self.assertRegex(r.stderr, r"berth\.yaml:6:\d+: error: services\.web\.healthcheck\.interval")
        self.assertEqual(r.stdout, "")

    def test_unknown_key_is_an_error_unsupported_key_a_warning(self):
        path = write_spec(self.dir, "services:\n  web:\n    image: host\n    command: [x]\n    enviroment: {A: b}\n")
        r = run("config", "-f", path)
        self.assertEqual(r.returncode, 2)
        self.assertIn("enviroment", r.stderr)
        path = write_spec(self.dir, "services:\n  web:\n    image: host\n    command: [x]\n    build: .\n")
        r = run("config", "-f", path)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stderr, r"warning: .*build")

    def test_missing_file_and_bad_set_exit_2(self):
        self.assertEqual(run("config", "-f", "/nonexistent/berth.yaml").returncode, 2)
        r = run("config", "-f", os.path.join(EXAMPLES, "hello", "berth.yaml"), "--set", "novalue")
        self.assertEqual(r.returncode, 2)
        self.assertIn("KEY=VALUE", r.stderr)

    def test_usage_errors_exit_2(self):
        self.assertEqual(run().returncode, 2)
        self.assertEqual(run("no-such-command").returncode, 2)
        self.assertEqual(run("ps", "--no-such-flag").returncode, 2)
        self.assertEqual(run("logs", "not-a-target").returncode, 2)
        self.assertEqual(run("scale", "env/svc", "-3").returncode, 2)
        self.assertEqual(run("env", "show", "Bad_Name").returncode, 2)

    def test_help(self):
        r = run("--help")
        self.assertEqual(r.returncode, 0)
        for sub in ("config", "env", "up", "ps", "logs", "restart", "scale", "stats"):
            self.assertIn(sub, r.stdout)

    def test_no_daemon_is_a_clear_failure(self):
        r = run("ps", env={"BERTH_SOCKET": os.path.join(self.dir, "absent.sock")})
        self.assertEqual(r.returncode, 1)
        self.assertIn("cannot reach berthd", r.stderr)


class DaemonCliTest(unittest.TestCase):
    """Against a berthd running the process runtime (works without root)."""

    @classmethod
    def setUpClass(cls):
        cls.d = Daemon(runtime="process").start()

    @classmethod
    def tearDownClass(cls):
        cls.d.cleanup()

    def test_json_outputs_and_errors(self):
        path = write_spec(self.d.tmp, "name: cli\nservices:\n  s: {image: host, command: [sleep, infinity]}\n")
        r = self.d.berth("env", "create", "-f", path, "--wait", "-o", "json")
        self.assertEqual(json.loads(r.stdout)["env"]["name"], "cli")
        again = self.d.berth("env", "create", "-f", path, check=False)
        self.assertEqual(again.returncode, 1)
        self.assertIn("already exists", again.stderr)
        envs = self.d.json("env", "ls")
        self.assertEqual([e["name"] for e in envs], ["cli"])
        show = self.d.json("env", "show", "cli")
        self.assertEqual(show["replicas"][0]["state"], "running")
        rows = self.d.ps("cli")
        self.assertEqual(len(rows), 1)
        for k in ("env", "service", "replica", "id", "state", "pid", "ip", "restarts", "health"):
            self.assertIn(k, rows[0])
        missing = self.d.berth("env", "show", "nope", check=False)
        self.assertEqual(missing.returncode, 1)
        self.assertIn("does not exist", missing.stderr)
        self.assertEqual(self.d.berth("scale", "cli/nope", "2", check=False).returncode, 1)
        self.d.berth("scale", "cli/s", "2")
        self.d.wait_state("cli", "s", lambda r: r["state"] == "running", index=2)
        self.assertEqual(len(self.d.ps("cli")), 2)
        self.assertIn("scale", [e["kind"] for e in self.d.json("events", "--env", "cli")])
        self.d.berth("env", "rm", "cli")
        self.assertEqual(self.d.json("env", "ls"), [])

    def test_wait_timeout_is_an_error_not_a_crash(self):
        # Regression: the timeout path used the waiter after freeing it (berthd aborted).
        path = write_spec(self.d.tmp, "name: slow\nservices:\n  s:\n    image: host\n"
                          "    command: [sleep, infinity]\n    x-berth: {expose: {port: 9}}\n", "slow.yaml")
        r = self.d.berth("env", "create", "-f", path, "--wait", "--timeout", "1", check=False)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("environment slow not ready after 1s", r.stderr)
        self.assertIsNone(self.d.proc.poll(), "berthd died")
        self.d.berth("env", "rm", "slow")

    def test_recreated_environment_starts_with_its_own_events(self):
        path = write_spec(self.d.tmp, "name: again\nservices:\n  s: {image: host, command: [sleep, infinity]}\n",
                          "again.yaml")
        self.d.berth("env", "create", "-f", path, "--wait")
        self.d.berth("env", "rm", "again")
        time.sleep(0.01)
        self.d.berth("env", "create", "-f", path, "--wait")
        kinds = [e["kind"] for e in self.d.json("events", "--env", "again")]
        self.assertEqual(kinds.count("create"), 1, kinds)
        self.assertNotIn("removed", kinds)
        # Without --after the newest events come back (here: all of them, oldest first).
        seqs = [e["seq"] for e in self.d.json("events")]
        self.assertEqual(seqs, sorted(seqs))
        self.d.berth("env", "rm", "again")

    def test_bad_spec_changes_nothing(self):
        path = write_spec(self.d.tmp, "name: broken\nservices:\n  s: {image: host, command: [x], restart: sometimes}\n",
                          "broken.yaml")
        r = self.d.berth("env", "create", "-f", path, check=False)
        self.assertEqual(r.returncode, 2)
        self.assertRegex(r.stderr, r"broken\.yaml:3:\d+: error: services\.s\.restart")
        self.assertEqual([e["name"] for e in self.d.json("env", "ls")], [])

    def test_api_rejects_bad_bodies(self):
        import socket as so

        def raw(req):
            s = so.socket(so.AF_UNIX)
            s.connect(self.d.socket)
            s.sendall(req)
            data = b""
            while True:
                c = s.recv(65536)
                if not c:
                    break
                data += c
            s.close()
            return data.decode(errors="replace")
        body = b"{not json"
        r = raw(b"POST /v1/envs HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
        self.assertIn(" 400 ", r.splitlines()[0])
        self.assertIn('"code":"InvalidArgument"', r)
        body = b'{"source": 5, "base_dir": "/"}'
        r = raw(b"POST /v1/envs HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
        self.assertIn(" 400 ", r.splitlines()[0])
        self.assertIn("source", r)
        r = raw(b"GET /v1/envs/..%2Fetc HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        self.assertIn(" 404 ", r.splitlines()[0])
        r = raw(b"GARBAGE\r\n\r\n")
        self.assertIn(" 400 ", r.splitlines()[0] if r else " 400 ")
        self.assertEqual(self.d.json("env", "ls"), [])


class TcpApiTest(unittest.TestCase):
    """--listen serves the API on TCP, and only with the right bearer token."""

    def test_token_required(self):
        from harness import free_port
        port = free_port()
        d = Daemon(runtime="process")
        token = "s3cret-token-0123456789"
        os.makedirs(d.tmp, exist_ok=True)
        tf = os.path.join(d.tmp, "token")
        with open(tf, "w") as f:
            f.write(token + "\n")
        d.extra_args = ["--listen", f"127.0.0.1:{port}", "--token-file", tf]
        d.start()
        try:
            ok = run("env", "ls", "-o", "json", env={"BERTH_HOST": f"127.0.0.1:{port}", "BERTH_TOKEN": token})
            self.assertEqual(ok.returncode, 0, ok.stderr)
            self.assertEqual(json.loads(ok.stdout), [])
            bad = run("env", "ls", env={"BERTH_HOST": f"127.0.0.1:{port}", "BERTH_TOKEN": "wrong"})
            self.assertEqual(bad.returncode, 1)
            self.assertIn("token", bad.stderr)
            self.assertNotIn(token, bad.stderr)
            none = run("env", "ls", env={"BERTH_HOST": f"127.0.0.1:{port}"})
            self.assertEqual(none.returncode, 1)
        finally:
            d.cleanup()

    def test_listen_without_token_refuses_to_start(self):
        from harness import free_port
        d = Daemon(runtime="process", extra_args=["--listen", f"127.0.0.1:{free_port()}"])
        try:
            with self.assertRaises(AssertionError):
                d.start()
            self.assertIn("token", d.log())
        finally:
            d.stop()
            subprocess.run(["rm", "-rf", d.tmp])


if __name__ == "__main__":
    unittest.main(verbosity=2)
