#include "runtime/host_image.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "base/fs.h"
#include "runtime/common.h"

namespace berth::runtime {
namespace {

// Top-level names that are symlinks into usr on a merged-/usr host (bin -> usr/bin).
const char* const kUsrLinks[] = {"bin", "sbin", "lib", "lib32", "lib64", "libx32"};

bool StartsWithDir(const std::string& path, const std::string& dir) {
  if (dir == "/") return true;
  return path == dir ||
         (path.size() > dir.size() && path.compare(0, dir.size(), dir) == 0 && path[dir.size()] == '/');
}

std::optional<std::string> ReadLink(const std::string& path) {
  char buf[4096];
  ssize_t n = readlink(path.c_str(), buf, sizeof buf);
  if (n < 0 || static_cast<size_t>(n) >= sizeof buf) return std::nullopt;
  return std::string(buf, static_cast<size_t>(n));
}

Status MakeDirMode(const std::string& path, mode_t mode) {
  if (mkdir(path.c_str(), mode) != 0 && errno != EEXIST) return ErrnoStatus("mkdir " + path);
  if (chmod(path.c_str(), mode) != 0) return ErrnoStatus("chmod " + path);  // not umasked
  return OkStatus();
}

Status MakeSymlink(const std::string& target, const std::string& path) {
  if (symlink(target.c_str(), path.c_str()) != 0 && errno != EEXIST) return ErrnoStatus("symlink " + path);
  return OkStatus();
}

Status MakeEmptyFile(const std::string& path) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd < 0) return ErrnoStatus("create " + path);
  close(fd);
  return OkStatus();
}

}  // namespace

const std::vector<std::string>& HostEtcAllowlist() {
  static const std::vector<std::string>* list = new std::vector<std::string>{
      "passwd",          "group",
      "nsswitch.conf",   "hosts",
      "resolv.conf",     "host.conf",
      "gai.conf",        "localtime",
      "timezone",        "protocols",
      "services",        "mime.types",
      "ld.so.cache",     "ld.so.conf",
      "ld.so.conf.d",    "ssl",
      "ca-certificates", "ca-certificates.conf",
      "alternatives",    "python3",
      "python3.11",      "debian_version",
      "os-release",      "mailcap",
  };
  return *list;
}

std::vector<EtcEntry> ScanHostEtc(const std::string& host_root) {
  std::vector<EtcEntry> out;
  for (const auto& name : HostEtcAllowlist()) {
    std::string path = JoinPath(JoinPath(host_root, "etc"), name);
    struct stat st;
    if (lstat(path.c_str(), &st) != 0) continue;
    if (S_ISLNK(st.st_mode)) {
      if (auto target = ReadLink(path)) out.push_back({name, EtcEntry::Kind::kSymlink, *target});
    } else if (S_ISDIR(st.st_mode)) {
      out.push_back({name, EtcEntry::Kind::kDir, ""});
    } else if (S_ISREG(st.st_mode)) {
      out.push_back({name, EtcEntry::Kind::kFile, ""});
    }
  }
  return out;
}

bool BindTargets(const std::vector<BindMount>& binds, const std::string& container_path) {
  for (const auto& b : binds) {
    if (AbsolutePath("/", b.target) == container_path) return true;
  }
  return false;
}

std::string ResolveInRoot(const std::string& root, const std::string& path) {
  std::string resolved;  // inside the root, always starting with '/' or empty (= "/")
  std::string rest = AbsolutePath("/", path);
  int links = 0;
  while (!rest.empty()) {
    size_t start = rest.find_first_not_of('/');
    if (start == std::string::npos) break;
    size_t end = rest.find('/', start);
    std::string part = rest.substr(start, end == std::string::npos ? std::string::npos : end - start);
    rest = end == std::string::npos ? "" : rest.substr(end);
    if (part == ".") continue;
    if (part == "..") {
      size_t slash = resolved.rfind('/');
      resolved = slash == std::string::npos ? "" : resolved.substr(0, slash);
      continue;
    }
    std::string candidate = resolved + "/" + part;
    auto target = ReadLink(JoinPath(root, candidate));
    if (!target || ++links > 40) {
      resolved = candidate;
      continue;
    }
    if (!target->empty() && (*target)[0] == '/') resolved.clear();
    rest = "/" + *target + rest;
  }
  return JoinPath(root, resolved.empty() ? "/" : resolved);
}

