// Validation of every user-chosen name, done once at the edge (spec loader, API
// handlers, CLI). A name that passes can be used in paths, runc ids, cgroup paths,
// host names and argv without quoting; nothing in Berth passes names to a shell.
#pragma once

#include <string_view>

#include "base/status.h"

namespace berth {

// Environments: 1-32 chars of [a-z0-9-], starting with a letter, not ending in '-'.
// They become DNS labels (svc.ENV.localhost) and parts of runc ids and paths.
Status ValidateEnvName(std::string_view name);

// Services: 1-63 chars of [a-z0-9_-], starting and ending with [a-z0-9].
Status ValidateServiceName(std::string_view name);

// Named volumes: 1-64 chars of [A-Za-z0-9_.-], starting with [A-Za-z0-9] (Compose's rule).
Status ValidateVolumeName(std::string_view name);

// Secrets and parameters: 1-64 chars of [A-Za-z0-9_-], starting with a letter or '_'.
Status ValidateSecretName(std::string_view name);
Status ValidateParamName(std::string_view name);

}  // namespace berth
