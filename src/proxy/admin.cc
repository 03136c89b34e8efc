#include "proxy/admin.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

namespace berth::proxy {

namespace {
constexpr size_t kMaxHead = 8192;
constexpr int64_t kTimeoutMs = 5000;
constexpr size_t kMaxConnections = 64;

std::string Reply(int status, const char* reason, const char* type, const std::string& body) {
  return "HTTP/1.1 " + std::to_string(status) + " " + reason + "\r\nContent-Type: " + type +
         "\r\nContent-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
}
}  // namespace

class AdminServer::Listener final : public IoHandler {
 public:
  explicit Listener(AdminServer* s) : s_(s) {}
  void OnIo(uint32_t) override { s_->Accept(); }

 private:
  AdminServer* s_;
};

class AdminServer::Connection final : public IoHandler, public TimerClient {
 public:
  Connection(AdminServer* s, int fd) : s_(s), fd_(fd) { timer_.client = this; }
  ~Connection() {
    TimerList::Cancel(&timer_);
    if (fd_ >= 0) ::close(fd_);
  }
  TimerNode timer_;

  void OnIo(uint32_t events) override {
    if (fd_ < 0) return;
    if (!replied_ && (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))) Read();
    if (replied_ && fd_ >= 0) Flush();
  }
  void OnTimer() override { Close(); }
  bool open() const { return fd_ >= 0; }

 private:
  void Read() {
    char buf[4096];
    for (;;) {
      ssize_t n = ::read(fd_, buf, sizeof(buf));
      if (n > 0) {
        head_.append(buf, static_cast<size_t>(n));
        if (head_.find("\r\n\r\n") != std::string::npos || head_.find("\n\n") != std::string::npos) {
          out_ = s_->Respond(head_);
          replied_ = true;
          return;
        }
        if (head_.size() > kMaxHead) return Close();
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
      return Close();
    }
  }
  void Flush() {
    while (!out_.empty()) {
      ssize_t n = ::send(fd_, out_.data(), out_.size(), MSG_NOSIGNAL);
      if (n > 0) {
        out_.erase(0, static_cast<size_t>(n));
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
      break;
    }
    Close();
  }
  void Close() {
    TimerList::Cancel(&timer_);
    if (fd_ >= 0) {
      ::shutdown(fd_, SHUT_WR);
      ::close(fd_);
    }
    fd_ = -1;
  }

  AdminServer* s_;
  int fd_;
  bool replied_ = false;
  std::string head_;
  std::string out_;
};

AdminServer::AdminServer(EventLoop* loop, Delegate* delegate) : loop_(loop), delegate_(delegate) {}

AdminServer::~AdminServer() {
  conns_.clear();
  dead_.clear();
  if (fd_ >= 0) ::close(fd_);
}

Status AdminServer::Listen(const Endpoint& ep) {
  BERTH_ASSIGN_OR_RETURN(fd_, ListenTcp(ep, /*reuse_port=*/false, 128));
  port_ = BoundPort(fd_);
  listener_ = std::make_unique<Listener>(this);
  return loop_->Add(fd_, listener_.get(), EPOLLIN | EPOLLET);
}

void AdminServer::Accept() {
  for (;;) {
    int fd = accept4(fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      return;
    }
    Reap();
    if (conns_.size() >= kMaxConnections) {
      ::close(fd);
      continue;
    }
    auto c = std::make_unique<Connection>(this, fd);
    if (!loop_->Add(fd, c.get()).ok()) continue;
    loop_->Timers(kTimeoutMs)->Arm(&c->timer_, loop_->now_ms());
    conns_.push_back(std::move(c));
  }
}

std::string AdminServer::Respond(const std::string& head) {
  size_t sp1 = head.find(' ');
  size_t sp2 = sp1 == std::string::npos ? std::string::npos : head.find(' ', sp1 + 1);
  if (sp2 == std::string::npos) return Reply(400, "Bad Request", "text/plain", "bad request\n");
  std::string method = head.substr(0, sp1);
  std::string path = head.substr(sp1 + 1, sp2 - sp1 - 1);
  if (size_t q = path.find('?'); q != std::string::npos) path.resize(q);
  if (method != "GET" && method != "HEAD")
    return Reply(405, "Method Not Allowed", "text/plain", "GET only\n");
  if (path == "/metrics")
    return Reply(200, "OK", "text/plain; version=0.0.4; charset=utf-8", delegate_->Metrics());
  if (path == "/healthz") return Reply(200, "OK", "text/plain", "ok\n");
  if (path == "/routes") return Reply(200, "OK", "application/json", delegate_->Routes() + "\n");
  return Reply(404, "Not Found", "text/plain", "try /metrics, /healthz or /routes\n");
}

void AdminServer::Reap() {
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

}  // namespace berth::proxy
