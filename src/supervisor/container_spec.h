// BuildContainerSpec: turns one replica of a spec::Service into the runtime's
// ContainerSpec — the argv, environment (with ${secret.NAME} expanded), mounts (named
// volumes resolved under the state dir, secrets as read-only files), limits with the
// daemon's default pids limit, and the FIFOs its output goes to. Pure: the file-system
// work (creating volume directories, FIFOs, secret files) is done by the caller.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "base/status.h"
#include "runtime/runtime.h"
#include "spec/model.h"

namespace berth::supervisor {

// Where a daemon keeps things, derived from --state-dir and --run-dir.
struct Layout {
  std::string state_dir;
  std::string run_dir;

  std::string VolumeDir(const std::string& env, const std::string& volume) const;
  std::string EnvVolumesDir(const std::string& env) const;
  std::string SecretsDir(const std::string& env) const;
  std::string SecretFile(const std::string& env, const std::string& name) const;
  // Copies readable by one non-root uid (the canonical files stay root-only).
  std::string SecretsDirFor(const std::string& env, uint32_t uid) const;
  std::string LogsDir(const std::string& env) const;
  std::string LogFile(const std::string& replica_id) const;  // under LogsDir(env of id)
  std::string FifoDir() const;
  std::string FifoPath(const std::string& replica_id, char stream) const;  // 'o' / 'e'
};

struct ReplicaContext {
  std::string env;
  std::string service;
  int index = 1;
  int64_t default_pids_limit = 1024;
  std::string netns_path;  // empty: host network
  std::string init_path;   // berth-init on the host; empty: no init (process runtime)
  uint32_t secrets_uid = 0;  // the service's uid: non-root services get their own copies
  std::function<std::optional<std::string>(const std::string&)> secret;  // value by name
};

StatusOr<runtime::ContainerSpec> BuildContainerSpec(const spec::Service& service, const ReplicaContext& ctx,
                                                    const Layout& layout);

// Whether Berth can start this service at all ("image: host" or "rootfs:/path").
Status CheckRunnable(const spec::Service& service);

}  // namespace berth::supervisor
