#include "runtime/seccomp.h"

#include <sched.h>
#include <sys/personality.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstdint>

namespace berth::runtime {
namespace {

using nlohmann::json;

// Grouped by what a program uses them for; unknown names on an architecture are
// ignored by runc and crun, so 32-bit variants can be listed alongside.
// clang-format off
const char* const kAllowed[] = {
    // processes and threads
    "arch_prctl", "capget", "capset", "execve", "execveat", "exit", "exit_group", "fork", "vfork",
    "get_robust_list", "set_robust_list", "get_thread_area", "set_thread_area", "set_tid_address", "getpid",
    "getppid", "gettid", "getpgid", "setpgid", "getpgrp", "getsid", "setsid", "prctl", "rseq", "membarrier",
    "modify_ldt", "pidfd_open", "pidfd_send_signal", "process_mrelease", "wait4", "waitid", "waitpid",
    "chroot",
    // credentials
    "getuid", "getuid32", "geteuid", "geteuid32", "getgid", "getgid32", "getegid", "getegid32", "getresuid",
    "getresuid32", "getresgid", "getresgid32", "getgroups", "getgroups32", "setuid", "setuid32", "setgid",
    "setgid32", "setreuid", "setreuid32", "setregid", "setregid32", "setresuid", "setresuid32", "setresgid",
    "setresgid32", "setfsuid", "setfsuid32", "setfsgid", "setfsgid32", "setgroups", "setgroups32",
    // signals and timers
    "alarm", "kill", "tkill", "tgkill", "pause", "rt_sigaction", "rt_sigpending", "rt_sigprocmask",
    "rt_sigqueueinfo", "rt_tgsigqueueinfo", "rt_sigreturn", "rt_sigsuspend", "rt_sigtimedwait",
    "rt_sigtimedwait_time64", "sigaltstack", "signalfd", "signalfd4", "sigprocmask", "sigreturn",
    "getitimer", "setitimer", "timer_create", "timer_delete", "timer_getoverrun", "timer_gettime",
    "timer_gettime64", "timer_settime", "timer_settime64", "timerfd_create", "timerfd_gettime",
    "timerfd_gettime64", "timerfd_settime", "timerfd_settime64", "restart_syscall",
    // time
    "clock_getres", "clock_getres_time64", "clock_gettime", "clock_gettime64", "clock_nanosleep",
    "clock_nanosleep_time64", "gettimeofday", "nanosleep", "time", "times", "adjtimex", "clock_adjtime",
    "clock_adjtime64",
    // memory
    "brk", "madvise", "mincore", "mlock", "mlock2", "mlockall", "munlock", "munlockall", "mmap", "mmap2",
    "mprotect", "mremap", "msync", "munmap", "remap_file_pages", "memfd_create", "pkey_alloc", "pkey_free",
    "pkey_mprotect",
    // files and directories
    "access", "faccessat", "faccessat2", "chdir", "fchdir", "getcwd", "chmod", "fchmod", "fchmodat", "chown",
    "chown32", "fchown", "fchown32", "fchownat", "lchown", "lchown32", "close", "close_range", "creat",
    "open", "openat", "openat2", "name_to_handle_at", "dup", "dup2", "dup3", "fcntl", "fcntl64", "flock",
    "fadvise64", "fadvise64_64", "fallocate", "fdatasync", "fsync", "sync", "syncfs", "sync_file_range",
    "ftruncate", "ftruncate64", "truncate", "truncate64", "getdents", "getdents64", "link", "linkat",
    "symlink", "symlinkat", "unlink", "unlinkat", "rename", "renameat", "renameat2", "mkdir", "mkdirat",
    "rmdir", "mknod", "mknodat", "readlink", "readlinkat", "stat", "stat64", "lstat", "lstat64", "fstat",
    "fstat64", "fstatat64", "newfstatat", "statx", "statfs", "statfs64", "fstatfs", "fstatfs64", "umask",
    "utime", "utimes", "utimensat", "utimensat_time64", "futimesat", "getxattr", "lgetxattr", "fgetxattr",
    "setxattr", "lsetxattr", "fsetxattr", "listxattr", "llistxattr", "flistxattr", "removexattr",
    "lremovexattr", "fremovexattr", "inotify_init", "inotify_init1", "inotify_add_watch", "inotify_rm_watch",
    "fanotify_mark",
    // I/O
    "read", "readv", "pread64", "preadv", "preadv2", "write", "writev", "pwrite64", "pwritev", "pwritev2",
    "lseek", "_llseek", "readahead", "sendfile", "sendfile64", "splice", "tee", "vmsplice",
    "copy_file_range", "ioctl", "pipe", "pipe2", "io_setup", "io_destroy", "io_submit", "io_cancel",
    "io_getevents", "io_pgetevents", "io_pgetevents_time64", "ioprio_get", "ioprio_set",
    // polling and events
    "poll", "ppoll", "ppoll_time64", "select", "_newselect", "pselect6", "pselect6_time64", "epoll_create",
    "epoll_create1", "epoll_ctl", "epoll_ctl_old", "epoll_wait", "epoll_wait_old", "epoll_pwait",
    "epoll_pwait2", "eventfd", "eventfd2", "futex", "futex_time64", "futex_waitv",
    // sockets (socket itself is conditional)
    "accept", "accept4", "bind", "connect", "listen", "getpeername", "getsockname", "getsockopt",
    "setsockopt", "recv", "recvfrom", "recvmsg", "recvmmsg", "recvmmsg_time64", "send", "sendto", "sendmsg",
    "sendmmsg", "shutdown", "socketpair", "socketcall",
    // System V and POSIX IPC
    "ipc", "msgctl", "msgget", "msgrcv", "msgsnd", "semctl", "semget", "semop", "semtimedop",
    "semtimedop_time64", "shmat", "shmctl", "shmdt", "shmget", "mq_getsetattr", "mq_notify", "mq_open",
    "mq_timedreceive", "mq_timedreceive_time64", "mq_timedsend", "mq_timedsend_time64", "mq_unlink",
    // scheduling, limits, system information
    "getcpu", "getpriority", "setpriority", "getrandom", "getrlimit", "ugetrlimit", "setrlimit", "prlimit64",
    "getrusage", "sched_getaffinity", "sched_setaffinity", "sched_getattr", "sched_setattr",
    "sched_getparam", "sched_setparam", "sched_get_priority_max", "sched_get_priority_min",
    "sched_getscheduler", "sched_setscheduler", "sched_rr_get_interval", "sched_rr_get_interval_time64",
    "sched_yield", "sysinfo", "uname", "seccomp", "landlock_add_rule", "landlock_create_ruleset",
    "landlock_restrict_self",
};
// clang-format on

constexpr uint64_t kNamespaceFlags =
    CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWCGROUP;

json Arg(int index, uint64_t value, const char* op, uint64_t value_two = 0) {
  json a = {{"index", index}, {"value", value}, {"op", op}};
  if (value_two != 0) a["valueTwo"] = value_two;
  return a;
}

// `args` must be built with json::array(...): a one-element braced list of a json
// object is that object with one compiler and an array of it with another.
json Rule(std::vector<std::string> names, json args = json::array()) {
  json r = {{"names", std::move(names)}, {"action", "SCMP_ACT_ALLOW"}};
  if (!args.empty()) r["args"] = std::move(args);
  return r;
}

json Architectures() {
#if defined(__x86_64__)
  return {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"};
#elif defined(__aarch64__)
  return {"SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"};
#else
  return json::array();  // native architecture only
#endif
}

}  // namespace

const std::vector<std::string>& AllowedSyscalls() {
  static const std::vector<std::string>* list =
      new std::vector<std::string>(std::begin(kAllowed), std::end(kAllowed));
  return *list;
}

nlohmann::json DefaultSeccompProfile() {
  json rules = json::array();
  rules.push_back(Rule(AllowedSyscalls()));
  // clone(flags, ...) with no namespace flag: threads and fork, never a new namespace.
  rules.push_back(Rule({"clone"}, json::array({Arg(0, kNamespaceFlags, "SCMP_CMP_MASKED_EQ", 0)})));
  // clone3 passes flags in memory, which seccomp cannot inspect: make glibc fall back.
  rules.push_back({{"names", {"clone3"}}, {"action", "SCMP_ACT_ERRNO"}, {"errnoRet", ENOSYS}});
  const uint64_t linux = PER_LINUX, linux32 = PER_LINUX32, uname26 = UNAME26;
  for (uint64_t persona :
       {linux, linux32, uname26 | linux, uname26 | linux32, uint64_t{0xffffffff} /* query */}) {
    rules.push_back(Rule({"personality"}, json::array({Arg(0, persona, "SCMP_CMP_EQ")})));
  }
  rules.push_back(Rule({"socket"}, json::array({Arg(0, AF_VSOCK, "SCMP_CMP_NE")})));
  return {{"defaultAction", "SCMP_ACT_ERRNO"},
          {"defaultErrnoRet", EPERM},
          {"architectures", Architectures()},
          {"syscalls", std::move(rules)}};
}

}  // namespace berth::runtime
