// Generated secrets: N random URL-safe characters per environment and name, stored as
// files of mode 0600 in a 0700 directory under the state dir. Values are read only to
// start containers (and by `berth secret get`); they never enter the store, the spec
// model, events or logs. Secrets are kept with volumes (a database volume needs the
// password it was created with) and removed with `env rm --volumes`.
#pragma once

#include <optional>
#include <vector>
#include <string>

#include "base/status.h"
#include "spec/model.h"
#include "supervisor/container_spec.h"

namespace berth::supervisor {

// `n` characters from [A-Za-z0-9_-], from the kernel's CSPRNG, without modulo bias.
StatusOr<std::string> RandomUrlSafe(int n);

// Creates every secret the project declares that does not exist yet; existing values are
// kept (re-creating an environment keeps its database password).
Status EnsureSecrets(const spec::Project& project, const std::string& env, const Layout& layout);

// Gives a non-root uid its own read-only copies (mode 0400, owned by uid:gid, in a 0500
// directory) of the named secrets, so a `user: postgres` service can read
// /run/secrets/NAME while the canonical files stay 0600 root.
Status ShareSecrets(const std::string& env, const std::vector<std::string>& names, uint32_t uid, uint32_t gid,
                    const Layout& layout);

// The value of one secret, or nullopt.
std::optional<std::string> ReadSecret(const Layout& layout, const std::string& env, const std::string& name);

}  // namespace berth::supervisor
