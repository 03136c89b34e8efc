// Splitting a command string into argv the way a POSIX shell would tokenize it, but
// without a shell: no expansion, globbing, pipes or redirection (Compose's `command:
// "gunicorn -w 4 app:app"`). Pure; thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace berth::spec {

// Words are separated by unquoted blanks (space, tab, newline). Single quotes keep
// everything literally; double quotes keep everything except that a backslash escapes
// `"`, `\`, `$`, "`" and newline; outside quotes a backslash escapes any character
// (backslash-newline joins lines). `""` is an empty word. An unterminated quote is
// kInvalidArgument.
StatusOr<std::vector<std::string>> SplitShellWords(std::string_view text);

}  // namespace berth::spec
