// UpstreamConnection and UpstreamPool: a worker's connections to replicas.
//
// An UpstreamConnection is one TCP connection from the proxy to a replica, registered
// with the worker's epoll once for its whole life. While it carries a request it has an
// owner (the ClientConnection of that request) and forwards its events there; between
// requests it sits in its replica's idle list for this worker (LIFO: the most recently
// used connection is reused first, so the rest age out). An idle connection that becomes
// readable (the replica closed it or sent garbage) or stays idle longer than
// --pool-idle is closed. Keep --pool-idle below the replicas' own keep-alive timeout
// (gunicorn: 2 s) so that the proxy, not the replica, closes idle connections; the
// remaining race is covered by one retry of an idempotent request (ClientConnection).
//
// Objects are recycled through a free list and only reused after the current epoll
// batch, so an event already fetched for a closed connection finds it closed.
//
// Thread-safety: none; a pool and its connections belong to one worker thread.
#pragma once

#include <cstdint>
#include <vector>

#include "proxy/buffer.h"
#include "proxy/event_loop.h"
#include "proxy/http_parser.h"
#include "proxy/service_state.h"

namespace berth::proxy {

class ClientConnection;
class UpstreamPool;

class UpstreamConnection final : public IoHandler, public TimerClient {
 public:
  explicit UpstreamConnection(UpstreamPool* pool) : parser(HttpParser::Kind::kResponse), pool_(pool) {}
  void OnIo(uint32_t events) override;
  void OnTimer() override;

  int fd() const { return fd_; }
  ReplicaState* replica() const { return replica_.get(); }

  // Public state, driven by the owning ClientConnection.
  ClientConnection* owner = nullptr;
  Buffer in;
  HttpParser parser;
  MessageHead* head = nullptr;
  TimerNode timer;
  bool connecting = false;
  bool reused = false;
  bool readable = false;
  bool rdhup = false;

 private:
  friend class UpstreamPool;
  UpstreamPool* pool_;
  int fd_ = -1;
  RefPtr<ReplicaState> replica_;
  UpstreamConnection* idle_prev_ = nullptr;
  UpstreamConnection* idle_next_ = nullptr;
  UpstreamConnection* free_next_ = nullptr;
  bool idle_ = false;
};

class Worker;

class UpstreamPool {
 public:
  UpstreamPool(Worker* worker, EventLoop* loop, BufferPool* buffers, uint32_t worker_index, int64_t idle_ms,
               uint32_t max_idle);
  ~UpstreamPool();
  UpstreamPool(const UpstreamPool&) = delete;
  UpstreamPool& operator=(const UpstreamPool&) = delete;

  // An idle keep-alive connection to `r`, or nullptr.
  UpstreamConnection* Take(ReplicaState* r);
  // A new connection to `r` (connecting, or already connected); nullptr with *err set
  // when the connect failed at once.
  UpstreamConnection* Connect(ReplicaState* r, int* err);
  // Back to the idle list after a complete exchange (closed if the list is full).
  void Put(UpstreamConnection* c);
  // Closes it (with a RST if `abort`); the object is recycled after this batch.
  void Close(UpstreamConnection* c, bool abort);
  void CloseIdle(ReplicaState* r);
  // Closes every connection (worker shutdown); owners must be gone.
  void CloseAll();
  // Makes closed objects reusable (the worker calls it between batches).
  void RecycleClosed();

  uint32_t worker_index() const { return worker_index_; }
  size_t live() const { return live_; }

 private:
  friend class UpstreamConnection;
  UpstreamConnection* NewConnection();
  void Unidle(UpstreamConnection* c);

  Worker* worker_;
  EventLoop* loop_;
  BufferPool* buffers_;
  uint32_t worker_index_;
  TimerList* idle_timers_;
  uint32_t max_idle_;
  size_t live_ = 0;
  UpstreamConnection* free_ = nullptr;
  std::vector<UpstreamConnection*> closed_;
  std::vector<UpstreamConnection*> all_;  // owns every object
};

}  // namespace berth::proxy
