#include "proxy/control.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>

namespace berth::proxy {
namespace {

const char* kGood = R"({"type":"snapshot","version":7,"domain":"localhost","routes":[
  {"host":"api.shop.localhost","aliases":["API.shop.example"],"path_prefix":"","service":"shop/api",
   "limit":10,"queue":100,"queue_timeout_ms":10000,
   "upstreams":[{"id":"shop.api.1","addr":"10.88.1.5:8000","ready":true},
                {"id":"shop.api.2","addr":"localhost:8001"}]}]})";

TEST(Control, ParsesTheDocumentedSnapshot) {
  auto s = ParseSnapshot(kGood);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->version, 7u);
  ASSERT_EQ(s->routes.size(), 1u);
  const RouteSpec& r = s->routes[0];
  EXPECT_EQ(r.host, "api.shop.localhost");
  EXPECT_EQ(r.aliases, std::vector<std::string>{"api.shop.example"});  // lower-cased
  EXPECT_EQ(r.limit, 10u);
  EXPECT_EQ(r.queue, 100u);
  EXPECT_EQ(r.queue_timeout_ms, 10000);
  ASSERT_EQ(r.upstreams.size(), 2u);
  EXPECT_TRUE(r.upstreams[1].ready);  // default
  // Round trip.
  auto again = ParseSnapshot(EncodeSnapshot(*s));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(EncodeSnapshot(*again), EncodeSnapshot(*s));
}

TEST(Control, RejectsBadSnapshots) {
  struct Case {
    const char* json;
    const char* error;  // substring of the message
  } cases[] = {
      {"not json", "not valid JSON"},
      {"[]", "must be a JSON object"},
      {R"({"routes":[]})", "missing \"version\""},
      {R"({"version":-1,"routes":[]})", "non-negative integer"},
      {R"({"version":1})", "missing \"routes\""},
      {R"({"version":1,"routes":{}})", "must be an array"},
      {R"({"version":1,"routes":[{"service":"s"}]})", "routes[0]: missing \"host\""},
      {R"({"version":1,"routes":[{"host":"a b","service":"s"}]})", "invalid host"},
      {R"({"version":1,"routes":[{"host":"a","service":""}]})", "service must be"},
      {R"({"version":1,"routes":[{"host":"a","service":"s","path_prefix":"x"}]})", "invalid path_prefix"},
      {R"({"version":1,"routes":[{"host":"a","service":"s","limit":"3"}]})", "\"limit\" must be"},
      {R"({"version":1,"routes":[{"host":"a","service":"s","queue_timeout_ms":0}]})", "must be positive"},
      {R"({"version":1,"routes":[{"host":"a","service":"s","upstreams":[{"id":"1","addr":"nowhere"}]}]})",
       "expected HOST:PORT"},
      {R"({"version":1,"routes":[{"host":"a","service":"s","upstreams":[{"id":"1","addr":"example.com:80"}]}]})",
       "IPv4"},
      {R"({"version":1,"routes":[{"host":"a","service":"s","upstreams":[{"id":"1","addr":"1.2.3.4:0"}]}]})",
       "invalid port"},
      {R"({"version":1,"routes":[{"host":"a","service":"s","upstreams":[{"id":"1","addr":"1.2.3.4:1"},
          {"id":"1","addr":"1.2.3.4:2"}]}]})",
       "duplicate upstream id"},
      {R"({"version":1,"routes":[{"host":"a","service":"s"},{"host":"a","service":"t"}]})",
       "two routes for host"},
      {R"({"version":1,"routes":[{"host":"a","service":"s","limit":1},{"host":"b","service":"s","limit":2}]})",
       "disagree"},
      {R"({"version":1,"routes":[{"host":"a","service":"s","upstreams":[{"id":"1","addr":"1.2.3.4:1","ready":1}]}]})",
       "true or false"},
  };
  for (const Case& c : cases) {
    auto s = ParseSnapshot(c.json);
    ASSERT_FALSE(s.ok()) << c.json;
    EXPECT_NE(s.status().message().find(c.error), std::string::npos)
        << c.json << " -> " << s.status().message();
  }
}

