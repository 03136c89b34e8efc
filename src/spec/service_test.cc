// Loading of the service-level keys: the model each form produces.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "spec/loader.h"
#include "spec/loader_test_util.h"

namespace berth::spec {
namespace {

using test_util::TestOptions;
using test_util::Web;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;

Service LoadWeb(const std::string& yaml, LoadOptions options = TestOptions()) {
  auto r = Load(yaml, options);
  EXPECT_TRUE(r.ok()) << r.status().message();
  if (!r.ok() || !r->project.services.count("web")) return {};
  return r->project.services.at("web");
}

TEST(ServiceTest, Images) {
  EXPECT_EQ(LoadWeb(Web("")).image, "host");
  EXPECT_EQ(LoadWeb("services:\n  web:\n    image: rootfs:./rootfs/py\n").image,
            "rootfs:/home/u/shop/rootfs/py");
  EXPECT_EQ(LoadWeb("services:\n  web:\n    image: rootfs:/srv/../srv/rootfs\n").image, "rootfs:/srv/rootfs");
  EXPECT_EQ(LoadWeb("services:\n  web:\n    image: python:3.11-slim\n").image, "python:3.11-slim");
}

TEST(ServiceTest, CommandAndEntrypoint) {
  Service s =
      LoadWeb(Web("    command: gunicorn -w 4 \"app:create_app()\" --log-level 'debug'\n"
                  "    entrypoint: [\"/usr/bin/env\", 42, true]\n"));
  EXPECT_THAT(s.command, ElementsAre("gunicorn", "-w", "4", "app:create_app()", "--log-level", "debug"));
  EXPECT_THAT(s.entrypoint, ElementsAre("/usr/bin/env", "42", "true"));
  EXPECT_TRUE(LoadWeb(Web("    command: ~\n    entrypoint: \"\"\n")).command.empty());
}

TEST(ServiceTest, Environment) {
  LoadOptions options = TestOptions();
  options.variables = {{"FROM_ENV", "e"}, {"HOME", "/root"}};
  Service s = LoadWeb(Web("    environment:\n"
                          "      STR: text\n"
                          "      NUM: 8000\n"
                          "      FLOAT: 1.50\n"
                          "      BOOL: true\n"
                          "      NO: no\n"
                          "      EMPTY: \"\"\n"
                          "      FROM_ENV:\n"
                          "      MISSING:\n"
                          "      URL: \"http://x/$${PATH}\"\n"),
                      options);
  EXPECT_THAT(s.environment, ElementsAre(Pair("BOOL", "true"), Pair("EMPTY", ""), Pair("FLOAT", "1.50"),
                                         Pair("FROM_ENV", "e"), Pair("NO", "no"), Pair("NUM", "8000"),
                                         Pair("STR", "text"), Pair("URL", "http://x/${PATH}")));
  Service l = LoadWeb(
      Web("    environment:\n      - A=1\n      - B=x=y\n      - C=\n      - HOME\n      - MISSING\n"),
      options);
  EXPECT_THAT(l.environment,
              ElementsAre(Pair("A", "1"), Pair("B", "x=y"), Pair("C", ""), Pair("HOME", "/root")));
}

TEST(ServiceTest, EnvFiles) {
  std::map<std::string, std::string> files = {
      {"/home/u/shop/.env", "# defaults\nA=from-file\nB='single $X'\nC=\"double ${X}\"\nD=${UNSET:-dflt}\n"},
      {"/home/u/shop/conf/extra.env", "export A=second\nE=only-here\n"},
  };
  LoadOptions options = TestOptions(&files);
  options.variables = {{"X", "x"}};
  Service s = LoadWeb(Web("    env_file:\n      - .env\n      - path: conf/extra.env\n"
                          "      - path: ./absent.env\n        required: false\n"
                          "    environment: {E: from-environment}\n"),
                      options);
  EXPECT_THAT(s.environment, ElementsAre(Pair("A", "second"), Pair("B", "single $X"), Pair("C", "double x"),
                                         Pair("D", "dflt"), Pair("E", "from-environment")));
  EXPECT_THAT(LoadWeb(Web("    env_file: .env\n"), options).environment,
              ::testing::Contains(Pair("A", "from-file")));
}

TEST(ServiceTest, EnvFileErrorsPointIntoTheEnvFile) {
  std::map<std::string, std::string> files = {{"/home/u/shop/bad.env", "A=1\nnot a line\nB=${oops\n"}};
  std::vector<Diagnostic> errors;
  auto r = Load(Web("    env_file: bad.env\n"), TestOptions(&files), &errors);
  ASSERT_FALSE(r.ok());
  ASSERT_EQ(errors.size(), 2u) << test_util::Describe(errors);
  EXPECT_EQ(errors[0].ToString(), "/home/u/shop/bad.env:2: error: expected \"=\" after \"not\"");
  EXPECT_EQ(errors[1].file, "/home/u/shop/bad.env");
  EXPECT_EQ(errors[1].line, 3);
  EXPECT_EQ(errors[1].path, "services.web.env_file.B");
  EXPECT_THAT(errors[1].message, HasSubstr("missing \"}\""));
}

TEST(ServiceTest, FileReaderFailuresAreErrors) {
  LoadOptions options = TestOptions();
  options.read_file = [](const std::string&) -> StatusOr<std::string> { throw std::runtime_error("boom"); };
  auto r = Load(Web("    env_file: .env\n"), options);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("cannot read env_file \".env\": boom"));
  options.read_file = nullptr;
  r = Load(Web("    env_file: [{path: .env, required: false}]\n"), options);
  EXPECT_TRUE(r.ok()) << r.status().message();
}

TEST(ServiceTest, Volumes) {
  auto r = Load(Web("    volumes:\n"
                    "      - data:/var/lib/data\n"
                    "      - ./app:/srv/app:ro\n"
                    "      - /etc/ssl:/etc/ssl:ro\n"
                    "      - ../shared:/shared:rw\n"
                    "      - /cache\n"
                    "      - type: tmpfs\n        target: /tmp\n        tmpfs: {size: 64M}\n"
                    "      - {type: volume, source: data, target: /backup, read_only: true}\n"
                    "      - {type: bind, source: ./logs, target: /logs/}\n",
                    "volumes:\n  data:\n"),
                TestOptions());
  ASSERT_TRUE(r.ok()) << r.status().message();
  const Service& s = r->project.services.at("web");
  ASSERT_EQ(s.mounts.size(), 8u);
  EXPECT_EQ(s.mounts[0], (Mount{MountType::kVolume, "data", "/var/lib/data", false, 0}));
  EXPECT_EQ(s.mounts[1], (Mount{MountType::kBind, "/home/u/shop/app", "/srv/app", true, 0}));
  EXPECT_EQ(s.mounts[2], (Mount{MountType::kBind, "/etc/ssl", "/etc/ssl", true, 0}));
  EXPECT_EQ(s.mounts[3], (Mount{MountType::kBind, "/home/u/shared", "/shared", false, 0}));
  EXPECT_EQ(s.mounts[4].type, MountType::kVolume);
  EXPECT_EQ(s.mounts[4].target, "/cache");
  EXPECT_THAT(s.mounts[4].source, ::testing::MatchesRegex("anon-web-[0-9a-f]{8}"));
  EXPECT_EQ(s.mounts[5], (Mount{MountType::kTmpfs, "", "/tmp", false, 64 << 20}));
  EXPECT_EQ(s.mounts[6], (Mount{MountType::kVolume, "data", "/backup", true, 0}));
  EXPECT_EQ(s.mounts[7], (Mount{MountType::kBind, "/home/u/shop/logs", "/logs", false, 0}));
  // The anonymous volume is declared like any other, so it survives restarts.
  EXPECT_EQ(r->project.volumes.size(), 2u);
  EXPECT_TRUE(r->project.volumes.count(s.mounts[4].source));
  // The same target always gets the same name (rolling updates keep the data).
  auto again = Load(Web("    volumes: [/cache]\n"), TestOptions());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->project.services.at("web").mounts[0].source, s.mounts[4].source);
}

