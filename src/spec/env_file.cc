#include "spec/env_file.h"

#include "spec/diagnostics.h"

namespace berth::spec {
namespace {

bool IsKeyStart(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
bool IsKeyChar(char c) {
  return IsKeyStart(c) || (c >= '0' && c <= '9') || c == '.' || c == '-';
}
bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\r';
}

class EnvFileParser {
 public:
  explicit EnvFileParser(std::string_view s) : s_(s) {}

  EnvFile Run() {
    while (i_ < s_.size()) ParseLine();
    return std::move(out_);
  }

 private:
  void SkipSpaces() {
    while (i_ < s_.size() && IsSpace(s_[i_])) ++i_;
  }
  void SkipRestOfLine() {
    while (i_ < s_.size() && s_[i_] != '\n') ++i_;
    if (i_ < s_.size()) ++i_;
    ++line_;
  }
  void Fail(std::string message) {
    out_.errors.push_back({line_, std::move(message)});
    SkipRestOfLine();
  }
  bool AtLineEnd() const { return i_ >= s_.size() || s_[i_] == '\n'; }

  void ParseLine() {
    SkipSpaces();
    if (AtLineEnd() || s_[i_] == '#') return SkipRestOfLine();
    if (s_.substr(i_).starts_with("export ") || s_.substr(i_).starts_with("export\t")) {
      i_ += 7;
      SkipSpaces();
    }
    size_t key_start = i_;
    if (!IsKeyStart(s_[i_])) return Fail("expected KEY=VALUE, got " + Quoted(CurrentLine()));
    while (i_ < s_.size() && IsKeyChar(s_[i_])) ++i_;
    EnvFileEntry entry;
    entry.key = std::string(s_.substr(key_start, i_ - key_start));
    entry.line = line_;
    SkipSpaces();
    if (AtLineEnd() || s_[i_] == '#') {
      out_.entries.push_back(std::move(entry));
      return SkipRestOfLine();
    }
    if (s_[i_] != '=') return Fail("expected \"=\" after " + Quoted(entry.key));
    ++i_;
    SkipSpaces();
    std::string value;
    if (i_ < s_.size() && (s_[i_] == '\'' || s_[i_] == '"')) {
      char quote = s_[i_];
      if (!ReadQuoted(quote, value)) return;
      entry.interpolate = quote == '"';
      SkipSpaces();
      if (!AtLineEnd() && s_[i_] != '#')
        return Fail("unexpected text after the closing quote of " + Quoted(entry.key));
    } else {
      size_t start = i_;
      while (!AtLineEnd() && !(s_[i_] == '#' && i_ > start && IsSpace(s_[i_ - 1]))) ++i_;
      std::string_view raw = s_.substr(start, i_ - start);
      while (!raw.empty() && IsSpace(raw.back())) raw.remove_suffix(1);
      value = std::string(raw);
    }
    entry.value = std::move(value);
    out_.entries.push_back(std::move(entry));
    SkipRestOfLine();
  }

  // Reads a quoted value starting at the opening quote; may span lines. On an
  // unterminated quote reports the error at the line it opened on and stops.
  bool ReadQuoted(char quote, std::string& value) {
    int open_line = line_;
    ++i_;
    while (i_ < s_.size() && s_[i_] != quote) {
      char c = s_[i_];
      if (c == '\n') ++line_;
      if (quote == '"' && c == '\\' && i_ + 1 < s_.size()) {
        char e = s_[i_ + 1];
        switch (e) {
          case 'n':
            value += '\n';
            break;
          case 'r':
            value += '\r';
            break;
          case 't':
            value += '\t';
            break;
          case '"':
            value += '"';
            break;
          case '\\':
            value += '\\';
            break;
          case '$':
            value += "$$";
            break;  // stays a literal through interpolation
          default:
            value += '\\';
            value += e;
            break;
        }
        if (e == '\n') ++line_;
        i_ += 2;
        continue;
      }
      value += c;
      ++i_;
    }
    if (i_ >= s_.size()) {
      out_.errors.push_back(
          {open_line, std::string("unterminated ") + (quote == '"' ? "double" : "single") + " quote"});
      return false;
    }
    ++i_;
    return true;
  }

  std::string CurrentLine() const {
    size_t end = s_.find('\n', i_);
    return std::string(s_.substr(i_, end == std::string_view::npos ? std::string_view::npos : end - i_));
  }

  std::string_view s_;
  size_t i_ = 0;
  int line_ = 1;
  EnvFile out_;
};

}  // namespace

EnvFile ParseEnvFile(std::string_view content) {
  return EnvFileParser(content).Run();
}

}  // namespace berth::spec
