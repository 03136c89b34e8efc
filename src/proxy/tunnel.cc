// ClientConnection, upgraded: after a 101 response (WebSocket, ...) the proxy copies
// bytes both ways until both sides have finished. A side that ends its output gets a
// FIN forwarded (shutdown(SHUT_WR)), so half-closes work; an error on either side
// resets both. The concurrency slot stays taken for the tunnel's life: an open
// WebSocket is load on the replica (Knative counts it the same way).
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "proxy/client_connection.h"
#include "proxy/upstream_pool.h"
#include "proxy/worker.h"

namespace berth::proxy {

namespace {

enum class Pipe { kBlocked, kDone, kError };

struct Direction {
  int src;
  int dst;
  Buffer* buf;
  bool* readable;
  bool rdhup;
  bool* eof;
  bool* shut;
  OutQueue* out;
};

// Moves bytes from d.src to d.dst until one of them would block.
Pipe Move(const Direction& d, BufferPool& pool, EventLoop& loop, bool* progress) {
  for (;;) {
    if (!d.out->drained()) {
      int err = 0;
      OutQueue::Result r = d.out->Flush(d.dst, &err, &loop);
      if (r == OutQueue::Result::kAgain) return Pipe::kBlocked;
      if (r == OutQueue::Result::kError) return Pipe::kError;
      *progress = true;
    }
    d.out->Clear();
    if (!d.buf->empty()) {
      d.out->AppendRef(d.buf->unread(), d.buf->unread_size());
      d.buf->Consume(d.buf->unread_size());
      continue;
    }
    if (*d.eof) {
      if (!*d.shut) {
        loop.Shutdown(d.dst);
        *d.shut = true;
      }
      d.buf->Release(pool);
      return Pipe::kDone;
    }
    if (!*d.readable) {
      d.buf->Release(pool);  // an idle WebSocket holds no buffer
      return Pipe::kBlocked;
    }
    d.buf->Ensure(pool);
    d.buf->Reset();
    size_t space = d.buf->free_size();
    ssize_t n = loop.Recv(d.src, d.buf->free_space(), space);
    if (n > 0) {
      d.buf->Commit(static_cast<size_t>(n));
      if (static_cast<size_t>(n) < space && !d.rdhup) *d.readable = false;
      *progress = true;
    } else if (n == 0) {
      *d.eof = true;
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      *d.readable = false;
    } else if (errno != EINTR) {
      return Pipe::kError;
    }
  }
}

}  // namespace

void ClientConnection::StartTunnel() {
  tunnel_pending_ = false;
  state_ = State::kTunnel;
  TimerList::Cancel(&up_->timer);
  to_up_.Clear();
  to_client_.Clear();
  PumpTunnel();
}

void ClientConnection::PumpTunnel() {
  if (up_ == nullptr) return;
  bool progress = false;
  Direction up{fd_, up_->fd(), &in_, &readable_, rdhup_, &c2u_eof_, &c2u_shut_, &to_up_};
  Direction down{up_->fd(), fd_, &up_->in, &up_->readable, up_->rdhup, &u2c_eof_, &u2c_shut_, &to_client_};
  Pipe a = Move(up, w_->buffers(), w_->loop(), &progress);
  Pipe b = a == Pipe::kError ? Pipe::kError : Move(down, w_->buffers(), w_->loop(), &progress);
  if (a == Pipe::kError || b == Pipe::kError) {
    AbortExchange();
    return;
  }
  if (a == Pipe::kDone && b == Pipe::kDone) {
    RecordResponse(101);
    DetachUpstream(UpstreamEnd::kClose);
    ReleaseSlot();
    Close(false);
    return;
  }
  if (progress || !timer_.armed()) w_->tunnel_timers->Arm(&timer_, w_->loop().now_ms());
}

}  // namespace berth::proxy
