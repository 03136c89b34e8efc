// Collecting what the loader finds about a spec: errors and warnings, each located at
// a file position and a key path. Internal to the spec component.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "spec/loader.h"

namespace berth::spec {

// A 1-based position in a source file; line 0 = unknown.
struct Pos {
  int line = 0;
  int column = 0;
};

// Shows user text inside a message: double-quoted, non-printable bytes escaped, long
// values cut, so a hostile spec cannot garble a terminal or flood a log.
std::string Quoted(std::string_view text);

// Empty when `text` may appear in the model: valid UTF-8 without NUL bytes (which
// argv and environment strings cannot carry, and JSON dumps reject). Else why not.
std::string TextProblem(std::string_view text);

// Joins key paths: ChildPath("services", "web") == "services.web",
// IndexPath("services.web.ports", 2) == "services.web.ports[2]".
std::string ChildPath(std::string_view path, std::string_view key);
std::string IndexPath(std::string_view path, size_t index);

// Not thread-safe; one per Load call.
class Diagnostics {
 public:
  // Errors beyond this many are dropped (one note says so): a 1 MiB spec of mistakes
  // must not produce a megabyte-sized status message.
  static constexpr size_t kMaxErrors = 200;

  explicit Diagnostics(std::string file) : file_(std::move(file)) {}

  const std::string& file() const { return file_; }

  void Error(Pos pos, std::string_view path, std::string message) {
    ErrorIn(file_, pos, path, std::move(message));
  }
  void Warning(Pos pos, std::string_view path, std::string message) {
    WarningIn(file_, pos, path, std::move(message));
  }
  void ErrorIn(const std::string& file, Pos pos, std::string_view path, std::string message);
  void WarningIn(const std::string& file, Pos pos, std::string_view path, std::string message);

  bool has_errors() const { return !errors_.empty(); }
  // True once further errors would be dropped: callers may skip costly messages.
  bool saturated() const { return errors_.size() >= kMaxErrors; }
  size_t error_count() const { return errors_.size(); }

  // Orders both lists by position (unknown positions last), keeping discovery order
  // for equal positions, so output follows the file.
  void Sort();

  std::vector<Diagnostic>& errors() { return errors_; }
  std::vector<Diagnostic>& warnings() { return warnings_; }

 private:
  std::string file_;
  std::vector<Diagnostic> errors_;
  std::vector<Diagnostic> warnings_;
  bool truncated_ = false;
};

}  // namespace berth::spec
