// Parsing of the top-level sections of a spec other than `services:`. Internal to the
// spec component.
#pragma once

#include "spec/load_state.h"
#include "spec/yaml_tree.h"

namespace berth::spec {

// x-berth.params, read before interpolation (defaults and patterns are taken
// literally: a pattern ends in "$" more often than not). Validates options.params
// against the declarations: unknown, missing required, not matching the pattern.
void ParseParams(const YamlNode& root, LoadState& state);

// x-berth.secrets and x-berth.quota (after interpolation).
void ParseTopLevelExtensions(const YamlNode& root, LoadState& state);

// Top-level `volumes:` and Compose's top-level `secrets:` (names only).
void ParseVolumes(const YamlNode& root, LoadState& state);
void ParseComposeSecrets(const YamlNode& root, LoadState& state);

// The environment name: options.env_name, else `name:`, else derived from base_dir.
void ParseName(const YamlNode& root, LoadState& state);

}  // namespace berth::spec
