// Loading whole specs: top-level keys, params and interpolation, hostile input, the
// diagnostics' format, and complete real-world-shaped specs.
#include "spec/loader.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <random>

#include "spec/loader_test_util.h"

namespace berth::spec {
namespace {

using test_util::Expected;
using test_util::TestOptions;
using test_util::Web;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;

LoadOptions WithParams(std::map<std::string, std::string> params,
                       std::map<std::string, std::string> variables = {}) {
  LoadOptions o = TestOptions();
  o.params = std::move(params);
  o.variables = std::move(variables);
  return o;
}

void ExpectErrors(const std::vector<Expected>& cases, const std::vector<LoadOptions>& options = {}) {
  for (size_t i = 0; i < cases.size(); ++i) {
    const Expected& c = cases[i];
    std::vector<Diagnostic> errors;
    auto r = Load(c.yaml, i < options.size() ? options[i] : TestOptions(), &errors);
    ASSERT_FALSE(r.ok()) << c.name;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << c.name;
    test_util::ExpectDiagnostic(c, errors);
  }
}

TEST(DiagnosticTest, ToString) {
  using S = Diagnostic::Severity;
  EXPECT_EQ((Diagnostic{S::kError, "berth.yaml", 12, 7, "services.web.image", "bad"}).ToString(),
            "berth.yaml:12:7: error: services.web.image: bad");
  EXPECT_EQ((Diagnostic{S::kWarning, "berth.yaml", 3, 1, "version", "old"}).ToString(),
            "berth.yaml:3:1: warning: version: old");
  EXPECT_EQ((Diagnostic{S::kError, "berth.yaml", 0, 0, "", "empty spec"}).ToString(),
            "berth.yaml: error: empty spec");
  EXPECT_EQ((Diagnostic{S::kError, "a.env", 4, 0, "", "x"}).ToString(), "a.env:4: error: x");
}

TEST(LoadTest, StatusHoldsEveryErrorOnePerLineInFileOrder) {
  std::vector<Diagnostic> errors;
  auto r = Load(
      "services:\n"
      "  web:\n"
      "    image: host\n"
      "    restart: sometimes\n"
      "    healthcheck:\n"
      "      test: [CMD, x]\n"
      "      interval: 5x\n"
      "  worker:\n"
      "    command: run\n"
      "servics: {}\n",
      TestOptions(), &errors);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(
      r.status().message(),
      "berth.yaml:4:14: error: services.web.restart: invalid restart policy \"sometimes\" (use \"no\", "
      "always, on-failure, on-failure:N or unless-stopped)\n"
      "berth.yaml:7:17: error: services.web.healthcheck.interval: duration \"5x\" has unknown unit \"x\" "
      "(use ns, us, ms, s, m, h)\n"
      "berth.yaml:8:3: error: services.worker: needs image: host or rootfs:/path\n"
      "berth.yaml:10:1: error: servics: unknown key \"servics\" (did you mean \"services\"?)");
  EXPECT_EQ(errors.size(), 4u);
  for (const Diagnostic& d : errors) EXPECT_EQ(d.severity, Diagnostic::Severity::kError);
}

TEST(LoadTest, MessagesStayOnOneLine) {
  auto r = Load(Web("    stop_grace_period: \"5\\nx\"\n    user: [\"" + std::string(5000, 'u') +
                    "\"]\n"
                    "    working_dir: \"" +
                    std::string(5000, 'w') + "\\n\"\n"),
                TestOptions());
  ASSERT_FALSE(r.ok());
  std::vector<std::string> lines;
  std::string message = r.status().message();
  for (size_t start = 0, end; start <= message.size(); start = end + 1) {
    end = message.find('\n', start);
    if (end == std::string::npos) end = message.size();
    lines.push_back(message.substr(start, end - start));
  }
  ASSERT_EQ(lines.size(), 3u) << message;
  EXPECT_THAT(lines[0], HasSubstr("duration \"5\\nx\""));
  for (const std::string& line : lines) EXPECT_LT(line.size(), 700u);
}

TEST(LoadTest, RelativeBaseDirIsAnError) {
  LoadOptions o = TestOptions();
  o.base_dir = "shop";
  auto r = Load(Web(""), o);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("base_dir must be absolute"));
}

TEST(LoadTest, ErrorsOutIsClearedOnSuccess) {
  std::vector<Diagnostic> errors = {Diagnostic{}};
  ASSERT_TRUE(Load(Web(""), TestOptions(), &errors).ok());
  EXPECT_TRUE(errors.empty());
}

TEST(LoadTest, TopLevelErrors) {
  ExpectErrors(
      {
          {"typo at the top", Web("", "servics: {}\n"), "servics", "servics",
           "unknown key \"servics\" (did you mean \"services\"?)"},
          {"no services", "name: shop\n", "name", "services", "needs a \"services\" map"},
          {"empty services", "services: {}\n", "services", "services", "no services defined"},
          {"null services", "services:\n", "services", "services", "no services defined"},
          {"services is a list", "services: [web]\n", "[web]", "services", "expected a map, got a list"},
          {"root is a list", "- services\n", "- services", "", "expected a map at the top of the spec"},
          {"root is a scalar", "hello\n", "hello", "",
           "expected a map at the top of the spec (with \"services\"), got a value \"hello\""},
          {"empty spec", "", "", "", "empty spec"},
          {"only comments", "# TODO\n\n", "", "", "empty spec"},
          {"two documents", Web("---\n", "services: {}\n"), "services: {}", "",
           "a spec is a single document"},
          {"invalid YAML", "services:\n  web: [\n", "<end>", "",
           "invalid YAML: end of sequence flow not found"},
          {"invalid name", "name: Shop_1\n" + Web(""), "Shop_1", "name",
           "environment name \"Shop_1\" is invalid"},
          {"name is a map", "name: {a: 1}\n" + Web(""), "{a: 1}", "name", "expected a string, got a map"},
          {"duplicate service", Web("", "  \"web\":\n    image: host\n"), "\"web\"", "services.web",
           "duplicate key \"web\""},
          {"x-berth typo", Web("", "x-berth: {param: {}}\n"), "param", "x-berth.param",
           "unknown key \"param\" (did you mean \"params\"?)"},
          {"x-berth is a list", Web("", "x-berth: [1]\n"), "[1]", "x-berth", "expected a map, got a list"},
          {"secret too short", Web("", "x-berth:\n  secrets: {pw: {generate: 4}}\n"), "4}",
           "x-berth.secrets.pw.generate", "\"4\" is out of range: must be between 8 and 4096"},
          {"secret too long", Web("", "x-berth:\n  secrets: {pw: {generate: 5000}}\n"), "5000",
           "x-berth.secrets.pw.generate", "between 8 and 4096"},
          {"secret without generate", Web("", "x-berth:\n  secrets:\n    pw: {}\n"), "pw",
           "x-berth.secrets.pw", "needs generate: N"},
          {"secret typo", Web("", "x-berth:\n  secrets:\n    pw: {generat: 8}\n"), "generat",
           "x-berth.secrets.pw.generat", "(did you mean \"generate\"?)"},
          {"bad secret name", Web("", "x-berth:\n  secrets:\n    \"9pw\": {generate: 8}\n"), "\"9pw\"",
           "x-berth.secrets.9pw", "secret name \"9pw\" is invalid"},
          {"quota cpus", Web("", "x-berth:\n  quota: {cpus: all}\n"), "all", "x-berth.quota.cpus",
           "invalid cpus"},
          {"quota typo", Web("", "x-berth:\n  quota: {memroy: 1G}\n"), "memroy", "x-berth.quota.memroy",
           "(did you mean \"memory\"?)"},
          {"bad volume name", Web("", "volumes:\n  \".data\":\n"), "\".data\"", "volumes..data",
           "volume name \".data\" is invalid"},
          {"volume typo", Web("", "volumes:\n  data: {lables: {a: b}}\n"), "lables", "volumes.data.lables",
           "(did you mean \"labels\"?)"},
          {"undeclared secret placeholder", Web("    environment: {PW: \"${secret.pw}\"}\n"), "\"${secret",
           "services.web.environment.PW", "${secret.pw} names a secret not declared under x-berth.secrets"},
          {"required variable", "services:\n  web:\n    image: ${IMAGE:?set IMAGE to host or rootfs:...}\n",
           "${IMAGE", "services.web.image",
           "required variable \"IMAGE\" is not set or empty: set IMAGE to host or rootfs:..."},
          {"unterminated expression", Web("    command: echo ${\n"), "echo", "services.web.command",
           "invalid interpolation in \"echo ${\": missing \"}\""},
          {"bad variable name", Web("    environment: [\"A=${1x}\"]\n"),
           "\"A=", "services.web.environment[0]", "a variable name starts with a letter or \"_\""},
          {"unterminated default", Web("    working_dir: \"${DIR:-/srv\"\n"), "\"${DIR",
           "services.web.working_dir", "missing \"}\""},
          {"NUL from a variable", Web("    user: ${U}\n"), "${U}", "services.web.user",
           "contains a NUL byte"},
      },
      {{},
       {},
       {},
       {},
       {},
       {},
       {},
       {},
       {},
       {},
       {},
       {},
       {},
       {},
       {},
       {},
       {},
       {},
       {},
       {},
       {},
       {},
       {},
       {},
       {},
       {},
       {},
       {},
       {},
       {},
       WithParams({}, {{"U", std::string("a\0b", 3)}})});
}

TEST(LoadTest, TopLevelWarnings) {
  const Expected cases[] = {
      {"version", "version: \"3.8\"\n" + Web(""), "version", "version",
       "\"version\" is obsolete and ignored"},
      {"networks", Web("", "networks:\n  default: {}\n"), "networks", "networks",
       "\"networks\" is not supported by berth and is ignored"},
      {"configs", Web("", "configs: {}\n"), "configs", "configs", "\"configs\" is not supported"},
      {"include", Web("", "include: [other.yaml]\n"), "include", "include", "\"include\" is not supported"},
      {"secrets", Web("", "secrets:\n  pw: {file: ./pw.txt}\n"), "secrets:", "secrets",
       "declare secrets under x-berth.secrets"},
      {"volume driver", Web("", "volumes:\n  data: {driver: local}\n"), "driver", "volumes.data.driver",
       "\"driver\" is not supported"},
      {"external volume", Web("", "volumes:\n  data: {external: true}\n"), "external",
       "volumes.data.external", "\"external\" is not supported"},
      {"unset variable", Web("    environment: {LEVEL: \"${LOG_LEVEL}\"}\n"), "\"${LOG",
       "services.web.environment.LEVEL", "variable \"LOG_LEVEL\" is not set; using an empty string"},
      {"secret outside environment",
       Web("    user: ${secret.pw}\n", "x-berth: {secrets: {pw: {generate: 8}}}\n"), "${secret",
       "services.web.user",
       "${secret.pw} is expanded only in environment, command and entrypoint; here it stays literal"},
  };
  for (const Expected& c : cases) {
    auto r = Load(c.yaml, TestOptions());
    ASSERT_TRUE(r.ok()) << c.name << ": " << r.status().message();
    test_util::ExpectDiagnostic(c, r->warnings);
  }
}

TEST(LoadTest, UnsetVariableIsReportedOnce) {
  auto r = Load(Web("    command: [\"$X\", \"${X}\", \"$Y\"]\n"), TestOptions());
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->warnings.size(), 2u) << test_util::Describe(r->warnings);
  EXPECT_THAT(r->project.services.at("web").command, ElementsAre("", "", ""));
}

