// Parameter patterns (x-berth.params.NAME.pattern): ECMAScript regular expressions that
// a value must match in full. Keeps <regex> out of the loader's headers. Immutable
// after Compile; thread-safe.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "base/status.h"

namespace berth::spec {

class ParamPattern {
 public:
  // Patterns are compiled for libstdc++'s polynomial (Thompson-NFA) executor, so a
  // hostile pattern such as "(a*)*b" cannot make loading a spec take exponential
  // time; the price is that back-references are rejected. Patterns longer than 1000
  // characters are rejected too.
  static StatusOr<ParamPattern> Compile(const std::string& pattern);

  // Whole-string match. Values longer than 1024 characters are an error rather than
  // a match attempt.
  StatusOr<bool> FullMatch(std::string_view value) const;

 private:
  struct Impl;
  std::shared_ptr<const Impl> impl_;
};

}  // namespace berth::spec
