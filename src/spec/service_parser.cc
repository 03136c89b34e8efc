#include "spec/service_parser.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <exception>
#include <set>

#include "base/fs.h"
#include "base/names.h"
#include "spec/env_file.h"
#include "spec/fields.h"
#include "spec/interpolate.h"
#include "spec/shell_words.h"

namespace berth::spec {
namespace {

constexpr std::string_view kUseLimits = "is not supported by berth and is ignored; use deploy.resources";
// The Compose service keys: those Berth honours, and the rest, accepted with a warning
// so any valid compose.yaml loads (`berth config` exits 0) and nothing is dropped silently.
constexpr KeyRule kServiceKeys[] = {
    {"image"},
    {"command"},
    {"entrypoint"},
    {"environment"},
    {"env_file"},
    {"working_dir"},
    {"user"},
    {"volumes"},
    {"healthcheck"},
    {"restart"},
    {"depends_on"},
    {"deploy"},
    {"stop_signal"},
    {"stop_grace_period"},
    {"labels"},
    {"ports"},
    {"secrets"},
    {"init"},
    {"x-berth"},
    {"build", "is not supported by berth and is ignored: services run image: host or rootfs:/path"},
    {"expose", "is not supported by berth and is ignored; use x-berth.expose: {port: N} for HTTP services"},
    {"cpus", kUseLimits},
    {"mem_limit", kUseLimits},
    {"mem_reservation", kUseLimits},
    {"pids_limit", kUseLimits},
    {"cpu_shares", kUseLimits},
    {"cpu_quota", kUseLimits},
    {"cpu_period", kUseLimits},
    {"cpu_count", kUseLimits},
    {"cpu_percent", kUseLimits},
    {"scale", "is not supported by berth and is ignored; use deploy.replicas or x-berth.scale"},
    {"networks", kNotSupported},
    {"network_mode", kNotSupported},
    {"cap_add", kNotSupported},
    {"cap_drop", kNotSupported},
    {"privileged", kNotSupported},
    {"devices", kNotSupported},
    {"dns", kNotSupported},
    {"dns_search", kNotSupported},
    {"dns_opt", kNotSupported},
    {"extra_hosts", kNotSupported},
    {"logging", kNotSupported},
    {"configs", kNotSupported},
    {"profiles", kNotSupported},
    {"container_name", kNotSupported},
    {"hostname", kNotSupported},
    {"tty", kNotSupported},
    {"stdin_open", kNotSupported},
    {"platform", kNotSupported},
    {"pull_policy", kNotSupported},
    {"ulimits", kNotSupported},
    {"sysctls", kNotSupported},
    {"security_opt", kNotSupported},
    {"shm_size", kNotSupported},
    {"domainname", kNotSupported},
    {"ipc", kNotSupported},
    {"pid", kNotSupported},
    {"read_only", kNotSupported},
    {"group_add", kNotSupported},
    {"tmpfs", kNotSupported},
    {"links", kNotSupported},
    {"external_links", kNotSupported},
    {"annotations", kNotSupported},
    {"attach", kNotSupported},
    {"blkio_config", kNotSupported},
    {"cgroup", kNotSupported},
    {"cgroup_parent", kNotSupported},
    {"cpu_rt_runtime", kNotSupported},
    {"cpu_rt_period", kNotSupported},
    {"cpuset", kNotSupported},
    {"credential_spec", kNotSupported},
    {"develop", kNotSupported},
    {"device_cgroup_rules", kNotSupported},
    {"extends", kNotSupported},
    {"gpus", kNotSupported},
    {"isolation", kNotSupported},
    {"label_file", kNotSupported},
    {"mac_address", kNotSupported},
    {"mem_swappiness", kNotSupported},
    {"memswap_limit", kNotSupported},
    {"oom_kill_disable", kNotSupported},
    {"oom_score_adj", kNotSupported},
    {"post_start", kNotSupported},
    {"pre_stop", kNotSupported},
    {"runtime", kNotSupported},
    {"storage_opt", kNotSupported},
    {"userns_mode", kNotSupported},
    {"uts", kNotSupported},
    {"volumes_from", kNotSupported},
    {"use_api_socket", kNotSupported},
    {"models", kNotSupported},
    {"provider", kNotSupported},
};

constexpr std::array<std::string_view, 8> kSignals = {"HUP",  "INT",  "QUIT", "KILL",
                                                      "USR1", "USR2", "TERM", "WINCH"};

// Environment variable names: anything but empty, '=' or NUL (Compose is as liberal).
bool ValidEnvKey(std::string_view k) {
  return !k.empty() && k.find('=') == std::string_view::npos && k.find('\0') == std::string_view::npos;
}

void ParseImage(const YamlNode& svc, const std::string& path, LoadState& st, Service* out, Pos service_pos) {
  const YamlNode* n = svc.Find("image");
  if (!n || n->is_null()) {
    std::string message = "needs image: host or rootfs:/path";
    if (svc.Find("build")) message += " (build is not supported)";
    st.diags.Error(service_pos, path, std::move(message));
    return;
  }
  std::string ipath = ChildPath(path, "image");
  std::optional<std::string> image = ReadString(*n, ipath, st.diags);
  if (!image) return;
  if (*image == "host") {
    out->image = "host";
  } else if (image->starts_with("rootfs:")) {
    std::string dir = image->substr(7);
    if (dir.empty()) {
      st.diags.Error(n->pos, ipath, "rootfs: needs a directory, e.g. rootfs:./rootfs or rootfs:/srv/rootfs");
      return;
    }
    out->image = "rootfs:" + AbsolutePath(st.options.base_dir, dir);
  } else if (image->empty()) {
    st.diags.Error(n->pos, ipath, "image is empty: use host or rootfs:/path");
  } else {
    // Kept, so `berth config` accepts any Compose file; the daemon refuses to start it.
    st.diags.Warning(n->pos, ipath,
                     "OCI image references are not supported yet; this service cannot be started "
                     "(use image: host or rootfs:/path)");
    out->image = *image;
  }
}

// command/entrypoint: a string split into words without a shell, or a list; null = none.
void ParseArgv(const YamlNode& n, const std::string& path, LoadState& st, std::vector<std::string>* out) {
  if (n.invalid || n.is_null()) return;
  if (n.is_scalar()) {
    auto words = SplitShellWords(n.scalar);
    if (!words.ok()) {
      st.diags.Error(n.pos, path, words.status().message());
      return;
    }
    *out = std::move(*words);
    return;
  }
  if (!n.is_sequence()) return WrongShape(n, path, "a string or a list of strings", st.diags);
  if (auto list = ReadStringList(n, path, st.diags)) *out = std::move(*list);
}

void SetEnv(const std::string& key, Pos pos, const std::string& path, std::optional<std::string> value,
            LoadState& st, std::map<std::string, std::string>* env) {
  if (!ValidEnvKey(key)) {
    st.diags.Error(pos, path, "invalid environment variable name " + Quoted(key));
    return;
  }
  // A name without a value is taken from the variables (Compose); left out when unset.
  if (!value) {
    std::optional<std::string> v = st.Lookup(key);
    if (!v) {
      env->erase(key);
      return;
    }
    if (std::string why = TextProblem(*v); !why.empty()) {
      st.diags.Error(pos, path, "the value of variable " + Quoted(key) + " " + why);
      return;
    }
    value = ModelStringFromLiteral(*v);
  }
  (*env)[key] = std::move(*value);
}

void ParseEnvironment(const YamlNode& n, const std::string& path, LoadState& st,
                      std::map<std::string, std::string>* env) {
  if (n.is_map()) {
    for (const YamlEntry& e : n.entries) {
      std::string epath = ChildPath(path, e.key);
      const YamlNode& v = e.value;
      if (v.invalid) continue;
      if (v.is_null()) {
        SetEnv(e.key, e.key_pos, epath, std::nullopt, st, env);
      } else if (v.is_scalar()) {
        SetEnv(e.key, e.key_pos, epath, v.scalar, st, env);
      } else {
        WrongShape(v, epath, "a string, number or boolean", st.diags);
      }
    }
    return;
  }
  if (!ExpectSequence(n, path, st.diags)) return;
  for (size_t i = 0; i < n.items.size(); ++i) {
    const YamlNode& item = n.items[i];
    std::string ipath = IndexPath(path, i);
    if (item.invalid) continue;
    if (!item.is_scalar()) {
      WrongShape(item, ipath, "\"KEY=VALUE\" or \"KEY\"", st.diags);
      continue;
    }
    size_t eq = item.scalar.find('=');
    if (eq == std::string::npos) {
      SetEnv(item.scalar, item.pos, ipath, std::nullopt, st, env);
    } else {
      SetEnv(item.scalar.substr(0, eq), item.pos, ipath, item.scalar.substr(eq + 1), st, env);
    }
  }
}

struct EnvFileRef {
  std::string path;
  bool required = true;
  Pos pos;
  std::string key_path;
};

std::vector<EnvFileRef> EnvFileRefs(const YamlNode& n, const std::string& path, LoadState& st) {
  std::vector<EnvFileRef> refs;
  if (n.invalid || n.is_null()) return refs;
  if (n.is_scalar()) return {{n.scalar, true, n.pos, path}};
  if (!n.is_sequence()) {
    WrongShape(n, path, "a path or a list of paths", st.diags);
    return refs;
  }
  static constexpr KeyRule kKeys[] = {{"path"}, {"required"}, {"format", kNotSupported}};
  for (size_t i = 0; i < n.items.size(); ++i) {
    const YamlNode& item = n.items[i];
    std::string ipath = IndexPath(path, i);
    if (item.invalid) continue;
    if (item.is_scalar()) {
      refs.push_back({item.scalar, true, item.pos, ipath});
    } else if (item.is_map()) {
      CheckKeys(item, ipath, kKeys, Extensions::kIgnore, st.diags);
      const YamlNode* p = item.Find("path");
      std::optional<std::string> file = p ? ReadString(*p, ChildPath(ipath, "path"), st.diags) : std::nullopt;
      if (!file) {
        if (!p || p->is_null()) st.diags.Error(item.pos, ipath, "env_file entry needs a path");
        continue;
      }
      const YamlNode* r = item.Find("required");
      bool required = r ? ReadBool(*r, ChildPath(ipath, "required"), st.diags).value_or(true) : true;
      refs.push_back({*file, required, p->pos, ipath});
    } else {
      WrongShape(item, ipath, "a path or {path, required}", st.diags);
    }
  }
  return refs;
}

StatusOr<std::string> ReadThrough(const FileReader& reader, const std::string& file) {
  if (!reader) return NotFound("no file access in this context");
  try {
    return reader(file);
  } catch (const std::exception& e) {
    return Internal(e.what());
  } catch (...) {
    return Internal("the file reader failed");
  }
}

void ParseEnvFiles(const YamlNode& n, const std::string& path, LoadState& st,
                   std::map<std::string, std::string>* env) {
  constexpr size_t kMaxEnvFile = 1 << 20;
  for (const EnvFileRef& ref : EnvFileRefs(n, path, st)) {
    if (ref.path.empty()) {
      st.diags.Error(ref.pos, ref.key_path, "env_file path is empty");
      continue;
    }
    std::string file = AbsolutePath(st.options.base_dir, ref.path);
    StatusOr<std::string> content = ReadThrough(st.options.read_file, file);
    if (!content.ok()) {
      if (content.status().code() == StatusCode::kNotFound && !ref.required) continue;
      st.diags.Error(ref.pos, ref.key_path,
                     "cannot read env_file " + Quoted(ref.path) + ": " + content.status().message());
      continue;
    }
    if (content->size() > kMaxEnvFile) {
      st.diags.Error(ref.pos, ref.key_path, "env_file " + Quoted(ref.path) + " is larger than 1 MiB");
      continue;
    }
    if (std::string why = TextProblem(*content); !why.empty()) {
      st.diags.Error(ref.pos, ref.key_path, "env_file " + Quoted(ref.path) + " " + why);
      continue;
    }
    EnvFile parsed = ParseEnvFile(*content);
    for (const EnvFileError& e : parsed.errors) st.diags.ErrorIn(file, {e.line, 0}, "", e.message);
    for (const EnvFileEntry& e : parsed.entries) {
      std::optional<std::string> value;
      if (e.value && e.interpolate) {
        value = st.InterpolateValue(*e.value, file, {e.line, 0}, ChildPath(ref.key_path, e.key));
        if (!value) continue;
      } else if (e.value) {
        value = ModelStringFromLiteral(*e.value);
      }
      SetEnv(e.key, ref.pos, ref.key_path, std::move(value), st, env);
    }
  }
}

void ParseLabels(const YamlNode& n, const std::string& path, LoadState& st,
                 std::map<std::string, std::string>* labels) {
  if (n.is_map()) {
    for (const YamlEntry& e : n.entries) {
      if (e.value.is_null()) {
        (*labels)[e.key] = "";
      } else if (auto v = ReadString(e.value, ChildPath(path, e.key), st.diags)) {
        (*labels)[e.key] = *v;
      }
    }
    return;
  }
  if (!ExpectSequence(n, path, st.diags)) return;
  auto list = ReadStringList(n, path, st.diags);
  if (!list) return;
  for (size_t i = 0; i < list->size(); ++i) {
    const std::string& item = (*list)[i];
    size_t eq = item.find('=');
    std::string key = item.substr(0, eq);
    if (key.empty()) {
      st.diags.Error(n.items[i].pos, IndexPath(path, i), "label needs a key: \"key=value\"");
      continue;
    }
    (*labels)[key] = eq == std::string::npos ? "" : item.substr(eq + 1);
  }
}

std::optional<Restart> ParseRestart(const YamlNode& n, const std::string& path, LoadState& st) {
  std::optional<std::string> s = ReadString(n, path, st.diags);
  if (!s) return std::nullopt;
  Restart r;
  if (*s == "no") {
    r.policy = RestartPolicy::kNo;
  } else if (*s == "always") {
    r.policy = RestartPolicy::kAlways;
  } else if (*s == "unless-stopped") {
    r.policy = RestartPolicy::kUnlessStopped;
  } else if (*s == "on-failure" || s->starts_with("on-failure:")) {
    r.policy = RestartPolicy::kOnFailure;
    if (s->size() > 10) {
      YamlNode count = n;
      count.scalar = s->substr(11);
      std::optional<int64_t> max = ReadInt(count, path, st.diags, 0, 1'000'000);
      if (!max) return std::nullopt;
      r.max_retries = static_cast<int>(*max);
    }
  } else {
    st.diags.Error(n.pos, path,
                   "invalid restart policy " + Quoted(*s) +
                       " (use \"no\", always, on-failure, on-failure:N or unless-stopped)");
    return std::nullopt;
  }
  return r;
}

void ParseStopSignal(const YamlNode& n, const std::string& path, LoadState& st, std::string* out) {
  std::optional<std::string> s = ReadString(n, path, st.diags);
  if (!s) return;
  std::string name = *s;
  std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::toupper(c); });
  if (name.starts_with("SIG")) name.erase(0, 3);
  if (std::find(kSignals.begin(), kSignals.end(), name) == kSignals.end()) {
    st.diags.Error(n.pos, path,
                   "unsupported stop signal " + Quoted(*s) +
                       " (use one of SIGTERM, SIGINT, SIGQUIT, SIGHUP, SIGKILL, SIGUSR1, SIGUSR2, SIGWINCH)");
    return;
  }
  *out = "SIG" + name;
}

