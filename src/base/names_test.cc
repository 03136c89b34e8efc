#include "base/names.h"

#include <gtest/gtest.h>

namespace berth {
namespace {

TEST(Names, Env) {
  for (const char* ok : {"a", "team-a", "shop-alice", "x1", "abcdefghijklmnopqrstuvwxyz012345"})
    EXPECT_TRUE(ValidateEnvName(ok).ok()) << ok;
  for (const char* bad : {"", "A", "1team", "team-", "-team", "team_a", "team.a", "te am", "../x",
                          "abcdefghijklmnopqrstuvwxyz0123456", "t\n", "t;rm -rf /"})
    EXPECT_FALSE(ValidateEnvName(bad).ok()) << bad;
}

TEST(Names, Service) {
  for (const char* ok : {"web", "api_v2", "db-1", "1st", "a"}) EXPECT_TRUE(ValidateServiceName(ok).ok()) << ok;
  for (const char* bad : {"", "Web", "-web", "web-", "web.api", "w/x", "w b"})
    EXPECT_FALSE(ValidateServiceName(bad).ok()) << bad;
}

TEST(Names, VolumeAndSecret) {
  for (const char* ok : {"pgdata", "PG.data_1", "0vol"}) EXPECT_TRUE(ValidateVolumeName(ok).ok()) << ok;
  for (const char* bad : {"", ".", "..", "a/b", "-x", "_x"}) EXPECT_FALSE(ValidateVolumeName(bad).ok()) << bad;
  for (const char* ok : {"db_password", "_x", "Token-1"}) EXPECT_TRUE(ValidateSecretName(ok).ok()) << ok;
  for (const char* bad : {"", "1x", "a.b", "a b", "a/b"}) EXPECT_FALSE(ValidateSecretName(bad).ok()) << bad;
}

TEST(Names, ErrorShowsNameEscaped) {
  Status s = ValidateEnvName("bad\x01name");
  EXPECT_NE(s.message().find("\"bad\\x01name\""), std::string::npos) << s.message();
}

}  // namespace
}  // namespace berth
