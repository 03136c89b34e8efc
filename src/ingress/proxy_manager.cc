#include "ingress/proxy_manager.h"

#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <spdlog/spdlog.h>

#include "base/fs.h"
#include "base/subprocess.h"

namespace berth::ingress {

namespace asio = boost::asio;
using local = asio::local::stream_protocol;

ProxyManager::ProxyManager(asio::io_context& io, const Clock& clock, ProxyManagerOptions options, InputsFn inputs)
    : io_(io), clock_(clock), o_(std::move(options)), inputs_(std::move(inputs)), restart_timer_(io),
      connect_timer_(io) {}

ProxyManager::~ProxyManager() { Shutdown(); }

void ProxyManager::Shutdown() {
  if (shut_down_) return;
  shut_down_ = true;
  restart_timer_.cancel();
  connect_timer_.cancel();
  for (auto& [id, d] : drains_)
    if (d.timer) d.timer->cancel();
  boost::system::error_code ec;
  if (pidfd_) pidfd_->cancel(ec);
  if (socket_) socket_->close(ec);
}

Status ProxyManager::Start() {
  // A proxy left running by an earlier berthd answers on its control socket: adopt it.
  local::socket probe(io_);
  boost::system::error_code ec;
  probe.connect(local::endpoint(o_.control_path), ec);
  if (!ec) {
    spdlog::info("ingress: adopting the running berth-proxy ({})", o_.control_path);
    socket_ = std::make_unique<local::socket>(std::move(probe));
    ReadLoop();
    PushNow();
    return OkStatus();
  }
  PushNow();  // the routes file exists before the proxy starts
  Spawn();
  return pid_ > 0 ? OkStatus() : Unavailable("could not start " + o_.binary + " (see " + o_.log_path + ")");
}

void ProxyManager::Spawn() {
  if (shut_down_) return;
  int log = open(o_.log_path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  SpawnOptions so;
  so.argv = {o_.binary,  "--listen",      o_.listen,      "--admin",   o_.admin,
             "--control", o_.control_path, "--routes-file", o_.routes_file, "--workers",
             std::to_string(o_.workers)};
  so.stdout_fd = log;
  so.stderr_fd = log;
  so.new_session = true;  // it must outlive berthd
  auto pid = Spawn_(so);
  if (log >= 0) close(log);
  if (!pid.ok()) {
    spdlog::error("ingress: start berth-proxy: {}", pid.status().message());
    OnProxyExit();
    return;
  }
  pid_ = *pid;
  started_at_ = clock_.Now();
  (void)WriteFileAtomic(o_.pid_file, std::to_string(pid_) + "\n", 0644);
  spdlog::info("ingress: berth-proxy started (pid {}) on {}", pid_, o_.listen);
  WatchPid();
  Connect(100);  // up to 2 s for its control socket
}

StatusOr<pid_t> ProxyManager::Spawn_(const SpawnOptions& so) { return berth::Spawn(so); }

void ProxyManager::WatchPid() {
  int fd = static_cast<int>(syscall(SYS_pidfd_open, pid_, 0));
  if (fd < 0) {
    asio::post(io_, [this] { OnProxyExit(); });
    return;
  }
  pidfd_ = std::make_unique<asio::posix::stream_descriptor>(io_, fd);
  pidfd_->async_wait(asio::posix::stream_descriptor::wait_read, [this](const boost::system::error_code& ec) {
    if (!ec) OnProxyExit();
  });
}

void ProxyManager::OnProxyExit() {
  if (pid_ > 0) spdlog::warn("ingress: berth-proxy (pid {}) exited", pid_);
  pid_ = 0;
  pidfd_.reset();
  Disconnect();
  if (shut_down_) return;
  // Quick first restarts (it must serve again within a second), slower when it crashes in a loop.
  failures_ = clock_.Now() - started_at_ > Millis(10'000) ? 0 : failures_ + 1;
  Millis delay(std::min<int64_t>(5000, 50LL << std::min(failures_, 7)));
  restart_timer_.expires_after(delay);
  restart_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) Spawn();
  });
}

void ProxyManager::Connect(int attempts_left) {
  if (shut_down_ || socket_) return;
  auto s = std::make_shared<local::socket>(io_);
  s->async_connect(local::endpoint(o_.control_path), [this, s, attempts_left](const boost::system::error_code& ec) {
    if (shut_down_ || socket_) return;
    if (ec) {
      if (pid_ == 0) return;  // nothing to connect to; a restart will retry
      connect_timer_.expires_after(Millis(attempts_left > 0 ? 20 : 1000));
      connect_timer_.async_wait([this, attempts_left](const boost::system::error_code& e) {
        if (!e) Connect(std::max(0, attempts_left - 1));
      });
      return;
    }
    socket_ = std::make_unique<local::socket>(std::move(*s));
    framer_ = proxy::LineFramer();
    ReadLoop();
    last_routes_.clear();  // the proxy may serve anything: send ours
    PushNow();
  });
}

