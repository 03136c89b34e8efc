#include "network/subnet.h"

#include <gtest/gtest.h>

namespace berth::network {
namespace {

TEST(Cidr, ParseAndFormat) {
  auto c = Cidr::Parse("10.89.0.0/16");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->ToString(), "10.89.0.0/16");
  EXPECT_EQ(c->Size(), 65536u);
  EXPECT_EQ(c->Host(1), "10.89.0.1");
  for (const char* bad : {"10.89.0.0", "10.89.0.1/16", "10.89.0.0/33", "10.89.0.0/4", "300.1.1.1/24", "a.b.c.d/8",
                          "10.89.0.0/", "10.89.0.0/1x"})
    EXPECT_FALSE(Cidr::Parse(bad).ok()) << bad;
}

TEST(Cidr, ContainsAndOverlaps) {
  Cidr pool = *Cidr::Parse("10.89.0.0/16");
  Cidr a = *Cidr::Parse("10.89.3.0/24");
  Cidr b = *Cidr::Parse("10.90.3.0/24");
  EXPECT_TRUE(pool.Contains(a));
  EXPECT_FALSE(pool.Contains(b));
  EXPECT_TRUE(a.Overlaps(pool));
  EXPECT_FALSE(a.Overlaps(b));
}

TEST(AllocateSubnet, LowestFreeAndExhaustion) {
  Cidr pool = *Cidr::Parse("10.89.0.0/22");  // four /24s
  std::set<Cidr> used;
  std::vector<std::string> got;
  for (int i = 0; i < 4; ++i) {
    auto s = AllocateSubnet(pool, 24, used);
    ASSERT_TRUE(s.ok());
    got.push_back(s->ToString());
    used.insert(*s);
  }
  EXPECT_EQ(got, (std::vector<std::string>{"10.89.0.0/24", "10.89.1.0/24", "10.89.2.0/24", "10.89.3.0/24"}));
  auto full = AllocateSubnet(pool, 24, used);
  EXPECT_EQ(full.status().code(), StatusCode::kResourceExhausted);
  used.erase(*Cidr::Parse("10.89.1.0/24"));
  EXPECT_EQ(AllocateSubnet(pool, 24, used)->ToString(), "10.89.1.0/24");  // a freed subnet is reused
  EXPECT_FALSE(AllocateSubnet(pool, 20, used).ok());                         // larger than the pool
}

}  // namespace
}  // namespace berth::network
