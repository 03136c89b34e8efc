#include "base/units.h"

#include <gtest/gtest.h>

namespace berth {
namespace {

TEST(ParseDuration, Table) {
  struct Case { const char* in; int64_t ms; };
  const Case ok[] = {
      {"0", 0}, {"0s", 0}, {"10", 10'000}, {"10s", 10'000}, {"1m30s", 90'000}, {"1h", 3'600'000},
      {"1.5s", 1'500}, {"250ms", 250}, {"500us", 1}, {"1ns", 1}, {"2h45m", 9'900'000}, {"+5s", 5'000},
  };
  for (const auto& c : ok) {
    auto d = ParseDuration(c.in);
    ASSERT_TRUE(d.ok()) << c.in << ": " << d.status().message();
    EXPECT_EQ(d->count(), c.ms) << c.in;
  }
  const char* bad[] = {"", "-1s", "s", "10x", "1.5", "ms", "1m30", "abc", "99999999999h"};
  for (const char* b : bad) {
    auto d = ParseDuration(b);
    EXPECT_FALSE(d.ok()) << b;
    if (!d.ok()) {
      EXPECT_EQ(d.status().code(), StatusCode::kInvalidArgument) << b;
    }
  }
}

TEST(ParseDuration, MessagesNameTheProblem) {
  EXPECT_NE(ParseDuration("10x").status().message().find("unknown unit \"x\""), std::string::npos);
  EXPECT_NE(ParseDuration("1m30").status().message().find("missing a unit"), std::string::npos);
}

TEST(FormatDuration, RoundTrips) {
  EXPECT_EQ(FormatDuration(Millis(0)), "0s");
  EXPECT_EQ(FormatDuration(Millis(250)), "250ms");
  EXPECT_EQ(FormatDuration(Millis(1500)), "1.5s");
  EXPECT_EQ(FormatDuration(Millis(90'000)), "1m30s");
  EXPECT_EQ(FormatDuration(Millis(3'600'000)), "1h");
  for (int64_t ms : {1, 999, 1000, 61'001, 7'322'500}) {
    auto back = ParseDuration(FormatDuration(Millis(ms)));
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(back->count(), ms);
  }
}

TEST(ParseBytes, Table) {
  struct Case { const char* in; int64_t bytes; };
  const Case ok[] = {
      {"0", 0},           {"1024", 1024},         {"1b", 1},          {"512k", 512 * 1024},
      {"512K", 512 * 1024}, {"256M", 256LL << 20}, {"256m", 256LL << 20}, {"256MB", 256LL << 20},
      {"256Mi", 256LL << 20}, {"256MiB", 256LL << 20}, {"1Gi", 1LL << 30}, {"1.5g", 3LL << 29},
      {"2T", 2LL << 40},
  };
  for (const auto& c : ok) {
    auto b = ParseBytes(c.in);
    ASSERT_TRUE(b.ok()) << c.in << ": " << b.status().message();
    EXPECT_EQ(*b, c.bytes) << c.in;
  }
  for (const char* b : {"", "-1M", "M", "12x", "1.2.3M", "9999999P", "1 M B"}) EXPECT_FALSE(ParseBytes(b).ok()) << b;
}

TEST(FormatBytes, Human) {
  EXPECT_EQ(FormatBytes(12), "12B");
  EXPECT_EQ(FormatBytes(1536), "1.5KiB");
  EXPECT_EQ(FormatBytes(256LL << 20), "256MiB");
  EXPECT_EQ(FormatBytes(1LL << 30), "1GiB");
}

TEST(ParseCpus, Table) {
  EXPECT_DOUBLE_EQ(*ParseCpus("0.5"), 0.5);
  EXPECT_DOUBLE_EQ(*ParseCpus("2"), 2.0);
  for (const char* b : {"", "0", "-1", "abc", "1.5x", "2000"}) EXPECT_FALSE(ParseCpus(b).ok()) << b;
}

}  // namespace
}  // namespace berth
