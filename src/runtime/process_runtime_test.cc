#include "runtime/process_runtime.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <thread>

#include "base/fs.h"
#include "runtime/common.h"

namespace berth::runtime {
namespace {

using namespace std::chrono_literals;

std::string ReadOrEmpty(const std::string& path) {
  auto text = ReadFile(path);
  return text.ok() ? *text : "";
}

bool Eventually(const std::function<bool()>& cond, std::chrono::milliseconds limit = 5s) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (cond()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return cond();
}

class ProcessRuntimeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/berth-process-runtime-test-XXXXXX";
    dir_ = mkdtemp(tmpl);
    options_.name = "process";
    options_.run_dir = dir_ + "/run";
    options_.state_dir = dir_ + "/state";
    runtime_ = std::make_unique<ProcessRuntime>(options_);
  }
  void TearDown() override {
    auto list = runtime_->List();
    if (list.ok()) {
      for (const auto& c : *list) (void)runtime_->Delete(c.id);
    }
    (void)RemoveAll(dir_);
  }

  ContainerSpec Spec(const std::string& id, const std::string& script) {
    ContainerSpec s;
    s.id = id;
    s.image = "host";
    s.args = {"sh", "-c", script};
    s.env = {"GREETING=hello"};
    s.stdout_path = dir_ + "/" + id + ".out";
    s.stderr_path = s.stdout_path;
    return s;
  }

  ContainerStatus StatusOf(const std::string& id) {
    auto s = runtime_->State(id);
    return s.ok() ? s->status : ContainerStatus::kStopped;
  }

  std::string dir_;
  RuntimeOptions options_;
  std::unique_ptr<ProcessRuntime> runtime_;
};

TEST_F(ProcessRuntimeTest, CreateStartKillDelete) {
  ContainerSpec spec = Spec("t.echo.1", "echo $GREETING from $PWD; exec sleep 30");
  spec.working_dir = "/tmp";
  ASSERT_TRUE(runtime_->Create(spec).ok());
  auto st = runtime_->State("t.echo.1");
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->status, ContainerStatus::kCreated);
  EXPECT_EQ(st->pid, 0);

  auto started = runtime_->Start("t.echo.1");
  ASSERT_TRUE(started.ok()) << started.status().ToString();
  EXPECT_EQ(started->status, ContainerStatus::kRunning);
  EXPECT_GT(started->pid, 0);
  EXPECT_EQ(started->pid_start_time, ProcessStartTime(started->pid));
  EXPECT_EQ(getpgid(started->pid), started->pid);  // own process group
  EXPECT_TRUE(Eventually([&] { return ReadOrEmpty(spec.stdout_path) == "hello from /tmp\n"; }));
  EXPECT_EQ(runtime_->Start("t.echo.1").status().code(), StatusCode::kFailedPrecondition);

  st = runtime_->State("t.echo.1");
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->status, ContainerStatus::kRunning);
  EXPECT_EQ(st->pid, started->pid);

  ASSERT_TRUE(runtime_->Kill("t.echo.1", SIGTERM).ok());
  EXPECT_TRUE(Eventually([&] { return StatusOf("t.echo.1") == ContainerStatus::kStopped; }));
  EXPECT_EQ(runtime_->State("t.echo.1")->pid, 0);
  EXPECT_EQ(runtime_->Kill("t.echo.1", SIGTERM).code(), StatusCode::kFailedPrecondition);

  ASSERT_TRUE(runtime_->Delete("t.echo.1").ok());
  EXPECT_EQ(runtime_->State("t.echo.1").status().code(), StatusCode::kNotFound);
  EXPECT_FALSE(PathExists(options_.run_dir + "/process/t.echo.1.json"));
  EXPECT_TRUE(runtime_->Delete("t.echo.1").ok());  // absent is ok
}

TEST_F(ProcessRuntimeTest, AdoptionBySecondInstance) {
  ASSERT_TRUE(runtime_->Create(Spec("t.adopt.1", "exec sleep 30")).ok());
  auto started = runtime_->Start("t.adopt.1");
  ASSERT_TRUE(started.ok());
  ASSERT_TRUE(runtime_->Create(Spec("t.adopt.2", "exit 0")).ok());

  ProcessRuntime second(options_);
  auto list = second.List();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].id, "t.adopt.1");
  EXPECT_EQ((*list)[0].status, ContainerStatus::kRunning);
  EXPECT_EQ((*list)[0].pid, started->pid);
  EXPECT_EQ((*list)[0].pid_start_time, started->pid_start_time);
  EXPECT_EQ((*list)[1].status, ContainerStatus::kCreated);

  ASSERT_TRUE(second.Delete("t.adopt.1").ok());
  EXPECT_FALSE(ProcessAlive(started->pid, started->pid_start_time));
  EXPECT_EQ(runtime_->State("t.adopt.1").status().code(), StatusCode::kNotFound);
}

