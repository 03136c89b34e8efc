#include "proxy/event_loop.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <functional>
#include <string>
#include <vector>

namespace berth::proxy {
namespace {

struct Recorder final : TimerClient {
  std::vector<std::string>* log;
  std::string name;
  TimerNode node;
  std::function<void()> then;
  Recorder(std::vector<std::string>* l, std::string n) : log(l), name(std::move(n)) { node.client = this; }
  void OnTimer() override {
    log->push_back(name);
    if (then) then();
  }
};

TEST(TimerList, FiresInDeadlineOrderAndSupportsRearmAndCancel) {
  std::vector<std::string> log;
  TimerList list(100);
  Recorder a(&log, "a"), b(&log, "b"), c(&log, "c");
  list.Arm(&a.node, 0);   // 100
  list.Arm(&b.node, 10);  // 110
  list.Arm(&c.node, 20);  // 120
  list.Arm(&a.node, 30);  // re-armed: 130, moves to the tail
  TimerList::Cancel(&b.node);
  EXPECT_FALSE(b.node.armed());
  EXPECT_EQ(list.next_deadline(), 120);
  list.Expire(119);
  EXPECT_TRUE(log.empty());
  list.Expire(1000);
  EXPECT_EQ(log, (std::vector<std::string>{"c", "a"}));
  EXPECT_TRUE(list.empty());
}

TEST(TimerList, CallbacksMayArmAndCancelOthers) {
  std::vector<std::string> log;
  TimerList list(10);
  Recorder a(&log, "a"), b(&log, "b"), c(&log, "c");
  list.Arm(&a.node, 0);
  list.Arm(&b.node, 0);
  a.then = [&] {
    TimerList::Cancel(&b.node);
    list.Arm(&c.node, 100);  // not due in this Expire
  };
  list.Expire(50);
  EXPECT_EQ(log, (std::vector<std::string>{"a"}));
  EXPECT_EQ(list.next_deadline(), 110);
}

struct PipeReader final : IoHandler {
  int fd;
  std::string got;
  void OnIo(uint32_t) override {
    char buf[64];
    ssize_t n;
    while ((n = read(fd, buf, sizeof(buf))) > 0) got.append(buf, static_cast<size_t>(n));
  }
};

TEST(EventLoop, DispatchesIoAndTimers) {
  auto loop = EventLoop::Create();
  ASSERT_TRUE(loop.ok());
  int fds[2];
  ASSERT_EQ(pipe2(fds, O_NONBLOCK), 0);
  PipeReader r;
  r.fd = fds[0];
  ASSERT_TRUE((*loop)->Add(fds[0], &r, EPOLLIN | EPOLLET).ok());
  ASSERT_EQ(write(fds[1], "ping", 4), 4);
  (*loop)->RunOnce(1000);
  EXPECT_EQ(r.got, "ping");

  std::vector<std::string> log;
  Recorder t(&log, "t");
  TimerList* list = (*loop)->Timers(20);
  EXPECT_EQ((*loop)->Timers(20), list);  // one list per duration
  list->Arm(&t.node, (*loop)->now_ms());
  int64_t start = EventLoop::MonotonicNs();
  while (log.empty()) (*loop)->RunOnce(1000);  // returns when the timer is due
  EXPECT_GE(EventLoop::MonotonicNs() - start, 15'000'000);
  close(fds[0]);
  close(fds[1]);
}

}  // namespace
}  // namespace berth::proxy
