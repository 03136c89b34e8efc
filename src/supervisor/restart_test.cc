#include "supervisor/restart.h"

#include <gtest/gtest.h>

namespace berth::supervisor {
namespace {

spec::Restart Policy(spec::RestartPolicy p, int max = 0) { return {p, max}; }

TEST(DecideAfterExit, PolicyTable) {
  using P = spec::RestartPolicy;
  BackoffPolicy backoff({.base = Millis(1000), .factor = 2, .cap = Millis(300'000), .jitter = 0,
                         .reset_after = Millis(600'000)});
  TimePoint start = FromUnixMillis(0), now = FromUnixMillis(5000);
  struct Case {
    const char* name;
    spec::Restart policy;
    ExitInfo exit;
    int restarts;
    bool restart;
    const char* reason;
  };
  const Case table[] = {
      {"no/clean", Policy(P::kNo), {.exit_code = 0}, 0, false, "exited 0"},
      {"no/crash", Policy(P::kNo), {.exit_code = 1}, 0, false, "exited 1"},
      {"no/unhealthy", Policy(P::kNo), {.exit_code = -1, .signal = 9, .unhealthy = true}, 0, false, "unhealthy"},
      {"always/clean", Policy(P::kAlways), {.exit_code = 0}, 0, true, "exited 0"},
      {"always/signal", Policy(P::kAlways), {.exit_code = -1, .signal = 9}, 3, true, "killed by signal 9"},
      {"always/oom", Policy(P::kAlways), {.exit_code = -1, .signal = 9, .oom_killed = true}, 0, true, "OOM-killed"},
      {"unless-stopped", Policy(P::kUnlessStopped), {.exit_code = 2}, 0, true, "exited 2"},
      {"on-failure/clean", Policy(P::kOnFailure), {.exit_code = 0}, 0, false, "exited 0"},
      {"on-failure/crash", Policy(P::kOnFailure), {.exit_code = 1}, 0, true, "exited 1"},
      {"on-failure:3/under", Policy(P::kOnFailure, 3), {.exit_code = 1}, 2, true, "exited 1"},
      {"on-failure:3/reached", Policy(P::kOnFailure, 3), {.exit_code = 1}, 3, false, "exited 1"},
      {"on-failure/unknown", Policy(P::kOnFailure), {.exit_code = -1}, 0, true, "exited (status unknown)"},
      {"on-failure/unhealthy", Policy(P::kOnFailure), {.exit_code = 0, .unhealthy = true}, 0, true, "unhealthy"},
  };
  for (const auto& c : table) {
    AfterExit a = DecideAfterExit(c.policy, backoff, 0, c.restarts, start, c.exit, now, 0.5);
    EXPECT_EQ(a.restart, c.restart) << c.name;
    EXPECT_EQ(a.reason, c.reason) << c.name;
    if (a.restart) {
      EXPECT_EQ(a.next_start, now + Millis(1000)) << c.name;
    }
  }
}

TEST(DecideAfterExit, CrashLoopBacksOffAndLongRunResets) {
  BackoffPolicy backoff({.base = Millis(1000), .factor = 2, .cap = Millis(8000), .jitter = 0,
                         .reset_after = Millis(60'000)});
  spec::Restart always{spec::RestartPolicy::kAlways, 0};
  TimePoint t = FromUnixMillis(0);
  int failures = 0;
  const int64_t want_delays[] = {1000, 2000, 4000, 8000, 8000};
  for (int64_t want : want_delays) {
    AfterExit a = DecideAfterExit(always, backoff, failures, 0, t, {.exit_code = 1}, t + Millis(100), 0.5);
    ASSERT_TRUE(a.restart);
    EXPECT_EQ((a.next_start - (t + Millis(100))).count(), want);
    failures = a.consecutive_failures;
    t = a.next_start;
  }
  // A run past reset_after starts the sequence over.
  AfterExit a = DecideAfterExit(always, backoff, failures, 0, t, {.exit_code = 1}, t + Millis(60'000), 0.5);
  EXPECT_EQ(a.consecutive_failures, 1);
  EXPECT_EQ((a.next_start - (t + Millis(60'000))).count(), 1000);
}

TEST(DecideAfterExit, ExitCodeRecorded) {
  BackoffPolicy backoff;
  spec::Restart no{spec::RestartPolicy::kNo, 0};
  TimePoint t = FromUnixMillis(0);
  EXPECT_EQ(DecideAfterExit(no, backoff, 0, 0, t, {.exit_code = 3}, t, 0.5).exit_code, 3);
  EXPECT_EQ(DecideAfterExit(no, backoff, 0, 0, t, {.exit_code = -1, .signal = 9}, t, 0.5).exit_code, 137);
}

}  // namespace
}  // namespace berth::supervisor
