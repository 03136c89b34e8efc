"""The showcase examples (issue 3), brought up under a private berthd and used for real.

- workshop: two participants; each notebook answers only with its own generated token,
  runs code in a real kernel that queries its own PostgreSQL via DATABASE_URL, and cannot
  reach the neighbour's database; no secret shows up in any listing, log or event.
- team-api: Flask under gunicorn with WEB_CONCURRENCY workers, items in PostgreSQL, a
  counter in Redis, /health checking both, credentials enforced.
- async-api: asyncpg items round-trip; /blocking-bad stalls a concurrent request while
  /slow-sync (offloaded to a thread) does not.
- log-pipeline: the job exits 0, prints its summary, and the rows are in PostgreSQL.
- fargate-style: a fixed count of 3 replicas, all serving through the proxy.
- apprunner-style: min 1 replica; 15 slow requests at once (limit 10, queue 100) all
  get 200; a burst beyond limit x max + queue gets 429 + Retry-After, and scales out.

Runs as root (real runc containers); skips otherwise.
"""
import asyncio
import http.client as http_client
import json
import os
import socket
import subprocess
import sys
import threading
import time
import unittest
import urllib.error
import urllib.request
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import BERTH, EXAMPLES, Daemon, require_root, wait_for  # noqa: E402

# Requests go straight to replica IPs: never through a proxy from the environment.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def http(method, url, body=None, headers=None, timeout=10.0):
    """Returns (status, parsed JSON or text). HTTP errors are returned, not raised."""
    data = None
    headers = dict(headers or {})
    if body is not None:
        data = json.dumps(body).encode()
        headers.setdefault("Content-Type", "application/json")
    req = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with _OPENER.open(req, timeout=timeout) as resp:
            status, raw = resp.status, resp.read()
    except urllib.error.HTTPError as e:
        status, raw = e.code, e.read()
    text = raw.decode(errors="replace")
    try:
        return status, json.loads(text)
    except ValueError:
        return status, text


def spec(name):
    return os.path.join(EXAMPLES, name, "berth.yaml")


class ExamplesTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        require_root(cls)
        cls.d = Daemon().start()

    @classmethod
    def tearDownClass(cls):
        d = cls.d
        d.cleanup()
        leaks = d.runc_containers() + d.leftover_cgroups()
        if leaks:
            raise AssertionError(f"leaked: {leaks}")

    # --- helpers -------------------------------------------------------------------
    def create(self, env, example, *sets, timeout=180):
        """env create --wait; the environment is removed (with volumes) after the test."""
        args = ["env", "create", env, "-f", spec(example), "--wait", "--timeout", str(timeout)]
        for s in sets:
            args += ["--set", s]
        self.addCleanup(self.d.berth, "env", "rm", "--volumes", env, check=False)
        t0 = time.monotonic()
        self.d.berth(*args, timeout=timeout + 30)
        took = time.monotonic() - t0
        print(f"\n  {env}: up in {took:.1f}s", file=sys.stderr, flush=True)
        return took

    def ip(self, env, service):
        r = self.d.replica(env, service)
        self.assertIsNotNone(r, f"{env}/{service} has no replica")
        return r["ip"]

    def exec_(self, target, *cmd, check=True, timeout=60):
        r = self.d.berth("exec", "--timeout", str(timeout), target, "--", *cmd, check=False,
                         timeout=timeout + 30)
        if check and r.returncode != 0:
            self.fail(f"berth exec {target} {cmd[0]} exited {r.returncode}:\n{r.stdout}\n{r.stderr}")
        return r

    def psql(self, env, db, sql):
        return self.exec_(f"{env}/db", "psql", "-h", "/tmp", "-U", "postgres", "-d", db, "-tAc", sql).stdout.strip()

    def daemon_log(self):
        with open(self.d.log_path, errors="replace") as f:
            return f.read()

    # --- every example's spec is valid and warning-free -----------------------------
    def test_configs_are_valid_without_warnings(self):
        cases = {
            "workshop": ["participant=alice"],
            "team-api": ["team=red", "workers=4"],
            "async-api": ["team=blue"],
            "log-pipeline": [],
            "team-api-mongo": ["team=red"],  # a template: validated, not run (no MongoDB here)
            "apprunner-style": [],
            "fargate-style": [],
        }
        for example, sets in cases.items():
            with self.subTest(example=example):
                args = [BERTH, "config", "-f", spec(example)]
                for s in sets:
                    args += ["--set", s]
                r = subprocess.run(args, capture_output=True, text=True, timeout=30)
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertEqual(r.stderr.strip(), "", "berth config printed warnings")
                self.assertNotIn("warning", r.stdout.lower())
        # The workshop's participant is required and checked.
        r = subprocess.run([BERTH, "config", "-f", spec("workshop")], capture_output=True, text=True)
        self.assertEqual(r.returncode, 2)
        self.assertIn("missing required parameter \"participant\"", r.stderr)
        r = subprocess.run([BERTH, "config", "-f", spec("workshop"), "--set", "participant=Alice!"],
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 2)
        self.assertIn("does not match pattern", r.stderr)

    # --- workshop --------------------------------------------------------------------
    def test_workshop_two_participants_isolated(self):
        d = self.d
        people = ("alice", "bob")
        for p in people:
            self.addCleanup(d.berth, "env", "rm", "--volumes", f"ws-{p}", check=False)
        # Both at once, as a workshop leader would.
        t0 = time.monotonic()
        procs = {p: subprocess.Popen(
            [BERTH, "env", "create", f"ws-{p}", "-f", spec("workshop"), "--set", f"participant={p}",
             "--wait", "--timeout", "180"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            env=dict(os.environ, BERTH_SOCKET=d.socket)) for p in people}
        for p, proc in procs.items():
            out, _ = proc.communicate(timeout=240)
            self.assertEqual(proc.returncode, 0, f"ws-{p}: {out}\n{d.log()}")
        print(f"\n  ws-alice + ws-bob: up in {time.monotonic() - t0:.1f}s", file=sys.stderr, flush=True)

        ips = {p: {s: self.ip(f"ws-{p}", s) for s in ("db", "notebook")} for p in people}
        all_ips = [ip for p in people for ip in ips[p].values()]
        self.assertEqual(len(set(all_ips)), 4, ips)
        secrets = {p: {n: d.berth("secret", "get", f"ws-{p}", n).stdout.strip()
                       for n in ("jupyter_token", "db_password")} for p in people}
        for p in people:
            self.assertEqual(len(secrets[p]["jupyter_token"]), 48)
            self.assertEqual(len(secrets[p]["db_password"]), 32)
        values = [v for p in people for v in secrets[p].values()]
        self.assertEqual(len(set(values)), 4, "generated secrets must differ per participant and name")

        # The notebook's HTTP API answers with its token, and only with its own.
        for p in people:
            base = f"http://{ips[p]['notebook']}:8888"
            token = secrets[p]["jupyter_token"]
            other = secrets["bob" if p == "alice" else "alice"]["jupyter_token"]
            status, _ = http("GET", f"{base}/api/status")
            self.assertEqual(status, 403, f"{p}: /api/status without a token")
            status, _ = http("GET", f"{base}/?token={token}")  # the login link: 302, then 200
            self.assertEqual(status, 200)
            status, _ = http("GET", f"{base}/api/status?token={other}")
            self.assertEqual(status, 403, f"{p}: /api/status with the neighbour's token")
            status, body = http("GET", f"{base}/api/status?token={token}")
            self.assertEqual(status, 200, body)
            status, body = http("GET", f"{base}/api/contents", headers={"Authorization": f"token {token}"})
            self.assertEqual(status, 200, body)
            self.assertIn("welcome.ipynb", [c["name"] for c in body["content"]], "seeded sample notebook")

        # A real kernel, started through the notebook server's API as a browser would,
        # queries the participant's own database through DATABASE_URL.
        out = self.run_in_kernel(ips["alice"]["notebook"], secrets["alice"]["jupyter_token"], (
            "import os, psycopg2\n"
            "c = psycopg2.connect(os.environ['DATABASE_URL'])\n"
            "cur = c.cursor()\n"
            "cur.execute('select current_user, current_database(), host(inet_server_addr())')\n"
            "print('KERNEL', *cur.fetchone())\n"))
        self.assertIn(f"KERNEL participant workshop {ips['alice']['db']}", out)

        # berth exec: the same from a plain python3 in the notebook container, with a write.
        for p in people:
            r = self.exec_(f"ws-{p}/notebook", "python3", "-c", (
                "import os, psycopg2\n"
                "c = psycopg2.connect(os.environ['DATABASE_URL'], connect_timeout=5)\n"
                "c.autocommit = True\n"
                "cur = c.cursor()\n"
                "cur.execute('create table if not exists owner (name text)')\n"
                f"cur.execute('insert into owner values (%s)', ('{p}',))\n"
                "cur.execute('select host(inet_server_addr()), string_agg(name, \\',\\') from owner')\n"
                "print(*cur.fetchone())\n"))
            self.assertEqual(r.stdout.split(), [ips[p]["db"], p])

        # The seeded welcome notebook runs top to bottom (kernel + database) in place.
        t0 = time.monotonic()
        self.exec_("ws-alice/notebook", "jupyter-execute", "/home/participant/work/welcome.ipynb", timeout=120)
        print(f"  welcome.ipynb executed in {time.monotonic() - t0:.1f}s", file=sys.stderr, flush=True)
        self.assertEqual(self.psql("ws-alice", "workshop", "select count(*) from measurements"), "100")
        self.assertEqual(self.psql("ws-bob", "workshop", "select count(*) from pg_tables where tablename = 'measurements'"), "0")

        # Not the neighbour's database: alice's notebook cannot even connect to bob's db.
        # (A wrong password on purpose: the test never puts a real secret on a command line.
        # The failure must come from the network, not from authentication.)
        probe = ("import sys, time, psycopg2\n"
                 "t = time.monotonic()\n"
                 "try:\n"
                 "    psycopg2.connect(host=sys.argv[1], port=5432, user='participant', dbname='workshop',\n"
                 "                     password='not-the-password', connect_timeout=3)\n"
                 "    print('CONNECTED')\n"
                 "except psycopg2.OperationalError as e:\n"
                 "    print('FAILED %.1fs %s' % (time.monotonic() - t, str(e).strip().splitlines()[0]))\n")
        r = self.exec_("ws-alice/notebook", "python3", "-c", probe, ips["bob"]["db"])
        self.assertTrue(r.stdout.startswith("FAILED"), r.stdout)
        self.assertNotIn("password authentication failed", r.stdout)
        self.assertRegex(r.stdout, r"unreachable|refused|timeout|timed out", r.stdout)
        self.assertLess(float(r.stdout.split()[1].rstrip("s")), 5.0, r.stdout)
        # ...while from bob's own notebook the same probe reaches bob's server (and only
        # the password is wrong): the difference is the network.
        r = self.exec_("ws-bob/notebook", "python3", "-c", probe, ips["bob"]["db"])
        self.assertIn("password authentication failed", r.stdout)
        # Nor alice's notebook server from bob's environment.
        r = self.exec_("ws-bob/notebook", "python3", "-c", (
            "import socket, sys\n"
            "try:\n"
            "    socket.create_connection((sys.argv[1], 8888), timeout=3); print('CONNECTED')\n"
            "except OSError as e:\n"
            "    print('FAILED', e)\n"), ips["alice"]["notebook"])
        self.assertTrue(r.stdout.startswith("FAILED"), r.stdout)

        # From the host, the generated password is the one the database enforces.
        self.assertTrue(self.pg_login(ips["alice"]["db"], secrets["alice"]["db_password"]))
        self.assertFalse(self.pg_login(ips["alice"]["db"], secrets["bob"]["db_password"]))

        # No secret anywhere in what berth shows, logs or records.
        seen = {
            "env show": "".join(d.berth("env", "show", f"ws-{p}").stdout for p in people),
            "env show -o json": "".join(d.berth("env", "show", f"ws-{p}", "-o", "json").stdout for p in people),
            "env ls": d.berth("env", "ls", "-o", "json").stdout,
            "ps": d.berth("ps", "-o", "json").stdout,
            "events": "".join(d.berth("events", "--env", f"ws-{p}", "-o", "json").stdout for p in people),
            "logs": "".join(d.berth("logs", f"ws-{p}/{s}").stdout + d.berth("logs", f"ws-{p}/{s}").stderr
                            for p in people for s in ("db", "notebook")),
            "daemon log": self.daemon_log(),
        }
        self.assertIn("ready to accept connections", seen["logs"])  # the logs are really there
        for where, text in seen.items():
            for p in people:
                for name, value in secrets[p].items():
                    self.assertNotIn(value, text, f"{p}'s {name} appears in {where}")

    def pg_login(self, host, password):
        """A PostgreSQL startup + SCRAM exchange is more than this test needs: psycopg2
        from Debian's python3 (the interpreter ctest uses) does it."""
        code = ("import sys, psycopg2\n"
                "try:\n"
                "    psycopg2.connect(host=sys.argv[1], user='participant', dbname='workshop',\n"
                "                     password=sys.stdin.read(), connect_timeout=5).close()\n"
                "    print('OK')\n"
                "except psycopg2.OperationalError as e:\n"
                "    print('FAILED', e)\n")
        r = subprocess.run(["/usr/bin/python3", "-c", code, host], input=password, capture_output=True,
                           text=True, timeout=30)
        return r.stdout.startswith("OK")

    def run_in_kernel(self, ip, token, code, timeout=60):
        """Starts a kernel through the notebook server's REST API, runs `code` over the
        kernel's websocket (Jupyter messaging protocol) and returns its stdout."""
        try:
            from tornado import httpclient, websocket
        except ImportError:
            self.skipTest("tornado (Debian python3-tornado) is needed to talk to the kernel")
        base = f"http://{ip}:8888"
        auth = {"Authorization": f"token {token}"}
        status, kernel = http("POST", f"{base}/api/kernels", body={"name": "python3"}, headers=auth)
        self.assertEqual(status, 201, kernel)
        try:
            async def talk():
                req = httpclient.HTTPRequest(
                    f"ws://{ip}:8888/api/kernels/{kernel['id']}/channels?session_id={uuid.uuid4().hex}",
                    headers=auth, connect_timeout=10, request_timeout=timeout)
                conn = await websocket.websocket_connect(req)
                msg_id = uuid.uuid4().hex
                conn.write_message(json.dumps({
                    "header": {"msg_id": msg_id, "username": "test", "session": uuid.uuid4().hex,
                               "msg_type": "execute_request", "version": "5.3"},
                    "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
                    "content": {"code": code, "silent": False, "store_history": False,
                                "user_expressions": {}, "allow_stdin": False, "stop_on_error": True}}))
                out, status, deadline = [], None, time.monotonic() + timeout
                while time.monotonic() < deadline:
                    raw = await conn.read_message()
                    if raw is None:
                        break
                    m = json.loads(raw)
                    if m.get("parent_header", {}).get("msg_id") != msg_id:
                        continue
                    kind = m["header"]["msg_type"]
                    if kind == "stream":
                        out.append(m["content"]["text"])
                    elif kind == "error":
                        out.append("ERROR " + m["content"]["ename"] + ": " + m["content"]["evalue"])
                    elif kind == "execute_reply":
                        status = m["content"]["status"]
                        break
                conn.close()
                return status, "".join(out)

            status, out = asyncio.run(asyncio.wait_for(talk(), timeout + 10))
            self.assertEqual(status, "ok", out)
            return out
        finally:
            http("DELETE", f"{base}/api/kernels/{kernel['id']}", headers=auth)

    # --- team-api --------------------------------------------------------------------
    def test_team_api(self):
        d = self.d
        self.create("team-it", "team-api", "team=it", "workers=2")
        base = f"http://{self.ip('team-it', 'api')}:8000"

        status, body = http("GET", f"{base}/health")
        self.assertEqual((status, body), (200, {"status": "ok", "db": "ok", "redis": "ok"}))

        created = []
        for name in ("anchor", "buoy", "capstan"):
            status, body = http("POST", f"{base}/items", body={"name": name, "note": f"a {name}"})
            self.assertEqual(status, 201, body)
            self.assertEqual(body["name"], name)
            created.append(body)
        status, body = http("GET", f"{base}/items")
        self.assertEqual(status, 200)
        self.assertEqual([i["name"] for i in body["items"]][:3], ["capstan", "buoy", "anchor"])
        status, body = http("GET", f"{base}/items/{created[1]['id']}")
        self.assertEqual((status, body["name"]), (200, "buoy"))
        self.assertEqual(http("GET", f"{base}/items/999999")[0], 404)
        self.assertEqual(http("POST", f"{base}/items", body={"nom": "x"})[0], 400)
        self.assertEqual(self.psql("team-it", "app", "select count(*) from items"), "3")

        # The Redis counter increments by one per call, whichever worker answers.
        first = http("POST", f"{base}/counter")[1]["counter"]
        for i in range(1, 6):
            self.assertEqual(http("POST", f"{base}/counter")[1]["counter"], first + i)
        self.assertEqual(http("GET", f"{base}/counter")[1]["counter"], first + 5)

        # WEB_CONCURRENCY=2 (the `workers` parameter): a master and two workers...
        r = self.exec_("team-it/api", "python3", "-c", (
            "import os\n"
            "procs = {}\n"
            "for p in os.listdir('/proc'):\n"
            "    if p.isdigit():\n"
            "        try:\n"
            "            stat = open(f'/proc/{p}/stat').read()\n"
            "        except OSError:\n"
            "            continue\n"
            "        comm = stat[stat.index('(') + 1:stat.rindex(')')]\n"
            "        ppid = int(stat[stat.rindex(')') + 2:].split()[1])\n"
            "        if comm == 'gunicorn':\n"
            "            procs[int(p)] = ppid\n"
            "masters = [p for p, pp in procs.items() if pp not in procs]\n"
            "workers = [p for p, pp in procs.items() if pp in procs]\n"
            "print(os.environ['WEB_CONCURRENCY'], len(masters), len(workers))\n"))
        self.assertEqual(r.stdout.split(), ["2", "1", "2"])
        # ...and requests are served by both.
        pids = set()

        def who():
            for _ in range(10):
                status, body = http("GET", f"{base}/whoami")
                if status == 200:
                    pids.add(body["pid"])
        for _ in range(10):
            threads = [threading.Thread(target=who) for _ in range(4)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            if len(pids) >= 2:
                break
        self.assertEqual(len(pids), 2, pids)

        # Generated credentials are enforced: Redis refuses commands without the password.
        s = socket.create_connection((self.ip("team-it", "redis"), 6379), timeout=5)
        s.sendall(b"PING\r\n")
        self.assertTrue(s.recv(200).startswith(b"-NOAUTH"))
        s.close()
        # None of them in the logs.
        logs = "".join(d.berth("logs", f"team-it/{s}").stdout for s in ("api", "db", "redis"))
        self.assertIn("schema ready", logs)
        for name in ("db_password", "redis_password", "flask_secret_key"):
            value = d.berth("secret", "get", "team-it", name).stdout.strip()
            self.assertGreaterEqual(len(value), 32)
            self.assertNotIn(value, logs)
            self.assertNotIn(value, d.berth("env", "show", "team-it", "-o", "json").stdout)

    # --- async-api -------------------------------------------------------------------
    def test_async_api(self):
        self.create("async-it", "async-api", "team=it")
        base = f"http://{self.ip('async-it', 'api')}:8000"
        self.assertEqual(http("GET", f"{base}/health"), (200, {"status": "ok", "db": "ok"}))

        status, item = http("POST", f"{base}/items", body={"name": "mooring"})
        self.assertEqual(status, 201, item)
        self.assertEqual(http("GET", f"{base}/items/{item['id']}")[1]["name"], "mooring")
        self.assertIn(item["id"], [i["id"] for i in http("GET", f"{base}/items")[1]["items"]])
        self.assertEqual(http("POST", f"{base}/items", body=["not", "an", "object"])[0], 400)
        self.assertEqual(self.psql("async-it", "app", "select name from items"), "mooring")

        def ping_during(path, block_ms=2000):
            """Latency of /ping issued while `path` is in flight, and the slow request's."""
            result = {}

            def slow():
                t = time.monotonic()
                result["slow"] = http("GET", f"{base}{path}?ms={block_ms}", timeout=30)
                result["slow_s"] = time.monotonic() - t
            th = threading.Thread(target=slow)
            th.start()
            time.sleep(0.3)  # the slow request is being handled
            t = time.monotonic()
            status, _ = http("GET", f"{base}/ping", timeout=30)
            ping_s = time.monotonic() - t
            th.join(30)
            self.assertEqual(status, 200)
            self.assertEqual(result["slow"][0], 200, result)
            self.assertGreaterEqual(result["slow_s"], block_ms / 1000 - 0.05)
            return ping_s

        # Offloaded to the thread pool: the loop keeps serving (typically a few ms).
        offloaded = ping_during("/slow-sync")
        # Blocking the loop on purpose: /ping waits until the 2 s call returns (~1.7 s).
        blocked = ping_during("/blocking-bad")
        print(f"  /ping during /slow-sync: {offloaded * 1000:.0f} ms, "
              f"during /blocking-bad: {blocked * 1000:.0f} ms", file=sys.stderr, flush=True)
        self.assertLess(offloaded, 0.8)
        self.assertGreater(blocked, 1.2)

        # CPU-bound work in the process pool gives the same answer as inline.
        results = {m: http("GET", f"{base}/cpu?n=200000&mode={m}")[1]["result"] for m in ("process", "thread", "inline")}
        self.assertEqual(len(set(results.values())), 1, results)

    # --- log-pipeline ----------------------------------------------------------------
    def test_log_pipeline_job(self):
        d = self.d
        with open(os.path.join(EXAMPLES, "log-pipeline", "data", "MANIFEST.json")) as f:
            total = json.load(f)["total"]
        self.create("logs-it", "log-pipeline")

        def job_done():
            """The ingest replica(s), once every one has exited (whatever its index)."""
            rows = [r for r in d.ps("logs-it") if r["service"] == "ingest"]
            return rows if rows and all(r["state"] == "exited" for r in rows) else None

        # `--wait` counts a job that is still running as ready (see the report); wait for
        # its exit here.
        jobs = wait_for(job_done, timeout=120, what="the ingest job to exit")
        out = d.berth("logs", "logs-it/ingest").stdout
        self.assertEqual([(r["exit_code"], r["restarts"]) for r in jobs], [(0, 0)], out)
        summary = (f"SUMMARY files=4 lines={total['lines']} parsed={total['valid']} "
                   f"malformed={total['malformed']} inserted={total['valid']} in_table={total['valid']} ")
        self.assertIn(summary, out)
        self.assertIn("errors=0", out)
        self.assertEqual(self.psql("logs-it", "logs", "select count(*) from log_entries"), str(total["valid"]))
        self.assertEqual(self.psql("logs-it", "logs", "select count(distinct source) from log_entries"), "4")

        # Running the job again is idempotent: nothing new is inserted. (`berth restart`
        # runs it again, as the same replica or as a new one depending on the Berth version.)
        d.berth("restart", "logs-it/ingest")
        rerun = f" inserted=0 in_table={total['valid']} "
        wait_for(lambda: rerun in d.berth("logs", "logs-it/ingest").stdout, timeout=120,
                 what="the second run's summary")
        jobs = wait_for(job_done, timeout=60, what="the second run to exit")
        self.assertEqual([r["exit_code"] for r in jobs], [0])
        self.assertEqual(self.psql("logs-it", "logs", "select count(*) from log_entries"), str(total["valid"]))

    # --- fargate-style and apprunner-style (issue 5) -------------------------------------
    def running(self, env):
        return [r for r in self.d.ps(env) if r["service"] == "web" and r["state"] == "running"]

    def via_proxy(self, env, path, results, timeout=60):
        """GET through the ingress; appends (status, body, Retry-After) to `results`."""
        c = http_client.HTTPConnection("127.0.0.1", self.d.proxy_port, timeout=timeout)
        try:
            c.request("GET", path, headers={"Host": f"web.{env}.localhost"})
            r = c.getresponse()
            results.append((r.status, r.read().decode(errors="replace").strip(), r.getheader("Retry-After")))
        except (OSError, http_client.HTTPException) as e:
            results.append((None, repr(e), None))
        finally:
            c.close()

    def at_once(self, env, path, n):
        results = []
        threads = [threading.Thread(target=self.via_proxy, args=(env, path, results)) for _ in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(90)
        return results

    def test_fargate_style_fixed_count(self):
        self.create("fargate-it", "fargate-style")
        reps = self.running("fargate-it")
        self.assertEqual(len(reps), 3, reps)
        # Simultaneous slow requests go to the least loaded replica: all three answer.
        results = self.at_once("fargate-it", "/?ms=300", 9)
        self.assertEqual([r[0] for r in results], [200] * 9, results)
        self.assertEqual({r[1] for r in results}, {f"hello from web-{r['replica']}" for r in reps})
        self.assertEqual(len(self.running("fargate-it")), 3, "a fixed count: no autoscaling")

    def test_apprunner_style_queue_429_and_scale_out(self):
        env = "apprunner-it"
        self.create(env, "apprunner-style", "WORK_MS=1000")
        self.assertEqual(len(self.running(env)), 1, "min: 1")
        self.assertEqual(self.at_once(env, "/version", 1)[0][:2], (200, "1"))
        # 15 at once: 10 in flight at the one replica, 5 wait in the queue; all 200.
        results = self.at_once(env, "/", 15)
        self.assertEqual([r[0] for r in results], [200] * 15, results)
        # 200 at once, beyond limit x max + queue (10 x 4 + 100): some get 429 + Retry-After
        # at once (a queued request may also reach its 10 s timeout: 503), and the
        # autoscaler adds replicas.
        t0 = time.monotonic()
        results = self.at_once(env, "/", 200)
        codes = {c: sum(1 for r in results if r[0] == c) for c in {r[0] for r in results}}
        print(f"  burst of 200: {codes} in {time.monotonic() - t0:.1f}s", file=sys.stderr, flush=True)
        self.assertLessEqual(set(codes), {200, 429, 503}, results)
        self.assertGreaterEqual(codes.get(429, 0), 200 - (10 * 4 + 100))
        self.assertGreaterEqual(codes.get(200, 0), 10 + 100 - codes.get(503, 0))
        self.assertTrue(all(r[2] == "1" for r in results if r[0] == 429), "429 without Retry-After")
        ups = [e["message"] for e in self.d.json("events", "--env", env) if e.get("kind") == "autoscale"
               and int(e["message"].split()[2]) > int(e["message"].split()[0])]  # "1 -> 4 (...)"
        self.assertTrue(ups, "the burst did not scale the service out")


if __name__ == "__main__":
    unittest.main()
