#include "spec/yaml_tree.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace berth::spec {
namespace {

using ::testing::HasSubstr;

std::optional<YamlNode> Parse(std::string_view text, Diagnostics& d, const YamlLimits& limits = {}) {
  return ParseYamlDocument(text, d, limits);
}

std::vector<std::string> Keys(const YamlNode& map) {
  std::vector<std::string> keys;
  for (const YamlEntry& e : map.entries) keys.push_back(e.key);
  return keys;
}

TEST(YamlTreeTest, PositionsAreOneBased) {
  Diagnostics d("f");
  auto root = Parse("a:\n  b: [x, y]\n", d);
  ASSERT_TRUE(root);
  const YamlEntry* a = root->FindEntry("a");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->key_pos.line, 1);
  EXPECT_EQ(a->key_pos.column, 1);
  const YamlNode* b = a->value.Find("b");
  ASSERT_TRUE(b && b->is_sequence());
  EXPECT_EQ(b->items[1].pos.line, 2);
  EXPECT_EQ(b->items[1].pos.column, 10);
}

TEST(YamlTreeTest, ScalarsAreText) {
  Diagnostics d("f");
  auto root = Parse("a: no\nb: 010\nc: 1.50\nd: ~\ne: \"null\"\nf:\n", d);
  ASSERT_TRUE(root);
  EXPECT_EQ(root->Find("a")->scalar, "no");
  EXPECT_EQ(root->Find("b")->scalar, "010");
  EXPECT_EQ(root->Find("c")->scalar, "1.50");
  EXPECT_TRUE(root->Find("d")->is_null());
  EXPECT_EQ(root->Find("e")->scalar, "null");
  EXPECT_TRUE(root->Find("f")->is_null());
}

TEST(YamlTreeTest, AliasesAreExpanded) {
  Diagnostics d("f");
  auto root = Parse("base: &b {x: 1}\nuse: *b\n", d);
  ASSERT_TRUE(root);
  EXPECT_EQ(root->Find("use")->Find("x")->scalar, "1");
}

TEST(YamlTreeTest, MergeKeys) {
  Diagnostics d("f");
  auto root = Parse(
      "a: &a {x: 1, y: 1}\n"
      "b: &b {y: 2, z: 2}\n"
      "one:\n  <<: *a\n  x: 9\n"
      "list:\n  w: 0\n  <<: [*b, *a]\n"
      "quoted:\n  \"<<\": *a\n",
      d);
  ASSERT_TRUE(root) << d.errors()[0].ToString();
  const YamlNode* one = root->Find("one");
  EXPECT_EQ(Keys(*one), (std::vector<std::string>{"x", "y"}));
  EXPECT_EQ(one->Find("x")->scalar, "9");  // explicit wins
  const YamlNode* list = root->Find("list");
  EXPECT_EQ(Keys(*list), (std::vector<std::string>{"w", "y", "z", "x"}));
  EXPECT_EQ(list->Find("y")->scalar, "2");  // earlier merged map wins
  // A quoted "<<" is an ordinary key.
  EXPECT_TRUE(root->Find("quoted")->Find("<<"));
  EXPECT_FALSE(d.has_errors());
}

struct ErrorCase {
  const char* name;
  std::string text;
  int line;
  int column;
  const char* path;
  const char* message;
};

