#!/usr/bin/env python3
"""Measures the figures behind examples/README-scaling.md on the apprunner-style example:
CPU ms per request -> requests/s per process -> concurrency limit and replicas.

    # against a running berthd (berth on PATH or --berth), the environment already up:
    python3 examples/apprunner-style/measure.py --env apprunner
    # or bring it up first:
    python3 examples/apprunner-style/measure.py --env apprunner --create
    # or without berth: one replica's URL, and optionally the proxy and the route's host
    python3 examples/apprunner-style/measure.py --url http://10.89.0.2:8080 \\
        --proxy http://127.0.0.1:8080 --host web.apprunner.localhost
    # then through the proxy: a steady load (counting replicas) and a burst, for any mode
    python3 examples/apprunner-style/measure.py --env apprunner --only-proxy --sustain 10 --burst 200
    python3 examples/apprunner-style/measure.py --env lambda --service fn --only-proxy \\
        --sustain 10 --sustain-path /            # lambda-style created with --set WORK_MS=100

Stdlib only. CPU time comes from the app's own /stats (the process's user + system time,
every thread), read before and after a run, so it is the replica's CPU per request with
the HTTP server's overhead included, not just the handler's busy loop; it hardly depends
on what else the machine is doing, wall times do. The clients run on the same machine and
take CPU too. The one-replica part takes about a minute (less with --quick).
"""
import argparse
import http.client
import json
import math
import os
import shutil
import subprocess
import sys
import threading
import time
from urllib.parse import urlsplit

HERE = os.path.dirname(os.path.abspath(__file__))
TARGET_UTILIZATION = 0.7  # the autoscaler's default: a replica is "full" at 70 % of its limit


