#include "spec/env_file.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace berth::spec {
namespace {

using ::testing::HasSubstr;

TEST(EnvFileTest, ParsesTheCommonForms) {
  EnvFile f = ParseEnvFile(
      "# a comment\n"
      "\n"
      "PLAIN=value\n"
      "SPACED = spaced value  \n"
      "export EXPORTED=1\n"
      "SINGLE='literal $HOME # not a comment'\n"
      "DOUBLE=\"line1\\nline2 \\\"q\\\" \\$HOME $HOME\"\n"
      "INLINE=value # comment\n"
      "HASH=a#b\n"
      "EMPTY=\n"
      "BARE\n"
      "MULTI=\"first\n"
      "second\"\n"
      "AFTER=yes\n"
      "dotted.key-name=ok\n");
  ASSERT_TRUE(f.errors.empty()) << f.errors[0].message;
  struct Want {
    std::string key;
    std::optional<std::string> value;
    bool interpolate;
    int line;
  };
  const std::vector<Want> want = {
      {"PLAIN", "value", true, 3},
      {"SPACED", "spaced value", true, 4},
      {"EXPORTED", "1", true, 5},
      {"SINGLE", "literal $HOME # not a comment", false, 6},
      {"DOUBLE", "line1\nline2 \"q\" $$HOME $HOME", true, 7},
      {"INLINE", "value", true, 8},
      {"HASH", "a#b", true, 9},
      {"EMPTY", "", true, 10},
      {"BARE", std::nullopt, true, 11},
      {"MULTI", "first\nsecond", true, 12},
      {"AFTER", "yes", true, 14},
      {"dotted.key-name", "ok", true, 15},
  };
  ASSERT_EQ(f.entries.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(f.entries[i].key, want[i].key);
    EXPECT_EQ(f.entries[i].value, want[i].value) << want[i].key;
    EXPECT_EQ(f.entries[i].interpolate, want[i].interpolate) << want[i].key;
    EXPECT_EQ(f.entries[i].line, want[i].line) << want[i].key;
  }
}

TEST(EnvFileTest, ReportsBadLinesAndKeepsGoing) {
  EnvFile f = ParseEnvFile(
      "GOOD=1\n"
      "=novalue\n"
      "BAD KEY=1\n"
      "Q='x' trailing\n"
      "ALSO_GOOD=2\n"
      "OPEN=\"never closed\n"
      "X=1\n");
  ASSERT_EQ(f.errors.size(), 4u);
  EXPECT_EQ(f.errors[0].line, 2);
  EXPECT_THAT(f.errors[0].message, HasSubstr("expected KEY=VALUE"));
  EXPECT_EQ(f.errors[1].line, 3);
  EXPECT_THAT(f.errors[1].message, HasSubstr("expected \"=\" after \"BAD\""));
  EXPECT_EQ(f.errors[2].line, 4);
  EXPECT_THAT(f.errors[2].message, HasSubstr("after the closing quote"));
  EXPECT_EQ(f.errors[3].line, 6);
  EXPECT_THAT(f.errors[3].message, HasSubstr("unterminated double quote"));
  ASSERT_EQ(f.entries.size(), 2u);
  EXPECT_EQ(f.entries[0].key, "GOOD");
  EXPECT_EQ(f.entries[1].key, "ALSO_GOOD");
}

TEST(EnvFileTest, WindowsLineEndings) {
  EnvFile f = ParseEnvFile("A=1\r\nB='2'\r\n");
  ASSERT_TRUE(f.errors.empty());
  ASSERT_EQ(f.entries.size(), 2u);
  EXPECT_EQ(f.entries[0].value, "1");
  EXPECT_EQ(f.entries[1].value, "2");
}

}  // namespace
}  // namespace berth::spec
