// Loading of the service-level keys: the model each form produces, and every error
// and warning with its position and key path.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "spec/loader.h"
#include "spec/loader_test_util.h"

namespace berth::spec {
namespace {

using test_util::Expected;
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

TEST(ServiceErrorsTest, Table) {
  const std::string two = "  db:\n    image: host\n";
  const Expected cases[] = {
      {"typo in a service key", Web("    enviroment: {A: 1}\n"), "enviroment", "services.web.enviroment",
       "unknown key \"enviroment\" (did you mean \"environment\"?)"},
      {"unknown key without a guess", Web("    frobnicate: 1\n"), "frobnicate", "services.web.frobnicate",
       "unknown key \"frobnicate\""},
      {"invalid service name", "services:\n  Web:\n    image: host\n", "Web", "services.Web",
       "service name \"Web\" is invalid"},
      {"service is not a map", "services:\n  web: [1]\n", "[1]", "services.web",
       "expected a map, got a list"},
      {"null service", "services:\n  web:\n", "web", "services.web", "needs image: host or rootfs:/path"},
      {"no image", "services:\n  web:\n    command: x\n", "web", "services.web",
       "needs image: host or rootfs:/path"},
      {"build instead of image", "services:\n  web:\n    build: .\n", "web", "services.web",
       "needs image: host or rootfs:/path (build is not supported)"},
      {"empty image", "services:\n  web:\n    image: \"\"\n", "\"\"", "services.web.image", "image is empty"},
      {"rootfs without path", "services:\n  web:\n    image: \"rootfs:\"\n", "\"rootfs:\"",
       "services.web.image", "rootfs: needs a directory"},
      {"image is a list", "services:\n  web:\n    image: [a]\n", "[a]", "services.web.image",
       "expected a string, got a list"},
      {"unterminated quote in command", Web("    command: \"echo 'x\"\n"), "\"echo", "services.web.command",
       "unterminated single quote"},
      {"command is a map", Web("    command: {a: 1}\n"), "{a: 1}", "services.web.command",
       "expected a string or a list of strings, got a map"},
      {"entrypoint item is a map", Web("    entrypoint: [a, {b: 1}]\n"), "{b: 1}",
       "services.web.entrypoint[1]", "expected a string, got a map"},
      {"environment value is a list", Web("    environment: {A: [1]}\n"), "[1]", "services.web.environment.A",
       "expected a string, number or boolean, got a list"},
      {"environment entry without a name", Web("    environment: [\"=x\"]\n"), "\"=x\"",
       "services.web.environment[0]", "invalid environment variable name \"\""},
      {"environment is a string", Web("    environment: A=1\n"), "A=1", "services.web.environment",
       "expected a list, got a value \"A=1\""},
      {"missing env_file", Web("    env_file: missing.env\n"), "missing.env", "services.web.env_file",
       "cannot read env_file \"missing.env\": no such file"},
      {"missing required env_file", Web("    env_file:\n      - path: a.env\n        required: true\n"),
       "a.env", "services.web.env_file[0]", "cannot read env_file \"a.env\""},
      {"env_file entry without path", Web("    env_file: [{required: false}]\n"), "{required",
       "services.web.env_file[0]", "env_file entry needs a path"},
      {"relative working_dir", Web("    working_dir: srv/app\n"), "srv/app", "services.web.working_dir",
       "working_dir must be an absolute path, got \"srv/app\""},
      {"home directory in a bind source", Web("    volumes: [\"~/data:/data\"]\n"), "\"~/data",
       "services.web.volumes[0]", "\"~\" is not supported"},
      {"undeclared named volume", Web("    volumes: [\"data:/data\"]\n"),
       "\"data:", "services.web.volumes[0]", "volume \"data\" is not declared"},
      {"invalid volume name", Web("    volumes: [\"-x:/data\"]\n"), "\"-x", "services.web.volumes[0]",
       "volume name \"-x\" is invalid"},
      {"relative mount target", Web("    volumes: [\"./a:data\"]\n"), "\"./a", "services.web.volumes[0]",
       "mount target must be an absolute path, got \"data\""},
      {"relative anonymous volume", Web("    volumes: [data]\n"), "data]", "services.web.volumes[0]",
       "mount target must be an absolute path"},
      {"duplicate mount target", Web("    volumes: [\"./a:/data\", \"./b:/data/\"]\n"), "\"./b",
       "services.web.volumes[1]", "two mounts at \"/data\""},
      {"bad volume mode", Web("    volumes: [\"./a:/data:rx\"]\n"), "\"./a", "services.web.volumes[0]",
       "invalid volume mode \"rx\""},
      {"too many colons", Web("    volumes: [\"a:b:c:d\"]\n"), "\"a:b", "services.web.volumes[0]",
       "expected SOURCE:TARGET[:ro|rw] or TARGET"},
      {"long volume without type", Web("    volumes:\n      - source: ./a\n        target: /a\n"), "source",
       "services.web.volumes[0]", "needs type: volume, bind or tmpfs"},
      {"long volume of unknown type", Web("    volumes:\n      - {type: npipe, target: /a}\n"), "npipe",
       "services.web.volumes[0].type", "unsupported volume type \"npipe\""},
      {"bind without source", Web("    volumes:\n      - {type: bind, target: /a}\n"), "{type",
       "services.web.volumes[0]", "a bind mount needs a source path"},
      {"tmpfs with source", Web("    volumes:\n      - {type: tmpfs, source: x, target: /t}\n"), "x,",
       "services.web.volumes[0].source", "a tmpfs mount has no source"},
      {"long volume without target", Web("    volumes:\n      - {type: bind, source: ./a}\n"), "{type",
       "services.web.volumes[0]", "needs a target path"},
      {"long volume unknown key",
       Web("    volumes:\n      - {type: bind, source: ./a, target: /a, ro: true}\n"),
       "ro:", "services.web.volumes[0].ro", "unknown key \"ro\""},
      {"tmpfs size", Web("    volumes:\n      - {type: tmpfs, target: /t, tmpfs: {size: huge}}\n"), "huge",
       "services.web.volumes[0].tmpfs.size", "invalid size \"huge\""},
      {"invalid healthcheck interval", Web("    healthcheck:\n      test: [CMD, x]\n      interval: 5x\n"),
       "5x", "services.web.healthcheck.interval", "duration \"5x\" has unknown unit \"x\""},
      {"zero healthcheck interval", Web("    healthcheck:\n      test: [CMD, x]\n      interval: 0s\n"), "0s",
       "services.web.healthcheck.interval", "interval must be greater than 0"},
      {"negative timeout", Web("    healthcheck:\n      test: [CMD, x]\n      timeout: -1s\n"), "-1s",
       "services.web.healthcheck.timeout", "is negative"},
      {"zero retries", Web("    healthcheck:\n      test: [CMD, x]\n      retries: 0\n"), "0\n",
       "services.web.healthcheck.retries", "\"0\" is out of range: must be between 1 and 1000000"},
      {"unknown test kind", Web("    healthcheck:\n      test: [FOO, x]\n"), "[FOO",
       "services.web.healthcheck.test",
       "must start with \"CMD\", \"CMD-SHELL\", \"NONE\", \"HTTP\" or \"TCP\", got \"FOO\""},
      {"empty test list", Web("    healthcheck:\n      test: []\n"), "[]", "services.web.healthcheck.test",
       "healthcheck test is empty"},
      {"CMD without command", Web("    healthcheck:\n      test: [CMD]\n"), "[CMD]",
       "services.web.healthcheck.test", "[\"CMD\", ...] needs a command"},
      {"HTTP without port", Web("    healthcheck:\n      test: [HTTP, \"http://localhost/health\"]\n"),
       "[HTTP", "services.web.healthcheck.test", "needs a port"},
      {"HTTPS check", Web("    healthcheck:\n      test: [HTTP, \"https://localhost:8000/\"]\n"), "[HTTP",
       "services.web.healthcheck.test", "needs an http:// URL"},
      {"HTTP with two URLs", Web("    healthcheck:\n      test: [HTTP, \"http://a:1/\", \"http://b:2/\"]\n"),
       "[HTTP", "services.web.healthcheck.test", "takes exactly one URL"},
      {"TCP without port", Web("    healthcheck:\n      test: [TCP, localhost]\n"), "[TCP",
       "services.web.healthcheck.test", "TCP check needs a port"},
      {"TCP port out of range", Web("    healthcheck:\n      test: [TCP, \"70000\"]\n"), "[TCP",
       "services.web.healthcheck.test", "TCP check needs a port"},
      {"healthcheck typo", Web("    healthcheck:\n      test: [CMD, x]\n      intervall: 5s\n"), "intervall",
       "services.web.healthcheck.intervall", "(did you mean \"interval\"?)"},
      {"disable is not a boolean", Web("    healthcheck:\n      disable: maybe\n"), "maybe",
       "services.web.healthcheck.disable", "expected true or false"},
      {"invalid restart", Web("    restart: sometimes\n"), "sometimes", "services.web.restart",
       "invalid restart policy \"sometimes\""},
      {"invalid on-failure count", Web("    restart: on-failure:x\n"), "on-failure:x", "services.web.restart",
       "expected an integer, got \"x\""},
      {"unknown dependency", Web("    depends_on: [dbb]\n", two), "dbb", "services.web.depends_on[0]",
       "depends on unknown service \"dbb\" (did you mean \"db\"?)"},
      {"unknown dependency in a map",
       Web("    depends_on:\n      cache: {condition: service_started}\n", two), "cache",
       "services.web.depends_on.cache", "depends on unknown service \"cache\""},
      {"dependency listed twice", Web("    depends_on: [db, db]\n", two), "db]", "services.web.depends_on[1]",
       "service \"db\" is listed twice"},
      {"bad dependency condition", Web("    depends_on:\n      db: {condition: service_ready}\n", two),
       "service_ready", "services.web.depends_on.db.condition", "invalid condition \"service_ready\""},
      {"healthy dependency without healthcheck",
       Web("    depends_on:\n      db: {condition: service_healthy}\n", two),
       "db:", "services.web.depends_on.db",
       "condition service_healthy needs a healthcheck on \"db\", which has none"},
      {"dependency cycle",
       "services:\n  a:\n    image: host\n    depends_on: [b]\n  b:\n    image: host\n    depends_on: [c]\n"
       "  c:\n    image: host\n    depends_on: [a]\n",
       "a]", "services.c.depends_on[0]", "dependency cycle: a -> b -> c -> a"},
      {"self dependency", Web("    depends_on: [web]\n"), "web]", "services.web.depends_on[0]",
       "dependency cycle: web -> web"},
      {"negative replicas", Web("    deploy: {replicas: -1}\n"), "-1", "services.web.deploy.replicas",
       "\"-1\" is out of range: must be between 0 and 10000"},
      {"replicas not a number", Web("    deploy: {replicas: many}\n"), "many", "services.web.deploy.replicas",
       "expected an integer, got \"many\""},
      {"invalid cpus", Web("    deploy: {resources: {limits: {cpus: lots}}}\n"), "lots",
       "services.web.deploy.resources.limits.cpus", "invalid cpus \"lots\""},
      {"zero cpus", Web("    deploy: {resources: {limits: {cpus: 0}}}\n"), "0}",
       "services.web.deploy.resources.limits.cpus", "must be greater than 0"},
      {"invalid memory", Web("    deploy: {resources: {limits: {memory: 12parsecs}}}\n"), "12parsecs",
       "services.web.deploy.resources.limits.memory", "unknown unit"},
      {"zero pids", Web("    deploy: {resources: {limits: {pids: 0}}}\n"), "0}",
       "services.web.deploy.resources.limits.pids", "out of range"},
      {"memory reservation above the limit",
       Web("    deploy:\n      resources:\n        limits: {memory: 256M}\n        reservations: {memory: "
           "1G}\n"),
       "1G", "services.web.deploy.resources.reservations.memory", "reservation is greater than the limit"},
      {"cpu reservation above the limit",
       Web("    deploy:\n      resources:\n        limits: {cpus: 0.5}\n        reservations: {cpus: "
           "\"2\"}\n"),
       "\"2\"", "services.web.deploy.resources.reservations.cpus", "reservation is greater than the limit"},
      {"deploy typo", Web("    deploy: {replica: 2}\n"), "replica:", "services.web.deploy.replica",
       "unknown key \"replica\" (did you mean \"replicas\"?)"},
      {"limits typo", Web("    deploy: {resources: {limits: {memroy: 1G}}}\n"), "memroy",
       "services.web.deploy.resources.limits.memroy", "(did you mean \"memory\"?)"},
      {"restart_policy condition", Web("    deploy: {restart_policy: {condition: sometimes}}\n"), "sometimes",
       "services.web.deploy.restart_policy.condition", "invalid condition \"sometimes\""},
      {"unknown stop signal", Web("    stop_signal: SIGFOO\n"), "SIGFOO", "services.web.stop_signal",
       "unsupported stop signal \"SIGFOO\""},
      {"numeric stop signal", Web("    stop_signal: 9\n"), "9\n", "services.web.stop_signal",
       "unsupported stop signal \"9\""},
      {"invalid stop_grace_period", Web("    stop_grace_period: soon\n"), "soon",
       "services.web.stop_grace_period", "invalid duration \"soon\""},
      {"label without key", Web("    labels: [\"=x\"]\n"), "\"=x\"", "services.web.labels[0]",
       "label needs a key"},
      {"port range", Web("    ports: [\"8000-8010:8000-8010\"]\n"), "\"8000-", "services.web.ports[0]",
       "port ranges are not supported"},
      {"port out of range", Web("    ports: [\"70000\"]\n"), "\"70000", "services.web.ports[0]",
       "invalid port \"70000\""},
      {"port protocol", Web("    ports: [\"8000/sctp\"]\n"), "\"8000", "services.web.ports[0]",
       "invalid protocol \"sctp\""},
      {"port with too many parts", Web("    ports: [\"1:2:3:4\"]\n"), "\"1:2", "services.web.ports[0]",
       "expected [HOST_IP:][HOST_PORT:]PORT[/PROTOCOL]"},
      {"long port without target", Web("    ports: [{published: 80}]\n"), "{published",
       "services.web.ports[0]", "needs a target port"},
      {"long port published range", Web("    ports: [{target: 80, published: \"8000-8001\"}]\n"), "\"8000-",
       "services.web.ports[0].published", "port ranges are not supported"},
      {"undeclared secret", Web("    secrets: [nope]\n"), "nope", "services.web.secrets[0]",
       "undeclared secret \"nope\" (declare it under x-berth.secrets)"},
      {"secret without source", Web("    secrets: [{target: x}]\n"), "{target", "services.web.secrets[0]",
       "secret needs a source"},
      {"undeclared secret in long form", Web("    secrets: [{source: nope}]\n"), "nope",
       "services.web.secrets[0].source", "undeclared secret \"nope\""},
      {"x-berth typo", Web("    x-berth: {sacle: {max: 2}}\n"), "sacle", "services.web.x-berth.sacle",
       "unknown key \"sacle\" (did you mean \"scale\"?)"},
      {"x-berth rejects extension keys", Web("    x-berth: {x-note: 1}\n"), "x-note",
       "services.web.x-berth.x-note", "unknown key \"x-note\""},
      {"expose port zero", Web("    x-berth: {expose: 0}\n"), "0}", "services.web.x-berth.expose",
       "\"0\" is out of range: must be between 1 and 65535"},
      {"expose without port", Web("    x-berth: {expose: {hosts: [a.example]}}\n"), "{hosts",
       "services.web.x-berth.expose", "expose needs a port"},
      {"expose port too large", Web("    x-berth: {expose: {port: 70000}}\n"), "70000",
       "services.web.x-berth.expose.port", "out of range"},
      {"expose path prefix", Web("    x-berth: {expose: {port: 80, path_prefix: api}}\n"), "api",
       "services.web.x-berth.expose.path_prefix", "path_prefix must start with \"/\""},
      {"expose host", Web("    x-berth: {expose: {port: 80, hosts: [\"bad_host\"]}}\n"), "[\"bad",
       "services.web.x-berth.expose.hosts", "invalid host name \"bad_host\""},
      {"expose unknown key", Web("    x-berth: {expose: {port: 80, host: a}}\n"),
       "host:", "services.web.x-berth.expose.host", "unknown key \"host\" (did you mean \"hosts\"?)"},
      {"negative concurrency limit", Web("    x-berth: {concurrency: {limit: -1}}\n"), "-1",
       "services.web.x-berth.concurrency.limit", "out of range"},
      {"bad queue timeout", Web("    x-berth: {concurrency: {limit: 1, queue_timeout: forever}}\n"),
       "forever", "services.web.x-berth.concurrency.queue_timeout", "invalid duration \"forever\""},
      {"scale min above max", Web("    x-berth: {scale: {min: 3, max: 2}}\n"), "3,",
       "services.web.x-berth.scale.min", "min 3 is greater than max 2"},
      {"scale max zero", Web("    x-berth: {scale: {max: 0}}\n"), "0}", "services.web.x-berth.scale.max",
       "out of range: must be between 1 and 10000"},
      {"scale target utilization too high", Web("    x-berth: {scale: {max: 2, target_utilization: 1.5}}\n"),
       "1.5", "services.web.x-berth.scale.target_utilization", "must be in (0, 1]"},
      {"scale target utilization zero", Web("    x-berth: {scale: {max: 2, target_utilization: 0}}\n"), "0}",
       "services.web.x-berth.scale.target_utilization", "must be in (0, 1]"},
      {"scale target utilization not a number", Web("    x-berth: {scale: {target_utilization: high}}\n"),
       "high", "services.web.x-berth.scale.target_utilization", "expected a number"},
      {"scale idle", Web("    x-berth: {scale: {idle: 0s}}\n"), "0s", "services.web.x-berth.scale.idle",
       "idle must be greater than 0"},
      {"replicas outside scale", Web("    deploy: {replicas: 5}\n    x-berth: {scale: {min: 1, max: 3}}\n"),
       "5}", "services.web.deploy.replicas", "replicas 5 is outside x-berth.scale [1, 3]"},
  };
  for (const Expected& c : cases) {
    std::vector<Diagnostic> errors;
    auto r = Load(c.yaml, TestOptions(), &errors);
    ASSERT_FALSE(r.ok()) << c.name;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << c.name;
    test_util::ExpectDiagnostic(c, errors);
  }
}

TEST(ServiceWarningsTest, Table) {
  const Expected cases[] = {
      {"OCI image", "services:\n  web:\n    image: python:3.11\n", "python", "services.web.image",
       "OCI image references are not supported yet; this service cannot be started"},
      {"ports", Web("    ports: [\"8000\"]\n"), "ports", "services.web.ports",
       "ports are not published; use x-berth.expose for HTTP services"},
      {"expose", Web("    expose: [\"8000\"]\n"), "expose", "services.web.expose", "use x-berth.expose"},
      {"cpus", Web("    cpus: 0.5\n"), "cpus", "services.web.cpus", "use deploy.resources"},
      {"mem_limit", Web("    mem_limit: 1g\n"), "mem_limit", "services.web.mem_limit",
       "use deploy.resources"},
      {"scale", Web("    scale: 2\n"), "scale", "services.web.scale", "use deploy.replicas or x-berth.scale"},
      {"anonymous volume", Web("    volumes: [/cache]\n"), "/cache", "services.web.volumes[0]",
       "anonymous volume at \"/cache\" is kept as the named volume \"anon-web-"},
      {"volume mode flag", Web("    volumes: [\"./a:/a:ro,z\"]\n"), "\"./a", "services.web.volumes[0]",
       "volume option \"z\" is not supported"},
      {"bind options",
       Web("    volumes:\n      - {type: bind, source: ., target: /a, bind: {propagation: shared}}\n"),
       "bind:", "services.web.volumes[0].bind", "\"bind\" options are not supported"},
      {"volume nocopy", Web("    volumes:\n      - {type: volume, target: /a, volume: {nocopy: true}}\n"),
       "nocopy", "services.web.volumes[0].volume.nocopy", "\"nocopy\" is not supported"},
      {"healthcheck without test", Web("    healthcheck:\n      interval: 5s\n"), "interval",
       "services.web.healthcheck", "healthcheck has no test and has no effect"},
      {"restart_policy any", Web("    deploy:\n      restart_policy: {condition: any}\n"), "restart_policy",
       "services.web.deploy.restart_policy", "deploy.restart_policy is mapped to restart: always"},
      {"restart_policy delay", Web("    deploy:\n      restart_policy: {delay: 5s}\n"), "delay",
       "services.web.deploy.restart_policy.delay", "restarts back off exponentially"},
      {"deploy mode", Web("    deploy: {mode: global}\n"), "mode", "services.web.deploy.mode",
       "\"mode\" is not supported by berth and is ignored"},
      {"deploy placement", Web("    deploy: {placement: {constraints: []}}\n"), "placement",
       "services.web.deploy.placement", "is not supported"},
      {"reservation devices", Web("    deploy: {resources: {reservations: {devices: []}}}\n"), "devices",
       "services.web.deploy.resources.reservations.devices", "is not supported"},
      {"depends_on restart", Web("    depends_on:\n      db: {restart: true}\n", "  db:\n    image: host\n"),
       "restart", "services.web.depends_on.db.restart", "\"restart\" is not supported"},
      {"secret target",
       Web("    secrets: [{source: s, target: /x}]\n", "x-berth: {secrets: {s: {generate: 8}}}\n"), "target",
       "services.web.secrets[0].target", "\"target\" is not supported"},
      {"env_file format", Web("    env_file: [{path: a.env, required: false, format: raw}]\n"), "format",
       "services.web.env_file[0].format", "\"format\" is not supported"},
      {"long port mode", Web("    ports: [{target: 80, mode: host}]\n"), "mode", "services.web.ports[0].mode",
       "\"mode\" is not supported"},
      {"queue without limit", Web("    x-berth: {concurrency: {queue: 10}}\n"), "{queue",
       "services.web.x-berth.concurrency", "queue has no effect without a concurrency limit"},
      {"tmpfs options on a bind",
       Web("    volumes:\n      - {type: bind, source: ., target: /a, tmpfs: {size: 1M}}\n"), "{size",
       "services.web.volumes[0].tmpfs", "apply only to type: tmpfs"},
  };
  for (const Expected& c : cases) {
    auto r = Load(c.yaml, TestOptions());
    ASSERT_TRUE(r.ok()) << c.name << ": " << r.status().message();
    test_util::ExpectDiagnostic(c, r->warnings);
    for (const Diagnostic& w : r->warnings) EXPECT_EQ(w.severity, Diagnostic::Severity::kWarning);
  }
}

// Every Compose key Berth accepts without honouring is named in a warning, and never
// an error: `berth config` must accept any valid compose.yaml.
TEST(ServiceWarningsTest, EveryIgnoredComposeKeyIsNamed) {
  for (const char* key : {"build",         "networks",
                          "network_mode",  "cap_add",
                          "cap_drop",      "privileged",
                          "devices",       "dns",
                          "dns_search",    "extra_hosts",
                          "logging",       "configs",
                          "profiles",      "container_name",
                          "hostname",      "tty",
                          "stdin_open",    "platform",
                          "pull_policy",   "expose",
                          "init",          "ulimits",
                          "sysctls",       "security_opt",
                          "shm_size",      "cpus",
                          "mem_limit",     "scale",
                          "domainname",    "ipc",
                          "pid",           "read_only",
                          "group_add",     "tmpfs",
                          "links",         "external_links",
                          "pids_limit",    "cgroup_parent",
                          "oom_score_adj", "extends",
                          "volumes_from",  "gpus"}) {
    std::string yaml = Web(std::string("    ") + key + ": x\n");
    auto r = Load(yaml, TestOptions());
    ASSERT_TRUE(r.ok()) << key << ": " << r.status().message();
    test_util::ExpectDiagnostic({key, yaml, key, std::string("services.web.") + key,
                                 "\"" + std::string(key) + "\" is not supported by berth and is ignored"},
                                r->warnings);
  }
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
