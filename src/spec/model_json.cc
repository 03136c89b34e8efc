#include "spec/model_json.h"

#include <functional>
#include <limits>
#include <utility>

#include "base/names.h"
#include "spec/diagnostics.h"
#include "spec/fnv.h"

namespace berth::spec {

using nlohmann::json;

namespace {

// ---- enum names, shared by both directions

template <typename E>
struct EnumName {
  E value;
  const char* name;
};

constexpr EnumName<RestartPolicy> kRestartNames[] = {{RestartPolicy::kNo, "no"},
                                                     {RestartPolicy::kAlways, "always"},
                                                     {RestartPolicy::kOnFailure, "on-failure"},
                                                     {RestartPolicy::kUnlessStopped, "unless-stopped"}};
constexpr EnumName<HealthKind> kHealthNames[] = {{HealthKind::kNone, "none"},
                                                 {HealthKind::kCmd, "cmd"},
                                                 {HealthKind::kCmdShell, "cmd-shell"},
                                                 {HealthKind::kHttp, "http"},
                                                 {HealthKind::kTcp, "tcp"}};
constexpr EnumName<MountType> kMountNames[] = {
    {MountType::kVolume, "volume"}, {MountType::kBind, "bind"}, {MountType::kTmpfs, "tmpfs"}};
constexpr EnumName<DependCondition> kConditionNames[] = {
    {DependCondition::kStarted, "service_started"},
    {DependCondition::kHealthy, "service_healthy"},
    {DependCondition::kCompletedSuccessfully, "service_completed_successfully"}};

template <typename E, size_t N>
const char* NameOf(const EnumName<E> (&table)[N], E value) {
  for (const auto& e : table)
    if (e.value == value) return e.name;
  return "?";
}

// ---- to JSON

json ResourcesJson(const Resources& r) {
  return {{"cpus", r.cpus}, {"memory_bytes", r.memory_bytes}, {"pids", r.pids}};
}

}  // namespace

json ToJson(const Service& s) {
  json mounts = json::array();
  for (const Mount& m : s.mounts)
    mounts.push_back({{"type", NameOf(kMountNames, m.type)},
                      {"source", m.source},
                      {"target", m.target},
                      {"read_only", m.read_only},
                      {"tmpfs_size_bytes", m.tmpfs_size}});
  json depends = json::array();
  for (const DependsOn& d : s.depends_on)
    depends.push_back({{"service", d.service},
                       {"condition", NameOf(kConditionNames, d.condition)},
                       {"required", d.required}});
  json ports = json::array();
  for (const Port& p : s.ports)
    ports.push_back({{"host_ip", p.host_ip},
                     {"host_port", p.host_port},
                     {"container_port", p.container_port},
                     {"protocol", p.protocol}});
  const HealthCheck& h = s.healthcheck;
  json j = {
      {"name", s.name},
      {"image", s.image},
      {"entrypoint", s.entrypoint},
      {"command", s.command},
      {"environment", s.environment},
      {"working_dir", s.working_dir},
      {"user", s.user},
      {"mounts", std::move(mounts)},
      {"healthcheck",
       {{"kind", NameOf(kHealthNames, h.kind)},
        {"command", h.command},
        {"port", h.port},
        {"http_path", h.http_path},
        {"interval_ms", h.interval.count()},
        {"timeout_ms", h.timeout.count()},
        {"start_period_ms", h.start_period.count()},
        {"start_interval_ms", h.start_interval.count()},
        {"retries", h.retries}}},
      {"restart",
       {{"policy", NameOf(kRestartNames, s.restart.policy)}, {"max_retries", s.restart.max_retries}}},
      {"depends_on", std::move(depends)},
      {"replicas", s.replicas},
      {"limits", ResourcesJson(s.limits)},
      {"reservations", ResourcesJson(s.reservations)},
      {"stop_signal", s.stop_signal},
      {"stop_grace_period_ms", s.stop_grace_period.count()},
      {"labels", s.labels},
      {"ports", std::move(ports)},
      {"expose", nullptr},
      {"concurrency",
       {{"limit", s.concurrency.limit},
        {"queue", s.concurrency.queue},
        {"queue_timeout_ms", s.concurrency.queue_timeout.count()}}},
      {"scale",
       {{"min", s.scale.min},
        {"max", s.scale.max},
        {"idle_ms", s.scale.idle.count()},
        {"window_ms", s.scale.window.count()},
        {"target_utilization", s.scale.target_utilization}}},
      {"secrets", s.secrets},
      {"init", s.init},
  };
  if (s.expose)
    j["expose"] = {
        {"port", s.expose->port}, {"hosts", s.expose->hosts}, {"path_prefix", s.expose->path_prefix}};
  return j;
}

json ToJson(const Project& p) {
  json services = json::object();
  for (const auto& [name, svc] : p.services) services[name] = ToJson(svc);
  json volumes = json::object();
  for (const auto& [name, v] : p.volumes) volumes[name] = {{"labels", v.labels}};
  json params = json::array();
  for (const Param& param : p.params)
    params.push_back({{"name", param.name},
                      {"required", param.required},
                      {"default", param.default_value ? json(*param.default_value) : json(nullptr)},
                      {"pattern", param.pattern},
                      {"description", param.description}});
  json secrets = json::object();
  for (const auto& [name, s] : p.secrets) secrets[name] = {{"generate", s.generate}};
  return {{"name", p.name},
          {"services", std::move(services)},
          {"volumes", std::move(volumes)},
          {"params", std::move(params)},
          {"secrets", std::move(secrets)},
          {"quota", {{"cpus", p.quota.cpus}, {"memory_bytes", p.quota.memory_bytes}}}};
}

namespace {

// ---- from JSON: strict about types, lenient about absence (an absent field keeps
// the model's default, so records written before a field existed still load).

Status TypeError(const std::string& path, std::string_view expected, const json& got) {
  return InvalidArgument("field " + Quoted(path) + ": expected " + std::string(expected) + ", got " +
                         got.type_name());
}

// Reads the fields of one JSON object, keeping the first error.
class ObjectReader {
 public:
  using Fn = std::function<Status(const json&, const std::string&)>;

