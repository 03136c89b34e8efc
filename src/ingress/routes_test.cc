#include "ingress/routes.h"

#include <gtest/gtest.h>

namespace berth::ingress {
namespace {

spec::Project Shop() {
  spec::Project p;
  p.name = "shop";
  spec::Service api;
  api.name = "api";
  api.expose = spec::Expose{8000, {"api.example.com"}, ""};
  api.concurrency = {10, 100, Millis(5000)};
  api.scale = {1, 4, Millis(60'000), 0.7};
  spec::Service fn;
  fn.name = "my_fn";
  fn.expose = spec::Expose{9000, {}, "/fn"};
  fn.scale = {0, 20, Millis(30'000), 0.7};
  spec::Service db;
  db.name = "db";
  p.services = {{"api", api}, {"my_fn", fn}, {"db", db}};
  return p;
}

store::ReplicaRecord Rep(const std::string& svc, int i, const std::string& state, const std::string& health,
                         const std::string& ip) {
  store::ReplicaRecord r;
  r.env = "shop";
  r.service = svc;
  r.index = i;
  r.id = "shop." + svc + "." + std::to_string(i);
  r.state = state;
  r.health = health;
  r.ip = ip;
  return r;
}

TEST(Routes, ExposedServicesBecomeRoutesWithReadyUpstreams) {
  spec::Project p = Shop();
  RouteInputs in;
  in.domain = "localhost";
  in.envs = {{"shop", &p, false}};
  in.replicas = {Rep("api", 1, "running", "healthy", "10.89.0.2"), Rep("api", 2, "running", "starting", "10.89.0.3"),
                 Rep("api", 3, "running", "none", "10.89.0.4"),   Rep("api", 4, "standby", "none", "10.89.0.5"),
                 Rep("api", 5, "backoff", "none", "10.89.0.6"),   Rep("db", 1, "running", "none", "10.89.0.7")};
  in.draining = {"shop.api.3"};
  proxy::RouteSnapshot s = BuildRoutes(in);
  ASSERT_EQ(s.routes.size(), 2u);
  const auto& api = s.routes[0];
  EXPECT_EQ(api.host, "api.shop.localhost");
  EXPECT_EQ(api.aliases, std::vector<std::string>{"api.example.com"});
  EXPECT_EQ(api.service, "shop/api");
  EXPECT_EQ(api.limit, 10u);
  EXPECT_EQ(api.queue, 100u);
  EXPECT_EQ(api.queue_timeout_ms, 5000);
  EXPECT_FALSE(api.wait_for_replica);
  ASSERT_EQ(api.upstreams.size(), 4u);  // no standby
  EXPECT_EQ(api.upstreams[0].addr, "10.89.0.2:8000");
  EXPECT_TRUE(api.upstreams[0].ready);
  EXPECT_FALSE(api.upstreams[1].ready);  // not yet ready
  EXPECT_FALSE(api.upstreams[2].ready);  // draining
  EXPECT_FALSE(api.upstreams[3].ready);  // in backoff
  const auto& fn = s.routes[1];
  EXPECT_EQ(fn.host, "my-fn.shop.localhost");
  EXPECT_EQ(fn.path_prefix, "/fn");
  EXPECT_TRUE(fn.wait_for_replica);  // min 0: requests wait for a cold start
  EXPECT_TRUE(fn.upstreams.empty());
  EXPECT_TRUE(proxy::ParseSnapshot(proxy::EncodeSnapshot(s)).ok());
}

TEST(Routes, DeletingEnvironmentsHaveNoRoutes) {
  spec::Project p = Shop();
  RouteInputs in;
  in.envs = {{"shop", &p, true}};
  EXPECT_TRUE(BuildRoutes(in).routes.empty());
}

}  // namespace
}  // namespace berth::ingress
