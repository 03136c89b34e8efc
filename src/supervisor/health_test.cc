#include "supervisor/health.h"

#include <gtest/gtest.h>

namespace berth::supervisor {
namespace {

spec::HealthCheck Check(int interval_s, int retries, int start_period_s = 0, int start_interval_s = 1) {
  spec::HealthCheck c;
  c.kind = spec::HealthKind::kCmd;
  c.command = {"true"};
  c.interval = Millis(interval_s * 1000);
  c.timeout = Millis(1000);
  c.retries = retries;
  c.start_period = Millis(start_period_s * 1000);
  c.start_interval = Millis(start_interval_s * 1000);
  return c;
}

TEST(Health, NoCheckIsNone) {
  HealthTracker t(spec::HealthCheck{}, FromUnixMillis(0));
  EXPECT_EQ(t.status(), Health::kNone);
  EXPECT_EQ(t.NextProbeAt(), TimePoint::max());
}

TEST(Health, RetriesConsecutiveFailuresMakeUnhealthy) {
  TimePoint t0 = FromUnixMillis(1'000'000);
  HealthTracker t(Check(5, 3), t0);
  EXPECT_EQ(t.status(), Health::kStarting);
  EXPECT_EQ(t.NextProbeAt(), t0 + Millis(5000));
  // step: (at seconds, success) -> expected status
  struct Step { int at_s; bool ok; Health want; };
  const Step steps[] = {
      {5, true, Health::kHealthy},   {10, false, Health::kHealthy}, {15, false, Health::kHealthy},
      {20, true, Health::kHealthy},  {25, false, Health::kHealthy}, {30, false, Health::kHealthy},
      {35, false, Health::kUnhealthy}, {40, true, Health::kHealthy},
  };
  for (const auto& s : steps) {
    EXPECT_EQ(t.Record(s.ok, t0 + Millis(s.at_s * 1000)), s.want) << "at " << s.at_s;
    EXPECT_EQ(t.NextProbeAt(), t0 + Millis((s.at_s + 5) * 1000));
  }
}

TEST(Health, StartPeriodFailuresDoNotCountAndProbeFaster) {
  TimePoint t0 = FromUnixMillis(0);
  HealthTracker t(Check(30, 1, 10, 1), t0);
  EXPECT_EQ(t.NextProbeAt(), t0 + Millis(1000));
  for (int s = 1; s < 10; ++s) {
    EXPECT_EQ(t.Record(false, t0 + Millis(s * 1000)), Health::kStarting) << s;
    EXPECT_EQ(t.NextProbeAt(), t0 + Millis((s + 1) * 1000));
  }
  // After the start period one failure (retries 1) is enough.
  EXPECT_EQ(t.Record(false, t0 + Millis(10'000)), Health::kUnhealthy);
  EXPECT_EQ(t.NextProbeAt(), t0 + Millis(40'000));
}

TEST(Health, SuccessEndsStartPeriodEarly) {
  TimePoint t0 = FromUnixMillis(0);
  HealthTracker t(Check(30, 1, 60, 2), t0);
  EXPECT_EQ(t.Record(true, t0 + Millis(2000)), Health::kHealthy);
  EXPECT_EQ(t.NextProbeAt(), t0 + Millis(32'000));  // normal interval from now on
  EXPECT_EQ(t.Record(false, t0 + Millis(32'000)), Health::kUnhealthy);  // counts: start period over
}

TEST(Health, FastPhaseProbesOftenUntilFirstSuccess) {
  TimePoint t0 = FromUnixMillis(0);
  spec::HealthCheck c = Check(30, 1);
  c.kind = spec::HealthKind::kTcp;
  HealthTracker t(c, t0, Millis(20), Millis(1000));
  EXPECT_EQ(t.NextProbeAt(), t0 + Millis(20));
  for (int ms = 20; ms < 200; ms += 20) {
    EXPECT_EQ(t.Record(false, t0 + Millis(ms)), Health::kStarting) << ms;  // not counted
    EXPECT_EQ(t.NextProbeAt(), t0 + Millis(ms + 20));
  }
  EXPECT_EQ(t.Record(true, t0 + Millis(200)), Health::kHealthy);
  EXPECT_EQ(t.NextProbeAt(), t0 + Millis(30'200));  // normal interval afterwards
}

TEST(Health, FastPhaseEndsAndFailuresCountAgain) {
  TimePoint t0 = FromUnixMillis(0);
  spec::HealthCheck c = Check(30, 1);
  HealthTracker t(c, t0, Millis(20), Millis(100));
  EXPECT_EQ(t.Record(false, t0 + Millis(120)), Health::kUnhealthy);
}

TEST(Health, ReadinessOnlyStopsProbingAndReadsNone) {
  TimePoint t0 = FromUnixMillis(0);
  spec::HealthCheck c;
  c.kind = spec::HealthKind::kTcp;
  c.port = 8000;
  HealthTracker t(c, t0, Millis(10), Millis(60'000), /*readiness_only=*/true);
  EXPECT_EQ(t.status(), Health::kStarting);
  EXPECT_EQ(t.Record(false, t0 + Millis(10)), Health::kStarting);
  EXPECT_EQ(t.Record(true, t0 + Millis(20)), Health::kNone);
  EXPECT_EQ(t.NextProbeAt(), TimePoint::max());
}

}  // namespace
}  // namespace berth::supervisor
