#include "base/reaper.h"

#include <signal.h>
#include <sys/wait.h>

#include <cerrno>
#include <ctime>

namespace berth {

namespace {
constexpr size_t kMaxUnclaimed = 4096;
}  // namespace

void BlockSigchldInThisThread() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGCHLD);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

ChildReaper& ChildReaper::Get() {
  // Leaked on purpose: the reaper thread lives as long as the process.
  static ChildReaper* reaper = new ChildReaper();
  return *reaper;
}

ChildReaper::ChildReaper() {
  BlockSigchldInThisThread();
  thread_ = std::thread([this] { Loop(); });
  thread_.detach();
}

void ChildReaper::Loop() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGCHLD);
  for (;;) {
    // The timeout is a safety net for a SIGCHLD consumed by a thread that did not block
    // it; normally the signal wakes us at once.
    timespec ts{0, 250'000'000};
    sigtimedwait(&set, nullptr, &ts);
    ReapAll();
  }
}

void ChildReaper::ReapAll() {
  for (;;) {
    int status = 0;
    pid_t pid = waitpid(-1, &status, WNOHANG | __WALL);
    if (pid <= 0) return;  // 0: children remain, none exited; -1 ECHILD: no children
    std::function<void(int)> cb;
    std::function<void(pid_t, int)> unclaimed;
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = callbacks_.find(pid);
      if (it != callbacks_.end()) {
        cb = std::move(it->second);
        callbacks_.erase(it);
      } else {
        exited_[pid] = status;
        if (waiting_.count(pid) == 0) {
          unclaimed = unclaimed_;
          unclaimed_order_.push_back(pid);
          // Orphans reparented to a subreaper that nobody asks about must not pile up.
          while (unclaimed_order_.size() > kMaxUnclaimed) {
            pid_t old = unclaimed_order_.front();
            unclaimed_order_.pop_front();
            if (waiting_.count(old) == 0 && old != pid) exited_.erase(old);
          }
        }
      }
    }
    cv_.notify_all();
    if (cb) cb(status);
    else if (unclaimed) unclaimed(pid, status);
  }
}

int ChildReaper::Wait(pid_t pid) {
  std::unique_lock<std::mutex> lock(mu_);
  ++waiting_[pid];
  cv_.wait(lock, [&] { return exited_.count(pid) != 0; });
  int status = exited_[pid];
  exited_.erase(pid);
  if (--waiting_[pid] == 0) waiting_.erase(pid);
  return status;
}

std::optional<int> ChildReaper::WaitFor(pid_t pid, std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  ++waiting_[pid];
  bool done = cv_.wait_for(lock, timeout, [&] { return exited_.count(pid) != 0; });
  std::optional<int> result;
  if (done) {
    result = exited_[pid];
    exited_.erase(pid);
  }
  if (--waiting_[pid] == 0) waiting_.erase(pid);
  return result;
}

void ChildReaper::OnExit(pid_t pid, std::function<void(int)> on_exit) {
  std::unique_lock<std::mutex> lock(mu_);
  auto it = exited_.find(pid);
  if (it != exited_.end()) {
    int status = it->second;
    exited_.erase(it);
    lock.unlock();
    on_exit(status);
    return;
  }
  callbacks_[pid] = std::move(on_exit);
}

void ChildReaper::SetUnclaimedHandler(std::function<void(pid_t, int)> handler) {
  std::lock_guard<std::mutex> lock(mu_);
  unclaimed_ = std::move(handler);
}

std::optional<int> ChildReaper::TakeExit(pid_t pid) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = exited_.find(pid);
  if (it == exited_.end()) return std::nullopt;
  int status = it->second;
  exited_.erase(it);
  return status;
}

}  // namespace berth
