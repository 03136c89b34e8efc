"""The hello example's web service: counts visits in a file on its volume."""
import http.server
import os
import signal
import socketserver
import sys

PORT = int(os.environ.get("PORT", "8000"))
GREETING = os.environ.get("GREETING", "hello")
COUNTER = "/data/visits"


def bump():
    try:
        with open(COUNTER) as f:
            n = int(f.read().strip() or 0)
    except FileNotFoundError:
        n = 0
    n += 1
    tmp = COUNTER + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(n))
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, COUNTER)
    return n


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/health":
            body = b"ok\n"
        else:
            body = f"{GREETING} (visit {bump()}, replica {os.environ.get('BERTH_REPLICA', '?')})\n".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, fmt, *args):
        print("%s %s" % (self.address_string(), fmt % args), flush=True)


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    # As PID 1 of its container, Python would ignore SIGTERM without a handler.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    srv = Server(("0.0.0.0", PORT), Handler)
    print(f"listening on :{PORT}", flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