void AddDependency(const std::string& name, Pos pos, const std::string& path, DependsOn dep, LoadState& st,
                   Service* svc, ServiceSource* source) {
  if (!st.service_names.count(name)) {
    // A suggestion costs a comparison with every service: only for specs of sane size.
    std::string guess;
    if (st.service_names.size() <= 1000 && !st.diags.saturated()) {
      std::vector<std::string_view> names(st.service_names.begin(), st.service_names.end());
      guess = ClosestMatch(name, names);
    }
    st.diags.Error(pos, path,
                   "depends on unknown service " + Quoted(name) +
                       (guess.empty() ? "" : " (did you mean " + Quoted(guess) + "?)"));
    return;
  }
  if (source->depends_on.count(name)) {
    st.diags.Error(pos, path, "service " + Quoted(name) + " is listed twice");
    return;
  }
  dep.service = name;
  svc->depends_on.push_back(std::move(dep));
  source->depends_on[name] = {pos, path};
}

void ParseDependsOn(const YamlNode& n, const std::string& path, LoadState& st, Service* svc,
                    ServiceSource* source) {
  if (n.is_sequence()) {
    for (size_t i = 0; i < n.items.size(); ++i) {
      std::string ipath = IndexPath(path, i);
      if (auto name = ReadString(n.items[i], ipath, st.diags))
        AddDependency(*name, n.items[i].pos, ipath, {}, st, svc, source);
    }
    return;
  }
  if (!ExpectMap(n, path, st.diags)) return;
  static constexpr KeyRule kKeys[] = {
      {"condition"}, {"required"}, {"restart", "is not supported by berth and is ignored"}};
  for (const YamlEntry& e : n.entries) {
    std::string epath = ChildPath(path, e.key);
    DependsOn dep;
    if (!e.value.is_null()) {
      if (!ExpectMap(e.value, epath, st.diags)) continue;
      CheckKeys(e.value, epath, kKeys, Extensions::kIgnore, st.diags);
      if (const YamlNode* c = e.value.Find("condition")) {
        std::string cpath = ChildPath(epath, "condition");
        std::optional<std::string> cond = ReadString(*c, cpath, st.diags);
        if (cond == "service_started") {
          dep.condition = DependCondition::kStarted;
        } else if (cond == "service_healthy") {
          dep.condition = DependCondition::kHealthy;
        } else if (cond == "service_completed_successfully") {
          dep.condition = DependCondition::kCompletedSuccessfully;
        } else if (cond) {
          st.diags.Error(c->pos, cpath,
                         "invalid condition " + Quoted(*cond) +
                             " (use service_started, service_healthy or service_completed_successfully)");
        }
      }
      if (const YamlNode* r = e.value.Find("required"))
        dep.required = ReadBool(*r, ChildPath(epath, "required"), st.diags).value_or(true);
    }
    AddDependency(e.key, e.key_pos, epath, dep, st, svc, source);
  }
}

