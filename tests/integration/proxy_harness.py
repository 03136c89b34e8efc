"""Helpers for the berth-proxy integration tests (test_proxy.py): the proxy as a child
process, stdlib upstream servers with controllable misbehaviour, a control-socket client,
and raw-socket HTTP helpers. Everything binds 127.0.0.1; every process and thread started
here is stopped by the owner's cleanup, also when a test fails. No root needed.
"""
import base64
import hashlib
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import BUILD, free_port, wait_for  # noqa: E402

PROXY = os.path.join(BUILD, "berth-proxy")
# The workers' I/O back end under test (--io): ctest runs test_proxy once with the
# default (io_uring where the kernel allows it) and once as test_proxy_epoll.
IO = os.environ.get("BERTH_PROXY_IO", "auto")


def port_open(port):
    try:
        socket.create_connection(("127.0.0.1", port), 0.2).close()
        return True
    except OSError:
        return False


class Proxy:
    """berth-proxy on free ports; stop() sends SIGTERM, then SIGKILL."""

    def __init__(self, *args, routes=None, workers=1, admin=True, control=None, routes_file=None, wait=True):
        self.port = free_port()
        self.admin_port = free_port() if admin else None
        self.tmp = tempfile.mkdtemp(prefix="berth-proxy-it-")
        self.control = control
        self.routes_file = routes_file
        argv = [PROXY, "--listen", f"127.0.0.1:{self.port}", "--workers", str(workers),
                "--admin", f"127.0.0.1:{self.admin_port}" if admin else ""]
        for r in routes or []:
            argv += ["--route", r]
        if control:
            argv += ["--control", control]
        if routes_file:
            argv += ["--routes-file", routes_file]
        self.argv = argv + ["--io", IO] + list(args)
        self.proc = None
        self.start(wait)

    def start(self, wait=True):
        self.stderr = open(os.path.join(self.tmp, "stderr"), "ab")
        self.proc = subprocess.Popen(self.argv, stdout=subprocess.DEVNULL, stderr=self.stderr)
        if wait:
            wait_for(lambda: port_open(self.port) or self.proc.poll() is not None, 10, 0.02, "berth-proxy to listen")
            if self.proc.poll() is not None:
                raise AssertionError(f"berth-proxy exited {self.proc.returncode}: {self.log()}")

    def log(self):
        with open(os.path.join(self.tmp, "stderr"), "rb") as f:
            return f.read().decode(errors="replace")

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if self.stderr:
            self.stderr.close()
            self.stderr = None
        subprocess.run(["rm", "-rf", self.tmp])

    def metrics(self):
        return http_get_raw(self.admin_port, "/metrics", host="admin")[2].decode()

    def metric(self, name, **labels):
        """Sum of the samples of `name` whose labels include `labels`."""
        total = 0.0
        for line in self.metrics().splitlines():
            if line.startswith("#") or not line.startswith(name):
                continue
            key, _, value = line.rpartition(" ")
            if key.split("{")[0] != name:
                continue
            if all(f'{k}="{v}"' in key for k, v in labels.items()):
                total += float(value)
        return total


# ---------------------------------------------------------------- raw HTTP helpers

class Stream:
    """A socket with a read-back buffer, for reading pipelined responses one by one."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def recv(self, n):
        if self.buf:
            b, self.buf = self.buf, b""
            return b
        return self.sock.recv(n)

    def sendall(self, data):
        self.sock.sendall(data)

    def close(self):
        self.sock.close()


def _keep(sock, extra):
    if extra and isinstance(sock, Stream):
        sock.buf = extra + sock.buf


def read_response(sock, method="GET"):
    """Reads one HTTP/1.1 response. Returns (status, headers dict (lower-case), body).
    Bytes after it stay in `sock` if it is a Stream."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"closed before a response head: {buf!r}")
        buf += chunk
    head, _, rest = buf.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    if method == "HEAD" or status in (204, 304) or 100 <= status < 200:
        _keep(sock, rest)
        return status, headers, b""
    if "content-length" in headers:
        n = int(headers["content-length"])
        while len(rest) < n:
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed in the middle of the body")
            rest += chunk
        _keep(sock, rest[n:])
        return status, headers, rest[:n]
    if headers.get("transfer-encoding") == "chunked":
        body = b""
        while True:
            while b"\r\n" not in rest:
                chunk = sock.recv(65536)
                if not chunk:
                    raise ConnectionError("closed in the middle of a chunked body")
                rest += chunk
            line, _, rest = rest.partition(b"\r\n")
            size = int(line.split(b";")[0], 16)
            while len(rest) < size + 2:
                chunk = sock.recv(65536)
                if not chunk:
                    raise ConnectionError("closed in the middle of a chunk")
                rest += chunk
            body += rest[:size]
            rest = rest[size + 2:]
            if size == 0:
                _keep(sock, rest)
                return status, headers, body
    while True:  # until close
        chunk = sock.recv(65536)
        if not chunk:
            return status, headers, rest
        rest += chunk


