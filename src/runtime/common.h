// Helpers shared by the runtime drivers: id validation, the process environment, the
// container's stdout/stderr, /proc parsing.
//
// Thread-safety: free functions without shared state.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace berth::runtime {

inline constexpr char kDefaultPath[] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

// Ids become file names, runc ids and cgroup directories: 1-128 chars of [a-z0-9._-],
// starting with [a-z0-9].
Status ValidateContainerId(std::string_view id);

// The value of KEY in a KEY=VALUE list (the last one wins, as in execve users).
std::optional<std::string> EnvValue(const std::vector<std::string>& env, std::string_view key);

// The absolute directories of a PATH value, in order (empty and relative entries mean
// nothing inside a container and are dropped).
std::vector<std::string> PathDirs(const std::string& path_env);

// A regular file with an execute bit, after following symlinks on the host.
bool IsExecutableFile(const std::string& host_path);

// `env` plus PATH (kDefaultPath) and HOME (`home`) when they are absent.
std::vector<std::string> WithDefaultEnv(std::vector<std::string> env, const std::string& home);

// The container's stdout and stderr descriptors (O_CLOEXEC; the caller closes them). A
// FIFO is opened O_RDWR: it never blocks for want of a reader and the process never gets
// SIGPIPE while berthd is away. A regular file (created if absent) is appended to. An
// empty path is /dev/null. The same path for both gives one shared open file.
struct OutputFds {
  int out = -1;
  int err = -1;
  OutputFds() = default;
  OutputFds(const OutputFds&) = delete;
  OutputFds& operator=(const OutputFds&) = delete;
  ~OutputFds();
};
Status OpenOutputs(const std::string& stdout_path, const std::string& stderr_path, OutputFds* fds);

// The fields of /proc/PID/stat after the command name, starting with field 3 (state).
// Empty when the process does not exist.
std::vector<std::string> ReadProcStatFields(pid_t pid);
// Parses the text of a /proc/PID/stat file the same way.
std::vector<std::string> ParseProcStatFields(std::string_view stat_text);

// True when `pid` exists, is not a zombie and started at `start_time` (PID reuse check).
bool ProcessAlive(pid_t pid, int64_t start_time);

// The error message runc or crun reports: the "msg" of the last error-level JSON log
// line ({"level":"error","msg":...}), else of the last logfmt line (msg="..."), else the
// last non-empty line. Empty when `log` holds none.
std::string RuntimeErrorMessage(std::string_view log);

}  // namespace berth::runtime
