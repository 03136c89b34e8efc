#include "proxy/proxy.h"

#include <signal.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <thread>

#include "proxy/metrics.h"

namespace berth::proxy {

namespace {

constexpr int64_t kTickMs = 1000;

ProxyConfig Normalize(ProxyConfig c) {
  if (c.workers == 0) c.workers = std::max(1u, std::thread::hardware_concurrency());
  return c;
}

int64_t WallMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

class Proxy::Signals final : public IoHandler {
 public:
  Signals(Proxy* p, int fd) : p_(p), fd_(fd) {}
  ~Signals() { ::close(fd_); }
  void OnIo(uint32_t) override {
    signalfd_siginfo si;
    while (::read(fd_, &si, sizeof(si)) == sizeof(si)) p_->OnSignal(static_cast<int>(si.ssi_signo));
  }

 private:
  Proxy* p_;
  int fd_;
};

class Proxy::Wakeup final : public IoHandler {
 public:
  explicit Wakeup(int fd) : fd(fd) {}
  ~Wakeup() { ::close(fd); }
  void OnIo(uint32_t) override {
    uint64_t v;
    while (::read(fd, &v, sizeof(v)) > 0) {
    }
  }
  int fd;
};

class Proxy::Ticker final : public TimerClient {
 public:
  explicit Ticker(Proxy* p) : p_(p) { node.client = this; }
  void OnTimer() override { p_->Tick(); }
  TimerNode node;

 private:
  Proxy* p_;
};

RouteSnapshot SnapshotFromFlags(const ProxyConfig& config) {
  RouteSnapshot s;
  s.version = 0;
  for (const StandaloneRoute& r : config.routes) {
    RouteSpec spec;
    spec.host = r.host;
    spec.service = r.host == "*" ? "default" : r.host;
    spec.limit = config.limit;
    spec.queue = config.queue;
    spec.queue_timeout_ms = config.queue_timeout_ms;
    for (const std::string& u : r.upstreams) spec.upstreams.push_back({u, u, true});
    s.routes.push_back(std::move(spec));
  }
  return s;
}

Proxy::Proxy(ProxyConfig config) : config_(Normalize(std::move(config))), registry_(config_.workers) {}

// Tells the controllers about every service whose requests wait for a first replica.
void Proxy::SendActivations() {
  if (!table_) return;
  for (const auto& e : table_->services()) {
    ServiceState& s = *e->state;
    if (!s.activation_pending.exchange(false)) continue;
    if (control_ != nullptr && control_->connections() > 0)
      control_->Broadcast(EncodeActivate(s.name(), s.limiter().queued()));
  }
}

Proxy::~Proxy() {
  ActivationSignal::eventfd.store(-1, std::memory_order_release);
  for (uint32_t i = 0; i < workers_.size(); ++i) workers_.at(i)->PostStop();
  for (uint32_t i = 0; i < workers_.size(); ++i) workers_.at(i)->Join();
}

int Proxy::listen_port() const {
  return workers_.size() > 0 ? workers_.at(0)->listen_port() : 0;
}

Status Proxy::Start() {
  RaiseFileLimit();
  ::signal(SIGPIPE, SIG_IGN);
  BERTH_ASSIGN_OR_RETURN(loop_, EventLoop::Create());
  if (config_.handle_signals) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);  // inherited by the workers started below
    int fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    if (fd < 0) return ErrnoStatus("signalfd");
    signals_ = std::make_unique<Signals>(this, fd);
    BERTH_RETURN_IF_ERROR(loop_->Add(fd, signals_.get(), EPOLLIN | EPOLLET));
  }
  int wfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wfd < 0) return ErrnoStatus("eventfd");
  wakeup_ = std::make_unique<Wakeup>(wfd);
  BERTH_RETURN_IF_ERROR(loop_->Add(wfd, wakeup_.get(), EPOLLIN | EPOLLET));
  ActivationSignal::eventfd.store(wfd, std::memory_order_release);

  auto ep = ParseEndpoint(config_.listen, /*allow_port_zero=*/true);
  if (!ep.ok()) return ep.status().WithContext("--listen");
  for (uint32_t i = 0; i < config_.workers; ++i) {
    auto w = std::make_unique<Worker>(i, &config_, &workers_);
    Status st = w->Init(*ep);
    if (!st.ok()) return st.WithContext("listen " + ep->text);
    // Port 0 (tests): every worker joins the port the first one got.
    if (i == 0) ep->addr.sin_port = htons(static_cast<uint16_t>(w->listen_port()));
    workers_.Add(std::move(w));
  }

  BERTH_RETURN_IF_ERROR(LoadInitialRoutes());
  BERTH_RETURN_IF_ERROR(StartServices());
  ticker_ = std::make_unique<Ticker>(this);
  loop_->Timers(kTickMs)->Arm(&ticker_->node, loop_->now_ms());
  stats_.Collect(table_.get(), EventLoop::MonotonicNs(), WallMs());
  for (uint32_t i = 0; i < workers_.size(); ++i) workers_.at(i)->Start(table_);
  started_ = true;
  return OkStatus();
}

