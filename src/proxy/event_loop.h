// EventLoop: one edge-triggered epoll instance and its timers, driven by one thread.
//
// Every socket is registered once (EPOLLIN|EPOLLOUT|EPOLLRDHUP|EPOLLET) for its whole
// life: no epoll_ctl per request. Handlers keep "readable"/"writable" flags and act on
// them; a handler that closes another object mid-batch relies on deferred recycling by
// its owner (the worker frees connection objects only between batches).
//
// Timers: a TimerList holds timers of one fixed duration, so arming appends at the tail
// and the list stays sorted by deadline: arm, re-arm and cancel are O(1) (the libev
// "fixed timeout list" technique). The loop keeps one list per distinct duration
// (header timeout, idle timeout, upstream timeout, each service's queue timeout, ...).
// Time is CLOCK_MONOTONIC, read once per loop iteration.
//
// Two back ends (IoBackend): epoll, and io_uring (uring_io.h), which batches every
// socket operation of an iteration into one system call. Connections of the data path
// register with AddStream and do their I/O through Recv/Send/Shutdown/CloseStream, which
// behave like recv(2)/sendmsg(2)/shutdown(2)/close(2) on both back ends; other
// descriptors (listeners, eventfds) register with Add and do their own I/O.
//
// Thread-safety: none; everything here runs on the loop's thread.
#pragma once

#include <sys/epoll.h>
#include <sys/types.h>
#include <sys/uio.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "base/status.h"

namespace berth::proxy {

class IoHandler {
 public:
  virtual void OnIo(uint32_t events) = 0;

 protected:
  ~IoHandler() = default;
};

class TimerClient {
 public:
  virtual void OnTimer() = 0;

 protected:
  ~TimerClient() = default;
};

class TimerList;

// Embedded in the object that owns the timer; never copied while armed.
struct TimerNode {
  TimerNode* prev = nullptr;
  TimerNode* next = nullptr;
  TimerList* list = nullptr;
  int64_t deadline_ms = 0;
  TimerClient* client = nullptr;
  bool armed() const { return list != nullptr; }
};

class TimerList {
 public:
  explicit TimerList(int64_t duration_ms) : duration_ms_(duration_ms) {}
  TimerList(const TimerList&) = delete;
  TimerList& operator=(const TimerList&) = delete;

  int64_t duration_ms() const { return duration_ms_; }
  // (Re)arms `n` to fire at now + duration; moves it here from any other list.
  void Arm(TimerNode* n, int64_t now_ms);
  static void Cancel(TimerNode* n);
  // Fires (and disarms) every timer due at `now_ms`, oldest first. A timer callback may
  // arm or cancel any timer, including others in this list.
  void Expire(int64_t now_ms);
  // Deadline of the earliest timer, or -1.
  int64_t next_deadline() const { return head_ ? head_->deadline_ms : -1; }
  bool empty() const { return head_ == nullptr; }

 private:
  void Unlink(TimerNode* n);
  int64_t duration_ms_;
  TimerNode* head_ = nullptr;
  TimerNode* tail_ = nullptr;
};

class UringIo;

enum class IoBackend { kEpoll, kUring };

class EventLoop {
 public:
  static constexpr uint32_t kDefaultEvents = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;

  // kUring fails where io_uring is unavailable (old kernel, io_uring_disabled, seccomp):
  // the caller falls back to kEpoll.
  static StatusOr<std::unique_ptr<EventLoop>> Create(IoBackend backend = IoBackend::kEpoll);
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  IoBackend backend() const { return uring_ ? IoBackend::kUring : IoBackend::kEpoll; }

  // Readiness events for `fd`; the handler does its own I/O. Remove() before close().
  Status Add(int fd, IoHandler* h, uint32_t events = kDefaultEvents);
  void Remove(int fd);

  // A connected (or, with `connecting`, connecting: EPOLLOUT when done) TCP socket whose
  // I/O goes through the calls below. Events: EPOLLIN when data or EOF arrived,
  // EPOLLOUT when a Send that said EAGAIN may go on, EPOLLERR|EPOLLHUP on errors.
  Status AddStream(int fd, IoHandler* h, bool connecting);
  ssize_t Recv(int fd, char* buf, size_t len);
  ssize_t Send(int fd, const iovec* iov, int n);
  // Half-close (FIN) after everything sent so far.
  void Shutdown(int fd);
  // Closes a stream socket (added or not); `abort` sends a RST instead of a FIN and
  // drops unsent bytes.
  void CloseStream(int fd, bool abort);
  // send(2)/sendmsg(2) (write(2)/writev(2) on a pipe), whatever the back end.
  static ssize_t SendDirect(int fd, const iovec* iov, int n);

  // The list for timers of this duration (created on first use, lives as long as the loop).
  TimerList* Timers(int64_t duration_ms);

  // Waits for events (at most `max_wait_ms`, or until the next timer; 0 if work is
  // pending), dispatches them, then fires due timers.
  void RunOnce(int max_wait_ms);
  // Makes the next RunOnce not block (work was queued for after the current batch).
  void set_pending_work() { pending_work_ = true; }
  // Adaptive busy polling: when the recent gaps between batches are shorter than `us`,
  // poll (epoll_wait with timeout 0, yielding the CPU in between) for up to `us` before
  // blocking. A blocked thread costs a sleep and a wake-up per batch (tens of
  // microseconds in a VM); at sparse traffic the gaps are long and nothing is spun.
  void set_busy_poll_us(int64_t us) { busy_poll_ns_ = us * 1000; }

  int64_t now_ms() const { return now_ns_ / 1'000'000; }
  int64_t now_ns() const { return now_ns_; }
  void UpdateTime();
  static int64_t MonotonicNs();

 private:
  explicit EventLoop(int epfd);
  // Polls for up to `poll_ns` (0: not at all), then waits up to `timeout`.
  int WaitEpoll(int timeout, int64_t poll_ns);
  int epfd_;
  std::unique_ptr<UringIo> uring_;
  int64_t now_ns_ = 0;
  bool pending_work_ = false;
  int64_t busy_poll_ns_ = 0;
  int64_t gap_ewma_ns_ = 0;  // recent time from "waiting" to "events", smoothed
  std::vector<std::unique_ptr<TimerList>> lists_;
  std::vector<epoll_event> events_;
};

}  // namespace berth::proxy
