// The default seccomp profile of Berth containers, as the OCI `linux.seccomp` object.
//
// Modelled on Docker/moby's default profile for a container holding Docker's default
// capability set (no CAP_SYS_ADMIN, no CAP_SYS_PTRACE): an allowlist where everything
// not named fails with EPERM. Beyond moby's profile it also denies ptrace,
// process_vm_readv/writev and io_uring (no workload we run needs them, and they are
// the usual container-escape and kernel-bug surfaces). Conditional rules:
//   - clone is allowed only when no namespace flag is set in its flags argument;
//   - clone3 fails with ENOSYS, so glibc falls back to clone (whose flags can be checked);
//   - personality is limited to PER_LINUX, PER_LINUX32, UNAME26 variants and the query;
//   - socket is allowed for every family but AF_VSOCK.
// Architectures: the native one and its compat ABIs (x86_64: x86 and x32).
//
// Pure and thread-safe.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace berth::runtime {

nlohmann::json DefaultSeccompProfile();

// Syscalls the profile names as unconditionally allowed (for tests and docs).
const std::vector<std::string>& AllowedSyscalls();

}  // namespace berth::runtime
