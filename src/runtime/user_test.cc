#include "runtime/user.h"

#include <gtest/gtest.h>

namespace berth::runtime {
namespace {

constexpr char kPasswd[] =
    "root:x:0:0:root:/root:/bin/bash\n"
    "# a comment\n"
    "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
    "broken line\n"
    "bad:x:notanumber:1::/:/bin/sh\n"
    "postgres:x:105:111:PostgreSQL administrator,,,:/var/lib/postgresql:/bin/bash\n"
    "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"
    "app:x:1000:1000::/home/app:/bin/sh\r\n";

constexpr char kGroup[] =
    "root:x:0:\n"
    "daemon:x:1:\n"
    "tty:x:5:\n"
    "ssl-cert:x:110:postgres\n"
    "postgres:x:111:\n"
    "nogroup:x:65534:\n"
    "app:x:1000:\n"
    "dev:x:2000:app,other\n"
    "audio:x:29:app\n";

TEST(ParsePasswdTest, SkipsCommentsAndMalformedLines) {
  auto users = ParsePasswd(kPasswd);
  ASSERT_EQ(users.size(), 5u);
  EXPECT_EQ(users[0].name, "root");
  EXPECT_EQ(users[2].name, "postgres");
  EXPECT_EQ(users[2].uid, 105u);
  EXPECT_EQ(users[2].gid, 111u);
  EXPECT_EQ(users[2].home, "/var/lib/postgresql");
  EXPECT_EQ(users[4].home, "/home/app");  // CRLF tolerated
}

TEST(ParseGroupTest, Members) {
  auto groups = ParseGroup(kGroup);
  ASSERT_EQ(groups.size(), 9u);
  EXPECT_EQ(groups[7].name, "dev");
  EXPECT_EQ(groups[7].members, (std::vector<std::string>{"app", "other"}));
  EXPECT_TRUE(groups[0].members.empty());
}

struct UserCase {
  const char* user;
  uid_t uid;
  gid_t gid;
  std::vector<gid_t> additional;
  const char* home;
};

class ResolveUserTest : public ::testing::TestWithParam<UserCase> {};

TEST_P(ResolveUserTest, Resolves) {
  const UserCase& c = GetParam();
  auto r = ResolveUser(c.user, kPasswd, kGroup);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->uid, c.uid);
  EXPECT_EQ(r->gid, c.gid);
  EXPECT_EQ(r->additional_gids, c.additional);
  EXPECT_EQ(r->home, c.home);
}

INSTANTIATE_TEST_SUITE_P(
    Table, ResolveUserTest,
    ::testing::Values(UserCase{"", 0, 0, {}, "/root"},                               // default: root
                      UserCase{"root", 0, 0, {}, "/root"},                           //
                      UserCase{"postgres", 105, 111, {110}, "/var/lib/postgresql"},  // supplementary
                      UserCase{"app", 1000, 1000, {2000, 29}, "/home/app"},          // two groups
                      UserCase{"nobody", 65534, 65534, {}, "/nonexistent"},          //
                      UserCase{"105", 105, 111, {110}, "/var/lib/postgresql"},       // uid in passwd
                      UserCase{"4242", 4242, 0, {}, "/"},                            // unknown uid is fine
                      UserCase{"4242:4343", 4242, 4343, {}, "/"},                    //
                      UserCase{"app:dev", 1000, 2000, {}, "/home/app"},              // explicit group only
                      UserCase{"postgres:0", 105, 0, {}, "/var/lib/postgresql"},     //
                      UserCase{"0:nogroup", 0, 65534, {}, "/root"}));

TEST(ResolveUserTest, Errors) {
  auto r = ResolveUser("gunicorn", kPasswd, kGroup);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(r.status().message(), "user \"gunicorn\" not found in the image's /etc/passwd");

  r = ResolveUser("app:wheel", kPasswd, kGroup);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "group \"wheel\" not found in the image's /etc/group");

  EXPECT_FALSE(ResolveUser("app:", kPasswd, kGroup).ok());
  EXPECT_FALSE(ResolveUser(":app", kPasswd, kGroup).ok());
  EXPECT_FALSE(ResolveUser("4294967295", kPasswd, kGroup).ok());  // (uid_t)-1
  EXPECT_FALSE(ResolveUser("postgres", "", "").ok());             // image without passwd
  EXPECT_TRUE(ResolveUser("", "", "").ok());                      // root needs no passwd
}

}  // namespace
}  // namespace berth::runtime
