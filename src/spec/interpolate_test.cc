#include "spec/interpolate.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>

#include "spec/loader.h"

namespace berth::spec {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

const std::map<std::string, std::string> kVars = {{"A", "a"}, {"EMPTY", ""}, {"N", "5"}, {"DOLLAR", "x$y"}};

std::optional<std::string> Lookup(const std::string& name) {
  auto it = kVars.find(name);
  if (it == kVars.end()) return std::nullopt;
  return it->second;
}

struct Case {
  const char* text;
  const char* want;
};

TEST(InterpolateTest, Forms) {
  const Case cases[] = {
      {"plain", "plain"},
      {"", ""},
      {"$A", "a"},
      {"${A}", "a"},
      {"x${A}y", "xay"},
      {"$A-b", "a-b"},
      {"$A.b", "a.b"},
      {"${N}${N}", "55"},
      // :- unset or empty, - unset only
      {"${UNSET:-def}", "def"},
      {"${EMPTY:-def}", "def"},
      {"${A:-def}", "a"},
      {"${UNSET-def}", "def"},
      {"${EMPTY-def}", ""},
      {"${UNSET:-}", ""},
      // :+ set and non-empty, + set
      {"${A:+alt}", "alt"},
      {"${EMPTY:+alt}", ""},
      {"${UNSET:+alt}", ""},
      {"${EMPTY+alt}", "alt"},
      {"${UNSET+alt}", ""},
      // ? passes values through
      {"${A:?msg}", "a"},
      {"${EMPTY?msg}", ""},
      // nesting
      {"${UNSET:-${A}}", "a"},
      {"${UNSET:-${UNSET2:-deep}}", "deep"},
      {"${UNSET:-x${A}y}", "xay"},
      {"${A:+[$N]}", "[5]"},
      {"${UNSET:-a:b-c}", "a:b-c"},
      // literal dollars
      {"$$", "$"},
      {"$$A", "$A"},
      {"$${A}", "${A}"},
      {"a$", "a$"},
      {"$ x", "$ x"},
      {"cost: 5$", "cost: 5$"},
      {"$1", "$1"},
      {"^[a-z]+$", "^[a-z]+$"},
      // a variable's value is never interpolated again
      {"${DOLLAR}", "x$y"},
      // secret placeholders are kept
      {"${secret.db}", "${secret.db}"},
      {"pre-${secret.db_pw}-post", "pre-${secret.db_pw}-post"},
      {"${UNSET:-${secret.db}}", "${secret.db}"},
      // ... and an escaped one stays escaped in the model string
      {"$${secret.db}", "$${secret.db}"},
  };
  for (const Case& c : cases) {
    auto r = Interpolate(c.text, Lookup);
    ASSERT_TRUE(r.ok()) << c.text << ": " << r.status().message();
    EXPECT_EQ(r->value, c.want) << c.text;
  }
}

TEST(InterpolateTest, ReportsUnsetOnlyForBareUse) {
  auto r = Interpolate("$X ${Y} ${Z:-d} ${W-d} ${V:+a} ${A:-${U}}", Lookup);
  ASSERT_TRUE(r.ok());
  EXPECT_THAT(r->unset, ElementsAre("X", "Y"));
}

TEST(InterpolateTest, ReportsSecrets) {
  auto r = Interpolate("${secret.a}:${secret.b}:$${secret.c}", Lookup);
  ASSERT_TRUE(r.ok());
  EXPECT_THAT(r->secrets, ElementsAre("a", "b"));
}

TEST(InterpolateTest, RequiredVariableErrors) {
  struct ErrCase {
    const char* text;
    const char* want;
  };
  const ErrCase cases[] = {
      {"${UNSET:?need the team name}", "required variable \"UNSET\" is not set or empty: need the team name"},
      {"${EMPTY:?no}", "\"EMPTY\" is not set or empty: no"},
      {"${UNSET?}", "required variable \"UNSET\" is not set"},
      {"${UNSET:?got ${A}}", ": got a"},
  };
  for (const ErrCase& c : cases) {
    auto r = Interpolate(c.text, Lookup);
    ASSERT_FALSE(r.ok()) << c.text;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    EXPECT_THAT(r.status().message(), HasSubstr(c.want)) << c.text;
  }
}

TEST(InterpolateTest, MalformedExpressions) {
  struct ErrCase {
    const char* text;
    const char* want;
  };
  const ErrCase cases[] = {
      {"${", "missing \"}\""},
      {"x ${A", "missing \"}\""},
      {"${A:-", "missing \"}\""},
      {"${A:-${B}", "missing \"}\""},
      {"${1x}", "a variable name starts with a letter"},
      {"${}", "empty variable name"},
      {"${-x}", "a variable name starts with a letter"},
      {"${A:x}", "unexpected \"x\" after ${A"},
      {"${A B}", "unexpected \" \" after ${A"},
      {"${A:}", "unexpected \"}\""},
      {"${secret.}", "valid secret name"},
      {"${secret.a b}", "valid secret name"},
      {"${secret.x", "missing \"}\""},
      {"$$${secret.x}", "literal \"$\" right before ${secret.x}"},
  };
  for (const ErrCase& c : cases) {
    auto r = Interpolate(c.text, Lookup);
    ASSERT_FALSE(r.ok()) << c.text;
    EXPECT_THAT(r.status().message(), HasSubstr(c.want)) << c.text;
  }
}

TEST(InterpolateTest, DeepNestingIsAnErrorNotACrash) {
  std::string text;
  for (int i = 0; i < 10000; ++i) text += "${A:-";
  text += "x";
  for (int i = 0; i < 10000; ++i) text += "}";
  auto r = Interpolate(text, Lookup);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("nested too deeply"));
}