TEST(Control, MessagesRoundTrip) {
  auto hello = ParseControlMessage(EncodeHello(42, 9));
  ASSERT_TRUE(hello.ok());
  EXPECT_EQ(hello->type, ControlMessage::Type::kHello);
  EXPECT_EQ(hello->pid, 42);
  EXPECT_EQ(hello->version, 9u);
  auto ack = ParseControlMessage(EncodeAck(5));
  ASSERT_TRUE(ack.ok());
  EXPECT_EQ(ack->type, ControlMessage::Type::kAck);
  EXPECT_EQ(ack->version, 5u);
  auto err = ParseControlMessage(EncodeError("bad \"thing\"\n"));
  ASSERT_TRUE(err.ok());
  EXPECT_EQ(err->message, "bad \"thing\"\n");
  StatsReport r;
  r.time_ms = 1700000000000;
  r.interval_ms = 1000;
  r.services["shop/api"] = {.in_flight = 2,
                            .queued = 3,
                            .requests = 10,
                            .requests_total = 99,
                            .rejected = 1,
                            .avg_concurrency = 1.5,
                            .avg_queued = 0.25};
  auto st = ParseControlMessage(EncodeStats(r));
  ASSERT_TRUE(st.ok());
  const ServiceStats& s = st->stats.services.at("shop/api");
  EXPECT_EQ(s.in_flight, 2u);
  EXPECT_EQ(s.queued, 3u);
  EXPECT_EQ(s.requests_total, 99u);
  EXPECT_DOUBLE_EQ(s.avg_concurrency, 1.5);
  EXPECT_FALSE(ParseControlMessage(R"({"type":"bogus"})").ok());
  EXPECT_FALSE(ParseControlMessage(R"({"no":"type"})").ok());
}

TEST(Control, LineFramer) {
  LineFramer f(16);
  std::string line;
  f.Append("one\r\ntw");
  ASSERT_TRUE(f.Next(&line));
  EXPECT_EQ(line, "one");
  EXPECT_FALSE(f.Next(&line));
  f.Append("o\nthree\n");
  ASSERT_TRUE(f.Next(&line));
  EXPECT_EQ(line, "two");
  ASSERT_TRUE(f.Next(&line));
  EXPECT_EQ(line, "three");
  f.Append(std::string(40, 'x'));
  EXPECT_FALSE(f.Next(&line));
  EXPECT_TRUE(f.overflow());
}

TEST(Control, RoutesFileRoundTrip) {
  char dir[] = "/tmp/berth-routes-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  std::string path = std::string(dir) + "/routes.json";
  auto s = ParseSnapshot(kGood);
  ASSERT_TRUE(s.ok());
  ASSERT_TRUE(WriteRoutesFile(path, *s).ok());
  auto back = ReadRoutesFile(path);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(EncodeSnapshot(*back), EncodeSnapshot(*s));
  EXPECT_EQ(ReadRoutesFile(path + ".missing").status().code(), StatusCode::kNotFound);
  unlink(path.c_str());
  rmdir(dir);
}

TEST(Control, Ipv4Addresses) {
  uint32_t ip;
  uint16_t port;
  ASSERT_TRUE(ParseIpv4Address("10.88.1.5:8000", &ip, &port).ok());
  EXPECT_EQ(ip, 0x0A580105u);
  EXPECT_EQ(port, 8000);
  ASSERT_TRUE(ParseIpv4Address("localhost:1", &ip, &port).ok());
  EXPECT_EQ(ip, 0x7F000001u);
  for (const char* bad :
       {"", ":", "1.2.3.4", "1.2.3.4:", "1.2.3.4:65536", "1.2.3.4:x", "1.2.3:80", "[::1]:80"}) {
    EXPECT_FALSE(ParseIpv4Address(bad, &ip, &port).ok()) << bad;
  }
}

}  // namespace
}  // namespace berth::proxy

namespace berth::proxy {
namespace {

TEST(ControlActivate, RoundTripsAndUpstreamInFlight) {
  auto m = ParseControlMessage(EncodeActivate("shop/api", 3));
  ASSERT_TRUE(m.ok()) << m.status().message();
  EXPECT_EQ(m->type, ControlMessage::Type::kActivate);
  EXPECT_EQ(m->message, "shop/api");
  EXPECT_EQ(m->queued, 3u);
  EXPECT_FALSE(ParseControlMessage(R"({"type":"activate"})").ok());  // the service is required
  StatsReport r;
  r.services["shop/api"].upstream_in_flight = {{"shop.api.1", 2}, {"shop.api.2", 0}};
  auto s = ParseControlMessage(EncodeStats(r));
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->stats.services["shop/api"].upstream_in_flight.at("shop.api.1"), 2u);
  EXPECT_EQ(s->stats.services["shop/api"].upstream_in_flight.at("shop.api.2"), 0u);
}

}  // namespace
}  // namespace berth::proxy