TEST(ParamsTest, Errors) {
  const std::string params =
      "x-berth:\n"
      "  params:\n"
      "    team: {required: true, pattern: \"^[a-z][a-z0-9-]{0,30}$\", description: the team name}\n"
      "    size: {default: small, pattern: \"small|large\"}\n";
  ExpectErrors(
      {
          {"missing required", Web("", params), "team", "x-berth.params.team",
           "missing required parameter \"team\" (the team name); set it with --set team=VALUE"},
          {"not matching", Web("", params), "team", "x-berth.params.team",
           "parameter \"team\" value \"Team A\" does not match pattern \"^[a-z][a-z0-9-]{0,30}$\""},
          {"partial match is not a match", Web("", params), "size", "x-berth.params.size",
           "parameter \"size\" value \"smallish\" does not match pattern \"small|large\""},
          {"unknown --set", Web("", params), "params", "x-berth.params",
           "unknown parameter \"colour\" (declared: team, size)"},
          {"default not matching", Web("", "x-berth:\n  params:\n    p: {default: X, pattern: \"[a-z]+\"}\n"),
           "p:", "x-berth.params.p",
           "default of parameter \"p\" value \"X\" does not match pattern \"[a-z]+\""},
          {"invalid pattern", Web("", "x-berth:\n  params:\n    p: {pattern: \"([a-z\"}\n"), "\"([a-z\"",
           "x-berth.params.p.pattern", "invalid pattern \"([a-z\""},
          {"back-reference", Web("", "x-berth:\n  params:\n    p: {pattern: \"(a)\\\\1\"}\n"), "\"(a)",
           "x-berth.params.p.pattern", "invalid pattern"},
          {"bad param name", Web("", "x-berth:\n  params:\n    \"1p\": {}\n"), "\"1p\"", "x-berth.params.1p",
           "parameter name \"1p\" is invalid"},
          {"param typo", Web("", "x-berth:\n  params:\n    p: {requried: true}\n"), "requried",
           "x-berth.params.p.requried", "(did you mean \"required\"?)"},
          {"required not a boolean", Web("", "x-berth:\n  params:\n    p: {required: sure}\n"), "sure",
           "x-berth.params.p.required", "expected true or false"},
          {"undeclared with none declared", Web("", "x-berth:\n  params: {}\n"), "params", "x-berth.params",
           "unknown parameter \"x\" (declared: none)"},
          {"value too long to check", Web("", "x-berth:\n  params:\n    p: {pattern: \"a*\"}\n"),
           "p:", "x-berth.params.p", "cannot check parameter \"p\": value is longer than 1024 characters"},
          {"pattern too long",
           Web("", "x-berth:\n  params:\n    p: {pattern: " + std::string(1001, 'a') + "}\n"), "aaa",
           "x-berth.params.p.pattern", "pattern is longer than 1000 characters"},
      },
      {TestOptions(), WithParams({{"team", "Team A"}}), WithParams({{"team", "a"}, {"size", "smallish"}}),
       WithParams({{"team", "a"}, {"colour", "red"}}), TestOptions(), TestOptions(), TestOptions(),
       TestOptions(), TestOptions(), TestOptions(), WithParams({{"x", "1"}}),
       WithParams({{"p", std::string(1025, 'a')}}), TestOptions()});
}