  ObjectReader(const json& j, std::string path) : j_(j), path_(std::move(path)) {
    if (!j_.is_object()) status_ = TypeError(path_.empty() ? "(root)" : path_, "an object", j_);
  }

  ObjectReader& Field(const char* key, const Fn& read) {
    if (!status_.ok()) return *this;
    auto it = j_.find(key);
    if (it != j_.end()) status_ = read(*it, ChildPath(path_, key));
    return *this;
  }
  ObjectReader& Str(const char* key, std::string* out) { return Field(key, StrFn(out)); }
  ObjectReader& Bool(const char* key, bool* out) {
    return Field(key, [out](const json& v, const std::string& p) {
      if (!v.is_boolean()) return TypeError(p, "a boolean", v);
      *out = v.get<bool>();
      return OkStatus();
    });
  }
  template <typename I>
  ObjectReader& Int(const char* key, I* out) {
    return Field(key, [out](const json& v, const std::string& p) {
      if (!v.is_number_integer()) return TypeError(p, "an integer", v);
      if (v.is_number_unsigned() ? v.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<I>::max())
                                 : (v.get<int64_t>() < std::numeric_limits<I>::min() ||
                                    v.get<int64_t>() > std::numeric_limits<I>::max()))
        return InvalidArgument("field " + Quoted(p) + ": integer out of range");
      *out = static_cast<I>(v.get<int64_t>());
      return OkStatus();
    });
  }
  ObjectReader& Ms(const char* key, Millis* out) {
    int64_t ms = out->count();
    Int(key, &ms);
    if (status_.ok() && ms < 0)
      status_ = InvalidArgument("field " + Quoted(ChildPath(path_, key)) + ": negative");
    *out = Millis(ms);
    return *this;
  }
  ObjectReader& Double(const char* key, double* out) {
    return Field(key, [out](const json& v, const std::string& p) {
      if (!v.is_number()) return TypeError(p, "a number", v);
      *out = v.get<double>();
      return OkStatus();
    });
  }
  ObjectReader& StrList(const char* key, std::vector<std::string>* out) {
    return Field(key, [out](const json& v, const std::string& p) {
      if (!v.is_array()) return TypeError(p, "an array of strings", v);
      out->clear();
      for (size_t i = 0; i < v.size(); ++i) {
        if (!v[i].is_string()) return TypeError(IndexPath(p, i), "a string", v[i]);
        out->push_back(v[i].get<std::string>());
      }
      return OkStatus();
    });
  }
  ObjectReader& StrMap(const char* key, std::map<std::string, std::string>* out) {
    return Field(key, [out](const json& v, const std::string& p) {
      if (!v.is_object()) return TypeError(p, "an object of strings", v);
      out->clear();
      for (const auto& [k, val] : v.items()) {
        if (!val.is_string()) return TypeError(ChildPath(p, k), "a string", val);
        (*out)[k] = val.get<std::string>();
      }
      return OkStatus();
    });
  }
  template <typename E, size_t N>
  ObjectReader& Enum(const char* key, const EnumName<E> (&table)[N], E* out) {
    return Field(key, [&table, out](const json& v, const std::string& p) {
      if (!v.is_string()) return TypeError(p, "a string", v);
      for (const auto& e : table) {
        if (v.get<std::string>() == e.name) {
          *out = e.value;
          return OkStatus();
        }
      }
      return InvalidArgument("field " + Quoted(p) + ": unknown value " + Quoted(v.get<std::string>()));
    });
  }
  // An object whose fields `read` fills.
  ObjectReader& Object(const char* key, const std::function<Status(ObjectReader&)>& read) {
    return Field(key, [&read](const json& v, const std::string& p) {
      ObjectReader r(v, p);
      if (!r.status().ok()) return r.status();
      return read(r);
    });
  }
  // Each element of an array, as an object.
  ObjectReader& Array(const char* key, const std::function<Status(ObjectReader&)>& read) {
    return Field(key, [&read](const json& v, const std::string& p) {
      if (!v.is_array()) return TypeError(p, "an array", v);
      for (size_t i = 0; i < v.size(); ++i) {
        ObjectReader r(v[i], IndexPath(p, i));
        BERTH_RETURN_IF_ERROR(r.status());
        BERTH_RETURN_IF_ERROR(read(r));
      }
      return OkStatus();
    });
  }

