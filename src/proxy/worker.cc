#include "proxy/worker.h"

#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

#include "proxy/client_connection.h"

namespace berth::proxy {

namespace {

StatusOr<std::unique_ptr<EventLoop>> CreateLoop(const std::string& io) {
  if (io == "epoll") return EventLoop::Create(IoBackend::kEpoll);
  auto loop = EventLoop::Create(IoBackend::kUring);
  if (loop.ok() || io == "uring") return loop;
  static std::once_flag once;
  std::call_once(once, [&] {
    std::fprintf(stderr, "berth-proxy: io_uring unavailable (%s); using epoll\n",
                 loop.status().message().c_str());
  });
  return EventLoop::Create(IoBackend::kEpoll);
}

}  // namespace

class Worker::Listener final : public IoHandler {
 public:
  explicit Listener(Worker* w) : w_(w) {}
  void OnIo(uint32_t) override { w_->OnAccept(); }

 private:
  Worker* w_;
};

class Worker::Mailbox final : public IoHandler {
 public:
  explicit Mailbox(Worker* w) : w_(w) {}
  void OnIo(uint32_t) override { w_->OnMailbox(); }

 private:
  Worker* w_;
};

// Out of file descriptors: accept() is retried on a timer (the listener's edge is spent).
class Worker::AcceptRetry final : public TimerClient {
 public:
  explicit AcceptRetry(Worker* w) : w_(w) { node.client = this; }
  void OnTimer() override { w_->OnAccept(); }
  TimerNode node;

 private:
  Worker* w_;
};

Worker::Worker(uint32_t index, const ProxyConfig* config, WorkerGroup* group)
    : index_(index), config_(config), group_(group) {
  request_limits_.max_body = config->max_body;
  response_limits_.max_body = 0;
}

Worker::~Worker() {
  Join();
  Shutdown();
  if (listen_fd_ >= 0) ::close(listen_fd_);
  if (event_fd_ >= 0) ::close(event_fd_);
}

Status Worker::Init(const Endpoint& listen) {
  BERTH_ASSIGN_OR_RETURN(loop_, CreateLoop(config_->io));
  loop_->set_busy_poll_us(config_->busy_poll_us);
  idle_timers = loop_->Timers(config_->idle_timeout_ms);
  header_timers = loop_->Timers(config_->header_timeout_ms);
  upstream_timers = loop_->Timers(config_->upstream_timeout_ms);
  tunnel_timers = loop_->Timers(config_->tunnel_idle_ms);
  linger_timers = loop_->Timers(config_->linger_ms);
  pool_ = std::make_unique<UpstreamPool>(this, loop_.get(), &buffers_, index_, config_->pool_idle_ms,
                                         config_->pool_max_idle);
  listener_ = std::make_unique<Listener>(this);
  mailbox_ = std::make_unique<Mailbox>(this);
  accept_retry_ = std::make_unique<AcceptRetry>(this);
  BERTH_ASSIGN_OR_RETURN(listen_fd_, ListenTcp(listen, /*reuse_port=*/true));
  listen_port_ = BoundPort(listen_fd_);
  BERTH_RETURN_IF_ERROR(loop_->Add(listen_fd_, listener_.get(), EPOLLIN | EPOLLET));
  event_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (event_fd_ < 0) return ErrnoStatus("eventfd");
  return loop_->Add(event_fd_, mailbox_.get(), EPOLLIN | EPOLLET);
}

void Worker::Start(std::shared_ptr<const RouteTable> initial) {
  thread_ = std::thread([this, initial = std::move(initial)]() mutable {
    if (initial) ApplySnapshot(std::move(initial));
    Run();
  });
}

void Worker::Join() {
  if (thread_.joinable()) thread_.join();
}

void Worker::Run() {
  while (!stopping_) {
    loop_->RunOnce(draining_ ? 100 : -1);
    ProcessLocal();
    if (draining_ && (live_count_ == 0 || loop_->now_ms() >= drain_deadline_ms_)) break;
  }
  Shutdown();
  finished_.store(true, std::memory_order_release);
}

void Worker::Post(Message m) {
  bool wake;
  {
    std::lock_guard<std::mutex> lock(mu_);
    wake = inbox_.empty();
    inbox_.push_back(std::move(m));
  }
  if (wake) {
    uint64_t one = 1;
    ssize_t n = ::write(event_fd_, &one, sizeof(one));
    (void)n;  // EAGAIN: the counter is already non-zero, the worker wakes anyway
  }
}

void Worker::PostSnapshot(std::shared_ptr<const RouteTable> table) {
  Post(Message{Message::Kind::kSnapshot, std::move(table), {}});
}
void Worker::PostGrant(const Grant& g) {
  Post(Message{Message::Kind::kGrant, nullptr, g});
}
void Worker::PostDrain() {
  Post(Message{Message::Kind::kDrain, nullptr, {}});
}
void Worker::PostStop() {
  Post(Message{Message::Kind::kStop, nullptr, {}});
}

void Worker::OnMailbox() {
  uint64_t v;
  while (::read(event_fd_, &v, sizeof(v)) > 0) {
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    inbox_scratch_.swap(inbox_);
  }
  for (Message& m : inbox_scratch_) {
    switch (m.kind) {
      case Message::Kind::kSnapshot:
        ApplySnapshot(std::move(m.table));
        break;
      case Message::Kind::kGrant:
        HandleGrant(m.grant);
        break;
      case Message::Kind::kDrain:
        StartDrain();
        break;
      case Message::Kind::kStop:
        stopping_ = true;
        break;
    }
  }
  inbox_scratch_.clear();
}

void Worker::OnAccept() {
  if (listen_fd_ < 0) return;
  for (;;) {
    sockaddr_in peer{};
    socklen_t len = sizeof(peer);
    int fd = accept4(listen_fd_, reinterpret_cast<sockaddr*>(&peer), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
        loop_->Timers(100)->Arm(&accept_retry_->node, loop_->now_ms());
      }
      return;
    }
    SetNoDelay(fd);
    stats_.accepted.Add();
    NewConnection()->Open(fd, peer);
  }
}