class Client:
    """One keep-alive HTTP/1.1 connection (like a browser or an SDK's pool of one)."""

    def __init__(self, base, host=None, timeout=60):
        u = urlsplit(base)
        self.hostport = (u.hostname, u.port or 80)
        self.host = host
        self.timeout = timeout
        self.conn = None

    def get(self, path):
        """(status, body, headers); reconnects once if a kept-alive connection was closed."""
        for attempt in (0, 1):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(*self.hostport, timeout=self.timeout)
            try:
                self.conn.request("GET", path, headers={"Host": self.host} if self.host else {})
                r = self.conn.getresponse()
                body = r.read()
                if r.getheader("Connection", "").lower() == "close":
                    self.close()
                return r.status, body, r.headers
            except (http.client.HTTPException, OSError):
                self.close()
                if attempt:
                    raise

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def stats(base, host=None):
    c = Client(base, host)
    try:
        status, body, _ = c.get("/stats")
        if status != 200:
            raise RuntimeError(f"/stats answered {status}")
        return json.loads(body)
    finally:
        c.close()


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def proc_cpu_ms(pid):
    """user + system CPU of a process (all threads), or None."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def cpu_total(stats_urls):
    """Summed CPU time (ms) of the given replicas."""
    return sum(stats(u)["cpu_ms"] for u in stats_urls)


def sequential(base, path, n, host=None, stats_urls=None, proxy_pid=None):
    """One client, n requests one after the other. CPU is read from `stats_urls` (every
    replica the requests may reach; default: `base` itself). Returns a dict of figures."""
    stats_urls = stats_urls or [base]
    c = Client(base, host)
    c.get(path)  # warm the connection and the handler thread
    cpu0 = cpu_total(stats_urls)
    pcpu0 = proc_cpu_ms(proxy_pid) if proxy_pid else None
    walls = []
    for _ in range(n):
        t = time.perf_counter()
        status, _, _ = c.get(path)
        walls.append((time.perf_counter() - t) * 1000)
        if status != 200:
            raise RuntimeError(f"GET {path}: {status}")
    pcpu1 = proc_cpu_ms(proxy_pid) if proxy_pid else None
    cpu1 = cpu_total(stats_urls)
    c.close()
    # the /stats calls' own CPU (~0.2 ms each) is in the difference, spread over n
    out = {"n": n, "wall_p50": pct(walls, 50), "wall_p90": pct(walls, 90), "wall_mean": sum(walls) / n,
           "cpu_ms": (cpu1 - cpu0) / n}
    if pcpu0 is not None and pcpu1 is not None:
        out["proxy_cpu_ms"] = (pcpu1 - pcpu0) / n
    return out


def paired(direct, proxy, host, path, n):
    """Requests alternating between the replica and the proxy (two keep-alive clients), so
    both see the same background noise: (direct p50, proxy p50, p50 of the differences)."""
    a, b = Client(direct), Client(proxy, host)
    a.get(path), b.get(path)
    da, db, diff = [], [], []
    for _ in range(n):
        t = time.perf_counter()
        a.get(path)
        t1 = time.perf_counter()
        b.get(path)
        t2 = time.perf_counter()
        da.append((t1 - t) * 1000)
        db.append((t2 - t1) * 1000)
        diff.append(db[-1] - da[-1])
    a.close(), b.close()
    return pct(da, 50), pct(db, 50), pct(diff, 50)


def load(base, path, clients, seconds, host=None, with_stats=True):
    """`clients` keep-alive clients in a closed loop for `seconds`. Returns figures (CPU
    from the replica at `base` when with_stats)."""
    before = stats(base, host) if with_stats else None
    stop = time.monotonic() + seconds
    lock = threading.Lock()
    walls, codes = [], {}

    def run():
        c = Client(base, host)
        mine, my_codes = [], {}
        while time.monotonic() < stop:
            t = time.perf_counter()
            try:
                status, _, _ = c.get(path)
            except (OSError, http.client.HTTPException):
                status = "error"
            mine.append((time.perf_counter() - t) * 1000)
            my_codes[status] = my_codes.get(status, 0) + 1
        c.close()
        with lock:
            walls.extend(mine)
            for k, v in my_codes.items():
                codes[k] = codes.get(k, 0) + v

    t0 = time.monotonic()
    threads = [threading.Thread(target=run) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - t0
    n = len(walls)
    out = {"clients": clients, "n": n, "rps": n / elapsed, "wall_p50": pct(walls, 50),
           "wall_p99": pct(walls, 99), "codes": codes}
    if with_stats:
        after = stats(base, host)
        out.update(cpu_ms=(after["cpu_ms"] - before["cpu_ms"]) / max(n, 1),
                   cpu_util=(after["cpu_ms"] - before["cpu_ms"]) / (elapsed * 1000))
    return out


def burst(base, path, n, host):
    """n requests at once, each on its own connection; status counts and Retry-After."""
    results = []
    lock = threading.Lock()
    gate = threading.Barrier(n)

    def one():
        c = Client(base, host, timeout=120)
        try:
            gate.wait()
            status, _, headers = c.get(path)
            item = (status, headers.get("Retry-After"))
        except OSError as e:
            item = (f"error {e.__class__.__name__}", None)
        finally:
            c.close()
        with lock:
            results.append(item)

    t0 = time.monotonic()
    threads = [threading.Thread(target=one) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    codes = {}
    for status, _ in results:
        codes[status] = codes.get(status, 0) + 1
    with_retry = sum(1 for s, ra in results if s == 429 and ra)
    return {"codes": codes, "retry_after_on_429": with_retry, "seconds": time.monotonic() - t0}


class Berth:
    def __init__(self, binary):
        self.binary = binary

    def __call__(self, *args):
        r = subprocess.run([self.binary, *args], capture_output=True, text=True, timeout=300)
        if r.returncode != 0:
            raise SystemExit(f"berth {' '.join(args)}: exit {r.returncode}\n{r.stderr}")
        return r.stdout

    def json(self, *args):
        return json.loads(self(*args, "-o", "json"))

    def running(self, env, service):
        return [r for r in self.json("ps", "--env", env) if r["service"] == service and r["state"] == "running"]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--env", help="environment name: find the replicas, proxy and route with `berth`")
    ap.add_argument("--service", default="web")
    ap.add_argument("--port", type=int, default=8080, help="the replicas' port (default 8080)")
    ap.add_argument("--create", action="store_true", help="berth env create --wait first (from --spec)")
    ap.add_argument("--spec", default=os.path.join(HERE, "berth.yaml"))
    ap.add_argument("--berth", default=shutil.which("berth") or "berth", help="the berth CLI")
    ap.add_argument("--url", help="one replica, e.g. http://10.89.0.2:8080 (instead of --env)")
    ap.add_argument("--proxy", help="the ingress, e.g. http://127.0.0.1:8080")
    ap.add_argument("--host", help="the route's host name, e.g. web.apprunner.localhost")
    ap.add_argument("--proxy-pid", type=int, help="berth-proxy's pid, to measure its CPU per request")
    ap.add_argument("--cpu-ms", type=float, default=10, help="CPU burnt per /cpu request (default 10)")
    ap.add_argument("--io-ms", type=float, default=100, help="simulated I/O wait of / (default 100)")
    ap.add_argument("--limit", type=int, default=10, help="the service's concurrency.limit (default 10)")
    ap.add_argument("--rate", type=float, default=100, help="request rate to size for (default 100/s)")
    ap.add_argument("-n", type=int, default=300, help="requests per sequential run (default 300)")
    ap.add_argument("--seconds", type=float, default=8, help="length of each saturation run (default 8)")
    ap.add_argument("--quick", action="store_true", help="fewer requests, shorter runs")
    ap.add_argument("--only-proxy", action="store_true",
                    help="skip the one-replica measurements (any app): only --sustain and --burst")
    ap.add_argument("--sustain", type=int, default=0, metavar="CLIENTS",
                    help="CLIENTS clients through the proxy for --sustain-seconds, counting replicas")
    ap.add_argument("--sustain-seconds", type=float, default=30)
    ap.add_argument("--sustain-path", help="default /?ms=IO_MS")
    ap.add_argument("--burst", type=int, default=0, metavar="N", help="N simultaneous requests through the proxy")
    ap.add_argument("--burst-path", default="/?ms=2000")
    a = ap.parse_args()
    if a.quick:
        a.n, a.seconds, a.sustain_seconds = 100, 3, min(a.sustain_seconds, 10)

    berth = Berth(a.berth)
    replica_urls = [a.url] if a.url else []  # with --url, the proxy's route should hold only it
    if a.env:
        if a.create:
            berth("env", "create", a.env, "-f", a.spec, "--wait")
        info = berth.json("info")
        reps = berth.running(a.env, a.service)
        replica_urls = [f"http://{r['ip']}:{a.port}" for r in reps]
        a.url = a.url or (replica_urls[0] if reps else None)
        a.proxy = a.proxy or f"http://{info['proxy_listen']}"
        a.host = a.host or f"{a.service}.{a.env}.{info['domain']}"
        if a.proxy_pid is None:
            try:
                with open(os.path.join(info["run_dir"], "berth-proxy.pid")) as f:
                    a.proxy_pid = int(f.read())
            except (OSError, ValueError):
                pass
    if a.only_proxy:
        if not a.proxy:
            raise SystemExit("--only-proxy needs --proxy (or --env)")
    elif not a.url:
        raise SystemExit(f"{a.env}/{a.service} has no running replica" if a.env else "give --env NAME or --url URL")

    print(f"# {time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} CPUs, load average "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    cpu_path, io_path = f"/cpu?ms={a.cpu_ms:g}", f"/?ms={a.io_ms:g}"
    if not a.only_proxy:
        single_process(a, replica_urls, cpu_path, io_path)
    if a.sustain:
        sustain(a, berth, a.sustain_path or io_path)
    if a.burst:
        run_burst(a, berth)


def show(label, r):
    line = (f"  {label:<30} wall p50 {r['wall_p50']:6.2f} ms  p90 {r['wall_p90']:6.2f} ms  "
            f"CPU {r['cpu_ms']:6.2f} ms/request")
    if "proxy_cpu_ms" in r:
        line += f"  (proxy: {r['proxy_cpu_ms']:.2f} ms)"
    print(line, flush=True)


def single_process(a, replica_urls, cpu_path, io_path):
    """One replica: CPU and wall per request, the proxy's share, saturation, sizing."""
    print(f"== one client, {a.n} requests one after another (replica {a.url}"
          + (f", proxy {a.proxy} Host {a.host}" if a.proxy else "") + ")")
    empty = sequential(a.url, "/?ms=0", a.n)
    show("GET /?ms=0 direct", empty)
    cpu = sequential(a.url, cpu_path, a.n)
    show(f"GET {cpu_path} direct", cpu)
    if a.proxy:
        via = sequential(a.proxy, cpu_path, a.n, a.host, replica_urls, a.proxy_pid)
        show(f"GET {cpu_path} via proxy", via)
        for path in ("/?ms=0", cpu_path):
            d50, p50, diff = paired(a.url, a.proxy, a.host, path, a.n)
            print(f"  the proxy adds {diff:+.2f} ms to GET {path} (p50 of paired differences; "
                  f"direct p50 {d50:.2f} ms, via proxy {p50:.2f} ms)")
    io = sequential(a.url, io_path, max(20, a.n // 10))
    show(f"GET {io_path} direct", io)

    c = cpu["cpu_ms"]
    per_proc = 1000 / c
    print(f"\n== {cpu_path} costs {c:.2f} ms of CPU per request ({c - a.cpu_ms:.2f} ms of it outside the "
          f"busy loop: HTTP parsing, the handler thread; an empty request costs {empty['cpu_ms']:.2f} ms)")
    print(f"  one process on one core: 1000 / {c:.2f} = {per_proc:.0f} requests/s at most "
          f"(one core per process: the GIL)")

    clients = 4
    print(f"\n== saturation: closed-loop clients for {a.seconds:g} s, direct to one replica")
    sat = load(a.url, cpu_path, clients, a.seconds)
    print(f"  GET {cpu_path:<11} {clients:>2} clients: {sat['rps']:6.1f} requests/s "
          f"({sat['rps'] / per_proc:.0%} of {per_proc:.0f}), replica CPU {sat['cpu_util']:.0%} of a core, "
          f"p50 {sat['wall_p50']:.1f} ms, p99 {sat['wall_p99']:.1f} ms")
    iol = load(a.url, io_path, a.limit, a.seconds)
    w = io["wall_p50"]
    print(f"  GET {io_path:<11} {a.limit:>2} clients: {iol['rps']:6.1f} requests/s "
          f"(Little: {a.limit} / {w / 1000:.3f} s = {a.limit / (w / 1000):.0f}), replica CPU "
          f"{iol['cpu_util']:.0%} of a core, p50 {iol['wall_p50']:.1f} ms, p99 {iol['wall_p99']:.1f} ms")

    R = a.rate
    print(f"\n== sizing for {R:g} requests/s; the autoscaler keeps limit x {TARGET_UTILIZATION:.0%} in flight "
          f"per replica")
    for name, fig in ((cpu_path, cpu), (io_path, io)):
        cm, wm = fig["cpu_ms"], fig["wall_p50"]
        inflight, cores, full = R * wm / 1000, R * cm / 1000, wm / cm
        n_cpu = math.ceil(cores / TARGET_UTILIZATION)
        print(f"  {name}: CPU {cm:.2f} ms, wall {wm:.1f} ms; in flight = {R:g}/s x {wm / 1000:.4f} s = "
              f"{inflight:.1f}; CPU = {R:g}/s x {cm:.2f} ms = {cores:.2f} cores")
        print(f"    a process's core is full at wall / CPU = {full:.1f} in flight: a higher limit only "
              f"queues inside the process")
        for limit in sorted({1, a.limit, max(1, round(full))}):
            n_conc = math.ceil(inflight / (limit * TARGET_UTILIZATION))
            print(f"    limit {limit:>3}: ceil({inflight:.1f} / {limit * TARGET_UTILIZATION:.1f}) = {n_conc:>2} "
                  f"replicas by concurrency, ceil({cores:.2f} / 0.7) = {n_cpu} by CPU "
                  f"-> scale.max >= {max(n_conc, n_cpu)}")


def sustain(a, berth, path):
    """A steady load through the proxy; with --env, the replica count once a second."""
    counts, done = [], threading.Event()

    def watch():
        while not done.wait(1):
            counts.append(len(berth.running(a.env, a.service)))
    if a.env:
        counts.append(len(berth.running(a.env, a.service)))
    watcher = threading.Thread(target=watch) if a.env else None
    if watcher:
        watcher.start()
    print(f"\n== sustained: {a.sustain} client(s) in a closed loop, GET {path} through the proxy "
          f"for {a.sustain_seconds:g} s", flush=True)
    r = load(a.proxy, path, a.sustain, a.sustain_seconds, a.host, with_stats=False)
    done.set()
    print(f"  {r['rps']:.1f} requests/s, p50 {r['wall_p50']:.1f} ms, p99 {r['wall_p99']:.1f} ms "
          f"({codes_text(r['codes'])})")
    if watcher:
        watcher.join()
        print(f"  replicas running: {counts[0]} at the start, at most {max(counts)}, {counts[-1]} at the end "
              f"(once a second: {' '.join(map(str, counts))})")


def run_burst(a, berth):
    before = len(berth.running(a.env, a.service)) if a.env else None
    print(f"\n== burst: {a.burst} simultaneous GET {a.burst_path} through the proxy"
          + (f" ({before} replica(s) running)" if before is not None else ""), flush=True)
    b = burst(a.proxy, a.burst_path, a.burst, a.host)
    retry = (f"; {b['retry_after_on_429']} of the {b['codes'][429]} 429s carry Retry-After"
             if 429 in b["codes"] else "")
    print(f"  {codes_text(b['codes'])}{retry}; all answered in {b['seconds']:.1f} s")
    if a.env:
        time.sleep(1)
        print(f"  replicas running 1 s later: {len(berth.running(a.env, a.service))}")


def codes_text(codes):
    return ", ".join(f"{k}: {v}" for k, v in sorted(codes.items(), key=lambda kv: str(kv[0])))


if __name__ == "__main__":
    main()