def raw_request(port, data, timeout=5.0, method="GET"):
    """Sends raw bytes, returns (status, headers, body, closed_after) of the first response."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        s.sendall(data)
        status, headers, body = read_response(s, method)
        closed = False
        try:
            s.settimeout(0.5)
            closed = s.recv(1) == b""
        except socket.timeout:
            closed = False
        except ConnectionResetError:
            closed = True
        return status, headers, body, closed
    finally:
        s.close()


def http_get_raw(port, path="/", host="svc.test", timeout=5.0, extra=""):
    st, h, b, _ = raw_request(port, f"GET {path} HTTP/1.1\r\nHost: {host}\r\n{extra}\r\n".encode(), timeout)
    return st, h, b


# ---------------------------------------------------------------- upstream servers

class Upstream:
    """A stdlib-socket HTTP/1.1 server on a thread per connection. `handler(req, conn)`
    gets a dict (method, path, headers, body) and returns (status, headers, body) or None
    when it answered on its own. Tracks the most requests in flight at once."""

    def __init__(self, handler=None, keepalive_idle=None, close_on_reuse=False):
        self.handler = handler or (lambda req, conn: (200, {}, b"ok " + req["path"].encode()))
        self.keepalive_idle = keepalive_idle
        self.close_on_reuse = close_on_reuse
        self.lock = threading.Lock()
        self.active = 0
        self.max_active = 0
        self.requests = []
        self.connections = 0
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(512)
        self.port = self.sock.getsockname()[1]
        self.addr = f"127.0.0.1:{self.port}"
        self.stopped = False
        self.conns = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def stop(self):
        self.stopped = True
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        for c in list(self.conns):
            try:
                c.shutdown(socket.SHUT_RDWR)
                c.close()
            except OSError:
                pass

    def _accept(self):
        while not self.stopped:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            with self.lock:
                self.connections += 1
            self.conns.append(c)
            threading.Thread(target=self._serve, args=(c,), daemon=True).start()

    def _read_request(self, c, buf):
        while b"\r\n\r\n" not in buf:
            chunk = c.recv(65536)
            if not chunk:
                return None, b""
            buf += chunk
        head, _, buf = buf.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        method, path, _ = lines[0].split(" ", 2)
        headers = {}
        for line in lines[1:]:
            k, _, v = line.partition(":")
            headers.setdefault(k.strip().lower(), v.strip())
        raw_headers = lines[1:]
        body = b""
        if "content-length" in headers:
            n = int(headers["content-length"])
            while len(buf) < n:
                chunk = c.recv(65536)
                if not chunk:
                    return None, b""
                buf += chunk
            body, buf = buf[:n], buf[n:]
        elif headers.get("transfer-encoding") == "chunked":
            while True:
                while b"\r\n" not in buf:
                    buf += c.recv(65536)
                line, _, buf = buf.partition(b"\r\n")
                size = int(line.split(b";")[0], 16)
                while len(buf) < size + 2:
                    buf += c.recv(65536)
                body += buf[:size]
                buf = buf[size + 2:]
                if size == 0:
                    break
        return {"method": method, "path": path, "headers": headers, "raw_headers": raw_headers, "body": body,
                "rest": buf}, buf

    def _serve(self, c):
        buf = b""
        served = 0
        try:
            while True:
                if self.keepalive_idle is not None and served > 0 and not buf:
                    c.settimeout(self.keepalive_idle)
                try:
                    req, buf = self._read_request(c, buf)
                except socket.timeout:
                    return  # idle keep-alive connection: close it, like gunicorn after 2 s
                c.settimeout(None)
                if req is None:
                    return
                if self.close_on_reuse and served > 0:
                    c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    return  # the keep-alive race: the request arrived as we closed
                served += 1
                with self.lock:
                    self.requests.append(req)
                    self.active += 1
                    self.max_active = max(self.max_active, self.active)
                try:
                    out = self.handler(req, c)
                finally:
                    with self.lock:
                        self.active -= 1
                if out is None:
                    return
                if out == "raw":  # the handler wrote a complete response itself
                    continue
                status, headers, body = out
                if req["method"] == "HEAD":
                    headers = dict(headers, **{"Content-Length": str(len(body))})
                    c.sendall(f"HTTP/1.1 {status} X\r\n".encode() + "".join(
                        f"{k}: {v}\r\n" for k, v in headers.items()).encode() + b"\r\n")
                    continue
                head = f"HTTP/1.1 {status} X\r\nContent-Length: {len(body)}\r\n"
                head += "".join(f"{k}: {v}\r\n" for k, v in headers.items())
                c.sendall(head.encode() + b"\r\n" + body)
        except OSError:
            pass
        finally:
            c.close()


def headers_echo(req, conn):
    return 200, {"Content-Type": "application/json"}, json.dumps(
        {"path": req["path"], "headers": req["raw_headers"], "body": req["body"].decode(errors="replace")}).encode()


def sleeper(seconds):
    def handler(req, conn):
        time.sleep(seconds)
        return 200, {}, b"slept"
    return handler


# ---------------------------------------------------------------- WebSocket

WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def ws_accept(key):
    return base64.b64encode(hashlib.sha1((key + WS_GUID).encode()).digest()).decode()


def ws_frame(payload, opcode=1, mask=True):
    head = bytes([0x80 | opcode])
    n = len(payload)
    mbit = 0x80 if mask else 0
    if n < 126:
        head += bytes([mbit | n])
    elif n < 65536:
        head += bytes([mbit | 126]) + struct.pack("!H", n)
    else:
        head += bytes([mbit | 127]) + struct.pack("!Q", n)
    if not mask:
        return head + payload
    key = os.urandom(4)
    return head + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))


def ws_read_frame(sock, buf=b""):
    def need(n):
        nonlocal buf
        while len(buf) < n:
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed")
            buf += chunk
    need(2)
    opcode = buf[0] & 0x0F
    masked = buf[1] & 0x80
    n = buf[1] & 0x7F
    off = 2
    if n == 126:
        need(4)
        n = struct.unpack("!H", buf[2:4])[0]
        off = 4
    elif n == 127:
        need(10)
        n = struct.unpack("!Q", buf[2:10])[0]
        off = 10
    key = b""
    if masked:
        need(off + 4)
        key = buf[off:off + 4]
        off += 4
    need(off + n)
    payload = buf[off:off + n]
    if masked:
        payload = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
    return opcode, payload, buf[off + n:]


def ws_echo_handler(req, conn):
    """Upstream side of a WebSocket echo (the Jupyter kernel channel shape)."""
    if req["headers"].get("upgrade", "").lower() != "websocket":
        return 400, {}, b"not a websocket"
    key = req["headers"]["sec-websocket-key"]
    conn.sendall(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                  f"Sec-WebSocket-Accept: {ws_accept(key)}\r\n\r\n").encode())
    buf = req["rest"]
    while True:
        try:
            opcode, payload, buf = ws_read_frame(conn, buf)
        except (ConnectionError, OSError):
            return None
        if opcode == 8:
            conn.sendall(ws_frame(payload, 8, mask=False))
            return None
        conn.sendall(ws_frame(payload, opcode, mask=False))


# ---------------------------------------------------------------- control socket

class Controller:
    """A controller on the proxy's control socket (what berthd does)."""

    def __init__(self, path, timeout=5.0):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(path)
        self.buf = b""
        self.hello = self.read()

    def send(self, obj):
        self.sock.sendall((obj if isinstance(obj, str) else json.dumps(obj)).encode() + b"\n")

    def read(self):
        while b"\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("control socket closed")
            self.buf += chunk
        line, _, self.buf = self.buf.partition(b"\n")
        return json.loads(line)

    def read_type(self, *types):
        while True:
            m = self.read()
            if m["type"] in types:
                return m

    def push(self, snapshot):
        self.send(snapshot)
        return self.read_type("ack", "error")

    def close(self):
        self.sock.close()


