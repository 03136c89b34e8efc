// ToYaml: the normalized model as a Compose-style spec that Load() reads back into the
// same model (tested), in human units. Strings are written in spec form (`$` doubled,
// secret placeholders kept) because Load interpolates them again.
#include <yaml-cpp/yaml.h>

#include <charconv>
#include <exception>

#include "base/units.h"
#include "spec/interpolate.h"
#include "spec/model_json.h"

namespace berth::spec {
namespace {

// Plain scalars that a YAML reader would take for null are quoted; everything else
// is left to the emitter, which quotes what needs it.
void Str(YAML::Emitter& out, const std::string& s) {
  if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL") {
    out << YAML::DoubleQuoted << s;
  } else {
    out << s;
  }
}
void Value(YAML::Emitter& out, const std::string& model_string) {
  Str(out, EscapeModelString(model_string));
}

std::string Number(double v) {
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return ec == std::errc() ? std::string(buf, end) : std::to_string(v);
}

// Human units when they read back exactly, else the exact integer.
std::string Bytes(int64_t b) {
  std::string human = FormatBytes(b);
  auto back = ParseBytes(human);
  return back.ok() && *back == b ? human : std::to_string(b);
}
std::string Duration(Millis d) {
  std::string human = FormatDuration(d);
  auto back = ParseDuration(human);
  return back.ok() && *back == d ? human : std::to_string(d.count()) + "ms";
}

void Key(YAML::Emitter& out, const char* key) {
  out << YAML::Key << key << YAML::Value;
}

void List(YAML::Emitter& out, const char* key, const std::vector<std::string>& items) {
  Key(out, key);
  out << YAML::Flow << YAML::BeginSeq;
  for (const std::string& s : items) Value(out, s);
  out << YAML::EndSeq;
}

void StringMap(YAML::Emitter& out, const char* key, const std::map<std::string, std::string>& m) {
  Key(out, key);
  out << YAML::BeginMap;
  for (const auto& [k, v] : m) {
    out << YAML::Key << k << YAML::Value;
    Value(out, v);
  }
  out << YAML::EndMap;
}

void Healthcheck(YAML::Emitter& out, const HealthCheck& h) {
  Key(out, "healthcheck");
  out << YAML::BeginMap;
  Key(out, "test");
  out << YAML::Flow << YAML::BeginSeq;
  switch (h.kind) {
    case HealthKind::kNone:
      out << "NONE";
      break;
    case HealthKind::kCmd:
      out << "CMD";
      for (const std::string& a : h.command) Value(out, a);
      break;
    case HealthKind::kCmdShell:
      out << "CMD-SHELL";
      Value(out, h.command.size() == 3 ? h.command[2] : "");
      break;
    case HealthKind::kHttp:
      out << "HTTP";
      Value(out, "http://localhost:" + std::to_string(h.port) + h.http_path);
      break;
    case HealthKind::kTcp:
      out << "TCP" << YAML::DoubleQuoted << std::to_string(h.port);
      break;
  }
  out << YAML::EndSeq;
  Key(out, "interval");
  out << Duration(h.interval);
  Key(out, "timeout");
  out << Duration(h.timeout);
  Key(out, "start_period");
  out << Duration(h.start_period);
  Key(out, "start_interval");
  out << Duration(h.start_interval);
  Key(out, "retries");
  out << h.retries;
  out << YAML::EndMap;
}

void Resource(YAML::Emitter& out, const char* key, const Resources& r, bool limits) {
  if (r == Resources{}) return;
  Key(out, key);
  out << YAML::BeginMap;
  if (r.cpus > 0) Key(out, "cpus"), out << YAML::DoubleQuoted << Number(r.cpus);
  if (r.memory_bytes > 0) Key(out, "memory"), out << Bytes(r.memory_bytes);
  if (limits && r.pids > 0) Key(out, "pids"), out << r.pids;
  out << YAML::EndMap;
}

void Mounts(YAML::Emitter& out, const std::vector<Mount>& mounts) {
  if (mounts.empty()) return;
  Key(out, "volumes");
  out << YAML::BeginSeq;
  for (const Mount& m : mounts) {
    out << YAML::BeginMap;
    Key(out, "type");
    out << (m.type == MountType::kVolume ? "volume" : m.type == MountType::kBind ? "bind" : "tmpfs");
    if (!m.source.empty()) Key(out, "source"), Value(out, m.source);
    Key(out, "target");
    Value(out, m.target);
    if (m.read_only) Key(out, "read_only"), out << true;
    if (m.tmpfs_size > 0) {
      Key(out, "tmpfs");
      out << YAML::Flow << YAML::BeginMap << YAML::Key << "size" << YAML::Value << Bytes(m.tmpfs_size)
          << YAML::EndMap;
    }
    out << YAML::EndMap;
  }
  out << YAML::EndSeq;
}

void Extensions(YAML::Emitter& out, const Service& s) {
  bool scale_given = s.scale.min != s.replicas || s.scale.max != s.replicas || s.scale.idle != Scale{}.idle ||
                     s.scale.window != Scale{}.window ||
                     s.scale.target_utilization != Scale{}.target_utilization;
  if (!s.expose && s.concurrency == Concurrency{} && !scale_given) return;
  Key(out, "x-berth");
  out << YAML::BeginMap;
  if (s.expose) {
    Key(out, "expose");
    out << YAML::BeginMap;
    Key(out, "port");
    out << s.expose->port;
    if (!s.expose->hosts.empty()) List(out, "hosts", s.expose->hosts);
    if (!s.expose->path_prefix.empty()) Key(out, "path_prefix"), Value(out, s.expose->path_prefix);
    out << YAML::EndMap;
  }
  if (s.concurrency != Concurrency{}) {
    Key(out, "concurrency");
    out << YAML::BeginMap;
    Key(out, "limit"), out << s.concurrency.limit;
    Key(out, "queue"), out << s.concurrency.queue;
    Key(out, "queue_timeout"), out << Duration(s.concurrency.queue_timeout);
    out << YAML::EndMap;
  }
  if (scale_given) {
    Key(out, "scale");
    out << YAML::BeginMap;
    Key(out, "min"), out << s.scale.min;
    Key(out, "max"), out << s.scale.max;
    Key(out, "idle"), out << Duration(s.scale.idle);
    Key(out, "window"), out << Duration(s.scale.window);
    Key(out, "target_utilization"), out << Number(s.scale.target_utilization);
    out << YAML::EndMap;
  }
  out << YAML::EndMap;
}

void ServiceYaml(YAML::Emitter& out, const Service& s) {
  out << YAML::BeginMap;
  Key(out, "image");
  Value(out, s.image);
  if (!s.entrypoint.empty()) List(out, "entrypoint", s.entrypoint);
  if (!s.command.empty()) List(out, "command", s.command);
  if (!s.environment.empty()) StringMap(out, "environment", s.environment);
  if (!s.working_dir.empty()) Key(out, "working_dir"), Value(out, s.working_dir);
  if (!s.user.empty()) Key(out, "user"), Value(out, s.user);
  Mounts(out, s.mounts);
  if (s.healthcheck != HealthCheck{}) Healthcheck(out, s.healthcheck);
  Key(out, "restart");
  switch (s.restart.policy) {
    case RestartPolicy::kNo:
      out << YAML::DoubleQuoted << "no";
      break;
    case RestartPolicy::kAlways:
      out << "always";
      break;
    case RestartPolicy::kUnlessStopped:
      out << "unless-stopped";
      break;
    case RestartPolicy::kOnFailure:
      out << (s.restart.max_retries ? "on-failure:" + std::to_string(s.restart.max_retries) : "on-failure");
      break;
  }
  if (!s.depends_on.empty()) {
    Key(out, "depends_on");
    out << YAML::BeginMap;
    for (const DependsOn& d : s.depends_on) {
      out << YAML::Key << d.service << YAML::Value << YAML::Flow << YAML::BeginMap;
      Key(out, "condition");
      out << (d.condition == DependCondition::kStarted   ? "service_started"
              : d.condition == DependCondition::kHealthy ? "service_healthy"
                                                         : "service_completed_successfully");
      Key(out, "required");
      out << d.required << YAML::EndMap;
    }
    out << YAML::EndMap;
  }
  Key(out, "deploy");
  out << YAML::BeginMap;
  Key(out, "replicas");
  out << s.replicas;
  if (s.limits != Resources{} || s.reservations != Resources{}) {
    Key(out, "resources");
    out << YAML::BeginMap;
    Resource(out, "limits", s.limits, true);
    Resource(out, "reservations", s.reservations, false);
    out << YAML::EndMap;
  }
  out << YAML::EndMap;
  if (s.stop_signal != "SIGTERM") Key(out, "stop_signal"), out << s.stop_signal;
  if (s.stop_grace_period != Service{}.stop_grace_period)
    Key(out, "stop_grace_period"), out << Duration(s.stop_grace_period);
  if (!s.labels.empty()) StringMap(out, "labels", s.labels);
  if (!s.ports.empty()) {
    Key(out, "ports");
    out << YAML::BeginSeq;
    for (const Port& p : s.ports) {
      out << YAML::Flow << YAML::BeginMap;
      Key(out, "target"), out << p.container_port;
      if (p.host_port) Key(out, "published"), out << p.host_port;
      if (!p.host_ip.empty()) Key(out, "host_ip"), Value(out, p.host_ip);
      Key(out, "protocol"), out << p.protocol;
      out << YAML::EndMap;
    }
    out << YAML::EndSeq;
  }
  if (!s.secrets.empty()) List(out, "secrets", s.secrets);
  if (!s.init) Key(out, "init"), out << false;
  Extensions(out, s);
  out << YAML::EndMap;
}

void ProjectExtensions(YAML::Emitter& out, const Project& p) {
  bool generated = false;
  for (const auto& [name, s] : p.secrets) generated = generated || s.generate > 0;
  if (p.params.empty() && !generated && p.quota == Quota{}) return;
  Key(out, "x-berth");
  out << YAML::BeginMap;
  if (!p.params.empty()) {
    Key(out, "params");
    out << YAML::BeginMap;
    for (const Param& param : p.params) {
      out << YAML::Key << param.name << YAML::Value << YAML::BeginMap;
      if (param.required) Key(out, "required"), out << true;
      // Declarations are not interpolated: written as they are.
      if (param.default_value) Key(out, "default"), Str(out, *param.default_value);
      if (!param.pattern.empty()) Key(out, "pattern"), Str(out, param.pattern);
      if (!param.description.empty()) Key(out, "description"), Str(out, param.description);
      out << YAML::EndMap;
    }
    out << YAML::EndMap;
  }
  if (generated) {
    Key(out, "secrets");
    out << YAML::BeginMap;
    for (const auto& [name, s] : p.secrets) {
      if (s.generate > 0)
        out << YAML::Key << name << YAML::Value << YAML::Flow << YAML::BeginMap << YAML::Key << "generate"
            << YAML::Value << s.generate << YAML::EndMap;
    }
    out << YAML::EndMap;
  }
  if (p.quota != Quota{}) {
    Key(out, "quota");
    out << YAML::BeginMap;
    if (p.quota.cpus > 0) Key(out, "cpus"), out << YAML::DoubleQuoted << Number(p.quota.cpus);
    if (p.quota.memory_bytes > 0) Key(out, "memory"), out << Bytes(p.quota.memory_bytes);
    out << YAML::EndMap;
  }
  out << YAML::EndMap;
}

}  // namespace

