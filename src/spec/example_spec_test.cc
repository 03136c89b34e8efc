// The specs users start from load as they should: the PRODUCT.md example and a
// real-world-shaped compose.yaml.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "spec/loader.h"
#include "spec/loader_test_util.h"
#include "spec/test_specs.h"

namespace berth::spec {
namespace {

using test_util::kProductExample;
using test_util::kRealWorldCompose;
using test_util::TestOptions;
using ::testing::ElementsAre;
using ::testing::Pair;

TEST(ExampleSpecTest, ProductExampleLoads) {
  LoadOptions o = TestOptions();
  o.params = {{"team", "team-a"}};
  o.base_dir = "/home/u/shop";
  auto r = Load(kProductExample, o);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_TRUE(r->warnings.empty()) << test_util::Describe(r->warnings);
  const Project& p = r->project;
  EXPECT_EQ(p.name, "shop-team-a");
  EXPECT_EQ(p.secrets.at("db_password").generate, 32);
  ASSERT_EQ(p.params.size(), 1u);
  EXPECT_EQ(p.params[0].pattern, "^[a-z][a-z0-9-]{0,30}$");
  const Service& api = p.services.at("api");
  EXPECT_EQ(api.image, "host");
  EXPECT_THAT(api.command, ElementsAre("gunicorn", "-w", "4", "-b", "0.0.0.0:8000", "app:app"));
  EXPECT_EQ(api.working_dir, "/srv/app");
  EXPECT_EQ(api.environment.at("DATABASE_URL"), "postgresql://app:${secret.db_password}@db:5432/app");
  EXPECT_EQ(api.mounts, (std::vector<Mount>{{MountType::kBind, "/home/u/shop/app", "/srv/app", true, 0}}));
  EXPECT_EQ(api.limits, (Resources{0.5, 256 << 20, 0}));
  EXPECT_EQ(api.healthcheck.kind, HealthKind::kCmd);
  EXPECT_EQ(api.healthcheck.command.size(), 3u);
  EXPECT_EQ(api.healthcheck.interval, Millis(5'000));
  EXPECT_EQ(api.healthcheck.start_period, Millis(30'000));
  EXPECT_EQ(api.restart.policy, RestartPolicy::kAlways);
  EXPECT_EQ(api.expose, (Expose{8000, {}, ""}));
  EXPECT_EQ(api.concurrency, (Concurrency{10, 100, Millis(10'000)}));
  EXPECT_EQ(api.scale.min, 0);
  EXPECT_EQ(api.scale.max, 4);
  EXPECT_EQ(api.replicas, 0);
  const Service& db = p.services.at("db");
  EXPECT_EQ(db.user, "postgres");
  EXPECT_EQ(db.mounts, (std::vector<Mount>{{MountType::kVolume, "pgdata", "/data", false, 0}}));
  EXPECT_EQ(db.replicas, 1);
  EXPECT_EQ(p.volumes.count("pgdata"), 1u);

  auto missing = Load(kProductExample, TestOptions());
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(missing.status().message(),
              ::testing::StartsWith("berth.yaml:3:12: error: x-berth.params.team: missing "
                                    "required parameter \"team\""));
  EXPECT_EQ(missing.status().message().find('\n'), std::string::npos) << "one mistake, one error";
}

TEST(ExampleSpecTest, RealWorldComposeLoads) {
  std::map<std::string, std::string> files = {
      {"/home/u/shop/.env", "DJANGO_SETTINGS_MODULE=shop.settings\n"}};
  LoadOptions o = TestOptions(&files);
  o.variables = {{"DEBUG", "1"}};
  auto r = Load(kRealWorldCompose, o);
  ASSERT_TRUE(r.ok()) << r.status().message();
  const Project& p = r->project;
  EXPECT_EQ(p.name, "shop");
  EXPECT_THAT(p.services, ElementsAre(Pair("db", ::testing::_), Pair("redis", ::testing::_),
                                      Pair("web", ::testing::_), Pair("worker", ::testing::_)));
  const Service& web = p.services.at("web");
  EXPECT_THAT(web.command,
              ElementsAre("gunicorn", "--workers", "4", "--bind", "0.0.0.0:8000", "shop.wsgi:application"));
  EXPECT_THAT(web.environment,
              ElementsAre(Pair("DATABASE_URL", "postgresql://app:devpass@db:5432/app"), Pair("DEBUG", "1"),
                          Pair("DJANGO_SETTINGS_MODULE", "shop.settings"),
                          Pair("REDIS_URL", "redis://redis:6379/0")));
  EXPECT_EQ(web.mounts, (std::vector<Mount>{{MountType::kBind, "/home/u/shop/src", "/srv/app", true, 0}}));
  EXPECT_EQ(web.depends_on, (std::vector<DependsOn>{{"db", DependCondition::kHealthy, true},
                                                    {"redis", DependCondition::kStarted, true}}));
  EXPECT_EQ(web.restart.policy, RestartPolicy::kUnlessStopped);
  EXPECT_EQ(web.healthcheck.kind, HealthKind::kCmdShell);
  EXPECT_EQ(web.healthcheck.retries, 5);
  EXPECT_EQ(web.replicas, 2);
  EXPECT_EQ(web.limits, (Resources{1.0, 512 << 20, 0}));
  EXPECT_EQ(web.reservations.memory_bytes, 256 << 20);
  EXPECT_EQ(web.ports, (std::vector<Port>{{"", 8000, 8000, "tcp"}}));
  EXPECT_EQ(web.expose->port, 8000);
  const Service& worker = p.services.at("worker");
  EXPECT_EQ(worker.restart, (Restart{RestartPolicy::kOnFailure, 5}));
  EXPECT_EQ(worker.healthcheck.kind, HealthKind::kNone);
  EXPECT_THAT(p.services.at("db").command,
              ElementsAre("postgres", "-D", "/var/lib/postgresql/data", "-k", "/tmp"));
  EXPECT_EQ(p.services.at("redis").healthcheck.port, 6379);
  EXPECT_THAT(p.volumes.at("redisdata").labels, ElementsAre(Pair("backup", "daily")));
  std::vector<std::string> warnings;
  for (const Diagnostic& w : r->warnings) warnings.push_back(w.path + ": " + w.message);
  EXPECT_THAT(
      warnings,
      ElementsAre("version: \"version\" is obsolete and ignored",
                  "services.web.ports: ports are not published; use x-berth.expose for HTTP services",
                  "services.worker.deploy.restart_policy: deploy.restart_policy is mapped to restart: "
                  "on-failure:5",
                  "services.db.networks: \"networks\" is not supported by berth and is ignored",
                  "networks: \"networks\" is not supported by berth and is ignored (each "
                  "environment gets one network)"));
}

}  // namespace
}  // namespace berth::spec