  const Status& status() const { return status_; }
  const std::string& path() const { return path_; }

 private:
  static Fn StrFn(std::string* out) {
    return [out](const json& v, const std::string& p) {
      if (!v.is_string()) return TypeError(p, "a string", v);
      *out = v.get<std::string>();
      return OkStatus();
    };
  }

  const json& j_;
  std::string path_;
  Status status_;
};

Status ReadResources(ObjectReader& r, Resources* out) {
  return r.Double("cpus", &out->cpus)
      .Int("memory_bytes", &out->memory_bytes)
      .Int("pids", &out->pids)
      .status();
}

Status CheckName(Status valid, const std::string& path) {
  return valid.ok() ? OkStatus() : InvalidArgument("field " + Quoted(path) + ": " + valid.message());
}

Status ReadService(const json& j, const std::string& path, Service* s) {
  ObjectReader r(j, path);
  r.Str("name", &s->name).Str("image", &s->image).StrList("entrypoint", &s->entrypoint);
  r.StrList("command", &s->command).StrMap("environment", &s->environment);
  r.Str("working_dir", &s->working_dir).Str("user", &s->user);
  r.Array("mounts", [s](ObjectReader& m) {
    Mount mount;
    BERTH_RETURN_IF_ERROR(m.Enum("type", kMountNames, &mount.type)
                              .Str("source", &mount.source)
                              .Str("target", &mount.target)
                              .Bool("read_only", &mount.read_only)
                              .Int("tmpfs_size_bytes", &mount.tmpfs_size)
                              .status());
    s->mounts.push_back(std::move(mount));
    return OkStatus();
  });
  r.Object("healthcheck", [s](ObjectReader& h) {
    HealthCheck& hc = s->healthcheck;
    return h.Enum("kind", kHealthNames, &hc.kind)
        .StrList("command", &hc.command)
        .Int("port", &hc.port)
        .Str("http_path", &hc.http_path)
        .Ms("interval_ms", &hc.interval)
        .Ms("timeout_ms", &hc.timeout)
        .Ms("start_period_ms", &hc.start_period)
        .Ms("start_interval_ms", &hc.start_interval)
        .Int("retries", &hc.retries)
        .status();
  });
  r.Object("restart", [s](ObjectReader& o) {
    return o.Enum("policy", kRestartNames, &s->restart.policy)
        .Int("max_retries", &s->restart.max_retries)
        .status();
  });
  r.Array("depends_on", [s](ObjectReader& o) {
    DependsOn d;
    BERTH_RETURN_IF_ERROR(o.Str("service", &d.service)
                              .Enum("condition", kConditionNames, &d.condition)
                              .Bool("required", &d.required)
                              .status());
    s->depends_on.push_back(std::move(d));
    return OkStatus();
  });
  r.Int("replicas", &s->replicas);
  r.Object("limits", [s](ObjectReader& o) { return ReadResources(o, &s->limits); });
  r.Object("reservations", [s](ObjectReader& o) { return ReadResources(o, &s->reservations); });
  r.Str("stop_signal", &s->stop_signal).Ms("stop_grace_period_ms", &s->stop_grace_period);
  r.StrMap("labels", &s->labels);
  r.Array("ports", [s](ObjectReader& o) {
    Port p;
    BERTH_RETURN_IF_ERROR(o.Str("host_ip", &p.host_ip)
                              .Int("host_port", &p.host_port)
                              .Int("container_port", &p.container_port)
                              .Str("protocol", &p.protocol)
                              .status());
    s->ports.push_back(std::move(p));
    return OkStatus();
  });
  r.Field("expose", [s](const json& v, const std::string& p) {
    if (v.is_null()) return OkStatus();
    Expose e;
    ObjectReader o(v, p);
    BERTH_RETURN_IF_ERROR(
        o.Int("port", &e.port).StrList("hosts", &e.hosts).Str("path_prefix", &e.path_prefix).status());
    s->expose = std::move(e);
    return OkStatus();
  });
  r.Object("concurrency", [s](ObjectReader& o) {
    return o.Int("limit", &s->concurrency.limit)
        .Int("queue", &s->concurrency.queue)
        .Ms("queue_timeout_ms", &s->concurrency.queue_timeout)
        .status();
  });
  r.Object("scale", [s](ObjectReader& o) {
    return o.Int("min", &s->scale.min)
        .Int("max", &s->scale.max)
        .Ms("idle_ms", &s->scale.idle)
        .Ms("window_ms", &s->scale.window)
        .Double("target_utilization", &s->scale.target_utilization)
        .status();
  });
  r.StrList("secrets", &s->secrets).Bool("init", &s->init);
  BERTH_RETURN_IF_ERROR(r.status());
  return CheckName(ValidateServiceName(s->name), ChildPath(path, "name"));
}

}  // namespace