// --routes-file, then --route flags; an empty table if neither (everything is a 404).
Status Proxy::LoadInitialRoutes() {
  if (!config_.routes_file.empty()) {
    auto s = ReadRoutesFile(config_.routes_file);
    if (s.ok()) {
      BERTH_RETURN_IF_ERROR(Apply(*s));
    } else if (s.status().code() != StatusCode::kNotFound || config_.control_path.empty()) {
      return s.status();  // (a missing file is fine when a controller will send routes)
    }
  }
  if (!config_.routes.empty()) BERTH_RETURN_IF_ERROR(Apply(SnapshotFromFlags(config_)));
  if (!have_table_) BERTH_RETURN_IF_ERROR(Apply(RouteSnapshot{}));
  return OkStatus();
}

// The control socket and the admin listener.
Status Proxy::StartServices() {
  if (!config_.control_path.empty()) {
    control_ = std::make_unique<ControlServer>(loop_.get(), static_cast<ControlServer::Delegate*>(this));
    Status st = control_->Listen(config_.control_path);
    if (!st.ok()) return st.WithContext("--control");
  }
  if (!config_.admin.empty()) {
    auto aep = ParseEndpoint(config_.admin, /*allow_port_zero=*/true);
    if (!aep.ok()) return aep.status().WithContext("--admin");
    admin_ = std::make_unique<AdminServer>(loop_.get(), static_cast<AdminServer::Delegate*>(this));
    Status st = admin_->Listen(*aep);
    if (!st.ok()) return st.WithContext("--admin");
  }
  return OkStatus();
}

Status Proxy::Apply(const RouteSnapshot& snapshot) {
  auto t = RouteTable::Build(snapshot, &registry_);
  if (!t.ok()) return t.status();
  table_ = *t;
  snapshot_ = snapshot;
  version_ = snapshot.version;
  have_table_ = true;
  ++updates_;
  if (started_) {
    for (uint32_t i = 0; i < workers_.size(); ++i) workers_.at(i)->PostSnapshot(table_);
  }
  return OkStatus();
}

std::string Proxy::OnSnapshot(const RouteSnapshot& snapshot) {
  // Versions only increase: an old or repeated snapshot changes nothing, and the ack
  // names the version actually served.
  if (have_table_ && snapshot.version <= version_) return EncodeAck(version_);
  Status st = Apply(snapshot);
  if (!st.ok()) return EncodeError(st.message());
  return EncodeAck(snapshot.version);
}

std::string Proxy::Metrics() {
  return RenderMetrics(table_.get(), workers_, ProxyInfo{version_, updates_});
}

std::string Proxy::Routes() {
  return EncodeSnapshot(snapshot_);
}

void Proxy::Tick() {
  StatsReport r = stats_.Collect(table_.get(), EventLoop::MonotonicNs(), WallMs());
  if (control_ != nullptr && control_->connections() > 0) control_->Broadcast(EncodeStats(r));
  loop_->Timers(kTickMs)->Arm(&ticker_->node, loop_->now_ms());
}

void Proxy::OnSignal(int sig) {
  if (sig == SIGHUP) {
    ReloadRoutesFile();
  } else {
    BeginDrain();
  }
}

void Proxy::ReloadRoutesFile() {
  if (config_.routes_file.empty()) return;
  auto s = ReadRoutesFile(config_.routes_file);
  if (!s.ok()) {
    std::fprintf(stderr, "berth-proxy: SIGHUP: %s\n", s.status().message().c_str());
    return;
  }
  std::string reply = OnSnapshot(*s);
  if (reply.find("\"error\"") != std::string::npos)
    std::fprintf(stderr, "berth-proxy: SIGHUP: %s\n", reply.c_str());
}

void Proxy::Stop() {
  stop_requested_.store(true);
  uint64_t one = 1;
  if (wakeup_ != nullptr) {
    ssize_t n = ::write(wakeup_->fd, &one, sizeof(one));
    (void)n;
  }
}

void Proxy::BeginDrain() {
  if (draining_) return;
  draining_ = true;
  drain_deadline_ms_ = loop_->now_ms() + config_.drain_timeout_ms;
  control_.reset();  // a successor may take over the control socket
  for (uint32_t i = 0; i < workers_.size(); ++i) workers_.at(i)->PostDrain();
}

int Proxy::Run() {
  for (;;) {
    loop_->RunOnce(draining_ ? 50 : -1);
    if (ActivationSignal::pending.exchange(false, std::memory_order_acq_rel)) SendActivations();
    if (stop_requested_.load() && !draining_) BeginDrain();
    if (!draining_) continue;
    bool done = true;
    for (uint32_t i = 0; i < workers_.size(); ++i) done = done && workers_.at(i)->finished();
    if (done) break;
    if (loop_->now_ms() > drain_deadline_ms_ + 1000) {
      for (uint32_t i = 0; i < workers_.size(); ++i) workers_.at(i)->PostStop();
    }
  }
  for (uint32_t i = 0; i < workers_.size(); ++i) workers_.at(i)->Join();
  return 0;
}

}  // namespace berth::proxy
