#include "autoscaler/decider.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace berth::autoscaler {

namespace {
std::string Fmt(double v) {
  char b[32];
  snprintf(b, sizeof b, "%.2f", v);
  return b;
}
}  // namespace

double Decider::Target() const {
  double t = c_.limit > 0 ? c_.limit * c_.target_utilization : c_.unlimited_target;
  return std::max(t, 0.01);
}

void Decider::Record(TimePoint at, double in_flight, double queued) {
  if (!created_set_) {
    created_ = at;
    created_set_ = true;
  }
  double demand = std::max(0.0, in_flight) + std::max(0.0, queued);
  samples_.push_back({at, demand, std::max(0.0, queued)});
  if (demand > 0) {
    last_demand_ = at;
    seen_demand_ = true;
  }
  // Keep one stable window (plus a sample) of history.
  while (samples_.size() > 1 && samples_.front().at < at - c_.stable_window) samples_.pop_front();
}

double Decider::Average(TimePoint now, Millis window, bool* any) const {
  double sum = 0;
  int n = 0;
  for (auto it = samples_.rbegin(); it != samples_.rend() && it->at > now - window; ++it) {
    sum += it->demand;
    ++n;
  }
  *any = n > 0;
  return n ? sum / n : 0;
}

Decision Decider::Decide(TimePoint now, int ready, int current) {
  if (!created_set_) {
    created_ = now;
    created_set_ = true;
  }
  Decision d;
  double target = Target();
  auto clamp = [&](int n) { return std::clamp(n, c_.min, std::max(c_.min, c_.max)); };

  // Activator: requests are waiting and nothing serves them: start what they need now.
  if (ready == 0 && !samples_.empty() && samples_.back().queued > 0) {
    double per = c_.limit > 0 ? c_.limit : target;
    d.desired = clamp(std::max({1, current, static_cast<int>(std::ceil(samples_.back().queued / per))}));
    d.stable_demand = d.panic_demand = samples_.back().demand;
    d.reason = "activate: " + Fmt(samples_.back().queued) + " requests waiting for a replica";
    return d;
  }

  bool any_stable, any_panic;
  Millis panic_window(static_cast<int64_t>(c_.stable_window.count() * c_.panic_window_fraction));
  d.stable_demand = Average(now, c_.stable_window, &any_stable);
  d.panic_demand = Average(now, std::max(panic_window, Millis(1)), &any_panic);
  // The latest sample counts at once: a step up shows in it a whole panic window before
  // the window's average catches up, and a panic window shorter than the report interval
  // (stable window under 10 s) may hold no sample at all. Scale-up only: panic never
  // scales down, and the stable window still decides when to come back.
  if (!samples_.empty()) d.panic_demand = std::max(d.panic_demand, samples_.back().demand);
  if (!any_stable) {  // no data yet: keep what we have
    d.desired = clamp(std::max(current, c_.min));
    d.reason = "no measurements yet";
    return d;
  }
  int want_stable = static_cast<int>(std::ceil(d.stable_demand / target - 1e-9));
  int want_panic = static_cast<int>(std::ceil(d.panic_demand / target - 1e-9));

  if (ready > 0 && want_panic >= c_.panic_threshold * ready) panic_until_ = now + c_.stable_window;
  d.panic = now < panic_until_;
  int want = d.panic ? std::max(want_panic, current) : want_stable;

  // Rate limits relative to what is ready.
  int base = std::max(ready, 1);
  int up = static_cast<int>(std::ceil(c_.max_scale_up_rate * base));
  int down = static_cast<int>(std::floor(base / c_.max_scale_down_rate));
  want = std::clamp(want, down, std::max(up, down));

  // `idle` without any demand is zero, whatever the stable window still averages; and
  // zero only then.
  TimePoint quiet_since0 = seen_demand_ ? last_demand_ : created_;
  bool idle = c_.min == 0 && now - quiet_since0 >= c_.idle && (!seen_demand_ || samples_.back().demand == 0);
  if (idle) want = 0;
  if (want == 0) {
    TimePoint quiet_since = seen_demand_ ? last_demand_ : created_;
    // Not idle long enough: keep one replica if there is one (and never start one for
    // no demand).
    if (c_.min > 0 || now - quiet_since < c_.idle) want = std::min(current, 1);
  }
  d.desired = clamp(want);
  if (idle && d.desired == 0) {
    double quiet_s = static_cast<double>(std::chrono::duration_cast<Millis>(now - quiet_since0).count()) / 1000;
    d.reason = "idle: no requests for " + Fmt(quiet_s) + " s (scale.idle " + Fmt(c_.idle.count() / 1000.0) + " s) -> 0";
    return d;
  }
  d.reason = std::string(d.panic ? "panic" : "stable") + ": demand " + Fmt(d.panic ? d.panic_demand : d.stable_demand) +
             " / target " + Fmt(target) + " per replica -> " + std::to_string(d.desired);
  return d;
}

}  // namespace berth::autoscaler