StatusOr<Service> ServiceFromJson(const json& j) {
  Service s;
  Status st = ReadService(j, "", &s);
  if (!st.ok()) return st.WithContext("invalid service JSON");
  return s;
}

StatusOr<Project> ProjectFromJson(const json& j) {
  Project p;
  ObjectReader r(j, "");
  r.Str("name", &p.name);
  r.Field("services", [&p](const json& v, const std::string& path) {
    if (!v.is_object()) return TypeError(path, "an object", v);
    for (const auto& [name, sj] : v.items()) {
      std::string spath = ChildPath(path, name);
      Service s;
      BERTH_RETURN_IF_ERROR(ReadService(sj, spath, &s));
      if (s.name != name)
        return InvalidArgument("field " + Quoted(ChildPath(spath, "name")) + ": " + Quoted(s.name) +
                               " differs from its key");
      p.services[name] = std::move(s);
    }
    return OkStatus();
  });
  r.Field("volumes", [&p](const json& v, const std::string& path) {
    if (!v.is_object()) return TypeError(path, "an object", v);
    for (const auto& [name, vj] : v.items()) {
      std::string vpath = ChildPath(path, name);
      BERTH_RETURN_IF_ERROR(CheckName(ValidateVolumeName(name), vpath));
      Volume vol{name, {}};
      BERTH_RETURN_IF_ERROR(ObjectReader(vj, vpath).StrMap("labels", &vol.labels).status());
      p.volumes[name] = std::move(vol);
    }
    return OkStatus();
  });
  r.Array("params", [&p](ObjectReader& o) {
    Param param;
    o.Str("name", &param.name).Bool("required", &param.required);
    o.Field("default", [&param](const json& v, const std::string& path) {
      if (v.is_null()) return OkStatus();
      if (!v.is_string()) return TypeError(path, "a string or null", v);
      param.default_value = v.get<std::string>();
      return OkStatus();
    });
    BERTH_RETURN_IF_ERROR(o.Str("pattern", &param.pattern).Str("description", &param.description).status());
    BERTH_RETURN_IF_ERROR(CheckName(ValidateParamName(param.name), ChildPath(o.path(), "name")));
    p.params.push_back(std::move(param));
    return OkStatus();
  });
  r.Field("secrets", [&p](const json& v, const std::string& path) {
    if (!v.is_object()) return TypeError(path, "an object", v);
    for (const auto& [name, sj] : v.items()) {
      std::string spath = ChildPath(path, name);
      BERTH_RETURN_IF_ERROR(CheckName(ValidateSecretName(name), spath));
      SecretSpec secret{name, 0};
      BERTH_RETURN_IF_ERROR(ObjectReader(sj, spath).Int("generate", &secret.generate).status());
      p.secrets[name] = std::move(secret);
    }
    return OkStatus();
  });
  r.Object("quota", [&p](ObjectReader& o) {
    return o.Double("cpus", &p.quota.cpus).Int("memory_bytes", &p.quota.memory_bytes).status();
  });
  Status st = r.status();
  if (st.ok() && !p.name.empty()) st = CheckName(ValidateEnvName(p.name), "name");
  if (!st.ok()) return st.WithContext("invalid project JSON");
  return p;
}

