#include "proxy/out_queue.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <string>

namespace berth::proxy {
namespace {

std::string ReadAll(int fd) {
  std::string out;
  char buf[65536];
  ssize_t n;
  while ((n = read(fd, buf, sizeof(buf))) > 0) out.append(buf, static_cast<size_t>(n));
  return out;
}

TEST(OutQueue, MixesCopiesAndReferencesInOrder) {
  BufferPool pool;
  OutQueue q(&pool);
  std::string body = "BODY";
  q.Append("head ");
  q.Append("more ");  // merges with the previous scratch segment
  q.AppendRef(body.data(), 2);
  q.AppendRef(body.data() + 2, 2);  // contiguous: merged
  char* p = q.AppendSpace(10);
  std::memcpy(p, " tailXXXXX", 10);
  q.Unappend(5);
  EXPECT_EQ(q.total_bytes(), 19u);
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  int err = 0;
  EXPECT_EQ(q.Flush(fds[1], &err), OutQueue::Result::kDone);
  EXPECT_TRUE(q.drained());
  close(fds[1]);
  EXPECT_EQ(ReadAll(fds[0]), "head more BODY tail");
  close(fds[0]);
  q.Clear();
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(pool.free_blocks(), 1u);
}

TEST(OutQueue, PartialWritesResumeAndRewindResends) {
  signal(SIGPIPE, SIG_IGN);  // as the proxy does: a dead peer is an EPIPE, not a signal
  BufferPool pool;
  OutQueue q(&pool);
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  fcntl(sv[0], F_SETFL, O_NONBLOCK);
  fcntl(sv[1], F_SETFL, O_NONBLOCK);
  std::string big(4 * 1024 * 1024, 'z');
  big[0] = 'a';
  big.back() = 'b';
  q.AppendRef(big.data(), big.size());
  int err = 0;
  EXPECT_EQ(q.Flush(sv[0], &err), OutQueue::Result::kAgain);
  EXPECT_FALSE(q.drained());
  std::string got;
  while (!q.drained()) {
    got += ReadAll(sv[1]);
    q.Flush(sv[0], &err);
  }
  got += ReadAll(sv[1]);
  EXPECT_EQ(got.size(), big.size());
  EXPECT_EQ(got, big);
  q.Rewind();
  EXPECT_EQ(q.pending_bytes(), big.size());
  close(sv[1]);
  EXPECT_EQ(q.Flush(sv[0], &err), OutQueue::Result::kError);
  EXPECT_EQ(err, EPIPE);
  close(sv[0]);
}

TEST(OutQueue, ManySegments) {
  BufferPool pool;
  OutQueue q(&pool);
  std::string src(1000, '.');
  for (int i = 0; i < 500; ++i) {
    src[i * 2] = static_cast<char>('a' + i % 26);
    q.AppendRef(&src[i * 2], 1);  // not contiguous with the previous one: 500 segments
    q.Append("-");
  }
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  int err = 0;
  EXPECT_EQ(q.Flush(fds[1], &err), OutQueue::Result::kDone);
  close(fds[1]);
  std::string out = ReadAll(fds[0]);
  close(fds[0]);
  ASSERT_EQ(out.size(), 1000u);
  EXPECT_EQ(out.substr(0, 6), "a-b-c-");
}

}  // namespace
}  // namespace berth::proxy
