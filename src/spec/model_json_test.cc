#include "spec/model_json.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "spec/loader.h"
#include "spec/loader_test_util.h"
#include "spec/test_specs.h"

namespace berth::spec {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;

// Every field away from its default, with strings that need care in YAML and in the
// model-string grammar.
Project Maximal() {
  Project p;
  p.name = "team-a";
  Service s;
  s.name = "api";
  s.image = "rootfs:/srv/rootfs";
  s.entrypoint = {"/usr/bin/env", "", "no"};
  s.command = {"sh", "-c", "echo $HOME $$ ${X} && exit 1", "null", "~", "123", "- x", "#c", " lead", "a: b"};
  s.environment = {{"URL", "postgres://app:${secret.db}@db/app"},
                   {"LITERAL", "$${secret.db}"},
                   {"EMPTY", ""},
                   {"DOLLAR", "cost: 5$"},
                   {"UNICODE", "caf\xc3\xa9 \xe2\x9c\x93"},
                   {"MULTI", "line1\nline2"}};
  s.working_dir = "/srv/app";
  s.user = "1000:1000";
  s.mounts = {{MountType::kVolume, "data", "/data", false, 0},
              {MountType::kBind, "/home/u/app", "/srv/app", true, 0},
              {MountType::kTmpfs, "", "/tmp", false, 64 << 20}};
  s.healthcheck = {HealthKind::kHttp, {},          8000, "/health?deep=1", Millis(1500), Millis(2000),
                   Millis(0),         Millis(250), 7};
  s.restart = {RestartPolicy::kOnFailure, 4};
  s.depends_on = {{"db", DependCondition::kHealthy, true},
                  {"migrate", DependCondition::kCompletedSuccessfully, false}};
  s.replicas = 2;
  s.limits = {1.25, 768 << 20, 300};
  s.reservations = {0.5, 1000, 0};
  s.stop_signal = "SIGINT";
  s.stop_grace_period = Millis(90'500);
  s.labels = {{"team", "a"}, {"empty", ""}};
  s.ports = {{"127.0.0.1", 8080, 8000, "tcp"}, {"", 0, 53, "udp"}};
  s.expose = Expose{8000, {"shop.example.com"}, "/api"};
  s.concurrency = {10, 100, Millis(5'000)};
  s.scale = {1, 4, Millis(120'000), 0.65};
  s.secrets = {"db", "external"};
  s.init = false;
  p.services["api"] = s;
  Service db;
  db.name = "db";
  db.healthcheck = {HealthKind::kCmdShell,
                    {"/bin/sh", "-c", "pg_isready || exit 1"},
                    0,
                    "/",
                    Millis(5000),
                    Millis(5000),
                    Millis(10'000),
                    Millis(5000),
                    3};
  db.mounts = {{MountType::kVolume, "data", "/var/lib/postgresql", false, 0}};
  db.scale = {1, 1, Scale{}.idle, Scale{}.target_utilization};
  p.services["db"] = db;
  Service migrate;
  migrate.name = "migrate";
  migrate.healthcheck = {HealthKind::kTcp, {},        5432,         "/", Millis(30'000),
                         Millis(30'000),   Millis(0), Millis(5000), 3};
  migrate.restart = {RestartPolicy::kNo, 0};
  p.services["migrate"] = migrate;
  p.volumes = {{"data", {"data", {{"backup", "daily"}}}}, {"cache", {"cache", {}}}};
  p.params = {{"team", true, std::nullopt, "^[a-z]+$", "the team"}, {"size", false, "small", "", ""}};
  p.secrets = {{"db", {"db", 32}}, {"external", {"external", 0}}};
  p.quota = {4, 8ll << 30};
  return p;
}

LoadOptions ReloadOptions() {
  LoadOptions o = test_util::TestOptions();
  o.params = {{"team", "a"}};
  return o;
}

std::vector<std::pair<std::string, Project>> TestProjects() {
  std::vector<std::pair<std::string, Project>> out = {{"default", Project{}}, {"maximal", Maximal()}};
  auto product = Load(test_util::kProductExample, ReloadOptions());
  EXPECT_TRUE(product.ok()) << product.status().message();
  if (product.ok()) out.emplace_back("product example", product->project);
  std::map<std::string, std::string> files = {{"/home/u/shop/.env", "A=1\n"}};
  auto compose = Load(test_util::kRealWorldCompose, test_util::TestOptions(&files));
  EXPECT_TRUE(compose.ok()) << compose.status().message();
  if (compose.ok()) out.emplace_back("real-world compose", compose->project);
  return out;
}

TEST(ModelJsonTest, RoundTripsEveryTestProject) {
  for (const auto& [name, p] : TestProjects()) {
    json j = ToJson(p);
    auto back = ProjectFromJson(j);
    ASSERT_TRUE(back.ok()) << name << ": " << back.status().message();
    EXPECT_EQ(*back, p) << name;
    auto reparsed = ProjectFromJson(json::parse(j.dump()));
    ASSERT_TRUE(reparsed.ok()) << name;
    EXPECT_EQ(*reparsed, p) << name;
    for (const auto& [sname, s] : p.services) {
      auto sb = ServiceFromJson(ToJson(s));
      ASSERT_TRUE(sb.ok()) << name << "/" << sname << ": " << sb.status().message();
      EXPECT_EQ(*sb, s);
    }
  }
}

TEST(ModelJsonTest, UnitsAreMillisecondsAndBytes) {
  json j = ToJson(Maximal());
  const json& api = j["services"]["api"];
  EXPECT_EQ(api["healthcheck"]["interval_ms"], 1500);
  EXPECT_EQ(api["stop_grace_period_ms"], 90'500);
  EXPECT_EQ(api["concurrency"]["queue_timeout_ms"], 5000);
  EXPECT_EQ(api["scale"]["idle_ms"], 120'000);
  EXPECT_EQ(api["limits"]["memory_bytes"], 768 << 20);
  EXPECT_EQ(api["mounts"][2]["tmpfs_size_bytes"], 64 << 20);
  EXPECT_EQ(api["healthcheck"]["kind"], "http");
  EXPECT_EQ(api["restart"]["policy"], "on-failure");
  EXPECT_EQ(api["init"], false);
  EXPECT_EQ(api["depends_on"][0]["condition"], "service_healthy");
  EXPECT_EQ(j["services"]["db"]["expose"], nullptr);
  EXPECT_EQ(j["quota"]["memory_bytes"], 8ll << 30);
  EXPECT_EQ(j["params"][0]["default"], nullptr);
}

TEST(ModelJsonTest, AbsentFieldsKeepDefaults) {
  auto p = ProjectFromJson(json::parse(R"({"name": "x", "services": {"web": {"name": "web"}}})"));
  ASSERT_TRUE(p.ok()) << p.status().message();
  Service want;
  want.name = "web";
  EXPECT_EQ(p->services.at("web"), want);
}

TEST(ModelJsonTest, WrongTypesNameTheField) {
  struct Case {
    const char* pointer;  // JSON pointer into ToJson(Maximal()); "" = the root
    json value;
    const char* message;
  };
  const Case cases[] = {
      {"", json::array(), "invalid project JSON: field \"(root)\": expected an object, got array"},
      {"/name", 5, "field \"name\": expected a string, got number"},
      {"/name", "Team A", "field \"name\": environment name \"Team A\" is invalid"},
      {"/services", json::array(), "field \"services\": expected an object, got array"},
      {"/services/api", "x", "field \"services.api\": expected an object, got string"},
      {"/services/api/replicas", "2", "field \"services.api.replicas\": expected an integer, got string"},
      {"/services/api/replicas", 1e12, "field \"services.api.replicas\": expected an integer, got number"},
      {"/services/api/replicas", 10000000000ll, "field \"services.api.replicas\": integer out of range"},
      {"/services/api/healthcheck/interval_ms", 1.5,
       "field \"services.api.healthcheck.interval_ms\": expected an integer, got number"},
      {"/services/api/healthcheck/interval_ms", -1,
       "field \"services.api.healthcheck.interval_ms\": negative"},
      {"/services/api/healthcheck/kind", "ping",
       "field \"services.api.healthcheck.kind\": unknown value \"ping\""},
      {"/services/api/mounts/2/type", "nfs", "field \"services.api.mounts[2].type\": unknown value \"nfs\""},
      {"/services/api/mounts/0/read_only", 1,
       "field \"services.api.mounts[0].read_only\": expected a boolean"},
      {"/services/api/limits/cpus", "0.5",
       "field \"services.api.limits.cpus\": expected a number, got string"},
      {"/services/api/environment/URL", 1, "field \"services.api.environment.URL\": expected a string"},
      {"/services/api/command", "run",
       "field \"services.api.command\": expected an array of strings, got string"},
      {"/services/api/command/0", 1, "field \"services.api.command[0]\": expected a string, got number"},
      {"/services/api/expose", 5, "field \"services.api.expose\": expected an object, got number"},
      {"/services/api/restart/policy", "sometimes", "field \"services.api.restart.policy\": unknown value"},
      {"/services/api/depends_on", json::object(), "field \"services.api.depends_on\": expected an array"},
      {"/services/api/depends_on/0/condition", "ready",
       "services.api.depends_on[0].condition\": unknown value"},
      {"/services/api/scale/target_utilization", true,
       "services.api.scale.target_utilization\": expected a number"},
      {"/services/api/init", "no", "field \"services.api.init\": expected a boolean, got string"},
      {"/services/api/name", "other", "field \"services.api.name\": \"other\" differs from its key"},
      {"/volumes/data/labels", json::array(), "field \"volumes.data.labels\": expected an object of strings"},
      {"/volumes/-bad", json::object(), "field \"volumes.-bad\": volume name \"-bad\" is invalid"},
      {"/params/0/default", 5, "field \"params[0].default\": expected a string or null, got number"},
      {"/params/0/name", "9", "field \"params[0].name\": parameter name \"9\" is invalid"},
      {"/secrets/db/generate", "32", "field \"secrets.db.generate\": expected an integer, got string"},
      {"/quota", json::array(), "field \"quota\": expected an object, got array"},
  };
  for (const Case& c : cases) {
    json j = ToJson(Maximal());
    if (std::string(c.pointer).empty()) {
      j = c.value;
    } else {
      j[json::json_pointer(c.pointer)] = c.value;
    }
    auto r = ProjectFromJson(j);
    ASSERT_FALSE(r.ok()) << c.pointer;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << c.pointer;
    EXPECT_THAT(r.status().message(), HasSubstr(c.message)) << c.pointer;
  }
  auto s = ServiceFromJson(json{{"name", "Bad Name"}});
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.status().message(),
              HasSubstr("invalid service JSON: field \"name\": service name \"Bad Name\""));
}

TEST(ModelYamlTest, UsesHumanUnits) {
  std::string yaml = ToYaml(Maximal());
  for (const char* want :
       {"memory: 768MiB", "interval: 1.5s", "stop_grace_period: 1m30.5s", "queue_timeout: 5s", "idle: 2m",
        "size: 64MiB", "memory: 8GiB", "restart: on-failure:4", "memory: 1000B",
        "test: [HTTP, \"http://localhost:8000/health?deep=1\"]", "init: false"}) {
    EXPECT_THAT(yaml, HasSubstr(want)) << yaml;
  }
}

TEST(ModelYamlTest, LoadingTheYamlGivesTheSameProject) {
  for (const auto& [name, p] : TestProjects()) {
    if (name == "default") continue;  // no services: not a loadable spec
    std::string yaml = ToYaml(p);
    auto back = Load(yaml, ReloadOptions());
    ASSERT_TRUE(back.ok()) << name << ":\n" << yaml << "\n" << back.status().message();
    EXPECT_EQ(back->project, p) << name << ":\n" << yaml;
  }
}

TEST(HashTest, StableHexOverTheCanonicalJson) {
  Service s;
  s.name = "web";
  EXPECT_THAT(ServiceHash(s), MatchesRegex("[0-9a-f]{16}"));
  // Pinned: the hash of a service must not change between builds or releases unless
  // its JSON form changes (that would restart every replica on upgrade).
  EXPECT_EQ(ServiceHash(s), "c9c0f5ecb0923942");
  EXPECT_EQ(ServiceHash(s), ServiceHash(*ServiceFromJson(ToJson(s))));
  Service other = s;
  EXPECT_EQ(ServiceHash(other), ServiceHash(s));
  other.environment["A"] = "1";
  EXPECT_NE(ServiceHash(other), ServiceHash(s));
  other = s;
  other.healthcheck.interval = Millis(29'999);
  EXPECT_NE(ServiceHash(other), ServiceHash(s));
  // The count and the traffic settings scale or re-route; they do not replace replicas.
  other = s;
  other.replicas = 2;
  other.scale.max = 5;
  other.scale.window = Millis(6'000);
  other.concurrency.limit = 3;
  EXPECT_EQ(ServiceHash(other), ServiceHash(s));
  other = s;
  other.stop_signal = "SIGINT";
  EXPECT_NE(ServiceHash(other), ServiceHash(s));
  Project p = Maximal();
  std::string h = ProjectHash(p);
  EXPECT_THAT(h, MatchesRegex("[0-9a-f]{16}"));
  p.services["db"].user = "postgres";
  EXPECT_NE(ProjectHash(p), h);
  EXPECT_EQ(ServiceHash(p.services["api"]), ServiceHash(Maximal().services["api"]));
}

}  // namespace
}  // namespace berth::spec