std::string ToYaml(const Project& p) {
  try {
    YAML::Emitter out;
    out << YAML::BeginMap;
    Key(out, "name");
    out << p.name;
    Key(out, "services");
    out << YAML::BeginMap;
    for (const auto& [name, svc] : p.services) {
      out << YAML::Key << name << YAML::Value;
      ServiceYaml(out, svc);
    }
    out << YAML::EndMap;
    if (!p.volumes.empty()) {
      Key(out, "volumes");
      out << YAML::BeginMap;
      for (const auto& [name, v] : p.volumes) {
        out << YAML::Key << name << YAML::Value;
        if (v.labels.empty()) {
          out << YAML::Flow << YAML::BeginMap << YAML::EndMap;
        } else {
          out << YAML::BeginMap;
          StringMap(out, "labels", v.labels);
          out << YAML::EndMap;
        }
      }
      out << YAML::EndMap;
    }
    ProjectExtensions(out, p);
    bool external = false;
    for (const auto& [name, s] : p.secrets) external = external || s.generate == 0;
    if (external) {
      Key(out, "secrets");
      out << YAML::BeginMap;
      for (const auto& [name, s] : p.secrets)
        if (s.generate == 0)
          out << YAML::Key << name << YAML::Value << YAML::Flow << YAML::BeginMap << YAML::EndMap;
      out << YAML::EndMap;
    }
    out << YAML::EndMap;
    std::string text = out.c_str();
    return text + "\n";
  } catch (const std::exception& e) {
    return std::string("# cannot print this project as YAML: ") + e.what() + "\n";
  }
}

}  // namespace berth::spec
