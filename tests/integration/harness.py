"""Test harness for Berth's integration tests: a private berthd per test class.

Each Daemon gets its own state dir, run dir, socket and cgroup parent under a temp dir,
so tests never touch a real /var/lib/berth or each other. Cleanup removes every
environment (with volumes), stops the daemon (by its PID, which we started), and checks
that nothing is left: no runc containers, no cgroups, no bundles, no processes.

Tests that need root (runc) call require_root(); ctest treats exit code 77 as skipped.
"""
import atexit
import http.client
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("BERTH_BUILD", os.path.join(ROOT, "build"))
BERTHD = os.path.join(BUILD, "berthd")
BERTH = os.path.join(BUILD, "berth")
EXAMPLES = os.path.join(ROOT, "examples")


# SIGTERM ends the run through SystemExit, so atexit cleanups (Daemon) still run.
if signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))


def require_root(test_case=None):
    if os.geteuid() != 0 or not shutil.which("runc"):
        msg = "needs root and runc (CI runs as root)"
        if test_case is not None:
            raise unittest.SkipTest(msg)
        print("SKIP: " + msg)
        sys.exit(77)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_for(pred, timeout=30.0, interval=0.1, what="condition"):
    end = time.time() + timeout
    last = None
    while time.time() < end:
        last = pred()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


def http_get(port, path="/", host="127.0.0.1", timeout=5.0):
    """Returns (status, body) or (None, error string)."""
    try:
        s = socket.create_connection((host, port), timeout=timeout)
        s.sendall(f"GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n".encode())
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        s.close()
        head, _, body = data.partition(b"\r\n\r\n")
        status = int(head.split(b" ")[1])
        return status, body.decode(errors="replace")
    except (OSError, ValueError, IndexError) as e:
        return None, str(e)


class Load:
    """`clients` threads sending GETs to 127.0.0.1:PORT with Host HOST (the proxy) on
    keep-alive connections until stopped (or `per_client` requests each); every result is
    recorded as (status or error string, body, seconds, monotonic start time). A client
    told 429 waits `pause_after_429` seconds before its next request."""

    def __init__(self, port, host, clients, path="/", per_client=None, pause_after_429=0.0):
        self.port, self.host, self.path, self.per_client = port, host, path, per_client
        self.pause_after_429 = pause_after_429
        self.stop_flag = threading.Event()
        self.lock = threading.Lock()
        self.results = []
        self.threads = [threading.Thread(target=self._run, daemon=True) for _ in range(clients)]

    def start(self):
        for t in self.threads:
            t.start()
        return self

    def add(self, clients):
        """Starts `clients` more (a step in the load)."""
        more = [threading.Thread(target=self._run, daemon=True) for _ in range(clients)]
        self.threads += more
        for t in more:
            t.start()

    def _run(self):
        conn, n = None, 0
        while not self.stop_flag.is_set() and (self.per_client is None or n < self.per_client):
            n += 1
            t0 = time.monotonic()
            try:
                if conn is None:
                    conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=90)
                conn.request("GET", self.path, headers={"Host": self.host})
                r = conn.getresponse()
                body = r.read().decode(errors="replace")
                res = (r.status, body, time.monotonic() - t0, t0)
                if r.getheader("Connection", "").lower() == "close":
                    conn.close()
                    conn = None
            except (OSError, http.client.HTTPException) as e:
                res = (f"{type(e).__name__}: {e}", "", time.monotonic() - t0, t0)
                conn = None
            with self.lock:
                self.results.append(res)
            if res[0] == 429 and self.pause_after_429:
                time.sleep(self.pause_after_429)
        if conn:
            conn.close()

    def stop(self, timeout=120):
        self.stop_flag.set()
        for t in self.threads:
            t.join(timeout)
        return self.results

    def statuses(self):
        with self.lock:
            return [r[0] for r in self.results]


