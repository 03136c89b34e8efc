#include "autoscaler/decider.h"

#include <gtest/gtest.h>

#include <functional>

namespace berth::autoscaler {
namespace {

const TimePoint kT0 = FromUnixMillis(1'700'000'000'000);

// Drives a decider like the daemon does: one sample and one decision per second; replicas
// become ready `lag` seconds after they are wanted. Returns the desired count per second.
std::vector<int> Simulate(Decider& d, int seconds, const std::function<double(int)>& demand,
                          std::function<double(int)> queued = nullptr, int start = 1, int lag = 2) {
  std::vector<int> desired_at;
  std::vector<int> history(static_cast<size_t>(seconds) + 1, start);
  int current = start;
  for (int s = 0; s < seconds; ++s) {
    int ready = history[static_cast<size_t>(std::max(0, s - lag))];
    TimePoint now = kT0 + Millis(s * 1000);
    d.Record(now, demand(s), queued ? queued(s) : 0);
    Decision dec = d.Decide(now, ready, current);
    current = dec.desired;
    history[static_cast<size_t>(s)] = current;
    desired_at.push_back(current);
  }
  return desired_at;
}

int Changes(const std::vector<int>& v) {
  int n = 0;
  for (size_t i = 1; i < v.size(); ++i) n += v[i] != v[i - 1];
  return n;
}

DeciderConfig Config(int min, int max, int limit) {
  DeciderConfig c;
  c.min = min;
  c.max = max;
  c.limit = limit;
  return c;
}

TEST(Decider, TargetIsLimitTimesUtilization) {
  EXPECT_DOUBLE_EQ(Decider(Config(1, 4, 10)).Target(), 7.0);
  EXPECT_DOUBLE_EQ(Decider(Config(1, 4, 0)).Target(), 100.0);
}

TEST(Decider, StepSettlesOnDemandOverTarget) {
  Decider d(Config(1, 10, 10));  // target 7
  auto v = Simulate(d, 180, [](int s) { return s < 30 ? 3.0 : 20.0; });
  EXPECT_EQ(v[29], 1);
  EXPECT_EQ(v.back(), 3);  // ceil(20 / 7)
  EXPECT_LE(Changes(v), 4);
}

TEST(Decider, BurstPanicsUpFastAndDoesNotScaleDownDuringPanic) {
  Decider d(Config(1, 10, 10));
  auto v = Simulate(d, 40, [](int s) { return s < 10 ? 1.0 : s < 20 ? 60.0 : 1.0; });
  EXPECT_EQ(v[9], 1);
  // Within a few seconds of the burst: panic and many replicas, before a stable window.
  EXPECT_GE(v[13], 5);
  Decision last = d.Decide(kT0 + Millis(39'000), v.back(), v.back());
  EXPECT_TRUE(last.panic);
  for (int s = 20; s < 40; ++s) EXPECT_GE(v[static_cast<size_t>(s)], v[static_cast<size_t>(s) - 1]) << s;
  // A stable window after the last panic it comes back down, at most halving per step.
  auto after = Simulate(d, 200, [](int) { return 1.0; }, nullptr, v.back());
  EXPECT_EQ(after.back(), 1);
  for (size_t i = 1; i < after.size(); ++i) EXPECT_GE(after[i] * 2 + 1, after[i - 1]);
}

TEST(Decider, ShortWindowStillPanicsWhenThePanicWindowHoldsNoSample) {
  DeciderConfig c = Config(1, 10, 2);  // target 1.4
  c.stable_window = Millis(6'000);     // panic window 600 ms, reports every second
  Decider d(c);
  for (int s = 0; s < 5; ++s) {
    d.Record(kT0 + Millis(s * 1000), 1.0, 0);
    EXPECT_EQ(d.Decide(kT0 + Millis(s * 1000 + 900), 1, 1).desired, 1);
  }
  d.Record(kT0 + Millis(5'000), 2.0, 6.0);  // a step to 8 clients
  Decision dec = d.Decide(kT0 + Millis(5'900), 1, 1);
  EXPECT_TRUE(dec.panic) << dec.reason;
  EXPECT_EQ(dec.desired, 6) << dec.reason;  // ceil(8 / 1.4)
}

TEST(Decider, StepToFiftyReachesMaxInOneDecision) {
  Decider d(Config(1, 10, 5));  // target 3.5, default 60 s window (panic 6 s)
  auto v = Simulate(d, 40, [](int s) { return s < 30 ? 1.0 : 50.0; });
  EXPECT_EQ(v[29], 1);
  EXPECT_EQ(v[30], 10);  // ceil(50 / 3.5) = 15, clamped to max, without waiting for the window
  EXPECT_EQ(Changes(v), 1);
}

TEST(Decider, SawtoothDoesNotThrash) {
  Decider d(Config(1, 10, 10));
  auto v = Simulate(d, 300, [](int s) { return (s / 5) % 2 ? 30.0 : 10.0; });
  // The stable window averages the teeth (20 -> 3 replicas); few decisions change.
  EXPECT_EQ(v.back(), 3);
  EXPECT_LE(Changes(v), 4) << "decisions changed " << Changes(v) << " times";
}

TEST(Decider, ScaleToZeroOnlyAfterIdle) {
  DeciderConfig c = Config(0, 4, 10);
  c.idle = Millis(30'000);
  Decider d(c);
  auto v = Simulate(d, 120, [](int s) { return s < 10 ? 5.0 : 0.0; });
  EXPECT_EQ(v[9], 1);
  EXPECT_EQ(v[35], 1);  // quiet for 25 s: not yet
  EXPECT_EQ(v[45], 0);  // quiet for > 30 s
  EXPECT_EQ(v.back(), 0);
  Decision last = d.Decide(kT0 + Millis(120'000), 0, 0);
  EXPECT_EQ(last.reason, "idle: no requests for 111.00 s (scale.idle 30.00 s) -> 0");
}

TEST(Decider, MinZeroWithoutTrafficNeverStartsAReplica) {
  Decider d(Config(0, 4, 1));
  auto v = Simulate(d, 90, [](int) { return 0.0; }, nullptr, 0);
  for (int x : v) EXPECT_EQ(x, 0);
}

TEST(Decider, ActivatorStartsWhatWaitingRequestsNeed) {
  Decider d(Config(0, 20, 1));  // Lambda mode: one request per replica
  d.Record(kT0, 0, 100);
  Decision dec = d.Decide(kT0, 0, 0);
  EXPECT_EQ(dec.desired, 20);  // 100 waiting, capped at max
  Decider e(Config(0, 20, 5));
  e.Record(kT0, 0, 7);
  EXPECT_EQ(e.Decide(kT0, 0, 0).desired, 2);  // ceil(7 / 5)
  EXPECT_NE(e.Decide(kT0, 0, 0).reason.find("waiting"), std::string::npos);
}

TEST(Decider, ClampsToMinAndMaxAndRates) {
  Decider d(Config(2, 5, 10));
  auto v = Simulate(d, 120, [](int) { return 1000.0; });
  EXPECT_EQ(v.back(), 5);
  Decider e(Config(2, 5, 10));
  auto w = Simulate(e, 120, [](int) { return 0.0; }, nullptr, 5);
  EXPECT_EQ(w.back(), 2);
  Decider f(Config(1, 100, 10));
  f.Record(kT0, 0, 0);
  Decision dn = f.Decide(kT0, 40, 40);  // no demand, 40 ready: at most halve
  EXPECT_EQ(dn.desired, 20);
}

}  // namespace
}  // namespace berth::autoscaler
