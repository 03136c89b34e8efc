#include "runtime/host_image.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>

#include "base/fs.h"

namespace berth::runtime {
namespace {

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/berth-image-test-XXXXXX";
    path_ = mkdtemp(tmpl);
  }
  ~TempDir() { (void)RemoveAll(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

void WriteExecutable(const std::string& path, mode_t mode = 0755) {
  ASSERT_TRUE(MakeDirs(path.substr(0, path.rfind('/'))).ok());
  ASSERT_TRUE(WriteFileAtomic(path, "#!/bin/sh\n", mode).ok());
}

void Symlink(const std::string& target, const std::string& path) {
  ASSERT_EQ(symlink(target.c_str(), path.c_str()), 0) << path;
}

mode_t ModeOf(const std::string& path) {
  struct stat st;
  return lstat(path.c_str(), &st) == 0 ? st.st_mode : 0;
}

// A fake merged-/usr host: usr/{bin,sbin,lib,lib64}, /etc with allowed and secret files.
class FakeHost : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = host_.path();
    WriteExecutable(root_ + "/usr/bin/python3.11");
    Symlink("python3.11", root_ + "/usr/bin/python3");
    WriteExecutable(root_ + "/usr/bin/notexec", 0644);
    WriteExecutable(root_ + "/usr/local/bin/gunicorn");
    WriteExecutable(root_ + "/opt/tool/bin/tool");
    ASSERT_TRUE(MakeDirs(root_ + "/usr/sbin").ok());
    ASSERT_TRUE(MakeDirs(root_ + "/usr/lib/python3").ok());
    ASSERT_TRUE(MakeDirs(root_ + "/usr/lib64").ok());
    ASSERT_TRUE(MakeDirs(root_ + "/etc/ssl/certs").ok());
    ASSERT_TRUE(WriteFileAtomic(root_ + "/etc/passwd", "root:x:0:0:root:/root:/bin/sh\n").ok());
    ASSERT_TRUE(WriteFileAtomic(root_ + "/etc/hosts", "127.0.0.1 localhost\n").ok());
    ASSERT_TRUE(WriteFileAtomic(root_ + "/etc/shadow", "root:*:1::::::\n", 0600).ok());
    ASSERT_TRUE(WriteFileAtomic(root_ + "/usr/lib/os-release", "ID=debian\n").ok());
    Symlink("../usr/lib/os-release", root_ + "/etc/os-release");
    ASSERT_EQ(mkfifo((root_ + "/etc/services").c_str(), 0644), 0);  // not a file: skipped
  }

  StatusOr<ImageView> HostView(std::vector<BindMount> binds = {}) {
    ContainerSpec spec;
    spec.image = "host";
    spec.binds = std::move(binds);
    return ImageView::ForSpec(spec, root_);
  }

  TempDir host_;
  std::string root_;
};

TEST_F(FakeHost, ScanHostEtcKeepsOnlyTheAllowlist) {
  auto etc = ScanHostEtc(root_);
  std::vector<EtcEntry> want = {{"passwd", EtcEntry::Kind::kFile, ""},
                                {"hosts", EtcEntry::Kind::kFile, ""},
                                {"ssl", EtcEntry::Kind::kDir, ""},
                                {"os-release", EtcEntry::Kind::kSymlink, "../usr/lib/os-release"}};
  EXPECT_EQ(etc, want);
}

TEST(HostEtcAllowlistTest, NoSecrets) {
  for (const auto& name : HostEtcAllowlist()) {
    EXPECT_NE(name, "shadow");
    EXPECT_NE(name, "gshadow");
    EXPECT_NE(name, "sudoers");
    EXPECT_NE(name, "ssh");
  }
}

TEST_F(FakeHost, FindProgramSearchesPathInsideTheHostImage) {
  auto view = HostView();
  ASSERT_TRUE(view.ok());
  const std::string path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  EXPECT_EQ(*view->FindProgram("gunicorn", path), "/usr/local/bin/gunicorn");
  EXPECT_EQ(*view->FindProgram("python3", path), "/usr/bin/python3");
  EXPECT_EQ(*view->FindProgram("python3", "/bin"), "/bin/python3");  // bin -> usr/bin
  auto missing = view->FindProgram("gunicornn", path);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().message(), "program \"gunicornn\" not found in the image");
  EXPECT_FALSE(view->FindProgram("notexec", path).ok());
  // /opt is not part of the host image even though the host has it.
  EXPECT_FALSE(view->FindProgram("tool", "/opt/tool/bin").ok());
  EXPECT_FALSE(view->FindProgram("python3", "relative/bin:").ok());
}

TEST_F(FakeHost, FindProgramSeesBinds) {
  auto view = HostView({{root_ + "/opt/tool", "/srv/tool", true}});
  ASSERT_TRUE(view.ok());
  EXPECT_EQ(*view->FindProgram("tool", "/usr/bin:/srv/tool/bin"), "/srv/tool/bin/tool");
}

TEST_F(FakeHost, HostPathMapping) {
  TempDir gen;
  auto view = HostView({{gen.path() + "/hosts", "/etc/hosts", true}});
  ASSERT_TRUE(view.ok());
  EXPECT_EQ(*view->HostPath("/usr/lib/x"), root_ + "/usr/lib/x");
  EXPECT_EQ(*view->HostPath("/lib64/ld.so"), root_ + "/usr/lib64/ld.so");
  EXPECT_EQ(*view->HostPath("/etc/passwd"), root_ + "/etc/passwd");
  EXPECT_EQ(*view->HostPath("/etc/hosts"), gen.path() + "/hosts");  // the bind replaces it
  EXPECT_FALSE(view->HostPath("/etc/shadow"));
  EXPECT_FALSE(view->HostPath("/var/lib/x"));
  EXPECT_FALSE(view->HostPath("/binary"));
  EXPECT_EQ(view->ReadFileOrEmpty("/etc/passwd"), "root:x:0:0:root:/root:/bin/sh\n");
  EXPECT_EQ(view->ReadFileOrEmpty("/etc/group"), "");
}

