#include "supervisor/admission.h"

#include <gtest/gtest.h>

namespace berth::supervisor {
namespace {

spec::Service Svc(const std::string& name, double res_cpu, int64_t res_mem, double lim_cpu, int64_t lim_mem,
                  int replicas = 1) {
  spec::Service s;
  s.name = name;
  s.reservations.cpus = res_cpu;
  s.reservations.memory_bytes = res_mem;
  s.limits.cpus = lim_cpu;
  s.limits.memory_bytes = lim_mem;
  s.replicas = replicas;
  return s;
}

constexpr int64_t kMiB = 1 << 20;

spec::Project Workshop() {
  spec::Project p;
  p.name = "ws-alice";
  p.services["notebook"] = Svc("notebook", 0.25, 256 * kMiB, 1, 1024 * kMiB);
  p.services["db"] = Svc("db", 0, 0, 0.5, 128 * kMiB);  // limits stand in for reservations
  p.services["sidecar"] = Svc("sidecar", 0, 0, 0, 0, 3);  // reserves nothing
  return p;
}

TEST(Admission, ReservationUsesReservationsElseLimitsTimesReplicas) {
  Amount a = EnvReservation(Workshop(), {});
  EXPECT_DOUBLE_EQ(a.cpus, 0.75);
  EXPECT_EQ(a.memory, 384 * kMiB);
  Amount scaled = EnvReservation(Workshop(), {{"notebook", 2}});
  EXPECT_DOUBLE_EQ(scaled.cpus, 1.0);
  EXPECT_EQ(scaled.memory, 640 * kMiB);
}

TEST(Admission, QuotaReplacesTheSumAndBoundsIt) {
  spec::Project p = Workshop();
  p.quota.cpus = 2;
  p.quota.memory_bytes = 1024 * kMiB;
  Amount a = EnvReservation(p, {});
  EXPECT_DOUBLE_EQ(a.cpus, 2);
  EXPECT_EQ(a.memory, 1024 * kMiB);
  EXPECT_TRUE(CheckQuota(p, {}).ok());
  p.quota.cpus = 0.5;
  Status s = CheckQuota(p, {});
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("reserve 0.75 CPUs but x-berth.quota allows 0.5"), std::string::npos) << s.message();
}

TEST(Admission, AdmitTable) {
  Amount host{2, 4096 * kMiB};
  struct Case {
    Amount others, wanted;
    bool ok;
    const char* names;
  };
  const Case table[] = {
      {{0, 0}, {2, 4096 * kMiB}, true, ""},
      {{1.5, 0}, {0.5, 0}, true, ""},
      {{1.5, 0}, {0.6, 0}, false, "reserves 0.6 CPUs, 0.5 of 2 are free"},
      {{0, 4000 * kMiB}, {0, 100 * kMiB}, false, "reserves 100MiB of memory, 96MiB of 4GiB are free"},
      {{3, 0}, {0, 0}, true, ""},  // reserving nothing always fits
  };
  for (const auto& c : table) {
    Status s = Admit(host, c.others, c.wanted, "alice");
    EXPECT_EQ(s.ok(), c.ok) << c.names;
    if (!c.ok) {
      EXPECT_EQ(s.code(), StatusCode::kResourceExhausted);
      EXPECT_NE(s.message().find(c.names), std::string::npos) << s.message();
      EXPECT_NE(s.message().find("environment alice"), std::string::npos);
    }
  }
}

TEST(Admission, HowManyFit) {
  std::string by;
  EXPECT_EQ(HowManyFit({2, 4096 * kMiB}, {0.5, 256 * kMiB}, &by), 4);
  EXPECT_EQ(by, "cpus");
  EXPECT_EQ(HowManyFit({16, 1024 * kMiB}, {0.5, 256 * kMiB}, &by), 4);
  EXPECT_EQ(by, "memory");
  EXPECT_EQ(HowManyFit({0.3, 1024 * kMiB}, {0.5, 0}, &by), 0);
  EXPECT_GE(HowManyFit({1, 1}, {0, 0}, &by), 1000);
  EXPECT_EQ(by, "");
  EXPECT_EQ(HowManyFit({0.3, 0}, {0.1, 0}, &by), 3);  // no floating-point off-by-one
}

}  // namespace
}  // namespace berth::supervisor
