// In-process end-to-end tests: a Proxy on an ephemeral port in front of a small
// blocking HTTP server, driven with raw sockets. They exist mainly so that the sanitizer
// build runs the connection state machine; tests/integration/test_proxy.py covers the
// behaviour in depth against the real binary.
#include "proxy/proxy.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "proxy/control_client.h"

namespace berth::proxy {
namespace {

int Connect(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
    close(fd);
    return -1;
  }
  timeval tv{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  return fd;
}

void SendAll(int fd, const std::string& s) {
  size_t off = 0;
  while (off < s.size()) {
    ssize_t n = send(fd, s.data() + off, s.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return;
    off += static_cast<size_t>(n);
  }
}

// Reads responses with a Content-Length body (or until close) from one connection,
// keeping what belongs to the next response.
class Reader {
 public:
  explicit Reader(int fd) : fd_(fd) {}
  std::string Next() {
    char buf[4096];
    for (;;) {
      size_t head_end = data_.find("\r\n\r\n");
      if (head_end != std::string::npos) {
        size_t cl = data_.find("Content-Length: ");
        if (cl != std::string::npos && cl < head_end) {
          size_t end = head_end + 4 + std::stoul(data_.substr(cl + 16));
          if (data_.size() >= end) {
            std::string r = data_.substr(0, end);
            data_.erase(0, end);
            return r;
          }
        }
      }
      ssize_t n = recv(fd_, buf, sizeof(buf), 0);
      if (n <= 0) return std::exchange(data_, std::string());
      data_.append(buf, static_cast<size_t>(n));
    }
  }

 private:
  int fd_;
  std::string data_;
};

std::string ReadResponse(int fd) {
  return Reader(fd).Next();
}

// A blocking HTTP/1.1 server, one thread per connection:
//   /sleep  waits 300 ms; /ws  answers 101 and echoes bytes; POST echoes the body;
//   anything else answers "ok PATH". Tracks the most requests seen at once.
class Upstream {
 public:
  Upstream() {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a));
    listen(fd_, 128);
    socklen_t len = sizeof(a);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    accept_ = std::thread([this] { AcceptLoop(); });
  }
  ~Upstream() {
    stop_ = true;
    shutdown(fd_, SHUT_RDWR);
    close(fd_);
    accept_.join();
    for (auto& t : conns_) t.join();
  }
  int port() const { return port_; }
  int max_concurrent() const { return max_; }

