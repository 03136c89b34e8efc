// The container cgroups the OCI runtime makes, read and cleaned up directly.
//
// Stats come from the cgroup files (no runc process per sample): on cgroup v1 from the
// memory, cpuacct and pids hierarchies, on cgroup v2 from the unified one. On a hybrid
// host (v1 controllers plus an empty cgroup2 mount, as on the Berth dev machines) the
// v1 files are authoritative. Cleanup looks in every mounted hierarchy, because runc
// may leave an empty directory behind in one it does not manage (name=systemd, the
// unified mount of a hybrid host).
//
// Thread-safety: CgroupMounts is an immutable value; the functions touch only the cgroup
// path they are given.
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "runtime/runtime.h"

namespace berth::runtime {

struct CgroupMounts {
  bool unified_only = false;              // pure cgroup v2 host
  std::string unified;                    // the cgroup2 mount point, "" if none
  std::map<std::string, std::string> v1;  // controller ("memory", "name=systemd") -> mount point

  // Every distinct mount point (v1 hierarchies and the unified one).
  std::vector<std::string> MountPoints() const;
  // The v1 mount of `controller`, "" if not mounted.
  std::string V1(const std::string& controller) const;
};

// Parses /proc/self/mountinfo text. `unified_only` is left false (see DetectCgroupMounts).
CgroupMounts ParseCgroupMounts(std::string_view mountinfo);

// Reads /proc/self/mountinfo and statfs(/sys/fs/cgroup) (== CGROUP2_SUPER_MAGIC: pure v2).
StatusOr<CgroupMounts> DetectCgroupMounts();

// Usage of the cgroup at `path` ("/berth/shop.api.1"). NotFound when no hierarchy has it.
StatusOr<Usage> ReadCgroupUsage(const CgroupMounts& mounts, const std::string& path);

// The "NAME value" line of a flat-keyed cgroup file (memory.events, cpu.stat,
// memory.oom_control); 0 when absent.
int64_t FlatKeyedValue(std::string_view text, std::string_view key);

// A cgroup limit file's value: "max" and v1's "unlimited" sentinel (>= 2^62) are 0.
int64_t ParseLimit(std::string_view text);

// The hierarchies in which a directory for `path` exists.
std::vector<std::string> ExistingCgroupDirs(const CgroupMounts& mounts, const std::string& path);

// Removes the cgroup directory `path` from every hierarchy. Processes still in it are
// SIGKILLed (they belong to the container being deleted) and the removal is retried
// until `wait` has passed. Absent is ok.
Status RemoveCgroup(const CgroupMounts& mounts, const std::string& path,
                    std::chrono::milliseconds wait = std::chrono::milliseconds(2000));

}  // namespace berth::runtime