class Daemon:
    def __init__(self, runtime="runc", extra_args=()):
        self.tmp = tempfile.mkdtemp(prefix="berth-it-")
        os.chmod(self.tmp, 0o755)
        self.state_dir = os.path.join(self.tmp, "state")
        self.run_dir = os.path.join(self.tmp, "run")
        self.socket = os.path.join(self.run_dir, "berth.sock")
        self.cgroup_parent = f"berth-it-{os.getpid()}-{os.path.basename(self.tmp)[-6:]}"
        self.runtime = runtime
        self.extra_args = list(extra_args)
        self.proc = None
        self.log_path = os.path.join(self.tmp, "berthd.log")
        # Daemons running at the same time (tests, benchmarks) must not hand out the same
        # subnets: the host has one routing table.
        self.subnet_pool = f"10.{random.randint(100, 250)}.0.0/16"
        self.proxy_port = free_port()
        self.proxy_admin_port = free_port()
        self.cleaned = False
        # A setUpClass that fails after start() never reaches tearDownClass: clean up at
        # exit then (also on SIGTERM/SIGINT, which Python turns into a normal exit).
        atexit.register(self._cleanup_at_exit)

    def _cleanup_at_exit(self):
        if not self.cleaned and os.path.isdir(self.tmp):
            print(f"harness: cleaning up {self.tmp} at exit", file=sys.stderr)
            self.cleanup()

    # --- process ---
    def start(self, wait=True):
        args = [BERTHD, "--state-dir", self.state_dir, "--run-dir", self.run_dir,
                "--runtime", self.runtime, "--cgroup-parent", self.cgroup_parent,
                "--subnet-pool", self.subnet_pool,
                "--proxy-listen", f"127.0.0.1:{self.proxy_port}",
                "--proxy-admin", f"127.0.0.1:{self.proxy_admin_port}"] + self.extra_args
        with open(self.log_path, "a") as log:
            self.proc = subprocess.Popen(args, stdout=log, stderr=log, start_new_session=True)
        if wait:
            wait_for(lambda: self._answers(), timeout=20, what="berthd to answer")
        return self

    def _answers(self):
        if self.proc.poll() is not None:
            raise AssertionError(f"berthd exited with {self.proc.returncode}:\n{self.log()}")
        r = self.berth("info", "-o", "json", check=False)
        return r.returncode == 0

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)

    def proxy_pid(self):
        try:
            with open(os.path.join(self.run_dir, "berth-proxy.pid")) as f:
                return int(f.read().strip())
        except (OSError, ValueError):
            return None

    def stop_proxy(self):
        """berth-proxy outlives berthd on purpose: tests end it themselves."""
        pid = self.proxy_pid()
        if not pid:
            return
        try:
            os.kill(pid, signal.SIGTERM)
            for _ in range(100):
                os.kill(pid, 0)
                time.sleep(0.05)
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def proxy_get(self, host, path="/", timeout=5.0):
        """(status, body) of GET http://HOST/PATH through this daemon's proxy."""
        try:
            s = socket.create_connection(("127.0.0.1", self.proxy_port), timeout=timeout)
            s.sendall(f"GET {path} HTTP/1.0\r\nHost: {host}\r\n\r\n".encode())
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
            s.close()
            head, _, body = data.partition(b"\r\n\r\n")
            return int(head.split(b" ")[1]), body.decode(errors="replace")
        except (OSError, ValueError, IndexError) as e:
            return None, str(e)

    def log(self):
        try:
            with open(self.log_path) as f:
                return f.read()[-8000:]
        except OSError:
            return ""

    # --- client ---
    def berth(self, *args, check=True, input=None, timeout=180, env=None):
        full_env = dict(os.environ)
        full_env.pop("BERTH_HOST", None)
        full_env["BERTH_SOCKET"] = self.socket
        if env:
            full_env.update(env)
        r = subprocess.run([BERTH] + list(args), capture_output=True, text=True, input=input,
                           timeout=timeout, env=full_env)
        if check and r.returncode != 0:
            raise AssertionError(f"berth {' '.join(args)} exited {r.returncode}:\n"
                                 f"stdout: {r.stdout}\nstderr: {r.stderr}\nberthd log:\n{self.log()}")
        return r

    def json(self, *args):
        return json.loads(self.berth(*args, "-o", "json").stdout)

    def ps(self, env=None):
        return self.json("ps", *(["--env", env] if env else []))

    def replica(self, env, service, index=1):
        for r in self.ps(env):
            if r["service"] == service and r["replica"] == index:
                return r
        return None

    def wait_state(self, env, service, pred, timeout=30, index=1, what=None):
        def check():
            r = self.replica(env, service, index)
            return r if r and pred(r) else None
        return wait_for(check, timeout=timeout, what=what or f"{env}/{service}/{index}")

    # --- cleanup and leak checks ---
    def runc_containers(self):
        root = os.path.join(self.run_dir, "runc")
        if not os.path.isdir(root):
            return []
        r = subprocess.run(["runc", "--root", root, "list", "-q"], capture_output=True, text=True)
        return [l for l in r.stdout.split() if l]

    def leftover_cgroups(self):
        found = []
        for base in ("/sys/fs/cgroup", "/sys/fs/cgroup/unified"):
            if not os.path.isdir(base):
                continue
            for ctrl in [base] + [os.path.join(base, d) for d in os.listdir(base)]:
                p = os.path.join(ctrl, self.cgroup_parent)
                if os.path.isdir(p):
                    found += [os.path.join(p, d) for d in os.listdir(p) if os.path.isdir(os.path.join(p, d))]
        return found

    def leftover_bundles(self):
        d = os.path.join(self.run_dir, "bundles")
        return os.listdir(d) if os.path.isdir(d) else []

    def bridge_prefix(self):
        h = 1469598103934665603
        for b in self.run_dir.encode():
            h = ((h ^ b) * 1099511628211) & 0xFFFFFFFFFFFFFFFF
        return "bt%04x" % (h & 0xFFFF)

    def leaks(self):
        """Everything of this daemon's that should be gone once no environment exists:
        {kind: [items]} for each non-empty kind."""
        def ls(*parts):
            d = os.path.join(self.run_dir, *parts)
            return sorted(os.listdir(d)) if os.path.isdir(d) else []
        out = {
            "runc containers": self.runc_containers(),
            "cgroups": self.leftover_cgroups(),
            "bundles": self.leftover_bundles(),
            "netns": ls("netns"),
            "cni results": ls("cni", "results"),
            "ipam leases": [f"{n}/{f}" for n in ls("cni", "ipam") for f in ls("cni", "ipam", n)
                            if f not in ("lock",) and not f.startswith("last_reserved_ip")],
            "fifos": ls("fifo"),
            "env files": ls("envs"),
        }
        links = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True).stdout
        out["bridges"] = [l.split(":")[1].strip() for l in links.splitlines()
                          if l.split(":")[1].strip().startswith(self.bridge_prefix())]
        # Our veths hang off our bridges (a replica's veth pair dies with its namespace).
        out["veths"] = [l.split(":")[1].strip().split("@")[0] for l in links.splitlines()
                        if " master " + self.bridge_prefix() in l]
        rules = subprocess.run(["iptables-save"], capture_output=True, text=True).stdout
        out["iptables rules"] = [l for l in rules.splitlines() if self.bridge_prefix() in l]
        # With no environment left berthd removes its chains and the jumps to them too.
        out["iptables chains"] = [l for l in rules.splitlines() if f"BERTH-{self.bridge_prefix()[2:]}-" in l]
        with open("/proc/self/mounts") as f:
            out["mounts"] = [l.split()[1] for l in f if self.tmp in l.split()[1]]
        return {k: v for k, v in out.items() if v}

    def remove_cgroup_parent(self):
        for base in ("/sys/fs/cgroup", "/sys/fs/cgroup/unified"):
            if not os.path.isdir(base):
                continue
            for ctrl in [base] + [os.path.join(base, d) for d in os.listdir(base)]:
                p = os.path.join(ctrl, self.cgroup_parent)
                if os.path.isdir(p):
                    try:
                        os.rmdir(p)
                    except OSError:
                        pass

    def cleanup(self):
        """Removes everything this daemon created, even after a failed test."""
        self.cleaned = True
        try:
            if self.proc is None or self.proc.poll() is not None:
                self.start()
            for e in self.json("env", "ls"):
                self.berth("env", "rm", "--volumes", e["name"], check=False)
        except Exception as e:  # keep cleaning
            print(f"cleanup: {e}", file=sys.stderr)
        self.stop()
        self.stop_proxy()
        root = os.path.join(self.run_dir, "runc")
        for cid in self.runc_containers():
            subprocess.run(["runc", "--root", root, "delete", "--force", cid], capture_output=True)
        self.remove_cgroup_parent()
        shutil.rmtree(self.tmp, ignore_errors=True)


def write_spec(dir_, text, name="berth.yaml"):
    path = os.path.join(dir_, name)
    with open(path, "w") as f:
        f.write(text)
    return path
