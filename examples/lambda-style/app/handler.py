"""A small HTTP "function" for the scaling examples: stdlib sockets and threads only.

It avoids http.server on purpose: importing it (email, html, mimetypes ...) costs
about 60 ms, a quarter of a cold start; this file imports in a few milliseconds.
Run as `python3 -S handler.py` to also skip site-packages discovery.

GET /        -> "hello from <replica>" after WORK_MS of simulated work (sleep)
GET /cpu     -> burns CPU_MS of CPU, then answers
GET /version -> the VERSION environment variable (rolling-update tests)
Any other method gets 405. HTTP/1.1 keep-alive; request bodies are read and ignored.
"""
import os
import signal
import socket
import sys
import threading
import time

PORT = int(os.environ.get("PORT", "8080"))
WORK_MS = float(os.environ.get("WORK_MS", "0"))
CPU_MS = float(os.environ.get("CPU_MS", "10"))
REPLICA = f"{os.environ.get('BERTH_SERVICE', 'fn')}-{os.environ.get('BERTH_REPLICA', '?')}"
VERSION = os.environ.get("VERSION", "1")
MAX_HEAD = 16384


def answer(path):
    if path.startswith("/cpu"):
        end = time.process_time() + CPU_MS / 1000
        while time.process_time() < end:
            pass
        return 200, f"cpu {CPU_MS:.0f} ms on {REPLICA}\n"
    if path.startswith("/version"):
        return 200, f"{VERSION}\n"
    if WORK_MS:
        time.sleep(WORK_MS / 1000)
    return 200, f"hello from {REPLICA}\n"


def respond(conn, status, body, keep):
    data = body.encode()
    reason = {200: "OK", 400: "Bad Request", 405: "Method Not Allowed"}.get(status, "OK")
    head = (f"HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain\r\n"
            f"Content-Length: {len(data)}\r\n{'' if keep else 'Connection: close' + chr(13) + chr(10)}\r\n")
    conn.sendall(head.encode() + data)


def serve(conn):
    buf = b""
    try:
        while True:
            while b"\r\n\r\n" not in buf:
                if len(buf) > MAX_HEAD:
                    respond(conn, 400, "header too large\n", False)
                    return
                chunk = conn.recv(65536)
                if not chunk:
                    return
                buf += chunk
            head, _, buf = buf.partition(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            parts = lines[0].split(" ")
            if len(parts) != 3:
                respond(conn, 400, "bad request line\n", False)
                return
            method, path, version = parts
            headers = {}
            for line in lines[1:]:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            length = int(headers.get("content-length", "0") or "0")
            if "chunked" in headers.get("transfer-encoding", "").lower():
                respond(conn, 400, "chunked bodies not supported\n", False)
                return
            while len(buf) < length:  # read and drop the body
                chunk = conn.recv(65536)
                if not chunk:
                    return
                buf += chunk
            buf = buf[length:]
            conn_hdr = headers.get("connection", "").lower()
            keep = (version == "HTTP/1.1" and conn_hdr != "close") or conn_hdr == "keep-alive"
            if method not in ("GET", "HEAD"):
                respond(conn, 405, "method not allowed\n", keep)
            else:
                status, body = answer(path)
                respond(conn, status, body if method == "GET" else "", keep)
            if not keep:
                return
    except OSError:
        pass
    finally:
        conn.close()


def main():
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("0.0.0.0", PORT))
    srv.listen(128)
    while True:
        conn, _ = srv.accept()
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        threading.Thread(target=serve, args=(conn,), daemon=True).start()


if __name__ == "__main__":
    main()
