// Buffer and BufferPool: the byte storage of the proxy's socket I/O.
//
// A Buffer is one contiguous block with two cursors:
//   [0, begin)        consumed: parsed, possibly still referenced by an OutQueue
//   [begin, end)      unread: received but not parsed yet
//   [end, capacity)   free: where the next read() lands
// Its storage is a 16 KiB block from the worker's BufferPool, taken when a connection
// has something to read and given back when it goes idle, so an idle keep-alive
// connection holds no buffer at all. Grow() moves to a larger heap block (only message
// heads need that: a head must be contiguous because header spans are offsets into it),
// and offsets stay valid across Grow(); pointers do not.
//
// Thread-safety: none. A Buffer and its pool belong to one worker thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace berth::proxy {

class BufferPool {
 public:
  static constexpr size_t kBlockSize = 16 * 1024;

  // Keeps at most `max_free` blocks for reuse; the rest go back to malloc.
  explicit BufferPool(size_t max_free = 4096) : max_free_(max_free) {}
  ~BufferPool();
  BufferPool(const BufferPool&) = delete;
  BufferPool& operator=(const BufferPool&) = delete;

  char* Get();
  void Put(char* block);
  size_t free_blocks() const { return free_.size(); }

 private:
  std::vector<char*> free_;
  size_t max_free_;
};

class Buffer {
 public:
  Buffer() = default;
  ~Buffer();  // storage must have been Release()d (it belongs to a pool)
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;

  bool allocated() const { return data_ != nullptr; }
  // Takes a block from the pool if the buffer has none.
  void Ensure(BufferPool& pool) {
    if (data_ == nullptr) {
      data_ = pool.Get();
      cap_ = BufferPool::kBlockSize;
    }
  }
  // Gives the storage back; the buffer becomes empty and unallocated.
  void Release(BufferPool& pool);

  char* base() { return data_; }
  const char* base() const { return data_; }
  size_t begin() const { return begin_; }
  size_t end() const { return end_; }
  size_t capacity() const { return cap_; }

  const char* unread() const { return data_ + begin_; }
  size_t unread_size() const { return end_ - begin_; }
  char* free_space() { return data_ + end_; }
  size_t free_size() const { return cap_ - end_; }
  bool empty() const { return begin_ == end_; }

  void Commit(size_t n) { end_ += static_cast<uint32_t>(n); }
  void Consume(size_t n) { begin_ += static_cast<uint32_t>(n); }
  // Forgets everything. Only when no OutQueue references the consumed bytes.
  void Reset() { begin_ = end_ = 0; }
  // Moves the unread bytes to offset 0. Same precondition as Reset().
  void Compact();
  // At least doubles the capacity, up to `max_capacity`; false if already there.
  bool Grow(BufferPool& pool, size_t max_capacity);

 private:
  char* data_ = nullptr;
  uint32_t cap_ = 0;
  uint32_t begin_ = 0;
  uint32_t end_ = 0;
};

}  // namespace berth::proxy
