#include "proxy/head_rewriter.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <string>

namespace berth::proxy {
namespace {

std::string Drain(OutQueue& q) {
  int fds[2];
  EXPECT_EQ(pipe(fds), 0);
  int err = 0;
  EXPECT_EQ(q.Flush(fds[1], &err), OutQueue::Result::kDone);
  close(fds[1]);
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = read(fds[0], buf, sizeof(buf))) > 0) out.append(buf, static_cast<size_t>(n));
  close(fds[0]);
  return out;
}

struct Parsed {
  std::string text;
  MessageHead head;
};

void ParseHead(Parsed* p, HttpParser::Kind kind) {
  HttpParser parser(kind);
  parser.set_head(&p->head);
  ParseResult r = parser.Execute(p->text.data(), p->text.data(), p->text.size());
  ASSERT_EQ(r.status, ParseStatus::kHeadComplete) << p->text;
}

std::string Upstream(const std::string& request, const char* client = "10.0.0.7") {
  Parsed p{request, {}};
  ParseHead(&p, HttpParser::Kind::kRequest);
  HeadInfo info;
  EXPECT_EQ(ClassifyHead(p.head, p.text.data(), &info), 0);
  BufferPool pool;
  OutQueue out(&pool);
  RequestForwarding fwd;
  fwd.client_addr = client;
  fwd.default_host = "svc.env.localhost";
  fwd.url = p.head.Get(p.text.data(), p.head.url);
  WriteUpstreamRequest(p.head, p.text.data(), info, fwd, &out);
  return Drain(out);
}

std::string Downstream(const std::string& response, const ResponseForwarding& fwd) {
  Parsed p{response, {}};
  ParseHead(&p, HttpParser::Kind::kResponse);
  HeadInfo info;
  ClassifyHead(p.head, p.text.data(), &info);
  BufferPool pool;
  OutQueue out(&pool);
  WriteClientResponse(p.head, p.text.data(), info, fwd, &out);
  return Drain(out);
}

TEST(HeadRewriter, RequestTable) {
  const std::string tail = "X-Forwarded-Proto: http\r\n";
  struct Case {
    const char* name;
    std::string in;
    std::string out;
  } cases[] = {
      {"minimal", "GET / HTTP/1.1\r\nHost: a.b\r\n\r\n",
       "GET / HTTP/1.1\r\nHost: a.b\r\nX-Forwarded-For: 10.0.0.7\r\n" + tail +
           "X-Forwarded-Host: a.b\r\nVia: 1.1 berth\r\n\r\n"},
      {"hop-by-hop fields go",
       "GET /x HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, X-Secret\r\nKeep-Alive: timeout=5\r\n"
       "Proxy-Connection: keep-alive\r\nTE: trailers\r\nTrailer: X-T\r\nX-Secret: 1\r\nUpgrade: "
       "h2c\r\nAccept: */*\r\n\r\n",
       "GET /x HTTP/1.1\r\nHost: a\r\nAccept: */*\r\nX-Forwarded-For: 10.0.0.7\r\n" + tail +
           "X-Forwarded-Host: a\r\nVia: 1.1 berth\r\n\r\n"},
      {"forwarded fields appended or replaced",
       "GET / HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: 1.2.3.4\r\nX-Forwarded-For: "
       "5.6.7.8\r\nX-Forwarded-Proto: https\r\n"
       "X-Forwarded-Host: evil\r\nVia: 1.0 fred\r\n\r\n",
       "GET / HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: 1.2.3.4, 5.6.7.8, 10.0.0.7\r\n" + tail +
           "X-Forwarded-Host: a\r\nVia: 1.0 fred, 1.1 berth\r\n\r\n"},
      {"chunked is re-framed", "POST /p HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n",
       "POST /p HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nX-Forwarded-For: 10.0.0.7\r\n" + tail +
           "X-Forwarded-Host: a\r\nVia: 1.1 berth\r\n\r\n"},
      {"content-length kept", "PUT /p HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\n",
       "PUT /p HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nX-Forwarded-For: 10.0.0.7\r\n" + tail +
           "X-Forwarded-Host: a\r\nVia: 1.1 berth\r\n\r\n"},
      {"websocket upgrade",
       "GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: "
       "k\r\n\r\n",
       "GET /ws HTTP/1.1\r\nHost: a\r\nSec-WebSocket-Key: k\r\nConnection: upgrade\r\nUpgrade: websocket\r\n"
       "X-Forwarded-For: 10.0.0.7\r\n" +
           tail + "X-Forwarded-Host: a\r\nVia: 1.1 berth\r\n\r\n"},
      {"HTTP/1.0 without Host gets one", "GET / HTTP/1.0\r\n\r\n",
       "GET / HTTP/1.1\r\nHost: svc.env.localhost\r\nX-Forwarded-For: 10.0.0.7\r\n" + tail +
           "Via: 1.1 berth\r\n\r\n"},
  };
  for (const Case& c : cases) EXPECT_EQ(Upstream(c.in), c.out) << c.name;
}