ClientConnection* Worker::NewConnection() {
  ClientConnection* c;
  if (!free_conns_.empty()) {
    c = free_conns_.back();
    free_conns_.pop_back();
  } else {
    all_conns_.push_back(std::make_unique<ClientConnection>(this));
    c = all_conns_.back().get();
  }
  c->prev = nullptr;
  c->next = live_;
  if (live_ != nullptr) live_->prev = c;
  live_ = c;
  ++live_count_;
  return c;
}

void Worker::ConnectionClosed(ClientConnection* c) {
  if (c->prev != nullptr) {
    c->prev->next = c->next;
  } else if (live_ == c) {
    live_ = c->next;
  }
  if (c->next != nullptr) c->next->prev = c->prev;
  c->prev = c->next = nullptr;
  --live_count_;
  stats_.closed.Add();
  closed_.push_back(c);
}

MessageHead* Worker::TakeHead() {
  if (free_heads_.empty()) {
    all_heads_.push_back(std::make_unique<MessageHead>());
    return all_heads_.back().get();
  }
  MessageHead* h = free_heads_.back();
  free_heads_.pop_back();
  return h;
}

void Worker::ReturnHead(MessageHead* h) {
  free_heads_.push_back(h);
}

ConcurrencyLimiter::View Worker::ReadyView(ServiceState* s) const {
  const ServiceEntry* e = s->worker(index_).view;
  if (e == nullptr) return {};
  return ConcurrencyLimiter::View(e->ready);
}

void Worker::Deliver(std::vector<Grant>* grants) {
  for (const Grant& g : *grants) {
    // The grant keeps its replica alive until the receiver has it (the receiver's
    // snapshot may no longer hold the replica).
    if (g.slot != nullptr) ReplicaState::FromSlot(g.slot)->Ref();
    if (g.worker == index_) {
      local_grants_.push_back(g);
      loop_->set_pending_work();
    } else {
      group_->at(g.worker)->PostGrant(g);
    }
  }
  grants->clear();
}

