#include "proxy/buffer.h"

#include <gtest/gtest.h>

#include <cstring>

namespace berth::proxy {
namespace {

TEST(Buffer, CursorsAndPool) {
  BufferPool pool;
  Buffer b;
  EXPECT_FALSE(b.allocated());
  b.Ensure(pool);
  ASSERT_TRUE(b.allocated());
  EXPECT_EQ(b.capacity(), BufferPool::kBlockSize);
  std::memcpy(b.free_space(), "hello world", 11);
  b.Commit(11);
  EXPECT_EQ(b.unread_size(), 11u);
  b.Consume(6);
  EXPECT_EQ(std::string(b.unread(), b.unread_size()), "world");
  b.Compact();
  EXPECT_EQ(b.begin(), 0u);
  EXPECT_EQ(std::string(b.base(), 5), "world");
  b.Release(pool);
  EXPECT_FALSE(b.allocated());
  EXPECT_EQ(pool.free_blocks(), 1u);
  b.Ensure(pool);  // the same block comes back
  EXPECT_EQ(pool.free_blocks(), 0u);
  b.Release(pool);
}

TEST(Buffer, GrowKeepsOffsetsAndStopsAtTheCap) {
  BufferPool pool;
  Buffer b;
  b.Ensure(pool);
  std::memset(b.free_space(), 'x', b.free_size());
  b.Commit(b.free_size());
  b.Consume(100);
  ASSERT_TRUE(b.Grow(pool, 40 * 1024));
  EXPECT_EQ(b.capacity(), 32u * 1024);
  EXPECT_EQ(b.begin(), 100u);
  EXPECT_EQ(b.end(), BufferPool::kBlockSize);
  EXPECT_EQ(b.base()[BufferPool::kBlockSize - 1], 'x');
  ASSERT_TRUE(b.Grow(pool, 40 * 1024));
  EXPECT_EQ(b.capacity(), 40u * 1024);
  EXPECT_FALSE(b.Grow(pool, 40 * 1024));
  b.Release(pool);  // a grown block goes back to malloc, not to the pool
  EXPECT_EQ(pool.free_blocks(), 1u);
}

}  // namespace
}  // namespace berth::proxy
