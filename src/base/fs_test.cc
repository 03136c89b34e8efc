#include "base/fs.h"

#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

namespace berth {
namespace {

class FsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/berth-fs-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { ASSERT_TRUE(RemoveAll(dir_).ok()); }
  std::string dir_;
};

TEST_F(FsTest, WriteAtomicAndRead) {
  std::string p = dir_ + "/f";
  ASSERT_TRUE(WriteFileAtomic(p, "one", 0600).ok());
  ASSERT_TRUE(WriteFileAtomic(p, "two", 0600).ok());
  EXPECT_EQ(*ReadFile(p), "two");
  struct stat st;
  ASSERT_EQ(stat(p.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(ReadFile(dir_ + "/absent").status().code(), StatusCode::kNotFound);
}

TEST_F(FsTest, MakeDirsAndRemoveAll) {
  ASSERT_TRUE(MakeDirs(dir_ + "/a/b/c").ok());
  ASSERT_TRUE(MakeDirs(dir_ + "/a/b/c").ok());
  ASSERT_TRUE(WriteFileAtomic(dir_ + "/a/b/c/f", "x").ok());
  ASSERT_EQ(symlink("/etc/hostname", (dir_ + "/a/link").c_str()), 0);
  ASSERT_TRUE(RemoveAll(dir_ + "/a").ok());
  EXPECT_FALSE(PathExists(dir_ + "/a"));
  EXPECT_TRUE(PathExists("/etc/hostname"));  // the symlink's target is untouched
  EXPECT_TRUE(RemoveAll(dir_ + "/a").ok());  // absent is fine
  EXPECT_FALSE(RemoveAll("/").ok());
}

TEST(Paths, AbsoluteAndJoin) {
  EXPECT_EQ(AbsolutePath("/srv/spec", "./app"), "/srv/spec/app");
  EXPECT_EQ(AbsolutePath("/srv/spec", "../data/"), "/srv/data");
  EXPECT_EQ(AbsolutePath("/srv/spec", "/abs/x"), "/abs/x");
  EXPECT_EQ(AbsolutePath("/", ".."), "/");
  EXPECT_EQ(JoinPath("/a/", "/b"), "/a/b");
  EXPECT_EQ(JoinPath("/", "b"), "/b");
}

}  // namespace
}  // namespace berth