namespace {
std::string CanonicalHash(const json& j) {
  // Invalid UTF-8 cannot come from Load (it rejects it); `replace` keeps hashing
  // total for hand-built models instead of throwing.
  return Hex(Fnv1a64(j.dump(-1, ' ', false, json::error_handler_t::replace)));
}

// Removes every member of `j` equal to the same member of `defaults`, recursively
// through objects: what is left is what the spec actually says.
void DropDefaults(json& j, const json& defaults) {
  for (auto it = j.begin(); it != j.end();) {
    auto d = defaults.find(it.key());
    if (d != defaults.end() && it->is_object() && d->is_object()) {
      DropDefaults(*it, *d);
      if (it->empty()) {
        it = j.erase(it);
        continue;
      }
    } else if (d != defaults.end() && *it == *d) {
      it = j.erase(it);
      continue;
    }
    ++it;
  }
}
}  // namespace

// What a replica is built from. Not the count or the traffic settings (replicas, scale,
// concurrency): changing those scales or re-routes, it does not replace replicas. Members
// left at their defaults are dropped, so a field added to the model in a later release
// does not change the hash of services that do not use it (no restarts on upgrade).
std::string ServiceHash(const Service& service) {
  json j = ToJson(service);
  for (const char* k : {"replicas", "scale", "concurrency"}) j.erase(k);
  DropDefaults(j, ToJson(Service{}));
  return CanonicalHash(j);
}
std::string ProjectHash(const Project& project) {
  return CanonicalHash(ToJson(project));
}

}  // namespace berth::spec
