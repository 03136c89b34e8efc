#include "proxy/uring_io.h"

#include <poll.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "proxy/net_util.h"

namespace berth::proxy {

namespace {

constexpr uint16_t kGroup = 1;  // the provided-buffer group id
constexpr unsigned kSqEntries = 2048;
constexpr unsigned kCqEntries = 16384;
constexpr unsigned kBatch = 256;

// Multishot recv needs Linux 6.0; older kernels get epoll.
bool KernelAtLeast(int major, int minor) {
  utsname u{};
  if (uname(&u) != 0) return false;
  int ma = 0, mi = 0;
  if (std::sscanf(u.release, "%d.%d", &ma, &mi) != 2) return false;
  return ma > major || (ma == major && mi >= minor);
}

}  // namespace

struct UringIo::Slot final : TimerClient {
  enum class Kind : uint8_t { kFree, kPoll, kStream };
  struct Chunk {
    uint16_t bid;
    uint32_t off;
    uint32_t len;
  };

  UringIo* io = nullptr;
  int fd = -1;
  IoHandler* h = nullptr;
  Kind kind = Kind::kFree;
  uint16_t gen = 0;
  uint32_t poll_mask = 0;
  int ops = 0;  // operations in flight on this socket (a multishot counts once)
  int err = 0;  // sticky: every later Recv/Send fails with it
  bool recv_armed = false;
  bool recv_cancelling = false;
  bool starved = false;
  bool connecting = false;
  bool eof = false;
  bool closing = false;
  bool abort = false;
  bool cancel_sent = false;
  bool shut_pending = false;
  bool shut = false;
  bool want_out = false;
  bool send_inflight = false;
  std::vector<Chunk> stash;
  size_t stash_head = 0;
  size_t stash_bytes = 0;
  std::vector<char> inflight;  // the bytes of the send in flight
  size_t inflight_off = 0;
  std::vector<char> queued;  // bytes accepted by Send while a send is in flight
  TimerNode timer;

