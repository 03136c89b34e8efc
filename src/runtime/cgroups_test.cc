#include "runtime/cgroups.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include "base/fs.h"

namespace berth::runtime {
namespace {

// From a cgroup v1 hybrid host (cpu and cpuacct mounted separately) and a v2 host.
constexpr char kHybridMountinfo[] =
    "25 30 0:23 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw\n"
    "26 25 0:24 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
    "27 26 0:25 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
    "28 26 0:26 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct\n"
    "29 26 0:27 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
    "30 26 0:28 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids\n"
    "31 26 0:29 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd\n"
    "32 26 0:30 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n"
    "33 26 0:31 / /sys/fs/cgroup/net_cls,net_prio rw - cgroup cgroup rw,net_cls,net_prio\n";

constexpr char kV2Mountinfo[] =
    "35 24 0:30 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 "
    "rw,nsdelegate,memory_recursiveprot\n";

TEST(CgroupMountsTest, ParsesHybrid) {
  CgroupMounts m = ParseCgroupMounts(kHybridMountinfo);
  EXPECT_EQ(m.V1("cpu"), "/sys/fs/cgroup/cpu");
  EXPECT_EQ(m.V1("cpuacct"), "/sys/fs/cgroup/cpuacct");
  EXPECT_EQ(m.V1("memory"), "/sys/fs/cgroup/memory");
  EXPECT_EQ(m.V1("name=systemd"), "/sys/fs/cgroup/systemd");
  EXPECT_EQ(m.V1("net_prio"), "/sys/fs/cgroup/net_cls,net_prio");
  EXPECT_EQ(m.V1("xattr"), "");
  EXPECT_EQ(m.unified, "/sys/fs/cgroup/unified");
  EXPECT_EQ(m.MountPoints().size(), 7u);  // net_cls and net_prio share one
}

TEST(CgroupMountsTest, ParsesV2) {
  CgroupMounts m = ParseCgroupMounts(kV2Mountinfo);
  EXPECT_TRUE(m.v1.empty());
  EXPECT_EQ(m.unified, "/sys/fs/cgroup");
}

TEST(CgroupMountsTest, DetectOnThisHost) {
  auto m = DetectCgroupMounts();
  ASSERT_TRUE(m.ok());
  EXPECT_FALSE(m->MountPoints().empty());
}

TEST(CgroupFilesTest, FlatKeyedAndLimits) {
  EXPECT_EQ(FlatKeyedValue("oom_kill_disable 0\nunder_oom 0\noom_kill 3\n", "oom_kill"), 3);
  EXPECT_EQ(FlatKeyedValue("low 0\nhigh 0\nmax 5\noom 2\noom_kill 2\noom_group_kill 0\n", "oom_kill"), 2);
  EXPECT_EQ(FlatKeyedValue("usage_usec 123456\nuser_usec 1\n", "usage_usec"), 123456);
  EXPECT_EQ(FlatKeyedValue("", "oom_kill"), 0);
  EXPECT_EQ(ParseLimit("max\n"), 0);
  EXPECT_EQ(ParseLimit("9223372036854771712\n"), 0);
  EXPECT_EQ(ParseLimit("67108864\n"), 67108864);
}

// Fake hierarchies in a temp dir stand in for /sys/fs/cgroup.
class FakeCgroups : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/berth-cgroup-test-XXXXXX";
    root_ = mkdtemp(tmpl);
  }
  void TearDown() override { (void)RemoveAll(root_); }
  void Put(const std::string& rel, const std::string& content) {
    std::string path = root_ + "/" + rel;
    ASSERT_TRUE(MakeDirs(path.substr(0, path.rfind('/'))).ok());
    ASSERT_TRUE(WriteFileAtomic(path, content).ok());
  }
  std::string root_;
};

TEST_F(FakeCgroups, V1Usage) {
  CgroupMounts m;
  m.v1 = {{"memory", root_ + "/memory"}, {"cpuacct", root_ + "/cpuacct"}, {"pids", root_ + "/pids"}};
  Put("memory/berth/c1/memory.usage_in_bytes", "1048576\n");
  Put("memory/berth/c1/memory.limit_in_bytes", "67108864\n");
  Put("memory/berth/c1/memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 1\n");
  Put("cpuacct/berth/c1/cpuacct.usage", "2000000000\n");
  Put("pids/berth/c1/pids.current", "7\n");
  auto u = ReadCgroupUsage(m, "/berth/c1");
  ASSERT_TRUE(u.ok()) << u.status().ToString();
  EXPECT_EQ(u->memory_bytes, 1048576);
  EXPECT_EQ(u->memory_limit, 67108864);
  EXPECT_EQ(u->oom_kills, 1);
  EXPECT_EQ(u->cpu_ns, 2000000000);
  EXPECT_EQ(u->pids, 7);
  EXPECT_EQ(ReadCgroupUsage(m, "/berth/c2").status().code(), StatusCode::kNotFound);
}

TEST_F(FakeCgroups, V2Usage) {
  CgroupMounts m;
  m.unified_only = true;
  m.unified = root_;
  Put("berth/c1/cgroup.procs", "42\n");
  Put("berth/c1/memory.current", "4096\n");
  Put("berth/c1/memory.max", "max\n");
  Put("berth/c1/memory.events", "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\n");
  Put("berth/c1/cpu.stat", "usage_usec 1500\nuser_usec 1000\nsystem_usec 500\n");
  Put("berth/c1/pids.current", "1\n");
  auto u = ReadCgroupUsage(m, "/berth/c1");
  ASSERT_TRUE(u.ok()) << u.status().ToString();
  EXPECT_EQ(u->cpu_ns, 1500000);
  EXPECT_EQ(u->memory_bytes, 4096);
  EXPECT_EQ(u->memory_limit, 0);
  EXPECT_EQ(u->pids, 1);
}

TEST_F(FakeCgroups, RemoveEmptyDirectoriesEverywhere) {
  CgroupMounts m;
  m.v1 = {{"memory", root_ + "/memory"}, {"name=systemd", root_ + "/systemd"}};
  m.unified = root_ + "/unified";
  ASSERT_TRUE(MakeDirs(root_ + "/memory/berth/c1").ok());
  ASSERT_TRUE(MakeDirs(root_ + "/unified/berth/c1").ok());
  EXPECT_EQ(ExistingCgroupDirs(m, "/berth/c1").size(), 2u);
  ASSERT_TRUE(RemoveCgroup(m, "/berth/c1").ok());
  EXPECT_TRUE(ExistingCgroupDirs(m, "/berth/c1").empty());
  EXPECT_TRUE(PathExists(root_ + "/memory/berth"));  // the parent is shared: kept
  EXPECT_TRUE(RemoveCgroup(m, "/berth/absent").ok());
  EXPECT_FALSE(RemoveCgroup(m, "/").ok());
}

}  // namespace
}  // namespace berth::runtime
