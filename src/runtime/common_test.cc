#include "runtime/common.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/fs.h"
#include "runtime/runtime.h"

namespace berth::runtime {
namespace {

TEST(ContainerIdTest, Validation) {
  for (const char* ok : {"shop.api.1", "a", "team-a.db.0", "x_y"})
    EXPECT_TRUE(ValidateContainerId(ok).ok()) << ok;
  for (const char* bad : {"", ".hidden", "-x", "Shop", "a/b", "a b", "..", "a\n"})
    EXPECT_FALSE(ValidateContainerId(bad).ok()) << bad;
  EXPECT_FALSE(ValidateContainerId(std::string(129, 'a')).ok());
}

TEST(EnvTest, DefaultsAdded) {
  EXPECT_EQ(EnvValue({"A=1", "PATH=/x", "PATH=/y"}, "PATH"), "/y");
  EXPECT_EQ(EnvValue({"PATHX=1"}, "PATH"), std::nullopt);
  EXPECT_EQ(WithDefaultEnv({"A=1"}, "/root"),
            (std::vector<std::string>{"A=1", std::string("PATH=") + kDefaultPath, "HOME=/root"}));
  EXPECT_EQ(WithDefaultEnv({"HOME=/h", "PATH=/p"}, "/root"),
            (std::vector<std::string>{"HOME=/h", "PATH=/p"}));
}

TEST(EnvTest, PathDirs) {
  EXPECT_EQ(PathDirs("/usr/local/bin::relative:/bin/"),
            (std::vector<std::string>{"/usr/local/bin", "/bin/"}));
  EXPECT_TRUE(PathDirs("").empty());
}

TEST(ProcStatTest, ParsesCommandsWithSpacesAndParens) {
  auto f =
      ParseProcStatFields("123 (a (b) c) S 1 123 123 0 -1 4194560 1 2 3 4 5 6 7 8 20 0 1 0 98765 10 11\n");
  ASSERT_GE(f.size(), 20u);
  EXPECT_EQ(f[0], "S");
  EXPECT_EQ(f[1], "1");
  EXPECT_EQ(f[19], "98765");
  EXPECT_TRUE(ParseProcStatFields("garbage").empty());
}

TEST(ProcStatTest, StartTimeOfLiveAndMissingProcesses) {
  int64_t t = ProcessStartTime(getpid());
  EXPECT_GT(t, 0);
  EXPECT_TRUE(ProcessAlive(getpid(), t));
  EXPECT_FALSE(ProcessAlive(getpid(), t + 1));
  EXPECT_EQ(ProcessStartTime(0), 0);
  EXPECT_EQ(ProcessStartTime(999'999'999), 0);
}

TEST(RuntimeErrorMessageTest, Table) {
  EXPECT_EQ(RuntimeErrorMessage(R"({"level":"error","msg":"container does not exist","time":"t"})"
                                "\n"),
            "container does not exist");
  EXPECT_EQ(RuntimeErrorMessage("{\"level\":\"warning\",\"msg\":\"w\"}\n"
                                "{\"level\":\"error\",\"msg\":\"first\"}\n"
                                "{\"level\":\"error\",\"msg\":\"runc create failed: unable to start\"}\n"
                                "{\"level\":\"info\",\"msg\":\"bye\"}\n"),
            "runc create failed: unable to start");
  EXPECT_EQ(RuntimeErrorMessage("time=\"2026\" level=error msg=\"container \\\"x\\\" does not exist\"\n"),
            "container \"x\" does not exist");
  EXPECT_EQ(RuntimeErrorMessage("some text\ncgroups in hybrid mode not supported\n\n"),
            "cgroups in hybrid mode not supported");
  EXPECT_EQ(RuntimeErrorMessage("{\"level\":\"warning\",\"msg\":\"only a warning\"}\n"), "only a warning");
  EXPECT_EQ(RuntimeErrorMessage(""), "");
}

class OutputsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/berth-outputs-test-XXXXXX";
    dir_ = mkdtemp(tmpl);
  }
  void TearDown() override { (void)RemoveAll(dir_); }
  std::string dir_;
};

TEST_F(OutputsTest, FileIsAppendedFifoIsReadWrite) {
  std::string file = dir_ + "/out.log";
  std::string fifo = dir_ + "/err.fifo";
  ASSERT_TRUE(WriteFileAtomic(file, "old\n").ok());
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  {
    OutputFds fds;
    // Opening the FIFO must not block although nobody reads it.
    ASSERT_TRUE(OpenOutputs(file, fifo, &fds).ok());
    EXPECT_EQ(fcntl(fds.out, F_GETFL) & (O_ACCMODE | O_APPEND), O_WRONLY | O_APPEND);
    EXPECT_EQ(fcntl(fds.err, F_GETFL) & O_ACCMODE, O_RDWR);
    EXPECT_TRUE(fcntl(fds.out, F_GETFD) & FD_CLOEXEC);
    ASSERT_EQ(write(fds.out, "new\n", 4), 4);
  }
  EXPECT_EQ(*ReadFile(file), "old\nnew\n");
}

TEST_F(OutputsTest, SamePathSharesOneFdAndEmptyIsDevNull) {
  std::string file = dir_ + "/both.log";
  OutputFds fds;
  ASSERT_TRUE(OpenOutputs(file, file, &fds).ok());
  EXPECT_EQ(fds.out, fds.err);
  EXPECT_TRUE(PathExists(file));
  OutputFds null_fds;
  ASSERT_TRUE(OpenOutputs("", "", &null_fds).ok());
  EXPECT_GE(null_fds.out, 0);
  OutputFds bad;
  EXPECT_FALSE(OpenOutputs(dir_ + "/no/such/dir/x", "", &bad).ok());
}

}  // namespace
}  // namespace berth::runtime
