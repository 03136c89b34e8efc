#include "runtime/runtime.h"

#include <unistd.h>

#include "base/subprocess.h"
#include "runtime/cgroups.h"
#include "runtime/oci_runtime.h"
#include "runtime/process_runtime.h"

namespace berth::runtime {

StatusOr<std::unique_ptr<Runtime>> NewRuntime(const RuntimeOptions& options) {
  if (options.run_dir.empty() || options.run_dir[0] != '/')
    return InvalidArgument("runtime: run_dir must be an absolute path");
  if (options.name == "process") return std::unique_ptr<Runtime>(new ProcessRuntime(options));
  if (options.name != "runc" && options.name != "crun")
    return InvalidArgument("unknown runtime \"" + options.name + "\"; expected runc, crun or process");
  if (geteuid() != 0)
    return FailedPrecondition("runtime " + options.name +
                              " needs root; run berthd as root or use --runtime process");
  auto binary = FindProgram(options.name);
  if (!binary.ok())
    return FailedPrecondition("runtime " + options.name + ": " + binary.status().message() +
                              "; install it or use --runtime process");
  if (options.cgroup_parent.empty() || options.cgroup_parent.find("..") != std::string::npos ||
      options.cgroup_parent.front() == '/')
    return InvalidArgument("runtime: cgroup_parent must be a relative cgroup path such as \"berth\"");
  auto cgroups = DetectCgroupMounts();
  if (!cgroups.ok()) return cgroups.status().WithContext("runtime " + options.name);
  return std::unique_ptr<Runtime>(new OciRuntime(options, *binary, std::move(*cgroups)));
}

}  // namespace berth::runtime
