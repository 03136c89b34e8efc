#include "supervisor/health.h"

namespace berth::supervisor {

const char* HealthName(Health h) {
  switch (h) {
    case Health::kNone: return "none";
    case Health::kStarting: return "starting";
    case Health::kHealthy: return "healthy";
    case Health::kUnhealthy: return "unhealthy";
  }
  return "none";
}

HealthTracker::HealthTracker(const spec::HealthCheck& check, TimePoint started_at, Millis fast_interval,
                             Millis fast_for, bool readiness_only)
    : check_(check),
      fast_interval_(fast_interval),
      fast_for_(fast_for),
      readiness_only_(readiness_only),
      started_(started_at) {
  if (check_.kind == spec::HealthKind::kNone) {
    status_ = Health::kNone;
    next_ = TimePoint::max();
    return;
  }
  status_ = Health::kStarting;
  // The first probe comes one start_interval in when there is a start period (the app
  // is expected to need time), else one interval in (Docker's behaviour); in the fast
  // phase, at once.
  if (fast_interval_.count() > 0) next_ = started_ + fast_interval_;
  else next_ = started_ + (check_.start_period.count() > 0 ? check_.start_interval : check_.interval);
}

bool HealthTracker::InFastPhase(TimePoint now) const {
  return fast_interval_.count() > 0 && !ever_healthy_ && now < started_ + fast_for_;
}

bool HealthTracker::InStartPeriod(TimePoint now) const {
  return !ever_healthy_ && now < started_ + check_.start_period;
}

Health HealthTracker::Record(bool success, TimePoint now, std::string output) {
  if (status_ == Health::kNone) return status_;
  last_output_ = std::move(output);
  bool fast = InFastPhase(now);
  if (success) {
    failures_ = 0;
    ever_healthy_ = true;
    status_ = readiness_only_ ? Health::kNone : Health::kHealthy;
  } else if (!InStartPeriod(now) && !fast) {
    ++failures_;
    if (failures_ >= check_.retries) status_ = Health::kUnhealthy;
  }
  if (readiness_only_ && ever_healthy_) next_ = TimePoint::max();
  else if (InFastPhase(now)) next_ = now + fast_interval_;
  else next_ = now + (InStartPeriod(now) ? check_.start_interval : check_.interval);
  return status_;
}

}  // namespace berth::supervisor
