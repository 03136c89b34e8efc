// JSON and YAML forms of the normalized model: the store keeps Projects as JSON, the API
// returns them, `berth config` prints them. FromJson validates shape (it is an edge).
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "base/status.h"
#include "spec/model.h"

namespace berth::spec {

nlohmann::json ToJson(const Project& project);
StatusOr<Project> ProjectFromJson(const nlohmann::json& j);

nlohmann::json ToJson(const Service& service);
StatusOr<Service> ServiceFromJson(const nlohmann::json& j);

// Compose-like YAML of the normalized model (durations and sizes in human units).
std::string ToYaml(const Project& project);

// 16 hex digits of FNV-1a 64 over the canonical JSON dump (sorted keys, no spaces):
// equal models hash equal in every process. Replicas record the hash of the service
// they were created from, so a rolling update replaces exactly the changed services.
std::string ServiceHash(const Service& service);
std::string ProjectHash(const Project& project);

}  // namespace berth::spec
