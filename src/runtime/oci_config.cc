#include "runtime/oci_config.h"

#include <algorithm>
#include <cmath>

#include "base/fs.h"
#include "runtime/common.h"
#include "runtime/seccomp.h"

namespace berth::runtime {
namespace {

using nlohmann::json;

json Mount(const std::string& dest, const std::string& type, const std::string& source,
           std::vector<std::string> options) {
  return {{"destination", dest}, {"type", type}, {"source", source}, {"options", std::move(options)}};
}

json SystemMounts(bool has_var) {
  json m = json::array();
  m.push_back(Mount("/proc", "proc", "proc", {"nosuid", "noexec", "nodev"}));
  m.push_back(Mount("/dev", "tmpfs", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k"}));
  m.push_back(Mount("/dev/pts", "devpts", "devpts",
                    {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}));
  m.push_back(Mount("/dev/shm", "tmpfs", "shm", {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}));
  m.push_back(Mount("/dev/mqueue", "mqueue", "mqueue", {"nosuid", "noexec", "nodev"}));
  m.push_back(Mount("/sys", "sysfs", "sysfs", {"nosuid", "noexec", "nodev", "ro"}));
  m.push_back(Mount("/sys/fs/cgroup", "cgroup", "cgroup", {"nosuid", "noexec", "nodev", "relatime", "ro"}));
  m.push_back(Mount("/tmp", "tmpfs", "tmpfs", {"nosuid", "nodev", "mode=1777"}));
  m.push_back(Mount("/run", "tmpfs", "tmpfs", {"nosuid", "nodev", "mode=755"}));
  if (has_var) m.push_back(Mount("/var/tmp", "tmpfs", "tmpfs", {"nosuid", "nodev", "mode=1777"}));
  return m;
}

void AddHostImageMounts(const OciInputs& in, json& mounts) {
  mounts.push_back(Mount("/usr", "bind", "/usr", {"rbind", "ro", "nosuid", "nodev"}));
  for (const auto& e : in.host_etc) {
    std::string target = "/etc/" + e.name;
    if (e.kind == EtcEntry::Kind::kSymlink || BindTargets(in.spec->binds, target)) continue;
    const char* bind = e.kind == EtcEntry::Kind::kDir ? "rbind" : "bind";
    mounts.push_back(Mount(target, "bind", target, {bind, "ro", "nosuid", "nodev", "noexec"}));
  }
}

size_t Depth(const std::string& path) {
  return std::count(path.begin(), path.end(), '/');
}

// Binds and extra tmpfs mounts, parents before children so a bind below a tmpfs (or
// another bind) is not hidden by it.
void AddUserMounts(const ContainerSpec& spec, json& mounts) {
  struct Entry {
    std::string target;
    json mount;
  };
  std::vector<Entry> entries;
  for (const auto& b : spec.binds) {
    std::string target = AbsolutePath("/", b.target);
    entries.push_back(
        {target, Mount(target, "bind", b.source, {"rbind", b.read_only ? "ro" : "rw", "nosuid", "nodev"})});
  }
  for (const auto& t : spec.tmpfs) {
    std::string target = AbsolutePath("/", t.target);
    std::vector<std::string> options = {"nosuid", "nodev", "mode=1777"};
    if (t.tmpfs_size > 0) options.push_back("size=" + std::to_string(t.tmpfs_size));
    if (t.read_only) options.push_back("ro");
    entries.push_back({target, Mount(target, "tmpfs", "tmpfs", options)});
  }
  std::stable_sort(entries.begin(), entries.end(),
                   [](const Entry& a, const Entry& b) { return Depth(a.target) < Depth(b.target); });
  for (auto& e : entries) mounts.push_back(std::move(e.mount));
}

// With an init, it is PID 1 and runs the program as its child (signals reach the
// program's default handlers; zombies are reaped).
json ProcessArgs(const ContainerSpec& spec) {
  if (spec.init_path.empty()) return spec.args;
  json args = {kInitTarget, "--"};
  for (const auto& a : spec.args) args.push_back(a);
  return args;
}

json Process(const OciInputs& in) {
  const ContainerSpec& spec = *in.spec;
  json caps = DefaultCapabilities();
  json none = json::array();
  bool root = in.user.uid == 0;
  json user = {{"uid", in.user.uid}, {"gid", in.user.gid}};
  if (!in.user.additional_gids.empty()) user["additionalGids"] = in.user.additional_gids;
  return {
      {"terminal", false},
      {"user", user},
      {"args", ProcessArgs(spec)},
      {"env", WithDefaultEnv(spec.env, in.user.home)},
      {"cwd", spec.working_dir.empty() ? "/" : AbsolutePath("/", spec.working_dir)},
      {"capabilities",
       {{"bounding", caps}, {"effective", root ? caps : none}, {"permitted", root ? caps : none}}},
      {"rlimits", {{{"type", "RLIMIT_NOFILE"}, {"hard", in.nofile}, {"soft", in.nofile}}}},
      {"noNewPrivileges", true},
  };
}

json Resources(const spec::Resources& limits) {
  json r = {{"devices", {{{"allow", false}, {"access", "rwm"}}}}};
  if (limits.memory_bytes > 0) r["memory"] = {{"limit", limits.memory_bytes}};
  if (int64_t quota = CpuQuota(limits.cpus); quota > 0)
    r["cpu"] = {{"quota", quota}, {"period", kCpuPeriodUs}};
  if (limits.pids > 0) r["pids"] = {{"limit", limits.pids}};
  return r;
}

json Linux(const OciInputs& in) {
  const ContainerSpec& spec = *in.spec;
  json ns = {{{"type", "pid"}}, {{"type", "ipc"}}, {{"type", "uts"}}, {{"type", "mount"}}};
  if (!spec.netns_path.empty()) ns.push_back({{"type", "network"}, {"path", spec.netns_path}});
  json linux = {
      {"cgroupsPath", "/" + in.cgroup_parent + "/" + spec.id},
      {"resources", Resources(spec.limits)},
      {"namespaces", ns},
      {"maskedPaths",
       {"/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
        "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware",
        "/sys/devices/virtual/powercap"}},
      {"readonlyPaths", {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"}},
  };
  if (in.seccomp) linux["seccomp"] = DefaultSeccompProfile();
  return linux;
}

}  // namespace

const std::vector<std::string>& DefaultCapabilities() {
  static const std::vector<std::string>* caps = new std::vector<std::string>{
      "CAP_CHOWN",   "CAP_DAC_OVERRIDE", "CAP_FSETID",           "CAP_FOWNER",
      "CAP_MKNOD",   "CAP_NET_RAW",      "CAP_SETGID",           "CAP_SETUID",
      "CAP_SETFCAP", "CAP_SETPCAP",      "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT",
      "CAP_KILL",    "CAP_AUDIT_WRITE",
  };
  return *caps;
}

int64_t CpuQuota(double cpus) {
  if (!(cpus > 0)) return 0;
  return std::max<int64_t>(1000, std::llround(cpus * static_cast<double>(kCpuPeriodUs)));
}

std::string HostnameFromId(const std::string& id) {
  std::string h = id;
  std::replace(h.begin(), h.end(), '.', '-');
  std::replace(h.begin(), h.end(), '_', '-');
  if (h.size() > 63) h.resize(63);
  return h;
}

nlohmann::json BuildOciConfig(const OciInputs& in) {
  const ContainerSpec& spec = *in.spec;
  json mounts = SystemMounts(in.image_has_var);
  if (in.host_image) AddHostImageMounts(in, mounts);
  if (!spec.init_path.empty())  // on /dev's tmpfs: the image is never written to
    mounts.push_back(Mount(kInitTarget, "bind", spec.init_path, {"bind", "ro", "nosuid", "nodev"}));
  AddUserMounts(spec, mounts);
  return {
      {"ociVersion", "1.0.2"},
      {"process", Process(in)},
      {"root", {{"path", in.root_path}, {"readonly", true}}},
      {"hostname", spec.hostname.empty() ? HostnameFromId(spec.id) : spec.hostname},
      {"mounts", mounts},
      {"linux", Linux(in)},
  };
}

}  // namespace berth::runtime
