#include "proxy/metrics.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>

#include "proxy/route_table.h"
#include "proxy/worker.h"

namespace berth::proxy {
namespace {

TEST(Metrics, EscapesLabelValues) {
  EXPECT_EQ(MetricsWriter::EscapeLabelValue("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
  MetricsWriter m;
  m.Family("x_total", "counter", "Help text.");
  m.Sample("x_total", {{"service", "s\"1"}}, uint64_t{3});
  m.Sample("y", {}, 1.5);
  EXPECT_EQ(m.text(),
            "# HELP x_total Help text.\n# TYPE x_total counter\nx_total{service=\"s\\\"1\"} 3\ny 1.500000\n");
}

TEST(Metrics, RendersServicesReplicasAndPassesPromtool) {
  RouteSnapshot s;
  s.version = 12;
  RouteSpec r;
  r.host = "api.shop.localhost";
  r.service = "shop/\"api\"";
  r.limit = 2;
  r.upstreams = {{"shop.api.1", "10.0.0.1:8000", true}};
  s.routes.push_back(r);
  StateRegistry reg(2);
  auto t = RouteTable::Build(s, &reg);
  ASSERT_TRUE(t.ok());
  ServiceState& svc = *(*t)->services()[0]->state;
  svc.worker(0).RecordResponse(200);
  svc.worker(1).RecordResponse(429);
  svc.worker(0).RecordLatency(700);
  svc.worker(1).RecordLatency(20'000'000);
  ProxyConfig config;
  WorkerGroup workers;
  workers.Add(std::make_unique<Worker>(0, &config, &workers));
  workers.Add(std::make_unique<Worker>(1, &config, &workers));
  std::string text = RenderMetrics(t->get(), workers, ProxyInfo{12, 3});
  EXPECT_NE(text.find("berth_proxy_requests_total{service=\"shop/\\\"api\\\"\",code=\"2xx\"} 1\n"),
            std::string::npos);
  EXPECT_NE(text.find("berth_proxy_requests_total{service=\"shop/\\\"api\\\"\",code=\"4xx\"} 1\n"),
            std::string::npos);
  EXPECT_NE(text.find("le=\"0.001\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("le=\"30\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("le=\"+Inf\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("berth_proxy_route_table_version 12\n"), std::string::npos);
  EXPECT_NE(text.find("berth_proxy_in_flight{service=\"shop/\\\"api\\\"\",replica=\"shop.api.1\"} 0\n"),
            std::string::npos);

  if (access("/usr/bin/promtool", X_OK) != 0) GTEST_SKIP() << "promtool not installed";
  char path[] = "/tmp/berth-metrics-XXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
  close(fd);
  std::string cmd = std::string("/usr/bin/promtool check metrics < ") + path + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string out;
  char buf[512];
  while (fgets(buf, sizeof(buf), p) != nullptr) out += buf;
  int rc = pclose(p);
  unlink(path);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_EQ(out, "") << out;
}

}  // namespace
}  // namespace berth::proxy
