// GCC 12 reports a false -Wmaybe-uninitialized inside libstdc++'s <regex> when built
// with -fsanitize=address (GCC bug 105562 and relatives). The pragma has to precede the
// first include of <functional>, which is why this file holds nothing but the regex use.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include "spec/param_pattern.h"

#include <exception>
#include <regex>

namespace berth::spec {

constexpr size_t kMaxPatternLength = 1000;
constexpr size_t kMaxValueLength = 1024;

struct ParamPattern::Impl {
  std::regex regex;
};

StatusOr<ParamPattern> ParamPattern::Compile(const std::string& pattern) {
  if (pattern.size() > kMaxPatternLength)
    return InvalidArgument("pattern is longer than " + std::to_string(kMaxPatternLength) + " characters");
  try {
    ParamPattern p;
    p.impl_ = std::make_shared<const Impl>(
        Impl{std::regex(pattern, std::regex::ECMAScript | std::regex_constants::__polynomial)});
    return p;
  } catch (const std::exception& e) {
    return InvalidArgument(e.what());
  }
}

StatusOr<bool> ParamPattern::FullMatch(std::string_view value) const {
  if (value.size() > kMaxValueLength)
    return InvalidArgument("value is longer than " + std::to_string(kMaxValueLength) + " characters");
  try {
    return std::regex_match(value.begin(), value.end(), impl_->regex);
  } catch (const std::exception& e) {
    return InvalidArgument(e.what());
  }
}

}  // namespace berth::spec
