#include "supervisor/backoff.h"

#include <algorithm>
#include <cmath>

namespace berth::supervisor {

Millis BackoffPolicy::Nominal(int failures) const {
  if (failures < 1) failures = 1;
  double ms = static_cast<double>(o_.base.count()) * std::pow(o_.factor, failures - 1);
  double cap = static_cast<double>(o_.cap.count());
  return Millis(static_cast<int64_t>(std::min(ms, cap)));
}

Millis BackoffPolicy::Delay(int failures, double rand01) const {
  double nominal = static_cast<double>(Nominal(failures).count());
  double r = std::clamp(rand01, 0.0, 1.0);
  double jittered = nominal * (1.0 + o_.jitter * (2.0 * r - 1.0));
  double cap = static_cast<double>(o_.cap.count());
  return Millis(static_cast<int64_t>(std::clamp(jittered, 0.0, cap)));
}

}  // namespace berth::supervisor
