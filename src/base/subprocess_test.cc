#include "base/subprocess.h"

#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "base/reaper.h"

namespace berth {
namespace {

TEST(Run, CapturesOutputAndStatus) {
  auto r = berth::Run({"sh", "-c", "echo out; echo err >&2; exit 3"});
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->out, "out\n");
  EXPECT_EQ(r->err, "err\n");
  EXPECT_EQ(r->exit_code(), 3);
  EXPECT_FALSE(r->ok());
  EXPECT_EQ(r->Describe(), "exit 3: err");
}

TEST(Run, ArgvIsNeverAShell) {
  auto r = berth::Run({"echo", "$(id); rm -rf /nonexistent", "a b"});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->out, "$(id); rm -rf /nonexistent a b\n");
}

TEST(Run, Stdin) {
  RunOptions o;
  o.stdin_data = "hello";
  auto r = berth::Run({"cat"}, o);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->out, "hello");
}

TEST(Run, TimeoutKills) {
  RunOptions o;
  o.timeout = std::chrono::milliseconds(200);
  auto start = std::chrono::steady_clock::now();
  auto r = berth::Run({"sleep", "10"}, o);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->timed_out);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

TEST(Spawn, MissingProgramIsNotFound) {
  auto p = Spawn({.argv = {"no-such-program-berth"}});
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), StatusCode::kNotFound);
}

TEST(Spawn, BadCwdReportedNotExitStatus) {
  auto p = Spawn({.argv = {"true"}, .cwd = "/no/such/dir"});
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.status().message().find("No such file"), std::string::npos);
}

TEST(Reaper, OnExitAfterExitStillFires) {
  auto p = Spawn({.argv = {"sh", "-c", "exit 7"}});
  ASSERT_TRUE(p.ok());
  usleep(100'000);  // it has exited and been reaped as unclaimed by now
  int got = -1;
  ChildReaper::Get().OnExit(*p, [&](int st) { got = WEXITSTATUS(st); });
  for (int i = 0; i < 100 && got < 0; ++i) usleep(10'000);
  EXPECT_EQ(got, 7);
}

TEST(Reaper, ManyConcurrentWaits) {
  std::vector<pid_t> pids;
  for (int i = 0; i < 20; ++i) {
    auto p = Spawn({.argv = {"sh", "-c", "exit " + std::to_string(i)}});
    ASSERT_TRUE(p.ok());
    pids.push_back(*p);
  }
  for (int i = 0; i < 20; ++i) EXPECT_EQ(WEXITSTATUS(ChildReaper::Get().Wait(pids[i])), i);
}

}  // namespace
}  // namespace berth
