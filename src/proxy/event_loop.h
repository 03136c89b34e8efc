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
// Thread-safety: none; everything here runs on the loop's thread.
#pragma once

#include <sys/epoll.h>

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

class EventLoop {
 public:
  static constexpr uint32_t kDefaultEvents = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;

  static StatusOr<std::unique_ptr<EventLoop>> Create();
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  Status Add(int fd, IoHandler* h, uint32_t events = kDefaultEvents);
  // Not needed before close(): closing the last descriptor removes it from epoll.
  void Remove(int fd);

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
  int Wait(int timeout);
  int epfd_;
  int64_t now_ns_ = 0;
  bool pending_work_ = false;
  int64_t busy_poll_ns_ = 0;
  int64_t gap_ewma_ns_ = 0;  // recent time from "waiting" to "events", smoothed
  std::vector<std::unique_ptr<TimerList>> lists_;
  std::vector<epoll_event> events_;
};

}  // namespace berth::proxy