TEST(ServiceTest, Healthchecks) {
  struct Case {
    const char* test;
    HealthKind kind;
    std::vector<std::string> command;
    int port;
    const char* path;
  };
  const Case cases[] = {
      {"curl -f http://localhost/ || exit 1",
       HealthKind::kCmdShell,
       {"/bin/sh", "-c", "curl -f http://localhost/ || exit 1"},
       0,
       "/"},
      {"[\"CMD\", \"pg_isready\", \"-U\", \"app\"]", HealthKind::kCmd, {"pg_isready", "-U", "app"}, 0, "/"},
      {"[\"CMD-SHELL\", \"redis-cli ping | grep PONG\"]",
       HealthKind::kCmdShell,
       {"/bin/sh", "-c", "redis-cli ping | grep PONG"},
       0,
       "/"},
      {"[\"NONE\"]", HealthKind::kNone, {}, 0, "/"},
      {"[\"HTTP\", \"http://localhost:8000/health\"]", HealthKind::kHttp, {}, 8000, "/health"},
      {"[\"HTTP\", \"http://0.0.0.0:9000\"]", HealthKind::kHttp, {}, 9000, "/"},
      {"[\"HTTP\", \"http://[::1]:8080/a/b?x=1\"]", HealthKind::kHttp, {}, 8080, "/a/b?x=1"},
      {"[\"TCP\", \"5432\"]", HealthKind::kTcp, {}, 5432, "/"},
      {"[\"TCP\", \"localhost:6379\"]", HealthKind::kTcp, {}, 6379, "/"},
  };
  for (const Case& c : cases) {
    Service s = LoadWeb(Web(std::string("    healthcheck:\n      test: ") + c.test + "\n"));
    EXPECT_EQ(s.healthcheck.kind, c.kind) << c.test;
    EXPECT_EQ(s.healthcheck.command, c.command) << c.test;
    EXPECT_EQ(s.healthcheck.port, c.port) << c.test;
    EXPECT_EQ(s.healthcheck.http_path, c.path) << c.test;
  }
  Service t =
      LoadWeb(Web("    healthcheck:\n      test: [CMD, true]\n      interval: 1m30s\n      timeout: 500ms\n"
                  "      start_period: 0s\n      start_interval: 2s\n      retries: 5\n"));
  EXPECT_EQ(t.healthcheck.interval, Millis(90'000));
  EXPECT_EQ(t.healthcheck.timeout, Millis(500));
  EXPECT_EQ(t.healthcheck.start_period, Millis(0));
  EXPECT_EQ(t.healthcheck.start_interval, Millis(2'000));
  EXPECT_EQ(t.healthcheck.retries, 5);
  Service d = LoadWeb(Web("    healthcheck:\n      test: [CMD, true]\n      disable: true\n"));
  EXPECT_EQ(d.healthcheck.kind, HealthKind::kNone);
  Service defaults = LoadWeb(Web(""));
  EXPECT_EQ(defaults.healthcheck, HealthCheck{});
}

TEST(ServiceTest, Restart) {
  struct Case {
    const char* text;
    Restart want;
  };
  const Case cases[] = {
      {"no", {RestartPolicy::kNo, 0}},
      {"\"no\"", {RestartPolicy::kNo, 0}},
      {"always", {RestartPolicy::kAlways, 0}},
      {"unless-stopped", {RestartPolicy::kUnlessStopped, 0}},
      {"on-failure", {RestartPolicy::kOnFailure, 0}},
      {"on-failure:5", {RestartPolicy::kOnFailure, 5}},
  };
  for (const Case& c : cases)
    EXPECT_EQ(LoadWeb(Web(std::string("    restart: ") + c.text + "\n")).restart, c.want);
  // deploy.restart_policy maps onto restart and wins over it.
  struct Policy {
    const char* yaml;
    Restart want;
  };
  const Policy policies[] = {
      {"{condition: none}", {RestartPolicy::kNo, 0}},
      {"{condition: on-failure, max_attempts: 3}", {RestartPolicy::kOnFailure, 3}},
      {"{condition: any}", {RestartPolicy::kAlways, 0}},
      {"{}", {RestartPolicy::kAlways, 0}},
  };
  for (const Policy& p : policies) {
    Service s =
        LoadWeb(Web(std::string("    restart: \"no\"\n    deploy:\n      restart_policy: ") + p.yaml + "\n"));
    EXPECT_EQ(s.restart, p.want) << p.yaml;
  }
}

TEST(ServiceTest, DependsOn) {
  const std::string others =
      "  db:\n    image: host\n    healthcheck: {test: [TCP, \"5432\"]}\n"
      "  migrate:\n    image: host\n  cache:\n    image: host\n";
  Service list = LoadWeb(Web("    depends_on: [db, cache]\n", others));
  EXPECT_EQ(list.depends_on, (std::vector<DependsOn>{{"db", DependCondition::kStarted, true},
                                                     {"cache", DependCondition::kStarted, true}}));
  Service map =
      LoadWeb(Web("    depends_on:\n"
                  "      db: {condition: service_healthy}\n"
                  "      migrate: {condition: service_completed_successfully, required: false}\n"
                  "      cache:\n",
                  others));
  EXPECT_EQ(map.depends_on,
            (std::vector<DependsOn>{{"db", DependCondition::kHealthy, true},
                                    {"migrate", DependCondition::kCompletedSuccessfully, false},
                                    {"cache", DependCondition::kStarted, true}}));
}

TEST(ServiceTest, DeployAndResources) {
  Service s =
      LoadWeb(Web("    deploy:\n"
                  "      replicas: 3\n"
                  "      resources:\n"
                  "        limits: {cpus: \"1.5\", memory: 512M, pids: 200}\n"
                  "        reservations: {cpus: 0.25, memory: 128Mi}\n"));
  EXPECT_EQ(s.replicas, 3);
  EXPECT_EQ(s.limits, (Resources{1.5, 512 << 20, 200}));
  EXPECT_EQ(s.reservations, (Resources{0.25, 128 << 20, 0}));
  EXPECT_EQ(s.scale.min, 3);
  EXPECT_EQ(s.scale.max, 3);
  Service zero = LoadWeb(Web("    deploy: {replicas: 0}\n"));
  EXPECT_EQ(zero.replicas, 0);
  EXPECT_EQ(zero.scale.max, 0);
}

TEST(ServiceTest, StopSignalAndGracePeriod) {
  for (auto [in, want] : std::vector<std::pair<std::string, std::string>>{{"SIGTERM", "SIGTERM"},
                                                                          {"TERM", "SIGTERM"},
                                                                          {"sigint", "SIGINT"},
                                                                          {"QUIT", "SIGQUIT"},
                                                                          {"SIGKILL", "SIGKILL"},
                                                                          {"HUP", "SIGHUP"},
                                                                          {"USR1", "SIGUSR1"},
                                                                          {"SIGUSR2", "SIGUSR2"},
                                                                          {"WINCH", "SIGWINCH"}}) {
    EXPECT_EQ(LoadWeb(Web("    stop_signal: " + in + "\n")).stop_signal, want) << in;
  }
  EXPECT_EQ(LoadWeb(Web("    stop_grace_period: 1m\n")).stop_grace_period, Millis(60'000));
  EXPECT_EQ(LoadWeb(Web("    stop_grace_period: 15\n")).stop_grace_period, Millis(15'000));
}

TEST(ServiceTest, LabelsUserWorkingDir) {
  Service m = LoadWeb(
      Web("    labels: {team: a, tier: 1, empty: }\n    user: \"1000:1000\"\n    working_dir: /srv/app\n"));
  EXPECT_THAT(m.labels, ElementsAre(Pair("empty", ""), Pair("team", "a"), Pair("tier", "1")));
  EXPECT_EQ(m.user, "1000:1000");
  EXPECT_EQ(m.working_dir, "/srv/app");
  Service l = LoadWeb(Web("    labels: [\"a=1\", \"b\"]\n    user: 1000\n"));
  EXPECT_THAT(l.labels, ElementsAre(Pair("a", "1"), Pair("b", "")));
  EXPECT_EQ(l.user, "1000");
}

TEST(ServiceTest, Init) {
  EXPECT_TRUE(LoadWeb(Web("")).init);  // Berth runs berth-init as PID 1 unless told not to
  EXPECT_TRUE(LoadWeb(Web("    init: true\n")).init);
  EXPECT_FALSE(LoadWeb(Web("    init: false\n")).init);
}

TEST(ServiceTest, Ports) {
  Service s =
      LoadWeb(Web("    ports:\n"
                  "      - 8000\n"
                  "      - \"8080:8000\"\n"
                  "      - \"127.0.0.1:8081:8001/tcp\"\n"
                  "      - \"127.0.0.1::53/udp\"\n"
                  "      - \"[::1]:9090:9000\"\n"
                  "      - {target: 80, published: \"8082\", host_ip: 0.0.0.0, protocol: tcp}\n"
                  "      - {target: 81}\n"));
  EXPECT_EQ(s.ports, (std::vector<Port>{{"", 0, 8000, "tcp"},
                                        {"", 8080, 8000, "tcp"},
                                        {"127.0.0.1", 8081, 8001, "tcp"},
                                        {"127.0.0.1", 0, 53, "udp"},
                                        {"::1", 9090, 9000, "tcp"},
                                        {"0.0.0.0", 8082, 80, "tcp"},
                                        {"", 0, 81, "tcp"}}));
}

TEST(ServiceTest, Secrets) {
  auto r = Load(
      Web("    secrets: [a, {source: b}, a]\n",
          "x-berth:\n  secrets: {a: {generate: 16}, b: {generate: 32}}\nsecrets:\n  c: {file: ./c.txt}\n"),
      TestOptions());
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_THAT(r->project.services.at("web").secrets, ElementsAre("a", "b"));
  EXPECT_EQ(r->project.secrets.at("a"), (SecretSpec{"a", 16}));
  // Compose file secrets are declared names without a value Berth can supply.
  EXPECT_EQ(r->project.secrets.at("c"), (SecretSpec{"c", 0}));
  auto compose = Load(Web("    secrets: [c]\n", "secrets:\n  c: {file: ./c.txt}\n"), TestOptions());
  EXPECT_TRUE(compose.ok()) << compose.status().message();
}

TEST(ServiceTest, Extensions) {
  Service s =
      LoadWeb(Web("    x-berth:\n"
                  "      expose: {port: 8000, hosts: [Shop.Example.com], path_prefix: /api}\n"
                  "      concurrency: {limit: 10, queue: 100, queue_timeout: 5s}\n"
                  "      scale: {min: 0, max: 4, idle: 2m, target_utilization: 0.5}\n"));
  ASSERT_TRUE(s.expose);
  EXPECT_EQ(*s.expose, (Expose{8000, {"shop.example.com"}, "/api"}));
  EXPECT_EQ(s.concurrency, (Concurrency{10, 100, Millis(5'000)}));
  EXPECT_EQ(s.scale, (Scale{0, 4, Millis(120'000), 0.5}));
  EXPECT_EQ(s.replicas, 0);  // starts at scale.min: a min-0 service starts with none
  Service shorthand = LoadWeb(Web("    x-berth: {expose: 8080}\n"));
  EXPECT_EQ(*shorthand.expose, (Expose{8080, {}, ""}));
  EXPECT_FALSE(LoadWeb(Web("")).expose);
  Service bounded = LoadWeb(Web("    deploy: {replicas: 2}\n    x-berth: {scale: {max: 5}}\n"));
  EXPECT_EQ(bounded.replicas, 2);
  EXPECT_EQ(bounded.scale.min, 1);
  EXPECT_EQ(bounded.scale.max, 5);
  Service min_only = LoadWeb(Web("    x-berth: {scale: {min: 3}}\n"));
  EXPECT_EQ(min_only.replicas, 3);
  EXPECT_EQ(min_only.scale.max, 3);
}

TEST(ServiceTest, ExtensionFieldsAreIgnoredSilently) {
  auto r = Load(Web("    x-notes: {anything: [goes, \"${not interpolated\"]}\n",
                    "x-defaults: &d {restart: always}\nvolumes:\n  v:\n    x-owner: me\n"),
                TestOptions());
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_TRUE(r->warnings.empty()) << test_util::Describe(r->warnings);
}

}  // namespace
}  // namespace berth::spec
