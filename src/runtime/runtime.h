// Runtime: the driver contract between the supervisor and whatever runs a replica's
// process (Nomad's driver plugins). Two drivers:
//   OciRuntime      writes an OCI bundle and drives `runc` (or `crun`): real isolation.
//   ProcessRuntime  plain child processes, same supervision, no isolation (no root).
// Only this part runs the OCI runtime or knows about bundles and cgroup files.
//
// Calls block (runc takes ~50-100 ms per call) and are made from the daemon's worker
// threads; implementations are thread-safe for calls on distinct ids.
//
// Process lifetime: Start() returns the host PID of the container's first process. It is
// a child of this process, or (runc) is reparented to it because berthd is a subreaper.
// Runtimes do not watch exits: the supervisor does (ChildReaper for its own children,
// pidfd for processes adopted after a daemon restart).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.h"
#include "base/status.h"
#include "spec/model.h"

namespace berth::runtime {

struct BindMount {
  std::string source;  // absolute host path (named volumes are resolved by the caller)
  std::string target;  // absolute path inside the container
  bool read_only = false;
  bool operator==(const BindMount&) const = default;
};

struct ContainerSpec {
  std::string id;     // "ENV.SERVICE.N": [a-z0-9._-], unique per daemon
  std::string image;  // "host" (host /usr + safe /etc subset, read-only) or "rootfs:/abs/path"
  std::vector<std::string> args;  // argv; args[0] without '/' is looked up in PATH in the image
  std::vector<std::string> env;   // KEY=VALUE; a default PATH is added when absent
  std::string working_dir;        // empty: "/"
  std::string user;               // "", "name", "uid", "uid:gid", "name:group" (resolved in the image)
  std::string hostname;           // empty: derived from id
  std::vector<BindMount> binds;   // volumes, bind mounts, secret files, generated /etc files
  std::vector<spec::Mount> tmpfs; // extra tmpfs mounts (type kTmpfs)
  spec::Resources limits;         // cpus, memory; pids is already defaulted by the caller (>0)
  std::string netns_path;         // empty: share the host network namespace
  // A static init (berth-init) to run as PID 1 with args as its child; empty: args[0] is
  // PID 1 itself. Bound read-only into the container at kInitTarget.
  std::string init_path;
  // Where the process's stdout/stderr go. FIFOs are opened O_RDWR so the process never
  // gets SIGPIPE while berthd is away; regular files are appended to.
  std::string stdout_path;
  std::string stderr_path;
  bool operator==(const ContainerSpec&) const = default;
};

inline constexpr const char* kInitTarget = "/dev/berth-init";

enum class ContainerStatus { kCreated, kRunning, kStopped };

struct ContainerState {
  std::string id;
  ContainerStatus status = ContainerStatus::kStopped;
  pid_t pid = 0;                // 0 when stopped
  int64_t pid_start_time = 0;   // /proc/PID/stat field 22: detects PID reuse
};

struct ExecResult {
  int exit_code = -1;   // 128+signal when killed
  std::string output;   // stdout+stderr, up to the caller's max_output
  bool timed_out = false;
  bool truncated = false;  // the command wrote more than max_output
};

struct Usage {
  int64_t cpu_ns = 0;        // cumulative CPU time
  int64_t memory_bytes = 0;  // current
  int64_t memory_limit = 0;  // 0 = none
  int64_t pids = 0;
  int64_t oom_kills = 0;     // cumulative OOM kills in the container's cgroup
};

struct RuntimeOptions {
  std::string name = "runc";    // "runc" | "crun" | "process"
  std::string run_dir;          // bundles, runtime state root, FIFOs: e.g. /run/berth
  std::string state_dir;        // persistent: e.g. /var/lib/berth
  std::string cgroup_parent = "berth";  // containers live at /<cgroup_parent>/<id>
};

class Runtime {
 public:
  virtual ~Runtime() = default;

  virtual std::string_view name() const = 0;
  virtual bool isolated() const = 0;  // false for ProcessRuntime

  // Prepares the container (bundle, rootfs, config) without starting its program. The
  // slow, start-independent part: can be done ahead of need. Fails if `id` exists.
  virtual Status Create(const ContainerSpec& spec) = 0;
  // Starts a created container's program.
  virtual StatusOr<ContainerState> Start(const std::string& id) = 0;

  // kNotFound when the runtime has no container `id`.
  virtual StatusOr<ContainerState> State(const std::string& id) = 0;
  // Every container this runtime instance knows (created, running or stopped), for
  // adoption and orphan cleanup after a daemon restart.
  virtual StatusOr<std::vector<ContainerState>> List() = 0;

  // Sends `signal` to the container's first process (all its processes if `all`).
  virtual Status Kill(const std::string& id, int signal, bool all = false) = 0;
  // Removes the container: kills what still runs, removes runtime state, bundle and
  // cgroup. Absent is ok. Never touches volumes.
  virtual Status Delete(const std::string& id) = 0;

  // Runs argv inside the running container (not a shell), keeping up to max_output
  // bytes of its output. The 3-argument form keeps 4 KiB (health checks).
  virtual StatusOr<ExecResult> Exec(const std::string& id, const std::vector<std::string>& argv, Millis timeout,
                                    size_t max_output) = 0;
  StatusOr<ExecResult> Exec(const std::string& id, const std::vector<std::string>& argv, Millis timeout) {
    return Exec(id, argv, timeout, 4096);
  }

  virtual StatusOr<Usage> Stats(const std::string& id) = 0;
};

// Creates the driver named in options.name. runc/crun need root and the binary in PATH;
// errors say which is missing.
StatusOr<std::unique_ptr<Runtime>> NewRuntime(const RuntimeOptions& options);

// Reads /proc/PID/stat's starttime; 0 if the process does not exist.
int64_t ProcessStartTime(pid_t pid);

}  // namespace berth::runtime