TEST(ParamsTest, ValuesComeFromSetThenDefaultsThenVariables) {
  const std::string spec =
      "name: shop-${team}\n"
      "x-berth:\n"
      "  params:\n"
      "    team: {required: true}\n"
      "    size: {default: small}\n"
      "    tier: {}\n"
      "services:\n"
      "  web:\n"
      "    image: host\n"
      "    environment: [\"TEAM=${team}\", \"SIZE=${size}\", \"TIER=${tier:-none}\", \"HOME=${HOME}\"]\n";
  auto r =
      Load(spec, WithParams({{"team", "a"}}, {{"HOME", "/root"}, {"size", "ignored"}, {"team", "ignored"}}));
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->project.name, "shop-a");
  EXPECT_THAT(
      r->project.services.at("web").environment,
      ElementsAre(Pair("HOME", "/root"), Pair("SIZE", "small"), Pair("TEAM", "a"), Pair("TIER", "none")));
  EXPECT_EQ(r->project.params, (std::vector<Param>{{"team", true, std::nullopt, "", ""},
                                                   {"size", false, "small", "", ""},
                                                   {"tier", false, std::nullopt, "", ""}}));
  auto overridden = Load(spec, WithParams({{"team", "b"}, {"size", "large"}}));
  ASSERT_TRUE(overridden.ok());
  EXPECT_THAT(overridden->project.services.at("web").environment, ::testing::Contains(Pair("SIZE", "large")));
}

