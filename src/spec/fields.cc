#include "spec/fields.h"

#include <algorithm>
#include <charconv>
#include <cmath>

namespace berth::spec {

void WrongShape(const YamlNode& n, std::string_view path, std::string_view expected, Diagnostics& d) {
  std::string got = n.is_scalar() ? "a value " + Quoted(n.scalar) : std::string(KindName(n.kind));
  d.Error(n.pos, path, "expected " + std::string(expected) + ", got " + got);
}

std::optional<std::string> ReadString(const YamlNode& n, std::string_view path, Diagnostics& d) {
  if (n.invalid || n.is_null()) return std::nullopt;
  if (!n.is_scalar()) {
    WrongShape(n, path, "a string", d);
    return std::nullopt;
  }
  return n.scalar;
}

std::optional<int64_t> ReadInt(const YamlNode& n, std::string_view path, Diagnostics& d, int64_t min,
                               int64_t max) {
  if (n.invalid || n.is_null()) return std::nullopt;
  if (!n.is_scalar()) {
    WrongShape(n, path, "an integer", d);
    return std::nullopt;
  }
  std::string_view s = n.scalar;
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  int64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec == std::errc::invalid_argument || end != s.data() + s.size()) {
    d.Error(n.pos, path, "expected an integer, got " + Quoted(n.scalar));
    return std::nullopt;
  }
  if (ec == std::errc::result_out_of_range || v < min || v > max) {
    std::string range = max == INT64_MAX ? "at least " + std::to_string(min)
                                         : "between " + std::to_string(min) + " and " + std::to_string(max);
    d.Error(n.pos, path, Quoted(n.scalar) + " is out of range: must be " + range);
    return std::nullopt;
  }
  return v;
}

std::optional<bool> ReadBool(const YamlNode& n, std::string_view path, Diagnostics& d) {
  if (n.invalid || n.is_null()) return std::nullopt;
  if (n.is_scalar()) {
    std::string v = n.scalar;
    std::transform(v.begin(), v.end(), v.begin(), [](unsigned char c) { return std::tolower(c); });
    // YAML 1.1 spellings too: Compose files in the wild use yes/no.
    if (v == "true" || v == "yes" || v == "on") return true;
    if (v == "false" || v == "no" || v == "off") return false;
  }
  WrongShape(n, path, "true or false", d);
  return std::nullopt;
}

std::optional<double> ReadNumber(const YamlNode& n, std::string_view path, Diagnostics& d) {
  if (n.invalid || n.is_null()) return std::nullopt;
  if (n.is_scalar()) {
    std::string_view s = n.scalar;
    double v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v, std::chars_format::fixed);
    if (!s.empty() && ec == std::errc() && end == s.data() + s.size() && std::isfinite(v)) return v;
  }
  WrongShape(n, path, "a number", d);
  return std::nullopt;
}

namespace {
template <typename T, typename Parse>
std::optional<T> ReadUnit(const YamlNode& n, std::string_view path, Diagnostics& d, std::string_view what,
                          Parse parse) {
  if (n.invalid || n.is_null()) return std::nullopt;
  if (!n.is_scalar()) {
    WrongShape(n, path, what, d);
    return std::nullopt;
  }
  auto v = parse(n.scalar);
  if (!v.ok()) {
    d.Error(n.pos, path, v.status().message());
    return std::nullopt;
  }
  return *v;
}
}  // namespace

std::optional<Millis> ReadDuration(const YamlNode& n, std::string_view path, Diagnostics& d) {
  return ReadUnit<Millis>(n, path, d, "a duration such as 30s", ParseDuration);
}

std::optional<int64_t> ReadBytes(const YamlNode& n, std::string_view path, Diagnostics& d) {
  return ReadUnit<int64_t>(n, path, d, "a size such as 256M", ParseBytes);
}

std::optional<double> ReadCpus(const YamlNode& n, std::string_view path, Diagnostics& d) {
  return ReadUnit<double>(n, path, d, "a CPU amount such as 0.5", ParseCpus);
}

std::optional<std::vector<std::string>> ReadStringList(const YamlNode& n, std::string_view path,
                                                       Diagnostics& d) {
  if (n.invalid || n.is_null()) return std::nullopt;
  if (!n.is_sequence()) {
    WrongShape(n, path, "a list of strings", d);
    return std::nullopt;
  }
  std::vector<std::string> out;
  bool ok = true;
  for (size_t i = 0; i < n.items.size(); ++i) {
    const YamlNode& item = n.items[i];
    if (item.invalid) {
      ok = false;
      continue;
    }
    if (!item.is_scalar()) {
      WrongShape(item, IndexPath(path, i), "a string", d);
      ok = false;
      continue;
    }
    out.push_back(item.scalar);
  }
  if (!ok) return std::nullopt;
  return out;
}

bool ExpectMap(const YamlNode& n, std::string_view path, Diagnostics& d) {
  if (n.is_map()) return true;
  if (!n.invalid && !n.is_null()) WrongShape(n, path, "a map", d);
  return false;
}

bool ExpectSequence(const YamlNode& n, std::string_view path, Diagnostics& d) {
  if (n.is_sequence()) return true;
  if (!n.invalid && !n.is_null()) WrongShape(n, path, "a list", d);
  return false;
}

namespace {
// Optimal-string-alignment distance: insertions, deletions, substitutions and
// adjacent transpositions ("enviornment") each count as one edit.
size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<std::vector<size_t>> m(a.size() + 1, std::vector<size_t>(b.size() + 1));
  for (size_t i = 0; i <= a.size(); ++i) m[i][0] = i;
  for (size_t j = 0; j <= b.size(); ++j) m[0][j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      m[i][j] = std::min({m[i - 1][j] + 1, m[i][j - 1] + 1, m[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        m[i][j] = std::min(m[i][j], m[i - 2][j - 2] + 1);
    }
  }
  return m[a.size()][b.size()];
}
}  // namespace

std::string ClosestMatch(std::string_view word, std::span<const std::string_view> candidates) {
  if (word.size() > 32) return "";
  std::string best;
  size_t best_distance = SIZE_MAX;
  for (std::string_view c : candidates) {
    size_t dist = EditDistance(word, c);
    if (dist < best_distance) {
      best_distance = dist;
      best = std::string(c);
    }
  }
  // Close enough to be a typo: at most 2 edits, and fewer than a third of the word.
  size_t allowed = std::min<size_t>(2, std::max<size_t>(1, word.size() / 3));
  return best_distance <= allowed ? best : "";
}

void CheckKeys(const YamlNode& map, std::string_view path, std::span<const KeyRule> rules, Extensions ext,
               Diagnostics& d) {
  if (!map.is_map()) return;
  for (const YamlEntry& e : map.entries) {
    auto rule = std::find_if(rules.begin(), rules.end(), [&](const KeyRule& r) { return r.key == e.key; });
    if (rule != rules.end()) {
      if (!rule->warning.empty())
        d.Warning(e.key_pos, ChildPath(path, e.key), Quoted(e.key) + " " + std::string(rule->warning));
      continue;
    }
    if (ext == Extensions::kIgnore && e.key.starts_with("x-")) continue;
    if (d.saturated()) return;
    std::vector<std::string_view> names;
    for (const KeyRule& r : rules) names.push_back(r.key);
    std::string guess = ClosestMatch(e.key, names);
    std::string message = "unknown key " + Quoted(e.key);
    if (!guess.empty()) message += " (did you mean " + Quoted(guess) + "?)";
    d.Error(e.key_pos, ChildPath(path, e.key), std::move(message));
  }
}

}  // namespace berth::spec
