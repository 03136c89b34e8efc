// ConcurrencyLimiter: admission control for one service (the proxy's "Breaker").
//
// Contract (App Runner's per-instance concurrency; the shape of Knative's Breaker):
//  * A replica never has more than `limit` requests in flight (limit 0: unlimited).
//  * Acquire picks the ready replica with the fewest requests in flight
//    (least-outstanding-requests; `hint` rotates the start so ties spread).
//  * When every ready replica is full, the request waits in one FIFO of at most `queue`
//    entries per service; arrivals beyond that overflow (the proxy answers 429 with
//    Retry-After). Arrivals never overtake waiters: while anyone waits, newcomers queue.
//  * Release(slot) frees a slot and hands free slots to the oldest waiters first: each
//    gets a Grant naming its slot, already counted as in flight.
//  * A waiter leaves the queue when granted, on Cancel (its client went away), or when
//    its deadline (enqueue time + queue_timeout) has passed: Expire hands it back as a
//    Grant without a slot (the proxy answers 503).
//  * With no ready replica, Acquire says kNoReplica (503 with Retry-After). With
//    `wait_for_replica` the request queues instead until Dispatch() finds a ready
//    replica (the caller runs Dispatch whenever the set of ready replicas or the limit
//    changes) or it expires: the hook for scale-from-zero buffering.
// Time is an argument (now_ms); the class never reads a clock.
//
// Thread-safety: every method may be called from any thread. Per-replica in-flight
// counts are atomics and the common path (a slot is free, nobody waits) takes no lock.
// The FIFO is under a mutex, which is only taken while the service is saturated. No
// lost wake-ups: Acquire publishes `waiting_` before re-checking the slots under the
// mutex, and Release frees its slot before reading `waiting_` (both sequentially
// consistent), so one of the two always sees the other.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <span>
#include <vector>

namespace berth::proxy {

// The per-replica part of the limiter: embedded in each replica's state.
struct LimiterSlot {
  std::atomic<uint32_t> in_flight{0};
};

// A queued request. Owned by the caller (embedded in a connection); the limiter links
// it into its FIFO. `worker`, `owner` and `tag` are opaque to the limiter and are
// copied into the Grant, so the caller can route it (and detect a stale one).
struct Waiter {
  uint32_t worker = 0;
  void* owner = nullptr;
  uint64_t tag = 0;
  int64_t deadline_ms = 0;
  Waiter* prev = nullptr;
  Waiter* next = nullptr;
  bool queued = false;
};

struct Grant {
  uint32_t worker;
  void* owner;
  uint64_t tag;
  LimiterSlot* slot;  // nullptr: expired or drained without a slot
};

class ConcurrencyLimiter {
 public:
  struct Options {
    uint32_t limit = 0;  // per replica; 0 = unlimited
    uint32_t queue = 0;  // FIFO capacity; 0 = overflow as soon as every replica is full
    int64_t queue_timeout_ms = 10'000;
    bool wait_for_replica = false;
  };
  enum class Admit { kAcquired, kQueued, kOverflow, kNoReplica };
  using View = std::span<LimiterSlot* const>;

  ConcurrencyLimiter();
  explicit ConcurrencyLimiter(const Options& options) { SetOptions(options); }
  ConcurrencyLimiter(const ConcurrencyLimiter&) = delete;
  ConcurrencyLimiter& operator=(const ConcurrencyLimiter&) = delete;

  // Takes effect for later calls; waiters keep their deadlines.
  void SetOptions(const Options& options);
  Options options() const;

  // kAcquired: *slot is the chosen replica's slot (release it with Release). kQueued:
  // `w` is in the FIFO until a Grant for it comes out of Release/Dispatch/Expire, or
  // Cancel(w) returns true.
  Admit Acquire(View ready, Waiter* w, int64_t now_ms, uint32_t hint, LimiterSlot** slot);
  // Frees one slot of `slot`'s replica; appends the waiters granted a slot in `ready`.
  void Release(LimiterSlot* slot, View ready, std::vector<Grant>* grants);
  // Grants waiters while `ready` has free slots (new replicas, higher limit).
  void Dispatch(View ready, std::vector<Grant>* grants);
  // Removes a queued waiter; false if it had already left the queue (a Grant for it is
  // on its way and must still be handled).
  bool Cancel(Waiter* w);
  // Appends (slot-less) Grants for the waiters whose deadline is <= now_ms.
  void Expire(int64_t now_ms, std::vector<Grant>* expired);
  // Empties the queue (the service is gone): slot-less Grants for everyone.
  void DrainAll(std::vector<Grant>* drained);

  uint32_t queued() const;
  // Earliest deadline in the queue, or -1.
  int64_t next_deadline() const;

  // Least-loaded slot with room under `limit` (0: unlimited), already incremented; or
  // nullptr. Exposed for tests.
  static LimiterSlot* TryAcquire(View ready, uint32_t hint, uint32_t limit);

 private:
  void Unlink(Waiter* w);
  void GrantWaitersLocked(View ready, std::vector<Grant>* grants);
  void PopLocked(Waiter* w, LimiterSlot* slot, std::vector<Grant>* out);

  std::atomic<uint32_t> limit_{0};
  std::atomic<uint32_t> queue_cap_{0};
  std::atomic<int64_t> timeout_ms_{10'000};
  std::atomic<bool> wait_for_replica_{false};
  // Queued waiters plus arrivals between publishing and deciding: Release only takes
  // the mutex when this is non-zero.
  std::atomic<uint32_t> waiting_{0};

  mutable std::mutex mu_;
  Waiter* head_ = nullptr;  // guarded by mu_
  Waiter* tail_ = nullptr;  // guarded by mu_
  uint32_t count_ = 0;      // guarded by mu_
};

}  // namespace berth::proxy