TEST(ParamsTest, WithoutDeclarationsSetValuesAreVariables) {
  auto r = Load("name: ${env}\n" + Web("    user: ${who:-nobody}\n"),
                WithParams({{"env", "dev"}, {"who", "app"}}));
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->project.name, "dev");
  EXPECT_EQ(r->project.services.at("web").user, "app");
}

TEST(ParamsTest, DeclarationsAreNotInterpolated) {
  auto r = Load(Web("", "x-berth:\n  params:\n    p: {default: \"${literal}\", pattern: \"^[$a-z{}]+$\"}\n"),
                TestOptions());
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->project.params[0].default_value, "${literal}");
  EXPECT_TRUE(r->warnings.empty()) << test_util::Describe(r->warnings);
}

TEST(LoadTest, KeysAreNotInterpolated) {
  auto r = Load(Web("    environment: {\"$KEY\": v}\n    labels: {\"${L}\": x}\n"), TestOptions());
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_THAT(r->project.services.at("web").environment, ElementsAre(Pair("$KEY", "v")));
  EXPECT_THAT(r->project.services.at("web").labels, ElementsAre(Pair("${L}", "x")));
}

TEST(LoadTest, SecretPlaceholdersStayInTheModel) {
  auto r = Load(Web("    environment:\n"
                    "      URL: \"postgresql://app:${secret.db_password}@db/app\"\n"
                    "      LITERAL: \"$${secret.db_password}\"\n"
                    "    command: [\"run\", \"--token=${secret.db_password}\"]\n",
                    "x-berth:\n  secrets: {db_password: {generate: 32}}\n"),
                TestOptions());
  ASSERT_TRUE(r.ok()) << r.status().message();
  const Service& s = r->project.services.at("web");
  EXPECT_EQ(s.environment.at("URL"), "postgresql://app:${secret.db_password}@db/app");
  EXPECT_THAT(s.command, ElementsAre("run", "--token=${secret.db_password}"));
  auto lookup = [](const std::string& name) -> std::optional<std::string> {
    if (name == "db_password") return "pw";
    return std::nullopt;
  };
  EXPECT_EQ(*ExpandSecrets(s.environment.at("URL"), lookup), "postgresql://app:pw@db/app");
  EXPECT_EQ(*ExpandSecrets(s.environment.at("LITERAL"), lookup), "${secret.db_password}");
  EXPECT_TRUE(r->warnings.empty()) << test_util::Describe(r->warnings);
}

