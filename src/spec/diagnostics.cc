#include "spec/diagnostics.h"

#include <algorithm>
#include <cstdint>
#include <tuple>

namespace berth::spec {

std::string Diagnostic::ToString() const {
  std::string out = file;
  if (line > 0) {
    out += ':' + std::to_string(line);
    if (column > 0) out += ':' + std::to_string(column);
  }
  out += severity == Severity::kError ? ": error: " : ": warning: ";
  if (!path.empty()) out += path + ": ";
  out += message;
  return out;
}

std::string Quoted(std::string_view text) {
  constexpr size_t kMaxShown = 80;
  std::string out = "\"";
  size_t shown = 0;
  for (unsigned char c : text) {
    if (++shown > kMaxShown) {
      out += "...";
      break;
    }
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c >= 0x20 && c != 0x7f) {
      // Bytes >= 0x80 pass through: UTF-8 names and values are shown as written.
      out += static_cast<char>(c);
    } else {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out + "\"";
}

std::string TextProblem(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == 0) return "contains a NUL byte";
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t extra = 0;
    if (c >= 0xc2 && c <= 0xdf) {
      extra = 1;
    } else if (c >= 0xe0 && c <= 0xef) {
      extra = 2;
    } else if (c >= 0xf0 && c <= 0xf4) {
      extra = 3;
    } else {
      return "is not valid UTF-8";
    }
    if (i + extra >= s.size()) return "is not valid UTF-8";
    uint32_t cp = c & (0x3f >> extra);
    for (size_t k = 1; k <= extra; ++k) {
      unsigned char cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xc0) != 0x80) return "is not valid UTF-8";
      cp = (cp << 6) | (cc & 0x3f);
    }
    // Overlong forms, UTF-16 surrogates and code points past U+10FFFF.
    if ((extra == 2 && cp < 0x800) || (extra == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff))
      return "is not valid UTF-8";
    i += extra + 1;
  }
  return "";
}

std::string ChildPath(std::string_view path, std::string_view key) {
  std::string out(path);
  if (!out.empty()) out += '.';
  out.append(key);
  return out;
}

std::string IndexPath(std::string_view path, size_t index) {
  return std::string(path) + "[" + std::to_string(index) + "]";
}

namespace {
// Messages quote user text through Quoted(), but some come from shared parsers
// (base/units.h) that embed it raw: keep every diagnostic on one line and short.
std::string OneLine(std::string message) {
  constexpr size_t kMaxMessage = 500;
  std::string out;
  for (unsigned char c : message) {
    if (out.size() >= kMaxMessage) {
      out += "...";
      break;
    }
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c < 0x20 || c == 0x7f) {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}
}  // namespace

void Diagnostics::ErrorIn(const std::string& file, Pos pos, std::string_view path, std::string message) {
  if (errors_.size() >= kMaxErrors) {
    if (!truncated_) {
      truncated_ = true;
      errors_.push_back({Diagnostic::Severity::kError, file_, 0, 0, "",
                         "too many errors; only the first " + std::to_string(kMaxErrors) + " are shown"});
    }
    return;
  }
  errors_.push_back({Diagnostic::Severity::kError, file, pos.line, pos.column, OneLine(std::string(path)),
                     OneLine(std::move(message))});
}

void Diagnostics::WarningIn(const std::string& file, Pos pos, std::string_view path, std::string message) {
  if (warnings_.size() >= kMaxErrors) return;
  warnings_.push_back({Diagnostic::Severity::kWarning, file, pos.line, pos.column, OneLine(std::string(path)),
                       OneLine(std::move(message))});
}

namespace {
void SortByPosition(std::vector<Diagnostic>& list, const std::string& main_file) {
  // Diagnostics in the spec itself come first, in file order; those in other files
  // (env_file) and those without a position follow in discovery order.
  auto key = [&](const Diagnostic& d) {
    bool located = d.file == main_file && d.line > 0;
    return std::make_tuple(located ? 0 : 1, located ? d.line : 0, located ? d.column : 0);
  };
  std::stable_sort(list.begin(), list.end(),
                   [&](const Diagnostic& a, const Diagnostic& b) { return key(a) < key(b); });
}
}  // namespace

void Diagnostics::Sort() {
  SortByPosition(errors_, file_);
  SortByPosition(warnings_, file_);
}

}  // namespace berth::spec
