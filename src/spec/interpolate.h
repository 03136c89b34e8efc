// Compose-style variable interpolation of spec values, and the small grammar of
// "model strings" that keep secret placeholders.
//
// Interpolation (Compose semantics): `$VAR`, `${VAR}`, `${VAR:-default}` (unset or
// empty), `${VAR-default}` (unset), `${VAR:?message}` / `${VAR?message}` (error),
// `${VAR:+alt}` / `${VAR+alt}`, nesting inside the default/alt/message
// (`${A:-${B}}`), `$$` for a literal `$`. A `$` not followed by a name, `{` or `$`
// stays a literal `$`, as in a shell. Defaults are evaluated only when used.
//
// Secret placeholders: `${secret.NAME}` is not a variable. It is kept verbatim in the
// result so secret values never enter the model; the daemon replaces it when it starts
// a container (ExpandSecrets). Results are therefore "model strings": literal text
// except for `${secret.NAME}` placeholders, where `$${secret.` stands for a literal
// `${secret.` (what a spec's `$${secret.x}` means).
//
// Pure functions; thread-safe.
#pragma once

#include <functional>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace berth::spec {

// Returns the value of a variable, nullopt when it is not set.
using VariableLookup = std::function<std::optional<std::string>(const std::string& name)>;

struct Interpolation {
  std::string value;                 // a model string
  std::vector<std::string> unset;    // variables used bare (`$X`, `${X}`) without a value
  std::vector<std::string> secrets;  // names of the ${secret.NAME} placeholders kept
};

// kInvalidArgument for malformed expressions ("${", "${A:-", "${1x}") and for
// `${VAR:?message}` / `${VAR?message}` without a value.
StatusOr<Interpolation> Interpolate(std::string_view text, const VariableLookup& lookup);

// Adds the names of the variables `text` refers to (never `secret.*`) to `names`.
// Tolerant: never fails, even on malformed expressions.
void CollectVariableNames(std::string_view text, std::set<std::string>* names);

// Literal text (nothing to interpolate, e.g. a single-quoted env_file value) as a
// model string: a literal `${secret.` is escaped so it is not read as a placeholder.
std::string ModelStringFromLiteral(std::string_view text);

// Turns a model string back into spec source that interpolates to it: `$` doubled,
// `${secret.NAME}` placeholders kept. Used to print a model as a loadable spec.
std::string EscapeModelString(std::string_view model_string);

}  // namespace berth::spec
