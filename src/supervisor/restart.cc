#include "supervisor/restart.h"

namespace berth::supervisor {

std::string DescribeExit(const ExitInfo& e) {
  if (e.unhealthy) return "unhealthy";
  if (e.oom_killed) return "OOM-killed";
  if (e.signal) return "killed by signal " + std::to_string(e.signal);
  if (e.exit_code < 0) return "exited (status unknown)";
  // berth-init reports a program killed by signal N as 128+N, as shells do.
  if (e.exit_code > 128 && e.exit_code < 128 + 65)
    return "exited " + std::to_string(e.exit_code) + " (signal " + std::to_string(e.exit_code - 128) + ")";
  return "exited " + std::to_string(e.exit_code);
}

AfterExit DecideAfterExit(const spec::Restart& policy, const BackoffPolicy& backoff, int consecutive_failures,
                          int restarts, TimePoint started_at, const ExitInfo& exit, TimePoint now,
                          double rand01) {
  AfterExit out;
  out.reason = DescribeExit(exit);
  out.exit_code = exit.signal ? 128 + exit.signal : exit.exit_code;
  bool failed = exit.unhealthy || exit.oom_killed || exit.signal != 0 || exit.exit_code != 0;

  // Any quick exit, clean or not, grows the delay, so a program that exits 0 at once
  // under restart: always does not spin; a long run forgets the past.
  int quick_exits = backoff.Resets(now - started_at) ? 0 : consecutive_failures;
  out.consecutive_failures = quick_exits + 1;

  switch (policy.policy) {
    case spec::RestartPolicy::kNo:
      out.restart = false;
      break;
    case spec::RestartPolicy::kAlways:
    case spec::RestartPolicy::kUnlessStopped:
      out.restart = true;
      break;
    case spec::RestartPolicy::kOnFailure:
      out.restart = failed && (policy.max_retries == 0 || restarts < policy.max_retries);
      break;
  }
  if (out.restart) out.next_start = now + backoff.Delay(out.consecutive_failures, rand01);
  return out;
}

}  // namespace berth::supervisor
