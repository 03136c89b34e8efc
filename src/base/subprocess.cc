#include "base/subprocess.h"

#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "base/reaper.h"

extern char** environ;

namespace berth {
namespace {

struct CStrings {
  std::vector<std::string> storage;
  std::vector<char*> ptrs;
  explicit CStrings(const std::vector<std::string>& v) : storage(v) {
    for (auto& s : storage) ptrs.push_back(s.data());
    ptrs.push_back(nullptr);
  }
};

void WriteErrno(int fd, int err) {
  ssize_t r = write(fd, &err, sizeof err);
  (void)r;
}

}  // namespace

StatusOr<std::string> FindProgram(const std::string& name) {
  if (name.empty()) return InvalidArgument("empty program name");
  if (name.find('/') != std::string::npos) {
    if (access(name.c_str(), X_OK) == 0) return name;
    return ErrnoStatus("program " + name);
  }
  const char* path = getenv("PATH");
  std::string p = path ? path : "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  size_t start = 0;
  while (start <= p.size()) {
    size_t end = p.find(':', start);
    if (end == std::string::npos) end = p.size();
    std::string dir = p.substr(start, end - start);
    if (dir.empty()) dir = ".";
    std::string candidate = dir + "/" + name;
    struct stat st;
    if (stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) && access(candidate.c_str(), X_OK) == 0)
      return candidate;
    start = end + 1;
  }
  return NotFound("program \"" + name + "\" not found in PATH");
}

StatusOr<pid_t> Spawn(const SpawnOptions& o) {
  if (o.argv.empty()) return InvalidArgument("spawn: empty argv");
  BERTH_ASSIGN_OR_RETURN(std::string exe, FindProgram(o.argv[0]));
  CStrings argv(o.argv);
  std::optional<CStrings> envp;
  if (o.env) envp.emplace(*o.env);
  char** env = envp ? envp->ptrs.data() : environ;

  int err_pipe[2];
  if (pipe2(err_pipe, O_CLOEXEC) != 0) return ErrnoStatus("spawn: pipe");
  int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (devnull < 0) {
    close(err_pipe[0]);
    close(err_pipe[1]);
    return ErrnoStatus("spawn: open /dev/null");
  }
  int fds[3] = {o.stdin_fd >= 0 ? o.stdin_fd : devnull, o.stdout_fd >= 0 ? o.stdout_fd : devnull,
                o.stderr_fd >= 0 ? o.stderr_fd : devnull};
  std::vector<gid_t> groups = o.groups.value_or(std::vector<gid_t>{});

  // Make sure the reaper (and its SIGCHLD mask) exists before the child can exit.
  ChildReaper::Get();

  pid_t pid = fork();
  if (pid < 0) {
    int e = errno;
    close(err_pipe[0]);
    close(err_pipe[1]);
    close(devnull);
    return ErrnoStatus("spawn " + o.argv[0] + ": fork", e);
  }
  if (pid == 0) {
    // Child: async-signal-safe calls only until exec.
    sigset_t empty;
    sigemptyset(&empty);
    sigprocmask(SIG_SETMASK, &empty, nullptr);
    for (int s = 1; s < NSIG; ++s) signal(s, SIG_DFL);
    // dup stdio fds out of the 0..2 range first so dup2 cannot clobber a source.
    int moved[3];
    for (int i = 0; i < 3; ++i) {
      moved[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, 10);
      if (moved[i] < 0) { WriteErrno(err_pipe[1], errno); _exit(127); }
    }
    for (int i = 0; i < 3; ++i) {
      if (dup2(moved[i], i) < 0) { WriteErrno(err_pipe[1], errno); _exit(127); }
    }
    if (o.new_session && setsid() < 0) { WriteErrno(err_pipe[1], errno); _exit(127); }
    if (!o.cwd.empty() && chdir(o.cwd.c_str()) != 0) { WriteErrno(err_pipe[1], errno); _exit(127); }
    if (o.gid) {
      if (setgroups(groups.size(), groups.data()) != 0) { WriteErrno(err_pipe[1], errno); _exit(127); }
      if (setresgid(*o.gid, *o.gid, *o.gid) != 0) { WriteErrno(err_pipe[1], errno); _exit(127); }
    }
    if (o.uid && setresuid(*o.uid, *o.uid, *o.uid) != 0) { WriteErrno(err_pipe[1], errno); _exit(127); }
    if (o.no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
      WriteErrno(err_pipe[1], errno);
      _exit(127);
    }
    // Close everything but stdio and the error pipe (which is O_CLOEXEC).
    unsigned keep = static_cast<unsigned>(err_pipe[1]);
    if (keep > 3) close_range(3, keep - 1, 0);
    close_range(keep + 1, ~0U, 0);
    execve(exe.c_str(), argv.ptrs.data(), env);
    WriteErrno(err_pipe[1], errno);
    _exit(127);
  }
  close(err_pipe[1]);
  close(devnull);
  int child_errno = 0;
  ssize_t n;
  do n = read(err_pipe[0], &child_errno, sizeof child_errno);
  while (n < 0 && errno == EINTR);
  close(err_pipe[0]);
  if (n == static_cast<ssize_t>(sizeof child_errno)) {
    ChildReaper::Get().Wait(pid);
    return ErrnoStatus("start " + exe, child_errno);
  }
  return pid;
}