TEST(LoadTest, EnvironmentName) {
  EXPECT_EQ(Load("name: shop\n" + Web(""), TestOptions())->project.name, "shop");
  LoadOptions o = TestOptions();
  o.env_name = "team-a";
  EXPECT_EQ(Load("name: shop\n" + Web(""), o)->project.name, "team-a");
  struct Dir {
    const char* base_dir;
    const char* want;
  };
  for (Dir d :
       {Dir{"/home/u/shop", "shop"}, Dir{"/home/u/My_Shop.v2/", "my-shop-v2"}, Dir{"/srv/2024-app", "app"},
        Dir{"/x/"
            "abcdefghijklmnopqrstuvwxyz-0123456789",
            "abcdefghijklmnopqrstuvwxyz-01234"}}) {
    LoadOptions od = TestOptions();
    od.base_dir = d.base_dir;
    auto r = Load(Web(""), od);
    ASSERT_TRUE(r.ok()) << d.base_dir << ": " << r.status().message();
    EXPECT_EQ(r->project.name, d.want) << d.base_dir;
  }
  LoadOptions root = TestOptions();
  root.base_dir = "/";
  auto r = Load(Web(""), root);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("cannot derive an environment name from the directory"));
  LoadOptions bad = TestOptions();
  bad.env_name = "Team A";
  r = Load(Web(""), bad);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(
      r.status().message(),
      "berth.yaml: error: environment name \"Team A\" is invalid: use 1-32 lowercase letters, digits or '-', "
      "starting with a letter and not ending with '-'");
}

