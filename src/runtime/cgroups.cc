#include "runtime/cgroups.h"

#include <signal.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <set>
#include <thread>

#include "base/fs.h"

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

namespace berth::runtime {
namespace {

const std::set<std::string>& KnownControllers() {
  static const std::set<std::string>* c =
      new std::set<std::string>{"cpu",   "cpuacct",    "cpuset",   "memory",  "devices", "freezer", "net_cls",
                                "blkio", "perf_event", "net_prio", "hugetlb", "pids",    "rdma",    "misc"};
  return *c;
}

std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t end = s.find(sep, start);
    if (end == std::string_view::npos) end = s.size();
    out.push_back(s.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

int64_t ToInt(std::string_view s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.remove_suffix(1);
  int64_t v = 0;
  std::from_chars(s.data(), s.data() + s.size(), v);
  return v;
}

// Reads a cgroup file as a number; `found` tells whether the file was there.
int64_t ReadInt(const std::string& path, bool* found = nullptr) {
  auto text = ReadFile(path);
  if (found) *found = text.ok();
  return text.ok() ? ToInt(*text) : 0;
}

std::string ReadText(const std::string& path) {
  auto text = ReadFile(path);
  return text.ok() ? *text : "";
}

void KillProcsIn(const std::string& dir) {
  std::string procs = ReadText(JoinPath(dir, "cgroup.procs"));
  for (auto line : Split(procs, '\n')) {
    int64_t pid = ToInt(line);
    if (pid > 0) kill(static_cast<pid_t>(pid), SIGKILL);
  }
}

}  // namespace

std::vector<std::string> CgroupMounts::MountPoints() const {
  std::set<std::string> seen;
  std::vector<std::string> out;
  for (const auto& [controller, mp] : v1) {
    if (seen.insert(mp).second) out.push_back(mp);
  }
  if (!unified.empty() && seen.insert(unified).second) out.push_back(unified);
  return out;
}

std::string CgroupMounts::V1(const std::string& controller) const {
  auto it = v1.find(controller);
  return it == v1.end() ? "" : it->second;
}

CgroupMounts ParseCgroupMounts(std::string_view mountinfo) {
  CgroupMounts m;
  for (auto line : Split(mountinfo, '\n')) {
    auto fields = Split(line, ' ');
    size_t dash = 0;
    while (dash < fields.size() && fields[dash] != "-") ++dash;
    if (dash < 5 || dash + 3 >= fields.size()) continue;
    std::string mount_point(fields[4]);
    std::string_view fstype = fields[dash + 1];
    if (fstype == "cgroup2") {
      if (m.unified.empty()) m.unified = mount_point;
    } else if (fstype == "cgroup") {
      for (auto opt : Split(fields[dash + 3], ',')) {
        std::string o(opt);
        if (KnownControllers().count(o) || o.rfind("name=", 0) == 0) m.v1.emplace(o, mount_point);
      }
    }
  }
  return m;
}

StatusOr<CgroupMounts> DetectCgroupMounts() {
  BERTH_ASSIGN_OR_RETURN(std::string text, ReadFile("/proc/self/mountinfo"));
  CgroupMounts m = ParseCgroupMounts(text);
  struct statfs fs;
  if (statfs("/sys/fs/cgroup", &fs) == 0 && fs.f_type == CGROUP2_SUPER_MAGIC) {
    m.unified_only = true;
    m.unified = "/sys/fs/cgroup";
    m.v1.clear();
  }
  return m;
}

int64_t FlatKeyedValue(std::string_view text, std::string_view key) {
  for (auto line : Split(text, '\n')) {
    if (line.size() > key.size() && line.compare(0, key.size(), key) == 0 && line[key.size()] == ' ')
      return ToInt(line.substr(key.size() + 1));
  }
  return 0;
}

int64_t ParseLimit(std::string_view text) {
  if (text.rfind("max", 0) == 0) return 0;
  int64_t v = ToInt(text);
  return v >= (int64_t{1} << 62) ? 0 : v;
}

StatusOr<Usage> ReadCgroupUsage(const CgroupMounts& mounts, const std::string& path) {
  Usage u;
  bool found = false;
  if (!mounts.V1("memory").empty()) {
    std::string mem = JoinPath(mounts.V1("memory"), path);
    u.memory_bytes = ReadInt(JoinPath(mem, "memory.usage_in_bytes"), &found);
    u.memory_limit = ParseLimit(ReadText(JoinPath(mem, "memory.limit_in_bytes")));
    u.oom_kills = FlatKeyedValue(ReadText(JoinPath(mem, "memory.oom_control")), "oom_kill");
    if (!mounts.V1("cpuacct").empty())
      u.cpu_ns = ReadInt(JoinPath(JoinPath(mounts.V1("cpuacct"), path), "cpuacct.usage"));
    if (!mounts.V1("pids").empty())
      u.pids = ReadInt(JoinPath(JoinPath(mounts.V1("pids"), path), "pids.current"));
  } else if (!mounts.unified.empty()) {
    std::string dir = JoinPath(mounts.unified, path);
    u.cpu_ns = FlatKeyedValue(ReadText(JoinPath(dir, "cpu.stat")), "usage_usec") * 1000;
    found = PathExists(JoinPath(dir, "cgroup.procs"));
    u.memory_bytes = ReadInt(JoinPath(dir, "memory.current"));
    u.memory_limit = ParseLimit(ReadText(JoinPath(dir, "memory.max")));
    u.oom_kills = FlatKeyedValue(ReadText(JoinPath(dir, "memory.events")), "oom_kill");
    u.pids = ReadInt(JoinPath(dir, "pids.current"));
  }
  if (!found) return NotFound("no cgroup " + path);
  return u;
}

std::vector<std::string> ExistingCgroupDirs(const CgroupMounts& mounts, const std::string& path) {
  std::vector<std::string> out;
  for (const auto& mp : mounts.MountPoints()) {
    std::string dir = JoinPath(mp, path);
    struct stat st;
    if (stat(dir.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) out.push_back(dir);
  }
  return out;
}

Status RemoveCgroup(const CgroupMounts& mounts, const std::string& path, std::chrono::milliseconds wait) {
  if (path.empty() || path == "/") return InvalidArgument("refusing to remove cgroup \"" + path + "\"");
  auto deadline = std::chrono::steady_clock::now() + wait;
  for (;;) {
    std::vector<std::string> left;
    int last_errno = 0;
    for (const auto& dir : ExistingCgroupDirs(mounts, path)) {
      if (rmdir(dir.c_str()) == 0 || errno == ENOENT) continue;
      last_errno = errno;
      if (errno == EBUSY) KillProcsIn(dir);
      left.push_back(dir);
    }
    if (left.empty()) return OkStatus();
    if (std::chrono::steady_clock::now() >= deadline)
      return ErrnoStatus("remove cgroup " + left.front(), last_errno);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

}  // namespace berth::runtime
