// Starting programs: always an argv array, never a shell. Exits are collected through
// ChildReaper, so these may be called from any thread.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"

namespace berth {

struct SpawnOptions {
  std::vector<std::string> argv;  // argv[0] without '/' is looked up in PATH
  std::optional<std::vector<std::string>> env;  // KEY=VALUE; nullopt inherits ours
  std::string cwd;                               // empty: ours
  int stdin_fd = -1;   // -1: /dev/null
  int stdout_fd = -1;  // -1: /dev/null
  int stderr_fd = -1;  // -1: /dev/null
  bool new_session = false;  // setsid(): own process group, no controlling tty
  std::optional<uid_t> uid;
  std::optional<gid_t> gid;
  std::optional<std::vector<gid_t>> groups;  // supplementary groups (set with gid)
  bool no_new_privs = false;
};

// Starts a child process. It gets default signal dispositions, an empty signal mask and
// only fds 0-2. An exec failure is reported here (not as an exit status).
StatusOr<pid_t> Spawn(const SpawnOptions& options);

struct RunResult {
  int wait_status = 0;  // as from waitpid
  std::string out;
  std::string err;
  bool timed_out = false;

  bool ok() const;        // exited with 0
  int exit_code() const;  // exit code, or 128+signal
  // "exit 1: <last line of stderr>" etc., for error messages.
  std::string Describe() const;
};

struct RunOptions {
  std::optional<std::vector<std::string>> env;
  std::string cwd;
  std::string stdin_data;
  std::chrono::milliseconds timeout{60'000};  // then SIGKILL; timed_out is set
  size_t max_output = 1 << 20;                // per stream; the rest is dropped
};

// Runs argv to completion capturing stdout and stderr. Not for programs that leave
// children holding their stdio (such as `runc create`): give those fds via Spawn.
StatusOr<RunResult> Run(const std::vector<std::string>& argv, const RunOptions& options = {});

// Resolves a program name through PATH (or checks a path). NotFound names the program.
StatusOr<std::string> FindProgram(const std::string& name);

// Human form of a wait status: "exit 0", "exit 3", "signal 9 (Killed)".
std::string DescribeWaitStatus(int wait_status);

}  // namespace berth