TEST(LoadTest, AnchorsAliasesAndMergeKeys) {
  auto r = Load(
      "x-common: &common\n"
      "  image: host\n"
      "  restart: always\n"
      "  environment: &env\n"
      "    LOG_LEVEL: info\n"
      "    REGION: eu\n"
      "x-limits: &limits\n"
      "  deploy: {resources: {limits: {memory: 128M}}}\n"
      "services:\n"
      "  web:\n"
      "    <<: *common\n"
      "    command: [serve]\n"
      "  worker:\n"
      "    <<: [*common, *limits]\n"
      "    restart: on-failure\n"
      "    environment:\n"
      "      <<: *env\n"
      "      LOG_LEVEL: debug\n",
      TestOptions());
  ASSERT_TRUE(r.ok()) << r.status().message();
  const Service& web = r->project.services.at("web");
  const Service& worker = r->project.services.at("worker");
  EXPECT_EQ(web.image, "host");
  EXPECT_EQ(web.restart.policy, RestartPolicy::kAlways);
  EXPECT_THAT(web.command, ElementsAre("serve"));
  EXPECT_EQ(worker.restart.policy, RestartPolicy::kOnFailure);  // explicit key wins
  EXPECT_EQ(worker.limits.memory_bytes, 128 << 20);
  EXPECT_THAT(worker.environment, ElementsAre(Pair("LOG_LEVEL", "debug"), Pair("REGION", "eu")));
  EXPECT_TRUE(r->warnings.empty()) << test_util::Describe(r->warnings);
}

TEST(HostileInputTest, EachLimitIsAClearErrorNotACrash) {
  std::string deep = "services:\n  web:\n    image: host\n    x-deep: ";
  for (int i = 0; i < 200; ++i) deep += "[";
  for (int i = 0; i < 200; ++i) deep += "]";
  std::string bomb = "x-a: &a [x, x, x, x, x, x, x, x, x, x]\n";
  for (char c = 'b'; c <= 'i'; ++c) {
    bomb += std::string("x-") + c + ": &" + c + " [";
    for (int i = 0; i < 10; ++i) bomb += std::string(i ? ", " : "") + "*" + static_cast<char>(c - 1);
    bomb += "]\n";
  }
  bomb += Web("    labels: *i\n");
  struct Case {
    const char* name;
    std::string yaml;
    std::string message;
  };
  const Case cases[] = {
      {"2 MiB", Web("    command: \"" + std::string(2 << 20, 'x') + "\"\n"),
       "the limit is 1048576 bytes (1 MiB)"},
      {"deep nesting", deep, "nesting is deeper than 64 levels"},
      {"alias bomb", bomb, "more than 100000 nodes once aliases are expanded"},
      {"many documents", "a: 1\n---\nb: 2\n---\nc: 3\n", "the file holds several YAML documents"},
      {"tabs", "services:\n\tweb: {}\n", "invalid YAML"},
      {"NUL bytes", std::string("services:\0\0\0", 12), "invalid YAML"},
  };
  for (const Case& c : cases) {
    auto r = Load(c.yaml, TestOptions());
    ASSERT_FALSE(r.ok()) << c.name;
    EXPECT_THAT(r.status().message(), HasSubstr(c.message)) << c.name;
  }
}

