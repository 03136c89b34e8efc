// OutQueue: the bytes waiting to be written to one socket, written with writev().
//
// A queue is a list of segments. A segment either lives in the queue's own scratch
// storage (rewritten heads, chunk framing, canned responses: Append) or points into
// memory the caller keeps in place until the queue has drained (bodies, forwarded from
// the source connection's read buffer without a copy: AppendRef). The connection code
// keeps that promise by not reading into a source buffer while the destination's queue
// still holds references into it.
//
// Flush() writes as much as the socket takes. The written position is kept, so a request
// head can be sent again on a new upstream connection (Rewind) when a reused keep-alive
// connection turns out to be dead.
//
// Thread-safety: none; owned by one connection on one worker thread.
#pragma once

#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "proxy/buffer.h"

namespace berth::proxy {

class EventLoop;

class OutQueue {
 public:
  enum class Result { kDone, kAgain, kError };

  explicit OutQueue(BufferPool* pool) : pool_(pool) {}
  ~OutQueue();
  OutQueue(const OutQueue&) = delete;
  OutQueue& operator=(const OutQueue&) = delete;

  // Copies `s` into scratch storage.
  void Append(std::string_view s);
  // Appends `n` uninitialised scratch bytes and returns where to write them. The pointer
  // is valid until the next Append/AppendSpace.
  char* AppendSpace(size_t n);
  // Gives back the last `n` bytes of the latest AppendSpace (it reserved too many).
  void Unappend(size_t n);
  // Appends a reference; [p, p+n) must stay valid and unchanged until drained.
  void AppendRef(const char* p, size_t n);

  // Writes pending segments (through `loop`'s back end when given). kDone: all
  // written; kAgain: the socket is full (wait for EPOLLOUT); kError: *err holds errno
  // (EPIPE, ECONNRESET, ...).
  Result Flush(int fd, int* err, EventLoop* loop = nullptr);

  bool drained() const { return next_ == segs_.size(); }
  bool empty() const { return segs_.empty(); }
  size_t pending_bytes() const;
  size_t total_bytes() const;
  // Everything is written again from the start.
  void Rewind() {
    next_ = 0;
    next_off_ = 0;
  }
  // Drops all segments; releases scratch storage back to the pool.
  void Clear();

 private:
  struct Segment {
    const char* ref;  // nullptr: bytes at scratch_ + off
    uint32_t off;
    uint32_t len;
  };
  void EnsureScratch(size_t extra);
  int BuildIov(iovec* iov, int max) const;
  void Advance(size_t written);

  BufferPool* pool_;
  std::vector<Segment> segs_;
  size_t next_ = 0;      // first segment not completely written
  size_t next_off_ = 0;  // bytes of segs_[next_] already written
  char* scratch_ = nullptr;
  uint32_t scratch_len_ = 0;
  uint32_t scratch_cap_ = 0;
};

}  // namespace berth::proxy
