// ProcessRuntime: replicas as plain host processes. No root needed and no isolation:
// for laptops, CI and trying Berth out (`berthd --runtime process`).
//
// What it does: each container is a child process in its own session and process group
// (new_session), started with the spec's argv (args[0] resolved through the spec's PATH
// on the host), environment (plus default PATH and HOME), working directory (default
// "/") and stdout/stderr (FIFOs opened O_RDWR, files appended to, as OciRuntime). When
// `user` is set and berthd is root, the process runs as that user, resolved against the
// host's /etc/passwd and /etc/group.
//
// What it cannot do, silently: image (the host file system is used as is), binds and
// tmpfs mounts, hostname, network namespace, CPU/memory/pids limits, capabilities,
// seccomp and the other hardening; `user` is ignored when not root. Create succeeds and
// nothing is logged here: the daemon warns once (Runtime::isolated() is false).
//
// State lives in <run_dir>/process/<id>.json (written atomically): the spec and, once
// started, the pid and its start time (/proc/PID/stat field 22). A container is running
// iff that pid exists, is not a zombie and has the same start time, so a new instance
// over the same run_dir adopts the processes of a previous daemon and PID reuse is not
// mistaken for the container. Kill(all) and Delete signal the process group; processes
// that left the group (setsid, setpgid) escape it — there is no cgroup to hold them.
//
// Stats come from /proc: CPU time and RSS summed over the process group (plus the
// leader's waited-for children); no memory limit and no OOM count.
//
// Thread-safety: calls on distinct ids may run concurrently.
#pragma once

#include <string>

#include "runtime/runtime.h"

namespace berth::runtime {

class ProcessRuntime final : public Runtime {
 public:
  explicit ProcessRuntime(RuntimeOptions options);

  std::string_view name() const override { return "process"; }
  bool isolated() const override { return false; }

  Status Create(const ContainerSpec& spec) override;
  StatusOr<ContainerState> Start(const std::string& id) override;
  StatusOr<ContainerState> State(const std::string& id) override;
  StatusOr<std::vector<ContainerState>> List() override;
  Status Kill(const std::string& id, int signal, bool all = false) override;
  Status Delete(const std::string& id) override;
  using Runtime::Exec;
  StatusOr<ExecResult> Exec(const std::string& id, const std::vector<std::string>& argv, Millis timeout,
                            size_t max_output) override;
  StatusOr<Usage> Stats(const std::string& id) override;

 private:
  struct Record {
    ContainerSpec spec;
    pid_t pid = 0;  // 0 until started
    int64_t pid_start_time = 0;
  };

  std::string StatePath(const std::string& id) const;
  StatusOr<Record> Load(const std::string& id) const;
  Status Save(const Record& record) const;
  ContainerState StateOf(const Record& record) const;

  RuntimeOptions options_;
  std::string dir_;
};

}  // namespace berth::runtime
