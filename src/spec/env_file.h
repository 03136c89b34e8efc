// Parsing of env files (Compose `env_file:`, docker's --env-file, dotenv): one
// KEY=VALUE per line. Pure; thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace berth::spec {

struct EnvFileEntry {
  std::string key;
  // nullopt for a bare `KEY` line: the value comes from the caller's variables.
  std::optional<std::string> value;
  // False for single-quoted values, which are literal; others go through
  // interpolation like spec values (a `\$` in double quotes is already `$$`).
  bool interpolate = true;
  int line = 0;  // 1-based line of the key
};

struct EnvFileError {
  int line = 0;
  std::string message;
};

struct EnvFile {
  std::vector<EnvFileEntry> entries;  // in file order; a later duplicate key wins
  std::vector<EnvFileError> errors;
};

// Accepts: blank lines; `#` comments (whole line, or after whitespace following an
// unquoted value); an optional `export ` prefix; `KEY=VALUE` with VALUE unquoted
// (trimmed), 'single-quoted' (literal, may span lines) or "double-quoted" (escapes
// \n \r \t \" \\ \$, may span lines); a bare `KEY`. Keys are [A-Za-z_][A-Za-z0-9_.-]*.
EnvFile ParseEnvFile(std::string_view content);

}  // namespace berth::spec
