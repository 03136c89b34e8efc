#include "proxy/limiter.h"

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace berth::proxy {
namespace {

using Admit = ConcurrencyLimiter::Admit;

// A table-driven harness: replicas are slots 0..n-1; requests are numbered; time is a
// manual clock (the limiter never reads one).
struct Harness {
  // Slots 0..3 exist; the first `replicas` are ready (in the view).
  explicit Harness(ConcurrencyLimiter::Options o, int replicas) : limiter(o), slots(4) {
    for (int i = 0; i < replicas; ++i) view.push_back(&slots[i]);
  }
  int Index(LimiterSlot* s) const {
    for (size_t i = 0; i < slots.size(); ++i) {
      if (&slots[i] == s) return static_cast<int>(i);
    }
    return -1;
  }
  // Returns "r<i>" (acquired on replica i), "queued", "overflow" or "no-replica".
  std::string Acquire(int request) {
    Waiter& w = waiters.at(request);
    w.owner = &w;
    w.tag = static_cast<uint64_t>(request);
    LimiterSlot* slot = nullptr;
    switch (limiter.Acquire(view, &w, now, 0, &slot)) {
      case Admit::kAcquired:
        held[request] = slot;
        return "r" + std::to_string(Index(slot));
      case Admit::kQueued:
        return "queued";
      case Admit::kOverflow:
        return "overflow";
      case Admit::kNoReplica:
        return "no-replica";
    }
    return "?";
  }
  // Releases request's slot; returns the grants as "req@r<i>" joined by spaces.
  std::string Release(int request) {
    std::vector<Grant> g;
    limiter.Release(held[request], view, &g);
    held.erase(request);
    return Describe(g);
  }
  std::string Expire() {
    std::vector<Grant> g;
    limiter.Expire(now, &g);
    return Describe(g);
  }
  std::string Dispatch() {
    std::vector<Grant> g;
    limiter.Dispatch(view, &g);
    return Describe(g);
  }
  std::string Describe(const std::vector<Grant>& g) {
    std::string s;
    for (const Grant& x : g) {
      if (!s.empty()) s += ' ';
      s += std::to_string(x.tag) + (x.slot ? "@r" + std::to_string(Index(x.slot)) : "@expired");
      if (x.slot) held[static_cast<int>(x.tag)] = x.slot;
    }
    return s;
  }
  std::vector<uint32_t> Loads() const {
    std::vector<uint32_t> v;
    for (const LimiterSlot* s : view) v.push_back(s->in_flight.load());
    return v;
  }

  ConcurrencyLimiter limiter;
  std::vector<LimiterSlot> slots;
  std::vector<LimiterSlot*> view;
  std::vector<Waiter> waiters = std::vector<Waiter>(64);  // never resized: the FIFO links them
  std::map<int, LimiterSlot*> held;
  int64_t now = 1000;
};

// One step of a scenario: an operation and what it must return.
struct Step {
  enum Op { kAcquire, kRelease, kAdvance, kExpire, kCancel, kDispatch, kAddReplica } op;
  int arg;
  std::string want;
};

void RunTable(const char* name, ConcurrencyLimiter::Options o, int replicas, const std::vector<Step>& steps) {
  Harness h(o, replicas);
  int i = 0;
  for (const Step& s : steps) {
    std::string got;
    switch (s.op) {
      case Step::kAcquire:
        got = h.Acquire(s.arg);
        break;
      case Step::kRelease:
        got = h.Release(s.arg);
        break;
      case Step::kAdvance:
        h.now += s.arg;
        break;
      case Step::kExpire:
        got = h.Expire();
        break;
      case Step::kCancel:
        got = h.limiter.Cancel(&h.waiters[s.arg]) ? "cancelled" : "gone";
        break;
      case Step::kDispatch:
        got = h.Dispatch();
        break;
      case Step::kAddReplica:
        h.view.push_back(&h.slots[s.arg]);
        break;
    }
    EXPECT_EQ(got, s.want) << name << " step " << i;
    ++i;
  }
  EXPECT_EQ(h.limiter.queued(), 0u) << name << ": queue not empty at the end";
}

TEST(ConcurrencyLimiter, HardLimitQueueAndOverflow) {
  // limit 2, queue 2, one replica: 2 run, 2 wait, the 5th overflows (429).
  RunTable("limit2 queue2", {.limit = 2, .queue = 2, .queue_timeout_ms = 10'000}, 1,
           {{Step::kAcquire, 0, "r0"},
            {Step::kAcquire, 1, "r0"},
            {Step::kAcquire, 2, "queued"},
            {Step::kAcquire, 3, "queued"},
            {Step::kAcquire, 4, "overflow"},
            {Step::kRelease, 0, "2@r0"},  // the oldest waiter gets the slot
            {Step::kAcquire, 5, "queued"},
            {Step::kRelease, 1, "3@r0"},
            {Step::kRelease, 2, "5@r0"},
            {Step::kRelease, 3, ""},
            {Step::kRelease, 5, ""}});
}

TEST(ConcurrencyLimiter, NewcomersDoNotOvertakeWaiters) {
  RunTable("fifo", {.limit = 1, .queue = 5}, 1,
           {{Step::kAcquire, 0, "r0"},
            {Step::kAcquire, 1, "queued"},
            {Step::kAcquire, 2, "queued"},
            {Step::kRelease, 0, "1@r0"},
            {Step::kAcquire, 3, "queued"},  // 2 still waits, so 3 queues behind it
            {Step::kRelease, 1, "2@r0"},
            {Step::kRelease, 2, "3@r0"},
            {Step::kRelease, 3, ""}});
}

TEST(ConcurrencyLimiter, LeastOutstandingRequests) {
  RunTable("lor", {.limit = 3, .queue = 0}, 3,
           {{Step::kAcquire, 0, "r0"},
            {Step::kAcquire, 1, "r1"},
            {Step::kAcquire, 2, "r2"},
            {Step::kAcquire, 3, "r0"},
            {Step::kRelease, 1, ""},
            {Step::kAcquire, 4, "r1"},  // r1 has the fewest now
            {Step::kRelease, 0, ""},
            {Step::kRelease, 2, ""},
            {Step::kAcquire, 5, "r2"},  // r0:1 r1:1 r2:0
            {Step::kRelease, 3, ""},
            {Step::kRelease, 4, ""},
            {Step::kRelease, 5, ""}});
}

TEST(ConcurrencyLimiter, QueueTimeoutExpiresOldestFirst) {
  RunTable("expiry", {.limit = 1, .queue = 10, .queue_timeout_ms = 100}, 1,
           {{Step::kAcquire, 0, "r0"},
            {Step::kAcquire, 1, "queued"},
            {Step::kAdvance, 50, ""},
            {Step::kAcquire, 2, "queued"},
            {Step::kAdvance, 49, ""},
            {Step::kExpire, 0, ""},  // 1's deadline is 1100, now 1099
            {Step::kAdvance, 1, ""},
            {Step::kExpire, 0, "1@expired"},
            {Step::kAdvance, 50, ""},
            {Step::kExpire, 0, "2@expired"},
            {Step::kRelease, 0, ""}});
}

TEST(ConcurrencyLimiter, CancelLeavesTheQueue) {
  RunTable("cancel", {.limit = 1, .queue = 1}, 1,
           {{Step::kAcquire, 0, "r0"},
            {Step::kAcquire, 1, "queued"},
            {Step::kAcquire, 2, "overflow"},
            {Step::kCancel, 1, "cancelled"},
            {Step::kCancel, 1, "gone"},
            {Step::kAcquire, 3, "queued"},  // the place is free again
            {Step::kRelease, 0, "3@r0"},
            {Step::kRelease, 3, ""}});
}

TEST(ConcurrencyLimiter, NoReadyReplica) {
  RunTable("no replica", {.limit = 1, .queue = 10}, 0, {{Step::kAcquire, 0, "no-replica"}});
  // wait_for_replica: requests queue until a replica is ready (scale from zero).
  RunTable("wait for replica", {.limit = 1, .queue = 2, .queue_timeout_ms = 500, .wait_for_replica = true}, 0,
           {{Step::kAcquire, 0, "queued"},
            {Step::kAcquire, 1, "queued"},
            {Step::kAcquire, 2, "overflow"},
            {Step::kDispatch, 0, ""},
            {Step::kAddReplica, 0, ""},  // the first replica became ready
            {Step::kDispatch, 0, "0@r0"},
            {Step::kRelease, 0, "1@r0"},
            {Step::kRelease, 1, ""}});
}

TEST(ConcurrencyLimiter, UnlimitedNeverQueues) {
  RunTable("unlimited", {.limit = 0, .queue = 0}, 1,
           {{Step::kAcquire, 0, "r0"},
            {Step::kAcquire, 1, "r0"},
            {Step::kAcquire, 2, "r0"},
            {Step::kRelease, 0, ""},
            {Step::kRelease, 1, ""},
            {Step::kRelease, 2, ""}});
}

TEST(ConcurrencyLimiter, ZeroQueueOverflowsAtOnce) {
  RunTable("queue 0", {.limit = 1, .queue = 0}, 1,
           {{Step::kAcquire, 0, "r0"}, {Step::kAcquire, 1, "overflow"}, {Step::kRelease, 0, ""}});
}

TEST(ConcurrencyLimiter, RaisingTheLimitDispatches) {
  Harness h({.limit = 1, .queue = 5}, 1);
  EXPECT_EQ(h.Acquire(0), "r0");
  EXPECT_EQ(h.Acquire(1), "queued");
  EXPECT_EQ(h.Acquire(2), "queued");
  h.limiter.SetOptions({.limit = 3, .queue = 5});
  EXPECT_EQ(h.Dispatch(), "1@r0 2@r0");
  EXPECT_EQ(h.Loads(), std::vector<uint32_t>{3});
  std::vector<Grant> drained;
  h.limiter.DrainAll(&drained);
  EXPECT_TRUE(drained.empty());
}

TEST(ConcurrencyLimiter, DrainAllEmptiesTheQueue) {
  Harness h({.limit = 1, .queue = 5}, 1);
  h.Acquire(0);
  h.Acquire(1);
  h.Acquire(2);
  std::vector<Grant> drained;
  h.limiter.DrainAll(&drained);
  EXPECT_EQ(h.Describe(drained), "1@expired 2@expired");
  EXPECT_EQ(h.limiter.queued(), 0u);
  EXPECT_EQ(h.limiter.next_deadline(), -1);
}

// Many threads hammering one limiter: no replica ever exceeds the limit, and every
// queued request is eventually granted (no lost wake-ups).
TEST(ConcurrencyLimiter, ConcurrentUseKeepsTheLimit) {
  constexpr int kThreads = 4;
  constexpr int kPerThread = 5000;
  ConcurrencyLimiter limiter({.limit = 2, .queue = 1'000'000, .queue_timeout_ms = 1'000'000});
  std::vector<LimiterSlot> slots(1);
  std::vector<LimiterSlot*> view;
  for (auto& s : slots) view.push_back(&s);
  std::atomic<int> max_seen{0};
  std::atomic<int> done{0};
  struct Mailbox {
    std::mutex mu;
    std::vector<Grant> grants;
  };
  std::vector<Mailbox> boxes(kThreads);
  auto run = [&](int t) {
    Waiter w;
    w.worker = static_cast<uint32_t>(t);
    std::vector<Grant> out;
    for (int i = 0; i < kPerThread; ++i) {
      LimiterSlot* slot = nullptr;
      w.tag = static_cast<uint64_t>(i);
      if (limiter.Acquire(view, &w, 0, static_cast<uint32_t>(i), &slot) == Admit::kQueued) {
        for (;;) {  // wait for our grant in our mailbox
          std::lock_guard<std::mutex> lock(boxes[t].mu);
          if (!boxes[t].grants.empty()) {
            slot = boxes[t].grants.back().slot;
            boxes[t].grants.clear();
            break;
          }
        }
      }
      int load = static_cast<int>(slot->in_flight.load());
      int prev = max_seen.load();
      while (load > prev && !max_seen.compare_exchange_weak(prev, load)) {
      }
      out.clear();
      limiter.Release(slot, view, &out);
      for (const Grant& g : out) {
        std::lock_guard<std::mutex> lock(boxes[g.worker].mu);
        boxes[g.worker].grants.push_back(g);
      }
    }
    done.fetch_add(1);
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) threads.emplace_back(run, t);
  for (auto& t : threads) t.join();
  EXPECT_EQ(done.load(), kThreads);
  EXPECT_LE(max_seen.load(), 2);
  for (auto& s : slots) EXPECT_EQ(s.in_flight.load(), 0u);
  EXPECT_EQ(limiter.queued(), 0u);
}

}  // namespace
}  // namespace berth::proxy
