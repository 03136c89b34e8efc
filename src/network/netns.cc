#include "network/netns.h"

#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/reaper.h"

#ifndef NSFS_MAGIC
#define NSFS_MAGIC 0x6e736673
#endif

namespace berth::network {

namespace {

// In the child: async-signal-safe syscalls only. Returns an errno-style step code.
int MakeNamespace(const char* path) {
  if (unshare(CLONE_NEWNET) != 0) return 1;
  if (mount("/proc/self/ns/net", path, nullptr, MS_BIND, nullptr) != 0) return 2;
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) return 3;
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
  if (ioctl(s, SIOCGIFFLAGS, &ifr) != 0) return 4;
  ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP);
  if (ioctl(s, SIOCSIFFLAGS, &ifr) != 0) return 5;
  close(s);
  return 0;
}

}  // namespace

bool IsNetns(const std::string& path) {
  struct statfs fs;
  return statfs(path.c_str(), &fs) == 0 && static_cast<unsigned long>(fs.f_type) == NSFS_MAGIC;
}

Status CreateNetns(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0);
  if (fd < 0) return ErrnoStatus("create netns " + path);
  close(fd);
  ChildReaper::Get();
  int err_pipe[2];
  if (pipe2(err_pipe, O_CLOEXEC) != 0) {
    unlink(path.c_str());
    return ErrnoStatus("create netns: pipe");
  }
  pid_t pid = fork();
  if (pid < 0) {
    int e = errno;
    close(err_pipe[0]);
    close(err_pipe[1]);
    unlink(path.c_str());
    return ErrnoStatus("create netns: fork", e);
  }
  if (pid == 0) {
    int step = MakeNamespace(path.c_str());
    int report[2] = {step, errno};
    if (step != 0) {
      ssize_t w = write(err_pipe[1], report, sizeof report);
      (void)w;
    }
    _exit(step);
  }
  close(err_pipe[1]);
  int report[2] = {0, 0};
  ssize_t n = read(err_pipe[0], report, sizeof report);
  close(err_pipe[0]);
  ChildReaper::Get().Wait(pid);
  if (n == static_cast<ssize_t>(sizeof report) && report[0] != 0) {
    static const char* kSteps[] = {"", "unshare", "bind mount", "socket", "get lo flags", "set lo up"};
    umount2(path.c_str(), MNT_DETACH);
    unlink(path.c_str());
    return ErrnoStatus(std::string("create netns ") + path + ": " + kSteps[report[0]], report[1]);
  }
  return OkStatus();
}

Status DeleteNetns(const std::string& path) {
  if (umount2(path.c_str(), MNT_DETACH) != 0 && errno != EINVAL && errno != ENOENT)
    return ErrnoStatus("unmount netns " + path);
  if (unlink(path.c_str()) != 0 && errno != ENOENT) return ErrnoStatus("remove netns " + path);
  return OkStatus();
}

}  // namespace berth::network
