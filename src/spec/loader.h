// Loading a Compose-style spec: YAML -> interpolation -> validation -> normalized
// Project. Pure: no I/O except through the injected FileReader (env_file). Thread-safe.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "spec/model.h"

namespace berth::spec {

// One finding about the spec, located in the source. `path` is the key path
// ("services.web.healthcheck.interval").
struct Diagnostic {
  enum class Severity { kError, kWarning };
  Severity severity = Severity::kError;
  std::string file;
  int line = 0;    // 1-based; 0 when unknown
  int column = 0;  // 1-based; 0 when unknown
  std::string path;
  std::string message;

  // "berth.yaml:12:7: error: services.web.healthcheck.interval: invalid duration ..."
  std::string ToString() const;
};

// Reads files the spec refers to (env_file). Paths are as resolved against base_dir.
using FileReader = std::function<StatusOr<std::string>(const std::string& absolute_path)>;

struct LoadOptions {
  std::string file_name = "berth.yaml";  // shown in diagnostics
  std::string base_dir;                  // absolute; relative paths resolve against it
  // Values for ${VAR}: --set parameters. Keys not declared in x-berth.params are an
  // error when the spec declares params; otherwise they are plain variables.
  std::map<std::string, std::string> params;
  // Further values for ${VAR} not given as params (the CLI's environment, Compose-style).
  std::map<std::string, std::string> variables;
  // Environment name override (`berth env create NAME`); else `name:`; else basename of
  // base_dir, lowercased and sanitized.
  std::optional<std::string> env_name;
  FileReader read_file;  // may be empty: env_file then is an error
};

struct LoadResult {
  Project project;
  std::vector<Diagnostic> warnings;  // e.g. unsupported Compose keys, each named
};

// On failure the status is kInvalidArgument and its message holds every error
// diagnostic, one per line, each "file:line:col: error: path: message".
// `errors` (if given) receives the structured diagnostics as well.
StatusOr<LoadResult> Load(std::string_view yaml_source, const LoadOptions& options,
                          std::vector<Diagnostic>* errors = nullptr);

// Names of variables ${VAR} the source references (excluding `secret.*`), so a client
// can send just those from its environment.
std::vector<std::string> ReferencedVariables(std::string_view yaml_source);

// Replaces `${secret.NAME}` in `text` with lookup(NAME). Unknown names are an error
// naming the secret (never its value).
StatusOr<std::string> ExpandSecrets(
    std::string_view text, const std::function<std::optional<std::string>(const std::string&)>& lookup);

}  // namespace berth::spec