TEST(HostileInputTest, BinaryGarbageAndMutationsNeverCrash) {
  std::mt19937 rng(42);
  const std::string base =
      Web("    command: [\"${A:-x}\"]\n    volumes: [\"./a:/a\"]\n    healthcheck: {test: [HTTP, "
          "\"http://l:1/\"]}\n");
  for (int i = 0; i < 2000; ++i) {
    std::string input;
    if (i % 2 == 0) {
      input.resize(rng() % 512);
      for (char& c : input) c = static_cast<char>(rng());
    } else {
      input = base;
      for (int k = 0; k < 4; ++k) input[rng() % input.size()] = static_cast<char>(rng());
    }
    std::vector<Diagnostic> errors;
    auto r = Load(input, TestOptions(), &errors);
    if (!r.ok()) {
      EXPECT_FALSE(errors.empty());
    }
    ReferencedVariables(input);
  }
}

// Specs near the size limit, shaped to hit anything quadratic in the loader.
TEST(HostileInputTest, LargeSpecsLoadInLinearTime) {
  std::string mounts = Web("    volumes:\n"), unknown = Web(""), secrets = Web("    secrets:\n"),
              chain = "services:\n", env = Web("    environment:\n");
  for (int i = 0; i < 30000; ++i) {
    mounts += "      - ./a:/m" + std::to_string(i) + "\n";
    unknown += "    k" + std::to_string(i) + ": 1\n";
    secrets += "      - s\n";
    env += "      - V" + std::to_string(i) + "=${X:-${Y:-$Z}}\n";
  }
  secrets += "x-berth: {secrets: {s: {generate: 8}}}\n";
  for (int i = 0; i < 12000; ++i)
    chain +=
        "  s" + std::to_string(i) + ":\n    image: host\n    depends_on: [s" + std::to_string(i + 1) + "]\n";
  chain += "  s12000: {image: host, depends_on: [s0]}\n";
  struct Case {
    const char* name;
    const std::string& yaml;
    bool ok;
  };
  for (const Case& c :
       {Case{"30000 mounts", mounts, true}, Case{"30000 unknown keys", unknown, false},
        Case{"30000 secret references", secrets, true}, Case{"12000 services in a cycle", chain, false},
        Case{"30000 variables", env, true}}) {
    ASSERT_LT(c.yaml.size(), 1u << 20) << c.name;
    auto start = std::chrono::steady_clock::now();
    auto r = Load(c.yaml, TestOptions());
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    EXPECT_EQ(r.ok(), c.ok) << c.name << ": " << r.status().message().substr(0, 300);
    EXPECT_LT(seconds, 10.0) << c.name;
  }
}

TEST(ReferencedVariablesTest, ListsVariablesSortedAndUnique) {
  EXPECT_THAT(
      ReferencedVariables("name: ${ENV}-$ENV\n"
                          "x-berth:\n  params:\n    p: {pattern: \"^$NOT_THIS\", default: \"${NOR_THIS}\"}\n"
                          "x-ignored: ${IGNORED}\n"
                          "services:\n"
                          "  web:\n"
                          "    image: ${IMAGE:-host}\n"
                          "    environment:\n"
                          "      ${KEY_NOT}: \"$$ESCAPED ${secret.pw} ${B:-${C}}\"\n"
                          "    x-berth: {expose: \"${PORT}\"}\n"),
      ElementsAre("B", "C", "ENV", "IMAGE", "PORT"));
  EXPECT_THAT(ReferencedVariables("not: [valid yaml ${X} $Y\n"), ElementsAre("X", "Y"));
  EXPECT_TRUE(ReferencedVariables("").empty());
}

}  // namespace
}  // namespace berth::spec
