// HealthTracker: Compose/Docker health semantics as a pure state machine. The shell runs
// the probe (exec, HTTP or TCP) when NextProbeAt() says and feeds results in.
//  - A success makes the replica healthy and clears the failure count.
//  - During start_period failures do not count (the app may still be starting), and
//    probes run every start_interval; after it, every interval.
//  - `retries` consecutive counted failures make it unhealthy.
// Not thread-safe; one per replica, used on the event loop.
#pragma once

#include <string>

#include "base/clock.h"
#include "spec/model.h"

namespace berth::supervisor {

enum class Health { kNone, kStarting, kHealthy, kUnhealthy };
const char* HealthName(Health h);

class HealthTracker {
 public:
  // fast_interval > 0: until the first success (and at most fast_for), probe that often
  // and do not count failures: readiness of a starting replica is detected within
  // milliseconds instead of a whole interval (cold starts). readiness_only: after the
  // first success there are no more probes (an implicit check, for exposed services
  // without a health check; status then reads kNone).
  HealthTracker(const spec::HealthCheck& check, TimePoint started_at, Millis fast_interval = Millis(0),
                Millis fast_for = Millis(60'000), bool readiness_only = false);

  Health status() const { return status_; }
  int failures() const { return failures_; }
  const std::string& last_output() const { return last_output_; }

  // When the next probe is due.
  TimePoint NextProbeAt() const { return next_; }

  // Records a probe result taken at `now`; returns the new status.
  Health Record(bool success, TimePoint now, std::string output = "");

 private:
  bool InStartPeriod(TimePoint now) const;
  bool InFastPhase(TimePoint now) const;

  spec::HealthCheck check_;
  Millis fast_interval_;
  Millis fast_for_;
  bool readiness_only_;
  TimePoint started_;
  TimePoint next_;
  Health status_;
  int failures_ = 0;
  bool ever_healthy_ = false;
  std::string last_output_;
};

}  // namespace berth::supervisor
