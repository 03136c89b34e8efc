// A parsed YAML document as a plain tree of values, built from yaml-cpp's parser events.
//
// Why a tree of our own: yaml-cpp's Node graph shares aliased nodes (even cyclically:
// `&a [*a]`), does not implement merge keys, throws on misuse, and LoadAll() can loop
// forever on some malformed input. Building this tree is the one place that talks to
// yaml-cpp, so it is where the guards against hostile input live (node budget, depth,
// expanded size, document count), where aliases are expanded and `<<` merge keys
// applied, and where duplicate or non-string keys are reported. Everything after it
// works on plain values that cannot surprise it.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "spec/diagnostics.h"

namespace berth::spec {

struct YamlEntry;

struct YamlNode {
  enum class Kind { kNull, kScalar, kSequence, kMap };
  Kind kind = Kind::kNull;
  Pos pos;
  std::string scalar;  // kScalar: the text as written (numbers and booleans too)
  bool plain = false;  // kScalar: written without quotes
  // Set when interpolating this value failed (already reported): readers treat the
  // node as present but skip it silently, so one mistake gives one error.
  bool invalid = false;
  std::vector<YamlNode> items;     // kSequence
  std::vector<YamlEntry> entries;  // kMap, in document order, keys unique

  bool is_null() const { return kind == Kind::kNull; }
  bool is_scalar() const { return kind == Kind::kScalar; }
  bool is_sequence() const { return kind == Kind::kSequence; }
  bool is_map() const { return kind == Kind::kMap; }

  // The value under `key` in a map; nullptr when absent or not a map.
  const YamlNode* Find(std::string_view key) const;
  YamlNode* Find(std::string_view key);
  const YamlEntry* FindEntry(std::string_view key) const;
};

struct YamlEntry {
  std::string key;
  Pos key_pos;
  YamlNode value;
};

// "a map", "a list", "a string", "null": for "expected X, got Y" messages.
std::string_view KindName(YamlNode::Kind kind);

struct YamlLimits {
  size_t max_bytes = 1 << 20;               // source size
  size_t max_nodes = 100'000;               // nodes visited, aliases expanded
  int max_depth = 64;                       // nesting of maps and lists
  size_t max_expanded_bytes = 16ull << 20;  // scalar bytes after alias expansion
};

// Parses `source`, which must hold exactly one YAML document. Problems are reported to
// `diags` (file:line:col); returns nullopt when there is no usable tree: invalid YAML,
// an empty spec, several documents, or a limit exceeded. Never throws.
std::optional<YamlNode> ParseYamlDocument(std::string_view source, Diagnostics& diags,
                                          const YamlLimits& limits = {});

}  // namespace berth::spec
