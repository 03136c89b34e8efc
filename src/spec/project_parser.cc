#include "spec/project_parser.h"

#include <algorithm>
#include <cctype>

#include "base/names.h"
#include "spec/fields.h"
#include "spec/param_pattern.h"

namespace berth::spec {
namespace {

struct ParamDecl {
  Param param;
  Pos pos;
  std::string path;
  std::optional<ParamPattern> pattern;
};

std::optional<ParamDecl> ParseParam(const YamlEntry& e, const std::string& path, Diagnostics& d) {
  ParamDecl decl{{}, e.key_pos, ChildPath(path, e.key), std::nullopt};
  if (Status s = ValidateParamName(e.key); !s.ok()) {
    d.Error(e.key_pos, decl.path, s.message());
    return std::nullopt;
  }
  decl.param.name = e.key;
  const YamlNode& n = e.value;
  if (n.is_null()) return decl;
  if (!ExpectMap(n, decl.path, d)) return std::nullopt;
  static constexpr KeyRule kKeys[] = {{"required"}, {"default"}, {"pattern"}, {"description"}};
  CheckKeys(n, decl.path, kKeys, Extensions::kReject, d);
  if (const YamlNode* v = n.Find("required"))
    decl.param.required = ReadBool(*v, ChildPath(decl.path, "required"), d).value_or(false);
  if (const YamlNode* v = n.Find("default"))
    decl.param.default_value = ReadString(*v, ChildPath(decl.path, "default"), d);
  if (const YamlNode* v = n.Find("description"))
    decl.param.description = ReadString(*v, ChildPath(decl.path, "description"), d).value_or("");
  if (const YamlNode* v = n.Find("pattern")) {
    std::string ppath = ChildPath(decl.path, "pattern");
    if (auto pattern = ReadString(*v, ppath, d); pattern && !pattern->empty()) {
      auto compiled = ParamPattern::Compile(*pattern);
      if (!compiled.ok()) {
        d.Error(v->pos, ppath, "invalid pattern " + Quoted(*pattern) + ": " + compiled.status().message());
        return std::nullopt;
      }
      decl.pattern = std::move(*compiled);
      decl.param.pattern = *pattern;
    }
  }
  return decl;
}

void CheckParamValue(const ParamDecl& decl, const std::string& value, bool from_default, Diagnostics& d) {
  if (!decl.pattern) return;
  std::string what = from_default ? "default of parameter " : "parameter ";
  StatusOr<bool> match = decl.pattern->FullMatch(value);
  if (!match.ok()) {
    d.Error(decl.pos, decl.path,
            "cannot check " + what + Quoted(decl.param.name) + ": " + match.status().message());
  } else if (!*match) {
    d.Error(decl.pos, decl.path,
            what + Quoted(decl.param.name) + " value " + Quoted(value) + " does not match pattern " +
                Quoted(decl.param.pattern));
  }
}

}  // namespace

void ParseParams(const YamlNode& root, LoadState& st) {
  const YamlNode* xb = root.Find("x-berth");
  const YamlEntry* pe = xb && xb->is_map() ? xb->FindEntry("params") : nullptr;
  if (!pe) return;  // no declarations: --set values are plain variables
  const std::string path = "x-berth.params";
  std::vector<ParamDecl> decls;
  if (!pe->value.is_null() && ExpectMap(pe->value, path, st.diags)) {
    for (const YamlEntry& e : pe->value.entries) {
      if (auto decl = ParseParam(e, path, st.diags)) decls.push_back(std::move(*decl));
    }
  }
  std::string declared;
  for (const ParamDecl& decl : decls) declared += (declared.empty() ? "" : ", ") + decl.param.name;
  for (const auto& given : st.options.params) {
    const std::string& name = given.first;
    bool known =
        std::any_of(decls.begin(), decls.end(), [&](const ParamDecl& p) { return p.param.name == name; });
    if (!known)
      st.diags.Error(pe->key_pos, path,
                     "unknown parameter " + Quoted(name) +
                         " (declared: " + (declared.empty() ? "none" : declared) + ")");
  }
  for (ParamDecl& decl : decls) {
    const Param& p = decl.param;
    auto given = st.options.params.find(p.name);
    if (given != st.options.params.end()) {
      CheckParamValue(decl, given->second, false, st.diags);
    } else if (p.required) {
      st.missing_params.insert(p.name);
      st.diags.Error(decl.pos, decl.path,
                     "missing required parameter " + Quoted(p.name) +
                         (p.description.empty() ? "" : " (" + p.description + ")") + "; set it with --set " +
                         p.name + "=VALUE");
    } else if (p.default_value) {
      CheckParamValue(decl, *p.default_value, true, st.diags);
    }
    if (p.default_value) st.param_defaults[p.name] = *p.default_value;
    st.project.params.push_back(std::move(decl.param));
  }
}

void ParseTopLevelExtensions(const YamlNode& root, LoadState& st) {
  const YamlNode* xb = root.Find("x-berth");
  if (!xb || !ExpectMap(*xb, "x-berth", st.diags)) return;
  static constexpr KeyRule kKeys[] = {{"params"}, {"secrets"}, {"quota"}};
  CheckKeys(*xb, "x-berth", kKeys, Extensions::kReject, st.diags);
  Diagnostics& d = st.diags;
  if (const YamlNode* secrets = xb->Find("secrets"); secrets && ExpectMap(*secrets, "x-berth.secrets", d)) {
    for (const YamlEntry& e : secrets->entries) {
      std::string path = ChildPath("x-berth.secrets", e.key);
      if (Status s = ValidateSecretName(e.key); !s.ok()) {
        d.Error(e.key_pos, path, s.message());
        continue;
      }
      static constexpr KeyRule kSecretKeys[] = {{"generate"}};
      const YamlNode* generate = e.value.is_map() ? e.value.Find("generate") : nullptr;
      if (e.value.is_map()) CheckKeys(e.value, path, kSecretKeys, Extensions::kReject, d);
      if (!generate || generate->is_null()) {
        if (e.value.is_map() || e.value.is_null()) {
          d.Error(e.key_pos, path, "needs generate: N (the length of a generated value, 8-4096)");
        } else {
          WrongShape(e.value, path, "{generate: N}", d);
        }
        continue;
      }
      if (auto n = ReadInt(*generate, ChildPath(path, "generate"), d, 8, 4096))
        st.project.secrets[e.key] = SecretSpec{e.key, static_cast<int>(*n)};
    }
  }
  if (const YamlNode* quota = xb->Find("quota"); quota && ExpectMap(*quota, "x-berth.quota", d)) {
    static constexpr KeyRule kQuotaKeys[] = {{"cpus"}, {"memory"}};
    CheckKeys(*quota, "x-berth.quota", kQuotaKeys, Extensions::kReject, d);
    if (const YamlNode* v = quota->Find("cpus"))
      st.project.quota.cpus = ReadCpus(*v, "x-berth.quota.cpus", d).value_or(0);
    if (const YamlNode* v = quota->Find("memory"))
      st.project.quota.memory_bytes = ReadBytes(*v, "x-berth.quota.memory", d).value_or(0);
  }
}

void ParseVolumes(const YamlNode& root, LoadState& st) {
  const YamlNode* volumes = root.Find("volumes");
  if (!volumes || !ExpectMap(*volumes, "volumes", st.diags)) return;
  static constexpr KeyRule kKeys[] = {{"labels"},
                                      {"driver", kNotSupported},
                                      {"driver_opts", kNotSupported},
                                      {"external", kNotSupported},
                                      {"name", kNotSupported}};
  for (const YamlEntry& e : volumes->entries) {
    std::string path = ChildPath("volumes", e.key);
    if (Status s = ValidateVolumeName(e.key); !s.ok()) {
      st.diags.Error(e.key_pos, path, s.message());
      continue;
    }
    Volume v{e.key, {}};
    if (!e.value.is_null() && ExpectMap(e.value, path, st.diags)) {
      CheckKeys(e.value, path, kKeys, Extensions::kIgnore, st.diags);
      if (const YamlNode* labels = e.value.Find("labels")) {
        std::string lpath = ChildPath(path, "labels");
        if (labels->is_sequence()) {
          for (const std::string& item :
               ReadStringList(*labels, lpath, st.diags).value_or(std::vector<std::string>{})) {
            size_t eq = item.find('=');
            v.labels[item.substr(0, eq)] = eq == std::string::npos ? "" : item.substr(eq + 1);
          }
        } else if (ExpectMap(*labels, lpath, st.diags)) {
          for (const YamlEntry& l : labels->entries)
            v.labels[l.key] = ReadString(l.value, ChildPath(lpath, l.key), st.diags).value_or("");
        }
      }
    }
    st.project.volumes[e.key] = std::move(v);
  }
}

void ParseComposeSecrets(const YamlNode& root, LoadState& st) {
  const YamlNode* secrets = root.Find("secrets");
  if (!secrets || !ExpectMap(*secrets, "secrets", st.diags)) return;
  for (const YamlEntry& e : secrets->entries) {
    if (Status s = ValidateSecretName(e.key); !s.ok()) {
      st.diags.Error(e.key_pos, ChildPath("secrets", e.key), s.message());
      continue;
    }
    // generate 0: declared, but Berth has no value for it (file secrets are not read).
    if (!st.project.secrets.count(e.key)) st.project.secrets[e.key] = SecretSpec{e.key, 0};
  }
}

void ParseName(const YamlNode& root, LoadState& st) {
  if (st.options.env_name) {
    if (Status s = ValidateEnvName(*st.options.env_name); !s.ok()) {
      st.diags.Error({}, "", s.message());
      return;
    }
    st.project.name = *st.options.env_name;
    return;
  }
  if (const YamlNode* n = root.Find("name"); n && !n->is_null()) {
    std::optional<std::string> name = ReadString(*n, "name", st.diags);
    if (!name) return;
    if (Status s = ValidateEnvName(*name); !s.ok()) {
      st.diags.Error(n->pos, "name", s.message());
      return;
    }
    st.project.name = *name;
    return;
  }
  // Compose derives the project name from the directory; so do we, made valid.
  std::string dir = st.options.base_dir;
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  std::string base = dir.substr(dir.rfind('/') == std::string::npos ? 0 : dir.rfind('/') + 1);
  std::string name;
  for (unsigned char c : base) {
    char l = static_cast<char>(std::tolower(c));
    name += (std::islower(static_cast<unsigned char>(l)) || std::isdigit(static_cast<unsigned char>(l)))
                ? l
                : '-';
  }
  size_t first = name.find_first_of("abcdefghijklmnopqrstuvwxyz");
  name = first == std::string::npos ? "" : name.substr(first, 32);
  while (!name.empty() && name.back() == '-') name.pop_back();
  if (!ValidateEnvName(name).ok()) {
    st.diags.Error({}, "name",
                   "cannot derive an environment name from the directory " + Quoted(base) +
                       "; set name: in the spec or give one explicitly");
    return;
  }
  st.project.name = name;
}

}  // namespace berth::spec
