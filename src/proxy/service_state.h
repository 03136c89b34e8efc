// ServiceState and ReplicaState: the mutable state behind the immutable route snapshots.
//
// A route snapshot (RouteTable) is rebuilt on every change, but a service's limiter and
// queue, a replica's in-flight count, its idle upstream connections and all counters
// must carry over from one snapshot to the next. So they live in these refcounted
// objects, which the control thread's StateRegistry hands out by name and id: the same
// service name (and the same replica id and address) in the next snapshot gets the same
// object. A snapshot, an in-flight request and an idle pooled connection each hold a
// reference, so a replica removed from the routes lives until its last request ends.
//
// Counters are per worker (cache-line aligned, one writer each: the worker), summed by
// the control thread for /metrics and the stats report: no shared counter is written on
// the request path.
//
// Thread-safety: refcounts and LimiterSlot are atomic; ServiceState::limiter is
// thread-safe; per-worker blocks are written by their worker only and read (relaxed)
// by the control thread. StateRegistry is used by the control thread only.
#pragma once

#include <netinet/in.h>

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>

#include "proxy/limiter.h"

namespace berth::proxy {

class UpstreamConnection;
struct ServiceEntry;

// Intrusive, thread-safe reference count.
template <typename T>
class RefCounted {
 public:
  void Ref() const { refs_.fetch_add(1, std::memory_order_relaxed); }
  void Unref() const {
    if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete static_cast<const T*>(this);
  }

 protected:
  RefCounted() = default;
  ~RefCounted() = default;

 private:
  mutable std::atomic<int32_t> refs_{0};
};

template <typename T>
class RefPtr {
 public:
  RefPtr() = default;
  explicit RefPtr(T* p) : p_(p) {
    if (p_) p_->Ref();
  }
  RefPtr(const RefPtr& o) : RefPtr(o.p_) {}
  RefPtr(RefPtr&& o) noexcept : p_(o.p_) { o.p_ = nullptr; }
  RefPtr& operator=(RefPtr o) noexcept {
    std::swap(p_, o.p_);
    return *this;
  }
  ~RefPtr() {
    if (p_) p_->Unref();
  }
  T* get() const { return p_; }
  T* operator->() const { return p_; }
  T& operator*() const { return *p_; }
  explicit operator bool() const { return p_ != nullptr; }

 private:
  T* p_ = nullptr;
};

// A counter with one writer (plain load+store, no lock prefix) and any readers.
struct Counter {
  std::atomic<uint64_t> v{0};
  void Add(uint64_t n = 1) { v.store(v.load(std::memory_order_relaxed) + n, std::memory_order_relaxed); }
  uint64_t Get() const { return v.load(std::memory_order_relaxed); }
};

// The time integral of a level (requests in flight, requests queued), for
// time-weighted averages. One writer; readers tolerate a slightly stale view.
struct LevelIntegral {
  std::atomic<int64_t> level{0};
  std::atomic<int64_t> last_us{0};
  std::atomic<int64_t> integral{0};  // level x microseconds
  void Change(int64_t now_ns, int64_t delta);
  int64_t IntegralAt(int64_t now_ns) const;
};

// Latency buckets (seconds): the upper bounds of berth_proxy_request_duration_seconds.
inline constexpr int kLatencyBuckets = 16;
inline constexpr int64_t kLatencyBoundsUs[kLatencyBuckets] = {
    500,    1000,   2500,    5000,    10000,   25000,    50000,    100000,
    250000, 500000, 1000000, 2500000, 5000000, 10000000, 30000000, 60000000};

enum class Rejection { kOverflow, kNoReplica, kQueueTimeout, kCount };

struct alignas(64) ServiceWorkerStats {
  Counter responses[6];  // by status class (index 1..5); all answers, also the proxy's own
  Counter rejected[static_cast<int>(Rejection::kCount)];
  Counter latency[kLatencyBuckets + 1];  // last: +Inf
  Counter latency_sum_us;
  LevelIntegral in_flight;  // this worker's requests holding a slot
  LevelIntegral queued;     // this worker's requests in the queue
  // Worker-private: this service's entry in the worker's current snapshot (nullptr if
  // absent), for Release() to find the replicas a freed slot may go to.
  const ServiceEntry* view = nullptr;

