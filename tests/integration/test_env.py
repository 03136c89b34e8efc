"""Environments (issue 3): isolated networks, discovery, secrets, admission, --each,
clean removal, and crash safety of `env create`. Real runc containers and CNI networks;
skipped (with the reason) when not root."""
import json
import os
import signal
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import BERTH, Daemon, free_port, require_root, wait_for, write_spec  # noqa: E402

TEMPLATE = """
name: team-${team}
x-berth:
  params:
    team: {required: true, pattern: "^[a-z][a-z0-9]{0,15}$", description: "team name"}
  secrets:
    db_password: {generate: 32}
services:
  db:
    image: host
    command: ["python3", "-m", "http.server", "5432"]
    secrets: [db_password]
    healthcheck: {test: ["TCP", "5432"], interval: 5s, start_period: 20s, start_interval: 100ms}
    deploy: {resources: {reservations: {cpus: "0.05", memory: 32M}}}
  app:
    image: host
    command: ["sleep", "infinity"]
    environment:
      DATABASE_URL: "postgresql://app:${secret.db_password}@db:5432/app"
    depends_on: {db: {condition: service_healthy}}
    deploy: {resources: {reservations: {cpus: "0.05", memory: 32M}}}
"""

PROBE = ("import socket,sys\n"
         "s=socket.socket(); s.settimeout(2)\n"
         "try:\n s.connect((sys.argv[1], int(sys.argv[2]))); print('open')\n"
         "except OSError as e:\n print('blocked', type(e).__name__)\n")


class EnvTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        require_root(cls)
        cls.api_port = free_port()
        cls.d = Daemon()
        os.makedirs(cls.d.tmp, exist_ok=True)
        token = os.path.join(cls.d.tmp, "token")
        with open(token, "w") as f:
            f.write("integration-test-token-0123456789\n")
        # The TCP API listens on every address: containers must still not reach it.
        cls.d.extra_args = ["--listen", f"0.0.0.0:{cls.api_port}", "--token-file", token]
        cls.d.start()
        cls.tmpl = write_spec(cls.d.tmp, TEMPLATE, "team.yaml")

    @classmethod
    def tearDownClass(cls):
        cls.d.cleanup()

    def create(self, team, *extra, check=True):
        return self.d.berth("env", "create", "-f", self.tmpl, "--set", f"team={team}", "--wait", *extra,
                            check=check)

    def exec(self, target, *argv, check=True):
        return self.d.berth("exec", target, "--", *argv, check=check)

    def test_two_environments_isolated_discovery_and_secrets(self):
        self.create("alice")
        self.create("bob")
        a = {r["service"]: r for r in self.d.ps("team-alice")}
        b = {r["service"]: r for r in self.d.ps("team-bob")}
        ips = [a["db"]["ip"], a["app"]["ip"], b["db"]["ip"], b["app"]["ip"]]
        self.assertEqual(len(set(ips)), 4, ips)
        self.assertNotEqual(a["db"]["ip"].rsplit(".", 1)[0], b["db"]["ip"].rsplit(".", 1)[0], "one subnet each")

        # Discovery: each app resolves its own db.
        for env, rows in (("team-alice", a), ("team-bob", b)):
            got = self.exec(f"{env}/app", "python3", "-c", "import socket; print(socket.gethostbyname('db'))")
            self.assertEqual(got.stdout.strip(), rows["db"]["ip"])
        # Reachability: own db yes, the neighbour's no, the host's API no.
        self.assertIn("open", self.exec("team-alice/app", "python3", "-c", PROBE, "db", "5432").stdout)
        self.assertIn("blocked", self.exec("team-alice/app", "python3", "-c", PROBE, b["db"]["ip"], "5432").stdout)
        self.assertIn("blocked", self.exec("team-bob/app", "python3", "-c", PROBE, a["app"]["ip"], "22").stdout)
        gateway = a["db"]["ip"].rsplit(".", 1)[0] + ".1"
        self.assertIn("blocked", self.exec("team-alice/app", "python3", "-c", PROBE, gateway,
                                           str(self.api_port)).stdout)
        self.assertNotEqual(self.exec("team-alice/app", "test", "-e", self.d.socket, check=False).returncode, 0)

        # Secrets: generated, distinct, present inside, absent from every listing and log.
        sa = self.d.berth("secret", "get", "team-alice", "db_password").stdout.strip()
        sb = self.d.berth("secret", "get", "team-bob", "db_password").stdout.strip()
        self.assertEqual(len(sa), 32)
        self.assertRegex(sa, r"^[A-Za-z0-9_-]{32}$")
        self.assertNotEqual(sa, sb)
        self.assertEqual(self.exec("team-alice/db", "cat", "/run/secrets/db_password").stdout, sa)
        env_out = self.exec("team-alice/app", "sh", "-c", 'echo "$DATABASE_URL"').stdout
        self.assertIn(sa, env_out)
        secret_file = os.path.join(self.d.state_dir, "secrets", "team-alice", "db_password")
        self.assertEqual(os.stat(secret_file).st_mode & 0o777, 0o600)
        listings = [self.d.berth(*args).stdout for args in (
            ("env", "show", "team-alice", "-o", "json"), ("env", "show", "team-alice"), ("env", "ls", "-o", "json"),
            ("ps", "-o", "json"), ("events", "-o", "json"), ("logs", "team-alice/db"), ("logs", "team-alice/app"),
            ("config", "-f", self.tmpl, "--set", "team=alice"))]
        for text in listings + [self.d.log()]:
            self.assertNotIn(sa, text)
            self.assertNotIn(sb, text)

        # Discovery follows replicas as they come and go.
        self.d.berth("scale", "team-alice/app", "2")
        self.d.wait_state("team-alice", "app", lambda r: r["state"] == "running", index=2)
        hosts = self.exec("team-alice/app/1", "cat", "/etc/hosts").stdout
        self.assertIn("app-2", hosts)
        self.d.berth("scale", "team-alice/app", "1")
        wait_for(lambda: "app-2" not in self.exec("team-alice/app/1", "cat", "/etc/hosts").stdout,
                 what="app-2 to leave /etc/hosts")

        # Removal leaves nothing of theirs (volumes and secrets aside, which --volumes removes).
        self.d.berth("env", "rm", "--volumes", "team-alice", "team-bob")
        self.assertEqual(self.d.leaks(), {})
        self.assertFalse(os.path.exists(secret_file))

    def test_parameters_are_checked_and_nothing_is_created(self):
        r = self.d.berth("env", "create", "-f", self.tmpl, check=False)
        self.assertEqual(r.returncode, 2)
        self.assertIn("team", r.stderr)
        r = self.d.berth("env", "create", "-f", self.tmpl, "--set", "team=Bad_Name", check=False)
        self.assertEqual(r.returncode, 2)
        self.assertIn("Bad_Name", r.stderr)
        r = self.d.berth("env", "create", "-f", self.tmpl, "--set", "team=x", "--set", "colour=red", check=False)
        self.assertEqual(r.returncode, 2)
        self.assertIn("colour", r.stderr)
        self.assertEqual(self.d.json("env", "ls"), [])
        self.assertFalse(os.path.exists(os.path.join(self.d.state_dir, "secrets", "team-x")))

    def test_admission_refuses_what_cannot_fit_and_creates_nothing(self):
        big = write_spec(self.d.tmp, """
name: huge
x-berth: {secrets: {s: {generate: 16}}}
services:
  s:
    image: host
    command: ["sleep", "infinity"]
    volumes: ["data:/data"]
    deploy: {resources: {reservations: {cpus: "500", memory: 16M}}}
volumes: {data: {}}
""", "huge.yaml")
        r = self.d.berth("env", "create", "-f", big, check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("does not fit", r.stderr)
        self.assertIn("CPUs", r.stderr)
        self.assertEqual(self.d.json("env", "ls"), [])
        for sub in ("secrets/huge", "volumes/huge", "logs/huge"):
            self.assertFalse(os.path.exists(os.path.join(self.d.state_dir, sub)), sub)
        self.assertEqual(self.d.leaks(), {})
        quota = write_spec(self.d.tmp, """
name: tight
x-berth: {quota: {cpus: "0.1"}}
services:
  s: {image: host, command: ["sleep", "infinity"], deploy: {replicas: 3, resources: {reservations: {cpus: "0.05"}}}}
""", "tight.yaml")
        r = self.d.berth("env", "create", "-f", quota, check=False)
        self.assertEqual(r.returncode, 2)
        self.assertIn("quota", r.stderr)
        cap = self.d.json("capacity", "-f", self.tmpl, "--set", "team=t")
        self.assertAlmostEqual(cap["template"]["reserved"]["cpus"], 0.1)
        self.assertEqual(cap["template"]["fit"], int(cap["free"]["cpus"] / 0.1 + 1e-9))
        self.assertEqual(cap["template"]["limited_by"], "cpus")

    def test_each_reports_failures_and_reruns_finish(self):
        names = os.path.join(self.d.tmp, "teams.txt")
        with open(names, "w") as f:
            f.write("# the room\nann\nBAD_NAME\nben\n\nann\n")
        r = self.d.berth("env", "create", "-f", self.tmpl, "--each", names, "--set", "team={name}", "--wait",
                         check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("2 created", r.stdout)
        self.assertIn("1 failed", r.stdout)
        self.assertIn("BAD_NAME", r.stderr)
        self.assertEqual(sorted(e["name"] for e in self.d.json("env", "ls")), ["team-ann", "team-ben"])
        with open(names, "w") as f:
            f.write("ann\nben\ncal\n")
        r = self.d.berth("env", "create", "-f", self.tmpl, "--each", names, "--set", "team={name}", "--wait")
        self.assertIn("1 created, 2 already existed, 0 failed", r.stdout)
        self.d.berth("env", "rm", "--volumes", "team-{name}", "--each", names)
        self.assertEqual(self.d.json("env", "ls"), [])
        self.assertEqual(self.d.leaks(), {})


class CrashDuringCreateTest(unittest.TestCase):
    """kill -9 of berthd while `env create` runs leaves a whole environment or none."""

    @classmethod
    def setUpClass(cls):
        require_root(cls)
        cls.d = Daemon().start()
        cls.tmpl = write_spec(cls.d.tmp, TEMPLATE, "team.yaml")

    @classmethod
    def tearDownClass(cls):
        cls.d.cleanup()

    def test_kill9_during_create(self):
        env = dict(os.environ, BERTH_SOCKET=self.d.socket)
        import random
        delays = [0.0, 0.05, 0.1, 0.15, 0.2, 0.3, 0.45, 0.6] + [random.uniform(0, 0.8) for _ in range(4)]
        for i, delay in enumerate(delays):
            team = f"crash{i}"
            p = subprocess.Popen([BERTH, "env", "create", "-f", self.tmpl, "--set", f"team={team}", "--wait"],
                                 env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(delay)
            self.d.kill9()
            p.wait(30)
            self.d.start()
            names = [e["name"] for e in self.d.json("env", "ls")]
            if f"team-{team}" in names:
                # Whole: berthd finishes what it had accepted.
                wait_for(lambda: sorted((r["service"], r["state"]) for r in self.d.ps(f"team-{team}")) ==
                         [("app", "running"), ("db", "running")], timeout=60, what=f"team-{team} to complete")
                self.assertEqual(len(self.d.runc_containers()), 2 * len(names))
                self.d.berth("env", "rm", "--volumes", f"team-{team}")
            else:
                self.assertEqual(self.d.runc_containers(), [])
            self.assertEqual(self.d.leaks(), {}, f"after crash {i} (delay {delay}s)")


if __name__ == "__main__":
    unittest.main(verbosity=2)