 private:
  void AcceptLoop() {
    for (;;) {
      int c = accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      conns_.emplace_back([this, c] { Serve(c); });
    }
  }
  void Serve(int c) {
    std::string buf;
    char tmp[4096];
    for (;;) {
      size_t end;
      while ((end = buf.find("\r\n\r\n")) == std::string::npos) {
        ssize_t n = recv(c, tmp, sizeof(tmp), 0);
        if (n <= 0) return (void)close(c);
        buf.append(tmp, static_cast<size_t>(n));
      }
      std::string head = buf.substr(0, end);
      buf.erase(0, end + 4);
      std::string path = head.substr(head.find(' ') + 1);
      path = path.substr(0, path.find(' '));
      std::string body;
      size_t cl = head.find("Content-Length: ");
      if (cl != std::string::npos) {
        size_t len = std::stoul(head.substr(cl + 16));
        while (buf.size() < len) {
          ssize_t n = recv(c, tmp, sizeof(tmp), 0);
          if (n <= 0) return (void)close(c);
          buf.append(tmp, static_cast<size_t>(n));
        }
        body = buf.substr(0, len);
        buf.erase(0, len);
      } else if (head.find("Transfer-Encoding: chunked") != std::string::npos) {
        for (;;) {
          while (buf.find("\r\n") == std::string::npos) {
            ssize_t n = recv(c, tmp, sizeof(tmp), 0);
            if (n <= 0) return (void)close(c);
            buf.append(tmp, static_cast<size_t>(n));
          }
          size_t size = std::stoul(buf.substr(0, buf.find("\r\n")), nullptr, 16);
          buf.erase(0, buf.find("\r\n") + 2);
          while (buf.size() < size + 2) {
            ssize_t n = recv(c, tmp, sizeof(tmp), 0);
            if (n <= 0) return (void)close(c);
            buf.append(tmp, static_cast<size_t>(n));
          }
          body += buf.substr(0, size);
          buf.erase(0, size + 2);
          if (size == 0) break;
        }
      }
      int now = ++active_;
      int prev = max_.load();
      while (now > prev && !max_.compare_exchange_weak(prev, now)) {
      }
      if (path == "/sleep") std::this_thread::sleep_for(std::chrono::milliseconds(300));
      --active_;
      if (path == "/ws") {
        SendAll(c, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n");
        if (!buf.empty()) SendAll(c, buf);
        for (;;) {
          ssize_t n = recv(c, tmp, sizeof(tmp), 0);
          if (n <= 0) break;
          SendAll(c, std::string(tmp, static_cast<size_t>(n)));
        }
        close(c);
        return;
      }
      std::string out = head.starts_with("POST") ? body : "ok " + path;
      std::string fwd = head.find("X-Forwarded-For: 127.0.0.1") != std::string::npos ? "yes" : "no";
      SendAll(c, "HTTP/1.1 200 OK\r\nX-Saw-Forwarded: " + fwd +
                     "\r\nContent-Length: " + std::to_string(out.size()) + "\r\n\r\n" + out);
    }
  }

  int fd_;
  int port_;
  std::atomic<bool> stop_{false};
  std::atomic<int> active_{0};
  std::atomic<int> max_{0};
  std::thread accept_;
  std::vector<std::thread> conns_;
};

class ProxyTest : public ::testing::Test {
 protected:
  void StartProxy(ProxyConfig c) {
    c.listen = "127.0.0.1:0";
    c.admin = "127.0.0.1:0";
    c.handle_signals = false;
    if (c.workers == 0) c.workers = 2;
    proxy_ = std::make_unique<Proxy>(c);
    Status st = proxy_->Start();
    ASSERT_TRUE(st.ok()) << st.ToString();
    port_ = proxy_->listen_port();
    runner_ = std::thread([this] { exit_code_ = proxy_->Run(); });
  }
  void TearDown() override {
    if (proxy_ && runner_.joinable()) {
      proxy_->Stop();
      runner_.join();
      EXPECT_EQ(exit_code_, 0);
    }
    proxy_.reset();
  }
  std::string Get(const std::string& path, const std::string& host = "svc.test") {
    int fd = Connect(port_);
    SendAll(fd, "GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\n\r\n");
    std::string r = ReadResponse(fd);
    close(fd);
    return r;
  }
  ProxyConfig RouteTo(int upstream_port) {
    ProxyConfig c;
    c.routes.push_back({"svc.test", {"127.0.0.1:" + std::to_string(upstream_port)}});
    return c;
  }

