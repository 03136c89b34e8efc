#include "runtime/common.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <charconv>
#include <nlohmann/json.hpp>

#include "base/fs.h"
#include "runtime/runtime.h"

namespace berth::runtime {
namespace {

StatusOr<int> OpenOutput(const std::string& path) {
  if (path.empty()) {
    int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (fd < 0) return ErrnoStatus("open /dev/null");
    return fd;
  }
  struct stat st;
  int flags = (stat(path.c_str(), &st) == 0 && S_ISFIFO(st.st_mode))
                  ? O_RDWR | O_CLOEXEC
                  : O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC;
  int fd = open(path.c_str(), flags, 0640);
  if (fd < 0) return ErrnoStatus("open " + path);
  return fd;
}

std::string_view LastNonEmptyLine(std::string_view text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' '))
    text.remove_suffix(1);
  size_t nl = text.rfind('\n');
  return nl == std::string_view::npos ? text : text.substr(nl + 1);
}

// msg="..." (with \" escapes) or msg=word from a logrus text line.
std::optional<std::string> LogfmtMsg(std::string_view line) {
  size_t at = line.find(" msg=");
  if (at == std::string_view::npos) return std::nullopt;
  std::string_view v = line.substr(at + 5);
  std::string out;
  if (v.empty() || v[0] != '"') return std::string(v.substr(0, v.find(' ')));
  for (size_t i = 1; i < v.size() && v[i] != '"'; ++i) {
    if (v[i] == '\\' && i + 1 < v.size()) ++i;
    out += v[i];
  }
  return out;
}

}  // namespace

Status ValidateContainerId(std::string_view id) {
  if (id.empty() || id.size() > 128) return InvalidArgument("container id must be 1-128 characters");
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
    if (!ok) return InvalidArgument("container id \"" + std::string(id) + "\": only [a-z0-9._-] allowed");
  }
  if (id[0] == '.' || id[0] == '_' || id[0] == '-')
    return InvalidArgument("container id \"" + std::string(id) + "\" must start with [a-z0-9]");
  return OkStatus();
}

std::optional<std::string> EnvValue(const std::vector<std::string>& env, std::string_view key) {
  std::optional<std::string> value;
  for (const auto& kv : env) {
    if (kv.size() > key.size() && kv.compare(0, key.size(), key) == 0 && kv[key.size()] == '=')
      value = kv.substr(key.size() + 1);
  }
  return value;
}

std::vector<std::string> PathDirs(const std::string& path_env) {
  std::vector<std::string> dirs;
  size_t start = 0;
  while (start <= path_env.size()) {
    size_t end = path_env.find(':', start);
    if (end == std::string::npos) end = path_env.size();
    std::string dir = path_env.substr(start, end - start);
    if (!dir.empty() && dir[0] == '/') dirs.push_back(std::move(dir));
    start = end + 1;
  }
  return dirs;
}

bool IsExecutableFile(const std::string& host_path) {
  struct stat st;
  return stat(host_path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0111) != 0;
}

std::vector<std::string> WithDefaultEnv(std::vector<std::string> env, const std::string& home) {
  if (!EnvValue(env, "PATH")) env.push_back(std::string("PATH=") + kDefaultPath);
  if (!EnvValue(env, "HOME")) env.push_back("HOME=" + home);
  return env;
}

OutputFds::~OutputFds() {
  if (err >= 0 && err != out) close(err);
  if (out >= 0) close(out);
}

Status OpenOutputs(const std::string& stdout_path, const std::string& stderr_path, OutputFds* fds) {
  BERTH_ASSIGN_OR_RETURN(fds->out, OpenOutput(stdout_path));
  if (stderr_path == stdout_path) {
    fds->err = fds->out;
    return OkStatus();
  }
  BERTH_ASSIGN_OR_RETURN(fds->err, OpenOutput(stderr_path));
  return OkStatus();
}

std::vector<std::string> ParseProcStatFields(std::string_view text) {
  std::vector<std::string> fields;
  size_t paren = text.rfind(')');  // the command name may contain spaces and ')'
  if (paren == std::string_view::npos) return fields;
  std::string_view rest = text.substr(paren + 1);
  size_t i = 0;
  while (i < rest.size()) {
    while (i < rest.size() && (rest[i] == ' ' || rest[i] == '\n')) ++i;
    size_t j = i;
    while (j < rest.size() && rest[j] != ' ' && rest[j] != '\n') ++j;
    if (j > i) fields.emplace_back(rest.substr(i, j - i));
    i = j;
  }
  return fields;
}

std::vector<std::string> ReadProcStatFields(pid_t pid) {
  if (pid <= 0) return {};
  auto text = ReadFile("/proc/" + std::to_string(pid) + "/stat");
  if (!text.ok()) return {};
  return ParseProcStatFields(*text);
}

int64_t ProcessStartTime(pid_t pid) {
  auto f = ReadProcStatFields(pid);
  if (f.size() < 20) return 0;
  int64_t v = 0;
  std::from_chars(f[19].data(), f[19].data() + f[19].size(), v);  // field 22
  return v;
}

bool ProcessAlive(pid_t pid, int64_t start_time) {
  auto f = ReadProcStatFields(pid);
  if (f.size() < 20 || f[0] == "Z" || f[0] == "X") return false;
  return start_time == 0 || f[19] == std::to_string(start_time);
}

std::string RuntimeErrorMessage(std::string_view log) {
  std::string last_error;
  std::string_view text = log;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    if (line.empty() || line[0] != '{') continue;
    auto j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (!j.is_object() || !j.contains("msg") || !j["msg"].is_string()) continue;
    std::string level = j.value("level", "");
    if (level == "error" || level == "fatal") last_error = j["msg"].get<std::string>();
  }
  if (!last_error.empty()) return last_error;
  std::string_view line = LastNonEmptyLine(log);
  if (!line.empty() && line[0] == '{') {
    auto j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (j.is_object() && j.contains("msg") && j["msg"].is_string()) return j["msg"].get<std::string>();
  }
  if (auto msg = LogfmtMsg(line)) return *msg;
  return std::string(line);
}

}  // namespace berth::runtime
