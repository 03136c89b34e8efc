// The fixture of the OciRuntime integration tests (runtime_integration_test.cc,
// runtime_workloads_integration_test.cc): real runc containers on this machine. Needs
// root and runc; skips with the reason otherwise. Each test has its own run_dir and
// cgroup parent ("berth-test-<pid>-<n>") and a guard that deletes its containers,
// bundles and cgroups even when the test fails. The test process is a child subreaper,
// as berthd is, so container exits reach ChildReaper and tests can read exit statuses.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <functional>
#include <nlohmann/json.hpp>
#include <thread>

#include "base/fs.h"
#include "base/reaper.h"
#include "base/subprocess.h"
#include "runtime/cgroups.h"
#include "runtime/common.h"
#include "runtime/oci_runtime.h"
#include "runtime/runtime.h"

namespace berth::runtime::it {

using namespace std::chrono_literals;

inline std::string ReadOrEmpty(const std::string& path) {
  auto text = ReadFile(path);
  return text.ok() ? *text : "";
}

inline bool Eventually(const std::function<bool()>& cond, std::chrono::milliseconds limit = 10s) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (cond()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return cond();
}

inline bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

inline double MillisSince(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

inline int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  return ntohs(a.sin_port);
}

// An HTTP/1.0 GET to 127.0.0.1:port; the whole response or "".
inline std::string HttpGet(int port, const std::string& path) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string out;
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
    std::string req = "GET " + path + " HTTP/1.0\r\nHost: localhost\r\n\r\n";
    if (write(fd, req.data(), req.size()) == static_cast<ssize_t>(req.size())) {
      char buf[4096];
      ssize_t n;
      while ((n = read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
    }
  }
  close(fd);
  return out;
}

class RuntimeIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root";
    if (!FindProgram("runc").ok()) GTEST_SKIP() << "needs runc in PATH";
    ChildReaper::Get();
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    static std::atomic<int> seq{0};
    char tmpl[] = "/tmp/berth-runtime-it-XXXXXX";
    dir_ = mkdtemp(tmpl);
    options_.name = "runc";
    options_.run_dir = dir_ + "/run";
    options_.state_dir = dir_ + "/state";
    options_.cgroup_parent = "berth-test-" + std::to_string(getpid()) + "-" + std::to_string(seq++);
    auto rt = NewRuntime(options_);
    ASSERT_TRUE(rt.ok()) << rt.status().ToString();
    runtime_ = std::move(*rt);
    guard_ = std::make_unique<Guard>(this);
  }

  // Deletes whatever the test left behind, in its destructor (also after a failure).
  struct Guard {
    RuntimeIntegrationTest* t;
    explicit Guard(RuntimeIntegrationTest* test) : t(test) {}
    ~Guard() {
      for (auto* rt : {t->runtime_.get(), t->other_.get()}) {
        if (!rt) continue;
        auto list = rt->List();
        if (list.ok()) {
          for (const auto& c : *list) {
            Status s = rt->Delete(c.id);
            if (!s.ok()) ADD_FAILURE() << "cleanup: " << s.ToString();
          }
        }
      }
      auto mounts = DetectCgroupMounts();
      if (mounts.ok()) (void)RemoveCgroup(*mounts, "/" + t->options_.cgroup_parent);
      (void)RemoveAll(t->dir_);
    }
  };

  void TearDown() override { guard_.reset(); }

  ContainerSpec Spec(const std::string& id, std::vector<std::string> args) {
    ContainerSpec s;
    s.id = id;
    s.image = "host";
    s.args = std::move(args);
    s.limits.pids = 128;
    s.stdout_path = Log(id);
    s.stderr_path = s.stdout_path;
    return s;
  }
  std::string Log(const std::string& id) const { return dir_ + "/" + id + ".log"; }

  // Create + Start; fails the test on error.
  ContainerState Run(const ContainerSpec& spec) {
    Status s = runtime_->Create(spec);
    EXPECT_TRUE(s.ok()) << s.ToString() << "\n" << ReadOrEmpty(spec.stdout_path);
    if (!s.ok()) return {};
    auto st = runtime_->Start(spec.id);
    EXPECT_TRUE(st.ok()) << st.status().ToString();
    return st.ok() ? *st : ContainerState{};
  }

  // The container's exit status (it is our child: we are a subreaper).
  std::optional<int> WaitExit(const ContainerState& st, std::chrono::milliseconds limit = 30s) {
    if (st.pid <= 0) return std::nullopt;
    return ChildReaper::Get().WaitFor(st.pid, limit);
  }

  // Runs a container to its end and returns its output.
  std::string RunToEnd(const ContainerSpec& spec, int* exit_code = nullptr) {
    auto st = WaitExit(Run(spec));
    EXPECT_TRUE(st.has_value()) << spec.id << " did not exit";
    if (exit_code && st) *exit_code = WIFEXITED(*st) ? WEXITSTATUS(*st) : 128 + WTERMSIG(*st);
    return ReadOrEmpty(spec.stdout_path);
  }

  std::string dir_;
  RuntimeOptions options_;
  std::unique_ptr<Runtime> runtime_;
  std::unique_ptr<Runtime> other_;  // a second instance (adoption)
  std::unique_ptr<Guard> guard_;
};

}  // namespace berth::runtime::it
