#include "proxy/control_server.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "proxy/net_util.h"

namespace berth::proxy {

namespace {
constexpr size_t kMaxConnections = 16;
constexpr size_t kMaxUnsent = 64 * 1024 * 1024;
}  // namespace

class ControlServer::Listener final : public IoHandler {
 public:
  explicit Listener(ControlServer* s) : s_(s) {}
  void OnIo(uint32_t) override { s_->Accept(); }

 private:
  ControlServer* s_;
};

class ControlServer::Connection final : public IoHandler {
 public:
  Connection(ControlServer* s, int fd) : s_(s), fd_(fd) {}
  ~Connection() { Close(); }

  void OnIo(uint32_t events) override {
    if (fd_ < 0) return;
    if (events & EPOLLOUT) Flush();
    if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) Read();
  }

  void Send(const std::string& line) {
    if (fd_ < 0) return;
    out_.append(line).append("\n");
    if (out_.size() > kMaxUnsent) {
      Close();  // not reading: it has lost track anyway
      return;
    }
    Flush();
  }

  bool open() const { return fd_ >= 0; }
  void Close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  void Read() {
    char buf[65536];
    for (;;) {
      ssize_t n = ::read(fd_, buf, sizeof(buf));
      if (n > 0) {
        framer_.Append(std::string_view(buf, static_cast<size_t>(n)));
        std::string line;
        while (fd_ >= 0 && framer_.Next(&line)) s_->Handle(this, line);
        if (framer_.overflow()) {
          Send(EncodeError("message longer than 16 MiB"));
          Close();
        }
        if (fd_ < 0) return;
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
      Close();  // the controller went away: the routes stay as they are
      return;
    }
  }

  void Flush() {
    while (!out_.empty() && fd_ >= 0) {
      ssize_t n = ::send(fd_, out_.data(), out_.size(), MSG_NOSIGNAL);
      if (n > 0) {
        out_.erase(0, static_cast<size_t>(n));
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
      Close();
    }
  }

  ControlServer* s_;
  int fd_;
  LineFramer framer_;
  std::string out_;
};

ControlServer::ControlServer(EventLoop* loop, Delegate* delegate) : loop_(loop), delegate_(delegate) {}

ControlServer::~ControlServer() {
  conns_.clear();
  dead_.clear();
  if (fd_ >= 0) {
    ::close(fd_);
    ::unlink(path_.c_str());
  }
}

Status ControlServer::Listen(const std::string& path) {
  BERTH_ASSIGN_OR_RETURN(fd_, ListenUnix(path));
  path_ = path;
  listener_ = std::make_unique<Listener>(this);
  return loop_->Add(fd_, listener_.get(), EPOLLIN | EPOLLET);
}

void ControlServer::Accept() {
  for (;;) {
    int fd = accept4(fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      return;
    }
    Reap();
    if (conns_.size() >= kMaxConnections) {
      std::string e = EncodeError("too many controllers") + "\n";
      ssize_t n = ::send(fd, e.data(), e.size(), MSG_NOSIGNAL);
      (void)n;
      ::close(fd);
      continue;
    }
    auto c = std::make_unique<Connection>(this, fd);
    if (!loop_->Add(fd, c.get()).ok()) continue;  // ~Connection closes it
    c->Send(EncodeHello(getpid(), delegate_->served_version()));
    conns_.push_back(std::move(c));
  }
}

void ControlServer::Handle(Connection* c, const std::string& line) {
  if (line.empty()) return;
  auto m = ParseControlMessage(line);
  if (!m.ok()) {
    c->Send(EncodeError(m.status().message()));
    return;
  }
  switch (m->type) {
    case ControlMessage::Type::kSnapshot:
      c->Send(delegate_->OnSnapshot(m->snapshot));
      break;
    case ControlMessage::Type::kPing:
      c->Send(EncodePong(delegate_->served_version()));
      break;
    default:
      c->Send(EncodeError("unexpected message type"));
      break;
  }
}

void ControlServer::Broadcast(const std::string& line) {
  Reap();
  for (auto& c : conns_) c->Send(line);
}

// Closed connections are destroyed outside their own event handling (here, from the
// control loop), never while one of their methods runs.
void ControlServer::Reap() {
  dead_.clear();
  for (auto it = conns_.begin(); it != conns_.end();) {
    if (!(*it)->open()) {
      dead_.push_back(std::move(*it));
      it = conns_.erase(it);
    } else {
      ++it;
    }
  }
}

size_t ControlServer::connections() const {
  size_t n = 0;
  for (const auto& c : conns_) n += c->open() ? 1 : 0;
  return n;
}

}  // namespace berth::proxy
