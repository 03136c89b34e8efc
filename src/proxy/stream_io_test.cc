// EventLoop's stream-socket calls (AddStream, Recv, Send, Shutdown, CloseStream) on both
// back ends, over real loopback TCP connections: the connection code relies on these
// behaving like recv(2)/send(2)/shutdown(2)/close(2) whichever back end runs.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "proxy/event_loop.h"
#include "proxy/net_util.h"
#include "proxy/uring_io.h"

namespace berth::proxy {
namespace {

// Byte i of a test stream: a pattern that shows loss, duplication and reordering.
char PatternByte(size_t i) {
  return static_cast<char>('a' + (i * 7 + i / 4099) % 26);
}
std::string Pattern(size_t from, size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = PatternByte(from + i);
  return s;
}

struct Conn final : IoHandler {
  EventLoop* loop = nullptr;
  int fd = -1;
  bool drain = true;  // read on every event
  std::string got;
  bool eof = false;
  int err = 0;
  uint32_t events = 0;
  bool writable = false;

  void OnIo(uint32_t ev) override {
    events |= ev;
    if (ev & EPOLLOUT) writable = true;
    if (drain) Drain();
  }
  void Drain() {
    char buf[5000];
    for (;;) {
      ssize_t n = loop->Recv(fd, buf, sizeof buf);
      if (n > 0) {
        got.append(buf, static_cast<size_t>(n));
      } else if (n == 0) {
        eof = true;
        return;
      } else if (errno == EAGAIN) {
        return;
      } else {
        err = errno;
        return;
      }
    }
  }
  ssize_t Send(const std::string& s) {
    iovec iov{const_cast<char*>(s.data()), s.size()};
    return loop->Send(fd, &iov, 1);
  }
};

// A TCP connection on 127.0.0.1: `ours` non-blocking (for the loop), `peer` non-blocking
// (driven by the test between loop iterations).
struct Pair {
  int ours = -1;
  int peer = -1;
  Pair() = default;
  Pair(Pair&& o) noexcept { *this = std::move(o); }
  Pair& operator=(Pair&& o) noexcept {
    std::swap(ours, o.ours);
    std::swap(peer, o.peer);
    return *this;
  }
  ~Pair() {
    if (peer >= 0) ::close(peer);
  }
};

Pair Connect() {
  Pair p;
  int l = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::bind(l, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  EXPECT_EQ(::listen(l, 512), 0);
  socklen_t len = sizeof a;
  ::getsockname(l, reinterpret_cast<sockaddr*>(&a), &len);
  p.peer = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  EXPECT_EQ(::connect(p.peer, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  p.ours = ::accept4(l, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
  ::close(l);
  ::fcntl(p.peer, F_SETFL, O_NONBLOCK);
  return p;
}

// Reads what the peer can without blocking; false at EOF. *err gets a read error.
bool PeerRead(int fd, std::string* out, int* err = nullptr) {
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n > 0) {
      out->append(buf, static_cast<size_t>(n));
      continue;
    }
    if (n == 0) return false;
    if (errno != EAGAIN && err != nullptr) *err = errno;
    return errno == EAGAIN;
  }
}

// Writes the pattern from *wrote up to `total` while the socket takes it.
void PeerWrite(int fd, size_t* wrote, size_t total) {
  while (*wrote < total) {
    std::string s = Pattern(*wrote, std::min<size_t>(65536, total - *wrote));
    ssize_t n = ::write(fd, s.data(), s.size());
    if (n <= 0) return;
    *wrote += static_cast<size_t>(n);
  }
}

class StreamIo : public ::testing::TestWithParam<IoBackend> {
 protected:
  void SetUp() override {
    auto l = EventLoop::Create(GetParam());
    if (!l.ok()) GTEST_SKIP() << "back end unavailable here: " << l.status().message();
    loop_ = std::move(*l);
  }
  // Runs the loop until `done` (checked between iterations) or 5 s.
  bool RunUntil(const std::function<bool()>& done) {
    int64_t end = EventLoop::MonotonicNs() + 5'000'000'000;
    while (!done()) {
      if (EventLoop::MonotonicNs() > end) return false;
      loop_->RunOnce(5);
    }
    return true;
  }
  void Add(Conn* c, int fd) {
    c->loop = loop_.get();
    c->fd = fd;
    ASSERT_TRUE(loop_->AddStream(fd, c, /*connecting=*/false).ok());
  }
  std::unique_ptr<EventLoop> loop_;
};

TEST_P(StreamIo, ReceivesDataThenEof) {
  Pair p = Connect();
  Conn c;
  Add(&c, p.ours);
  ASSERT_EQ(::write(p.peer, "hello", 5), 5);
  ASSERT_TRUE(RunUntil([&] { return c.got == "hello"; })) << c.got;
  EXPECT_TRUE(c.events & EPOLLIN);
  ::shutdown(p.peer, SHUT_WR);
  ASSERT_TRUE(RunUntil([&] { return c.eof; }));
  EXPECT_EQ(c.got, "hello");
  loop_->CloseStream(p.ours, false);
  std::string rest;
  ASSERT_TRUE(RunUntil([&] { return !PeerRead(p.peer, &rest); }));  // our FIN
}

TEST_P(StreamIo, SendKeepsOrderAndSaysEagainUntilThePeerReads) {
  Pair p = Connect();
  Conn c;
  Add(&c, p.ours);
  // The peer does not read: Send must say EAGAIN at some point (bounded buffering).
  size_t sent = 0;
  const size_t chunk = 48 * 1024;
  for (;;) {
    ssize_t n = c.Send(Pattern(sent, chunk));
    if (n < 0) {
      ASSERT_EQ(errno, EAGAIN);
      break;
    }
    sent += static_cast<size_t>(n);
    ASSERT_LT(sent, size_t{256} << 20) << "Send never pushed back";
    loop_->RunOnce(0);
  }
  // Now it reads; EPOLLOUT follows and the rest goes out; everything arrives in order.
  const size_t total = sent + 3 * chunk;
  std::string got;
  c.writable = false;
  ASSERT_TRUE(RunUntil([&] {
    PeerRead(p.peer, &got);
    while (sent < total && c.writable) {
      ssize_t n = c.Send(Pattern(sent, std::min(chunk, total - sent)));
      if (n < 0) {
        c.writable = false;
        break;
      }
      sent += static_cast<size_t>(n);
    }
    return got.size() == total;
  })) << got.size()
      << " of " << total;
  EXPECT_TRUE(got == Pattern(0, total));
  loop_->CloseStream(p.ours, false);
}

TEST_P(StreamIo, GracefulCloseDeliversEverythingAcceptedThenFin) {
  Pair p = Connect();
  Conn c;
  c.drain = false;
  Add(&c, p.ours);
  const size_t total = 3 << 20;
  size_t sent = 0;
  std::string got;
  ASSERT_TRUE(RunUntil([&] {
    while (sent < total) {
      ssize_t n = c.Send(Pattern(sent, std::min<size_t>(100'000, total - sent)));
      if (n < 0) break;
      sent += static_cast<size_t>(n);
    }
    if (got.size() < (1 << 20)) PeerRead(p.peer, &got);  // the peer reads a third, then stalls
    return sent == total;
  }));
  loop_->CloseStream(p.ours, /*abort=*/false);
  bool open = true;
  ASSERT_TRUE(RunUntil([&] {
    open = PeerRead(p.peer, &got);
    return !open;
  })) << got.size();
  EXPECT_EQ(got.size(), total);
  EXPECT_TRUE(got == Pattern(0, total));
}

TEST_P(StreamIo, AbortResetsThePeer) {
  Pair p = Connect();
  Conn c;
  Add(&c, p.ours);
  ASSERT_EQ(c.Send("partial"), 7);
  loop_->RunOnce(0);
  loop_->CloseStream(p.ours, /*abort=*/true);
  std::string got;
  int err = 0;
  ASSERT_TRUE(RunUntil([&] { return !PeerRead(p.peer, &got, &err) || err != 0; }));
  EXPECT_EQ(err, ECONNRESET);
}

TEST_P(StreamIo, ShutdownSendsFinAfterQueuedBytesAndKeepsReceiving) {
  Pair p = Connect();
  Conn c;
  Add(&c, p.ours);
  ASSERT_EQ(c.Send("abc"), 3);
  loop_->Shutdown(p.ours);
  std::string got;
  ASSERT_TRUE(RunUntil([&] { return !PeerRead(p.peer, &got); }));
  EXPECT_EQ(got, "abc");
  ASSERT_EQ(::write(p.peer, "xyz", 3), 3);
  ASSERT_TRUE(RunUntil([&] { return c.got == "xyz"; }));
  EXPECT_LT(c.Send("more"), 0);
  EXPECT_EQ(errno, EPIPE);
  loop_->CloseStream(p.ours, false);
}

// The handler stops reading (a slow upstream behind it): the peer must be pushed back
// by TCP, not buffered without bound, and nothing is lost when reading resumes.
TEST_P(StreamIo, ReceiveBackpressureLosesNothing) {
  Pair p = Connect();
  Conn c;
  c.drain = false;
  Add(&c, p.ours);
  const size_t total = 8 << 20;
  size_t wrote = 0;
  for (int i = 0; i < 50; ++i) {
    PeerWrite(p.peer, &wrote, total);
    loop_->RunOnce(1);
  }
  EXPECT_LT(wrote, total) << "the peer was never pushed back";
  c.drain = true;
  ASSERT_TRUE(RunUntil([&] {
    PeerWrite(p.peer, &wrote, total);
    c.Drain();
    return c.got.size() == total;
  })) << c.got.size();
  EXPECT_TRUE(c.got == Pattern(0, total));
  loop_->CloseStream(p.ours, false);
}

TEST_P(StreamIo, ConnectToAClosedPortReportsTheError) {
  int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  socklen_t len = sizeof a;
  ::getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(s);  // nothing listens on that port now
  bool in_progress = false;
  auto fd = ConnectTcp(a, &in_progress);
  if (!fd.ok()) GTEST_SKIP() << "refused synchronously";
  Conn c;
  c.drain = false;
  c.loop = loop_.get();
  c.fd = *fd;
  ASSERT_TRUE(loop_->AddStream(*fd, &c, in_progress).ok());
  ASSERT_TRUE(RunUntil([&] { return (c.events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) != 0; }));
  EXPECT_EQ(ConnectError(*fd), ECONNREFUSED);
  loop_->CloseStream(*fd, true);
}

// More unread data than the io_uring back end has receive buffers for: sockets wait for
// buffers (and are re-armed) instead of failing or losing bytes.
TEST_P(StreamIo, ManySocketsWithUnreadDataShareTheReceiveBuffers) {
  constexpr int kConns = 160;
  constexpr size_t kEach = 60 * 1024;  // 160 x 60 KiB > the 8 MiB of provided buffers
  std::vector<Pair> pairs(kConns);
  std::vector<Conn> conns(kConns);
  for (int i = 0; i < kConns; ++i) {
    pairs[i] = Connect();
    conns[i].drain = false;
    Add(&conns[i], pairs[i].ours);
  }
  std::vector<size_t> wrote(kConns, 0);
  for (int round = 0; round < 20; ++round) {
    for (int i = 0; i < kConns; ++i) PeerWrite(pairs[i].peer, &wrote[i], kEach);
    loop_->RunOnce(1);
  }
  for (auto& c : conns) c.drain = true;
  ASSERT_TRUE(RunUntil([&] {
    bool all = true;
    for (int i = 0; i < kConns; ++i) {
      PeerWrite(pairs[i].peer, &wrote[i], kEach);
      conns[i].Drain();
      all = all && conns[i].got.size() == kEach;
    }
    return all;
  }));
  for (int i = 0; i < kConns; ++i) {
    EXPECT_TRUE(conns[i].got == Pattern(0, kEach)) << i;
    loop_->CloseStream(pairs[i].ours, false);
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, StreamIo, ::testing::Values(IoBackend::kEpoll, IoBackend::kUring),
                         [](const ::testing::TestParamInfo<IoBackend>& i) {
                           return std::string(i.param == IoBackend::kUring ? "IoUring" : "Epoll");
                         });

}  // namespace
}  // namespace berth::proxy