void ParseServiceSecrets(const YamlNode& n, const std::string& path, LoadState& st,
                         std::vector<std::string>* out) {
  if (!ExpectSequence(n, path, st.diags)) return;
  static constexpr KeyRule kKeys[] = {{"source"},
                                      {"target", kNotSupported},
                                      {"uid", kNotSupported},
                                      {"gid", kNotSupported},
                                      {"mode", kNotSupported}};
  std::set<std::string> seen;
  for (size_t i = 0; i < n.items.size(); ++i) {
    const YamlNode& item = n.items[i];
    std::string ipath = IndexPath(path, i);
    std::optional<std::string> name;
    Pos pos = item.pos;
    if (item.is_map()) {
      CheckKeys(item, ipath, kKeys, Extensions::kIgnore, st.diags);
      const YamlNode* src = item.Find("source");
      if (!src || src->is_null()) {
        st.diags.Error(item.pos, ipath, "secret needs a source");
        continue;
      }
      ipath = ChildPath(ipath, "source");
      pos = src->pos;
      name = ReadString(*src, ipath, st.diags);
    } else {
      name = ReadString(item, ipath, st.diags);
    }
    if (!name) continue;
    if (!st.project.secrets.count(*name)) {
      st.diags.Error(pos, ipath,
                     "undeclared secret " + Quoted(*name) + " (declare it under x-berth.secrets)");
      continue;
    }
    if (seen.insert(*name).second) out->push_back(*name);
  }
}

