#include "autoscaler/autoscaler.h"

#include <set>

namespace berth::autoscaler {

Autoscaler::Autoscaler(boost::asio::io_context& io, const Clock& clock, TargetsFn targets, ApplyFn apply,
                       Millis tick)
    : clock_(clock), targets_(std::move(targets)), apply_(std::move(apply)), tick_(tick), timer_(io) {}

void Autoscaler::Start() {
  timer_.expires_after(tick_);
  timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec || stopped_) return;
    Tick();
    Start();
  });
}

void Autoscaler::Stop() {
  stopped_ = true;
  timer_.cancel();
}

void Autoscaler::Record(const std::string& key, double in_flight, double queued) {
  State& s = states_[key];
  s.decider.Record(clock_.Now(), in_flight, queued);
  s.sampled = true;
}

void Autoscaler::Activate(const std::string& key, double queued) {
  TimePoint now = clock_.Now();
  for (const auto& t : targets_()) {
    if (t.key != key) continue;
    State& s = states_[key];
    s.decider.set_config(t.config);
    s.decider.Record(now, 0, queued);
    s.sampled = true;
    DecideOne(t, now);
  }
}

void Autoscaler::Tick() {
  TimePoint now = clock_.Now();
  std::set<std::string> live;
  for (const auto& t : targets_()) {
    live.insert(t.key);
    State& s = states_[t.key];
    s.decider.set_config(t.config);
    if (!s.sampled) s.decider.Record(now, 0, 0);  // no report: no traffic
    s.sampled = false;
    DecideOne(t, now);
  }
  for (auto it = states_.begin(); it != states_.end();) it = live.count(it->first) ? std::next(it) : states_.erase(it);
}

void Autoscaler::DecideOne(const Target& t, TimePoint now) {
  State& s = states_[t.key];
  s.ready = t.ready;
  s.decided = true;
  Decision d = s.decider.Decide(now, t.ready, t.current);
  s.last = d;
  if (d.desired != t.current) apply_(t.key, d.desired, d);
}

std::vector<ServiceView> Autoscaler::Views() const {
  std::vector<ServiceView> out;
  for (const auto& [key, s] : states_)
    if (s.decided)
      out.push_back({key, s.last.desired, s.ready, s.last.panic, s.last.stable_demand, s.last.panic_demand,
                   s.decider.Target(), s.last.reason});
  return out;
}

}  // namespace berth::autoscaler