TEST(InterpolateTest, EmptyLookupMeansNothingIsSet) {
  auto r = Interpolate("${A:-d}", VariableLookup());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->value, "d");
}

TEST(CollectVariableNamesTest, FindsEveryReference) {
  std::set<std::string> names;
  CollectVariableNames("$A ${B} ${C:-${D}} $$E $${F} ${secret.x} ${G:?m} ${ broken ${H", &names);
  EXPECT_THAT(names, ElementsAre("A", "B", "C", "D", "G", "H"));
}

TEST(ExpandSecretsTest, ReplacesPlaceholders) {
  auto lookup = [](const std::string& name) -> std::optional<std::string> {
    if (name == "db") return "s3cret";
    return std::nullopt;
  };
  struct C {
    const char* in;
    const char* out;
  };
  const C cases[] = {
      {"postgres://app:${secret.db}@db/app", "postgres://app:s3cret@db/app"},
      {"${secret.db}${secret.db}", "s3crets3cret"},
      {"$${secret.db}", "${secret.db}"},
      {"a$$${secret.db}", "a$${secret.db}"},
      {"$HOME $$ ${X}", "$HOME $$ ${X}"},
      {"${secret.db", "${secret.db"},
      {"", ""},
  };
  for (const C& c : cases) {
    auto r = ExpandSecrets(c.in, lookup);
    ASSERT_TRUE(r.ok()) << c.in;
    EXPECT_EQ(*r, c.out) << c.in;
  }
  auto bad = ExpandSecrets("x=${secret.other}", lookup);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), "unknown secret \"other\"");
}

TEST(ModelStringTest, EscapeInterpolatesBackToTheSameModelString) {
  const char* model_strings[] = {
      "plain",
      "$",
      "a$b",
      "$$",
      "${secret.db}",
      "$${secret.db}",
      "a$$${secret.db}",
      "x${secret.a}y$",
      "${NOT_A_VAR}",
      "$${secret.x",
  };
  for (const char* m : model_strings) {
    std::string source = EscapeModelString(m);
    auto r = Interpolate(source, VariableLookup());
    ASSERT_TRUE(r.ok()) << m << " -> " << source << ": " << r.status().message();
    EXPECT_EQ(r->value, m) << "source " << source;
    EXPECT_THAT(r->unset, IsEmpty());
  }
}

TEST(ModelStringTest, LiteralTextIsEscaped) {
  EXPECT_EQ(ModelStringFromLiteral("a ${secret.x} b"), "a $${secret.x} b");
  auto expanded = ExpandSecrets(ModelStringFromLiteral("a ${secret.x} b"), nullptr);
  ASSERT_TRUE(expanded.ok());
  EXPECT_EQ(*expanded, "a ${secret.x} b");
}

}  // namespace
}  // namespace berth::spec
