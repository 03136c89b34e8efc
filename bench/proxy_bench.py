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
  floor     berth-proxy against bench/l4_relay (epoll and io_uring), a relay that does no
            HTTP work at all, and direct, interleaved: throughput ratio and CPU microseconds
            per request of every process (client, proxy, backend), measured over each run's
            steady middle. The relay's ratio is the most this machine allows any user-space
            proxy; the CPU figures say where the rest goes.

Usage: bench/proxy_bench.py [compare|limiter|memory|floor|all] [--proxy PATH] [--rounds N]
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
P_RELAY_EPOLL, P_RELAY_URING = 18193, 18194


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


def wrk_argv(port, conns, duration):
    return ["wrk", "-t1", f"-c{conns}", f"-d{duration}s", f"http://127.0.0.1:{port}/"]


def wrk_rps(out):
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    return float(m.group(1)) if m else 0.0


def wrk(port, conns, duration):
    return wrk_rps(subprocess.run(wrk_argv(port, conns, duration), capture_output=True, text=True).stdout)


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


CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    """User + system CPU of every thread of `pid` so far."""
    total = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{tid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / CLK_TCK


def cpu_times():
    """(all, idle + iowait) jiffies of the whole machine so far."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return sum(v), v[3] + v[4]


def wrk_sampled(port, conns, duration, pids):
    """Runs wrk against `port`; returns (req/s, the client's CPU us per request, {pid: CPU
    us per request}, idle fraction), CPU and idle over the run's middle (from 0.5 s after
    the start to 1 s before the end)."""
    wrk(port, conns, 1)  # warm-up
    w = subprocess.Popen(wrk_argv(port, conns, duration), stdout=subprocess.PIPE, text=True)
    watched = [w.pid] + pids
    time.sleep(0.5)
    c0, s0, t0 = {p: cpu_seconds(p) for p in watched}, cpu_times(), time.time()
    time.sleep(duration - 1.5)
    c1, s1, t1 = {p: cpu_seconds(p) for p in watched}, cpu_times(), time.time()
    out = w.communicate()[0]
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)|Socket errors:.*", out)
    if bad:  # a relay or proxy that drops or mangles traffic would look fast: refuse the sample
        sys.exit(f"proxy_bench: errors through port {port}: {bad.group(0)}")
    rps = wrk_rps(out)
    n = max(1.0, rps * (t1 - t0))
    us = {p: (c1[p] - c0[p]) / n * 1e6 for p in watched}
    idle = (s1[1] - s0[1]) / max(1, s1[0] - s0[0])
    return rps, us.pop(w.pid), us, idle


def floor(a):
    relay = os.path.join(os.path.dirname(a.proxy), "bench", "l4_relay")
    if not os.access(relay, os.X_OK):
        relay = os.path.join(ROOT, "build", "bench", "l4_relay")
    if not os.access(relay, os.X_OK):
        sys.exit("proxy_bench: bench/l4_relay not built (cmake --build build --target l4_relay)")
    procs = Procs()
    try:
        be = procs.backend()
        time.sleep(0.2)
        be_worker = int(subprocess.run(["pgrep", "-P", str(be.pid)], capture_output=True, text=True).stdout.split()[0])
        targets = {"direct": (P_BE, None)}
        p = procs.start([a.proxy, "--listen", f"127.0.0.1:{P_OFF}", "--workers", "1", "--admin", "",
                         "--route", f"*=127.0.0.1:{P_BE}"], P_OFF)
        targets["berth"] = (P_OFF, p.pid)
        for io, port in (("epoll", P_RELAY_EPOLL), ("uring", P_RELAY_URING)):
            p = procs.start([relay, "--io", io, f"127.0.0.1:{port}", f"127.0.0.1:{P_BE}"], port)
            targets[f"relay-{io}"] = (port, p.pid)
        rows = []
        for r in range(a.rounds):
            for conns in (64, 256):
                direct = None
                for name, (port, pid) in targets.items():
                    rps, client_us, cpu, idle = wrk_sampled(port, conns, a.duration,
                                                            [be_worker] + ([pid] if pid else []))
                    row = dict(round=r, conns=conns, target=name, rps=rps, idle=idle, client_us=client_us,
                               backend_us=cpu[be_worker], proxy_us=cpu[pid] if pid else 0.0)
                    if name == "direct":
                        direct = rps
                    row["ratio"] = rps / direct if direct else float("nan")
                    rows.append(row)
                    print(f"round {r} c={conns:<3} {name:>11}: {rps:8.0f} req/s  x{row['ratio']:.3f}  "
                          f"CPU us/request: client {row['client_us']:5.1f} backend {row['backend_us']:5.1f} "
                          f"proxy {row['proxy_us']:5.1f}  idle {idle * 100:4.1f} %", flush=True)
        med = lambda xs: statistics.median(xs) if xs else float("nan")
        print(f"{'conns':>5} {'target':>11} {'/direct':>8} {'client':>7} {'backend':>8} {'proxy':>6} "
              f"{'sum':>6} {'ceiling':>8}")
        ncpu = os.cpu_count() or 1
        print(f"(CPU us per request; ceiling: the ratio to direct if all {ncpu} CPUs were busy at that sum)")
        summary = []
        for conns in (64, 256):
            d_rps = med([x["rps"] for x in rows if x["conns"] == conns and x["target"] == "direct"])
            for name in targets:
                xs = [x for x in rows if x["conns"] == conns and x["target"] == name]
                cu, bu, pu = (med([x[k] for x in xs]) for k in ("client_us", "backend_us", "proxy_us"))
                ceiling = ncpu * 1e6 / (cu + bu + pu) / d_rps if d_rps else float("nan")
                ratio = med([x["ratio"] for x in xs])
                print(f"{conns:>5} {name:>11} {ratio:>8.3f} {cu:>7.1f} {bu:>8.1f} {pu:>6.1f} {cu + bu + pu:>6.1f} "
                      f"{ceiling:>8.2f}")
                if name != "direct":
                    summary.append(f"c{conns} {name}={ratio:.2f}({pu:.1f}us)")
        line = "floor: /direct (proxy CPU per request): " + " ".join(summary)
        print(line, flush=True)
        return line
    finally:
        procs.stop()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("what", nargs="?", default="all", choices=["compare", "limiter", "memory", "floor", "all"])
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
    if a.what in ("floor", "all"):
        results.append(floor(a))
    print("\n== summary")
    for r in results:
        print(r)


if __name__ == "__main__":
    main()
