#include "api/autoscale_handlers.h"

#include <gtest/gtest.h>

namespace berth::api {
namespace {

TEST(AutoscaleMetrics, OneGaugePerFamilyAndService) {
  std::vector<autoscaler::ServiceView> v = {
      {"shop/api", 3, 2, true, 4.5, 9.25, 7, "panic: demand 9.25 / target 7.00 per replica -> 3"},
      {"lab/fn", 0, 0, false, 0, 0, 0.7, "stable"},
  };
  std::string m = AutoscaleMetrics(v);
  EXPECT_NE(m.find("# TYPE berth_autoscaler_desired_replicas gauge\n"), std::string::npos);
  EXPECT_NE(m.find("berth_autoscaler_desired_replicas{env=\"shop\",service=\"api\"} 3.000000\n"), std::string::npos);
  EXPECT_NE(m.find("berth_autoscaler_ready_replicas{env=\"shop\",service=\"api\"} 2.000000\n"), std::string::npos);
  EXPECT_NE(m.find("berth_autoscaler_panic{env=\"shop\",service=\"api\"} 1.000000\n"), std::string::npos);
  EXPECT_NE(m.find("berth_autoscaler_panic{env=\"lab\",service=\"fn\"} 0.000000\n"), std::string::npos);
  EXPECT_NE(m.find("berth_autoscaler_panic_concurrency{env=\"shop\",service=\"api\"} 9.250000\n"), std::string::npos);
  EXPECT_NE(m.find("berth_autoscaler_target_concurrency{env=\"lab\",service=\"fn\"} 0.700000\n"), std::string::npos);
  EXPECT_EQ(m.find("HELP berth_autoscaler_ready_replicas"), m.rfind("HELP berth_autoscaler_ready_replicas"));
}

TEST(AutoscaleMetrics, EmptyIsStillValid) {
  std::string m = AutoscaleMetrics({});
  EXPECT_NE(m.find("# TYPE berth_autoscaler_panic gauge\n"), std::string::npos);
  EXPECT_EQ(m.find("{"), std::string::npos);
}

}  // namespace
}  // namespace berth::api
