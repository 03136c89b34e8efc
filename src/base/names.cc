#include "base/names.h"

#include <string>

namespace berth {
namespace {

bool Lower(char c) { return c >= 'a' && c <= 'z'; }
bool Upper(char c) { return c >= 'A' && c <= 'Z'; }
bool Digit(char c) { return c >= '0' && c <= '9'; }

// Shows a name safely in an error: printable ASCII kept, the rest escaped, long names cut.
std::string Show(std::string_view name) {
  std::string out = "\"";
  size_t n = 0;
  for (unsigned char c : name) {
    if (++n > 80) { out += "..."; break; }
    if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
      out += static_cast<char>(c);
    } else {
      static const char* hex = "0123456789abcdef";
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out + "\"";
}

Status Bad(std::string_view kind, std::string_view name, std::string_view rule) {
  std::string m(kind);
  m += " name ";
  m += Show(name);
  m += " is invalid: ";
  m += rule;
  return InvalidArgument(std::move(m));
}

}  // namespace

Status ValidateEnvName(std::string_view n) {
  constexpr std::string_view rule =
      "use 1-32 lowercase letters, digits or '-', starting with a letter and not ending with '-'";
  if (n.empty() || n.size() > 32 || !Lower(n.front()) || n.back() == '-') return Bad("environment", n, rule);
  for (char c : n)
    if (!Lower(c) && !Digit(c) && c != '-') return Bad("environment", n, rule);
  return OkStatus();
}

Status ValidateServiceName(std::string_view n) {
  constexpr std::string_view rule =
      "use 1-63 lowercase letters, digits, '-' or '_', starting and ending with a letter or digit";
  auto alnum = [](char c) { return Lower(c) || Digit(c); };
  if (n.empty() || n.size() > 63 || !alnum(n.front()) || !alnum(n.back())) return Bad("service", n, rule);
  for (char c : n)
    if (!alnum(c) && c != '-' && c != '_') return Bad("service", n, rule);
  return OkStatus();
}

Status ValidateVolumeName(std::string_view n) {
  constexpr std::string_view rule =
      "use 1-64 letters, digits, '_', '.' or '-', starting with a letter or digit";
  auto alnum = [](char c) { return Lower(c) || Upper(c) || Digit(c); };
  if (n.empty() || n.size() > 64 || !alnum(n.front())) return Bad("volume", n, rule);
  for (char c : n)
    if (!alnum(c) && c != '_' && c != '.' && c != '-') return Bad("volume", n, rule);
  return OkStatus();
}

namespace {
Status Identifier(std::string_view kind, std::string_view n) {
  constexpr std::string_view rule =
      "use 1-64 letters, digits, '_' or '-', starting with a letter or '_'";
  if (n.empty() || n.size() > 64 || !(Lower(n.front()) || Upper(n.front()) || n.front() == '_'))
    return Bad(kind, n, rule);
  for (char c : n)
    if (!Lower(c) && !Upper(c) && !Digit(c) && c != '_' && c != '-') return Bad(kind, n, rule);
  return OkStatus();
}
}  // namespace

Status ValidateSecretName(std::string_view n) { return Identifier("secret", n); }
Status ValidateParamName(std::string_view n) { return Identifier("parameter", n); }

}  // namespace berth
