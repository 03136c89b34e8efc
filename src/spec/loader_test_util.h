// Helpers for the loader tests: an in-memory FileReader, and matching diagnostics
// against the position of a snippet of the spec.
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "spec/loader.h"

namespace berth::spec::test_util {

// Files the specs under test may read through env_file, by absolute path.
inline LoadOptions TestOptions(const std::map<std::string, std::string>* files = nullptr) {
  LoadOptions o;
  o.file_name = "berth.yaml";
  o.base_dir = "/home/u/shop";
  o.read_file = [files](const std::string& path) -> StatusOr<std::string> {
    if (files) {
      auto it = files->find(path);
      if (it != files->end()) return it->second;
    }
    return NotFound("no such file");
  };
  return o;
}

// A spec with one service "web" (image: host) and `body` appended, indented 4 spaces.
inline std::string Web(const std::string& body, const std::string& tail = "") {
  return "services:\n  web:\n    image: host\n" + body + tail;
}

// The 1-based line and column where `needle` first occurs in `text`; "<end>" is the
// position just past the last character.
inline std::pair<int, int> PositionOf(const std::string& text, const std::string& needle) {
  size_t at = needle == "<end>" ? text.size() : text.find(needle);
  if (at == std::string::npos) return {-1, -1};
  int line = 1, column = 1;
  for (size_t i = 0; i < at; ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return {line, column};
}

// One expected diagnostic: at the first occurrence of `at` in the spec (empty: no
// position), with this key path, and a message containing `message`.
struct Expected {
  const char* name;
  std::string yaml;
  std::string at;
  std::string path;
  std::string message;
};

inline std::string Describe(const std::vector<Diagnostic>& list) {
  std::string out;
  for (const Diagnostic& d : list) out += "\n  " + d.ToString();
  return out;
}

inline void ExpectDiagnostic(const Expected& c, const std::vector<Diagnostic>& got) {
  auto [line, column] = c.at.empty() ? std::pair<int, int>{0, 0} : PositionOf(c.yaml, c.at);
  ASSERT_NE(line, -1) << c.name << ": test bug: " << c.at << " not in the spec";
  for (const Diagnostic& d : got) {
    if (d.message.find(c.message) == std::string::npos || d.path != c.path) continue;
    EXPECT_EQ(d.line, line) << c.name << ": " << d.ToString();
    EXPECT_EQ(d.column, column) << c.name << ": " << d.ToString();
    return;
  }
  ADD_FAILURE() << c.name << ": no diagnostic with path \"" << c.path << "\" and message containing \""
                << c.message << "\"; got:" << Describe(got);
}

}  // namespace berth::spec::test_util