// Without x-berth.scale a service runs a fixed `replicas`; with it, replicas is where
// the autoscaler starts and must lie within [min, max].
void ReconcileReplicas(const DeployResult& deploy, bool has_scale, LoadState& st, Service* svc) {
  if (!has_scale) {
    if (deploy.replicas) svc->replicas = *deploy.replicas;
    svc->scale.min = svc->scale.max = svc->replicas;
    return;
  }
  if (!deploy.replicas) {
    svc->replicas = svc->scale.min;
    return;
  }
  svc->replicas = *deploy.replicas;
  if (svc->replicas < svc->scale.min || svc->replicas > svc->scale.max)
    st.diags.Error(deploy.replicas_pos, deploy.replicas_path,
                   "replicas " + std::to_string(svc->replicas) + " is outside x-berth.scale [" +
                       std::to_string(svc->scale.min) + ", " + std::to_string(svc->scale.max) + "]");
}

}  // namespace

Service ParseService(const YamlEntry& entry, LoadState& st, ServiceSource* source) {
  Service svc;
  svc.name = entry.key;
  std::string path = ChildPath("services", entry.key);
  source->pos = entry.key_pos;
  if (Status s = ValidateServiceName(entry.key); !s.ok()) st.diags.Error(entry.key_pos, path, s.message());
  const YamlNode& n = entry.value;
  if (!n.is_map()) {
    if (n.is_null()) {
      st.diags.Error(entry.key_pos, path, "needs image: host or rootfs:/path");
    } else {
      WrongShape(n, path, "a map", st.diags);
    }
    return svc;
  }
  CheckKeys(n, path, kServiceKeys, Extensions::kIgnore, st.diags);
  ParseImage(n, path, st, &svc, entry.key_pos);

  auto field = [&](std::string_view key) { return n.Find(key); };
  auto sub = [&](std::string_view key) { return ChildPath(path, key); };
  if (auto* v = field("entrypoint")) ParseArgv(*v, sub("entrypoint"), st, &svc.entrypoint);
  if (auto* v = field("command")) ParseArgv(*v, sub("command"), st, &svc.command);
  if (auto* v = field("env_file")) ParseEnvFiles(*v, sub("env_file"), st, &svc.environment);
  if (auto* v = field("environment")) ParseEnvironment(*v, sub("environment"), st, &svc.environment);
  if (auto* v = field("working_dir")) {
    if (auto wd = ReadString(*v, sub("working_dir"), st.diags)) {
      if (wd->empty() || (*wd)[0] != '/') {
        st.diags.Error(v->pos, sub("working_dir"),
                       "working_dir must be an absolute path, got " + Quoted(*wd));
      } else {
        svc.working_dir = *wd;
      }
    }
  }
  if (auto* v = field("user")) svc.user = ReadString(*v, sub("user"), st.diags).value_or("");
  if (auto* v = field("volumes")) ParseServiceVolumes(*v, sub("volumes"), svc.name, st, &svc.mounts);
  if (auto* v = field("healthcheck")) ParseHealthcheck(*v, sub("healthcheck"), st, &svc.healthcheck);
  if (auto* v = field("restart")) {
    if (auto r = ParseRestart(*v, sub("restart"), st)) svc.restart = *r;
  }
  if (auto* v = field("depends_on")) ParseDependsOn(*v, sub("depends_on"), st, &svc, source);
  DeployResult deploy;
  if (auto* v = field("deploy")) ParseDeploy(*v, sub("deploy"), st, &svc, &deploy);
  if (deploy.restart) svc.restart = *deploy.restart;
  if (auto* v = field("stop_signal")) ParseStopSignal(*v, sub("stop_signal"), st, &svc.stop_signal);
  if (auto* v = field("stop_grace_period")) {
    if (auto d = ReadDuration(*v, sub("stop_grace_period"), st.diags)) svc.stop_grace_period = *d;
  }
  if (auto* v = field("labels")) ParseLabels(*v, sub("labels"), st, &svc.labels);
  if (const YamlEntry* e = n.FindEntry("ports"); e && !e->value.is_null()) {
    st.diags.Warning(e->key_pos, sub("ports"),
                     "ports are not published; use x-berth.expose for HTTP services");
    ParsePorts(e->value, sub("ports"), st, &svc.ports);
  }
  if (auto* v = field("secrets")) ParseServiceSecrets(*v, sub("secrets"), st, &svc.secrets);
  if (auto* v = field("init")) svc.init = ReadBool(*v, sub("init"), st.diags).value_or(true);
  bool has_scale = false;
  if (auto* v = field("x-berth")) ParseServiceExtensions(*v, sub("x-berth"), st, &svc, &has_scale);
  ReconcileReplicas(deploy, has_scale, st, &svc);
  return svc;
}

}  // namespace berth::spec
