// The OCI runtime-spec config.json of a Berth container: a pure function of the
// ContainerSpec and facts resolved beforehand (the user's ids, the host's /etc entries,
// the rootfs directory), so every field can be checked by table tests without root.
//
// What every container gets (Docker's defaults, tightened where noted):
//   - root read-only; tmpfs /tmp (1777), /run (755), /var/tmp (1777) when the image has
//     /var; proc, sysfs (ro), cgroup (ro); /dev as tmpfs with runc's standard devices,
//     /dev/pts, /dev/shm, /dev/mqueue;
//   - host image: host /usr bound read-only (rbind, ro, nosuid, nodev) and each present
//     allowlisted /etc file or directory bound read-only; a bind whose target is one of
//     those /etc paths replaces it;
//   - user binds and extra tmpfs mounts after the system mounts, parents before children;
//   - namespaces pid, ipc, uts, mount; network only when netns_path is set (else the host
//     network); cgroupsPath /<cgroup_parent>/<id>;
//   - Docker's default capabilities in bounding; also effective and permitted for uid 0
//     only (a non-root user gets none, as in current Docker); none inheritable or ambient;
//     noNewPrivileges; Docker's masked and read-only /proc and /sys paths; RLIMIT_NOFILE
//     65536 (OciInputs.nofile); the default seccomp profile (seccomp.h);
//   - resources: memory limit (no swap setting: hosts without swap accounting reject it),
//     CPU quota over a 100 ms period, pids limit, all devices denied but runc's defaults.
//
// Thread-safety: pure.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "runtime/host_image.h"
#include "runtime/runtime.h"
#include "runtime/user.h"

namespace berth::runtime {

inline constexpr int64_t kCpuPeriodUs = 100'000;

struct OciInputs {
  const ContainerSpec* spec = nullptr;
  std::string root_path;  // the bundle's rootfs dir (host) or the image dir (rootfs)
  bool host_image = true;
  std::vector<EtcEntry> host_etc;  // host image: allowlisted /etc entries on the host
  bool image_has_var = true;       // adds the /var/tmp tmpfs
  ResolvedUser user;
  std::string cgroup_parent = "berth";
  // RLIMIT_NOFILE soft and hard: 65536 unless berthd cannot raise its own hard limit
  // that far (no CAP_SYS_RESOURCE, as in some sandboxes): then that hard limit.
  int64_t nofile = 65536;
  bool seccomp = true;  // false only for tests that compare without it
};

nlohmann::json BuildOciConfig(const OciInputs& in);

// Docker's default capability set, "CAP_"-prefixed as the OCI spec wants.
const std::vector<std::string>& DefaultCapabilities();

// CFS quota (µs per kCpuPeriodUs) for a CPU count: 0.5 -> 50000; at least 1000 (the
// kernel's minimum); 0 for cpus <= 0 (unlimited).
int64_t CpuQuota(double cpus);

// "shop.api.1" -> "shop-api-1": a valid host name from a container id.
std::string HostnameFromId(const std::string& id);

}  // namespace berth::runtime
