// Replica lifecycle: create, start, watch, exit, stop, remove.
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

#include "base/fs.h"
#include "base/units.h"
#include "base/reaper.h"
#include "spec/model_json.h"
#include "supervisor/secrets.h"
#include "supervisor/supervisor_internal.h"

namespace berth::supervisor {

namespace asio = boost::asio;

int SignalNumber(const std::string& name) {
  static const std::pair<const char*, int> kSignals[] = {
      {"SIGHUP", SIGHUP},   {"SIGINT", SIGINT},   {"SIGQUIT", SIGQUIT},   {"SIGKILL", SIGKILL},
      {"SIGUSR1", SIGUSR1}, {"SIGUSR2", SIGUSR2}, {"SIGTERM", SIGTERM},   {"SIGWINCH", SIGWINCH},
  };
  for (const auto& [n, v] : kSignals)
    if (name == n) return v;
  return SIGTERM;
}

namespace {

pid_t ParentOf(pid_t pid) {
  auto stat = ReadFile("/proc/" + std::to_string(pid) + "/stat");
  if (!stat.ok()) return 0;
  size_t close = stat->rfind(')');
  if (close == std::string::npos || close + 4 >= stat->size()) return 0;
  // ") S PPID ..."
  return static_cast<pid_t>(std::atoi(stat->c_str() + close + 4));
}

}  // namespace

const spec::Service* Supervisor::ServiceOf(const store::ReplicaRecord& r) const {
  auto e = envs_.find(r.env);
  if (e == envs_.end()) return nullptr;
  auto s = e->second.project.services.find(r.service);
  return s == e->second.project.services.end() ? nullptr : &s->second;
}

void Supervisor::Persist(Replica& r) {
  Status s = store_.PutReplica(r.rec);
  if (!s.ok()) spdlog::error("save {}: {}", r.rec.id, s.message());
}

Supervisor::Replica& Supervisor::AddReplica(const Action& a, const Env& env, const spec::Service& svc) {
  auto r = std::make_unique<Replica>();
  r->rec.id = a.id;
  r->rec.env = a.env;
  r->rec.service = a.service;
  r->rec.index = a.index;
  r->rec.spec_hash = env.hashes.at(svc.name);
  r->rec.state = "starting";
  r->rec.health = "none";
  Replica& ref = *r;
  replicas_[a.id] = std::move(r);
  return ref;
}

void Supervisor::StartReplica(const std::string& id, bool is_restart) { Launch(id, is_restart, false); }

void Supervisor::PrepareReplica(const std::string& id) { Launch(id, false, true); }

void Supervisor::PromoteReplica(const std::string& id) {
  auto it = replicas_.find(id);
  if (it == replicas_.end()) return;
  Replica& r = *it->second;
  if (!r.prepared) return StartReplica(id, false);  // preparing failed: the full path says why
  r.busy = true;
  r.prepared = false;
  r.rec.state = "starting";
  Persist(r);
  Event("start", r.rec, "prepared");
  uint64_t inc = r.incarnation;
  asio::post(pool_, [this, id, inc] {
    auto result = rt_.Start(id);
    asio::post(io_, [this, id, inc, result = std::move(result)]() mutable { OnStarted(id, inc, std::move(result)); });
  });
}

// Builds the container and (unless `standby`) starts it: network attachment, bundle,
// runc create and start on the worker pool; the result comes back to OnStarted (or
// OnPrepared for a standby).
void Supervisor::Launch(const std::string& id, bool is_restart, bool standby) {
  auto it = replicas_.find(id);
  if (it == replicas_.end()) return;
  Replica& r = *it->second;
  const spec::Service* svc = ServiceOf(r.rec);
  if (!svc) return;
  r.busy = true;
  r.prepared = false;
  r.unhealthy_kill = false;
  r.incarnation = next_incarnation_++;
  if (is_restart) ++r.rec.restarts;
  r.rec.state = standby ? "standby" : "starting";
  r.rec.pid = 0;
  r.rec.pid_start_time = 0;
  r.rec.spec_hash = HashOf(r.rec);
  r.rec.health = "none";

  ReplicaContext ctx;
  ctx.env = r.rec.env;
  ctx.service = r.rec.service;
  ctx.index = r.rec.index;
  ctx.default_pids_limit = o_.default_pids_limit;
  if (rt_.isolated()) ctx.init_path = o_.init_path;
  if (auto u = envs_.at(r.rec.env).uids.find(r.rec.service); u != envs_.at(r.rec.env).uids.end())
    ctx.secrets_uid = u->second;
  const Layout& layout = o_.layout;
  std::string env = r.rec.env;
  ctx.secret = [&layout, env](const std::string& name) { return ReadSecret(layout, env, name); };
  std::optional<network::Cidr> subnet;
  if (o_.network) {
    subnet = envs_.at(env).subnet;
    ctx.netns_path = o_.network->NetnsPath(id);
  }
  auto cspec = BuildContainerSpec(*svc, ctx, o_.layout);
  if (cspec.ok() && o_.network) {
    cspec->binds.push_back({o_.network->HostsPath(env), "/etc/hosts", true});
    cspec->binds.push_back({o_.network->ResolvConfPath(env), "/etc/resolv.conf", true});
  }
  if (cspec.ok() && o_.network && !subnet) cspec = FailedPrecondition("environment " + env + " has no subnet");
  if (cspec.ok() && !r.logs) {
    r.logs = std::make_shared<LogSink>(io_, clock_, o_.layout.FifoPath(id, 'o'), o_.layout.FifoPath(id, 'e'),
                                       o_.layout.LogFile(id), o_.log_max_bytes, o_.log_keep_files);
    Status s = r.logs->Open();
    if (!s.ok()) cspec = s.WithContext("logs");
  }
  Persist(r);
  uint64_t inc = r.incarnation;
  auto finish = [this, id, inc, standby](std::string ip, StatusOr<runtime::ContainerState> result) {
    auto it = replicas_.find(id);
    if (!ip.empty() && it != replicas_.end() && it->second->rec.ip != ip) {
      it->second->rec.ip = ip;
      UpdateHosts(it->second->rec.env);
    }
    if (standby) OnPrepared(id, inc, result.status());
    else OnStarted(id, inc, std::move(result));
  };
  if (!cspec.ok()) {
    asio::post(io_, [finish, s = cspec.status()] { finish("", s); });
    return;
  }
  if (!standby)
    Event(is_restart ? "restart" : "start", r.rec, is_restart ? "restart " + std::to_string(r.rec.restarts) : "");
  asio::post(pool_, [this, id, env, subnet, standby, finish, c = std::move(*cspec)] {
    std::string ip;
    StatusOr<runtime::ContainerState> result = [&]() -> StatusOr<runtime::ContainerState> {
      if (o_.network) {
        // The namespace outlives container restarts: a replica keeps its address.
        auto att = o_.network->Attach(env, *subnet, id);
        if (!att.ok()) return att.status();
        ip = att->ip;
      }
      Status s = rt_.Delete(id);  // a leftover of an earlier run must not block the new one
      if (!s.ok()) return s;
      s = rt_.Create(c);
      if (!s.ok()) return s;
      if (standby) return runtime::ContainerState{id, runtime::ContainerStatus::kCreated, 0, 0};
      return rt_.Start(id);
    }();
    asio::post(io_, [finish, ip, result = std::move(result)]() mutable { finish(ip, std::move(result)); });
  });
}

void Supervisor::OnPrepared(const std::string& id, uint64_t inc, Status st) {
  auto it = replicas_.find(id);
  if (it == replicas_.end() || it->second->incarnation != inc) {
    if (st.ok()) asio::post(pool_, [this, id] { (void)rt_.Delete(id); });
    return;
  }
  Replica& r = *it->second;
  r.busy = false;
  r.prepared = st.ok();
  r.rec.exit_reason = st.ok() ? "" : "prepare failed: " + st.message();
  if (!st.ok()) spdlog::warn("prepare {}: {}", id, st.message());
  Persist(r);
  if (r.stopping) {
    r.busy = true;
    asio::post(pool_, [this, id, inc] {
      (void)rt_.Delete(id);
      asio::post(io_, [this, id, inc] {
        auto it = replicas_.find(id);
        if (it == replicas_.end() || it->second->incarnation != inc) return;
        it->second->busy = false;
        it->second->rec.state = "stopped";
        auto cbs = std::move(it->second->after_stop);
        for (auto& cb : cbs) cb();
      });
    });
    return;
  }
  Changed();
  Kick();
}

void Supervisor::OnStarted(const std::string& id, uint64_t inc, StatusOr<runtime::ContainerState> st) {
  auto it = replicas_.find(id);
  if (it == replicas_.end() || it->second->incarnation != inc) {
    if (st.ok()) asio::post(pool_, [this, id] { (void)rt_.Delete(id); });
    return;
  }
  Replica& r = *it->second;
  r.busy = false;
  if (!st.ok()) {
    spdlog::warn("start {}: {}", id, st.status().message());
    Event("start-failed", r.rec, st.status().message());
    if (r.stopping) {
      r.rec.state = "stopped";
      auto cbs = std::move(r.after_stop);
      for (auto& cb : cbs) cb();
      return;
    }
    // A start that fails (a missing program, a runc error) is retried with backoff
    // whatever the restart policy: it never ran, and the cause may be fixed meanwhile.
    TimePoint now = clock_.Now();
    r.rec.state = "backoff";
    r.rec.consecutive_failures += 1;
    r.rec.next_start_at_ms = ToUnixMillis(now + backoff_.Delay(r.rec.consecutive_failures, Rand01()));
    r.rec.exit_code = -1;
    r.rec.exit_reason = "start failed: " + st.status().message();
    Persist(r);
    Changed();
    Kick();
    return;
  }
  TimePoint now = clock_.Now();
  r.rec.pid = st->pid;
  r.rec.pid_start_time = st->pid_start_time;
  r.rec.state = "running";
  r.rec.started_at_ms = ToUnixMillis(now);
  r.rec.exit_reason.clear();
  if (const spec::Service* svc = ServiceOf(r.rec))
    r.rec.health = NeedsReadiness(*svc) ? "starting" : "none";
  Persist(r);
  Event("running", r.rec, "pid " + std::to_string(st->pid));
  if (const spec::Service* svc = ServiceOf(r.rec)) {
    r.health = MakeHealthTracker(*svc, now, /*fresh=*/true, &r.probe);
    ScheduleProbe(r);
  }
  WatchExit(r);
  if (r.stopping) Terminate(r, false);
  Changed();
  Kick();
}

void Supervisor::WatchExit(Replica& r) {
  std::string id = r.rec.id;
  uint64_t inc = r.incarnation;
  pid_t pid = r.rec.pid;
  if (ParentOf(pid) == getpid()) {
    ChildReaper::Get().OnExit(pid, [this, id, inc](int status) {
      asio::post(io_, [this, id, inc, status] { OnExit(id, inc, status); });
    });
    return;
  }
  // Not our child (adopted after a restart): a pidfd becomes readable when it exits, but
  // its exit status is not ours to collect.
  int fd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  if (fd < 0) {
    asio::post(io_, [this, id, inc] { OnExit(id, inc, std::nullopt); });
    return;
  }
  r.pidfd = std::make_unique<asio::posix::stream_descriptor>(io_, fd);
  r.pidfd->async_wait(asio::posix::stream_descriptor::wait_read, [this, id, inc](const boost::system::error_code& ec) {
    if (!ec) OnExit(id, inc, std::nullopt);
  });
}

void Supervisor::OnExit(const std::string& id, uint64_t inc, std::optional<int> wait_status) {
  auto it = replicas_.find(id);
  if (it == replicas_.end() || it->second->incarnation != inc || it->second->rec.pid == 0) return;
  Replica& r = *it->second;
  if (r.probe_timer) r.probe_timer->cancel();
  if (r.grace_timer) r.grace_timer->cancel();
  r.pidfd.reset();
  ExitInfo info;
  if (wait_status) {
    if (WIFEXITED(*wait_status)) info.exit_code = WEXITSTATUS(*wait_status);
    if (WIFSIGNALED(*wait_status)) info.signal = WTERMSIG(*wait_status);
  }
  info.unhealthy = r.unhealthy_kill;
  r.busy = true;
  asio::post(pool_, [this, id, inc, info]() mutable {
    // OOM is read from the container's cgroup before Delete removes it.
    auto usage = rt_.Stats(id);
    if (usage.ok() && usage->oom_kills > 0) info.oom_killed = true;
    Status s = rt_.Delete(id);
    if (!s.ok()) spdlog::warn("delete {}: {}", id, s.message());
    asio::post(io_, [this, id, inc, info] { AfterContainerGone(id, inc, info); });
  });
}

void Supervisor::AfterContainerGone(const std::string& id, uint64_t inc, ExitInfo info) {
  auto it = replicas_.find(id);
  if (it == replicas_.end() || it->second->incarnation != inc) return;
  Replica& r = *it->second;
  TimePoint now = clock_.Now();
  r.busy = false;
  r.rec.pid = 0;
  r.rec.pid_start_time = 0;
  r.rec.finished_at_ms = ToUnixMillis(now);
  r.health.reset();
  if (r.stopping) {
    r.rec.state = "stopped";
    r.rec.exit_reason = DescribeExit(info);
    r.rec.health = "none";
    Persist(r);
    auto cbs = std::move(r.after_stop);
    for (auto& cb : cbs) cb();
    return;
  }
  const spec::Service* svc = ServiceOf(r.rec);
  AfterExit a = DecideAfterExit(svc ? svc->restart : spec::Restart{}, backoff_, r.rec.consecutive_failures,
                                r.rec.restarts, FromUnixMillis(r.rec.started_at_ms), info, now, Rand01());
  r.rec.exit_code = a.exit_code;
  r.rec.exit_reason = a.reason;
  r.rec.consecutive_failures = a.consecutive_failures;
  r.rec.state = a.restart ? "backoff" : "exited";
  r.rec.next_start_at_ms = a.restart ? ToUnixMillis(a.next_start) : 0;
  r.rec.health = info.unhealthy ? "unhealthy" : "none";
  Persist(r);
  Event("exit", r.rec,
        a.reason + (a.restart ? ", restarting in " + FormatDuration(a.next_start - now) : ", not restarting"));
  Changed();
  Kick();
}

void Supervisor::StopReplica(const std::string& id, std::string reason, std::function<void()> then) {
  auto it = replicas_.find(id);
  if (it == replicas_.end()) return then();
  Replica& r = *it->second;
  r.after_stop.push_back(std::move(then));
  if (r.stopping) return;
  r.stopping = true;
  Event("stop", r.rec, reason);
  if (r.busy) return;  // OnStarted / AfterContainerGone finish the stop
  if (r.rec.state == "running" && r.rec.pid > 0) {
    const spec::Service* svc = ServiceOf(r.rec);
    if (o_.drain && svc && svc->expose && !r.draining) {
      // Leave the ingress first: no new requests, the in-flight ones finish, then the signal.
      r.draining = true;
      Changed();
      uint64_t inc = r.incarnation;
      o_.drain(id, r.rec.env + "/" + r.rec.service, [this, id, inc] {
        auto it = replicas_.find(id);
        if (it == replicas_.end() || it->second->incarnation != inc || it->second->rec.pid == 0) return;
        Terminate(*it->second, false);
      });
      return;
    }
    return Terminate(r, false);
  }
  // Nothing runs: make sure no container is left, then it is stopped.
  r.busy = true;
  uint64_t inc = r.incarnation;
  asio::post(pool_, [this, id, inc] {
    Status s = rt_.Delete(id);
    if (!s.ok()) spdlog::warn("delete {}: {}", id, s.message());
    asio::post(io_, [this, id, inc] {
      auto it = replicas_.find(id);
      if (it == replicas_.end() || it->second->incarnation != inc) return;
      Replica& r = *it->second;
      r.busy = false;
      r.rec.state = "stopped";
      auto cbs = std::move(r.after_stop);
      for (auto& cb : cbs) cb();
    });
  });
}

void Supervisor::Terminate(Replica& r, bool unhealthy) {
  r.unhealthy_kill |= unhealthy;
  const spec::Service* svc = ServiceOf(r.rec);
  int sig = SignalNumber(svc ? svc->stop_signal : "SIGTERM");
  Millis grace = (svc ? svc->stop_grace_period : Millis(10'000)) + o_.stop_timeout_floor;
  std::string id = r.rec.id;
  uint64_t inc = r.incarnation;
  asio::post(pool_, [this, id, sig] {
    Status s = rt_.Kill(id, sig);
    if (!s.ok()) spdlog::warn("stop {}: {}", id, s.message());
  });
  r.grace_timer = std::make_unique<asio::steady_timer>(io_, grace);
  r.grace_timer->async_wait([this, id, inc](const boost::system::error_code& ec) {
    if (ec) return;
    auto it = replicas_.find(id);
    if (it == replicas_.end() || it->second->incarnation != inc || it->second->rec.pid == 0) return;
    Event("kill", it->second->rec, "still running after the stop grace period: SIGKILL");
    asio::post(pool_, [this, id] {
      Status s = rt_.Kill(id, SIGKILL, true);
      if (!s.ok()) spdlog::warn("kill {}: {}", id, s.message());
    });
  });
}

void Supervisor::RemoveReplica(const std::string& id) {
  auto it = replicas_.find(id);
  if (it == replicas_.end()) return;
  if (!o_.network) return ForgetReplica(id);
  Replica& r = *it->second;
  r.busy = true;
  std::string env = r.rec.env;
  asio::post(pool_, [this, id, env] {
    Status s = o_.network->Detach(env, id);
    if (!s.ok()) spdlog::warn("{}", s.message());
    asio::post(io_, [this, id] { ForgetReplica(id); });
  });
}

void Supervisor::ForgetReplica(const std::string& id) {
  auto it = replicas_.find(id);
  if (it == replicas_.end()) return;
  std::string env = it->second->rec.env;
  if (it->second->logs) it->second->logs->Close();
  Status s = store_.DeleteReplica(id);
  if (!s.ok()) spdlog::error("remove {}: {}", id, s.message());
  replicas_.erase(it);
  UpdateHosts(env);
  Changed();
  Kick();
}

}  // namespace berth::supervisor
