#include "spec/interpolate.h"

#include <utility>

#include "base/names.h"
#include "spec/diagnostics.h"
#include "spec/loader.h"

namespace berth::spec {
namespace {

constexpr std::string_view kSecretPrefix = "secret.";
constexpr std::string_view kPlaceholderStart = "${secret.";
constexpr std::string_view kEscapedPlaceholderStart = "$${secret.";
// Nesting of ${...} inside defaults; deeper is certainly not a real spec, and the
// recursive parser must not be driven into a stack overflow by a hostile value.
constexpr int kMaxNesting = 16;

bool IsNameStart(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
bool IsNameChar(char c) {
  return IsNameStart(c) || (c >= '0' && c <= '9');
}

enum class Op {
  kNone,
  kDefaultIfUnsetOrEmpty,  // :-
  kDefaultIfUnset,         // -
  kErrorIfUnsetOrEmpty,    // :?
  kErrorIfUnset,           // ?
  kAltIfNonEmpty,          // :+
  kAltIfSet,               // +
};

// One piece of a parsed template.
struct Piece {
  enum class Kind { kText, kVariable, kSecret };
  Kind kind = Kind::kText;
  std::string text;  // literal text, variable name or secret name
  Op op = Op::kNone;
  std::vector<Piece> arg;  // the default / alternative / message, itself a template
};

class TemplateParser {
 public:
  explicit TemplateParser(std::string_view text) : s_(text) {}

  StatusOr<std::vector<Piece>> Parse() {
    std::vector<Piece> pieces;
    BERTH_RETURN_IF_ERROR(ParseSequence(/*nested=*/false, 0, pieces));
    return pieces;
  }

 private:
  Status Invalid(std::string_view why) const {
    return InvalidArgument("invalid interpolation in " + Quoted(s_) + ": " + std::string(why) +
                           " (write \"$$\" for a literal \"$\")");
  }

  static void AddText(std::vector<Piece>& pieces, std::string_view text) {
    if (text.empty()) return;
    if (pieces.empty() || pieces.back().kind != Piece::Kind::kText) pieces.push_back({});
    pieces.back().text.append(text);
  }

  // Parses until the end of input or, when nested, until the `}` closing the
  // enclosing ${...} (left unconsumed for the caller).
  Status ParseSequence(bool nested, int depth, std::vector<Piece>& pieces) {
    while (i_ < s_.size()) {
      char c = s_[i_];
      if (nested && c == '}') return OkStatus();
      if (c != '$') {
        size_t j = i_;
        while (j < s_.size() && s_[j] != '$' && !(nested && s_[j] == '}')) ++j;
        AddText(pieces, s_.substr(i_, j - i_));
        i_ = j;
        continue;
      }
      char next = i_ + 1 < s_.size() ? s_[i_ + 1] : '\0';
      if (next == '$') {
        AddText(pieces, "$");
        i_ += 2;
      } else if (IsNameStart(next)) {
        size_t j = i_ + 1;
        while (j < s_.size() && IsNameChar(s_[j])) ++j;
        pieces.push_back({Piece::Kind::kVariable, std::string(s_.substr(i_ + 1, j - i_ - 1)), Op::kNone, {}});
        i_ = j;
      } else if (next == '{') {
        i_ += 2;
        BERTH_RETURN_IF_ERROR(ParseBraced(depth, pieces));
      } else {
        AddText(pieces, "$");
        ++i_;
      }
    }
    if (nested) return Invalid("missing \"}\"");
    return OkStatus();
  }

  // After "${": NAME "}" | NAME OP template "}" | "secret." SECRET "}".
  Status ParseBraced(int depth, std::vector<Piece>& pieces) {
    if (s_.substr(i_).starts_with(kSecretPrefix)) {
      size_t start = i_ + kSecretPrefix.size();
      size_t close = s_.find('}', start);
      if (close == std::string_view::npos) return Invalid("missing \"}\"");
      std::string name(s_.substr(start, close - start));
      if (!ValidateSecretName(name).ok())
        return Invalid("${secret." + name + "} must be ${secret.NAME} with a valid secret name");
      pieces.push_back({Piece::Kind::kSecret, std::move(name), Op::kNone, {}});
      i_ = close + 1;
      return OkStatus();
    }
    if (i_ >= s_.size()) return Invalid("missing \"}\"");
    if (!IsNameStart(s_[i_]))
      return Invalid(s_[i_] == '}' ? "empty variable name in \"${}\""
                                   : "a variable name starts with a letter or \"_\"");
    size_t j = i_;
    while (j < s_.size() && IsNameChar(s_[j])) ++j;
    Piece var{Piece::Kind::kVariable, std::string(s_.substr(i_, j - i_)), Op::kNone, {}};
    i_ = j;
    if (i_ >= s_.size()) return Invalid("missing \"}\"");
    if (s_[i_] == '}') {
      ++i_;
      pieces.push_back(std::move(var));
      return OkStatus();
    }
    bool colon = s_[i_] == ':';
    if (colon) ++i_;
    char op = i_ < s_.size() ? s_[i_] : '\0';
    switch (op) {
      case '-':
        var.op = colon ? Op::kDefaultIfUnsetOrEmpty : Op::kDefaultIfUnset;
        break;
      case '?':
        var.op = colon ? Op::kErrorIfUnsetOrEmpty : Op::kErrorIfUnset;
        break;
      case '+':
        var.op = colon ? Op::kAltIfNonEmpty : Op::kAltIfSet;
        break;
      default:
        if (op == '\0') return Invalid("missing \"}\"");
        return Invalid("unexpected " + Quoted(std::string(1, op)) + " after ${" + var.text +
                       " (expected \"}\", \":-\", \"-\", \":?\", \"?\", \":+\" or \"+\")");
    }
    ++i_;
    if (depth + 1 > kMaxNesting) return Invalid("expressions nested too deeply");
    BERTH_RETURN_IF_ERROR(ParseSequence(/*nested=*/true, depth + 1, var.arg));
    ++i_;  // the closing '}'
    pieces.push_back(std::move(var));
    return OkStatus();
  }

  std::string_view s_;
  size_t i_ = 0;
};

// The evaluated pieces: literal text and secret placeholders, before encoding.
struct Output {
  struct Part {
    bool secret = false;
    std::string text;
  };
  std::vector<Part> parts;
  void Text(std::string_view t) {
    if (t.empty()) return;
    if (parts.empty() || parts.back().secret) parts.push_back({false, ""});
    parts.back().text.append(t);
  }
  void Secret(const std::string& name) { parts.push_back({true, name}); }
};

class Evaluator {
 public:
  Evaluator(const VariableLookup& lookup, Interpolation& result) : lookup_(lookup), result_(result) {}

  Status Eval(const std::vector<Piece>& pieces, Output& out) {
    for (const Piece& p : pieces) {
      switch (p.kind) {
        case Piece::Kind::kText:
          out.Text(p.text);
          break;
        case Piece::Kind::kSecret:
          out.Secret(p.text);
          result_.secrets.push_back(p.text);
          break;
        case Piece::Kind::kVariable:
          BERTH_RETURN_IF_ERROR(EvalVariable(p, out));
          break;
      }
    }
    return OkStatus();
  }

 private:
  Status EvalVariable(const Piece& p, Output& out) {
    std::optional<std::string> v = lookup_ ? lookup_(p.text) : std::nullopt;
    bool set = v.has_value();
    bool non_empty = set && !v->empty();
    switch (p.op) {
      case Op::kNone:
        if (!set) result_.unset.push_back(p.text);
        out.Text(v.value_or(""));
        return OkStatus();
      case Op::kDefaultIfUnsetOrEmpty:
        return non_empty ? (out.Text(*v), OkStatus()) : Eval(p.arg, out);
      case Op::kDefaultIfUnset:
        return set ? (out.Text(*v), OkStatus()) : Eval(p.arg, out);
      case Op::kAltIfNonEmpty:
        return non_empty ? Eval(p.arg, out) : OkStatus();
      case Op::kAltIfSet:
        return set ? Eval(p.arg, out) : OkStatus();
      case Op::kErrorIfUnsetOrEmpty:
      case Op::kErrorIfUnset: {
        bool ok = p.op == Op::kErrorIfUnset ? set : non_empty;
        if (ok) {
          out.Text(*v);
          return OkStatus();
        }
        Output message;
        BERTH_RETURN_IF_ERROR(Eval(p.arg, message));
        std::string text;
        for (const auto& part : message.parts)
          text += part.secret ? std::string(kPlaceholderStart) + part.text + "}" : part.text;
        std::string what = "required variable " + Quoted(p.text) +
                           (p.op == Op::kErrorIfUnset ? " is not set" : " is not set or empty");
        return InvalidArgument(text.empty() ? what : what + ": " + text);
      }
    }
    return OkStatus();
  }

  const VariableLookup& lookup_;
  Interpolation& result_;
};

// Literal text inside a model string: a literal "${secret." must not read as a
// placeholder, so it is written "$${secret." (ExpandSecrets reads it back).
void AppendLiteral(std::string_view text, std::string& out) {
  size_t i = 0;
  while (i < text.size()) {
    size_t hit = text.find(kPlaceholderStart, i);
    if (hit == std::string_view::npos) {
      out.append(text.substr(i));
      return;
    }
    out.append(text.substr(i, hit - i));
    out += '$';
    out.append(kPlaceholderStart);
    i = hit + kPlaceholderStart.size();
  }
}

}  // namespace

StatusOr<Interpolation> Interpolate(std::string_view text, const VariableLookup& lookup) {
  BERTH_ASSIGN_OR_RETURN(std::vector<Piece> pieces, TemplateParser(text).Parse());
  Interpolation result;
  Output out;
  BERTH_RETURN_IF_ERROR(Evaluator(lookup, result).Eval(pieces, out));
  for (const Output::Part& part : out.parts) {
    if (!part.secret) {
      AppendLiteral(part.text, result.value);
      continue;
    }
    // "$" + "${secret.x}" would read as the escape "$${secret.x}"; no encoding of
    // that exists, and it is never what anyone means, so say so.
    if (!result.value.empty() && result.value.back() == '$')
      return InvalidArgument("a literal \"$\" right before ${secret." + part.text +
                             "} is not supported; put another character between them");
    result.value.append(kPlaceholderStart);
    result.value += part.text;
    result.value += '}';
  }
  return result;
}

void CollectVariableNames(std::string_view s, std::set<std::string>* names) {
  size_t i = 0;
  while (i < s.size()) {
    if (s[i] != '$') {
      ++i;
      continue;
    }
    if (i + 1 < s.size() && s[i + 1] == '$') {
      i += 2;
      continue;
    }
    size_t j = i + 1;
    bool braced = j < s.size() && s[j] == '{';
    if (braced) ++j;
    if (braced && s.substr(j).starts_with(kSecretPrefix)) {
      i = j + kSecretPrefix.size();
      continue;
    }
    size_t start = j;
    if (j < s.size() && IsNameStart(s[j])) {
      while (j < s.size() && IsNameChar(s[j])) ++j;
      names->insert(std::string(s.substr(start, j - start)));
    }
    i = j;
  }
}

std::string ModelStringFromLiteral(std::string_view text) {
  std::string out;
  AppendLiteral(text, out);
  return out;
}

std::string EscapeModelString(std::string_view s) {
  std::string out;
  size_t i = 0;
  while (i < s.size()) {
    std::string_view rest = s.substr(i);
    if (rest.starts_with(kEscapedPlaceholderStart)) {
      out.append(kEscapedPlaceholderStart);  // "$$" + "{secret." interpolates back to it
      i += kEscapedPlaceholderStart.size();
      continue;
    }
    if (rest.starts_with(kPlaceholderStart)) {
      size_t close = rest.find('}');
      if (close != std::string_view::npos) {
        out.append(rest.substr(0, close + 1));
        i += close + 1;
        continue;
      }
    }
    if (s[i] == '$') out += '$';
    out += s[i++];
  }
  return out;
}

StatusOr<std::string> ExpandSecrets(
    std::string_view text, const std::function<std::optional<std::string>(const std::string&)>& lookup) {
  std::string out;
  size_t i = 0;
  while (i < text.size()) {
    std::string_view rest = text.substr(i);
    if (rest.starts_with(kEscapedPlaceholderStart)) {
      out.append(kPlaceholderStart);
      i += kEscapedPlaceholderStart.size();
      continue;
    }
    if (rest.starts_with(kPlaceholderStart)) {
      size_t close = rest.find('}');
      if (close != std::string_view::npos) {
        std::string name(rest.substr(kPlaceholderStart.size(), close - kPlaceholderStart.size()));
        std::optional<std::string> value = lookup ? lookup(name) : std::nullopt;
        if (!value) return InvalidArgument("unknown secret " + Quoted(name));
        out += *value;
        i += close + 1;
        continue;
      }
    }
    out += text[i++];
  }
  return out;
}

}  // namespace berth::spec
