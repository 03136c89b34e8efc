// OciRuntime: containers through an OCI runtime CLI (runc; crun has the same surface).
//
// Layout under RuntimeOptions.run_dir (a tmpfs such as /run/berth: containers do not
// survive a reboot, and neither should their bundles):
//   bundles/<id>/config.json   the OCI config (oci_config.h)
//   bundles/<id>/rootfs/       host image only: usr symlinks and mount points
//   bundles/<id>/pid           the container's first process, written by `runc create`
//   bundles/<id>/runc.log      runc's JSON log of the create (errors are read from it)
//   runc/ (crun/)              `runc --root`: the runtime's state, so List() sees only
//                              Berth's containers
//
// Create() writes the bundle and runs `runc create` (the slow part: runc's own start-up
// plus namespaces, mounts and cgroups) with the container's stdio given as fds; Start()
// is `runc start`. The container's first process is reparented to the caller when
// `runc create` exits (berthd is a child subreaper) or to init otherwise; this class
// never waits for it.
//
// State is runc's (`runc state`/`runc list`), so a new OciRuntime over the same run_dir
// adopts every container a previous daemon made. A bundle without runc state (a Create
// interrupted by a crash) is reported as stopped so that it gets deleted.
//
// Thread-safety: calls on distinct ids may run concurrently; calls on the same id must
// be serialized by the caller.
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "runtime/cgroups.h"
#include "runtime/runtime.h"

namespace berth::runtime {

class OciRuntime final : public Runtime {
 public:
  // `binary` is the absolute path of runc or crun; `name` is "runc" or "crun".
  OciRuntime(RuntimeOptions options, std::string binary, CgroupMounts cgroups);

  std::string_view name() const override { return options_.name; }
  bool isolated() const override { return true; }

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

  std::string BundleDir(const std::string& id) const;
  std::string CgroupPath(const std::string& id) const;
  const CgroupMounts& cgroups() const { return cgroups_; }

 private:
  // argv of `<binary> --root R --log-format json <args...>`.
  bool StartThroughExecFifo(const std::string& id, pid_t pid) const;
  std::vector<std::string> Command(std::vector<std::string> args) const;
  // Runs a quick runtime command; a failure becomes a Status carrying its error message
  // with the code mapped from it (does not exist -> NotFound, not running ->
  // FailedPrecondition).
  StatusOr<std::string> RunCommand(std::vector<std::string> args, Millis timeout = Millis(30'000)) const;
  // Writes the bundle for `spec` (config.json, host rootfs).
  Status WriteBundle(const ContainerSpec& spec, const std::string& bundle);
  // Runs `runc create` with the container's stdio as fds.
  Status RunCreate(const ContainerSpec& spec, const std::string& bundle);
  ContainerState FromRuncState(const std::string& id, const std::string& status, int64_t pid) const;
  // Kills an exec'd process (and its descendants) left running by an exec timeout.
  void KillExecLeftovers(const std::string& pid_file) const;

  RuntimeOptions options_;
  std::string binary_;
  std::string root_;  // runc --root
  CgroupMounts cgroups_;
  int64_t nofile_;  // RLIMIT_NOFILE of containers (OciInputs.nofile)
  std::atomic<uint64_t> exec_seq_{0};
};

}  // namespace berth::runtime
