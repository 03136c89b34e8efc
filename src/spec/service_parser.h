// Parsing of one entry of `services:` into a spec::Service. Internal to the spec
// component; the pieces live in three files by theme:
//   service_parser.cc   the service as a whole, process and environment settings
//   service_mounts.cc   volumes and ports
//   service_runtime.cc  healthcheck, deploy, and the service's x-berth extensions
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "spec/load_state.h"
#include "spec/model.h"
#include "spec/yaml_tree.h"

namespace berth::spec {

// Where things were written, for the checks that need every service parsed first.
struct ServiceSource {
  Pos pos;  // the service's key
  struct Dependency {
    Pos pos;
    std::string path;
  };
  std::map<std::string, Dependency> depends_on;  // by dependency name
};

// Parses services.NAME. Errors and warnings go to state.diags; the returned service
// holds whatever could be understood. Adds anonymous volumes to state.project.
Service ParseService(const YamlEntry& entry, LoadState& state, ServiceSource* source);

// --- service_mounts.cc
void ParseServiceVolumes(const YamlNode& n, const std::string& path, const std::string& service,
                         LoadState& state, std::vector<Mount>* mounts);
void ParsePorts(const YamlNode& n, const std::string& path, LoadState& state, std::vector<Port>* ports);

// --- service_runtime.cc
void ParseHealthcheck(const YamlNode& n, const std::string& path, LoadState& state, HealthCheck* out);

struct DeployResult {
  std::optional<int> replicas;
  Pos replicas_pos;
  std::string replicas_path;
  std::optional<Restart> restart;  // from deploy.restart_policy
};
void ParseDeploy(const YamlNode& n, const std::string& path, LoadState& state, Service* service,
                 DeployResult* result);

// Parses the service-level x-berth map; *has_scale tells whether x-berth.scale was given.
void ParseServiceExtensions(const YamlNode& n, const std::string& path, LoadState& state, Service* service,
                            bool* has_scale);

}  // namespace berth::spec
