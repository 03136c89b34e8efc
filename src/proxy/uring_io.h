// UringIo: the io_uring back end of EventLoop (event_loop.h).
//
// Why: on the VMs this runs on a system call costs about 1 µs of entry/exit alone
// (measured: getppid() 950 ns), and an epoll proxy makes five per request (recv and send
// on each side plus its share of epoll_wait): a quarter of its CPU. Here one
// io_uring_enter per loop iteration submits every send of the batch and collects every
// completion, whatever the number of connections.
//
// The connection code keeps its readiness-style shape; this class emulates it for
// stream sockets (AddStream):
//  - Receiving: one multishot recv per socket into a ring of provided buffers; arrived
//    data waits in the socket's stash, Recv() copies it out like recv(2) (EAGAIN when
//    empty, 0 at EOF, -1 with the socket's error), and each arrival is an EPOLLIN event.
//    A socket whose stash holds kStashMax bytes gets its recv cancelled (backpressure:
//    the kernel's receive window fills up) and re-armed when Recv drains it.
//  - Sending: Send() copies the bytes into the socket's user-space send queue and
//    returns at once (like a send(2) into a socket buffer); one send is in flight per
//    socket, MSG_WAITALL, so order is kept. Beyond kSendHigh queued bytes Send() says
//    EAGAIN and EPOLLOUT follows when the queue has drained. A failed send makes the
//    socket's later Recv/Send fail with its errno (EPOLLERR|EPOLLHUP is delivered), like
//    a reset seen after the kernel accepted the bytes.
//  - Shutdown() and Close() wait for queued bytes (a graceful close gives them
//    kCloseLingerMs, then aborts); the descriptor number is closed only after every
//    operation on it has completed, so a number is never reused while the kernel still
//    works on the old socket.
// Other descriptors (listeners, eventfds) are watched with multishot poll (AddPoll) and
// their handlers do their own I/O.
//
// Thread-safety: none. The ring is built by the first Wait(), on the thread that runs the
// loop (IORING_SETUP_SINGLE_ISSUER); registrations made before that are armed then.
#pragma once

#include <liburing.h>
#include <sys/uio.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "base/status.h"
#include "proxy/event_loop.h"

namespace berth::proxy {

class UringIo {
 public:
  static constexpr size_t kBufferSize = 8192;  // one provided receive buffer
  static constexpr unsigned kBuffers = 1024;   // provided buffers per ring (8 MiB)
  static constexpr size_t kStashMax = 64 * 1024;
  static constexpr size_t kSendHigh = 256 * 1024;
  static constexpr int64_t kCloseLingerMs = 10'000;

  // An error when io_uring (or a feature used here: multishot recv, provided buffer
  // rings) is not available; the caller falls back to epoll.
  static StatusOr<std::unique_ptr<UringIo>> Create(EventLoop* loop);
  ~UringIo();
  UringIo(const UringIo&) = delete;
  UringIo& operator=(const UringIo&) = delete;

  Status AddPoll(int fd, IoHandler* h, uint32_t epoll_events);
  void RemovePoll(int fd);

  Status AddStream(int fd, IoHandler* h, bool connecting);
  ssize_t Recv(int fd, char* buf, size_t len);
  ssize_t Send(int fd, const iovec* iov, int n);
  void Shutdown(int fd);
  void Close(int fd, bool abort);

  // Submits what is queued and waits up to `timeout_ms` (-1: no limit) for at least one
  // completion; collects the completions. Returns how many.
  // Busy-polls for up to `poll_ns` first (EventLoop decides when: set_busy_poll_us).
  int Wait(int timeout_ms, int64_t poll_ns);
  // Hands the collected completions to their handlers.
  void Dispatch();

 private:
  struct Slot;
  enum Op : uint8_t { kOpRecv = 1, kOpSend, kOpPoll, kOpConnect, kOpCancel };

  explicit UringIo(EventLoop* loop);
  Status Start();
  Slot* SlotFor(int fd);
  Slot* Lookup(int fd) const;
  io_uring_sqe* Sqe();
  static uint64_t Data(Op op, uint16_t gen, int fd);
  void ArmRecv(Slot* s);
  void ArmPoll(Slot* s);
  void ArmConnect(Slot* s);
  void SubmitSend(Slot* s);
  void CancelAll(Slot* s);
  void Recycle(uint16_t bid);
  void DropStash(Slot* s);
  void MaybeFinish(Slot* s);
  void Abort(Slot* s);
  void Deliver(Slot* s, uint32_t events);
  void OnRecv(Slot* s, const io_uring_cqe& c);
  void OnSend(Slot* s, int res);
  void OnLingerTimeout(Slot* s);
  void RearmStarved();
  bool WorkPending();

  EventLoop* loop_;
  io_uring ring_{};
  io_uring_buf_ring* br_ = nullptr;
  char* bufs_ = nullptr;
  unsigned free_buffers_ = kBuffers;
  bool started_ = false;
  TimerList* linger_timers_;
  std::vector<std::unique_ptr<Slot>> slots_;  // by descriptor number
  std::vector<io_uring_cqe> cqes_;            // collected by Wait, dispatched by Dispatch
  std::vector<int> starved_;                  // sockets whose recv ended for want of buffers
};

}  // namespace berth::proxy