TEST(YamlTreeTest, Errors) {
  std::string deep;
  for (int i = 0; i < 70; ++i) deep += std::string(i * 2, ' ') + "k" + std::to_string(i) + ":\n";
  const ErrorCase cases[] = {
      {"empty", "", 0, 0, "", "empty spec"},
      {"comments only", "# nothing\n", 0, 0, "", "empty spec"},
      {"two documents", "a: 1\n---\nb: 2\n", 3, 1, "", "several YAML documents"},
      {"syntax", "a: [1, 2\n", 2, 1, "", "invalid YAML: end of sequence flow not found"},
      {"bad indentation", "a:\n  b: 1\n c: 2\n", 3, 2, "", "invalid YAML"},
      {"unknown alias", "a: *nope\n", 1, 4, "", "invalid YAML: the referenced anchor is not defined"},
      {"duplicate key", "a: 1\nb: 2\na: 3\n", 3, 1, "a", "duplicate key \"a\""},
      {"non-string key", "? [a, b]\n: c\n", 1, 3, "", "map keys must be strings"},
      {"merge of a scalar", "m:\n  <<: 1\n", 2, 3, "m.<<", "takes a map or a list of maps, got a string"},
      {"merge of a list of scalars", "m:\n  <<: [1]\n", 2, 8, "m.<<", "must be maps"},
      {"two merge keys", "a: &a {x: 1}\nm:\n  <<: *a\n  <<: *a\n", 4, 3, "m", "duplicate merge key"},
      {"too deep", deep, 65, 129,
       "k0.k1.k2.k3.k4.k5.k6.k7.k8.k9.k10.k11.k12.k13.k14.k15.k16.k17.k18.k19.k20.k21."
       "k22.k23.k24.k25.k26.k27.k28.k29.k30.k31.k32.k33.k34.k35.k36.k37.k38.k39.k40.k41."
       "k42.k43.k44.k45.k46.k47.k48.k49.k50.k51.k52.k53.k54.k55.k56.k57.k58.k59.k60.k61."
       "k62.k63",
       "nesting is deeper than 64 levels"},
      {"self-referencing alias", "a: &a [*a]\n", 1, 8, "a[0]",
       "an alias may not refer to a node that contains it"},
      // yaml-cpp's LoadAll never returns on these (found by the random-input test).
      {"stray comma", ",", 1, 1, "", "invalid YAML: unexpected \",\""},
      {"stray comma after a map", "{},", 1, 3, "", "invalid YAML: unexpected \",\""},
      {"stray comma after a list", "- a\n- b\n,\n", 3, 1, "", "invalid YAML: unexpected \",\""},
      {"too many documents",
       std::string("---\n").append(100, '-').append(
           "\n---\n---\n---\n---\n---\n---\n---\n---\n---\n---\n---\n---\n---\n---\n---\n---\n---\n"),
       0, 0, "", "more than 16 YAML documents"},
      {"NUL in a value", std::string("a: \"x\\0y\"\n"), 1, 4, "a", "contains a NUL byte"},
      {"invalid UTF-8", "a: \"\xff\"\n", 1, 4, "a", "not valid UTF-8"},
  };
  for (const ErrorCase& c : cases) {
    Diagnostics d("f");
    Parse(c.text, d);
    ASSERT_TRUE(d.has_errors()) << c.name;
    bool found = false;
    for (const Diagnostic& e : d.errors()) {
      if (e.message.find(c.message) == std::string::npos) continue;
      found = true;
      if (c.line) {
        EXPECT_EQ(e.line, c.line) << c.name;
        EXPECT_EQ(e.column, c.column) << c.name;
      }
      if (c.path) {
        EXPECT_EQ(e.path, c.path) << c.name;
      }
    }
    EXPECT_TRUE(found) << c.name << ": got " << d.errors()[0].ToString();
  }
}

TEST(YamlTreeTest, AliasBombStopsAtTheNodeBudget) {
  std::string bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n";
  char prev = 'a';
  for (char c = 'b'; c <= 'j'; ++c, ++prev) {
    bomb += std::string(1, c) + ": &" + c + " [";
    for (int i = 0; i < 10; ++i) bomb += std::string(i ? ", " : "") + "*" + prev;
    bomb += "]\n";
  }
  Diagnostics d("f");
  EXPECT_FALSE(Parse(bomb, d));
  ASSERT_EQ(d.errors().size(), 1u);
  EXPECT_THAT(d.errors()[0].message, HasSubstr("more than 100000 nodes"));
}

TEST(YamlTreeTest, AliasedLargeScalarsStopAtTheByteBudget) {
  std::string text = "a: &a " + std::string(500'000, 'x') + "\nb: [";
  for (int i = 0; i < 40; ++i) text += std::string(i ? ", " : "") + "*a";
  text += "]\n";
  Diagnostics d("f");
  EXPECT_FALSE(Parse(text, d));
  ASSERT_EQ(d.errors().size(), 1u);
  EXPECT_THAT(d.errors()[0].message, HasSubstr("through aliases"));
}

TEST(YamlTreeTest, SizeLimit) {
  Diagnostics d("f");
  EXPECT_FALSE(Parse("a: " + std::string(2 << 20, 'x'), d));
  ASSERT_EQ(d.errors().size(), 1u);
  EXPECT_THAT(d.errors()[0].message, HasSubstr("the limit is 1048576 bytes"));
}

TEST(YamlTreeTest, DeepFlowNestingIsAnErrorNotACrash) {
  for (int n : {100, 5000, 100000}) {
    Diagnostics d("f");
    EXPECT_FALSE(Parse(std::string(n, '[') + std::string(n, ']'), d)) << n;
    EXPECT_TRUE(d.has_errors()) << n;
  }
}

TEST(YamlTreeTest, BinaryGarbageIsAnErrorNotACrash) {
  std::string garbage;
  uint32_t x = 12345;
  for (int i = 0; i < 4096; ++i) {
    x = x * 1103515245 + 12345;
    garbage += static_cast<char>(x >> 24);
  }
  Diagnostics d("f");
  EXPECT_FALSE(Parse(garbage, d));
  EXPECT_TRUE(d.has_errors());
}

}  // namespace
}  // namespace berth::spec