TEST(HeadRewriter, RejectsTwoHosts) {
  Parsed p{"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", {}};
  ParseHead(&p, HttpParser::Kind::kRequest);
  HeadInfo info;
  EXPECT_EQ(ClassifyHead(p.head, p.text.data(), &info), 400);
}

TEST(HeadRewriter, ResponseTable) {
  std::string up =
      "HTTP/1.1 200 OK\r\nServer: gunicorn\r\nConnection: keep-alive\r\nKeep-Alive: timeout=2\r\n"
      "Content-Length: 2\r\n\r\n";
  EXPECT_EQ(Downstream(up, {}),
            "HTTP/1.1 200 OK\r\nServer: gunicorn\r\nContent-Length: 2\r\nVia: 1.1 berth\r\n\r\n");
  ResponseForwarding close;
  close.close = true;
  EXPECT_EQ(Downstream(up, close),
            "HTTP/1.1 200 OK\r\nServer: gunicorn\r\nContent-Length: 2\r\nConnection: close\r\nVia: 1.1 "
            "berth\r\n\r\n");
  ResponseForwarding ka10;
  ka10.keep_alive_10 = true;
  EXPECT_EQ(Downstream(up, ka10),
            "HTTP/1.1 200 OK\r\nServer: gunicorn\r\nContent-Length: 2\r\nConnection: keep-alive\r\n"
            "Via: 1.1 berth\r\n\r\n");
  ResponseForwarding chunked;
  chunked.chunked = true;
  EXPECT_EQ(Downstream("HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\nVia: 1.1 up\r\n\r\n", chunked),
            "HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\nVia: 1.1 up, 1.1 berth\r\n\r\n");
  ResponseForwarding upgrade;
  upgrade.upgrade = true;
  EXPECT_EQ(Downstream("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                       "Sec-WebSocket-Accept: x\r\n\r\n",
                       upgrade),
            "HTTP/1.1 101 Switching Protocols\r\nSec-WebSocket-Accept: x\r\nConnection: upgrade\r\nUpgrade: "
            "websocket\r\n"
            "Via: 1.1 berth\r\n\r\n");
}

TEST(HeadRewriter, HeaderNames) {
  EXPECT_EQ(ClassifyHeaderName("HOST"), HeaderKind::kHost);
  EXPECT_EQ(ClassifyHeaderName("transfer-Encoding"), HeaderKind::kTransferEncoding);
  EXPECT_EQ(ClassifyHeaderName("x-forwarded-for"), HeaderKind::kXForwardedFor);
  EXPECT_EQ(ClassifyHeaderName("Proxy-Connection"), HeaderKind::kProxyConnection);
  EXPECT_EQ(ClassifyHeaderName("Hosts"), HeaderKind::kOther);
  EXPECT_EQ(ClassifyHeaderName(""), HeaderKind::kOther);
}

TEST(HeadRewriter, AbsoluteUrlsAndHosts) {
  std::string_view auth, origin;
  ASSERT_TRUE(SplitAbsoluteUrl("http://api.shop.localhost:8080/p?q=1", &auth, &origin));
  EXPECT_EQ(auth, "api.shop.localhost:8080");
  EXPECT_EQ(origin, "/p?q=1");
  ASSERT_TRUE(SplitAbsoluteUrl("http://user@h", &auth, &origin));
  EXPECT_EQ(auth, "h");
  EXPECT_EQ(origin, "/");
  EXPECT_FALSE(SplitAbsoluteUrl("/plain", &auth, &origin));
  EXPECT_FALSE(SplitAbsoluteUrl("http://h?q", &auth, &origin));  // found by the fuzzer
  char buf[256];
  struct {
    const char* in;
    const char* out;
  } hosts[] = {{"API.Shop.LOCALHOST:8080", "api.shop.localhost"}, {"a.b.", "a.b"}, {"", ""}, {"x:1", "x"}};
  for (const auto& h : hosts) {
    int n = NormalizeHost(h.in, buf, sizeof(buf));
    ASSERT_GE(n, 0) << h.in;
    EXPECT_EQ(std::string(buf, static_cast<size_t>(n)), h.out);
  }
  EXPECT_LT(NormalizeHost("a b", buf, sizeof(buf)), 0);
  EXPECT_LT(NormalizeHost(std::string(300, 'a'), buf, sizeof(buf)), 0);
}

}  // namespace
}  // namespace berth::proxy