void ProxyManager::ReadLoop() {
  if (!socket_) return;
  socket_->async_read_some(asio::buffer(buf_), [this](const boost::system::error_code& ec, size_t n) {
    if (ec) {
      if (ec != asio::error::operation_aborted) {
        Disconnect();
        if (pid_ > 0) Connect(100);
      }
      return;
    }
    framer_.Append(std::string_view(buf_, n));
    std::string line;
    while (framer_.Next(&line)) {
      auto m = proxy::ParseControlMessage(line);
      if (!m.ok()) {
        spdlog::warn("ingress: bad message from berth-proxy: {}", m.status().message());
        continue;
      }
      OnMessage(*m);
    }
    ReadLoop();
  });
}

void ProxyManager::OnMessage(const proxy::ControlMessage& m) {
  using T = proxy::ControlMessage::Type;
  switch (m.type) {
    case T::kHello:
      if (pid_ == 0 && m.pid > 0) {  // adopted: watch the pid it reports
        pid_ = static_cast<pid_t>(m.pid);
        started_at_ = clock_.Now();
        WatchPid();
      }
      if (m.version < version_) {
        last_routes_.clear();
        PushNow();
      }
      break;
    case T::kAck:
      acked_ = std::max(acked_, m.version);
      CheckDrains(nullptr);
      break;
    case T::kError:
      spdlog::error("ingress: berth-proxy refused the routes: {}", m.message);
      break;
    case T::kStats:
      if (on_stats_) on_stats_(m.stats);
      CheckDrains(&m.stats);
      break;
    case T::kActivate:
      if (on_activate_) on_activate_(m.message, static_cast<double>(m.queued));
      break;
    default:
      break;
  }
}

void ProxyManager::Disconnect() {
  if (!socket_) return;
  boost::system::error_code ec;
  socket_->close(ec);
  socket_.reset();
  out_.clear();
  writing_ = false;
}

void ProxyManager::Changed() {
  if (push_pending_ || shut_down_) return;
  push_pending_ = true;
  asio::post(io_, [this] { PushNow(); });
}

void ProxyManager::PushNow() {
  push_pending_ = false;
  proxy::RouteSnapshot snap = BuildRoutes(inputs_());
  snap.version = 0;
  std::string routes = proxy::EncodeSnapshot(snap);
  if (routes == last_routes_) return;
  last_routes_ = routes;
  // Versions only grow, across berthd restarts too: wall-clock milliseconds, at least +1.
  version_ = std::max<uint64_t>(version_ + 1, static_cast<uint64_t>(ToUnixMillis(clock_.Now())));
  snap.version = version_;
  if (Status s = proxy::WriteRoutesFile(o_.routes_file, snap); !s.ok()) spdlog::warn("ingress: {}", s.message());
  if (socket_) Send(proxy::EncodeSnapshot(snap) + "\n");
}

void ProxyManager::Send(const std::string& line) {
  out_ += line;
  if (writing_ || !socket_) return;
  writing_ = true;
  auto data = std::make_shared<std::string>(std::move(out_));
  out_.clear();
  asio::async_write(*socket_, asio::buffer(*data), [this, data](const boost::system::error_code& ec, size_t) {
    writing_ = false;
    if (ec) return;  // the read side notices and reconnects
    if (!out_.empty()) Send("");
  });
}

void ProxyManager::Drain(const std::string& id, const std::string& service, std::function<void()> done) {
  if (!socket_) return done();  // no proxy to route anything: nothing to wait for
  PushNow();  // the caller marked it draining: routes without it
  Drainer& d = drains_[id];
  d.service = service;
  d.after_version = version_;
  d.done = std::move(done);
  d.timer = std::make_unique<asio::steady_timer>(io_, o_.drain_timeout);
  d.timer->async_wait([this, id](const boost::system::error_code& ec) {
    if (!ec) FinishDrain(id);
  });
  CheckDrains(nullptr);
}

void ProxyManager::CheckDrains(const proxy::StatsReport* stats) {
  std::vector<std::string> finished;
  for (auto& [id, d] : drains_) {
    if (acked_ >= d.after_version) d.acked = true;
    if (!d.acked || !stats) continue;
    // A report after the ack: the replica has no request in flight (it gets no new ones).
    auto it = stats->services.find(d.service);
    if (it == stats->services.end()) {
      finished.push_back(id);
      continue;
    }
    auto u = it->second.upstream_in_flight.find(id);
    if (u == it->second.upstream_in_flight.end() || u->second == 0) finished.push_back(id);
  }
  for (const auto& id : finished) FinishDrain(id);
}

void ProxyManager::FinishDrain(const std::string& id) {
  auto it = drains_.find(id);
  if (it == drains_.end()) return;
  auto done = std::move(it->second.done);
  if (it->second.timer) it->second.timer->cancel();
  drains_.erase(it);
  if (done) done();
}

}  // namespace berth::ingress
