// Running CNI reference plugins (containernetworking/cni SPEC v1.0): the plugin binary
// gets its config on stdin and CNI_* variables, and answers with a result or an error
// object on stdout. Only the network part of Berth runs CNI plugins.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "base/clock.h"
#include "base/status.h"

namespace berth::network {

struct CniCall {
  std::string command;       // "ADD", "DEL", "CHECK"
  std::string container_id;  // the replica id
  std::string netns;         // path; may be empty for DEL
  std::string ifname = "eth0";
  std::string cni_path = "/usr/lib/cni";
  Millis timeout{30'000};
};

// Runs plugin config["type"] with `config` on stdin. Returns its result (null for DEL).
// Errors carry the plugin's own message: "cni bridge ADD: failed to ...".
StatusOr<nlohmann::json> RunCniPlugin(const nlohmann::json& config, const CniCall& call);

}  // namespace berth::network
