#include "supervisor/backoff.h"

#include <gtest/gtest.h>

namespace berth::supervisor {
namespace {

TEST(Backoff, DefaultsDoubleFromOneSecondToFiveMinutes) {
  BackoffPolicy p;
  struct Case { int failures; int64_t nominal_ms; };
  const Case table[] = {{0, 1000}, {1, 1000}, {2, 2000}, {3, 4000}, {4, 8000}, {9, 256'000},
                        {10, 300'000}, {50, 300'000}, {1000, 300'000}};
  for (const auto& c : table) EXPECT_EQ(p.Nominal(c.failures).count(), c.nominal_ms) << c.failures;
}

TEST(Backoff, JitterStaysWithinBoundsAndCap) {
  BackoffPolicy p;
  EXPECT_EQ(p.Delay(3, 0.5).count(), 4000);
  EXPECT_EQ(p.Delay(3, 0.0).count(), 3200);
  EXPECT_EQ(p.Delay(3, 1.0).count(), 4800);
  EXPECT_LE(p.Delay(20, 1.0).count(), 300'000);  // the cap holds with jitter
  EXPECT_GE(p.Delay(20, 0.0).count(), 240'000);
}

TEST(Backoff, Configurable) {
  BackoffPolicy p({.base = Millis(100), .factor = 3, .cap = Millis(1000), .jitter = 0, .reset_after = Millis(5000)});
  EXPECT_EQ(p.Delay(1, 0.9).count(), 100);
  EXPECT_EQ(p.Delay(2, 0.9).count(), 300);
  EXPECT_EQ(p.Delay(3, 0.9).count(), 900);
  EXPECT_EQ(p.Delay(4, 0.9).count(), 1000);
  EXPECT_FALSE(p.Resets(Millis(4999)));
  EXPECT_TRUE(p.Resets(Millis(5000)));
}

}  // namespace
}  // namespace berth::supervisor
