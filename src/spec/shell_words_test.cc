#include "spec/shell_words.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace berth::spec {
namespace {

using ::testing::HasSubstr;
using Words = std::vector<std::string>;

TEST(SplitShellWordsTest, Table) {
  struct Case {
    const char* in;
    Words want;
  };
  const Case cases[] = {
      {"", {}},
      {"   ", {}},
      {"gunicorn -w 4 app:app", {"gunicorn", "-w", "4", "app:app"}},
      {"  a\t b\nc  ", {"a", "b", "c"}},
      {"sh -c 'echo $HOME; exit 1'", {"sh", "-c", "echo $HOME; exit 1"}},
      {"echo \"a b\" c", {"echo", "a b", "c"}},
      {"echo \"say \\\"hi\\\"\"", {"echo", "say \"hi\""}},
      {"echo \"back\\\\slash\" \"\\$x\" \"\\n\"", {"echo", "back\\slash", "$x", "\\n"}},
      {"a\\ b c", {"a b", "c"}},
      {"x'y'\"z\"w", {"xyzw"}},
      {"'' \"\" a", {"", "", "a"}},
      {"line\\\ncontinued", {"linecontinued"}},
      {"trailing\\", {"trailing\\"}},
      {"python3 -c \"import sys; print(sys.argv)\"", {"python3", "-c", "import sys; print(sys.argv)"}},
  };
  for (const Case& c : cases) {
    auto r = SplitShellWords(c.in);
    ASSERT_TRUE(r.ok()) << c.in << ": " << r.status().message();
    EXPECT_EQ(*r, c.want) << c.in;
  }
}

TEST(SplitShellWordsTest, UnterminatedQuotes) {
  for (const char* in : {"echo 'abc", "echo \"abc", "\"", "a \"b\\\""}) {
    auto r = SplitShellWords(in);
    ASSERT_FALSE(r.ok()) << in;
    EXPECT_THAT(r.status().message(), HasSubstr("unterminated")) << in;
  }
}

}  // namespace
}  // namespace berth::spec
