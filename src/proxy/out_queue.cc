#include "proxy/out_queue.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "proxy/event_loop.h"

namespace berth::proxy {

namespace {

constexpr int kMaxIov = 64;

}  // namespace

OutQueue::~OutQueue() {
  Clear();
}

void OutQueue::EnsureScratch(size_t extra) {
  size_t need = size_t{scratch_len_} + extra;
  if (need <= scratch_cap_) return;
  if (scratch_ == nullptr && need <= BufferPool::kBlockSize) {
    scratch_ = pool_->Get();
    scratch_cap_ = BufferPool::kBlockSize;
    return;
  }
  size_t cap = scratch_cap_ == 0 ? BufferPool::kBlockSize : scratch_cap_;
  while (cap < need) cap *= 2;
  char* bigger = static_cast<char*>(std::malloc(cap));
  if (bigger == nullptr) std::abort();
  if (scratch_ != nullptr) {
    std::memcpy(bigger, scratch_, scratch_len_);
    if (scratch_cap_ == BufferPool::kBlockSize) {
      pool_->Put(scratch_);
    } else {
      std::free(scratch_);
    }
  }
  scratch_ = bigger;
  scratch_cap_ = static_cast<uint32_t>(cap);
}

char* OutQueue::AppendSpace(size_t n) {
  EnsureScratch(n);
  char* p = scratch_ + scratch_len_;
  // Merge with the previous segment when it is the scratch tail.
  if (!segs_.empty() && segs_.back().ref == nullptr && segs_.back().off + segs_.back().len == scratch_len_) {
    segs_.back().len += static_cast<uint32_t>(n);
  } else {
    segs_.push_back({nullptr, scratch_len_, static_cast<uint32_t>(n)});
  }
  scratch_len_ += static_cast<uint32_t>(n);
  return p;
}

void OutQueue::Unappend(size_t n) {
  Segment& s = segs_.back();
  s.len -= static_cast<uint32_t>(n);
  scratch_len_ -= static_cast<uint32_t>(n);
  if (s.len == 0) segs_.pop_back();
}

void OutQueue::Append(std::string_view s) {
  if (s.empty()) return;
  std::memcpy(AppendSpace(s.size()), s.data(), s.size());
}

void OutQueue::AppendRef(const char* p, size_t n) {
  if (n == 0) return;
  if (!segs_.empty()) {
    Segment& last = segs_.back();
    if (last.ref != nullptr && last.ref + last.len == p) {
      last.len += static_cast<uint32_t>(n);
      return;
    }
  }
  segs_.push_back({p, 0, static_cast<uint32_t>(n)});
}

size_t OutQueue::pending_bytes() const {
  size_t n = 0;
  for (size_t i = next_; i < segs_.size(); ++i) n += segs_[i].len;
  return n - next_off_;
}

size_t OutQueue::total_bytes() const {
  size_t n = 0;
  for (const Segment& s : segs_) n += s.len;
  return n;
}

int OutQueue::BuildIov(iovec* iov, int max) const {
  int n = 0;
  for (size_t i = next_; i < segs_.size() && n < max; ++i, ++n) {
    const Segment& s = segs_[i];
    const char* p = s.ref != nullptr ? s.ref : scratch_ + s.off;
    size_t skip = (i == next_) ? next_off_ : 0;
    iov[n].iov_base = const_cast<char*>(p + skip);
    iov[n].iov_len = s.len - skip;
  }
  return n;
}

void OutQueue::Advance(size_t written) {
  while (written > 0) {
    size_t left = segs_[next_].len - next_off_;
    if (written < left) {
      next_off_ += written;
      return;
    }
    written -= left;
    ++next_;
    next_off_ = 0;
  }
}

OutQueue::Result OutQueue::Flush(int fd, int* err, EventLoop* loop) {
  while (!drained()) {
    iovec iov[kMaxIov];
    int n = BuildIov(iov, kMaxIov);
    ssize_t w = loop != nullptr ? loop->Send(fd, iov, n) : EventLoop::SendDirect(fd, iov, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return Result::kAgain;
      *err = errno;
      return Result::kError;
    }
    Advance(static_cast<size_t>(w));
  }
  return Result::kDone;
}

void OutQueue::Clear() {
  segs_.clear();
  next_ = next_off_ = 0;
  if (scratch_ != nullptr) {
    if (scratch_cap_ == BufferPool::kBlockSize) {
      pool_->Put(scratch_);
    } else {
      std::free(scratch_);
    }
  }
  scratch_ = nullptr;
  scratch_len_ = scratch_cap_ = 0;
  // Chunked bodies can leave thousands of segments behind: do not keep that memory on
  // an idle connection.
  if (segs_.capacity() > 64) std::vector<Segment>().swap(segs_);
}

}  // namespace berth::proxy
