#!/usr/bin/env python3
"""berth-proxy benchmarks (bench/README.md, "Ingress proxy"):

  compare   ../shared/baselines/proxy-compare with --workers 1: berth-proxy vs nginx vs
            HAProxy vs direct, same nginx backend, interleaved rounds (the bar: >= 0.60x
            direct at 64 and 256 connections, >= 1.15x nginx and HAProxy, <= 40 us added
            p50 at one connection)
  limiter   throughput with the concurrency limiter on (--limit 1000 --queue 1000, never
            saturated: the cost of the bookkeeping) vs off, interleaved rounds (bar: <= 5 %)
  memory    RSS per idle keep-alive client connection with 10,000 of them (each served one
            request first), plus the kernel's TCP memory for them

Usage: bench/proxy_bench.py [compare|limiter|memory|all] [--proxy PATH] [--rounds N]
Needs nginx and wrk (proxy-compare also HAProxy). Binds 127.0.0.1 only; stops what it
starts (by PID) at exit.
"""
import argparse
import os
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COMPARE = os.environ.get("PROXY_COMPARE", os.path.join(ROOT, "..", "shared", "baselines", "proxy-compare"))
P_BE, P_OFF, P_ON = 18190, 18191, 18192


def wait_port(port, timeout=10.0):
    end = time.time() + timeout
    while time.time() < end:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


class Procs:
    def __init__(self):
        self.procs = []
        self.dir = tempfile.mkdtemp(prefix="proxy-bench-")

    def start(self, argv, port):
        p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=open(f"{self.dir}/{port}.err", "w"),
                             start_new_session=True)
        self.procs.append(p)
        if not wait_port(port):
            sys.exit(f"proxy_bench: nothing listens on {port}: {' '.join(argv)}")
        return p

    def backend(self):
        conf = (f"worker_processes 1; daemon off; worker_rlimit_nofile 16384; error_log {self.dir}/ngx.log; "
                f"pid {self.dir}/be.pid; events {{ worker_connections 8192; }} "
                f"http {{ access_log off; keepalive_requests 10000000; server {{ listen 127.0.0.1:{P_BE} backlog=4096; "
                f"location / {{ default_type text/plain; return 200 \"hello world!\\n\"; }} }} }}")
        open(f"{self.dir}/be.conf", "w").write(conf)
        return self.start(["nginx", "-p", self.dir, "-c", f"{self.dir}/be.conf"], P_BE)

    def stop(self):
        for p in self.procs:
            try:
                os.killpg(p.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        for p in self.procs:
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
        shutil.rmtree(self.dir, ignore_errors=True)


def wrk(port, conns, duration):
    out = subprocess.run(["wrk", "-t1", f"-c{conns}", f"-d{duration}s", f"http://127.0.0.1:{port}/"],
                         capture_output=True, text=True).stdout
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    return float(m.group(1)) if m else 0.0


def compare(a):
    argv = [sys.executable, COMPARE, "--proxy", a.proxy, "--workers", "1", "--rounds", str(a.rounds)]
    print("$ " + " ".join(argv[1:]), flush=True)
    out = subprocess.run(argv, capture_output=True, text=True)
    print(out.stdout + out.stderr, flush=True)
    return out.stdout.strip().splitlines()[-1] if out.stdout.strip() else ""


def limiter(a):
    procs = Procs()
    try:
        procs.backend()
        common = ["--workers", "1", "--admin", "", "--route", f"*=127.0.0.1:{P_BE}"]
        procs.start([a.proxy, "--listen", f"127.0.0.1:{P_OFF}"] + common, P_OFF)
        procs.start([a.proxy, "--listen", f"127.0.0.1:{P_ON}", "--limit", "1000", "--queue", "1000"] + common, P_ON)
        ratios, offs, ons = [], [], []
        for _ in range(a.rounds):
            for port in (P_OFF, P_ON):
                wrk(port, 64, 1)  # warm-up
            off = wrk(P_OFF, 64, a.duration)
            on = wrk(P_ON, 64, a.duration)
            offs.append(off)
            ons.append(on)
            ratios.append(on / off if off else float("nan"))
        line = (f"limiter: off {statistics.median(offs):.0f} req/s, on {statistics.median(ons):.0f} req/s, "
                f"on/off={statistics.median(ratios):.3f} (64 connections, {a.rounds} interleaved rounds)")
        print(line, flush=True)
        return line
    finally:
        procs.stop()


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def tcp_mem_pages():
    with open("/proc/net/sockstat") as f:
        for line in f:
            if line.startswith("TCP:"):
                return int(line.split("mem")[1].split()[0])
    return 0


def memory(a, n=10_000):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if hard < n + 100:
        sys.exit(f"proxy_bench: open-file hard limit {hard} is below {n + 100}")
    procs = Procs()
    socks = []
    try:
        procs.backend()
        proxy = procs.start([a.proxy, "--listen", f"127.0.0.1:{P_OFF}", "--workers", "1", "--admin", "",
                             "--route", f"*=127.0.0.1:{P_BE}", "--idle-timeout", "600s"], P_OFF)
        request = b"GET / HTTP/1.1\r\nHost: bench\r\n\r\n"
        for _ in range(100):  # warm the pools up first
            s = socket.create_connection(("127.0.0.1", P_OFF))
            s.sendall(request)
            s.recv(4096)
            s.close()
        time.sleep(0.5)
        base_rss, base_tcp = rss_kb(proxy.pid), tcp_mem_pages()
        for i in range(n):
            s = socket.create_connection(("127.0.0.1", P_OFF))
            s.sendall(request)
            data = b""
            while not data.endswith(b"hello world!\n"):
                data += s.recv(4096)
            socks.append(s)
        time.sleep(1.0)
        rss, tcp = rss_kb(proxy.pid), tcp_mem_pages()
        per_conn = (rss - base_rss) * 1024 / n
        kernel = (tcp - base_tcp) * 4096 / n
        line = (f"memory: {n} idle keep-alive connections: proxy RSS {base_rss} KiB -> {rss} KiB, "
                f"{per_conn:.0f} bytes per connection in the proxy; kernel TCP memory "
                f"{kernel:.0f} bytes per connection (both ends of the loopback pair)")
        print(line, flush=True)
        return line
    finally:
        for s in socks:
            s.close()
        procs.stop()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("what", nargs="?", default="all", choices=["compare", "limiter", "memory", "all"])
    ap.add_argument("--proxy", default=os.environ.get("BERTH_PROXY", os.path.join(ROOT, "build", "berth-proxy")))
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--duration", type=int, default=5)
    a = ap.parse_args()
    a.proxy = os.path.abspath(a.proxy)
    if not os.access(a.proxy, os.X_OK):
        sys.exit(f"proxy_bench: {a.proxy} not found (build the berth-proxy target)")
    results = []
    if a.what in ("compare", "all"):
        results.append(compare(a))
    if a.what in ("limiter", "all"):
        results.append(limiter(a))
    if a.what in ("memory", "all"):
        results.append(memory(a))
    print("\n== summary")
    for r in results:
        print(r)


if __name__ == "__main__":
    main()
