#include "proxy/limiter.h"

#include <limits>

namespace berth::proxy {

ConcurrencyLimiter::ConcurrencyLimiter() {
  SetOptions(Options());
}

void ConcurrencyLimiter::SetOptions(const Options& o) {
  limit_.store(o.limit, std::memory_order_relaxed);
  queue_cap_.store(o.queue, std::memory_order_relaxed);
  timeout_ms_.store(o.queue_timeout_ms, std::memory_order_relaxed);
  wait_for_replica_.store(o.wait_for_replica, std::memory_order_relaxed);
}

ConcurrencyLimiter::Options ConcurrencyLimiter::options() const {
  return {limit_.load(std::memory_order_relaxed), queue_cap_.load(std::memory_order_relaxed),
          timeout_ms_.load(std::memory_order_relaxed), wait_for_replica_.load(std::memory_order_relaxed)};
}

LimiterSlot* ConcurrencyLimiter::TryAcquire(View ready, uint32_t hint, uint32_t limit) {
  size_t n = ready.size();
  if (n == 0) return nullptr;
  for (;;) {
    LimiterSlot* best = ready[0];
    uint32_t best_load = 0;
    if (n == 1) {
      best_load = best->in_flight.load(std::memory_order_relaxed);
    } else {
      best_load = std::numeric_limits<uint32_t>::max();
      size_t start = hint % n;
      for (size_t i = 0; i < n; ++i) {
        LimiterSlot* s = ready[(start + i) % n];
        uint32_t load = s->in_flight.load(std::memory_order_relaxed);
        if (load < best_load) {
          best = s;
          best_load = load;
        }
      }
    }
    if (limit == 0) {
      best->in_flight.fetch_add(1, std::memory_order_seq_cst);
      return best;
    }
    if (best_load >= limit) return nullptr;
    if (best->in_flight.compare_exchange_weak(best_load, best_load + 1, std::memory_order_seq_cst))
      return best;
    // Another worker took it first: look again.
  }
}

ConcurrencyLimiter::Admit ConcurrencyLimiter::Acquire(View ready, Waiter* w, int64_t now_ms, uint32_t hint,
                                                      LimiterSlot** slot) {
  uint32_t limit = limit_.load(std::memory_order_relaxed);
  bool wait_for_replica = wait_for_replica_.load(std::memory_order_relaxed);
  if (waiting_.load(std::memory_order_seq_cst) == 0) {
    if ((*slot = TryAcquire(ready, hint, limit)) != nullptr) return Admit::kAcquired;
    if (ready.empty() && !wait_for_replica) return Admit::kNoReplica;
  }
  std::lock_guard<std::mutex> lock(mu_);
  waiting_.fetch_add(1, std::memory_order_seq_cst);
  if (head_ == nullptr && (*slot = TryAcquire(ready, hint, limit)) != nullptr) {
    waiting_.fetch_sub(1, std::memory_order_relaxed);
    return Admit::kAcquired;
  }
  if (ready.empty() && !wait_for_replica) {
    waiting_.fetch_sub(1, std::memory_order_relaxed);
    return Admit::kNoReplica;
  }
  if (count_ >= queue_cap_.load(std::memory_order_relaxed)) {
    waiting_.fetch_sub(1, std::memory_order_relaxed);
    return Admit::kOverflow;
  }
  w->deadline_ms = now_ms + timeout_ms_.load(std::memory_order_relaxed);
  w->queued = true;
  w->next = nullptr;
  w->prev = tail_;
  if (tail_ != nullptr) {
    tail_->next = w;
  } else {
    head_ = w;
  }
  tail_ = w;
  ++count_;
  *slot = nullptr;
  return Admit::kQueued;
}

void ConcurrencyLimiter::Unlink(Waiter* w) {
  if (w->prev != nullptr) {
    w->prev->next = w->next;
  } else {
    head_ = w->next;
  }
  if (w->next != nullptr) {
    w->next->prev = w->prev;
  } else {
    tail_ = w->prev;
  }
  w->prev = w->next = nullptr;
  w->queued = false;
  --count_;
  waiting_.fetch_sub(1, std::memory_order_relaxed);
}

void ConcurrencyLimiter::PopLocked(Waiter* w, LimiterSlot* slot, std::vector<Grant>* out) {
  // Copy what the owner needs before unlinking: once unlinked, the owner may reuse `w`.
  out->push_back(Grant{w->worker, w->owner, w->tag, slot});
  Unlink(w);
}

void ConcurrencyLimiter::GrantWaitersLocked(View ready, std::vector<Grant>* grants) {
  uint32_t limit = limit_.load(std::memory_order_relaxed);
  while (head_ != nullptr) {
    LimiterSlot* s = TryAcquire(ready, 0, limit);
    if (s == nullptr) return;
    PopLocked(head_, s, grants);
  }
}

void ConcurrencyLimiter::Release(LimiterSlot* slot, View ready, std::vector<Grant>* grants) {
  slot->in_flight.fetch_sub(1, std::memory_order_seq_cst);
  if (waiting_.load(std::memory_order_seq_cst) == 0) return;
  std::lock_guard<std::mutex> lock(mu_);
  GrantWaitersLocked(ready, grants);
}

void ConcurrencyLimiter::Dispatch(View ready, std::vector<Grant>* grants) {
  if (waiting_.load(std::memory_order_seq_cst) == 0) return;
  std::lock_guard<std::mutex> lock(mu_);
  GrantWaitersLocked(ready, grants);
}

bool ConcurrencyLimiter::Cancel(Waiter* w) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!w->queued) return false;
  Unlink(w);
  return true;
}

void ConcurrencyLimiter::Expire(int64_t now_ms, std::vector<Grant>* expired) {
  std::lock_guard<std::mutex> lock(mu_);
  // Deadlines are in FIFO order unless queue_timeout changed meanwhile: scan it all.
  for (Waiter* w = head_; w != nullptr;) {
    Waiter* next = w->next;
    if (w->deadline_ms <= now_ms) PopLocked(w, nullptr, expired);
    w = next;
  }
}

void ConcurrencyLimiter::DrainAll(std::vector<Grant>* drained) {
  std::lock_guard<std::mutex> lock(mu_);
  while (head_ != nullptr) PopLocked(head_, nullptr, drained);
}

uint32_t ConcurrencyLimiter::queued() const {
  std::lock_guard<std::mutex> lock(mu_);
  return count_;
}

int64_t ConcurrencyLimiter::next_deadline() const {
  std::lock_guard<std::mutex> lock(mu_);
  int64_t best = -1;
  for (Waiter* w = head_; w != nullptr; w = w->next) {
    if (best < 0 || w->deadline_ms < best) best = w->deadline_ms;
  }
  return best;
}

}  // namespace berth::proxy
