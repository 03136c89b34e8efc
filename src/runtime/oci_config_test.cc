#include "runtime/oci_config.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace berth::runtime {
namespace {

using nlohmann::json;

ContainerSpec BaseSpec() {
  ContainerSpec s;
  s.id = "shop.api.1";
  s.image = "host";
  s.args = {"gunicorn", "-b", "0.0.0.0:8000", "app:app"};
  s.env = {"A=1"};
  s.limits.pids = 256;
  return s;
}

OciInputs HostInputs(const ContainerSpec& spec) {
  OciInputs in;
  in.spec = &spec;
  in.root_path = "/run/berth/bundles/shop.api.1/rootfs";
  in.host_image = true;
  in.host_etc = {{"passwd", EtcEntry::Kind::kFile, ""},
                 {"hosts", EtcEntry::Kind::kFile, ""},
                 {"ssl", EtcEntry::Kind::kDir, ""},
                 {"os-release", EtcEntry::Kind::kSymlink, "../usr/lib/os-release"}};
  in.cgroup_parent = "berth";
  return in;
}

// The mount with this destination, or null.
json MountAt(const json& config, const std::string& dest) {
  json found;
  for (const auto& m : config["mounts"]) {
    if (m["destination"] == dest) found = m;
  }
  return found;
}

size_t CountMountsAt(const json& config, const std::string& dest) {
  return std::count_if(config["mounts"].begin(), config["mounts"].end(),
                       [&](const json& m) { return m["destination"] == dest; });
}

bool HasOption(const json& mount, const std::string& opt) {
  for (const auto& o : mount["options"]) {
    if (o == opt) return true;
  }
  return false;
}

size_t IndexOf(const json& config, const std::string& dest) {
  for (size_t i = 0; i < config["mounts"].size(); ++i) {
    if (config["mounts"][i]["destination"] == dest) return i;
  }
  return SIZE_MAX;
}

TEST(OciConfigTest, ProcessDefaults) {
  ContainerSpec spec = BaseSpec();
  json c = BuildOciConfig(HostInputs(spec));
  EXPECT_EQ(c["ociVersion"], "1.0.2");
  const json& p = c["process"];
  EXPECT_EQ(p["terminal"], false);
  EXPECT_EQ(p["args"], json(spec.args));
  EXPECT_EQ(p["cwd"], "/");
  EXPECT_EQ(p["user"], json({{"uid", 0}, {"gid", 0}}));
  EXPECT_EQ(p["env"],
            json({"A=1", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/"}));
  EXPECT_EQ(p["noNewPrivileges"], true);
  EXPECT_EQ(p["rlimits"], json::parse(R"([{"type":"RLIMIT_NOFILE","hard":65536,"soft":65536}])"));
  EXPECT_EQ(c["hostname"], "shop-api-1");
  EXPECT_EQ(c["root"], json({{"path", "/run/berth/bundles/shop.api.1/rootfs"}, {"readonly", true}}));
}

TEST(OciConfigTest, NofileFollowsTheInput) {
  ContainerSpec spec = BaseSpec();
  OciInputs in = HostInputs(spec);
  in.nofile = 20000;
  EXPECT_EQ(BuildOciConfig(in)["process"]["rlimits"],
            json::parse(R"([{"type":"RLIMIT_NOFILE","hard":20000,"soft":20000}])"));
}

TEST(OciConfigTest, EnvKeepsGivenPathAndHome) {
  ContainerSpec spec = BaseSpec();
  spec.env = {"PATH=/opt/bin", "HOME=/srv"};
  spec.working_dir = "/srv/app/";
  spec.hostname = "api";
  OciInputs in = HostInputs(spec);
  in.user = {33, 33, {4}, "/var/www"};
  json c = BuildOciConfig(in);
  EXPECT_EQ(c["process"]["env"], json({"PATH=/opt/bin", "HOME=/srv"}));
  EXPECT_EQ(c["process"]["cwd"], "/srv/app");
  EXPECT_EQ(c["process"]["user"], json({{"uid", 33}, {"gid", 33}, {"additionalGids", {4}}}));
  EXPECT_EQ(c["hostname"], "api");
}

TEST(OciConfigTest, CapabilitiesAreDockersDefaultAndOnlyRootGetsThemEffective) {
  ContainerSpec spec = BaseSpec();
  OciInputs in = HostInputs(spec);
  json caps = BuildOciConfig(in)["process"]["capabilities"];
  json want = DefaultCapabilities();
  EXPECT_EQ(want.size(), 14u);
  EXPECT_EQ(caps["bounding"], want);
  EXPECT_EQ(caps["effective"], want);
  EXPECT_EQ(caps["permitted"], want);
  EXPECT_FALSE(caps.contains("inheritable"));
  EXPECT_FALSE(caps.contains("ambient"));
  for (const auto& cap : want) {
    EXPECT_NE(cap, "CAP_SYS_ADMIN");
    EXPECT_NE(cap, "CAP_NET_ADMIN");
    EXPECT_NE(cap, "CAP_SYS_PTRACE");
  }
  in.user = {65534, 65534, {}, "/nonexistent"};
  caps = BuildOciConfig(in)["process"]["capabilities"];
  EXPECT_EQ(caps["bounding"], want);
  EXPECT_EQ(caps["effective"], json::array());
  EXPECT_EQ(caps["permitted"], json::array());
}

TEST(OciConfigTest, NamespacesWithoutNetns) {
  ContainerSpec spec = BaseSpec();
  json c = BuildOciConfig(HostInputs(spec));
  EXPECT_EQ(c["linux"]["namespaces"],
            json::parse(R"([{"type":"pid"},{"type":"ipc"},{"type":"uts"},{"type":"mount"}])"));
  EXPECT_EQ(c["linux"]["cgroupsPath"], "/berth/shop.api.1");
}

TEST(OciConfigTest, NamespacesWithNetns) {
  ContainerSpec spec = BaseSpec();
  spec.netns_path = "/run/netns/berth-shop";
  OciInputs in = HostInputs(spec);
  in.cgroup_parent = "berth-test-42";
  json c = BuildOciConfig(in);
  json ns = c["linux"]["namespaces"];
  ASSERT_EQ(ns.size(), 5u);
  EXPECT_EQ(ns[4], json({{"type", "network"}, {"path", "/run/netns/berth-shop"}}));
  EXPECT_EQ(c["linux"]["cgroupsPath"], "/berth-test-42/shop.api.1");
}

TEST(OciConfigTest, MaskedAndReadonlyPathsAndSeccomp) {
  ContainerSpec spec = BaseSpec();
  json l = BuildOciConfig(HostInputs(spec))["linux"];
  for (const char* p : {"/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
                        "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi",
                        "/sys/firmware", "/sys/devices/virtual/powercap"}) {
    EXPECT_NE(std::find(l["maskedPaths"].begin(), l["maskedPaths"].end(), p), l["maskedPaths"].end()) << p;
  }
  EXPECT_EQ(l["readonlyPaths"],
            json({"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"}));
  EXPECT_EQ(l["seccomp"]["defaultAction"], "SCMP_ACT_ERRNO");
  OciInputs in = HostInputs(spec);
  in.seccomp = false;
  EXPECT_FALSE(BuildOciConfig(in)["linux"].contains("seccomp"));
}

struct ResourceCase {
  double cpus;
  int64_t memory;
  int64_t pids;
  const char* want;  // linux.resources without devices
};

class ResourcesTest : public ::testing::TestWithParam<ResourceCase> {};

TEST_P(ResourcesTest, Math) {
  ContainerSpec spec = BaseSpec();
  spec.limits.cpus = GetParam().cpus;
  spec.limits.memory_bytes = GetParam().memory;
  spec.limits.pids = GetParam().pids;
  json r = BuildOciConfig(HostInputs(spec))["linux"]["resources"];
  EXPECT_EQ(r["devices"], json::parse(R"([{"allow":false,"access":"rwm"}])"));
  r.erase("devices");
  EXPECT_EQ(r, json::parse(GetParam().want));
  // Never a swap setting: this host has no swap accounting.
  EXPECT_FALSE(r.contains("memory") && r["memory"].contains("swap"));
}

INSTANTIATE_TEST_SUITE_P(
    Table, ResourcesTest,
    ::testing::Values(
        ResourceCase{
            0.5, 256LL << 20, 256,
            R"({"cpu":{"quota":50000,"period":100000},"memory":{"limit":268435456},"pids":{"limit":256}})"},
        ResourceCase{2, 0, 100, R"({"cpu":{"quota":200000,"period":100000},"pids":{"limit":100}})"},
        ResourceCase{
            0.2, 64LL << 20, 32,
            R"({"cpu":{"quota":20000,"period":100000},"memory":{"limit":67108864},"pids":{"limit":32}})"},
        ResourceCase{0.001, 0, 1, R"({"cpu":{"quota":1000,"period":100000},"pids":{"limit":1}})"},
        ResourceCase{0, 0, 0, R"({})"}));

TEST(OciConfigTest, CpuQuota) {
  EXPECT_EQ(CpuQuota(0.5), 50000);
  EXPECT_EQ(CpuQuota(1.25), 125000);
  EXPECT_EQ(CpuQuota(0.333), 33300);
  EXPECT_EQ(CpuQuota(0.0001), 1000);
  EXPECT_EQ(CpuQuota(0), 0);
  EXPECT_EQ(CpuQuota(-1), 0);
}

TEST(OciConfigTest, SystemMounts) {
  ContainerSpec spec = BaseSpec();
  json c = BuildOciConfig(HostInputs(spec));
  EXPECT_EQ(MountAt(c, "/proc")["type"], "proc");
  EXPECT_EQ(MountAt(c, "/dev")["type"], "tmpfs");
  EXPECT_EQ(MountAt(c, "/dev/pts")["type"], "devpts");
  EXPECT_EQ(MountAt(c, "/dev/shm")["type"], "tmpfs");
  EXPECT_EQ(MountAt(c, "/dev/mqueue")["type"], "mqueue");
  EXPECT_TRUE(HasOption(MountAt(c, "/sys"), "ro"));
  EXPECT_EQ(MountAt(c, "/sys/fs/cgroup")["type"], "cgroup");
  EXPECT_TRUE(HasOption(MountAt(c, "/sys/fs/cgroup"), "ro"));
  EXPECT_TRUE(HasOption(MountAt(c, "/tmp"), "mode=1777"));
  EXPECT_TRUE(HasOption(MountAt(c, "/run"), "mode=755"));
  EXPECT_TRUE(HasOption(MountAt(c, "/var/tmp"), "mode=1777"));
  EXPECT_LT(IndexOf(c, "/dev"), IndexOf(c, "/dev/pts"));
  EXPECT_LT(IndexOf(c, "/sys"), IndexOf(c, "/sys/fs/cgroup"));
}

TEST(OciConfigTest, HostImageMounts) {
  ContainerSpec spec = BaseSpec();
  json c = BuildOciConfig(HostInputs(spec));
  json usr = MountAt(c, "/usr");
  EXPECT_EQ(usr["source"], "/usr");
  for (const char* o : {"rbind", "ro", "nosuid", "nodev"}) EXPECT_TRUE(HasOption(usr, o)) << o;
  json passwd = MountAt(c, "/etc/passwd");
  EXPECT_EQ(passwd["source"], "/etc/passwd");
  EXPECT_TRUE(HasOption(passwd, "bind"));
  EXPECT_TRUE(HasOption(passwd, "ro"));
  EXPECT_TRUE(HasOption(MountAt(c, "/etc/ssl"), "rbind"));
  EXPECT_TRUE(MountAt(c, "/etc/os-release").is_null());  // a symlink in the rootfs instead
  EXPECT_TRUE(MountAt(c, "/etc/shadow").is_null());
}

TEST(OciConfigTest, BindReplacesADefaultEtcFile) {
  ContainerSpec spec = BaseSpec();
  spec.binds = {{"/run/berth/env/shop/hosts", "/etc/hosts", true},
                {"/run/berth/env/shop/hostname", "/etc/hostname", true}};
  json c = BuildOciConfig(HostInputs(spec));
  EXPECT_EQ(CountMountsAt(c, "/etc/hosts"), 1u);
  EXPECT_EQ(MountAt(c, "/etc/hosts")["source"], "/run/berth/env/shop/hosts");
  EXPECT_TRUE(HasOption(MountAt(c, "/etc/hosts"), "ro"));
  EXPECT_EQ(MountAt(c, "/etc/hostname")["source"], "/run/berth/env/shop/hostname");
  EXPECT_EQ(MountAt(c, "/etc/passwd")["source"], "/etc/passwd");
}

TEST(OciConfigTest, UserBindsAndTmpfsOrderedParentsFirst) {
  ContainerSpec spec = BaseSpec();
  spec.binds = {{"/var/lib/berth/volumes/shop/data/secret", "/data/sub/file", true},
                {"/var/lib/berth/volumes/shop/data", "/data", false},
                {"/src/app", "/srv/app", true},
                {"/run/berth/secrets/shop/db_password", "/run/secrets/db_password", true}};
  spec::Mount t;
  t.type = spec::MountType::kTmpfs;
  t.target = "/data/sub";
  t.tmpfs_size = 1 << 20;
  spec.tmpfs = {t};
  json c = BuildOciConfig(HostInputs(spec));
  json data = MountAt(c, "/data");
  EXPECT_EQ(data["type"], "bind");
  EXPECT_TRUE(HasOption(data, "rbind"));
  EXPECT_TRUE(HasOption(data, "rw"));
  EXPECT_FALSE(HasOption(data, "ro"));
  EXPECT_TRUE(HasOption(MountAt(c, "/srv/app"), "ro"));
  json tmp = MountAt(c, "/data/sub");
  EXPECT_EQ(tmp["type"], "tmpfs");
  EXPECT_TRUE(HasOption(tmp, "size=1048576"));
  EXPECT_LT(IndexOf(c, "/data"), IndexOf(c, "/data/sub"));
  EXPECT_LT(IndexOf(c, "/data/sub"), IndexOf(c, "/data/sub/file"));
  EXPECT_LT(IndexOf(c, "/run"), IndexOf(c, "/run/secrets/db_password"));
  EXPECT_LT(IndexOf(c, "/usr"), IndexOf(c, "/srv/app"));
}

TEST(OciConfigTest, RootfsImageMounts) {
  ContainerSpec spec = BaseSpec();
  spec.image = "rootfs:/srv/images/busybox";
  OciInputs in;
  in.spec = &spec;
  in.root_path = "/srv/images/busybox";
  in.host_image = false;
  in.image_has_var = false;
  json c = BuildOciConfig(in);
  EXPECT_EQ(c["root"], json({{"path", "/srv/images/busybox"}, {"readonly", true}}));
  EXPECT_TRUE(MountAt(c, "/usr").is_null());
  EXPECT_TRUE(MountAt(c, "/etc/passwd").is_null());
  EXPECT_TRUE(MountAt(c, "/var/tmp").is_null());
  for (const char* d : {"/proc", "/dev", "/sys", "/tmp", "/run"}) EXPECT_FALSE(MountAt(c, d).is_null()) << d;
  in.image_has_var = true;
  EXPECT_FALSE(MountAt(BuildOciConfig(in), "/var/tmp").is_null());
}

TEST(OciConfigTest, HostnameFromId) {
  EXPECT_EQ(HostnameFromId("shop.api.1"), "shop-api-1");
  EXPECT_EQ(HostnameFromId("a_b.c"), "a-b-c");
  EXPECT_EQ(HostnameFromId(std::string(100, 'x')).size(), 63u);
}

}  // namespace
}  // namespace berth::runtime

namespace berth::runtime {
namespace {

TEST(OciConfigTest, InitRunsAsPid1WithTheProgramAsItsChild) {
  ContainerSpec spec = BaseSpec();
  spec.init_path = "/opt/berth/berth-init";
  json c = BuildOciConfig(HostInputs(spec));
  json want = {kInitTarget, "--", "gunicorn", "-b", "0.0.0.0:8000", "app:app"};
  EXPECT_EQ(c["process"]["args"], want);
  json m = MountAt(c, kInitTarget);
  ASSERT_FALSE(m.is_null());
  EXPECT_EQ(m["source"], "/opt/berth/berth-init");
  EXPECT_TRUE(HasOption(m, "ro"));
  EXPECT_FALSE(HasOption(m, "noexec"));
  EXPECT_GT(IndexOf(c, kInitTarget), IndexOf(c, "/dev"));  // on top of /dev's tmpfs
}

TEST(OciConfigTest, NoInitNoMount) {
  ContainerSpec spec = BaseSpec();
  json c = BuildOciConfig(HostInputs(spec));
  EXPECT_TRUE(MountAt(c, kInitTarget).is_null());
}

}  // namespace
}  // namespace berth::runtime
