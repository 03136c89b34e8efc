#include "supervisor/log_file.h"

#include <stdlib.h>

#include <gtest/gtest.h>

#include "base/fs.h"

namespace berth::supervisor {
namespace {

TEST(LogLine, FormatParseRoundTrip) {
  LogLine l{FromUnixMillis(1'763'865'133'123), 'e', "hello world"};
  std::string s = FormatLogLine(l);
  EXPECT_EQ(s, "2025-11-23T02:32:13.123Z e hello world");
  LogLine back;
  ASSERT_TRUE(ParseLogLine(s, &back));
  EXPECT_EQ(back.time, l.time);
  EXPECT_EQ(back.stream, 'e');
  EXPECT_EQ(back.text, "hello world");
  EXPECT_FALSE(ParseLogLine("garbage", &back));
}

TEST(LineSplitter, SplitsJoinsAndCuts) {
  LineSplitter s(8);
  std::vector<std::string> got;
  auto emit = [&](std::string_view l) { got.emplace_back(l); };
  s.Feed("ab", emit);
  s.Feed("c\nde\r\nf", emit);
  EXPECT_EQ(got, (std::vector<std::string>{"abc", "de"}));
  s.Feed("0123456789", emit);  // "f" + 10 bytes: cut at 8
  EXPECT_EQ(got.back(), "f0123456");
  s.Flush(emit);
  EXPECT_EQ(got.back(), "789");
}

TEST(LogFile, RotatesAndTailsAcrossFiles) {
  char tmpl[] = "/tmp/berth-log-test-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  std::string dir = tmpl, path = dir + "/r.log";
  {
    LogFile f(path, 200, 2);
    ASSERT_TRUE(f.Open().ok());
    for (int i = 0; i < 30; ++i)
      ASSERT_TRUE(f.Append({FromUnixMillis(1000 + i), 'o', "line " + std::to_string(i)}).ok());
  }
  EXPECT_TRUE(PathExists(path + ".1"));
  EXPECT_TRUE(PathExists(path + ".2"));
  EXPECT_FALSE(PathExists(path + ".3"));  // keep 2 rotated files
  auto tail = LogFile::Tail(path, 2, 5);
  ASSERT_TRUE(tail.ok());
  ASSERT_EQ(tail->size(), 5u);
  EXPECT_EQ(tail->front().text, "line 25");
  EXPECT_EQ(tail->back().text, "line 29");
  auto all = LogFile::Tail(path, 2, -1);
  ASSERT_TRUE(all.ok());
  EXPECT_GT(all->size(), 5u);
  EXPECT_LT(all->size(), 30u);  // the oldest were dropped
  for (size_t i = 1; i < all->size(); ++i) EXPECT_LT((*all)[i - 1].time, (*all)[i].time);
  ASSERT_TRUE(RemoveAll(dir).ok());
}

}  // namespace
}  // namespace berth::supervisor
