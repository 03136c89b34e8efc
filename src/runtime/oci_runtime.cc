#include "runtime/oci_runtime.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>

#include "base/fs.h"
#include "base/reaper.h"
#include "base/subprocess.h"
#include "runtime/common.h"
#include "runtime/host_image.h"
#include "runtime/oci_config.h"
#include "runtime/user.h"

namespace berth::runtime {
namespace {

using nlohmann::json;

constexpr Millis kCreateTimeout{60'000};

// Maps the runtime's error message onto our codes: callers act on NotFound (gone
// already) and FailedPrecondition (wrong state) differently from real failures.
StatusCode CodeForMessage(const std::string& msg) {
  if (msg.find("does not exist") != std::string::npos) return StatusCode::kNotFound;
  if (msg.find("not running") != std::string::npos || msg.find("stopped container") != std::string::npos ||
      msg.find("cannot start") != std::string::npos)
    return StatusCode::kFailedPrecondition;
  if (msg.find("already exists") != std::string::npos || msg.find("id exists") != std::string::npos)
    return StatusCode::kAlreadyExists;
  return StatusCode::kInternal;
}

pid_t ReadPidFile(const std::string& path) {
  auto text = ReadFile(path);
  if (!text.ok()) return 0;
  try {
    return static_cast<pid_t>(std::stol(*text));
  } catch (...) {
    return 0;
  }
}

// `root` and every process below it, from one scan of /proc.
std::vector<pid_t> ProcessTree(pid_t root) {
  std::multimap<pid_t, pid_t> children;
  auto names = ListDir("/proc");
  if (names.ok()) {
    for (const auto& n : *names) {
      if (n.empty() || n.find_first_not_of("0123456789") != std::string::npos) continue;
      pid_t pid = static_cast<pid_t>(std::stol(n));
      auto f = ReadProcStatFields(pid);
      if (f.size() > 1) children.emplace(static_cast<pid_t>(std::stol(f[1])), pid);
    }
  }
  std::vector<pid_t> out = {root};
  for (size_t i = 0; i < out.size(); ++i) {
    auto [b, e] = children.equal_range(out[i]);
    for (auto it = b; it != e; ++it) out.push_back(it->second);
  }
  return out;
}

// RLIMIT_NOFILE for containers: 65536, or our own hard limit when we cannot raise it
// (runc sets the limit from inside the container as root, with our capabilities).
int64_t NofileLimit() {
  constexpr int64_t kWanted = 65536;
  constexpr int kCapSysResource = 24;
  auto status = ReadFile("/proc/self/status");
  if (status.ok()) {
    size_t at = status->find("CapEff:\t");
    if (at != std::string::npos) {
      uint64_t eff = std::stoull(status->substr(at + 8, 16), nullptr, 16);
      if (eff & (uint64_t{1} << kCapSysResource)) return kWanted;
    }
  }
  rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_max == RLIM_INFINITY) return kWanted;
  return std::min<int64_t>(kWanted, static_cast<int64_t>(rl.rlim_max));
}

}  // namespace

OciRuntime::OciRuntime(RuntimeOptions options, std::string binary, CgroupMounts cgroups)
    : options_(std::move(options)),
      binary_(std::move(binary)),
      root_(JoinPath(options_.run_dir, options_.name)),
      cgroups_(std::move(cgroups)),
      nofile_(NofileLimit()) {}

std::string OciRuntime::BundleDir(const std::string& id) const {
  return JoinPath(JoinPath(options_.run_dir, "bundles"), id);
}

std::string OciRuntime::CgroupPath(const std::string& id) const {
  return "/" + options_.cgroup_parent + "/" + id;
}

std::vector<std::string> OciRuntime::Command(std::vector<std::string> args) const {
  std::vector<std::string> argv = {binary_, "--root", root_, "--log-format", "json"};
  argv.insert(argv.end(), std::make_move_iterator(args.begin()), std::make_move_iterator(args.end()));
  return argv;
}

StatusOr<std::string> OciRuntime::RunCommand(std::vector<std::string> args, Millis timeout) const {
  std::string what = options_.name + " " + args[0];
  RunOptions ro;
  ro.timeout = timeout;
  BERTH_ASSIGN_OR_RETURN(RunResult r, Run(Command(std::move(args)), ro));
  if (r.ok()) return std::move(r.out);
  if (r.timed_out) return DeadlineExceeded(what + ": timed out");
  std::string msg = RuntimeErrorMessage(r.err.empty() ? r.out : r.err);
  if (msg.empty()) msg = r.Describe();
  return Status(CodeForMessage(msg), what + ": " + msg);
}

Status OciRuntime::WriteBundle(const ContainerSpec& spec, const std::string& bundle) {
  BERTH_ASSIGN_OR_RETURN(ImageView view, ImageView::ForSpec(spec));
  BERTH_ASSIGN_OR_RETURN(ResolvedUser user, ResolveUser(spec.user, view.ReadFileOrEmpty("/etc/passwd"),
                                                        view.ReadFileOrEmpty("/etc/group")));
  if (spec.args[0].find('/') == std::string::npos) {
    auto found = view.FindProgram(spec.args[0], EnvValue(spec.env, "PATH").value_or(kDefaultPath));
    if (!found.ok()) return InvalidArgument(found.status().message());
  }
  OciInputs in;
  in.spec = &spec;
  in.user = user;
  in.cgroup_parent = options_.cgroup_parent;
  in.nofile = nofile_;
  in.host_image = view.is_host();
  if (view.is_host()) {
    in.host_etc = ScanHostEtc();
    in.root_path = JoinPath(bundle, "rootfs");
    BERTH_RETURN_IF_ERROR(PrepareHostRootfs(in.root_path, in.host_etc, spec.binds));
  } else {
    in.root_path = view.rootfs();
    in.image_has_var = view.HasDirectory("/var");
  }
  return WriteFileAtomic(JoinPath(bundle, "config.json"), BuildOciConfig(in).dump(2), 0600);
}

Status OciRuntime::RunCreate(const ContainerSpec& spec, const std::string& bundle) {
  OutputFds fds;
  BERTH_RETURN_IF_ERROR(OpenOutputs(spec.stdout_path, spec.stderr_path, &fds));
  std::string log = JoinPath(bundle, "runc.log");
  SpawnOptions so;
  // --log is a global flag: errors of the create go there as JSON lines, because its
  // stdout/stderr are the container's own (a pipe would be held open by the container).
  so.argv = {binary_, "--root", root_,      "--log", log,          "--log-format",
             "json",  "create", "--bundle", bundle,  "--pid-file", JoinPath(bundle, "pid"),
             spec.id};
  so.stdout_fd = fds.out;
  so.stderr_fd = fds.err;
  so.cwd = bundle;
  BERTH_ASSIGN_OR_RETURN(pid_t pid, Spawn(so));
  std::optional<int> st = ChildReaper::Get().WaitFor(pid, kCreateTimeout);
  if (!st) {
    kill(pid, SIGKILL);
    ChildReaper::Get().Wait(pid);
    return DeadlineExceeded(options_.name + " create: timed out after " +
                            std::to_string(kCreateTimeout.count() / 1000) + " s");
  }
  if (WIFEXITED(*st) && WEXITSTATUS(*st) == 0) return OkStatus();
  auto text = ReadFile(log);
  std::string msg = text.ok() ? RuntimeErrorMessage(*text) : "";
  if (msg.empty()) msg = DescribeWaitStatus(*st) + " (no error in " + log + ")";
  StatusCode code = CodeForMessage(msg);
  if (code == StatusCode::kNotFound) code = StatusCode::kInternal;  // not about our id
  return Status(code, options_.name + " create: " + msg);
}

Status OciRuntime::Create(const ContainerSpec& spec) {
  BERTH_RETURN_IF_ERROR(ValidateContainerId(spec.id).WithContext("create"));
  const std::string ctx = "create " + spec.id;
  if (spec.args.empty() || spec.args[0].empty()) return InvalidArgument(ctx + ": empty command");
  BERTH_RETURN_IF_ERROR(MakeDirs(JoinPath(options_.run_dir, "bundles"), 0711).WithContext(ctx));
  std::string bundle = BundleDir(spec.id);
  if (mkdir(bundle.c_str(), 0711) != 0) {
    if (errno == EEXIST) return AlreadyExists(ctx + ": container exists");
    return ErrnoStatus(ctx + ": mkdir " + bundle);
  }
  Status s = WriteBundle(spec, bundle);
  if (s.ok()) s = RunCreate(spec, bundle);
  if (!s.ok()) {
    // runc undoes its own partial work; the bundle and an empty cgroup are ours.
    (void)RemoveAll(bundle);
    if (s.code() != StatusCode::kAlreadyExists) (void)RemoveCgroup(cgroups_, CgroupPath(spec.id));
    return s.WithContext(ctx);
  }
  return OkStatus();
}

// What `runc start` does for a created container, without starting runc (~20-60 ms of
// Go start-up on a cold-start path): runc's init is blocked opening its exec FIFO for
// writing; opening it for reading releases the init, which writes "0" and execs the
// program; then the FIFO is removed, which is how runc itself tells "created" from
// "running". Returns false when it cannot be done this way (then runc start is used).
bool OciRuntime::StartThroughExecFifo(const std::string& id, pid_t pid) const {
  if (options_.name != "runc" || pid <= 0 || !ProcessAlive(pid, 0)) return false;
  std::string fifo = JoinPath(JoinPath(root_, id), "exec.fifo");
  int fd = open(fifo.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return false;
  char buf[8];
  bool got = false;
  for (int i = 0; i < 2000 && !got; ++i) {  // the init writes at once; give up after ~2 s
    ssize_t n = read(fd, buf, sizeof buf);
    if (n > 0) got = true;
    else if (n == 0 || errno == EAGAIN) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    else break;
  }
  close(fd);
  if (!got) return false;
  unlink(fifo.c_str());
  return true;
}

StatusOr<ContainerState> OciRuntime::Start(const std::string& id) {
  BERTH_RETURN_IF_ERROR(ValidateContainerId(id).WithContext("start"));
  const std::string ctx = "start " + id;
  pid_t created = ReadPidFile(JoinPath(BundleDir(id), "pid"));
  if (!StartThroughExecFifo(id, created)) BERTH_RETURN_IF_ERROR(RunCommand({"start", id}).status().WithContext(ctx));
  pid_t pid = ReadPidFile(JoinPath(BundleDir(id), "pid"));
  if (pid <= 0) return State(id);
  return ContainerState{id, ContainerStatus::kRunning, pid, ProcessStartTime(pid)};
}

ContainerState OciRuntime::FromRuncState(const std::string& id, const std::string& status,
                                         int64_t pid) const {
  ContainerState s;
  s.id = id;
  if (status == "created" || status == "creating") {
    s.status = ContainerStatus::kCreated;
  } else if (status == "running" || status == "paused") {
    s.status = ContainerStatus::kRunning;
  } else {
    return s;  // stopped: no pid
  }
  s.pid = static_cast<pid_t>(pid);
  s.pid_start_time = ProcessStartTime(s.pid);
  return s;
}

StatusOr<ContainerState> OciRuntime::State(const std::string& id) {
  BERTH_RETURN_IF_ERROR(ValidateContainerId(id).WithContext("state"));
  auto out = RunCommand({"state", id});
  if (!out.ok()) {
    if (out.status().code() == StatusCode::kNotFound && PathExists(BundleDir(id)))
      return ContainerState{id, ContainerStatus::kStopped, 0, 0};  // an interrupted Create
    return out.status().WithContext("state " + id);
  }
  json j = json::parse(*out, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return Internal("state " + id + ": unexpected " + options_.name + " output");
  return FromRuncState(id, j.value("status", ""), j.value("pid", int64_t{0}));
}

StatusOr<std::vector<ContainerState>> OciRuntime::List() {
  BERTH_ASSIGN_OR_RETURN(std::string out, RunCommand({"list", "--format", "json"}));
  json j = json::parse(out, nullptr, /*allow_exceptions=*/false);
  if (!j.is_array() && !j.is_null()) return Internal("list: unexpected " + options_.name + " output");
  std::vector<ContainerState> states;
  std::map<std::string, bool> seen;
  if (j.is_array()) {
    for (const auto& c : j) {
      if (!c.is_object() || !c.contains("id")) continue;
      std::string id = c.value("id", "");
      seen[id] = true;
      states.push_back(FromRuncState(id, c.value("status", ""), c.value("pid", int64_t{0})));
    }
  }
  BERTH_ASSIGN_OR_RETURN(auto bundles, ListDir(JoinPath(options_.run_dir, "bundles")));
  for (const auto& id : bundles) {
    if (!seen.count(id) && ValidateContainerId(id).ok())
      states.push_back(ContainerState{id, ContainerStatus::kStopped, 0, 0});
  }
  return states;
}

Status OciRuntime::Kill(const std::string& id, int signal, bool all) {
  BERTH_RETURN_IF_ERROR(ValidateContainerId(id).WithContext("kill"));
  std::vector<std::string> args = {"kill"};
  if (all) args.push_back("--all");
  args.push_back(id);
  args.push_back(std::to_string(signal));
  return RunCommand(std::move(args)).status().WithContext("kill " + id);
}

Status OciRuntime::Delete(const std::string& id) {
  BERTH_RETURN_IF_ERROR(ValidateContainerId(id).WithContext("delete"));
  const std::string ctx = "delete " + id;
  // Nothing was ever created (the usual case before a first start): skip runc's ~20 ms.
  if (!PathExists(JoinPath(root_, id)) && !PathExists(BundleDir(id)))
    return RemoveCgroup(cgroups_, CgroupPath(id)).WithContext(ctx);
  // Kill first and wait for the exit here: `runc delete --force` of a running container
  // polls for it every 100 ms, which would make every Delete take 100-200 ms. The pid is
  // only waited for, after runc (which checks the pid's start time) accepted the kill.
  pid_t pid = ReadPidFile(JoinPath(BundleDir(id), "pid"));
  if (pid > 0 && ProcessAlive(pid, 0) && RunCommand({"kill", id, std::to_string(SIGKILL)}).ok()) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    while (ProcessAlive(pid, 0) && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  auto r = RunCommand({"delete", "--force", id});
  if (!r.ok() && r.status().code() != StatusCode::kNotFound) return r.status().WithContext(ctx);
  BERTH_RETURN_IF_ERROR(RemoveAll(BundleDir(id)).WithContext(ctx));
  return RemoveCgroup(cgroups_, CgroupPath(id)).WithContext(ctx);
}

void OciRuntime::KillExecLeftovers(const std::string& pid_file) const {
  pid_t pid = ReadPidFile(pid_file);
  if (pid <= 0) return;
  for (pid_t p : ProcessTree(pid)) kill(p, SIGKILL);
}

StatusOr<ExecResult> OciRuntime::Exec(const std::string& id, const std::vector<std::string>& argv, Millis timeout,
                                   size_t max_output) {
  BERTH_RETURN_IF_ERROR(ValidateContainerId(id).WithContext("exec"));
  const std::string ctx = "exec " + id;
  if (argv.empty()) return InvalidArgument(ctx + ": empty command");
  std::string pid_file = JoinPath(BundleDir(id), "exec-" + std::to_string(++exec_seq_) + ".pid");
  std::vector<std::string> args = {"exec", "--pid-file", pid_file, id};
  args.insert(args.end(), argv.begin(), argv.end());
  RunOptions ro;
  ro.timeout = timeout;
  ro.max_output = max_output + 1;  // one more byte tells that there was more
  auto r = Run(Command(std::move(args)), ro);
  if (r.ok() && r->timed_out) KillExecLeftovers(pid_file);
  unlink(pid_file.c_str());
  if (!r.ok()) return r.status().WithContext(ctx);
  ExecResult res;
  res.timed_out = r->timed_out;
  res.exit_code = r->timed_out ? -1 : r->exit_code();
  if (res.exit_code != 0 && !res.timed_out) {
    // The runtime's own failures (no such container, not running) are errors, not a
    // failing command: its JSON log line is the last line of stderr.
    std::string msg = RuntimeErrorMessage(r->err);
    StatusCode code = CodeForMessage(msg);
    if (r->err.find("\"level\":\"error\"") != std::string::npos &&
        (code == StatusCode::kNotFound || code == StatusCode::kFailedPrecondition))
      return Status(code, ctx + ": " + options_.name + " exec: " + msg);
  }
  res.output = r->out + r->err;
  res.truncated = res.output.size() > max_output;
  if (res.truncated) res.output.resize(max_output);
  return res;
}

StatusOr<Usage> OciRuntime::Stats(const std::string& id) {
  BERTH_RETURN_IF_ERROR(ValidateContainerId(id).WithContext("stats"));
  auto usage = ReadCgroupUsage(cgroups_, CgroupPath(id));
  if (!usage.ok()) return usage.status().WithContext("stats " + id);
  return usage;
}

}  // namespace berth::runtime
