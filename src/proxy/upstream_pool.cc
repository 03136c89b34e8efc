#include "proxy/upstream_pool.h"

#include <sys/socket.h>
#include <unistd.h>

#include "proxy/client_connection.h"
#include "proxy/net_util.h"
#include "proxy/worker.h"

namespace berth::proxy {

void UpstreamConnection::OnIo(uint32_t events) {
  if (fd_ < 0) return;  // closed earlier in this batch
  if (owner != nullptr) {
    owner->OnUpstreamIo(events);
    return;
  }
  // Idle: the replica closed the connection, reset it, or sent bytes nobody asked for.
  if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) pool_->Close(this, false);
}

void UpstreamConnection::OnTimer() {
  if (owner != nullptr) {
    owner->OnUpstreamTimeout();
  } else {
    pool_->Close(this, false);
  }
}

UpstreamPool::UpstreamPool(Worker* worker, EventLoop* loop, BufferPool* buffers, uint32_t worker_index,
                           int64_t idle_ms, uint32_t max_idle)
    : worker_(worker),
      loop_(loop),
      buffers_(buffers),
      worker_index_(worker_index),
      idle_timers_(loop->Timers(idle_ms)),
      max_idle_(max_idle) {}

UpstreamPool::~UpstreamPool() {
  CloseAll();
  for (UpstreamConnection* c : all_) delete c;
}

UpstreamConnection* UpstreamPool::NewConnection() {
  if (free_ != nullptr) {
    UpstreamConnection* c = free_;
    free_ = c->free_next_;
    c->free_next_ = nullptr;
    return c;
  }
  auto* c = new UpstreamConnection(this);
  c->timer.client = c;
  all_.push_back(c);
  return c;
}

void UpstreamPool::Unidle(UpstreamConnection* c) {
  ReplicaWorkerStats& ws = c->replica_->worker(worker_index_);
  if (c->idle_prev_ != nullptr) {
    c->idle_prev_->idle_next_ = c->idle_next_;
  } else {
    ws.idle_head = c->idle_next_;
  }
  if (c->idle_next_ != nullptr) c->idle_next_->idle_prev_ = c->idle_prev_;
  c->idle_prev_ = c->idle_next_ = nullptr;
  c->idle_ = false;
  --ws.idle_count;
  TimerList::Cancel(&c->timer);
}

UpstreamConnection* UpstreamPool::Take(ReplicaState* r) {
  UpstreamConnection* c = r->worker(worker_index_).idle_head;
  if (c == nullptr) return nullptr;
  Unidle(c);
  c->reused = true;
  c->readable = false;
  c->rdhup = false;
  r->worker(worker_index_).reuses.Add();
  return c;
}

UpstreamConnection* UpstreamPool::Connect(ReplicaState* r, int* err) {
  bool in_progress = false;
  auto fd = ConnectTcp(r->addr(), &in_progress);
  if (!fd.ok()) {
    *err = ECONNREFUSED;
    return nullptr;
  }
  UpstreamConnection* c = NewConnection();
  c->fd_ = *fd;
  c->replica_ = RefPtr<ReplicaState>(r);
  c->connecting = in_progress;
  c->reused = false;
  c->readable = false;
  c->rdhup = false;
  c->parser.Reset();
  if (!loop_->AddStream(*fd, c, in_progress).ok()) {
    *err = errno;
    Close(c, true);
    return nullptr;
  }
  ++live_;
  r->worker(worker_index_).connects.Add();
  return c;
}

void UpstreamPool::Put(UpstreamConnection* c) {
  ReplicaWorkerStats& ws = c->replica_->worker(worker_index_);
  c->owner = nullptr;
  c->in.Release(*buffers_);
  c->parser.Reset();
  if (ws.idle_count >= max_idle_ || worker_->draining()) {
    Close(c, false);
    return;
  }
  c->idle_ = true;
  c->idle_prev_ = nullptr;
  c->idle_next_ = ws.idle_head;
  if (ws.idle_head != nullptr) ws.idle_head->idle_prev_ = c;
  ws.idle_head = c;
  ++ws.idle_count;
  idle_timers_->Arm(&c->timer, loop_->now_ms());
}

void UpstreamPool::Close(UpstreamConnection* c, bool abort) {
  if (c->fd_ < 0) return;
  if (c->idle_) Unidle(c);
  TimerList::Cancel(&c->timer);
  loop_->CloseStream(c->fd_, abort);
  c->fd_ = -1;
  --live_;
  c->in.Release(*buffers_);
  if (c->head != nullptr) {
    worker_->ReturnHead(c->head);
    c->head = nullptr;
    c->parser.set_head(nullptr);
  }
  c->owner = nullptr;
  c->replica_ = RefPtr<ReplicaState>();
  closed_.push_back(c);
}

void UpstreamPool::CloseIdle(ReplicaState* r) {
  while (UpstreamConnection* c = r->worker(worker_index_).idle_head) Close(c, false);
}

void UpstreamPool::CloseAll() {
  for (UpstreamConnection* c : all_) {
    if (c->fd_ >= 0) Close(c, false);
  }
  RecycleClosed();
}

void UpstreamPool::RecycleClosed() {
  for (UpstreamConnection* c : closed_) {
    c->free_next_ = free_;
    free_ = c;
  }
  closed_.clear();
}

}  // namespace berth::proxy
