#include "base/fs.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <random>

namespace berth {

StatusOr<std::string> ReadFile(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus("read " + path);
  std::string data;
  char buf[65536];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      int e = errno;
      close(fd);
      return ErrnoStatus("read " + path, e);
    }
    if (n == 0) break;
    data.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  return data;
}

Status WriteFileAtomic(const std::string& path, const std::string& content, mode_t mode) {
  size_t slash = path.rfind('/');
  std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  std::string tmp = path + ".tmp-" + std::to_string(rng() % 1000000007);
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) return ErrnoStatus("write " + path);
  if (fchmod(fd, mode) != 0) {  // not subject to the umask
    int e = errno;
    close(fd);
    unlink(tmp.c_str());
    return ErrnoStatus("chmod " + path, e);
  }
  size_t off = 0;
  while (off < content.size()) {
    ssize_t n = write(fd, content.data() + off, content.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      int e = errno;
      close(fd);
      unlink(tmp.c_str());
      return ErrnoStatus("write " + path, e);
    }
    off += static_cast<size_t>(n);
  }
  if (fsync(fd) != 0 || close(fd) != 0) {
    int e = errno;
    unlink(tmp.c_str());
    return ErrnoStatus("write " + path, e);
  }
  if (rename(tmp.c_str(), path.c_str()) != 0) {
    int e = errno;
    unlink(tmp.c_str());
    return ErrnoStatus("rename to " + path, e);
  }
  int dfd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    fsync(dfd);
    close(dfd);
  }
  return OkStatus();
}

Status MakeDirs(const std::string& path, mode_t mode) {
  if (path.empty()) return InvalidArgument("mkdir: empty path");
  std::string cur;
  size_t i = 0;
  while (i <= path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string::npos) j = path.size();
    cur = path.substr(0, j);
    if (!cur.empty() && mkdir(cur.c_str(), mode) != 0 && errno != EEXIST)
      return ErrnoStatus("mkdir " + cur);
    i = j + 1;
  }
  struct stat st;
  if (stat(path.c_str(), &st) != 0) return ErrnoStatus("mkdir " + path);
  if (!S_ISDIR(st.st_mode)) return FailedPrecondition("mkdir " + path + ": exists and is not a directory");
  return OkStatus();
}

namespace {

Status RemoveAt(int parent_fd, const std::string& name, const std::string& display, dev_t dev) {
  struct stat st;
  if (fstatat(parent_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) return OkStatus();
    return ErrnoStatus("remove " + display);
  }
  if (!S_ISDIR(st.st_mode)) {
    if (unlinkat(parent_fd, name.c_str(), 0) != 0 && errno != ENOENT) return ErrnoStatus("remove " + display);
    return OkStatus();
  }
  if (st.st_dev != dev) return FailedPrecondition("remove " + display + ": is a mount point; refusing to cross it");
  int fd = openat(parent_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus("remove " + display);
  DIR* d = fdopendir(fd);
  if (!d) {
    int e = errno;
    close(fd);
    return ErrnoStatus("remove " + display, e);
  }
  std::vector<std::string> names;
  while (dirent* e = readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") names.push_back(n);
  }
  Status s;
  for (auto& n : names) {
    s = RemoveAt(dirfd(d), n, display + "/" + n, dev);
    if (!s.ok()) break;
  }
  closedir(d);
  BERTH_RETURN_IF_ERROR(s);
  if (unlinkat(parent_fd, name.c_str(), AT_REMOVEDIR) != 0 && errno != ENOENT)
    return ErrnoStatus("remove " + display);
  return OkStatus();
}

}  // namespace

Status RemoveAll(const std::string& path) {
  if (path.empty() || path == "/") return InvalidArgument("refusing to remove \"" + path + "\"");
  struct stat st;
  if (lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return OkStatus();
    return ErrnoStatus("remove " + path);
  }
  return RemoveAt(AT_FDCWD, path, path, st.st_dev);
}

bool PathExists(const std::string& path) {
  struct stat st;
  return lstat(path.c_str(), &st) == 0;
}

StatusOr<std::vector<std::string>> ListDir(const std::string& path) {
  std::vector<std::string> names;
  DIR* d = opendir(path.c_str());
  if (!d) {
    if (errno == ENOENT) return names;
    return ErrnoStatus("list " + path);
  }
  while (dirent* e = readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") names.push_back(n);
  }
  closedir(d);
  std::sort(names.begin(), names.end());
  return names;
}

std::string JoinPath(const std::string& a, const std::string& b) {
  if (a.empty()) return b;
  if (b.empty()) return a;
  std::string r = a;
  while (r.size() > 1 && r.back() == '/') r.pop_back();
  size_t i = 0;
  while (i < b.size() && b[i] == '/') ++i;
  if (r != "/") r += '/';
  r += b.substr(i);
  return r;
}

std::string AbsolutePath(const std::string& base, const std::string& p) {
  std::string joined = (!p.empty() && p[0] == '/') ? p : base + "/" + p;
  std::vector<std::string> parts;
  size_t i = 0;
  while (i <= joined.size()) {
    size_t j = joined.find('/', i);
    if (j == std::string::npos) j = joined.size();
    std::string part = joined.substr(i, j - i);
    if (part == "..") {
      if (!parts.empty()) parts.pop_back();
    } else if (!part.empty() && part != ".") {
      parts.push_back(part);
    }
    i = j + 1;
  }
  std::string out;
  for (auto& part : parts) out += "/" + part;
  return out.empty() ? "/" : out;
}

}  // namespace berth