StatusOr<ImageView> ImageView::ForSpec(const ContainerSpec& spec, const std::string& host_root) {
  std::string rootfs;
  if (spec.image == "host") {
    // nothing to check: the host is there
  } else if (spec.image.rfind("rootfs:", 0) == 0) {
    rootfs = spec.image.substr(7);
    if (rootfs.empty() || rootfs[0] != '/')
      return InvalidArgument("image \"" + spec.image + "\": rootfs path must be absolute");
    struct stat st;
    if (stat(rootfs.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
      return InvalidArgument("image \"" + spec.image + "\": " + rootfs + " is not a directory");
    rootfs = AbsolutePath("/", rootfs);
  } else {
    return InvalidArgument("image \"" + spec.image + "\": expected \"host\" or \"rootfs:/absolute/path\"");
  }
  return ImageView(host_root, rootfs, spec.binds);
}

std::optional<std::string> ImageView::HostPath(const std::string& container_path) const {
  std::string p = AbsolutePath("/", container_path);
  // The deepest bind wins, as it is mounted last (mounts are ordered by depth).
  const BindMount* best = nullptr;
  std::string best_target;
  for (const auto& b : binds_) {
    std::string t = AbsolutePath("/", b.target);
    if (StartsWithDir(p, t) && (!best || t.size() > best_target.size())) {
      best = &b;
      best_target = t;
    }
  }
  if (best) return JoinPath(best->source, p.substr(best_target.size()));
  if (!is_host()) return ResolveInRoot(rootfs_, p);
  for (const char* link : kUsrLinks) {
    std::string top = std::string("/") + link;
    if (StartsWithDir(p, top)) {
      p = "/usr" + p;
      break;
    }
  }
  if (StartsWithDir(p, "/usr")) return JoinPath(host_root_, p);
  for (const auto& name : HostEtcAllowlist()) {
    if (StartsWithDir(p, "/etc/" + name)) return JoinPath(host_root_, p);
  }
  return std::nullopt;
}

std::string ImageView::ReadFileOrEmpty(const std::string& container_path) const {
  auto host = HostPath(container_path);
  if (!host) return "";
  auto text = ReadFile(*host);
  return text.ok() ? *text : "";
}

StatusOr<std::string> ImageView::FindProgram(const std::string& name, const std::string& path_env) const {
  for (const auto& dir : PathDirs(path_env)) {
    std::string candidate = JoinPath(dir, name);
    // A rootfs symlink was resolved in the root already; a host path is the host's own.
    auto host = HostPath(candidate);
    if (host && IsExecutableFile(*host)) return candidate;
  }
  return NotFound("program \"" + name + "\" not found in the image");
}

bool ImageView::HasDirectory(const std::string& container_path) const {
  if (is_host()) return true;  // the host rootfs directory is ours and gets it
  struct stat st;
  auto host = HostPath(container_path);
  return host && stat(host->c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

Status PrepareHostRootfs(const std::string& dir, const std::vector<EtcEntry>& etc,
                         const std::vector<BindMount>& binds, const std::string& host_root) {
  BERTH_RETURN_IF_ERROR(MakeDirMode(dir, 0755));
  for (const char* link : kUsrLinks) {
    if (PathExists(JoinPath(JoinPath(host_root, "usr"), link)))
      BERTH_RETURN_IF_ERROR(MakeSymlink(std::string("usr/") + link, JoinPath(dir, link)));
  }
  for (const char* d : {"usr", "etc", "proc", "sys", "dev", "run", "var"})
    BERTH_RETURN_IF_ERROR(MakeDirMode(JoinPath(dir, d), 0755));
  BERTH_RETURN_IF_ERROR(MakeDirMode(JoinPath(dir, "tmp"), 01777));
  BERTH_RETURN_IF_ERROR(MakeDirMode(JoinPath(dir, "var/tmp"), 01777));
  for (const auto& e : etc) {
    if (BindTargets(binds, "/etc/" + e.name)) continue;
    std::string path = JoinPath(JoinPath(dir, "etc"), e.name);
    switch (e.kind) {
      case EtcEntry::Kind::kSymlink:
        BERTH_RETURN_IF_ERROR(MakeSymlink(e.link_target, path));
        break;
      case EtcEntry::Kind::kDir:
        BERTH_RETURN_IF_ERROR(MakeDirMode(path, 0755));
        break;
      case EtcEntry::Kind::kFile:
        BERTH_RETURN_IF_ERROR(MakeEmptyFile(path));
        break;
    }
  }
  return OkStatus();
}

}  // namespace berth::runtime
