// ChildReaper: the one place in a process that calls waitpid().
//
// berthd is the subreaper of its containers (no per-container shim), so exits of
// processes it never spawned directly (a container's init, reparented to berthd when
// `runc create` exits) arrive here too. A dedicated thread waits for SIGCHLD and reaps
// every child; each exit goes to whoever waits for that PID, or is kept as "unclaimed"
// for a later TakeExit() and announced to the unclaimed handler.
//
// SIGCHLD must be blocked in every thread so that only the reaper thread receives it:
// call ChildReaper::Get() in main() before starting any other thread. Spawned children
// get a clean signal mask (subprocess.cc).
//
// Thread-safety: all methods are thread-safe.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <deque>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

namespace berth {

class ChildReaper {
 public:
  // The process-wide reaper; starts its thread on first use.
  static ChildReaper& Get();

  // Blocks until `pid` exits; returns its wait status (as from waitpid).
  int Wait(pid_t pid);
  // As Wait, giving up after `timeout` (then returns nullopt and the child is still ours).
  std::optional<int> WaitFor(pid_t pid, std::chrono::milliseconds timeout);

  // Calls `on_exit(status)` on the reaper thread when `pid` exits (at once, on the calling
  // thread, if it already has). Keep it short: post work elsewhere.
  void OnExit(pid_t pid, std::function<void(int status)> on_exit);

  // Called on the reaper thread for exits nobody waited for.
  void SetUnclaimedHandler(std::function<void(pid_t pid, int status)> handler);

  // Removes and returns a recorded unclaimed exit of `pid`.
  std::optional<int> TakeExit(pid_t pid);

  ChildReaper(const ChildReaper&) = delete;
  ChildReaper& operator=(const ChildReaper&) = delete;

 private:
  ChildReaper();
  ~ChildReaper() = default;
  void Loop();
  void ReapAll();

  std::mutex mu_;
  std::condition_variable cv_;
  std::map<pid_t, int> waiting_;   // pid -> number of blocked waiters
  std::map<pid_t, int> exited_;    // unclaimed or not yet collected exits
  std::deque<pid_t> unclaimed_order_;  // bounds exited_: oldest unclaimed dropped first
  std::map<pid_t, std::function<void(int)>> callbacks_;
  std::function<void(pid_t, int)> unclaimed_;
  std::thread thread_;
};

// Blocks SIGCHLD in the calling thread (and threads it later creates). ChildReaper::Get()
// does this; call it directly only when a thread must be created earlier.
void BlockSigchldInThisThread();

}  // namespace berth