def snapshot(version, routes):
    """routes: list of (host, service, [addr...], extra dict)."""
    out = []
    for host, service, addrs, extra in routes:
        r = {"host": host, "service": service,
             "upstreams": [{"id": f"{service}.{i}", "addr": a, "ready": True} for i, a in enumerate(addrs)]}
        r.update(extra)
        out.append(r)
    return {"type": "snapshot", "version": version, "domain": "localhost", "routes": out}


class LoadGenerator:
    """Threads sending GETs over keep-alive connections until stop(); counts outcomes."""

    def __init__(self, port, host="svc.test", threads=4, path="/"):
        self.port, self.host, self.path = port, host, path
        self.ok = 0
        self.failures = []
        self.lock = threading.Lock()
        self.stopping = False
        self.threads = [threading.Thread(target=self._run, daemon=True) for _ in range(threads)]
        for t in self.threads:
            t.start()

    def _run(self):
        sock = None
        while not self.stopping:
            try:
                if sock is None:
                    sock = socket.create_connection(("127.0.0.1", self.port), timeout=5)
                sock.sendall(f"GET {self.path} HTTP/1.1\r\nHost: {self.host}\r\n\r\n".encode())
                status, headers, _ = read_response(sock)
                with self.lock:
                    if status == 200:
                        self.ok += 1
                    else:
                        self.failures.append(status)
                if headers.get("connection") == "close":
                    sock.close()
                    sock = None
            except (OSError, ConnectionError, ValueError) as e:
                with self.lock:
                    self.failures.append(repr(e))
                if sock:
                    sock.close()
                sock = None
                time.sleep(0.01)
        if sock:
            sock.close()

    def stop(self):
        self.stopping = True
        for t in self.threads:
            t.join(10)
        return self.ok, self.failures
