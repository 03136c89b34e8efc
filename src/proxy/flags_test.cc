#include "proxy/flags.h"

#include <gtest/gtest.h>

#include <vector>

namespace berth::proxy {
namespace {

StatusOr<Flags> Parse(std::vector<const char*> args) {
  args.insert(args.begin(), "berth-proxy");
  return ParseFlags(static_cast<int>(args.size()), args.data());
}

TEST(Flags, Standalone) {
  auto f = Parse({"--listen",   "127.0.0.1:18183",
                  "--route",    "*=127.0.0.1:18180,localhost:18181",
                  "--limit",    "2",
                  "--queue=10", "--queue-timeout",
                  "1500ms",     "--workers",
                  "1",          "--admin",
                  "",           "--max-body",
                  "1M",         "--header-timeout",
                  "2s",         "--upstream-timeout",
                  "3",          "--pool-idle",
                  "500ms"});
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  const ProxyConfig& c = f->config;
  EXPECT_EQ(c.listen, "127.0.0.1:18183");
  ASSERT_EQ(c.routes.size(), 1u);
  EXPECT_EQ(c.routes[0].host, "*");
  EXPECT_EQ(c.routes[0].upstreams, (std::vector<std::string>{"127.0.0.1:18180", "localhost:18181"}));
  EXPECT_EQ(c.limit, 2u);
  EXPECT_EQ(c.queue, 10u);
  EXPECT_EQ(c.queue_timeout_ms, 1500);
  EXPECT_EQ(c.workers, 1u);
  EXPECT_EQ(c.admin, "");
  EXPECT_EQ(c.max_body, 1024u * 1024);
  EXPECT_EQ(c.header_timeout_ms, 2000);
  EXPECT_EQ(c.upstream_timeout_ms, 3000);
  EXPECT_EQ(c.pool_idle_ms, 500);
}

TEST(Flags, Errors) {
  struct Case {
    std::vector<const char*> args;
    const char* error;
  } cases[] = {
      {{}, "nothing to route"},
      {{"--route"}, "needs a value"},
      {{"--route", "noequals"}, "expected HOST=UPSTREAM"},
      {{"--route", "*=example.com:80"}, "IPv4"},
      {{"--route", "*=1.2.3.4:80", "--limit", "x"}, "--limit"},
      {{"--route", "*=1.2.3.4:80", "--queue-timeout", "soon"}, "--queue-timeout"},
      {{"--route", "*=1.2.3.4:80", "--header-timeout", "0"}, "positive"},
      {{"--route", "*=1.2.3.4:80", "--bogus", "1"}, "unknown flag --bogus"},
      {{"--route", "*=1.2.3.4:80", "stray"}, "unexpected argument"},
      {{"--route", "*=1.2.3.4:80", "--routes-file", "/x"}, "cannot be combined"},
  };
  for (const Case& c : cases) {
    auto f = Parse(c.args);
    ASSERT_FALSE(f.ok()) << c.error;
    EXPECT_EQ(f.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(f.status().message().find(c.error), std::string::npos) << f.status().message();
  }
}

TEST(Flags, Help) {
  auto f = Parse({"--help"});
  ASSERT_TRUE(f.ok());
  EXPECT_TRUE(f->help);
  EXPECT_NE(Usage().find("--route HOST=UP"), std::string::npos);
}

}  // namespace
}  // namespace berth::proxy
