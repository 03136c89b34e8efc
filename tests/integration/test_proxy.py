"""berth-proxy end-to-end: the real binary in front of stdlib upstream servers, on
127.0.0.1 only, with raw sockets for the protocol defences. No root needed.

  admission   429 semantics (limit 2, queue 10, 50 clients), queue timeout, no replica
  defences    smuggling (CL+TE), conflicting CL, whitespace before colon, bad chunks,
              414, 431 (size and count), 413, 408 (slowloris)
  upstreams   connect failure 502, hang 504, reset mid-response, keep-alive race
  protocol    keep-alive, pipelining, chunked both ways, HEAD, 100-continue, HTTP/1.0,
              WebSocket echo
  control     route swap under load, controller SIGKILL, routes file and restart, stats
  process     metrics (promtool), graceful drain, CLI usage errors
"""
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from proxy_harness import (IO, PROXY, Controller, LoadGenerator, Proxy, Stream, Upstream, free_port,  # noqa: E402
                           headers_echo, http_get_raw, port_open, raw_request, read_response, sleeper,
                           snapshot, wait_for, ws_echo_handler, ws_frame, ws_read_frame)


def io_uring_offered():
    try:
        with open("/proc/sys/kernel/io_uring_disabled") as f:
            if f.read().strip() != "0":
                return False
    except FileNotFoundError:
        pass
    major, minor = (int(x) for x in os.uname().release.split(".")[:2])
    return (major, minor) >= (6, 0)


def setUpModule():
    if not os.access(PROXY, os.X_OK):
        raise unittest.SkipTest(f"{PROXY} not built")


class ProxyTestCase(unittest.TestCase):
    def setUp(self):
        self.things = []

    def tearDown(self):
        for t in reversed(self.things):
            t.stop()

    def upstream(self, *args, **kw):
        u = Upstream(*args, **kw)
        self.things.append(u)
        return u

    def proxy(self, *args, **kw):
        p = Proxy(*args, **kw)
        self.things.append(p)
        return p