  Upstream up_;
  std::unique_ptr<Proxy> proxy_;
  std::thread runner_;
  int port_ = 0;
  int exit_code_ = -1;
};

TEST_F(ProxyTest, ForwardsAndReusesConnections) {
  StartProxy(RouteTo(up_.port()));
  int fd = Connect(port_);
  for (int i = 0; i < 20; ++i) {
    SendAll(fd, "GET /n" + std::to_string(i) + " HTTP/1.1\r\nHost: svc.test\r\n\r\n");
    std::string r = ReadResponse(fd);
    ASSERT_NE(r.find("200 OK"), std::string::npos) << r;
    EXPECT_NE(r.find("ok /n" + std::to_string(i)), std::string::npos);
    EXPECT_NE(r.find("X-Saw-Forwarded: yes"), std::string::npos);
    EXPECT_NE(r.find("Via: 1.1 berth"), std::string::npos);
  }
  close(fd);
  EXPECT_NE(Get("/x", "unknown.test").find("404"), std::string::npos);
}

TEST_F(ProxyTest, PipelinedRequestsAnsweredInOrder) {
  StartProxy(RouteTo(up_.port()));
  int fd = Connect(port_);
  SendAll(fd,
          "GET /a HTTP/1.1\r\nHost: svc.test\r\n\r\nGET /b HTTP/1.1\r\nHost: svc.test\r\n\r\n"
          "GET /c HTTP/1.1\r\nHost: nowhere\r\n\r\nGET /d HTTP/1.1\r\nHost: svc.test\r\n\r\n");
  Reader r(fd);
  EXPECT_NE(r.Next().find("ok /a"), std::string::npos);
  EXPECT_NE(r.Next().find("ok /b"), std::string::npos);
  EXPECT_NE(r.Next().find("404"), std::string::npos);
  EXPECT_NE(r.Next().find("ok /d"), std::string::npos);
  close(fd);
}

TEST_F(ProxyTest, RequestBodiesContentLengthAndChunked) {
  ProxyConfig c = RouteTo(up_.port());
  c.max_body = 1 << 20;
  StartProxy(c);
  int fd = Connect(port_);
  std::string big(300 * 1024, 'b');
  SendAll(fd, "POST /p HTTP/1.1\r\nHost: svc.test\r\nContent-Length: " + std::to_string(big.size()) +
                  "\r\n\r\n" + big);
  std::string r = ReadResponse(fd);
  EXPECT_EQ(r.substr(r.find("\r\n\r\n") + 4), big);
  SendAll(fd,
          "POST /p HTTP/1.1\r\nHost: svc.test\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6;x=y\r\n "
          "world\r\n0\r\n\r\n");
  r = ReadResponse(fd);
  EXPECT_EQ(r.substr(r.find("\r\n\r\n") + 4), "hello world");
  SendAll(fd, "POST /p HTTP/1.1\r\nHost: svc.test\r\nContent-Length: 2000000\r\n\r\n");
  EXPECT_NE(ReadResponse(fd).find("413"), std::string::npos);
  close(fd);
}

TEST_F(ProxyTest, LimitQueueAndOverflow) {
  ProxyConfig c = RouteTo(up_.port());
  c.limit = 1;
  c.queue = 2;
  StartProxy(c);
  std::vector<int> fds;
  for (int i = 0; i < 5; ++i) {
    fds.push_back(Connect(port_));
    SendAll(fds.back(), "GET /sleep HTTP/1.1\r\nHost: svc.test\r\n\r\n");
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  int ok = 0, overflow = 0;
  for (int fd : fds) {
    std::string r = ReadResponse(fd);
    if (r.find("200 OK") != std::string::npos) ++ok;
    if (r.find("429") != std::string::npos && r.find("Retry-After: 1") != std::string::npos) ++overflow;
    close(fd);
  }
  EXPECT_EQ(ok, 3);
  EXPECT_EQ(overflow, 2);
  EXPECT_EQ(up_.max_concurrent(), 1);
}

TEST_F(ProxyTest, UpgradeTunnelsBytesBothWays) {
  StartProxy(RouteTo(up_.port()));
  int fd = Connect(port_);
  SendAll(fd, "GET /ws HTTP/1.1\r\nHost: svc.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\nearly");
  std::string got;
  char buf[4096];
  while (got.find("early") == std::string::npos) {
    ssize_t n = recv(fd, buf, sizeof(buf), 0);
    ASSERT_GT(n, 0);
    got.append(buf, static_cast<size_t>(n));
  }
  EXPECT_NE(got.find("101 Switching Protocols"), std::string::npos);
  SendAll(fd, "ping");
  got.clear();
  while (got.size() < 4) {
    ssize_t n = recv(fd, buf, sizeof(buf), 0);
    ASSERT_GT(n, 0);
    got.append(buf, static_cast<size_t>(n));
  }
  EXPECT_EQ(got, "ping");
  shutdown(fd, SHUT_WR);  // the FIN travels through; the upstream closes; so do we
  EXPECT_EQ(recv(fd, buf, sizeof(buf), 0), 0);
  close(fd);
}

TEST_F(ProxyTest, ControlSocketSwapsRoutesAndReportsStats) {
  char dir[] = "/tmp/berth-proxy-test-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  std::string sock = std::string(dir) + "/control.sock";
  ProxyConfig c;
  c.control_path = sock;
  StartProxy(c);
  EXPECT_NE(Get("/", "svc.test").find("404"), std::string::npos);
  auto client = ControlClient::Connect(sock, Millis(2000));
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  EXPECT_EQ((*client)->hello().pid, getpid());
  RouteSnapshot s;
  s.version = 5;
  RouteSpec r;
  r.host = "svc.test";
  r.service = "test/svc";
  r.upstreams = {{"u1", "127.0.0.1:" + std::to_string(up_.port()), true}};
  s.routes.push_back(r);
  ASSERT_TRUE((*client)->PushSnapshot(s, Millis(2000)).ok());
  std::string resp;
  for (int i = 0; i < 100 && resp.find("200 OK") == std::string::npos; ++i) resp = Get("/after");
  EXPECT_NE(resp.find("ok /after"), std::string::npos);
  // Older versions are ignored; malformed snapshots change nothing.
  s.version = 4;
  s.routes.clear();
  EXPECT_TRUE((*client)->PushSnapshot(s, Millis(2000)).ok());
  EXPECT_TRUE((*client)->SendLine("{\"type\":\"snapshot\",\"version\":9}", Millis(1000)).ok());
  auto err = (*client)->Read(Millis(2000));
  ASSERT_TRUE(err.ok());
  EXPECT_EQ(err->type, ControlMessage::Type::kError);
  auto ping = (*client)->Ping(Millis(2000));
  ASSERT_TRUE(ping.ok());
  EXPECT_EQ(*ping, 5u);
  bool saw_stats = false;
  for (int i = 0; i < 5 && !saw_stats; ++i) {
    auto m = (*client)->Read(Millis(2000));
    ASSERT_TRUE(m.ok());
    if (m->type == ControlMessage::Type::kStats) {
      saw_stats = true;
      EXPECT_EQ(m->stats.version, 5u);
      EXPECT_TRUE(m->stats.services.contains("test/svc"));
    }
  }
  EXPECT_TRUE(saw_stats);
  client->reset();  // the controller goes away: routes stay
  EXPECT_NE(Get("/still").find("ok /still"), std::string::npos);
  proxy_->Stop();
  runner_.join();
  proxy_.reset();
  EXPECT_NE(access(sock.c_str(), F_OK), 0);  // the socket file is removed
  rmdir(dir);
}

TEST_F(ProxyTest, MalformedRequestsGet4xx) {
  StartProxy(RouteTo(up_.port()));
  struct Case {
    std::string req;
    const char* status;
  } cases[] = {
      {"GET / HTTP/1.1\r\nHost : svc.test\r\n\r\n", "400"},
      {"POST / HTTP/1.1\r\nHost: svc.test\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", "400"},
      {"GET / HTTP/1.1\r\n\r\n", "400"},
      {"GET /" + std::string(9000, 'a') + " HTTP/1.1\r\nHost: svc.test\r\n\r\n", "414"},
      {"CONNECT svc.test:443 HTTP/1.1\r\nHost: svc.test\r\n\r\n", "405"},
  };
  for (const Case& c : cases) {
    int fd = Connect(port_);
    SendAll(fd, c.req);
    std::string r = ReadResponse(fd);
    EXPECT_EQ(r.substr(0, 12), std::string("HTTP/1.1 ") + c.status) << c.req.substr(0, 60);
    close(fd);
  }
}

}  // namespace
}  // namespace berth::proxy
