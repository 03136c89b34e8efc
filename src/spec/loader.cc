#include "spec/loader.h"

#include <exception>
#include <set>
#include <utility>

#include "spec/diagnostics.h"
#include "spec/fields.h"
#include "spec/interpolate.h"
#include "spec/load_state.h"
#include "spec/project_parser.h"
#include "spec/service_parser.h"
#include "spec/yaml_tree.h"

namespace berth::spec {
namespace {

constexpr KeyRule kTopLevelKeys[] = {
    {"name"},
    {"services"},
    {"volumes"},
    {"x-berth"},
    {"version", "is obsolete and ignored"},
    {"networks", "is not supported by berth and is ignored (each environment gets one network)"},
    {"configs", kNotSupported},
    {"include", kNotSupported},
    {"secrets",
     "(Compose file secrets) is not supported by berth: the names may be referenced but get no value; "
     "declare secrets under x-berth.secrets"},
};

// Values in these subtrees are not interpolated: param declarations are read as
// written, and other extension fields (`x-*`) are ignored altogether, so an anchor
// template there is interpolated only where it is used.
bool SkipInterpolation(const std::string& path, const std::string& key) {
  if (path.empty()) return key == "x-berth" ? false : key.starts_with("x-");
  if (path == "x-berth") return key == "params";
  // services.NAME.x-foo (but not services.NAME.x-berth)
  if (path.starts_with("services.") && path.find('.', 9) == std::string::npos)
    return key.starts_with("x-") && key != "x-berth";
  return false;
}

// Where the daemon expands ${secret.NAME}: service environment, command and entrypoint.
bool SecretsExpandedAt(std::string_view path) {
  if (!path.starts_with("services.")) return false;
  size_t dot = path.find('.', 9);
  if (dot == std::string_view::npos) return false;
  std::string_view field = path.substr(dot + 1);
  for (std::string_view f : {"environment", "env_file", "command", "entrypoint"}) {
    if (field.starts_with(f) &&
        (field.size() == f.size() || field[f.size()] == '.' || field[f.size()] == '['))
      return true;
  }
  return false;
}

void CollectFromTree(const YamlNode& n, const std::string& path, std::set<std::string>* names) {
  switch (n.kind) {
    case YamlNode::Kind::kScalar:
      CollectVariableNames(n.scalar, names);
      break;
    case YamlNode::Kind::kSequence:
      for (const YamlNode& item : n.items) CollectFromTree(item, path, names);
      break;
    case YamlNode::Kind::kMap:
      for (const YamlEntry& e : n.entries)
        if (!SkipInterpolation(path, e.key)) CollectFromTree(e.value, ChildPath(path, e.key), names);
      break;
    case YamlNode::Kind::kNull:
      break;
  }
}

void CheckHealthyDependencies(const std::map<std::string, ServiceSource>& sources, LoadState& st) {
  for (const auto& [name, svc] : st.project.services) {
    for (const DependsOn& dep : svc.depends_on) {
      auto target = st.project.services.find(dep.service);
      if (dep.condition != DependCondition::kHealthy || target == st.project.services.end()) continue;
      if (target->second.healthcheck.kind != HealthKind::kNone) continue;
      const ServiceSource::Dependency& where = sources.at(name).depends_on.at(dep.service);
      st.diags.Error(
          where.pos, where.path,
          "condition service_healthy needs a healthcheck on " + Quoted(dep.service) + ", which has none");
    }
  }
}

// Reports every dependency cycle once, at the depends_on entry that closes it.
// Iterative, so a long chain of services cannot overflow the stack.
void CheckCycles(const std::map<std::string, ServiceSource>& sources, LoadState& st) {
  const auto& services = st.project.services;
  std::map<std::string, int> state;  // 0 new, 1 on the stack, 2 done
  for (const auto& [root, unused] : services) {
    if (state[root]) continue;
    std::vector<std::pair<std::string, size_t>> stack = {{root, 0}};
    state[root] = 1;
    while (!stack.empty()) {
      auto& [name, next] = stack.back();
      const std::vector<DependsOn>& deps = services.at(name).depends_on;
      if (next >= deps.size()) {
        state[name] = 2;
        stack.pop_back();
        continue;
      }
      const std::string& dep = deps[next++].service;
      if (!services.count(dep)) continue;
      if (state[dep] == 1) {
        std::string cycle;
        bool in = false;
        for (const auto& frame : stack) {
          in = in || frame.first == dep;
          if (in) cycle += frame.first + " -> ";
        }
        cycle += dep;
        const ServiceSource::Dependency& where = sources.at(name).depends_on.at(dep);
        st.diags.Error(where.pos, where.path, "dependency cycle: " + cycle);
      } else if (state[dep] == 0) {
        state[dep] = 1;
        stack.push_back({dep, 0});
      }
    }
  }
}

void ParseServices(const YamlNode& root, LoadState& st) {
  const YamlEntry* se = root.FindEntry("services");
  if (!se) {
    st.diags.Error(root.pos, "services", "the spec needs a \"services\" map with at least one service");
    return;
  }
  if (se->value.is_null() || (se->value.is_map() && se->value.entries.empty())) {
    st.diags.Error(se->key_pos, "services", "no services defined");
    return;
  }
  if (!ExpectMap(se->value, "services", st.diags)) return;
  for (const YamlEntry& e : se->value.entries) st.service_names.insert(e.key);
  std::map<std::string, ServiceSource> sources;
  for (const YamlEntry& e : se->value.entries) {
    ServiceSource source;
    st.project.services[e.key] = ParseService(e, st, &source);
    sources[e.key] = std::move(source);
  }
  CheckHealthyDependencies(sources, st);
  CheckCycles(sources, st);
}

void LoadProject(YamlNode& root, LoadState& st) {
  if (!root.is_map()) {
    WrongShape(root, "", "a map at the top of the spec (with \"services\")", st.diags);
    return;
  }
  CheckKeys(root, "", kTopLevelKeys, Extensions::kIgnore, st.diags);
  ParseParams(root, st);
  st.InterpolateTree(root, "");
  ParseName(root, st);
  ParseTopLevelExtensions(root, st);
  ParseVolumes(root, st);
  ParseComposeSecrets(root, st);
  ParseServices(root, st);
  st.CheckSecretReferences();
}

}  // namespace

std::optional<std::string> LoadState::Lookup(const std::string& name) const {
  if (auto it = options.params.find(name); it != options.params.end()) return it->second;
  if (auto it = param_defaults.find(name); it != param_defaults.end()) return it->second;
  if (auto it = options.variables.find(name); it != options.variables.end()) return it->second;
  return std::nullopt;
}

std::optional<std::string> LoadState::InterpolateValue(std::string_view text, const std::string& file,
                                                       Pos pos, std::string_view path) {
  if (text.find('$') == std::string_view::npos) return std::string(text);
  StatusOr<Interpolation> r = Interpolate(text, [this](const std::string& name) { return Lookup(name); });
  if (!r.ok()) {
    diags.ErrorIn(file, pos, path, r.status().message());
    return std::nullopt;
  }
  for (const std::string& name : r->unset)
    if (missing_params.count(name)) return std::nullopt;
  if (std::string why = TextProblem(r->value); !why.empty()) {
    diags.ErrorIn(file, pos, path, "value after interpolation " + why);
    return std::nullopt;
  }
  for (const std::string& name : r->unset) {
    if (warned_unset_.insert(name).second)
      diags.WarningIn(file, pos, path, "variable " + Quoted(name) + " is not set; using an empty string");
  }
  for (const std::string& name : r->secrets) {
    secret_refs_.push_back({name, file, pos, std::string(path)});
    if (!SecretsExpandedAt(path))
      diags.WarningIn(file, pos, path,
                      "${secret." + name +
                          "} is expanded only in environment, command and entrypoint; here it stays literal");
  }
  return std::move(r->value);
}

void LoadState::InterpolateTree(YamlNode& node, const std::string& path) {
  switch (node.kind) {
    case YamlNode::Kind::kScalar: {
      std::optional<std::string> v = InterpolateValue(node.scalar, diags.file(), node.pos, path);
      if (v) {
        node.scalar = std::move(*v);
      } else {
        node.invalid = true;
      }
      break;
    }
    case YamlNode::Kind::kSequence:
      for (size_t i = 0; i < node.items.size(); ++i) InterpolateTree(node.items[i], IndexPath(path, i));
      break;
    case YamlNode::Kind::kMap:
      for (YamlEntry& e : node.entries)
        if (!SkipInterpolation(path, e.key)) InterpolateTree(e.value, ChildPath(path, e.key));
      break;
    case YamlNode::Kind::kNull:
      break;
  }
}

void LoadState::CheckSecretReferences() {
  for (const SecretRef& ref : secret_refs_) {
    auto it = project.secrets.find(ref.name);
    if (it == project.secrets.end() || it->second.generate == 0)
      diags.ErrorIn(ref.file, ref.pos, ref.path,
                    "${secret." + ref.name + "} names a secret not declared under x-berth.secrets");
  }
}

StatusOr<LoadResult> Load(std::string_view yaml_source, const LoadOptions& options,
                          std::vector<Diagnostic>* errors) {
  Diagnostics diags(options.file_name);
  LoadResult result;
  try {
    if (!options.base_dir.empty() && options.base_dir[0] != '/') {
      diags.Error({}, "", "internal: LoadOptions.base_dir must be absolute, got " + Quoted(options.base_dir));
    } else if (std::optional<YamlNode> root = ParseYamlDocument(yaml_source, diags)) {
      LoadState state(options, diags);
      LoadProject(*root, state);
      result.project = std::move(state.project);
    }
  } catch (const std::exception& e) {
    diags.Error({}, "", std::string("internal error while loading the spec: ") + e.what());
  } catch (...) {
    diags.Error({}, "", "internal error while loading the spec");
  }
  diags.Sort();
  if (diags.has_errors()) {
    std::string message;
    for (const Diagnostic& d : diags.errors()) message += (message.empty() ? "" : "\n") + d.ToString();
    if (errors) *errors = std::move(diags.errors());
    return InvalidArgument(std::move(message));
  }
  if (errors) errors->clear();
  result.warnings = std::move(diags.warnings());
  return result;
}

std::vector<std::string> ReferencedVariables(std::string_view yaml_source) {
  std::set<std::string> names;
  try {
    Diagnostics diags("");
    if (std::optional<YamlNode> root = ParseYamlDocument(yaml_source, diags)) {
      CollectFromTree(*root, "", &names);
    } else {
      CollectVariableNames(yaml_source, &names);  // best effort on broken YAML
    }
  } catch (...) {
    // Best effort by contract: whatever was collected so far.
  }
  return {names.begin(), names.end()};
}

}  // namespace berth::spec