void Worker::HandleGrant(const Grant& g) {
  auto* c = static_cast<ClientConnection*>(g.owner);
  bool taken = c->AcceptGrant(g);
  if (g.slot == nullptr) return;
  ReplicaState* r = ReplicaState::FromSlot(g.slot);
  if (!taken) {
    // The request is gone: pass the slot on (maybe to the next waiter).
    ServiceState* s = r->service();
    s->limiter().Release(g.slot, ReadyView(s), &grant_scratch_);
    Deliver(&grant_scratch_);
  }
  r->Unref();  // the reference Deliver took; the connection holds its own
}

void Worker::Defer(ClientConnection* c) {
  deferred_.emplace_back(c, c->seq());
  loop_->set_pending_work();
}

void Worker::ProcessLocal() {
  while (!local_grants_.empty() || !deferred_.empty()) {
    grants_in_work_.swap(local_grants_);
    for (const Grant& g : grants_in_work_) HandleGrant(g);
    grants_in_work_.clear();
    deferred_in_work_.swap(deferred_);
    for (auto [c, seq] : deferred_in_work_) {
      if (c->open() && c->seq() == seq) c->Resume();
    }
    deferred_in_work_.clear();
  }
  for (ClientConnection* c : closed_) free_conns_.push_back(c);
  closed_.clear();
  if (pool_) pool_->RecycleClosed();
}

void Worker::ApplySnapshot(std::shared_ptr<const RouteTable> table) {
  std::shared_ptr<const RouteTable> old = std::move(table_);
  table_ = std::move(table);
  if (old) {
    for (const auto& e : old->services()) e->state->worker(index_).view = nullptr;
  }
  for (const auto& e : table_->services()) e->state->worker(index_).view = e.get();
  // New replicas or a higher limit: waiters may go now (also the scale-from-zero hook).
  for (const auto& e : table_->services()) {
    e->state->limiter().Dispatch(ConcurrencyLimiter::View(e->ready), &grant_scratch_);
    Deliver(&grant_scratch_);
  }
  if (old) {
    for (const auto& e : old->services()) {
      // Removed services: their waiters get 503. Replicas gone from the routes: their
      // idle connections close (requests in flight on them finish).
      if (e->state->worker(index_).view == nullptr) {
        e->state->limiter().DrainAll(&grant_scratch_);
        Deliver(&grant_scratch_);
      }
      for (const auto& r : e->replicas) {
        bool kept = false;
        const ServiceEntry* now = e->state->worker(index_).view;
        if (now != nullptr) {
          for (const auto& n : now->replicas) kept = kept || n.get() == r.get();
        }
        if (!kept) pool_->CloseIdle(r.get());
      }
    }
  }
  stats_.snapshots.Add();
  stats_.table_version.store(table_->version(), std::memory_order_relaxed);
}

void Worker::StartDrain() {
  if (draining_) return;
  draining_ = true;
  drain_deadline_ms_ = loop_->now_ms() + config_->drain_timeout_ms;
  if (listen_fd_ >= 0) {
    loop_->Remove(listen_fd_);
    ::close(listen_fd_);  // new connections go to another process on the port, or are refused
    listen_fd_ = -1;
  }
  for (ClientConnection* c = live_; c != nullptr;) {
    ClientConnection* next = c->next;
    c->BeginDrain();
    c = next;
  }
}

void Worker::Shutdown() {
  while (live_ != nullptr) live_->CloseNow();
  ProcessLocal();
  // Grants posted to a stopped worker: drop their replica references.
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (Message& m : inbox_) {
      if (m.kind == Message::Kind::kGrant && m.grant.slot != nullptr) {
        ReplicaState::FromSlot(m.grant.slot)->Unref();
      }
    }
    inbox_.clear();
  }
  if (pool_) pool_->CloseAll();
  if (table_) {
    for (const auto& e : table_->services()) e->state->worker(index_).view = nullptr;
  }
  table_.reset();
}

}  // namespace berth::proxy
