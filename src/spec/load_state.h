// The state one Load() call builds up while it walks a spec: the options, the
// diagnostics, the project so far, and variable lookup for interpolation. Internal to
// the spec component; not thread-safe (one per call).
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "spec/diagnostics.h"
#include "spec/loader.h"
#include "spec/model.h"
#include "spec/yaml_tree.h"

namespace berth::spec {

class LoadState {
 public:
  LoadState(const LoadOptions& options, Diagnostics& diags) : options(options), diags(diags) {}

  const LoadOptions& options;
  Diagnostics& diags;
  Project project;

  // Defaults of declared params, by name (declared params without one are absent).
  std::map<std::string, std::string> param_defaults;
  // Required params not given: values using them are skipped without further
  // diagnostics (the missing parameter is the one error to report).
  std::set<std::string> missing_params;
  // Every service name in the spec, known before any service is parsed.
  std::set<std::string> service_names;

  // A variable's value: --set params first, then declared param defaults, then
  // options.variables. nullopt when unset.
  std::optional<std::string> Lookup(const std::string& name) const;

  // Interpolates one value found in `file` at `pos`/`path`, reporting what it finds
  // (malformed expressions, unset variables, secret placeholders). nullopt on error.
  std::optional<std::string> InterpolateValue(std::string_view text, const std::string& file, Pos pos,
                                              std::string_view path);

  // Interpolates every scalar value under `node` in place (map keys stay as written).
  // A value that fails is marked invalid so later readers stay quiet about it.
  void InterpolateTree(YamlNode& node, const std::string& path);

  // Reports ${secret.NAME} placeholders naming secrets not declared in x-berth.secrets.
  // Runs once the declarations are known.
  void CheckSecretReferences();

 private:
  struct SecretRef {
    std::string name;
    std::string file;
    Pos pos;
    std::string path;
  };
  std::vector<SecretRef> secret_refs_;
  std::set<std::string> warned_unset_;
};

}  // namespace berth::spec
