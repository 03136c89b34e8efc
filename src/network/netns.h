// Network namespaces pinned by a bind mount on a file (what `ip netns add` does), so they
// outlive the process that made them: berthd creates one per replica before its
// container, the container joins it by path, and it survives container restarts and
// berthd restarts until the replica is removed.
// Thread-safe (each call works on its own path).
#pragma once

#include <string>

#include "base/status.h"

namespace berth::network {

// Creates the namespace with its loopback interface up. Fails if `path` exists.
Status CreateNetns(const std::string& path);

// Whether `path` is a pinned network namespace.
bool IsNetns(const std::string& path);

// Unmounts and removes `path`. Absent is ok.
Status DeleteNetns(const std::string& path);

}  // namespace berth::network
