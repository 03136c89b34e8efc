#include "base/units.h"

#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <limits>

namespace berth {
namespace {

std::string Quote(std::string_view s) {
  std::string q = "\"";
  q.append(s);
  q += '"';
  return q;
}

// Parses a non-negative decimal number (digits with optional fraction) at the front
// of `s`, advancing it. Returns false if there is none.
bool TakeNumber(std::string_view& s, double& out) {
  size_t i = 0;
  bool digits = false;
  while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i, digits = true;
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i, digits = true;
  }
  if (!digits) return false;
  std::string num(s.substr(0, i));
  char* end = nullptr;
  out = std::strtod(num.c_str(), &end);
  s.remove_prefix(i);
  return std::isfinite(out);
}

std::string Lower(std::string_view s) {
  std::string r(s);
  for (auto& c : r) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return r;
}

std::string TrimNumber(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.3f", v);
  std::string s(buf);
  while (!s.empty() && s.back() == '0') s.pop_back();
  if (!s.empty() && s.back() == '.') s.pop_back();
  return s;
}

}  // namespace

StatusOr<Millis> ParseDuration(std::string_view text) {
  std::string_view s = text;
  if (s.empty()) return InvalidArgument("empty duration");
  if (s.front() == '-') return InvalidArgument("duration " + Quote(text) + " is negative");
  if (s.front() == '+') s.remove_prefix(1);
  bool all_digits = !s.empty();
  for (char c : s) all_digits &= std::isdigit(static_cast<unsigned char>(c)) != 0;
  if (all_digits) {
    int64_t secs = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), secs);
    if (ec != std::errc() || secs > 10LL * 365 * 24 * 3600)
      return InvalidArgument("duration " + Quote(text) + " is out of range");
    return Millis(secs * 1000);
  }
  double total_ns = 0;
  while (!s.empty()) {
    double v;
    if (!TakeNumber(s, v))
      return InvalidArgument("invalid duration " + Quote(text) +
                             " (expected forms like 30s, 1m30s, 500ms)");
    size_t u = 0;
    while (u < s.size() && std::isalpha(static_cast<unsigned char>(s[u]))) ++u;
    std::string_view unit = s.substr(0, u);
    s.remove_prefix(u);
    double mult;
    if (unit == "ns") mult = 1;
    else if (unit == "us" || unit == "µs") mult = 1e3;
    else if (unit == "ms") mult = 1e6;
    else if (unit == "s") mult = 1e9;
    else if (unit == "m") mult = 60e9;
    else if (unit == "h") mult = 3600e9;
    else if (unit.empty())
      return InvalidArgument("duration " + Quote(text) + " is missing a unit (ns, us, ms, s, m, h)");
    else
      return InvalidArgument("duration " + Quote(text) + " has unknown unit " + Quote(unit) +
                             " (use ns, us, ms, s, m, h)");
    total_ns += v * mult;
  }
  if (total_ns > 10.0 * 365 * 24 * 3600 * 1e9) return InvalidArgument("duration " + Quote(text) + " is out of range");
  int64_t ms = static_cast<int64_t>(std::ceil(total_ns / 1e6 - 1e-9));
  return Millis(ms);
}

std::string FormatDuration(Millis d) {
  int64_t ms = d.count();
  if (ms == 0) return "0s";
  std::string out;
  if (ms < 0) { out = "-"; ms = -ms; }
  if (ms < 1000) return out + std::to_string(ms) + "ms";
  int64_t h = ms / 3600000, m = (ms / 60000) % 60;
  int64_t rem_ms = ms % 60000;
  if (h) out += std::to_string(h) + "h";
  if (m) out += std::to_string(m) + "m";
  if (rem_ms) {
    if (rem_ms % 1000 == 0) out += std::to_string(rem_ms / 1000) + "s";
    else out += TrimNumber(static_cast<double>(rem_ms) / 1000.0) + "s";
  }
  return out;
}

StatusOr<int64_t> ParseBytes(std::string_view text) {
  std::string_view s = text;
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  if (s.empty()) return InvalidArgument("empty size");
  if (s.front() == '-') return InvalidArgument("size " + Quote(text) + " is negative");
  double v;
  if (!TakeNumber(s, v))
    return InvalidArgument("invalid size " + Quote(text) + " (expected forms like 512k, 256M, 1Gi)");
  std::string unit = Lower(s);
  if (unit.size() >= 2 && unit.back() == 'b' && unit != "b") unit.pop_back();   // MB, MiB
  if (unit.size() == 2 && unit.back() == 'i') unit.pop_back();                  // Mi
  double mult;
  if (unit.empty() || unit == "b") mult = 1;
  else if (unit == "k") mult = 1024.0;
  else if (unit == "m") mult = 1024.0 * 1024;
  else if (unit == "g") mult = 1024.0 * 1024 * 1024;
  else if (unit == "t") mult = 1024.0 * 1024 * 1024 * 1024;
  else if (unit == "p") mult = 1024.0 * 1024 * 1024 * 1024 * 1024;
  else
    return InvalidArgument("size " + Quote(text) + " has unknown unit " + Quote(s) +
                           " (use b, k, m, g, t with optional i/b)");
  double bytes = v * mult;
  if (bytes >= 9.2e18) return InvalidArgument("size " + Quote(text) + " is out of range");
  return static_cast<int64_t>(std::llround(bytes));
}

std::string FormatBytes(int64_t bytes) {
  static const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  double v = static_cast<double>(bytes < 0 ? -bytes : bytes);
  int u = 0;
  while (v >= 1024 && u < 5) v /= 1024, ++u;
  std::string s = (bytes < 0 ? "-" : "") + (u == 0 ? std::to_string(static_cast<int64_t>(v))
                                                   : TrimNumber(std::round(v * 100) / 100));
  return s + kUnits[u];
}

StatusOr<double> ParseCpus(std::string_view text) {
  std::string_view s = text;
  double v;
  if (!TakeNumber(s, v) || !s.empty())
    return InvalidArgument("invalid cpus " + Quote(text) + " (expected a number like 0.5 or 2)");
  if (v <= 0) return InvalidArgument("cpus " + Quote(text) + " must be greater than 0");
  if (v > 1024) return InvalidArgument("cpus " + Quote(text) + " is out of range");
  return v;
}

}  // namespace berth
