#include "runtime/process_runtime.h"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <thread>

#include "base/fs.h"
#include "base/subprocess.h"
#include "runtime/common.h"
#include "runtime/user.h"

namespace berth::runtime {
namespace {

using nlohmann::json;


json SpecToJson(const ContainerSpec& s) {
  json binds = json::array();
  for (const auto& b : s.binds)
    binds.push_back({{"source", b.source}, {"target", b.target}, {"ro", b.read_only}});
  json tmpfs = json::array();
  for (const auto& t : s.tmpfs)
    tmpfs.push_back({{"target", t.target}, {"ro", t.read_only}, {"size", t.tmpfs_size}});
  return {{"id", s.id},
          {"image", s.image},
          {"args", s.args},
          {"env", s.env},
          {"working_dir", s.working_dir},
          {"user", s.user},
          {"hostname", s.hostname},
          {"binds", binds},
          {"tmpfs", tmpfs},
          {"limits", {{"cpus", s.limits.cpus}, {"memory", s.limits.memory_bytes}, {"pids", s.limits.pids}}},
          {"netns_path", s.netns_path},
          {"stdout_path", s.stdout_path},
          {"stderr_path", s.stderr_path}};
}

ContainerSpec SpecFromJson(const json& j) {
  ContainerSpec s;
  s.id = j.value("id", "");
  s.image = j.value("image", "");
  s.args = j.value("args", std::vector<std::string>{});
  s.env = j.value("env", std::vector<std::string>{});
  s.working_dir = j.value("working_dir", "");
  s.user = j.value("user", "");
  s.hostname = j.value("hostname", "");
  for (const auto& b : j.value("binds", json::array()))
    s.binds.push_back({b.value("source", ""), b.value("target", ""), b.value("ro", false)});
  for (const auto& t : j.value("tmpfs", json::array())) {
    spec::Mount m;
    m.type = spec::MountType::kTmpfs;
    m.target = t.value("target", "");
    m.read_only = t.value("ro", false);
    m.tmpfs_size = t.value("size", int64_t{0});
    s.tmpfs.push_back(m);
  }
  json limits = j.value("limits", json::object());
  s.limits.cpus = limits.value("cpus", 0.0);
  s.limits.memory_bytes = limits.value("memory", int64_t{0});
  s.limits.pids = limits.value("pids", int64_t{0});
  s.netns_path = j.value("netns_path", "");
  s.stdout_path = j.value("stdout_path", "");
  s.stderr_path = j.value("stderr_path", "");
  return s;
}

// args[0] through the spec's PATH on the host (not berthd's own PATH).
StatusOr<std::string> FindHostProgram(const std::string& name, const std::string& path_env) {
  if (name.find('/') != std::string::npos) return name;
  for (const auto& dir : PathDirs(path_env)) {
    std::string candidate = JoinPath(dir, name);
    if (IsExecutableFile(candidate)) return candidate;
  }
  return InvalidArgument("program \"" + name + "\" not found in PATH");
}

std::string ReadOrEmpty(const std::string& path) {
  auto text = ReadFile(path);
  return text.ok() ? *text : "";
}

// The user to run as (nullopt: ourselves). Only root can switch users.
StatusOr<std::optional<ResolvedUser>> UserFor(const ContainerSpec& spec) {
  if (spec.user.empty() || geteuid() != 0) return std::optional<ResolvedUser>();
  BERTH_ASSIGN_OR_RETURN(ResolvedUser u,
                         ResolveUser(spec.user, ReadOrEmpty("/etc/passwd"), ReadOrEmpty("/etc/group")));
  return std::optional<ResolvedUser>(u);
}

int64_t FieldInt(const std::vector<std::string>& f, size_t i) {
  return i < f.size() ? std::strtoll(f[i].c_str(), nullptr, 10) : 0;
}

}  // namespace

ProcessRuntime::ProcessRuntime(RuntimeOptions options)
    : options_(std::move(options)), dir_(JoinPath(options_.run_dir, "process")) {}

std::string ProcessRuntime::StatePath(const std::string& id) const {
  return JoinPath(dir_, id + ".json");
}

StatusOr<ProcessRuntime::Record> ProcessRuntime::Load(const std::string& id) const {
  BERTH_RETURN_IF_ERROR(ValidateContainerId(id));
  std::string path = StatePath(id);
  if (!PathExists(path)) return NotFound("no container " + id);
  BERTH_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return Internal("corrupt state file " + path);
  Record r;
  r.spec = SpecFromJson(j.value("spec", json::object()));
  r.pid = static_cast<pid_t>(j.value("pid", int64_t{0}));
  r.pid_start_time = j.value("pid_start_time", int64_t{0});
  return r;
}

Status ProcessRuntime::Save(const Record& r) const {
  json j = {{"spec", SpecToJson(r.spec)}, {"pid", r.pid}, {"pid_start_time", r.pid_start_time}};
  return WriteFileAtomic(StatePath(r.spec.id), j.dump(), 0600);
}

ContainerState ProcessRuntime::StateOf(const Record& r) const {
  ContainerState s;
  s.id = r.spec.id;
  if (r.pid == 0) {
    s.status = ContainerStatus::kCreated;
  } else if (r.pid_start_time != 0 && ProcessAlive(r.pid, r.pid_start_time)) {
    s.status = ContainerStatus::kRunning;
    s.pid = r.pid;
    s.pid_start_time = r.pid_start_time;
  }
  return s;
}

Status ProcessRuntime::Create(const ContainerSpec& spec) {
  BERTH_RETURN_IF_ERROR(ValidateContainerId(spec.id).WithContext("create"));
  const std::string ctx = "create " + spec.id;
  if (spec.args.empty() || spec.args[0].empty()) return InvalidArgument(ctx + ": empty command");
  BERTH_RETURN_IF_ERROR(FindHostProgram(spec.args[0], EnvValue(spec.env, "PATH").value_or(kDefaultPath))
                            .status()
                            .WithContext(ctx));
  BERTH_RETURN_IF_ERROR(UserFor(spec).status().WithContext(ctx));
  BERTH_RETURN_IF_ERROR(MakeDirs(dir_, 0700).WithContext(ctx));
  if (PathExists(StatePath(spec.id))) return AlreadyExists(ctx + ": container exists");
  Record r;
  r.spec = spec;
  return Save(r).WithContext(ctx);
}

StatusOr<ContainerState> ProcessRuntime::Start(const std::string& id) {
  const std::string ctx = "start " + id;
  BERTH_ASSIGN_OR_RETURN(Record r, Load(id));
  if (r.pid != 0) return FailedPrecondition(ctx + ": already started");
  const ContainerSpec& spec = r.spec;
  auto exe = FindHostProgram(spec.args[0], EnvValue(spec.env, "PATH").value_or(kDefaultPath));
  if (!exe.ok()) return exe.status().WithContext(ctx);
  auto user = UserFor(spec);
  if (!user.ok()) return user.status().WithContext(ctx);
  const char* our_home = getenv("HOME");
  std::string home = *user ? (*user)->home : (our_home ? our_home : "/");
  OutputFds fds;
  BERTH_RETURN_IF_ERROR(OpenOutputs(spec.stdout_path, spec.stderr_path, &fds).WithContext(ctx));
  SpawnOptions so;
  so.argv = spec.args;
  so.argv[0] = *exe;
  so.env = WithDefaultEnv(spec.env, home);
  so.cwd = spec.working_dir.empty() ? "/" : spec.working_dir;
  so.stdout_fd = fds.out;
  so.stderr_fd = fds.err;
  so.new_session = true;
  if (*user) {
    so.uid = (*user)->uid;
    so.gid = (*user)->gid;
    so.groups = (*user)->additional_gids;
  }
  auto pid = Spawn(so);
  if (!pid.ok()) return pid.status().WithContext(ctx);
  r.pid = *pid;
  r.pid_start_time = ProcessStartTime(*pid);  // 0 if it is gone already: then stopped
  BERTH_RETURN_IF_ERROR(Save(r).WithContext(ctx));
  return ContainerState{id, ContainerStatus::kRunning, r.pid, r.pid_start_time};
}

StatusOr<ContainerState> ProcessRuntime::State(const std::string& id) {
  auto r = Load(id);
  if (!r.ok()) return r.status().WithContext("state " + id);
  return StateOf(*r);
}

StatusOr<std::vector<ContainerState>> ProcessRuntime::List() {
  BERTH_ASSIGN_OR_RETURN(auto names, ListDir(dir_));
  std::vector<ContainerState> out;
  const std::string suffix = ".json";
  for (const auto& n : names) {
    if (n.size() <= suffix.size() || n.compare(n.size() - suffix.size(), suffix.size(), suffix) != 0)
      continue;
    auto r = Load(n.substr(0, n.size() - suffix.size()));
    if (r.ok()) out.push_back(StateOf(*r));
  }
  return out;
}

Status ProcessRuntime::Kill(const std::string& id, int signal, bool all) {
  const std::string ctx = "kill " + id;
  auto r = Load(id);
  if (!r.ok()) return r.status().WithContext(ctx);
  ContainerState s = StateOf(*r);
  if (s.status != ContainerStatus::kRunning) return FailedPrecondition(ctx + ": not running");
  if (::kill(all ? -s.pid : s.pid, signal) != 0) return ErrnoStatus(ctx);
  return OkStatus();
}

Status ProcessRuntime::Delete(const std::string& id) {
  const std::string ctx = "delete " + id;
  auto r = Load(id);
  if (!r.ok()) return r.status().code() == StatusCode::kNotFound ? OkStatus() : r.status().WithContext(ctx);
  ContainerState s = StateOf(*r);
  if (s.status == ContainerStatus::kRunning) {
    ::kill(-s.pid, SIGKILL);
    ::kill(s.pid, SIGKILL);  // in case it left its group
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    while (ProcessAlive(s.pid, s.pid_start_time) && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  if (unlink(StatePath(id).c_str()) != 0 && errno != ENOENT) return ErrnoStatus(ctx + ": remove state");
  return OkStatus();
}

StatusOr<ExecResult> ProcessRuntime::Exec(const std::string& id, const std::vector<std::string>& argv, Millis timeout,
                                   size_t max_output) {
  const std::string ctx = "exec " + id;
  if (argv.empty()) return InvalidArgument(ctx + ": empty command");
  auto r = Load(id);
  if (!r.ok()) return r.status().WithContext(ctx);
  if (StateOf(*r).status != ContainerStatus::kRunning) return FailedPrecondition(ctx + ": not running");
  RunOptions ro;
  ro.env = WithDefaultEnv(r->spec.env, getenv("HOME") ? getenv("HOME") : "/");
  ro.cwd = r->spec.working_dir.empty() ? "/" : r->spec.working_dir;
  ro.timeout = timeout;
  ro.max_output = max_output + 1;  // one more byte tells that there was more
  auto run = Run(argv, ro);
  if (!run.ok()) {
    // A program that cannot be started is a failing check, not a runtime error.
    return ExecResult{127, run.status().message(), false};
  }
  ExecResult res;
  res.timed_out = run->timed_out;
  res.exit_code = run->timed_out ? -1 : run->exit_code();
  res.output = run->out + run->err;
  res.truncated = res.output.size() > max_output;
  if (res.truncated) res.output.resize(max_output);
  return res;
}

StatusOr<Usage> ProcessRuntime::Stats(const std::string& id) {
  auto r = Load(id);
  if (!r.ok()) return r.status().WithContext("stats " + id);
  Usage u;
  ContainerState s = StateOf(*r);
  if (s.status != ContainerStatus::kRunning) return u;
  static const int64_t kTick = sysconf(_SC_CLK_TCK);
  static const int64_t kPage = sysconf(_SC_PAGESIZE);
  BERTH_ASSIGN_OR_RETURN(auto names, ListDir("/proc"));
  int64_t ticks = 0;
  for (const auto& n : names) {
    if (n.find_first_not_of("0123456789") != std::string::npos) continue;
    pid_t pid = static_cast<pid_t>(std::stol(n));
    auto f = ReadProcStatFields(pid);
    // Fields from 3: [2] pgrp, [11] utime, [12] stime, [13] cutime, [14] cstime, [21] rss.
    if (f.size() < 22 || FieldInt(f, 2) != s.pid) continue;
    ticks += FieldInt(f, 11) + FieldInt(f, 12);
    if (pid == s.pid) ticks += FieldInt(f, 13) + FieldInt(f, 14);
    u.memory_bytes += FieldInt(f, 21) * kPage;
    ++u.pids;
  }
  u.cpu_ns = ticks * (1'000'000'000 / kTick);
  return u;
}

}  // namespace berth::runtime