  void Reset() {
    h = nullptr;
    ops = err = 0;
    poll_mask = 0;
    recv_armed = recv_cancelling = starved = connecting = eof = closing = abort = cancel_sent = false;
    shut_pending = shut = want_out = send_inflight = false;
    stash.clear();
    stash_head = stash_bytes = 0;
    inflight_off = 0;
    inflight.clear();
    queued.clear();
    // An idle connection keeps no large buffers.
    if (inflight.capacity() > 16384) std::vector<char>().swap(inflight);
    if (queued.capacity() > 16384) std::vector<char>().swap(queued);
  }
  size_t pending() const { return queued.size() + (inflight.size() - inflight_off); }
  void OnTimer() override { io->OnLingerTimeout(this); }
};

namespace {

// DEFER_TASKRUN: completions are processed only when this thread asks for them
// (io_uring_enter with GETEVENTS), in batches; a socket's multishot recv cannot fill
// buffers behind the loop's back between two batches. TASKRUN_FLAG marks pending
// completions in the SQ ring, which the busy poll watches.
constexpr unsigned kSetupFlags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN |
                                 IORING_SETUP_TASKRUN_FLAG | IORING_SETUP_CQSIZE | IORING_SETUP_SUBMIT_ALL;

Status InitRing(io_uring* ring) {
  io_uring_params p{};
  p.flags = kSetupFlags;
  p.cq_entries = kCqEntries;
  int rc = io_uring_queue_init_params(kSqEntries, ring, &p);
  if (rc < 0) return Unavailable(std::string("io_uring_setup: ") + std::strerror(-rc));
  if (!(p.features & IORING_FEAT_EXT_ARG) || !(p.features & IORING_FEAT_NODROP)) {
    io_uring_queue_exit(ring);
    return Unavailable("io_uring: kernel lacks EXT_ARG/NODROP");
  }
  return OkStatus();
}

}  // namespace

// The ring itself is built by the first Wait(), on the thread that runs the loop. A ring
// keeps a record of every thread that used it, and tearing it down queues task work to
// each of them with a notification that interrupts their blocking system calls (EINTR
// where a socket has a timeout: found by proxy_test, whose main thread read a reply
// while a previous proxy's ring went away). So Create() only checks, on a short-lived
// thread, that a ring can be built here; the caller's thread never touches one.
StatusOr<std::unique_ptr<UringIo>> UringIo::Create(EventLoop* loop) {
  if (!KernelAtLeast(6, 0)) return Unavailable("io_uring: multishot recv needs Linux 6.0");
  Status probed;
  std::thread([&probed] {
    io_uring probe;
    probed = InitRing(&probe);
    if (probed.ok()) io_uring_queue_exit(&probe);
  }).join();
  BERTH_RETURN_IF_ERROR(probed);
  return std::unique_ptr<UringIo>(new UringIo(loop));
}

Status UringIo::Start() {
  BERTH_RETURN_IF_ERROR(InitRing(&ring_));
  size_t ring_bytes = kBuffers * sizeof(io_uring_buf);
  void* mem = mmap(nullptr, ring_bytes, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
  if (mem == MAP_FAILED) return ErrnoStatus("mmap buffer ring");
  br_ = static_cast<io_uring_buf_ring*>(mem);
  io_uring_buf_ring_init(br_);
  io_uring_buf_reg reg{};
  reg.ring_addr = reinterpret_cast<uint64_t>(mem);
  reg.ring_entries = kBuffers;
  reg.bgid = kGroup;
  int rc = io_uring_register_buf_ring(&ring_, &reg, 0);
  if (rc < 0) return Unavailable(std::string("io_uring_register_buf_ring: ") + std::strerror(-rc));
  void* bufs =
      mmap(nullptr, kBuffers * kBufferSize, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
  if (bufs == MAP_FAILED) return ErrnoStatus("mmap receive buffers");
  bufs_ = static_cast<char*>(bufs);
  int mask = io_uring_buf_ring_mask(kBuffers);
  for (unsigned i = 0; i < kBuffers; ++i) {
    io_uring_buf_ring_add(br_, bufs_ + i * kBufferSize, kBufferSize, static_cast<unsigned short>(i), mask,
                          static_cast<int>(i));
  }
  io_uring_buf_ring_advance(br_, kBuffers);
  started_ = true;
  // What was registered before the loop ran.
  for (auto& s : slots_) {
    if (!s) continue;
    if (s->kind == Slot::Kind::kPoll) ArmPoll(s.get());
    if (s->kind == Slot::Kind::kStream) {
      if (s->connecting) {
        ArmConnect(s.get());
      } else {
        ArmRecv(s.get());
        if (!s->queued.empty()) SubmitSend(s.get());
      }
    }
  }
  return OkStatus();
}

UringIo::UringIo(EventLoop* loop) : loop_(loop), linger_timers_(loop->Timers(kCloseLingerMs)) {
  cqes_.reserve(kBatch);
}

UringIo::~UringIo() {
  if (started_) io_uring_queue_exit(&ring_);  // cancels what is in flight
  for (auto& s : slots_) {
    if (s && s->kind == Slot::Kind::kStream) {
      TimerList::Cancel(&s->timer);
      ::close(s->fd);
    }
  }
  if (br_ != nullptr) munmap(br_, kBuffers * sizeof(io_uring_buf));
  if (bufs_ != nullptr) munmap(bufs_, kBuffers * kBufferSize);
}

UringIo::Slot* UringIo::SlotFor(int fd) {
  if (static_cast<size_t>(fd) >= slots_.size()) slots_.resize(static_cast<size_t>(fd) + 64);
  auto& s = slots_[static_cast<size_t>(fd)];
  if (!s) {
    s = std::make_unique<Slot>();
    s->io = this;
    s->fd = fd;
    s->timer.client = s.get();
  }
  return s.get();
}

UringIo::Slot* UringIo::Lookup(int fd) const {
  if (fd < 0 || static_cast<size_t>(fd) >= slots_.size()) return nullptr;
  return slots_[static_cast<size_t>(fd)].get();
}

uint64_t UringIo::Data(Op op, uint16_t gen, int fd) {
  return (uint64_t{op} << 56) | (uint64_t{gen} << 32) | static_cast<uint32_t>(fd);
}

io_uring_sqe* UringIo::Sqe() {
  io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
  if (sqe == nullptr) {
    io_uring_submit(&ring_);
    sqe = io_uring_get_sqe(&ring_);
  }
  if (sqe == nullptr) std::abort();
  return sqe;
}

Status UringIo::AddPoll(int fd, IoHandler* h, uint32_t epoll_events) {
  Slot* s = SlotFor(fd);
  if (s->kind != Slot::Kind::kFree) return AlreadyExists("io_uring: descriptor registered twice");
  s->Reset();
  s->kind = Slot::Kind::kPoll;
  s->h = h;
  ++s->gen;
  s->poll_mask = epoll_events & (EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLPRI);
  ArmPoll(s);
  return OkStatus();
}

void UringIo::ArmPoll(Slot* s) {
  if (!started_) return;  // Start() arms it
  io_uring_sqe* sqe = Sqe();
  io_uring_prep_poll_multishot(sqe, s->fd, s->poll_mask);
  io_uring_sqe_set_data64(sqe, Data(kOpPoll, s->gen, s->fd));
}

void UringIo::RemovePoll(int fd) {
  Slot* s = Lookup(fd);
  if (s == nullptr || s->kind != Slot::Kind::kPoll) return;
  if (started_) {
    io_uring_sqe* sqe = Sqe();
    io_uring_prep_poll_remove(sqe, Data(kOpPoll, s->gen, fd));
    io_uring_sqe_set_data64(sqe, Data(kOpCancel, 0, -1));
  }
  s->kind = Slot::Kind::kFree;
  s->h = nullptr;
  ++s->gen;  // its last completions are stale
}

Status UringIo::AddStream(int fd, IoHandler* h, bool connecting) {
  Slot* s = SlotFor(fd);
  if (s->kind != Slot::Kind::kFree) return AlreadyExists("io_uring: descriptor registered twice");
  s->Reset();
  s->kind = Slot::Kind::kStream;
  s->h = h;
  ++s->gen;
  s->connecting = connecting;
  if (connecting) {
    ArmConnect(s);
  } else {
    ArmRecv(s);
  }
  return OkStatus();
}

void UringIo::ArmConnect(Slot* s) {
  if (!started_) return;  // Start() arms it
  io_uring_sqe* sqe = Sqe();
  io_uring_prep_poll_add(sqe, s->fd, POLLOUT);
  io_uring_sqe_set_data64(sqe, Data(kOpConnect, s->gen, s->fd));
  ++s->ops;
}

void UringIo::ArmRecv(Slot* s) {
  if (!started_) return;  // Start() arms it
  if (s->recv_armed || s->connecting || s->closing || s->eof || s->err != 0 || s->stash_bytes >= kStashMax)
    return;
  if (free_buffers_ == 0) {
    if (!s->starved) {
      s->starved = true;
      starved_.push_back(s->fd);
    }
    return;
  }
  io_uring_sqe* sqe = Sqe();
  io_uring_prep_recv_multishot(sqe, s->fd, nullptr, 0, 0);
  sqe->flags |= IOSQE_BUFFER_SELECT;
  sqe->buf_group = kGroup;
  io_uring_sqe_set_data64(sqe, Data(kOpRecv, s->gen, s->fd));
  s->recv_armed = true;
  ++s->ops;
}

void UringIo::RearmStarved() {
  if (starved_.empty() || free_buffers_ == 0) return;
  std::vector<int> fds;
  fds.swap(starved_);
  for (int fd : fds) {
    Slot* s = Lookup(fd);
    if (s == nullptr || !s->starved) continue;
    s->starved = false;
    if (s->kind == Slot::Kind::kStream) ArmRecv(s);
  }
}

void UringIo::Recycle(uint16_t bid) {
  io_uring_buf_ring_add(br_, bufs_ + size_t{bid} * kBufferSize, kBufferSize, bid,
                        io_uring_buf_ring_mask(kBuffers), 0);
  io_uring_buf_ring_advance(br_, 1);
  ++free_buffers_;
}

void UringIo::DropStash(Slot* s) {
  for (size_t i = s->stash_head; i < s->stash.size(); ++i) Recycle(s->stash[i].bid);
  s->stash.clear();
  s->stash_head = s->stash_bytes = 0;
}

ssize_t UringIo::Recv(int fd, char* buf, size_t len) {
  Slot* s = Lookup(fd);
  if (s == nullptr || s->kind != Slot::Kind::kStream || s->closing) {
    errno = EBADF;
    return -1;
  }
  size_t copied = 0;
  while (copied < len && s->stash_head < s->stash.size()) {
    Slot::Chunk& c = s->stash[s->stash_head];
    size_t n = std::min<size_t>(len - copied, c.len - c.off);
    std::memcpy(buf + copied, bufs_ + size_t{c.bid} * kBufferSize + c.off, n);
    c.off += static_cast<uint32_t>(n);
    copied += n;
    s->stash_bytes -= n;
    if (c.off == c.len) {
      Recycle(c.bid);
      ++s->stash_head;
    }
  }
  if (s->stash_head == s->stash.size()) {
    s->stash.clear();
    s->stash_head = 0;
  }
  ArmRecv(s);  // if a full stash had paused it
  if (copied > 0) return static_cast<ssize_t>(copied);
  if (s->err != 0) {
    errno = s->err;
    return -1;
  }
  if (s->eof) return 0;
  errno = EAGAIN;
  return -1;
}

ssize_t UringIo::Send(int fd, const iovec* iov, int n) {
  Slot* s = Lookup(fd);
  if (s == nullptr || s->kind != Slot::Kind::kStream || s->closing) {
    errno = EBADF;
    return -1;
  }
  if (s->err != 0) {
    errno = s->err;
    return -1;
  }
  if (s->shut || s->shut_pending) {
    errno = EPIPE;
    return -1;
  }
  if (s->pending() >= kSendHigh) {
    s->want_out = true;
    errno = EAGAIN;
    return -1;
  }
  size_t total = 0;
  for (int i = 0; i < n; ++i) {
    const char* p = static_cast<const char*>(iov[i].iov_base);
    s->queued.insert(s->queued.end(), p, p + iov[i].iov_len);
    total += iov[i].iov_len;
  }
  if (started_ && !s->send_inflight && !s->connecting && !s->queued.empty()) SubmitSend(s);
  return static_cast<ssize_t>(total);
}

void UringIo::SubmitSend(Slot* s) {
  s->inflight.swap(s->queued);
  s->queued.clear();
  s->inflight_off = 0;
  io_uring_sqe* sqe = Sqe();
  io_uring_prep_send(sqe, s->fd, s->inflight.data(), s->inflight.size(), MSG_NOSIGNAL | MSG_WAITALL);
  io_uring_sqe_set_data64(sqe, Data(kOpSend, s->gen, s->fd));
  s->send_inflight = true;
  ++s->ops;
}

void UringIo::Shutdown(int fd) {
  Slot* s = Lookup(fd);
  if (s == nullptr || s->kind != Slot::Kind::kStream) {
    ::shutdown(fd, SHUT_WR);
    return;
  }
  if (s->shut || s->shut_pending) return;
  if (s->send_inflight || !s->queued.empty()) {
    s->shut_pending = true;
  } else {
    ::shutdown(fd, SHUT_WR);
    s->shut = true;
  }
}

void UringIo::Close(int fd, bool abort) {
  Slot* s = Lookup(fd);
  if (s == nullptr || s->kind != Slot::Kind::kStream) {  // never registered
    if (abort) SetLingerZero(fd);
    ::close(fd);
    return;
  }
  if (s->closing) return;
  s->h = nullptr;
  s->closing = true;
  DropStash(s);
  if (abort || s->pending() == 0) {
    if (abort) Abort(s);
    CancelAll(s);
    MaybeFinish(s);
  } else {
    linger_timers_->Arm(&s->timer, loop_->now_ms());  // the queued bytes still go out
  }
}

void UringIo::Abort(Slot* s) {
  s->abort = true;
  s->queued.clear();
  SetLingerZero(s->fd);
}

void UringIo::CancelAll(Slot* s) {
  if (s->ops == 0 || s->cancel_sent) return;
  io_uring_sqe* sqe = Sqe();
  io_uring_prep_cancel_fd(sqe, s->fd, IORING_ASYNC_CANCEL_ALL);
  io_uring_sqe_set_data64(sqe, Data(kOpCancel, s->gen, s->fd));
  s->cancel_sent = true;
  ++s->ops;
}

// The descriptor is closed once nothing is in flight on it.
void UringIo::MaybeFinish(Slot* s) {
  if (!s->closing || s->ops > 0) return;
  TimerList::Cancel(&s->timer);
  ::close(s->fd);
  s->Reset();
  s->kind = Slot::Kind::kFree;
}

void UringIo::OnLingerTimeout(Slot* s) {
  if (!s->closing) return;
  Abort(s);
  CancelAll(s);
  MaybeFinish(s);
}

void UringIo::Deliver(Slot* s, uint32_t events) {
  if (s->h != nullptr) s->h->OnIo(events);
}

bool UringIo::WorkPending() {
  return io_uring_cq_ready(&ring_) > 0 || (IO_URING_READ_ONCE(*ring_.sq.kflags) & IORING_SQ_TASKRUN) != 0;
}

int UringIo::Wait(int timeout_ms, int64_t poll_ns) {
  if (!started_) {
    Status st = Start();
    if (!st.ok()) {  // Create() built one moments ago: only a lack of memory gets here
      std::fprintf(stderr, "berth-proxy: %s\n", st.message().c_str());
      std::abort();
    }
  }
  RearmStarved();
  if (poll_ns > 0) {
    // Busy polling: submit, then watch the rings (no system call: the kernel flags
    // pending completion work in the SQ ring) for up to poll_ns, yielding the CPU.
    io_uring_submit(&ring_);
    int64_t until = EventLoop::MonotonicNs() + poll_ns;
    while (!WorkPending() && EventLoop::MonotonicNs() < until) sched_yield();
    if (WorkPending()) timeout_ms = 0;
  }
  io_uring_cqe* cqe = nullptr;
  if (timeout_ms < 0) {
    io_uring_submit_and_wait(&ring_, 1);
  } else {
    __kernel_timespec ts{};
    ts.tv_sec = timeout_ms / 1000;
    ts.tv_nsec = (timeout_ms % 1000) * 1'000'000LL;
    io_uring_submit_and_wait_timeout(&ring_, &cqe, timeout_ms == 0 ? 0 : 1, timeout_ms == 0 ? nullptr : &ts,
                                     nullptr);
  }
  cqes_.clear();
  io_uring_cqe* batch[kBatch];
  for (;;) {
    unsigned n = io_uring_peek_batch_cqe(&ring_, batch, kBatch);
    for (unsigned i = 0; i < n; ++i) cqes_.push_back(*batch[i]);
    io_uring_cq_advance(&ring_, n);
    if (n < kBatch) break;
  }
  return static_cast<int>(cqes_.size());
}

void UringIo::Dispatch() {
  for (const io_uring_cqe& c : cqes_) {
    uint64_t ud = c.user_data;
    if (ud == LIBURING_UDATA_TIMEOUT) continue;
    auto op = static_cast<Op>(ud >> 56);
    auto gen = static_cast<uint16_t>(ud >> 32);
    int fd = static_cast<int>(static_cast<uint32_t>(ud));
    Slot* s = Lookup(fd);
    bool more = (c.flags & IORING_CQE_F_MORE) != 0;
    if (op == kOpPoll) {
      if (s == nullptr || s->kind != Slot::Kind::kPoll || s->gen != gen) continue;  // removed
      if (!more && c.res >= 0) ArmPoll(s);
      if (c.res > 0) Deliver(s, static_cast<uint32_t>(c.res));
      continue;
    }
    if (s == nullptr || s->gen != gen || s->kind != Slot::Kind::kStream) {
      // Poll removals, and (by construction never) completions of a finished socket.
      if (op == kOpRecv && (c.flags & IORING_CQE_F_BUFFER)) {
        --free_buffers_;
        Recycle(static_cast<uint16_t>(c.flags >> IORING_CQE_BUFFER_SHIFT));
      }
      continue;
    }
    switch (op) {
      case kOpRecv:
        OnRecv(s, c);
        break;
      case kOpSend:
        OnSend(s, c.res);
        break;
      case kOpConnect: {
        --s->ops;
        s->connecting = false;
        if (s->closing) {
          MaybeFinish(s);
          break;
        }
        uint32_t events = c.res < 0 ? (EPOLLERR | EPOLLHUP) : static_cast<uint32_t>(c.res);
        if (!(events & (EPOLLERR | EPOLLHUP))) {
          ArmRecv(s);
          if (!s->queued.empty()) SubmitSend(s);
        }
        Deliver(s, events | EPOLLOUT);
        break;
      }
      case kOpCancel:
        --s->ops;
        MaybeFinish(s);
        break;
      default:
        break;
    }
  }
  cqes_.clear();
}

void UringIo::OnRecv(Slot* s, const io_uring_cqe& c) {
  bool more = (c.flags & IORING_CQE_F_MORE) != 0;
  if (!more) {
    --s->ops;
    s->recv_armed = false;
    s->recv_cancelling = false;
  }
  if (c.flags & IORING_CQE_F_BUFFER) {
    --free_buffers_;
    auto bid = static_cast<uint16_t>(c.flags >> IORING_CQE_BUFFER_SHIFT);
    if (c.res > 0 && !s->closing) {
      s->stash.push_back({bid, 0, static_cast<uint32_t>(c.res)});
      s->stash_bytes += static_cast<size_t>(c.res);
    } else {
      Recycle(bid);
    }
  }
  if (s->closing) {
    MaybeFinish(s);
    return;
  }
  uint32_t events = 0;
  if (c.res > 0) {
    events = EPOLLIN;
    if (more && s->stash_bytes >= kStashMax && !s->recv_cancelling) {
      // Backpressure: stop receiving until Recv has drained the stash.
      io_uring_sqe* sqe = Sqe();
      io_uring_prep_cancel64(sqe, Data(kOpRecv, s->gen, s->fd), 0);
      io_uring_sqe_set_data64(sqe, Data(kOpCancel, s->gen, s->fd));
      ++s->ops;
      s->recv_cancelling = true;
    }
  } else if (c.res == 0) {
    s->eof = true;
    events = EPOLLIN | EPOLLRDHUP;
  } else if (c.res == -ENOBUFS) {
    if (!more && !s->starved) {
      s->starved = true;
      starved_.push_back(s->fd);
    }
  } else if (c.res != -ECANCELED) {
    s->err = -c.res;
    events = EPOLLIN | EPOLLRDHUP | EPOLLERR | EPOLLHUP;
  }
  if (!more && !s->starved) ArmRecv(s);  // a multishot may end early (or was paused)
  if (events != 0) Deliver(s, events);
}

void UringIo::OnSend(Slot* s, int res) {
  --s->ops;
  s->send_inflight = false;
  if (res < 0) {
    if (s->err == 0) s->err = -res;
    s->inflight.clear();
    s->queued.clear();
    if (s->closing) {
      CancelAll(s);
      MaybeFinish(s);
    } else {
      Deliver(s, EPOLLIN | EPOLLOUT | EPOLLERR | EPOLLHUP);
    }
    return;
  }
  s->inflight_off += static_cast<size_t>(res);
  if (s->inflight_off < s->inflight.size()) {  // a short send (interrupted): the rest
    io_uring_sqe* sqe = Sqe();
    io_uring_prep_send(sqe, s->fd, s->inflight.data() + s->inflight_off, s->inflight.size() - s->inflight_off,
                       MSG_NOSIGNAL | MSG_WAITALL);
    io_uring_sqe_set_data64(sqe, Data(kOpSend, s->gen, s->fd));
    s->send_inflight = true;
    ++s->ops;
    return;
  }
  s->inflight.clear();
  s->inflight_off = 0;
  if (s->inflight.capacity() > 65536) std::vector<char>().swap(s->inflight);
  if (!s->queued.empty()) {
    SubmitSend(s);
  } else if (s->shut_pending) {
    ::shutdown(s->fd, SHUT_WR);
    s->shut_pending = false;
    s->shut = true;
  }
  if (s->closing) {
    if (s->pending() == 0) {
      TimerList::Cancel(&s->timer);
      CancelAll(s);
      MaybeFinish(s);
    }
    return;
  }
  if (s->want_out && s->pending() < kSendHigh / 2) {
    s->want_out = false;
    Deliver(s, EPOLLOUT);
  }
}

}  // namespace berth::proxy
