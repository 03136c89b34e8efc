#include "spec/shell_words.h"

namespace berth::spec {
namespace {
bool IsBlank(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}
}  // namespace

StatusOr<std::vector<std::string>> SplitShellWords(std::string_view s) {
  std::vector<std::string> words;
  std::string word;
  bool in_word = false;  // a word has started (it may still be empty: "")
  size_t i = 0;
  while (i < s.size()) {
    char c = s[i];
    if (IsBlank(c)) {
      if (in_word) words.push_back(std::move(word));
      word.clear();
      in_word = false;
      ++i;
      continue;
    }
    if (c == '\\') {
      if (i + 1 >= s.size()) {
        word += '\\';  // a trailing backslash has nothing to escape: keep it
        in_word = true;
        ++i;
      } else if (s[i + 1] == '\n') {
        i += 2;
      } else {
        word += s[i + 1];
        in_word = true;
        i += 2;
      }
      continue;
    }
    if (c == '\'') {
      size_t close = s.find('\'', i + 1);
      if (close == std::string_view::npos) return InvalidArgument("unterminated single quote in command");
      word.append(s.substr(i + 1, close - i - 1));
      in_word = true;
      i = close + 1;
      continue;
    }
    if (c == '"') {
      size_t j = i + 1;
      for (;; ++j) {
        if (j >= s.size()) return InvalidArgument("unterminated double quote in command");
        char d = s[j];
        if (d == '"') break;
        if (d == '\\' && j + 1 < s.size()) {
          char e = s[j + 1];
          if (e == '"' || e == '\\' || e == '$' || e == '`') {
            word += e;
            ++j;
            continue;
          }
          if (e == '\n') {
            ++j;
            continue;
          }
        }
        word += d;
      }
      in_word = true;
      i = j + 1;
      continue;
    }
    word += c;
    in_word = true;
    ++i;
  }
  if (in_word) words.push_back(std::move(word));
  return words;
}

}  // namespace berth::spec