class Routing(ProxyTestCase):
    def test_routes_by_host_and_rewrites_headers(self):
        up = self.upstream(headers_echo)
        p = self.proxy(routes=[f"svc.test={up.addr}"])
        st, h, body = http_get_raw(p.port, "/hello?x=1", host="SVC.test:8080",
                                   extra="Connection: keep-alive, X-Private\r\nX-Private: s\r\nKeep-Alive: 5\r\n"
                                         "TE: trailers\r\nX-Forwarded-For: 203.0.113.9\r\nX-Forwarded-Proto: https\r\n")
        self.assertEqual(st, 200)
        seen = json.loads(body)
        self.assertEqual(seen["path"], "/hello?x=1")
        hdrs = {l.split(":", 1)[0].lower(): l.split(":", 1)[1].strip() for l in seen["headers"]}
        self.assertEqual(hdrs["host"], "SVC.test:8080")
        self.assertEqual(hdrs["x-forwarded-for"], "203.0.113.9, 127.0.0.1")
        self.assertEqual(hdrs["x-forwarded-proto"], "http")
        self.assertEqual(hdrs["x-forwarded-host"], "SVC.test:8080")
        self.assertEqual(hdrs["via"], "1.1 berth")
        for hop in ("connection", "keep-alive", "te", "x-private"):
            self.assertNotIn(hop, hdrs)
        self.assertEqual(h["via"], "1.1 berth")
        st, _, body = http_get_raw(p.port, "/", host="other.test")
        self.assertEqual(st, 404)

    def test_keepalive_pipelining_head_and_http10(self):
        up = self.upstream()
        p = self.proxy(routes=[f"svc.test={up.addr}"])
        s = Stream(socket.create_connection(("127.0.0.1", p.port), timeout=5))
        s.sendall(b"GET /1 HTTP/1.1\r\nHost: svc.test\r\n\r\nHEAD /2 HTTP/1.1\r\nHost: svc.test\r\n\r\n"
                  b"GET /3 HTTP/1.1\r\nHost: svc.test\r\n\r\n")
        self.assertEqual(read_response(s)[2], b"ok /1")
        st, h, b = read_response(s, "HEAD")
        self.assertEqual((st, h["content-length"], b), (200, "5", b""))
        self.assertEqual(read_response(s)[2], b"ok /3")
        s.close()
        self.assertEqual(up.connections, 1)  # one pooled upstream connection did it all
        st, h, body, closed = raw_request(p.port, b"GET /old HTTP/1.0\r\n\r\n")
        self.assertEqual((st, body, closed), (404, b"no route for this host\n", True))
        p2 = self.proxy(routes=[f"*={up.addr}"])
        st, h, body, closed = raw_request(p2.port, b"GET /old HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        self.assertEqual((st, body, h.get("connection"), closed), (200, b"ok /old", "keep-alive", False))

    def test_bodies_stream_both_ways(self):
        def handler(req, conn):
            if req["path"] == "/big":  # a chunked response, written slowly in pieces
                conn.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
                for i in range(50):
                    piece = bytes([65 + i % 26]) * 100_000
                    conn.sendall(b"%x\r\n" % len(piece) + piece + b"\r\n")
                conn.sendall(b"0\r\n\r\n")
                return None
            return 200, {}, req["body"]
        up = self.upstream(handler)
        p = self.proxy(routes=[f"svc.test={up.addr}"])
        big = os.urandom(3_000_000)
        st, _, body, _ = raw_request(p.port, b"POST /echo HTTP/1.1\r\nHost: svc.test\r\nContent-Length: %d\r\n\r\n"
                                     % len(big) + big, timeout=20)
        self.assertEqual((st, body == big), (200, True))
        chunked = b"".join(b"%x\r\n" % 1000 + b"z" * 1000 + b"\r\n" for _ in range(100)) + b"0\r\n\r\n"
        st, _, body, _ = raw_request(p.port, b"POST /echo HTTP/1.1\r\nHost: svc.test\r\nTransfer-Encoding: chunked"
                                     b"\r\n\r\n" + chunked, timeout=20)
        self.assertEqual((st, len(body)), (200, 100_000))
        st, h, body, _ = raw_request(p.port, b"GET /big HTTP/1.1\r\nHost: svc.test\r\n\r\n", timeout=20)
        self.assertEqual((st, len(body), h.get("transfer-encoding")), (200, 5_000_000, "chunked"))

    def test_responses_without_a_body_keep_the_connection_in_sync(self):
        def handler(req, conn):
            if req["path"] == "/chunked-head":  # a HEAD answered with chunked framing, no body
                conn.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
                return "raw"
            if req["path"] == "/204":
                conn.sendall(b"HTTP/1.1 204 No Content\r\n\r\n")
                return "raw"
            return 200, {}, b"after"
        up = self.upstream(handler)
        p = self.proxy(routes=[f"svc.test={up.addr}"])
        s = Stream(socket.create_connection(("127.0.0.1", p.port), timeout=5))
        s.sendall(b"HEAD /chunked-head HTTP/1.1\r\nHost: svc.test\r\n\r\n")
        st, h, body = read_response(s, "HEAD")
        self.assertEqual((st, h.get("transfer-encoding"), body), (200, "chunked", b""))
        s.sendall(b"GET /204 HTTP/1.1\r\nHost: svc.test\r\n\r\nGET /x HTTP/1.1\r\nHost: svc.test\r\n\r\n")
        self.assertEqual(read_response(s)[0], 204)
        self.assertEqual(read_response(s)[2], b"after")  # nothing stray in between
        s.close()

    def test_expect_100_continue(self):
        up = self.upstream()
        p = self.proxy(routes=[f"svc.test={up.addr}"])

        def handler(req, conn):
            return 200, {}, b"got " + req["body"]
        up.handler = handler
        # The stdlib upstream does not send 100 itself; the request still goes through.
        st, _, body, _ = raw_request(p.port, b"POST / HTTP/1.1\r\nHost: svc.test\r\nExpect: 100-continue\r\n"
                                     b"Content-Length: 4\r\n\r\nbody")
        self.assertEqual((st, body), (200, b"got body"))


class Admission(ProxyTestCase):
    def test_429_semantics_limit_2_queue_10_50_clients(self):
        up = self.upstream(sleeper(0.5))
        p = self.proxy("--limit", "2", "--queue", "10", routes=[f"svc.test={up.addr}"])
        results = [None] * 50
        barrier = threading.Barrier(50)

        def client(i):
            s = socket.create_connection(("127.0.0.1", p.port), timeout=15)
            barrier.wait()
            try:
                s.sendall(b"GET / HTTP/1.1\r\nHost: svc.test\r\n\r\n")
                results[i] = read_response(s)
            finally:
                s.close()
        threads = [threading.Thread(target=client, args=(i,)) for i in range(50)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        statuses = sorted(r[0] for r in results)
        self.assertEqual(statuses.count(200), 12, statuses)
        self.assertEqual(statuses.count(429), 38, statuses)
        for st, h, _ in results:
            if st == 429:
                self.assertEqual(h["retry-after"], "1")
        self.assertLessEqual(up.max_active, 2)
        self.assertEqual(p.metric("berth_proxy_rejected_total", reason="overflow"), 38)

    def test_queue_timeout_gives_503(self):
        up = self.upstream(sleeper(1.5))
        p = self.proxy("--limit", "1", "--queue", "5", "--queue-timeout", "300ms", routes=[f"svc.test={up.addr}"])
        out = []

        def client():
            out.append(raw_request(p.port, b"GET / HTTP/1.1\r\nHost: svc.test\r\n\r\n", timeout=10))
        t0 = time.time()
        threads = [threading.Thread(target=client) for _ in range(3)]
        for t in threads:
            t.start()
            time.sleep(0.05)
        for t in threads:
            t.join(15)
        self.assertEqual(sorted(o[0] for o in out), [200, 503, 503])
        self.assertLess(time.time() - t0, 5)
        self.assertEqual(p.metric("berth_proxy_rejected_total", reason="queue_timeout"), 2)

    def test_no_ready_replica_gives_503_with_retry_after(self):
        tmp = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, tmp)
        path = os.path.join(tmp, "routes.json")
        snap = snapshot(3, [("svc.test", "t/svc", ["127.0.0.1:9"], {})])
        snap["routes"][0]["upstreams"][0]["ready"] = False
        with open(path, "w") as f:
            json.dump(snap, f)
        p = self.proxy(routes_file=path)
        st, h, _ = http_get_raw(p.port)
        self.assertEqual((st, h["retry-after"]), (503, "1"))


class Defences(ProxyTestCase):
    def setUp(self):
        super().setUp()
        self.up = self.upstream(headers_echo)
        self.p = self.proxy("--max-body", "1M", "--header-timeout", "1s", routes=[f"svc.test={self.up.addr}"])

    def status(self, data, timeout=5.0):
        st, h, body, closed = raw_request(self.p.port, data, timeout)
        return st, closed

    def test_content_length_with_transfer_encoding_is_rejected_not_smuggled(self):
        smuggle = (b"POST / HTTP/1.1\r\nHost: svc.test\r\nContent-Length: 44\r\nTransfer-Encoding: chunked\r\n\r\n"
                   b"0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: svc.test\r\n\r\n")
        self.assertEqual(self.status(smuggle), (400, True))
        reverse = (b"POST / HTTP/1.1\r\nHost: svc.test\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n"
                   b"0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: svc.test\r\n\r\n")
        self.assertEqual(self.status(reverse), (400, True))
        self.assertEqual(self.status(b"POST / HTTP/1.1\r\nHost: svc.test\r\nTransfer-Encoding: gzip, chunked, x\r\n\r\n"),
                         (400, True))
        self.assertEqual([r["path"] for r in self.up.requests], [])

    def test_framing_errors(self):
        cases = {
            "conflicting CL": b"POST / HTTP/1.1\r\nHost: svc.test\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
            "space before colon": b"GET / HTTP/1.1\r\nHost : svc.test\r\n\r\n",
            "bad chunk size": b"POST / HTTP/1.1\r\nHost: svc.test\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n",
            "chunk size with space": b"POST / HTTP/1.1\r\nHost: svc.test\r\nTransfer-Encoding: chunked\r\n\r\n3 \r\nabc\r\n",
            "obs-fold": b"GET / HTTP/1.1\r\nHost: svc.test\r\nX: a\r\n b\r\n\r\n",
            "no Host": b"GET / HTTP/1.1\r\n\r\n",
        }
        for name, data in cases.items():
            with self.subTest(name):
                self.assertEqual(self.status(data), (400, True))

    def test_size_limits(self):
        self.assertEqual(self.status(b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: svc.test\r\n\r\n"), (414, True))
        self.assertEqual(self.status(b"GET / HTTP/1.1\r\nHost: svc.test\r\nX-Big: " + b"v" * 70_000 + b"\r\n\r\n"),
                         (431, True))
        many = b"".join(b"X-%d: v\r\n" % i for i in range(101))
        self.assertEqual(self.status(b"GET / HTTP/1.1\r\nHost: svc.test\r\n" + many + b"\r\n"), (431, True))
        self.assertEqual(self.status(b"POST / HTTP/1.1\r\nHost: svc.test\r\nContent-Length: 2000000\r\n\r\n"),
                         (413, True))
        chunk = b"%x\r\n" % 600_000 + b"x" * 600_000 + b"\r\n"
        self.assertEqual(self.status(b"POST / HTTP/1.1\r\nHost: svc.test\r\nTransfer-Encoding: chunked\r\n\r\n"
                                     + chunk * 2 + b"0\r\n\r\n", timeout=10), (413, True))
        # Limits are limits, not typos: 100 fields and a body of exactly 1 MiB pass.
        ok = b"".join(b"X-%d: v\r\n" % i for i in range(99))
        self.assertEqual(self.status(b"GET / HTTP/1.1\r\nHost: svc.test\r\n" + ok + b"\r\n")[0], 200)
        body = b"b" * (1 << 20)
        self.assertEqual(self.status(b"POST / HTTP/1.1\r\nHost: svc.test\r\nContent-Length: %d\r\n\r\n" % len(body)
                                     + body, timeout=10)[0], 200)

    def test_slowloris_gets_408(self):
        s = socket.create_connection(("127.0.0.1", self.p.port), timeout=5)
        t0 = time.time()
        s.sendall(b"GET / HTTP/1.1\r\n")
        for _ in range(20):  # one header line every 300 ms, until the proxy answers
            if select.select([s], [], [], 0.3)[0]:
                break
            s.sendall(b"X-Slow: 1\r\n")
        st, _, _ = read_response(s)
        s.close()
        self.assertEqual(st, 408)
        self.assertLess(time.time() - t0, 2.5)


class UpstreamFailures(ProxyTestCase):
    def test_connect_failure_is_502(self):
        dead = free_port()
        p = self.proxy(routes=[f"svc.test=127.0.0.1:{dead}"])
        st, _, _ = http_get_raw(p.port)
        self.assertEqual(st, 502)
        self.assertEqual(p.metric("berth_proxy_upstream_errors_total", kind="connect"), 1)

    def test_hanging_upstream_is_504(self):
        stop = threading.Event()
        up = self.upstream(lambda req, conn: stop.wait(10) and None)
        self.addCleanup(stop.set)
        p = self.proxy("--upstream-timeout", "700ms", routes=[f"svc.test={up.addr}"])
        t0 = time.time()
        st, _, _ = http_get_raw(p.port)
        self.assertEqual(st, 504)
        self.assertLess(time.time() - t0, 3)

    def test_reset_mid_response_aborts_the_client(self):
        def handler(req, conn):
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" + b"x" * 1000)
            time.sleep(0.1)
            import struct
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            conn.close()
            return None
        up = self.upstream(handler)
        p = self.proxy(routes=[f"svc.test={up.addr}"])
        s = socket.create_connection(("127.0.0.1", p.port), timeout=5)
        s.sendall(b"GET / HTTP/1.1\r\nHost: svc.test\r\n\r\n")
        got = b""
        outcome = "eof"
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                got += chunk
        except ConnectionResetError:
            outcome = "reset"
        s.close()
        self.assertEqual(outcome, "reset")  # never a clean end
        self.assertLess(len(got), 100000)

    def test_keepalive_race_is_retried_for_idempotent_requests(self):
        up = self.upstream(close_on_reuse=True)  # drops every reused connection, unanswered
        p = self.proxy("--pool-idle", "10s", routes=[f"svc.test={up.addr}"])
        for i in range(5):
            st, _, body = http_get_raw(p.port, f"/{i}")
            self.assertEqual((st, body), (200, f"ok /{i}".encode()))
        self.assertGreaterEqual(p.metric("berth_proxy_upstream_retries_total"), 4)
        # A POST is not idempotent: it is not sent twice. (The pool holds the connection
        # the last retry opened; the POST reuses it and the upstream drops it.)
        post = b"POST /p HTTP/1.1\r\nHost: svc.test\r\nContent-Length: 1\r\n\r\nx"
        self.assertEqual(raw_request(p.port, post)[0], 502)
        self.assertEqual(raw_request(p.port, post)[0], 200)  # on a new connection
        self.assertEqual(sum(1 for r in up.requests if r["method"] == "POST"), 1)

    def test_upstream_idle_timeout_shorter_than_the_pools(self):
        up = self.upstream(keepalive_idle=0.2)  # closes idle connections after 200 ms
        p = self.proxy("--pool-idle", "10s", routes=[f"svc.test={up.addr}"])
        for i in range(6):
            st, _, _ = http_get_raw(p.port, f"/{i}")
            self.assertEqual(st, 200)
            time.sleep(0.3)


class WebSocket(ProxyTestCase):
    def test_websocket_echo(self):
        up = self.upstream(ws_echo_handler)
        p = self.proxy(routes=[f"nb.test={up.addr}"])
        s = socket.create_connection(("127.0.0.1", p.port), timeout=5)
        s.sendall(b"GET /api/kernels/1/channels HTTP/1.1\r\nHost: nb.test\r\nUpgrade: websocket\r\n"
                  b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                  b"Sec-WebSocket-Version: 13\r\n\r\n")
        buf = b""
        while b"\r\n\r\n" not in buf:
            buf += s.recv(4096)
        head, _, rest = buf.partition(b"\r\n\r\n")
        self.assertIn(b"101 Switching Protocols", head)
        self.assertIn(b"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", head)
        for msg in (b"hello", b"x" * 70000, "h\u00e9llo".encode()):
            s.sendall(ws_frame(msg))
            opcode, payload, rest = ws_read_frame(s, rest)
            self.assertEqual((opcode, payload), (1, msg))
        s.sendall(ws_frame(b"\x03\xe8", 8))
        opcode, _, rest = ws_read_frame(s, rest)
        self.assertEqual(opcode, 8)
        s.close()


class Control(ProxyTestCase):
    def setUp(self):
        super().setUp()
        self.tmp = tempfile.mkdtemp(prefix="berth-proxy-ctl-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.sock = os.path.join(self.tmp, "control.sock")

    def test_route_swap_under_load_has_zero_errors(self):
        a = self.upstream(lambda r, c: (200, {}, b"a"))
        b = self.upstream(lambda r, c: (200, {}, b"b"))
        p = self.proxy(control=self.sock)
        ctl = Controller(self.sock)
        self.addCleanup(ctl.close)
        self.assertEqual(ctl.hello["type"], "hello")
        self.assertEqual(ctl.push(snapshot(1, [("svc.test", "t/svc", [a.addr], {})]))["type"], "ack")
        load = LoadGenerator(p.port, threads=4)
        version = 1
        t_end = time.time() + 3
        while time.time() < t_end:
            version += 1
            addrs = [a.addr] if version % 3 == 0 else [b.addr] if version % 3 == 1 else [a.addr, b.addr]
            ack = ctl.push(snapshot(version, [("svc.test", "t/svc", addrs, {"limit": 50, "queue": 100})]))
            self.assertEqual(ack, {"type": "ack", "version": version})
            time.sleep(0.02)
        ok, failures = load.stop()
        self.assertEqual(failures, [])
        self.assertGreater(ok, 200)
        self.assertGreater(len(a.requests), 0)
        self.assertGreater(len(b.requests), 0)
        # Old versions are ignored; a bad snapshot changes nothing.
        self.assertEqual(ctl.push(snapshot(1, []))["version"], version)
        err = ctl.push({"type": "snapshot", "version": version + 1, "routes": [{"host": "bad host"}]})
        self.assertEqual(err["type"], "error")
        self.assertEqual(http_get_raw(p.port)[0], 200)

    def test_proxy_keeps_serving_when_its_controller_is_killed(self):
        up = self.upstream()
        p = self.proxy(control=self.sock)
        snap = json.dumps(snapshot(7, [("svc.test", "t/svc", [up.addr], {})]))
        code = ("import socket,sys,time\n"
                "s=socket.socket(socket.AF_UNIX);s.connect(sys.argv[1]);f=s.makefile('rwb')\n"
                "f.readline();f.write(sys.argv[2].encode()+b'\\n');f.flush();print(f.readline().decode(),flush=True)\n"
                "time.sleep(60)\n")
        ctl = subprocess.Popen([sys.executable, "-c", code, self.sock, snap], stdout=subprocess.PIPE, text=True)
        self.addCleanup(lambda: ctl.poll() is None and ctl.kill())
        self.assertEqual(json.loads(ctl.stdout.readline())["type"], "ack")
        load = LoadGenerator(p.port, threads=3)
        time.sleep(0.5)
        ctl.send_signal(signal.SIGKILL)
        ctl.wait(5)
        time.sleep(1.0)
        ok, failures = load.stop()
        self.assertEqual(failures, [])
        self.assertGreater(ok, 50)
        # A new controller can connect later and sees the version being served.
        c2 = Controller(self.sock)
        self.addCleanup(c2.close)
        self.assertEqual(c2.hello["version"], 7)
        self.assertEqual(c2.push(snapshot(8, [("svc.test", "t/svc", [up.addr], {})]))["version"], 8)

    def test_stats_report_concurrency(self):
        up = self.upstream(sleeper(3))
        p = self.proxy(control=self.sock)
        ctl = Controller(self.sock)
        self.addCleanup(ctl.close)
        ctl.push(snapshot(1, [("svc.test", "t/svc", [up.addr], {"limit": 2, "queue": 5})]))
        clients = [threading.Thread(target=raw_request, args=(p.port, b"GET / HTTP/1.1\r\nHost: svc.test\r\n\r\n",
                                                                10)) for _ in range(3)]
        for t in clients:
            t.start()
        ctl.read_type("stats")  # the interval in which they arrived
        s = ctl.read_type("stats")["services"]["t/svc"]
        for t in clients:
            t.join(15)
        self.assertEqual((s["in_flight"], s["queued"]), (2, 1))
        self.assertAlmostEqual(s["avg_concurrency"], 2.0, delta=0.2)
        self.assertAlmostEqual(s["avg_queued"], 1.0, delta=0.2)

    def test_routes_file_serves_right_after_a_restart(self):
        up = self.upstream()
        path = os.path.join(self.tmp, "routes.json")
        with open(path, "w") as f:
            json.dump(snapshot(4, [("svc.test", "t/svc", [up.addr], {})]), f)
        p = self.proxy(control=self.sock, routes_file=path)
        self.assertEqual(http_get_raw(p.port)[0], 200)
        p.kill9()
        t0 = time.time()
        p.start(wait=False)
        status = None
        while time.time() - t0 < 5:
            try:
                status = http_get_raw(p.port, timeout=1)[0]
                if status == 200:
                    break
            except OSError:
                time.sleep(0.01)
        elapsed = time.time() - t0
        self.assertEqual(status, 200)
        self.assertLess(elapsed, 1.0)
        c = Controller(self.sock)  # the stale socket file from the killed proxy was replaced
        self.addCleanup(c.close)
        self.assertEqual(c.hello["version"], 4)


class Process(ProxyTestCase):
    def test_metrics_pass_promtool(self):
        up = self.upstream()
        tmp = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, tmp)
        path = os.path.join(tmp, "routes.json")
        with open(path, "w") as f:
            json.dump(snapshot(1, [("svc.test", "svc.test", [up.addr], {}),
                                   ("weird.test", 'we"ird\\svc', [up.addr], {"limit": 3})]), f)
        p = self.proxy(routes_file=path)
        self.assertEqual(http_get_raw(p.port, host="weird.test")[0], 200)
        for _ in range(3):
            http_get_raw(p.port)
        http_get_raw(p.port, host="nowhere.test")
        text = p.metrics()
        self.assertIn('berth_proxy_requests_total{service="svc.test",code="2xx"} 3', text)
        self.assertIn('berth_proxy_local_responses_total{code="404"} 1', text)
        # The back end asked for is the one running: "auto" means io_uring wherever the
        # kernel offers it (Linux >= 6.0, kernel.io_uring_disabled = 0); a silent fallback
        # to epoll there would hide a bug.
        want = "epoll" if IO == "epoll" or not io_uring_offered() else "io_uring"
        self.assertIn(f'berth_proxy_io_workers{{backend="{want}"}} 1', text)
        if not shutil.which("promtool"):
            self.skipTest("promtool not installed")
        r = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True, text=True)
        self.assertEqual((r.returncode, r.stdout + r.stderr), (0, ""))

    def test_graceful_drain_on_sigterm(self):
        up = self.upstream(sleeper(1.0))
        p = self.proxy(routes=[f"svc.test={up.addr}"])
        out = []
        t = threading.Thread(target=lambda: out.append(raw_request(p.port, b"GET / HTTP/1.1\r\nHost: svc.test\r\n\r\n",
                                                                     10)))
        t.start()
        idle = socket.create_connection(("127.0.0.1", p.port))
        time.sleep(0.3)
        p.proc.send_signal(signal.SIGTERM)
        time.sleep(0.2)
        self.assertFalse(port_open(p.port))  # no new connections
        self.assertEqual(idle.recv(1), b"")  # idle keep-alive connections are closed
        idle.close()
        t.join(10)
        st, h, body, closed = out[0]
        self.assertEqual((st, body, h.get("connection"), closed), (200, b"slept", "close", True))
        self.assertEqual(p.proc.wait(10), 0)

    def test_usage_errors_exit_2(self):
        for args in ([], ["--route", "nope"], ["--route", "*=1.2.3.4:80", "--limit", "x"], ["--bogus"]):
            r = subprocess.run([PROXY] + args, capture_output=True, text=True, timeout=10)
            self.assertEqual(r.returncode, 2, args)
            self.assertTrue(r.stderr.startswith("berth-proxy: "), r.stderr)
        r = subprocess.run([PROXY, "--help"], capture_output=True, text=True, timeout=10)
        self.assertEqual(r.returncode, 0)
        self.assertIn("--route HOST=UP", r.stdout)
        busy = socket.socket()
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        r = subprocess.run([PROXY, "--listen", f"127.0.0.1:{busy.getsockname()[1]}", "--route", "*=1.2.3.4:80",
                            "--admin", f"127.0.0.1:{busy.getsockname()[1]}"], capture_output=True, text=True,
                           timeout=10)
        busy.close()
        self.assertEqual(r.returncode, 1)
        self.assertIn("Address already in use", r.stderr)


if __name__ == "__main__":
    unittest.main()
