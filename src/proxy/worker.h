// Worker: one thread, one epoll loop, one listening socket (SO_REUSEPORT), and the
// client and upstream connections the kernel assigns to it (Envoy's shape).
//
// Everything a request touches lives in its worker: connections, buffers, message
// heads, upstream pools, counters. What crosses threads:
//  * route snapshots: the control thread posts a std::shared_ptr<const RouteTable>; the
//    worker swaps its own pointer between batches (no lock on the request path);
//  * queue grants: a slot freed on one worker may be granted to a request queued on
//    another; the grant is posted to the owner's mailbox;
//  * drain/stop orders.
// The mailbox is a mutex-protected vector plus an eventfd, used only for those rare
// messages (a grant only under saturation); with --workers 1 grants stay local.
//
// Thread-safety: the Post* methods, index() and stats() may be called from any thread;
// everything else only on the worker's thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "proxy/buffer.h"
#include "proxy/event_loop.h"
#include "proxy/http_parser.h"
#include "proxy/limiter.h"
#include "proxy/net_util.h"
#include "proxy/proxy_config.h"
#include "proxy/route_table.h"
#include "proxy/service_state.h"
#include "proxy/upstream_pool.h"

namespace berth::proxy {

class ClientConnection;
class WorkerGroup;

// Worker-wide counters (one writer: the worker).
struct alignas(64) WorkerStats {
  Counter accepted;
  Counter closed;
  Counter requests;       // request heads parsed
  Counter local[600];     // responses the proxy wrote itself, by status
  Counter client_aborts;  // client went away before its response was complete
  Counter retries;        // keep-alive race: sent again on a new connection
  Counter snapshots;      // route tables applied
  std::atomic<uint64_t> table_version{0};
};

class Worker {
 public:
  Worker(uint32_t index, const ProxyConfig* config, WorkerGroup* group);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // On the creating thread: epoll, eventfd and the listening socket.
  Status Init(const Endpoint& listen);
  // Starts the thread; `initial` is in place before the first connection is accepted.
  void Start(std::shared_ptr<const RouteTable> initial);
  void Join();

  // Any thread.
  void PostSnapshot(std::shared_ptr<const RouteTable> table);
  void PostGrant(const Grant& g);
  void PostDrain();
  void PostStop();
  uint32_t index() const { return index_; }
  const WorkerStats& stats() const { return stats_; }
  int listen_port() const { return listen_port_; }
  bool finished() const { return finished_.load(std::memory_order_acquire); }

  // Worker thread only.
  EventLoop& loop() { return *loop_; }
  bool uses_uring() const { return loop_ && loop_->backend() == IoBackend::kUring; }
  BufferPool& buffers() { return buffers_; }
  UpstreamPool& pool() { return *pool_; }
  WorkerStats& mutable_stats() { return stats_; }
  const ProxyConfig& config() const { return *config_; }
  const RouteTable* table() const { return table_.get(); }
  const ParseLimits& request_limits() const { return request_limits_; }
  const ParseLimits& response_limits() const { return response_limits_; }
  bool draining() const { return draining_; }
  uint32_t NextHint() { return hint_++; }

  MessageHead* TakeHead();
  void ReturnHead(MessageHead* h);
  // Routes grants to their workers (taking a replica reference for each slot) and
  // clears the vector.
  void Deliver(std::vector<Grant>* grants);
  std::vector<Grant>* grant_scratch() { return &grant_scratch_; }
  // The worker's current view of a service's ready replicas (empty if it has none).
  ConcurrencyLimiter::View ReadyView(ServiceState* s) const;
  // Runs conn->Resume() after this batch (bounded recursion, fairness).
  void Defer(ClientConnection* c);
  void ConnectionClosed(ClientConnection* c);

  TimerList* idle_timers;
  TimerList* header_timers;
  TimerList* upstream_timers;
  TimerList* tunnel_timers;
  TimerList* linger_timers;

 private:
  class Listener;
  class Mailbox;
  class AcceptRetry;
  struct Message {
    enum class Kind { kSnapshot, kGrant, kDrain, kStop } kind;
    std::shared_ptr<const RouteTable> table;
    Grant grant;
  };

  void Run();
  void Post(Message m);
  void OnMailbox();
  void OnAccept();
  void ProcessLocal();
  void ApplySnapshot(std::shared_ptr<const RouteTable> table);
  void HandleGrant(const Grant& g);
  void StartDrain();
  void Shutdown();
  ClientConnection* NewConnection();

  uint32_t index_;
  const ProxyConfig* config_;
  WorkerGroup* group_;
  std::unique_ptr<EventLoop> loop_;
  BufferPool buffers_;
  std::unique_ptr<UpstreamPool> pool_;
  ParseLimits request_limits_;
  ParseLimits response_limits_;
  WorkerStats stats_;
  std::shared_ptr<const RouteTable> table_;
  uint32_t hint_ = 0;
  bool draining_ = false;
  bool stopping_ = false;
  int64_t drain_deadline_ms_ = 0;
  std::atomic<bool> finished_{false};

  int listen_fd_ = -1;
  int listen_port_ = 0;
  int event_fd_ = -1;
  std::unique_ptr<Listener> listener_;
  std::unique_ptr<Mailbox> mailbox_;
  std::unique_ptr<AcceptRetry> accept_retry_;
  std::thread thread_;

  std::mutex mu_;
  std::vector<Message> inbox_;  // guarded by mu_
  std::vector<Message> inbox_scratch_;

  std::vector<Grant> local_grants_;
  std::vector<Grant> grants_in_work_;
  std::vector<Grant> grant_scratch_;
  std::vector<std::pair<ClientConnection*, uint64_t>> deferred_;
  std::vector<std::pair<ClientConnection*, uint64_t>> deferred_in_work_;
  std::vector<MessageHead*> free_heads_;
  std::vector<std::unique_ptr<MessageHead>> all_heads_;
  ClientConnection* live_ = nullptr;  // intrusive list of open connections
  size_t live_count_ = 0;
  std::vector<ClientConnection*> closed_;  // recycled after the batch
  std::vector<ClientConnection*> free_conns_;
  std::vector<std::unique_ptr<ClientConnection>> all_conns_;
};

// The workers of one proxy, for routing grants between them.
class WorkerGroup {
 public:
  void Add(std::unique_ptr<Worker> w) { workers_.push_back(std::move(w)); }
  Worker* at(uint32_t i) const { return workers_[i].get(); }
  uint32_t size() const { return static_cast<uint32_t>(workers_.size()); }

 private:
  std::vector<std::unique_ptr<Worker>> workers_;
};

}  // namespace berth::proxy
