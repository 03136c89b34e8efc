// Typed reading of YamlNode values and checking of map keys, reporting problems as
// diagnostics at the value's position. Internal to the spec component.
//
// Convention: a reader returns nullopt for a null value (Compose: absent) without a
// diagnostic, for an `invalid` node (already reported) likewise, and for a value of
// the wrong shape after reporting an error. Callers treat nullopt as "not set".
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/units.h"
#include "spec/diagnostics.h"
#include "spec/yaml_tree.h"

namespace berth::spec {

std::optional<std::string> ReadString(const YamlNode& n, std::string_view path, Diagnostics& d);
std::optional<int64_t> ReadInt(const YamlNode& n, std::string_view path, Diagnostics& d, int64_t min,
                               int64_t max);
std::optional<bool> ReadBool(const YamlNode& n, std::string_view path, Diagnostics& d);
std::optional<double> ReadNumber(const YamlNode& n, std::string_view path, Diagnostics& d);
std::optional<Millis> ReadDuration(const YamlNode& n, std::string_view path, Diagnostics& d);
std::optional<int64_t> ReadBytes(const YamlNode& n, std::string_view path, Diagnostics& d);
std::optional<double> ReadCpus(const YamlNode& n, std::string_view path, Diagnostics& d);
// A list of scalars (a single scalar is not accepted).
std::optional<std::vector<std::string>> ReadStringList(const YamlNode& n, std::string_view path,
                                                       Diagnostics& d);

// Reports an error unless `n` is a map (or a list); false when it is not. Null and
// invalid nodes are false without a diagnostic.
bool ExpectMap(const YamlNode& n, std::string_view path, Diagnostics& d);
bool ExpectSequence(const YamlNode& n, std::string_view path, Diagnostics& d);

// Says "expected <what>, got a map" at n.
void WrongShape(const YamlNode& n, std::string_view path, std::string_view expected, Diagnostics& d);

// What a map may contain. `warning` empty: the key is honoured. Otherwise the key is
// accepted but not honoured, and the warning `"key" <warning>` is given.
struct KeyRule {
  std::string_view key;
  std::string_view warning = {};
};
inline constexpr std::string_view kNotSupported = "is not supported by berth and is ignored";

enum class Extensions {
  kIgnore,  // Compose maps: `x-*` keys are extension fields, ignored silently
  kReject,  // x-berth maps: our namespace, every key must be known
};

// Errors for unknown keys ("unknown key \"enviroment\" (did you mean \"environment\"?)")
// and warnings for accepted-but-ignored ones. Does nothing unless `map` is a map.
void CheckKeys(const YamlNode& map, std::string_view path, std::span<const KeyRule> rules, Extensions ext,
               Diagnostics& d);

// The closest candidate to `word` when it is close enough to be a typo, else empty.
std::string ClosestMatch(std::string_view word, std::span<const std::string_view> candidates);

}  // namespace berth::spec