  void RecordLatency(int64_t us);
  void RecordResponse(int status) { responses[status >= 100 && status < 600 ? status / 100 : 0].Add(); }
};

enum class UpstreamError { kConnect, kTimeout, kReset, kProtocol, kCount };

struct alignas(64) ReplicaWorkerStats {
  Counter responses[6];
  Counter errors[static_cast<int>(UpstreamError::kCount)];
  Counter connects;
  Counter reuses;
  Counter retries;
  // Worker-private: this worker's idle keep-alive connections to the replica (LIFO).
  UpstreamConnection* idle_head = nullptr;
  uint32_t idle_count = 0;
};

// How a worker wakes the control thread when a request starts waiting for a service
// with no ready replica (the scale-from-zero signal). Set once by the proxy at start.
struct ActivationSignal {
  static std::atomic<int> eventfd;   // the control loop's wakeup; -1: nobody listens
  static std::atomic<bool> pending;  // some service has activation_pending set
  static void Notify();
};

class ServiceState : public RefCounted<ServiceState> {
 public:
  ServiceState(std::string name, uint32_t num_workers);
  // Set by the first request that queues while no replica is ready; the control thread
  // clears it when it tells the controllers.
  std::atomic<bool> activation_pending{false};
  const std::string& name() const { return name_; }
  ConcurrencyLimiter& limiter() { return limiter_; }
  const ConcurrencyLimiter& limiter() const { return limiter_; }
  ServiceWorkerStats& worker(uint32_t w) { return workers_[w]; }
  const ServiceWorkerStats& worker(uint32_t w) const { return workers_[w]; }
  uint32_t num_workers() const { return num_workers_; }

 private:
  std::string name_;
  ConcurrencyLimiter limiter_;
  uint32_t num_workers_;
  std::unique_ptr<ServiceWorkerStats[]> workers_;
};

class ReplicaState : public LimiterSlot, public RefCounted<ReplicaState> {
 public:
  ReplicaState(RefPtr<ServiceState> service, std::string id, const sockaddr_in& addr, std::string addr_text,
               uint32_t num_workers);
  ServiceState* service() const { return service_.get(); }
  const std::string& id() const { return id_; }
  const sockaddr_in& addr() const { return addr_; }
  const std::string& addr_text() const { return addr_text_; }
  ReplicaWorkerStats& worker(uint32_t w) { return workers_[w]; }
  const ReplicaWorkerStats& worker(uint32_t w) const { return workers_[w]; }

  static ReplicaState* FromSlot(LimiterSlot* s) { return static_cast<ReplicaState*>(s); }

 private:
  RefPtr<ServiceState> service_;
  std::string id_;
  sockaddr_in addr_;
  std::string addr_text_;
  std::unique_ptr<ReplicaWorkerStats[]> workers_;
};

// Hands out the state objects by name; used by the control thread to build snapshots.
class StateRegistry {
 public:
  explicit StateRegistry(uint32_t num_workers) : num_workers_(num_workers) {}
  uint32_t num_workers() const { return num_workers_; }

  RefPtr<ServiceState> Service(const std::string& name);
  RefPtr<ReplicaState> Replica(ServiceState* service, const std::string& id, const sockaddr_in& addr,
                               const std::string& addr_text);
  // Forgets everything not handed out since the last Sweep (snapshots and requests
  // still holding references keep those objects alive).
  void Sweep();

 private:
  uint32_t num_workers_;
  std::map<std::string, RefPtr<ServiceState>> services_;
  std::map<std::string, RefPtr<ReplicaState>> replicas_;
  std::set<std::string> used_services_;
  std::set<std::string> used_replicas_;
};

}  // namespace berth::proxy
