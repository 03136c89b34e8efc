// What happens to a replica after its process ends: restart it after a backoff delay,
// or leave it exited. Compose's restart policies, plus Berth's rule that an unhealthy
// replica (killed by the supervisor) is restarted unless the policy is "no". Pure.
#pragma once

#include <string>

#include "base/clock.h"
#include "spec/model.h"
#include "supervisor/backoff.h"

namespace berth::supervisor {

struct ExitInfo {
  int exit_code = -1;     // -1: unknown (the process was adopted, so its status was not ours to reap)
  int signal = 0;         // terminating signal, 0 if it exited
  bool oom_killed = false;
  bool unhealthy = false; // the supervisor killed it after failed health checks
};

// "exited 0", "exited 3", "killed by signal 9", "OOM-killed", "unhealthy", "exited (status unknown)".
std::string DescribeExit(const ExitInfo& e);

struct AfterExit {
  bool restart = false;
  TimePoint next_start;          // when restart
  int consecutive_failures = 0;  // drives the next delay
  std::string reason;            // DescribeExit
  int exit_code = -1;            // exit code, 128+signal, or -1
};

// `consecutive_failures` and `restarts` are the replica's counters before this exit;
// `started_at` is when the process started.
AfterExit DecideAfterExit(const spec::Restart& policy, const BackoffPolicy& backoff, int consecutive_failures,
                          int restarts, TimePoint started_at, const ExitInfo& exit, TimePoint now, double rand01);

}  // namespace berth::supervisor
