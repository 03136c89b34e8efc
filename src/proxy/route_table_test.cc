#include "proxy/route_table.h"

#include <gtest/gtest.h>

namespace berth::proxy {
namespace {

RouteSpec Route(std::string host, std::string service, std::vector<UpstreamSpec> ups,
                std::string prefix = "") {
  RouteSpec r;
  r.host = std::move(host);
  r.service = std::move(service);
  r.upstreams = std::move(ups);
  r.path_prefix = std::move(prefix);
  return r;
}

std::shared_ptr<const RouteTable> Build(const RouteSnapshot& s, StateRegistry* reg) {
  auto t = RouteTable::Build(s, reg);
  EXPECT_TRUE(t.ok()) << t.status().ToString();
  return t.ok() ? *t : nullptr;
}

TEST(RouteTable, MatchTable) {
  RouteSnapshot s;
  s.version = 3;
  s.routes.push_back(Route("api.shop.localhost", "shop/api", {{"a1", "10.0.0.1:8000", true}}));
  s.routes.push_back(Route("api.shop.localhost", "shop/admin", {{"b1", "10.0.0.2:8000", true}}, "/admin"));
  s.routes.push_back(
      Route("api.shop.localhost", "shop/admin-v2", {{"c1", "10.0.0.3:8000", true}}, "/admin/v2"));
  RouteSpec nb = Route("nb.shop.localhost", "shop/nb", {{"n1", "10.0.0.4:8888", true}});
  nb.aliases = {"notebook.shop.localhost"};
  s.routes.push_back(nb);
  s.routes.push_back(Route("*", "default", {{"d1", "127.0.0.1:9000", true}}, "/static"));
  StateRegistry reg(1);
  auto t = Build(s, &reg);
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->version(), 3u);
  struct Case {
    const char* host;
    const char* path;
    const char* service;  // nullptr: no route
  } cases[] = {
      {"api.shop.localhost", "/", "shop/api"},
      {"api.shop.localhost", "/admin", "shop/admin"},
      {"api.shop.localhost", "/admin/", "shop/admin"},
      {"api.shop.localhost", "/admin?x=1", "shop/admin"},
      {"api.shop.localhost", "/administrator", "shop/api"},  // prefixes match whole segments
      {"api.shop.localhost", "/admin/v2/x", "shop/admin-v2"},
      {"nb.shop.localhost", "/lab", "shop/nb"},
      {"notebook.shop.localhost", "/", "shop/nb"},
      {"other.localhost", "/static/app.js", "default"},
      {"other.localhost", "/", nullptr},
      {"api.shop.localhost", "/static/x", "shop/api"},  // the exact host wins over "*"
  };
  for (const Case& c : cases) {
    const struct Route* r = t->Match(c.host, c.path);
    if (c.service == nullptr) {
      EXPECT_EQ(r, nullptr) << c.host << c.path;
    } else {
      ASSERT_NE(r, nullptr) << c.host << c.path;
      EXPECT_EQ(r->service->state->name(), c.service) << c.host << c.path;
    }
  }
}

TEST(RouteTable, OnlyReadyUpstreamsAreRoutable) {
  RouteSnapshot s;
  s.routes.push_back(Route("a", "svc", {{"1", "10.0.0.1:80", true}, {"2", "10.0.0.2:80", false}}));
  StateRegistry reg(2);
  auto t = Build(s, &reg);
  const ServiceEntry& e = *t->services()[0];
  EXPECT_EQ(e.replicas.size(), 2u);
  ASSERT_EQ(e.ready.size(), 1u);
  EXPECT_EQ(ReplicaState::FromSlot(e.ready[0])->id(), "1");
  EXPECT_EQ(ReplicaState::FromSlot(e.ready[0])->addr_text(), "10.0.0.1:80");
}

TEST(RouteTable, StateCarriesOverBetweenSnapshots) {
  StateRegistry reg(1);
  RouteSnapshot s1;
  s1.version = 1;
  s1.routes.push_back(Route("a", "svc", {{"1", "10.0.0.1:80", true}, {"2", "10.0.0.2:80", true}}));
  auto t1 = Build(s1, &reg);
  ServiceState* svc = t1->services()[0]->state.get();
  ReplicaState* r1 = t1->services()[0]->replicas[0].get();
  r1->in_flight.store(5);

  RouteSnapshot s2 = s1;
  s2.version = 2;
  s2.routes[0].limit = 7;
  s2.routes[0].upstreams[1].addr = "10.0.0.9:80";  // same id, new address: a new replica
  auto t2 = Build(s2, &reg);
  EXPECT_EQ(t2->services()[0]->state.get(), svc);
  EXPECT_EQ(svc->limiter().options().limit, 7u);
  EXPECT_EQ(t2->services()[0]->replicas[0].get(), r1);
  EXPECT_EQ(r1->in_flight.load(), 5u);
  EXPECT_NE(t2->services()[0]->replicas[1].get(), t1->services()[0]->replicas[1].get());

  RouteSnapshot s3;
  s3.version = 3;
  auto t3 = Build(s3, &reg);  // the service left the routes: the registry forgets it
  auto t4 = Build(s1, &reg);  // and a comeback starts from fresh state
  EXPECT_NE(t4->services()[0]->state.get(), svc);
  EXPECT_EQ(t4->services()[0]->replicas[0]->in_flight.load(), 0u);
  EXPECT_EQ(r1->in_flight.load(), 5u);  // still alive: t1 and t2 hold it
  r1->in_flight.store(0);
}

}  // namespace
}  // namespace berth::proxy