TEST_F(ProcessRuntimeTest, KillAllSignalsTheGroup) {
  std::string pids = dir_ + "/pids";
  ASSERT_TRUE(runtime_->Create(Spec("t.group.1", "sleep 30 & echo $! > " + pids + "; wait")).ok());
  auto started = runtime_->Start("t.group.1");
  ASSERT_TRUE(started.ok());
  ASSERT_TRUE(Eventually([&] { return !ReadOrEmpty(pids).empty(); }));
  pid_t child = std::stoi(*ReadFile(pids));
  int64_t child_start = ProcessStartTime(child);
  ASSERT_TRUE(ProcessAlive(child, child_start));
  ASSERT_TRUE(runtime_->Kill("t.group.1", SIGKILL, /*all=*/true).ok());
  EXPECT_TRUE(Eventually([&] { return !ProcessAlive(child, child_start); }));
  EXPECT_TRUE(Eventually([&] { return StatusOf("t.group.1") == ContainerStatus::kStopped; }));
}

TEST_F(ProcessRuntimeTest, DeleteKillsARunningGroup) {
  ASSERT_TRUE(runtime_->Create(Spec("t.del.1", "trap '' TERM; sleep 30 & wait")).ok());
  auto started = runtime_->Start("t.del.1");
  ASSERT_TRUE(started.ok());
  ASSERT_TRUE(runtime_->Delete("t.del.1").ok());
  EXPECT_FALSE(ProcessAlive(started->pid, started->pid_start_time));
  auto list = runtime_->List();
  ASSERT_TRUE(list.ok());
  EXPECT_TRUE(list->empty());
}

TEST_F(ProcessRuntimeTest, CreateErrors) {
  ASSERT_TRUE(runtime_->Create(Spec("t.dup.1", "true")).ok());
  EXPECT_EQ(runtime_->Create(Spec("t.dup.1", "true")).code(), StatusCode::kAlreadyExists);
  ContainerSpec missing = Spec("t.missing.1", "");
  missing.args = {"gunicornn", "app:app"};
  Status s = runtime_->Create(missing);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "create t.missing.1: program \"gunicornn\" not found in PATH");
  ContainerSpec bad_id = Spec("Bad/Id", "true");
  EXPECT_EQ(runtime_->Create(bad_id).code(), StatusCode::kInvalidArgument);
  ContainerSpec empty = Spec("t.empty.1", "");
  empty.args.clear();
  EXPECT_EQ(runtime_->Create(empty).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(runtime_->State("t.none.1").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(runtime_->Start("t.none.1").status().code(), StatusCode::kNotFound);
}

TEST_F(ProcessRuntimeTest, ExecAndTimeout) {
  ASSERT_TRUE(runtime_->Create(Spec("t.exec.1", "exec sleep 30")).ok());
  EXPECT_EQ(runtime_->Exec("t.exec.1", {"true"}, 1s).status().code(), StatusCode::kFailedPrecondition);
  ASSERT_TRUE(runtime_->Start("t.exec.1").ok());
  auto r = runtime_->Exec("t.exec.1", {"sh", "-c", "echo out; echo err >&2; exit 3"}, 5s);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->exit_code, 3);
  EXPECT_FALSE(r->timed_out);
  EXPECT_EQ(r->output, "out\nerr\n");
  r = runtime_->Exec("t.exec.1", {"sh", "-c", "yes | head -c 10000"}, 5s);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->output.size(), 4096u);
  EXPECT_TRUE(r->truncated);
  r = runtime_->Exec("t.exec.1", {"sh", "-c", "yes | head -c 10000"}, 5s, 1 << 20);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->output.size(), 10000u);
  EXPECT_FALSE(r->truncated);
  auto t0 = std::chrono::steady_clock::now();
  r = runtime_->Exec("t.exec.1", {"sleep", "10"}, 200ms);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->timed_out);
  EXPECT_EQ(r->exit_code, -1);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 3s);
  r = runtime_->Exec("t.exec.1", {"no-such-program-berth"}, 1s);
  ASSERT_TRUE(r.ok());
  EXPECT_NE(r->exit_code, 0);
}

TEST_F(ProcessRuntimeTest, StatsFromProc) {
  ASSERT_TRUE(
      runtime_->Create(Spec("t.stats.1", "i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done; sleep 30"))
          .ok());
  ASSERT_TRUE(runtime_->Start("t.stats.1").ok());
  ASSERT_TRUE(Eventually([&] {
    auto u = runtime_->Stats("t.stats.1");
    return u.ok() && u->cpu_ns > 0 && u->pids == 2;
  }));
  auto u = runtime_->Stats("t.stats.1");
  EXPECT_GT(u->memory_bytes, 0);
  EXPECT_EQ(u->memory_limit, 0);
  EXPECT_EQ(runtime_->Stats("t.none.1").status().code(), StatusCode::kNotFound);
}

TEST(NewRuntimeTest, Names) {
  RuntimeOptions o;
  o.run_dir = "/tmp/berth-new-runtime-test";
  o.name = "process";
  auto r = NewRuntime(o);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)->name(), "process");
  EXPECT_FALSE((*r)->isolated());
  o.name = "docker";
  EXPECT_EQ(NewRuntime(o).status().code(), StatusCode::kInvalidArgument);
  o.name = "process";
  o.run_dir = "relative";
  EXPECT_FALSE(NewRuntime(o).ok());
  if (geteuid() != 0) {
    o.run_dir = "/tmp/x";
    o.name = "runc";
    EXPECT_EQ(NewRuntime(o).status().message(),
              "runtime runc needs root; run berthd as root or use --runtime process");
  }
}

}  // namespace
}  // namespace berth::runtime
