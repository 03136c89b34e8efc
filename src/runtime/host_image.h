// Images and root file systems of OCI containers.
//
// Two kinds of image:
//   "host"            the host's /usr read-only plus a safe, fixed subset of /etc, in a
//                     per-container rootfs directory holding the /bin, /lib, ... symlinks
//                     into usr (Debian 12's merged-/usr layout) and the mount points.
//   "rootfs:/abs/dir" that directory is the container's root, read-only and unmodified.
//
// ImageView answers questions about the file system a container will see before it
// exists (which host file will /etc/passwd be? where is `gunicorn` on its PATH?), so
// that a missing user or program is a clear Create error rather than a runc failure.
//
// Thread-safety: ImageView is immutable after construction; the free functions touch
// only the paths they are given.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "runtime/runtime.h"

namespace berth::runtime {

// The /etc entries a host-image container sees (when the host has them). Deliberately
// not shadow, gshadow, sudoers, ssh, ...: credentials and host admin config stay out.
const std::vector<std::string>& HostEtcAllowlist();

struct EtcEntry {
  enum class Kind { kFile, kDir, kSymlink };
  std::string name;  // "passwd", "ssl", ...
  Kind kind = Kind::kFile;
  std::string link_target;  // kSymlink: recreated as is (e.g. ../usr/lib/os-release)
  bool operator==(const EtcEntry&) const = default;
};

// The allowlisted entries present in `host_root`/etc (sockets, devices, ... skipped).
std::vector<EtcEntry> ScanHostEtc(const std::string& host_root = "/");

// True when a bind in `binds` targets exactly `container_path`: it replaces the default.
bool BindTargets(const std::vector<BindMount>& binds, const std::string& container_path);

class ImageView {
 public:
  // InvalidArgument for an image string that is neither "host" nor "rootfs:/abs/dir", or
  // a rootfs directory that does not exist. `host_root` is "/" except in tests.
  static StatusOr<ImageView> ForSpec(const ContainerSpec& spec, const std::string& host_root = "/");

  bool is_host() const { return rootfs_.empty(); }
  // The image directory of a rootfs image ("" for the host image).
  const std::string& rootfs() const { return rootfs_; }

  // The host path the container will show at `container_path`, or nullopt when nothing
  // from an image or a bind is there (an empty mount point or a tmpfs). Symlinks inside
  // a rootfs image are followed within that root.
  std::optional<std::string> HostPath(const std::string& container_path) const;

  // Reads a file of the container's view; "" when absent (like an image without
  // /etc/group).
  std::string ReadFileOrEmpty(const std::string& container_path) const;

  // Resolves a program name through `path_env` (a PATH value) inside the image. Returns
  // the path inside the container; NotFound("program \"x\" not found in the image").
  StatusOr<std::string> FindProgram(const std::string& name, const std::string& path_env) const;

  // Whether the image has a directory at `container_path` (decides the /var/tmp tmpfs).
  bool HasDirectory(const std::string& container_path) const;

 private:
  ImageView(std::string host_root, std::string rootfs, std::vector<BindMount> binds)
      : host_root_(std::move(host_root)), rootfs_(std::move(rootfs)), binds_(std::move(binds)) {}

  std::string host_root_;
  std::string rootfs_;
  std::vector<BindMount> binds_;
};

// Creates the host-image rootfs directory at `dir`: the usr symlinks, the mount-point
// directories (tmp and var/tmp with mode 1777: runc gives a tmpfs the mode of the
// directory it is mounted on), and /etc holding the recreated symlinks and the mount
// points of the allowlisted files. Entries replaced by a bind in `binds` are left out.
Status PrepareHostRootfs(const std::string& dir, const std::vector<EtcEntry>& etc,
                         const std::vector<BindMount>& binds, const std::string& host_root = "/");

// Follows symlinks of `path` (absolute, inside the image) within `root`, like a chroot
// would, and returns the host path. Gives up after 40 links (returns the last path).
std::string ResolveInRoot(const std::string& root, const std::string& path);

}  // namespace berth::runtime
