#include "proxy/control_client.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

namespace berth::proxy {

namespace {

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Waits for `events` until the absolute `deadline_ms`.
Status WaitFor(int fd, short events, int64_t deadline_ms) {
  for (;;) {
    int64_t left = deadline_ms - NowMs();
    if (left < 0) return DeadlineExceeded("control socket: timed out");
    pollfd p{fd, events, 0};
    int n = ::poll(&p, 1, static_cast<int>(left));
    if (n > 0) return OkStatus();
    if (n == 0) return DeadlineExceeded("control socket: timed out");
    if (errno != EINTR) return ErrnoStatus("poll");
  }
}

}  // namespace

StatusOr<std::unique_ptr<ControlClient>> ControlClient::Connect(const std::string& path, Millis timeout) {
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  if (path.size() >= sizeof(a.sun_path)) return InvalidArgument("control socket path too long: " + path);
  std::memcpy(a.sun_path, path.c_str(), path.size() + 1);
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return ErrnoStatus("socket");
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&a), sizeof(a)) != 0) {
    Status st = Unavailable("connect " + path + ": " + std::strerror(errno));
    ::close(fd);
    return st;
  }
  std::unique_ptr<ControlClient> c(new ControlClient(fd));
  auto hello = c->Read(timeout);
  if (!hello.ok()) return hello.status().WithContext("waiting for hello");
  if (hello->type != ControlMessage::Type::kHello) return Internal("control socket: expected hello");
  c->hello_ = *hello;
  return c;
}

ControlClient::~ControlClient() {
  ::close(fd_);
}

Status ControlClient::SendLine(const std::string& line, Millis timeout) {
  std::string data = line + "\n";
  int64_t deadline = NowMs() + timeout.count();
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::send(fd_, data.data() + off, data.size() - off, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      off += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      BERTH_RETURN_IF_ERROR(WaitFor(fd_, POLLOUT, deadline));
      continue;
    }
    return Unavailable(std::string("control socket: send: ") + std::strerror(errno));
  }
  return OkStatus();
}

StatusOr<ControlMessage> ControlClient::Read(Millis timeout) {
  int64_t deadline = NowMs() + timeout.count();
  std::string line;
  for (;;) {
    if (framer_.Next(&line)) {
      auto m = ParseControlMessage(line);
      if (m.ok() && m->type == ControlMessage::Type::kStats) last_stats_ = m->stats;
      return m;
    }
    if (framer_.overflow()) return Internal("control socket: line too long");
    BERTH_RETURN_IF_ERROR(WaitFor(fd_, POLLIN, deadline));
    char buf[65536];
    ssize_t n = ::recv(fd_, buf, sizeof(buf), MSG_DONTWAIT);
    if (n > 0) {
      framer_.Append(std::string_view(buf, static_cast<size_t>(n)));
    } else if (n == 0) {
      return Unavailable("control socket: the proxy closed the connection");
    } else if (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK) {
      return Unavailable(std::string("control socket: recv: ") + std::strerror(errno));
    }
  }
}

Status ControlClient::PushSnapshot(const RouteSnapshot& snapshot, Millis timeout) {
  int64_t deadline = NowMs() + timeout.count();
  BERTH_RETURN_IF_ERROR(SendLine(EncodeSnapshot(snapshot), timeout));
  for (;;) {
    auto m = Read(Millis(std::max<int64_t>(0, deadline - NowMs())));
    if (!m.ok()) return m.status().WithContext("snapshot " + std::to_string(snapshot.version));
    if (m->type == ControlMessage::Type::kError) {
      return InvalidArgument("snapshot " + std::to_string(snapshot.version) + ": " + m->message);
    }
    if (m->type == ControlMessage::Type::kAck && m->version >= snapshot.version) return OkStatus();
  }
}

StatusOr<uint64_t> ControlClient::Ping(Millis timeout) {
  int64_t deadline = NowMs() + timeout.count();
  BERTH_RETURN_IF_ERROR(SendLine(EncodePing(), timeout));
  for (;;) {
    auto m = Read(Millis(std::max<int64_t>(0, deadline - NowMs())));
    if (!m.ok()) return m.status();
    if (m->type == ControlMessage::Type::kPong) return m->version;
  }
}

}  // namespace berth::proxy
