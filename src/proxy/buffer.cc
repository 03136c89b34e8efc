#include "proxy/buffer.h"

#include <cassert>
#include <cstdlib>
#include <cstring>
#include <new>

namespace berth::proxy {

BufferPool::~BufferPool() {
  for (char* b : free_) std::free(b);
}

char* BufferPool::Get() {
  if (!free_.empty()) {
    char* b = free_.back();
    free_.pop_back();
    return b;
  }
  char* b = static_cast<char*>(std::malloc(kBlockSize));
  if (b == nullptr) std::abort();  // out of memory: see README (error policy)
  return b;
}

void BufferPool::Put(char* block) {
  if (free_.size() < max_free_) {
    free_.push_back(block);
  } else {
    std::free(block);
  }
}

Buffer::~Buffer() {
  assert(data_ == nullptr && "Buffer destroyed without Release()");
}

void Buffer::Release(BufferPool& pool) {
  if (data_ == nullptr) return;
  if (cap_ == BufferPool::kBlockSize) {
    pool.Put(data_);
  } else {
    std::free(data_);
  }
  data_ = nullptr;
  cap_ = begin_ = end_ = 0;
}

void Buffer::Compact() {
  if (begin_ == 0) return;
  size_t n = end_ - begin_;
  if (n > 0) std::memmove(data_, data_ + begin_, n);
  begin_ = 0;
  end_ = static_cast<uint32_t>(n);
}

bool Buffer::Grow(BufferPool& pool, size_t max_capacity) {
  if (cap_ >= max_capacity) return false;
  size_t want = cap_ == 0 ? BufferPool::kBlockSize : size_t{cap_} * 2;
  if (want > max_capacity) want = max_capacity;
  char* bigger = static_cast<char*>(std::malloc(want));
  if (bigger == nullptr) std::abort();
  if (data_ != nullptr) {
    std::memcpy(bigger, data_, end_);
    if (cap_ == BufferPool::kBlockSize) {
      pool.Put(data_);
    } else {
      std::free(data_);
    }
  }
  data_ = bigger;
  cap_ = static_cast<uint32_t>(want);
  return true;
}

}  // namespace berth::proxy
