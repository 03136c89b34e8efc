// BackoffPolicy: how long a crashed replica waits before its next start. Exponential
// with full-range jitter around the nominal delay, capped, and reset once a replica
// has run long enough to count as healthy again. Pure; thread-safe.
#pragma once

#include "base/clock.h"

namespace berth::supervisor {

struct BackoffOptions {
  Millis base{1'000};          // delay before the first restart
  double factor = 2.0;         // growth per consecutive failure
  Millis cap{300'000};         // no delay exceeds this (5 min)
  double jitter = 0.2;         // delay varies by +-20% so crash loops do not synchronize
  Millis reset_after{600'000}; // a run this long forgets earlier failures (10 min)
};

class BackoffPolicy {
 public:
  explicit BackoffPolicy(BackoffOptions options = {}) : o_(options) {}

  // Delay before restart number `failures` (1 = first restart after a failure).
  // `rand01` in [0, 1) supplies the jitter (0.5 = exactly nominal).
  Millis Delay(int failures, double rand01) const;

  // Nominal delay without jitter, for display and tests.
  Millis Nominal(int failures) const;

  // Whether a run of `ran_for` clears the consecutive-failure count.
  bool Resets(Millis ran_for) const { return ran_for >= o_.reset_after; }

  const BackoffOptions& options() const { return o_; }

 private:
  BackoffOptions o_;
};

}  // namespace berth::supervisor
