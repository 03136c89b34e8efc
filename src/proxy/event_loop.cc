#include "proxy/event_loop.h"

#include <sched.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "proxy/net_util.h"
#include "proxy/uring_io.h"

namespace berth::proxy {

void TimerList::Unlink(TimerNode* n) {
  if (n->prev) {
    n->prev->next = n->next;
  } else {
    head_ = n->next;
  }
  if (n->next) {
    n->next->prev = n->prev;
  } else {
    tail_ = n->prev;
  }
  n->prev = n->next = nullptr;
  n->list = nullptr;
}

void TimerList::Arm(TimerNode* n, int64_t now_ms) {
  if (n->list != nullptr) n->list->Unlink(n);
  n->deadline_ms = now_ms + duration_ms_;
  n->list = this;
  n->prev = tail_;
  n->next = nullptr;
  if (tail_) {
    tail_->next = n;
  } else {
    head_ = n;
  }
  tail_ = n;
}

void TimerList::Cancel(TimerNode* n) {
  if (n->list != nullptr) n->list->Unlink(n);
}

void TimerList::Expire(int64_t now_ms) {
  while (head_ != nullptr && head_->deadline_ms <= now_ms) {
    TimerNode* n = head_;
    Unlink(n);
    n->client->OnTimer();
  }
}

StatusOr<std::unique_ptr<EventLoop>> EventLoop::Create(IoBackend backend) {
  int fd = -1;
  if (backend == IoBackend::kEpoll) {
    fd = epoll_create1(EPOLL_CLOEXEC);
    if (fd < 0) return ErrnoStatus("epoll_create1");
  }
  std::unique_ptr<EventLoop> loop(new EventLoop(fd));
  if (backend == IoBackend::kUring) {
    BERTH_ASSIGN_OR_RETURN(loop->uring_, UringIo::Create(loop.get()));
  }
  return loop;
}

EventLoop::EventLoop(int epfd) : epfd_(epfd), events_(256) {
  UpdateTime();
}

EventLoop::~EventLoop() {
  uring_.reset();
  if (epfd_ >= 0) ::close(epfd_);
}

Status EventLoop::Add(int fd, IoHandler* h, uint32_t events) {
  if (uring_) return uring_->AddPoll(fd, h, events);
  epoll_event ev{};
  ev.events = events;
  ev.data.ptr = h;
  if (epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev) != 0) return ErrnoStatus("epoll_ctl add");
  return OkStatus();
}

void EventLoop::Remove(int fd) {
  if (uring_) {
    uring_->RemovePoll(fd);
    return;
  }
  epoll_ctl(epfd_, EPOLL_CTL_DEL, fd, nullptr);
}

Status EventLoop::AddStream(int fd, IoHandler* h, bool connecting) {
  if (uring_) return uring_->AddStream(fd, h, connecting);
  return Add(fd, h);
}

ssize_t EventLoop::Recv(int fd, char* buf, size_t len) {
  if (uring_) return uring_->Recv(fd, buf, len);
  return ::recv(fd, buf, len, 0);
}

// send()/sendmsg() rather than write()/writev(): sockets skip the VFS layer (file
// position lock, fsnotify), a few percent of the proxy's CPU. Pipes (tests) fall back.
ssize_t EventLoop::Send(int fd, const iovec* iov, int n) {
  if (uring_) return uring_->Send(fd, iov, n);
  return SendDirect(fd, iov, n);
}

ssize_t EventLoop::SendDirect(int fd, const iovec* iov, int n) {
  ssize_t w;
  if (n == 1) {
    w = ::send(fd, iov[0].iov_base, iov[0].iov_len, MSG_NOSIGNAL);
  } else {
    msghdr m{};
    m.msg_iov = const_cast<iovec*>(iov);
    m.msg_iovlen = static_cast<size_t>(n);
    w = ::sendmsg(fd, &m, MSG_NOSIGNAL);
  }
  if (w < 0 && errno == ENOTSOCK)
    w = n == 1 ? ::write(fd, iov[0].iov_base, iov[0].iov_len) : ::writev(fd, iov, n);
  return w;
}

void EventLoop::Shutdown(int fd) {
  if (uring_) {
    uring_->Shutdown(fd);
    return;
  }
  ::shutdown(fd, SHUT_WR);
}

void EventLoop::CloseStream(int fd, bool abort) {
  if (uring_) {
    uring_->Close(fd, abort);
    return;
  }
  if (abort) SetLingerZero(fd);
  ::close(fd);
}

TimerList* EventLoop::Timers(int64_t duration_ms) {
  for (auto& l : lists_) {
    if (l->duration_ms() == duration_ms) return l.get();
  }
  lists_.push_back(std::make_unique<TimerList>(duration_ms));
  return lists_.back().get();
}

int64_t EventLoop::MonotonicNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

void EventLoop::UpdateTime() {
  now_ns_ = MonotonicNs();
}

int EventLoop::WaitEpoll(int timeout, int64_t poll_ns) {
  int max = static_cast<int>(events_.size());
  int n = 0;
  if (poll_ns > 0) {
    int64_t until = MonotonicNs() + poll_ns;
    for (;;) {
      n = epoll_wait(epfd_, events_.data(), max, 0);
      if (n != 0 || MonotonicNs() >= until) break;
      sched_yield();  // a runnable peer (the upstream, the client) on this CPU goes first
    }
  }
  if (n == 0) n = epoll_wait(epfd_, events_.data(), max, timeout);
  return n;
}

void EventLoop::RunOnce(int max_wait_ms) {
  int timeout = max_wait_ms;
  if (pending_work_) {
    timeout = 0;
  } else {
    int64_t now = now_ms();
    for (auto& l : lists_) {
      int64_t d = l->next_deadline();
      if (d < 0) continue;
      int64_t wait = d <= now ? 0 : d - now;
      if (timeout < 0 || wait < timeout) timeout = static_cast<int>(wait);
    }
  }
  pending_work_ = false;
  // Adaptive busy polling, the same rule for both back ends: poll while the recent gaps
  // between "waiting" and "events" are shorter than busy_poll_ns_.
  bool measure = timeout != 0 && busy_poll_ns_ > 0;
  int64_t poll_ns = measure && gap_ewma_ns_ < busy_poll_ns_ ? busy_poll_ns_ : 0;
  int64_t start = measure ? MonotonicNs() : 0;
  int n = uring_ ? uring_->Wait(timeout, poll_ns) : WaitEpoll(timeout, poll_ns);
  UpdateTime();
  if (measure) {
    int64_t gap = std::min<int64_t>(now_ns_ - start, 100 * busy_poll_ns_);
    gap_ewma_ns_ += (gap - gap_ewma_ns_) / 8;
  }
  if (uring_) {
    uring_->Dispatch();
  } else {
    for (int i = 0; i < n; ++i) {
      static_cast<IoHandler*>(events_[i].data.ptr)->OnIo(events_[i].events);
    }
  }
  int64_t now = now_ms();
  for (size_t i = 0; i < lists_.size(); ++i) lists_[i]->Expire(now);
}

}  // namespace berth::proxy
