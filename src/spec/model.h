// The normalized environment model: what a Compose-style spec file means once it is
// parsed, interpolated, validated and defaulted. Every other part of Berth reads this
// model, never YAML. Plain value types; to/from JSON in model_json.h.
//
// Contract for consumers:
//  - names (environment, services, volumes, secrets) are already validated (base/names.h);
//  - bind-mount sources are absolute host paths (resolved against the spec's directory);
//  - strings may still hold `${secret.NAME}` placeholders (environment values, command
//    and entrypoint items): the daemon expands them with ExpandSecrets() when it starts a
//    container, so secret values never enter the model, the store or `berth config`.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/clock.h"

namespace berth::spec {

enum class RestartPolicy { kNo, kAlways, kOnFailure, kUnlessStopped };

struct Restart {
  RestartPolicy policy = RestartPolicy::kNo;
  int max_retries = 0;  // on-failure:N; 0 = unlimited
  bool operator==(const Restart&) const = default;
};

enum class HealthKind {
  kNone,      // no check: a running replica counts as ready
  kCmd,       // argv executed inside the container
  kCmdShell,  // ["/bin/sh", "-c", script] executed inside the container
  kHttp,      // berth extension: test: ["HTTP", "http://localhost:8000/health"]
  kTcp,       // berth extension: test: ["TCP", "8000"]
};

struct HealthCheck {
  HealthKind kind = HealthKind::kNone;
  std::vector<std::string> command;  // kCmd / kCmdShell (already wrapped in sh -c)
  int port = 0;                      // kHttp / kTcp: port inside the replica
  std::string http_path = "/";       // kHttp
  Millis interval{30'000};
  Millis timeout{30'000};
  Millis start_period{0};
  Millis start_interval{5'000};
  int retries = 3;
  bool operator==(const HealthCheck&) const = default;
};

enum class MountType { kVolume, kBind, kTmpfs };

struct Mount {
  MountType type = MountType::kVolume;
  std::string source;  // volume name, absolute host path, or empty for tmpfs
  std::string target;  // absolute path inside the container
  bool read_only = false;
  int64_t tmpfs_size = 0;  // bytes, 0 = kernel default
  bool operator==(const Mount&) const = default;
};

struct Resources {
  double cpus = 0;           // 0 = unlimited
  int64_t memory_bytes = 0;  // 0 = unlimited
  int64_t pids = 0;          // 0 = daemon default (limits) / none (reservations)
  bool operator==(const Resources&) const = default;
};

enum class DependCondition { kStarted, kHealthy, kCompletedSuccessfully };

struct DependsOn {
  std::string service;
  DependCondition condition = DependCondition::kStarted;
  bool required = true;
  bool operator==(const DependsOn&) const = default;
};

struct Port {
  std::string host_ip;  // empty = all
  int host_port = 0;    // 0 = none published
  int container_port = 0;
  std::string protocol = "tcp";
  bool operator==(const Port&) const = default;
};

// x-berth.expose: the service is routed at SERVICE.ENV.DOMAIN by the ingress proxy.
struct Expose {
  int port = 0;
  std::vector<std::string> hosts;  // extra host names
  std::string path_prefix;         // optional path-prefix route
  bool operator==(const Expose&) const = default;
};

// x-berth.concurrency: App Runner semantics per replica.
struct Concurrency {
  int limit = 0;  // max requests in flight per replica; 0 = unlimited
  int queue = 0;  // bounded overflow queue per service; beyond it, 429
  Millis queue_timeout{10'000};
  bool operator==(const Concurrency&) const = default;
};

// x-berth.scale: replica bounds for the autoscaler. Without it min = max = replicas.
struct Scale {
  int min = 1;
  int max = 1;
  Millis idle{60'000};              // scale to zero after this long without traffic
  double target_utilization = 0.7;  // of concurrency.limit
  Millis window{60'000};            // the autoscaler's stable window (panic: 10 % of it)
  bool operator==(const Scale&) const = default;
};

struct Service {
  std::string name;
  std::string image = "host";  // "host" or "rootfs:/absolute/path"
  std::vector<std::string> entrypoint;
  std::vector<std::string> command;
  std::map<std::string, std::string> environment;  // env_file entries merged under it
  std::string working_dir;
  std::string user;  // "name", "uid", "uid:gid" or "name:group"; empty = root
  std::vector<Mount> mounts;
  HealthCheck healthcheck;
  Restart restart;
  std::vector<DependsOn> depends_on;
  int replicas = 1;
  Resources limits;
  Resources reservations;
  std::string stop_signal = "SIGTERM";
  Millis stop_grace_period{10'000};
  std::map<std::string, std::string> labels;
  std::vector<Port> ports;
  std::optional<Expose> expose;
  Concurrency concurrency;
  Scale scale;
  std::vector<std::string> secrets;  // names mounted at /run/secrets/NAME
  // Compose `init`: run berth-init as PID 1 (signal forwarding, zombie reaping). Berth
  // defaults it on; `init: false` runs the program as PID 1 itself.
  bool init = true;
  bool operator==(const Service&) const = default;
};

struct Param {
  std::string name;
  bool required = false;
  std::optional<std::string> default_value;
  std::string pattern;  // ECMAScript regex, full match
  std::string description;
  bool operator==(const Param&) const = default;
};

struct SecretSpec {
  std::string name;
  int generate = 0;  // length of a generated URL-safe random value
  bool operator==(const SecretSpec&) const = default;
};

struct Volume {
  std::string name;
  std::map<std::string, std::string> labels;
  bool operator==(const Volume&) const = default;
};

// x-berth.quota: an environment-wide ceiling (admission, issue 3).
struct Quota {
  double cpus = 0;
  int64_t memory_bytes = 0;
  bool operator==(const Quota&) const = default;
};

struct Project {
  std::string name;                         // environment name
  std::map<std::string, Service> services;  // by name
  std::map<std::string, Volume> volumes;    // top-level named volumes
  std::vector<Param> params;
  std::map<std::string, SecretSpec> secrets;
  Quota quota;
  bool operator==(const Project&) const = default;
};

}  // namespace berth::spec
