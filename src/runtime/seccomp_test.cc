#include "runtime/seccomp.h"

#include <gtest/gtest.h>
#include <sched.h>

#include <algorithm>
#include <set>

namespace berth::runtime {
namespace {

using nlohmann::json;

// Every rule naming `syscall`.
std::vector<json> RulesFor(const json& profile, const std::string& syscall) {
  std::vector<json> out;
  for (const auto& r : profile["syscalls"]) {
    for (const auto& n : r["names"]) {
      if (n == syscall) out.push_back(r);
    }
  }
  return out;
}

TEST(SeccompTest, DefaultDeniesWithEperm) {
  json p = DefaultSeccompProfile();
  EXPECT_EQ(p["defaultAction"], "SCMP_ACT_ERRNO");
  EXPECT_EQ(p["defaultErrnoRet"], 1);
#if defined(__x86_64__)
  EXPECT_EQ(p["architectures"], json({"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"}));
#endif
  for (const auto& r : p["syscalls"]) {
    ASSERT_TRUE(r.contains("names") && r["names"].is_array() && !r["names"].empty());
    ASSERT_TRUE(r.contains("action"));
  }
}

TEST(SeccompTest, AllowsWhatPythonPostgresAndGunicornUse) {
  json p = DefaultSeccompProfile();
  for (const char* sc :
       {"read",        "write",   "openat",          "mmap",      "futex",           "epoll_wait",
        "epoll_pwait", "accept4", "clock_nanosleep", "execve",    "wait4",           "pipe2",
        "eventfd2",    "shmget",  "shmat",           "semop",     "fallocate",       "sync_file_range",
        "getrandom",   "rseq",    "statx",           "prlimit64", "set_robust_list", "sched_getaffinity",
        "setuid",      "chroot"}) {
    auto rules = RulesFor(p, sc);
    ASSERT_EQ(rules.size(), 1u) << sc;
    EXPECT_EQ(rules[0]["action"], "SCMP_ACT_ALLOW") << sc;
    EXPECT_FALSE(rules[0].contains("args")) << sc;
  }
}

TEST(SeccompTest, DangerousSyscallsAreNotAllowed) {
  json p = DefaultSeccompProfile();
  for (const char* sc : {"mount",
                         "umount2",
                         "unshare",
                         "setns",
                         "pivot_root",
                         "ptrace",
                         "bpf",
                         "perf_event_open",
                         "kexec_load",
                         "kexec_file_load",
                         "init_module",
                         "finit_module",
                         "delete_module",
                         "keyctl",
                         "add_key",
                         "request_key",
                         "reboot",
                         "swapon",
                         "swapoff",
                         "userfaultfd",
                         "open_by_handle_at",
                         "process_vm_readv",
                         "process_vm_writev",
                         "io_uring_setup",
                         "sethostname",
                         "settimeofday",
                         "acct",
                         "quotactl",
                         "syslog",
                         "iopl",
                         "ioperm",
                         "fsopen",
                         "fsmount",
                         "move_mount",
                         "open_tree",
                         "lookup_dcookie"}) {
    EXPECT_TRUE(RulesFor(p, sc).empty()) << sc;
  }
}

TEST(SeccompTest, CloneOnlyWithoutNamespaceFlags) {
  json p = DefaultSeccompProfile();
  auto rules = RulesFor(p, "clone");
  ASSERT_EQ(rules.size(), 1u);
  ASSERT_EQ(rules[0]["args"].size(), 1u);
  const json& a = rules[0]["args"][0];
  EXPECT_EQ(a["index"], 0);
  EXPECT_EQ(a["op"], "SCMP_CMP_MASKED_EQ");
  EXPECT_EQ(a["value"], uint64_t{CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID |
                                 CLONE_NEWNET | CLONE_NEWCGROUP});
  EXPECT_EQ(a["value"], 2114060288u);  // moby's constant
  EXPECT_EQ(a.value("valueTwo", 0), 0);
}

TEST(SeccompTest, Clone3FailsWithEnosys) {
  auto rules = RulesFor(DefaultSeccompProfile(), "clone3");
  ASSERT_EQ(rules.size(), 1u);
  EXPECT_EQ(rules[0]["action"], "SCMP_ACT_ERRNO");
  EXPECT_EQ(rules[0]["errnoRet"], 38);
}

TEST(SeccompTest, PersonalityLimitedToSafeValues) {
  std::set<uint64_t> values;
  for (const auto& r : RulesFor(DefaultSeccompProfile(), "personality")) {
    ASSERT_EQ(r["args"].size(), 1u);
    EXPECT_EQ(r["args"][0]["op"], "SCMP_CMP_EQ");
    values.insert(r["args"][0]["value"].get<uint64_t>());
  }
  EXPECT_EQ(values, (std::set<uint64_t>{0x0, 0x8, 0x20000, 0x20008, 0xffffffff}));
}

TEST(SeccompTest, NoDuplicateNames) {
  auto list = AllowedSyscalls();
  std::sort(list.begin(), list.end());
  EXPECT_EQ(std::adjacent_find(list.begin(), list.end()), list.end());
}

}  // namespace
}  // namespace berth::runtime
