// Decider: how many replicas a service should have, from the concurrency the proxy
// measured — Knative's KPA, as a pure function of samples and the time passed in.
//
//  - demand = requests in flight at the replicas + requests waiting in the queue, as
//    time-weighted averages per sample (the proxy reports one per second);
//  - target = per-replica concurrency limit x target utilization (70 %): the load one
//    replica should carry; without a limit, `unlimited_target` (100) per replica;
//  - stable mode: desired = ceil(average demand over the stable window (60 s) / target);
//  - panic mode, for bursts: entered when the panic window's average (10 % of the stable
//    window), or the latest sample if higher, asks for >= 2x the ready replicas; while in
//    panic the count never goes down;
//    panic ends a whole stable window after the last panicking decision;
//  - rates: at most max_scale_up_rate x ready up, at most ready / max_scale_down_rate down;
//  - scale to zero only when min is 0 and there was no demand for the whole `idle`
//    duration; from zero (activator): as many replicas as the waiting requests need,
//    at once, without waiting for a window.
// Not thread-safe: one per service, on the daemon's loop.
#pragma once

#include <deque>
#include <string>

#include "base/clock.h"

namespace berth::autoscaler {

struct DeciderConfig {
  int min = 1;
  int max = 1;
  int limit = 0;                  // per-replica concurrency limit (0 = unlimited)
  double target_utilization = 0.7;
  double unlimited_target = 100;  // target per replica when limit is 0
  Millis stable_window{60'000};
  double panic_window_fraction = 0.1;
  double panic_threshold = 2.0;
  double max_scale_up_rate = 1000;
  double max_scale_down_rate = 2;
  Millis idle{60'000};            // scale to zero after this long without demand
};

struct Decision {
  int desired = 0;
  bool panic = false;
  double stable_demand = 0;  // averages the decision used
  double panic_demand = 0;
  std::string reason;        // for `berth events`: "stable: demand 3.2 / target 7 -> 1"
};

class Decider {
 public:
  explicit Decider(DeciderConfig config) : c_(config) {}

  // One measurement: average concurrency at the replicas and in the queue over the
  // interval ending at `at`.
  void Record(TimePoint at, double in_flight, double queued);

  // The decision at `now` given how many replicas are ready and how many are wanted now.
  Decision Decide(TimePoint now, int ready, int current);

  double Target() const;
  const DeciderConfig& config() const { return c_; }
  void set_config(const DeciderConfig& c) { c_ = c; }

 private:
  struct Sample {
    TimePoint at;
    double demand;
    double queued;
  };
  double Average(TimePoint now, Millis window, bool* any) const;

  DeciderConfig c_;
  std::deque<Sample> samples_;
  TimePoint panic_until_{};  // panic mode lasts until then
  TimePoint last_demand_{};  // the last time any demand was seen
  bool seen_demand_ = false;
  TimePoint created_{};
  bool created_set_ = false;
};

}  // namespace berth::autoscaler
