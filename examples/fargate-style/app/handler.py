"""A small HTTP service for the scaling examples: stdlib only, one process, a thread per
connection (ThreadingHTTPServer), so one replica really serves many requests at once.

GET /          -> "hello from <replica>" after WORK_MS of simulated I/O (a sleep; ?ms=N overrides)
GET /cpu       -> burns CPU_MS of this thread's CPU time (?ms=N overrides), then answers
GET /version   -> the VERSION environment variable (rolling-update tests)
GET /stats     -> JSON: replica, pid, requests served, the process's CPU time so far (ms)
                  and peak resident memory (KiB)

/stats is what examples/apprunner-style/measure.py reads to get CPU ms per request: the
process's own CPU time (user + system, every thread) before and after N requests.
"""
import http.server
import json
import os
import resource
import signal
import sys
import threading
import time
from urllib.parse import parse_qs, urlsplit

PORT = int(os.environ.get("PORT", "8080"))
WORK_MS = float(os.environ.get("WORK_MS", "0"))
CPU_MS = float(os.environ.get("CPU_MS", "10"))
REPLICA = f"{os.environ.get('BERTH_SERVICE', 'web')}-{os.environ.get('BERTH_REPLICA', '?')}"
VERSION = os.environ.get("VERSION", "1")

_lock = threading.Lock()
_served = 0


def _ms(query, default):
    try:
        return max(0.0, min(float(parse_qs(query).get("ms", [default])[0]), 60_000.0))
    except ValueError:
        return default


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body leave in two writes: without TCP_NODELAY, Nagle holds the body
    # until the client ACKs the headers, which a delayed ACK makes 40 ms on a kept-alive
    # connection (the proxy keeps its upstream connections alive).
    disable_nagle_algorithm = True

    def do_GET(self):
        global _served
        url = urlsplit(self.path)
        ctype = "text/plain"
        if url.path == "/cpu":
            ms = _ms(url.query, CPU_MS)
            # thread_time, not process_time: with several requests in flight the others'
            # CPU must not count towards this one's.
            end = time.thread_time() + ms / 1000
            while time.thread_time() < end:
                pass
            body = f"cpu {ms:.0f} ms on {REPLICA}\n"
        elif url.path == "/version":
            body = f"{VERSION}\n"
        elif url.path == "/stats":
            with _lock:
                served = _served
            body = json.dumps({"replica": REPLICA, "pid": os.getpid(), "served": served,
                               "cpu_ms": round(time.process_time() * 1000, 3),
                               "maxrss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}) + "\n"
            ctype = "application/json"
        else:
            ms = _ms(url.query, WORK_MS)
            if ms:
                time.sleep(ms / 1000)
            body = f"hello from {REPLICA}\n"
        with _lock:
            _served += 1
        data = body.encode()
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    Server(("0.0.0.0", PORT), Handler).serve_forever()