bool RunResult::ok() const { return !timed_out && WIFEXITED(wait_status) && WEXITSTATUS(wait_status) == 0; }

int RunResult::exit_code() const {
  if (WIFEXITED(wait_status)) return WEXITSTATUS(wait_status);
  if (WIFSIGNALED(wait_status)) return 128 + WTERMSIG(wait_status);
  return -1;
}

std::string DescribeWaitStatus(int st) {
  if (WIFEXITED(st)) return "exit " + std::to_string(WEXITSTATUS(st));
  if (WIFSIGNALED(st)) {
    int sig = WTERMSIG(st);
    const char* name = strsignal(sig);
    return "signal " + std::to_string(sig) + (name ? std::string(" (") + name + ")" : "");
  }
  return "status " + std::to_string(st);
}

std::string RunResult::Describe() const {
  std::string d = timed_out ? "timed out" : DescribeWaitStatus(wait_status);
  std::string_view e = err.empty() ? std::string_view(out) : std::string_view(err);
  while (!e.empty() && (e.back() == '\n' || e.back() == ' ')) e.remove_suffix(1);
  size_t nl = e.rfind('\n');
  if (nl != std::string_view::npos) e.remove_prefix(nl + 1);
  if (e.size() > 500) e = e.substr(e.size() - 500);
  if (!e.empty()) {
    d += ": ";
    d += e;
  }
  return d;
}

StatusOr<RunResult> Run(const std::vector<std::string>& argv, const RunOptions& ro) {
  int in[2], out[2], err[2];
  if (pipe2(in, O_CLOEXEC) != 0) return ErrnoStatus("run: pipe");
  if (pipe2(out, O_CLOEXEC) != 0) { close(in[0]); close(in[1]); return ErrnoStatus("run: pipe"); }
  if (pipe2(err, O_CLOEXEC) != 0) {
    close(in[0]); close(in[1]); close(out[0]); close(out[1]);
    return ErrnoStatus("run: pipe");
  }
  SpawnOptions so;
  so.argv = argv;
  so.env = ro.env;
  so.cwd = ro.cwd;
  so.stdin_fd = in[0];
  so.stdout_fd = out[1];
  so.stderr_fd = err[1];
  auto pid = Spawn(so);
  close(in[0]);
  close(out[1]);
  close(err[1]);
  if (!pid.ok()) {
    close(in[1]); close(out[0]); close(err[0]);
    return pid.status();
  }
  RunResult result;
  // Feed stdin (small inputs only: written before reading, pipes hold 64 KiB).
  size_t off = 0;
  fcntl(in[1], F_SETFL, O_NONBLOCK);
  int in_fd = ro.stdin_data.empty() ? -1 : in[1];
  if (in_fd < 0) close(in[1]);
  fcntl(out[0], F_SETFL, O_NONBLOCK);
  fcntl(err[0], F_SETFL, O_NONBLOCK);
  int open_fds[2] = {out[0], err[0]};
  std::string* sinks[2] = {&result.out, &result.err};
  auto deadline = std::chrono::steady_clock::now() + ro.timeout;
  bool killed = false;
  while (open_fds[0] >= 0 || open_fds[1] >= 0 || in_fd >= 0) {
    pollfd pfds[3];
    int n = 0;
    int map[3];
    for (int i = 0; i < 2; ++i)
      if (open_fds[i] >= 0) { pfds[n] = {open_fds[i], POLLIN, 0}; map[n++] = i; }
    if (in_fd >= 0) { pfds[n] = {in_fd, POLLOUT, 0}; map[n++] = 2; }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      if (!killed) { kill(*pid, SIGKILL); killed = true; result.timed_out = true; }
      break;
    }
    int r = poll(pfds, n, static_cast<int>(std::min<int64_t>(left.count(), 1000)));
    if (r < 0 && errno != EINTR) break;
    for (int k = 0; k < n && r > 0; ++k) {
      if (!pfds[k].revents) continue;
      int i = map[k];
      if (i == 2) {
        ssize_t w = write(in_fd, ro.stdin_data.data() + off, ro.stdin_data.size() - off);
        if (w > 0) off += static_cast<size_t>(w);
        if (w < 0 && errno != EAGAIN) off = ro.stdin_data.size();
        if (off >= ro.stdin_data.size()) { close(in_fd); in_fd = -1; }
        continue;
      }
      char buf[8192];
      ssize_t got = read(open_fds[i], buf, sizeof buf);
      if (got > 0) {
        size_t room = ro.max_output > sinks[i]->size() ? ro.max_output - sinks[i]->size() : 0;
        sinks[i]->append(buf, std::min(room, static_cast<size_t>(got)));
      } else if (got == 0 || (errno != EAGAIN && errno != EINTR)) {
        close(open_fds[i]);
        open_fds[i] = -1;
      }
    }
  }
  for (int fd : open_fds) if (fd >= 0) close(fd);
  if (in_fd >= 0) close(in_fd);
  if (killed) {
    result.wait_status = ChildReaper::Get().Wait(*pid);
  } else {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    auto st = ChildReaper::Get().WaitFor(*pid, std::max(left, std::chrono::milliseconds(1)));
    if (!st) {
      kill(*pid, SIGKILL);
      result.timed_out = true;
      st = ChildReaper::Get().Wait(*pid);
    }
    result.wait_status = *st;
  }
  return result;
}

}  // namespace berth