TEST_F(FakeHost, PrepareHostRootfs) {
  TempDir bundle;
  std::string dir = bundle.path() + "/rootfs";
  auto etc = ScanHostEtc(root_);
  std::vector<BindMount> binds = {{"/x/hosts", "/etc/hosts", true}, {"/x/os", "/etc/os-release", true}};
  ASSERT_TRUE(PrepareHostRootfs(dir, etc, binds, root_).ok());
  char buf[64] = {};
  ASSERT_GT(readlink((dir + "/bin").c_str(), buf, sizeof buf - 1), 0);
  EXPECT_STREQ(buf, "usr/bin");
  EXPECT_TRUE(S_ISLNK(ModeOf(dir + "/lib64")));
  EXPECT_TRUE(S_ISLNK(ModeOf(dir + "/sbin")));
  EXPECT_FALSE(PathExists(dir + "/libx32"));  // the fake host has no usr/libx32
  EXPECT_EQ(ModeOf(dir + "/tmp") & 07777, 01777u);
  EXPECT_EQ(ModeOf(dir + "/var/tmp") & 07777, 01777u);
  for (const char* d : {"/usr", "/proc", "/sys", "/dev", "/run", "/etc/ssl"})
    EXPECT_TRUE(S_ISDIR(ModeOf(dir + d))) << d;
  EXPECT_TRUE(S_ISREG(ModeOf(dir + "/etc/passwd")));
  EXPECT_FALSE(PathExists(dir + "/etc/hosts"));       // replaced by a bind: runc makes it
  EXPECT_FALSE(PathExists(dir + "/etc/os-release"));  // idem, no symlink in the way
  EXPECT_FALSE(PathExists(dir + "/etc/shadow"));
  // Without the bind the symlink is recreated, not bound.
  std::string dir2 = bundle.path() + "/rootfs2";
  ASSERT_TRUE(PrepareHostRootfs(dir2, etc, {}, root_).ok());
  ASSERT_GT(readlink((dir2 + "/etc/os-release").c_str(), buf, sizeof buf - 1), 0);
  EXPECT_STREQ(buf, "../usr/lib/os-release");
}

// A busybox-like rootfs whose applets are absolute symlinks.
class RootfsImage : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = dir_.path();
    ASSERT_TRUE(MakeDirs(root_ + "/usr/bin").ok());
    ASSERT_TRUE(MakeDirs(root_ + "/etc").ok());
    WriteExecutable(root_ + "/bin/busybox");
    Symlink("/bin/busybox", root_ + "/bin/sh");
    Symlink("../../bin/busybox", root_ + "/usr/bin/env");
    Symlink("/../../../../bin/busybox", root_ + "/bin/escape");
    Symlink("/etc/real-passwd", root_ + "/etc/passwd");
    ASSERT_TRUE(WriteFileAtomic(root_ + "/etc/real-passwd", "app:x:7:7::/:/bin/sh\n").ok());
  }
  TempDir dir_;
  std::string root_;
};

TEST_F(RootfsImage, SymlinksResolveInsideTheRoot) {
  EXPECT_EQ(ResolveInRoot(root_, "/bin/sh"), root_ + "/bin/busybox");
  EXPECT_EQ(ResolveInRoot(root_, "/usr/bin/env"), root_ + "/bin/busybox");
  EXPECT_EQ(ResolveInRoot(root_, "/bin/escape"), root_ + "/bin/busybox");
  EXPECT_EQ(ResolveInRoot(root_, "/../../etc/passwd"), root_ + "/etc/real-passwd");
  EXPECT_EQ(ResolveInRoot(root_, "/nope/x"), root_ + "/nope/x");
}

TEST_F(RootfsImage, ViewOfARootfsImage) {
  ContainerSpec spec;
  spec.image = "rootfs:" + root_;
  auto view = ImageView::ForSpec(spec);
  ASSERT_TRUE(view.ok()) << view.status().ToString();
  EXPECT_FALSE(view->is_host());
  EXPECT_EQ(*view->FindProgram("sh", "/usr/bin:/bin"), "/bin/sh");
  EXPECT_EQ(*view->FindProgram("env", "/usr/bin:/bin"), "/usr/bin/env");
  // The host has python3 but the image does not.
  EXPECT_FALSE(view->FindProgram("python3", "/usr/bin:/bin").ok());
  EXPECT_EQ(view->ReadFileOrEmpty("/etc/passwd"), "app:x:7:7::/:/bin/sh\n");
  EXPECT_FALSE(view->HasDirectory("/var"));
  EXPECT_TRUE(view->HasDirectory("/etc"));
}

TEST(ImageViewTest, BadImages) {
  ContainerSpec spec;
  for (const char* image : {"", "ubuntu:22.04", "rootfs:", "rootfs:relative/dir", "rootfs:/does/not/exist"}) {
    spec.image = image;
    auto view = ImageView::ForSpec(spec);
    ASSERT_FALSE(view.ok()) << image;
    EXPECT_EQ(view.status().code(), StatusCode::kInvalidArgument) << image;
  }
}

}  // namespace
}  // namespace berth::runtime
