#include "supervisor/secrets.h"

#include <sys/random.h>
#include <unistd.h>

#include <cerrno>

#include "base/fs.h"

namespace berth::supervisor {

StatusOr<std::string> RandomUrlSafe(int n) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  static_assert(sizeof kAlphabet - 1 == 64, "6 bits per character: no modulo bias");
  if (n <= 0 || n > 65536) return InvalidArgument("secret length must be 1-65536");
  std::string bytes(static_cast<size_t>(n), '\0');
  size_t off = 0;
  while (off < bytes.size()) {
    ssize_t got = getrandom(bytes.data() + off, bytes.size() - off, 0);
    if (got < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus("getrandom");
    }
    off += static_cast<size_t>(got);
  }
  for (auto& c : bytes) c = kAlphabet[static_cast<unsigned char>(c) & 63];
  return bytes;
}

Status EnsureSecrets(const spec::Project& project, const std::string& env, const Layout& layout) {
  if (project.secrets.empty()) return OkStatus();
  std::string dir = layout.SecretsDir(env);
  BERTH_RETURN_IF_ERROR(MakeDirs(layout.state_dir + "/secrets", 0700));
  BERTH_RETURN_IF_ERROR(MakeDirs(dir, 0700));
  for (const auto& [name, s] : project.secrets) {
    std::string path = layout.SecretFile(env, name);
    if (PathExists(path)) continue;
    BERTH_ASSIGN_OR_RETURN(std::string value, RandomUrlSafe(s.generate > 0 ? s.generate : 32));
    Status st = WriteFileAtomic(path, value, 0600);
    if (!st.ok()) return st.WithContext("secret " + name);
  }
  return OkStatus();
}

Status ShareSecrets(const std::string& env, const std::vector<std::string>& names, uint32_t uid, uint32_t gid,
                    const Layout& layout) {
  if (names.empty() || uid == 0) return OkStatus();
  std::string dir = layout.SecretsDirFor(env, uid);
  BERTH_RETURN_IF_ERROR(MakeDirs(dir, 0500));
  for (const auto& name : names) {
    std::string path = dir + "/" + name;
    BERTH_ASSIGN_OR_RETURN(std::string value, ReadFile(layout.SecretFile(env, name)));
    BERTH_RETURN_IF_ERROR(WriteFileAtomic(path, value, 0400));
    if (chown(path.c_str(), uid, gid) != 0) return ErrnoStatus("chown secret " + name);
  }
  if (chown(dir.c_str(), uid, gid) != 0) return ErrnoStatus("chown " + dir);
  return OkStatus();
}

std::optional<std::string> ReadSecret(const Layout& layout, const std::string& env, const std::string& name) {
  auto v = ReadFile(layout.SecretFile(env, name));
  if (!v.ok()) return std::nullopt;
  return *v;
}

}  // namespace berth::supervisor
