#include "supervisor/supervisor.h"

#include <boost/asio/post.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <unistd.h>

#include "base/fs.h"
#include "runtime/user.h"
#include "base/units.h"
#include "network/hosts.h"
#include "spec/model_json.h"
#include "supervisor/secrets.h"
#include "supervisor/supervisor_internal.h"

namespace berth::supervisor {

namespace asio = boost::asio;

namespace {
std::string ScaleKey(const std::string& env, const std::string& svc) { return "env/" + env + "/scale/" + svc; }
std::string DeleteVolumesKey(const std::string& env) { return "env/" + env + "/delete_volumes"; }
std::string SubnetKey(const std::string& env) { return "env/" + env + "/subnet"; }
}  // namespace

Supervisor::Supervisor(asio::io_context& io, store::Store& store, runtime::Runtime& runtime, const Clock& clock,
                       SupervisorOptions options)
    : io_(io),
      store_(store),
      rt_(runtime),
      clock_(clock),
      o_(std::move(options)),
      backoff_(o_.backoff),
      pool_(static_cast<size_t>(o_.worker_threads)),
      wake_timer_(io) {}

Supervisor::~Supervisor() { Shutdown(); }

void Supervisor::Shutdown() {
  if (shut_down_) return;
  shut_down_ = true;
  wake_timer_.cancel();
  for (auto& [id, r] : replicas_) {
    if (r->probe_timer) r->probe_timer->cancel();
    if (r->grace_timer) r->grace_timer->cancel();
    if (r->pidfd) {
      boost::system::error_code ec;
      r->pidfd->cancel(ec);
    }
  }
  for (auto& w : waiters_) {
    if (w->timer) w->timer->cancel();
  }
  pool_.join();
}

Status Supervisor::Start() {
  BERTH_RETURN_IF_ERROR(MakeDirs(o_.layout.state_dir, 0700));
  BERTH_RETURN_IF_ERROR(MakeDirs(o_.layout.run_dir, 0700));
  BERTH_RETURN_IF_ERROR(MakeDirs(o_.layout.FifoDir(), 0700));
  BERTH_RETURN_IF_ERROR(Adopt());
  Kick();
  return OkStatus();
}

double Supervisor::Rand01() { return std::uniform_real_distribution<double>(0.0, 1.0)(rng_); }

// ---------------------------------------------------------------------------------
// Environments

Status Supervisor::PrepareEnvFiles(const spec::Project& project, const std::string& env,
                                   std::map<std::string, uint32_t>* uids) {
  BERTH_RETURN_IF_ERROR(EnsureSecrets(project, env, o_.layout));
  BERTH_RETURN_IF_ERROR(MakeDirs(o_.layout.LogsDir(env), 0750));
  if (!project.volumes.empty()) {
    BERTH_RETURN_IF_ERROR(MakeDirs(o_.layout.state_dir + "/volumes", 0711));
    BERTH_RETURN_IF_ERROR(MakeDirs(o_.layout.EnvVolumesDir(env), 0711));
  }
  // A new named volume belongs to the user of the first service that mounts it (as Docker
  // copies the mount point's owner), so `user: postgres` can write its data directory.
  // Existing volumes keep their ownership: it is data.
  std::map<std::string, std::pair<uid_t, gid_t>> owners;
  for (const auto& [sname, s] : project.services) {
    if (s.user.empty()) continue;
    std::string root = s.image == "host" ? "" : s.image.substr(std::string("rootfs:").size());
    auto passwd = ReadFile(root + "/etc/passwd");
    auto group = ReadFile(root + "/etc/group");
    auto user = runtime::ResolveUser(s.user, passwd.ok() ? *passwd : "", group.ok() ? *group : "");
    if (!user.ok()) return InvalidArgument("service " + sname + ": " + user.status().message());
    (*uids)[sname] = user->uid;
    BERTH_RETURN_IF_ERROR(ShareSecrets(env, s.secrets, user->uid, user->gid, o_.layout));
    for (const auto& m : s.mounts)
      if (m.type == spec::MountType::kVolume && !owners.count(m.source)) owners[m.source] = {user->uid, user->gid};
  }
  for (const auto& [name, v] : project.volumes) {
    std::string dir = o_.layout.VolumeDir(env, name);
    if (PathExists(dir)) continue;
    BERTH_RETURN_IF_ERROR(MakeDirs(dir, 0755));
    if (auto o = owners.find(name); o != owners.end() && chown(dir.c_str(), o->second.first, o->second.second) != 0)
      return ErrnoStatus("chown volume " + name);
  }
  return OkStatus();
}

void Supervisor::SetProject(Env& env, spec::Project project) {
  env.project = std::move(project);
  env.hashes.clear();
  for (const auto& [name, s] : env.project.services) env.hashes[name] = spec::ServiceHash(s);
}

const std::string& Supervisor::HashOf(const store::ReplicaRecord& r) const {
  static const std::string kNone;
  auto e = envs_.find(r.env);
  if (e == envs_.end()) return kNone;
  auto h = e->second.hashes.find(r.service);
  return h == e->second.hashes.end() ? kNone : h->second;
}

std::map<std::string, int> Supervisor::DesiredReplicas(const Env& env) const {
  std::map<std::string, int> out;
  for (const auto& [name, s] : env.project.services) out[name] = DesiredReplicas(env, s);
  return out;
}

namespace {
bool Autoscaled(const spec::Service& s) { return s.scale.max > s.scale.min; }
}  // namespace

std::map<std::string, int> Supervisor::ReservedReplicas(const Env& env) const {
  std::map<std::string, int> out;
  for (const auto& [name, s] : env.project.services) {
    bool autoscaled = Autoscaled(s) && !env.scale.count(name);
    out[name] = autoscaled ? s.scale.min : DesiredReplicas(env, s);
  }
  return out;
}

Amount Supervisor::ReservedExcept(const std::string& except) const {
  Amount total;
  for (const auto& [name, e] : envs_)
    if (name != except) total += EnvReservation(e.project, ReservedReplicas(e));
  return total;
}

Supervisor::CapacityView Supervisor::Capacity() const {
  CapacityView v;
  v.total = o_.capacity;
  for (const auto& [name, e] : envs_) {
    Amount a = EnvReservation(e.project, ReservedReplicas(e));
    v.reserved += a;
    v.envs.emplace_back(name, a);
  }
  return v;
}

int Supervisor::DesiredReplicas(const Env& env, const spec::Service& s) const {
  if (auto it = env.scale.find(s.name); it != env.scale.end()) return it->second;  // pinned
  if (auto it = env.autoscaled.find(s.name); it != env.autoscaled.end())
    return std::clamp(it->second, s.scale.min, std::max(s.scale.min, s.scale.max));
  return s.replicas;
}

namespace {
bool ReadyRec(const store::ReplicaRecord& r) {
  return r.state == "running" && (r.health == "healthy" || r.health == "none");
}
}  // namespace

std::vector<Supervisor::AutoscaleTarget> Supervisor::AutoscaleTargets() const {
  std::vector<AutoscaleTarget> out;
  for (const auto& [name, env] : envs_) {
    if (env.deleting) continue;
    for (const auto& [sname, s] : env.project.services) {
      if (!Autoscaled(s) || env.scale.count(sname)) continue;
      AutoscaleTarget t{name, sname, s.scale.min, s.scale.max, s.concurrency.limit, s.scale.target_utilization,
                        s.scale.idle, s.scale.window, 0, DesiredReplicas(env, s)};
      for (const auto& [id, r] : replicas_)
        if (r->rec.env == name && r->rec.service == sname && r->rec.spec_hash == env.hashes.at(sname) &&
            ReadyRec(r->rec) && !r->draining)
          ++t.ready;
      out.push_back(t);
    }
  }
  return out;
}

void Supervisor::SetAutoscaled(const std::string& env, const std::string& service, int replicas,
                               const std::string& reason) {
  auto it = envs_.find(env);
  if (it == envs_.end() || !it->second.project.services.count(service)) return;
  int before = DesiredReplicas(it->second, it->second.project.services.at(service));
  it->second.autoscaled[service] = replicas;
  int after = DesiredReplicas(it->second, it->second.project.services.at(service));
  if (after == before) return;
  (void)store_.PutMeta("env/" + env + "/auto/" + service, std::to_string(replicas));
  store::ReplicaRecord r;
  r.env = env;
  r.service = service;
  Event("autoscale", r, std::to_string(before) + " -> " + std::to_string(after) + " (" + reason + ")");
  Kick();
  Changed();
}

std::set<std::string> Supervisor::Draining() const {
  std::set<std::string> out;
  for (const auto& [id, r] : replicas_)
    if (r->draining) out.insert(id);
  return out;
}

Status Supervisor::ApplyEnv(const spec::Project& project, store::EnvRecord meta, bool allow_create,
                            bool allow_update) {
  const std::string& name = project.name;
  auto it = envs_.find(name);
  bool exists = it != envs_.end();
  if (exists && !allow_update)
    return AlreadyExists("environment " + name + " already exists (use `berth env update` or `berth up`)");
  if (!exists && !allow_create) return NotFound("environment " + name + " does not exist");
  if (exists && it->second.deleting) return FailedPrecondition("environment " + name + " is being removed");
  // Admission first: an environment that cannot fit changes nothing.
  std::map<std::string, int> replicas;
  if (exists) replicas = ReservedReplicas(it->second);
  for (const auto& [sname, s] : project.services) {
    if (Autoscaled(s) && !(exists && it->second.scale.count(sname))) replicas[sname] = s.scale.min;
    else if (!replicas.count(sname)) replicas[sname] = s.replicas;
  }
  BERTH_RETURN_IF_ERROR(CheckQuota(project, replicas));
  BERTH_RETURN_IF_ERROR(Admit(o_.capacity, ReservedExcept(name), EnvReservation(project, replicas), name));
  for (const auto& [sname, s] : project.services) {
    BERTH_RETURN_IF_ERROR(CheckRunnable(s));
    if (!rt_.isolated() && s.image != "host")
      return InvalidArgument("service " + sname + ": image " + s.image + " needs an isolating runtime (runc); berthd runs with --runtime " +
                             std::string(rt_.name()));
  }
  std::map<std::string, uint32_t> uids;
  Status prep = PrepareEnvFiles(project, name, &uids);
  if (!prep.ok()) return prep.WithContext("prepare environment " + name);
  std::optional<network::Cidr> subnet;
  if (o_.network) {
    auto s = exists && it->second.subnet ? StatusOr<network::Cidr>(*it->second.subnet) : AllocateSubnet(name);
    if (!s.ok()) return s.status().WithContext("network for " + name);
    subnet = *s;
    if (Status n = o_.network->PrepareEnv(name, *subnet); !n.ok()) return n.WithContext("network for " + name);
  }

  int64_t now = ToUnixMillis(clock_.Now());
  store::EnvRecord rec = std::move(meta);
  rec.name = name;
  rec.spec_json = spec::ToJson(project).dump();
  rec.phase = "ready";
  rec.updated_at_ms = now;
  rec.created_at_ms = exists ? it->second.rec.created_at_ms : now;
  rec.generation = exists ? it->second.rec.generation + 1 : 1;

  // Scale pins of services that no longer exist are dropped with the update.
  store::Batch batch;
  batch.Put(rec);
  if (subnet) batch.SetMeta(SubnetKey(name), subnet->ToString());
  std::map<std::string, int> scale;
  if (exists) {
    for (const auto& [svc, n] : it->second.scale) {
      if (project.services.count(svc)) scale[svc] = n;
      else batch.RemoveMeta(ScaleKey(name, svc));
    }
  }
  Status st = store_.Apply(batch);
  if (!st.ok()) return st.WithContext("save environment " + name);

  Env& env = envs_[name];
  env.rec = rec;
  SetProject(env, project);
  env.scale = std::move(scale);
  env.subnet = subnet;
  env.uids = std::move(uids);
  EnvEvent(exists ? "update" : "create", name, "generation " + std::to_string(rec.generation));
  Kick();
  Changed();
  return OkStatus();
}

StatusOr<network::Cidr> Supervisor::AllocateSubnet(const std::string& env) {
  (void)env;
  BERTH_ASSIGN_OR_RETURN(network::Cidr pool, network::Cidr::Parse(o_.subnet_pool));
  std::set<network::Cidr> used;
  for (const auto& [name, e] : envs_)
    if (e.subnet) used.insert(*e.subnet);
  return network::AllocateSubnet(pool, o_.subnet_prefix, used);
}

void Supervisor::UpdateHosts(const std::string& env) {
  if (!o_.network || !envs_.count(env)) return;
  std::vector<network::HostEntry> entries;
  for (const auto& [id, r] : replicas_)
    if (r->rec.env == env && !r->rec.ip.empty()) entries.push_back({r->rec.ip, r->rec.service, r->rec.index});
  std::vector<network::HostAlias> aliases;
  const Env& e = envs_.at(env);
  if (e.subnet && !o_.domain.empty())
    for (const auto& [name, svc] : e.project.services)
      if (svc.expose) aliases.push_back({e.subnet->Host(1), name + "." + env + "." + o_.domain});
  Status s = network::WriteInPlace(o_.network->HostsPath(env), network::HostsFileContent(entries, aliases));
  if (!s.ok()) spdlog::warn("hosts of {}: {}", env, s.message());
}

void Supervisor::RemoveEnv(const std::string& name, bool remove_volumes, std::function<void(Status)> done) {
  auto it = envs_.find(name);
  if (it == envs_.end()) return done(NotFound("environment " + name + " does not exist"));
  Env& env = it->second;
  env.deleting = true;
  env.remove_volumes |= remove_volumes;
  env.on_removed.push_back(std::move(done));
  env.rec.phase = "deleting";
  store::Batch b;
  b.Put(env.rec).SetMeta(DeleteVolumesKey(name), env.remove_volumes ? "1" : "0");
  Status s = store_.Apply(b);
  if (!s.ok()) spdlog::error("remove {}: {}", name, s.message());
  EnvEvent("remove", name, env.remove_volumes ? "with volumes" : "keeping volumes");
  Kick();
}

void Supervisor::FinishRemoval(const std::string& name) {
  auto it = envs_.find(name);
  if (it == envs_.end()) return;
  if (o_.network && !it->second.removing_network) {
    it->second.removing_network = true;
    asio::post(pool_, [this, name] {
      Status s = o_.network->RemoveEnv(name);
      if (!s.ok()) spdlog::warn("{}", s.message());
      asio::post(io_, [this, name] { FinishRemoval(name); });
    });
    return;
  }
  Env env = std::move(it->second);
  envs_.erase(it);
  Status s = RemoveAll(o_.layout.LogsDir(name));
  if (s.ok() && env.remove_volumes) s = RemoveAll(o_.layout.EnvVolumesDir(name));
  if (s.ok() && env.remove_volumes) s = RemoveAll(o_.layout.SecretsDir(name));
  if (s.ok()) s = store_.DeleteEnv(name);
  if (!s.ok()) spdlog::error("remove {}: {}", name, s.message());
  EnvEvent("removed", name, "");
  for (auto& cb : env.on_removed) cb(s);
  Changed();
}

Status Supervisor::RestartService(const std::string& env, const std::string& service) {
  auto it = envs_.find(env);
  if (it == envs_.end()) return NotFound("environment " + env + " does not exist");
  if (!it->second.project.services.count(service))
    return NotFound("environment " + env + " has no service " + service);
  std::string mark = "restart-" + std::to_string(ToUnixMillis(clock_.Now()));
  for (auto& [id, r] : replicas_) {
    if (r->rec.env != env || r->rec.service != service) continue;
    r->rec.spec_hash = mark;  // outdated: the reconciler replaces them one at a time
    Persist(*r);
  }
  Kick();
  return OkStatus();
}

Status Supervisor::Scale(const std::string& env, const std::string& service, int replicas) {
  auto it = envs_.find(env);
  if (it == envs_.end()) return NotFound("environment " + env + " does not exist");
  if (!it->second.project.services.count(service))
    return NotFound("environment " + env + " has no service " + service);
  if (replicas < 0 || replicas > 1000) return InvalidArgument("replicas must be 0-1000");
  auto wanted = ReservedReplicas(it->second);
  wanted[service] = replicas;
  BERTH_RETURN_IF_ERROR(CheckQuota(it->second.project, wanted));
  BERTH_RETURN_IF_ERROR(Admit(o_.capacity, ReservedExcept(env), EnvReservation(it->second.project, wanted), env));
  BERTH_RETURN_IF_ERROR(store_.PutMeta(ScaleKey(env, service), std::to_string(replicas)));
  it->second.scale[service] = replicas;
  store::ReplicaRecord r;
  r.env = env;
  r.service = service;
  Event("scale", r, "pinned to " + std::to_string(replicas) + " replicas");
  Kick();
  Changed();
  return OkStatus();
}

StatusOr<EnvView> Supervisor::GetEnv(const std::string& name) const {
  auto it = envs_.find(name);
  if (it == envs_.end()) return NotFound("environment " + name + " does not exist");
  EnvView v{it->second.rec, it->second.project, {}};
  for (const auto& [sname, s] : it->second.project.services) v.scale[sname] = DesiredReplicas(it->second, s);
  return v;
}

std::vector<EnvView> Supervisor::ListEnvs() const {
  std::vector<EnvView> out;
  for (const auto& [name, e] : envs_) out.push_back(*GetEnv(name));
  return out;
}

std::vector<store::ReplicaRecord> Supervisor::Replicas(const std::string& env) const {
  std::vector<store::ReplicaRecord> out;
  for (const auto& [id, r] : replicas_)
    if (env.empty() || r->rec.env == env) out.push_back(r->rec);
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return std::tie(a.env, a.service, a.index) < std::tie(b.env, b.service, b.index);
  });
  return out;
}

std::optional<std::string> Supervisor::Secret(const std::string& env, const std::string& name) const {
  auto it = envs_.find(env);
  if (it == envs_.end() || !it->second.project.secrets.count(name)) return std::nullopt;
  return ReadSecret(o_.layout, env, name);
}

void Supervisor::Exec(const std::string& env, const std::string& service, int index, std::vector<std::string> argv,
                      Millis timeout, std::function<void(StatusOr<runtime::ExecResult>)> done) {
  auto e = envs_.find(env);
  if (e == envs_.end()) return done(NotFound("environment " + env + " does not exist"));
  if (!e->second.project.services.count(service))
    return done(NotFound("environment " + env + " has no service " + service));
  if (argv.empty()) return done(InvalidArgument("exec: empty command"));
  std::string id;
  for (const auto& [rid, r] : replicas_) {
    if (r->rec.env != env || r->rec.service != service || r->rec.state != "running") continue;
    if (index == 0 || r->rec.index == index) {
      id = rid;
      break;
    }
  }
  if (id.empty())
    return done(FailedPrecondition(env + "/" + service + (index ? "/" + std::to_string(index) : "") +
                                   " has no running replica"));
  asio::post(pool_, [this, id, argv = std::move(argv), timeout, done = std::move(done)]() mutable {
    auto r = rt_.Exec(id, argv, timeout, kExecOutputLimit);
    asio::post(io_, [r = std::move(r), done = std::move(done)]() mutable { done(std::move(r)); });
  });
}

void Supervisor::Stats(std::function<void(std::vector<std::pair<store::ReplicaRecord, runtime::Usage>>)> done) {
  std::vector<store::ReplicaRecord> running;
  for (const auto& [id, r] : replicas_)
    if (r->rec.state == "running") running.push_back(r->rec);
  asio::post(pool_, [this, running = std::move(running), done = std::move(done)]() mutable {
    std::vector<std::pair<store::ReplicaRecord, runtime::Usage>> out;
    for (auto& rec : running) {
      auto u = rt_.Stats(rec.id);
      if (u.ok()) out.emplace_back(rec, *u);
    }
    asio::post(io_, [out = std::move(out), done = std::move(done)]() mutable { done(std::move(out)); });
  });
}

std::optional<Supervisor::LogSource> Supervisor::Logs(const std::string& id) const {
  auto it = replicas_.find(id);
  if (it == replicas_.end()) return std::nullopt;
  return LogSource{o_.layout.LogFile(id), o_.log_keep_files};
}

int Supervisor::FollowLogs(const std::string& id, LogSink::Follower f) {
  auto it = replicas_.find(id);
  if (it == replicas_.end() || !it->second->logs) return 0;
  return it->second->logs->Follow(std::move(f));
}

void Supervisor::UnfollowLogs(const std::string& id, int token) {
  auto it = replicas_.find(id);
  if (it != replicas_.end() && it->second->logs) it->second->logs->Unfollow(token);
}

// ---------------------------------------------------------------------------------
// Reconciling

void Supervisor::Kick() {
  if (kick_pending_ || shut_down_) return;
  kick_pending_ = true;
  asio::post(io_, [this] { ReconcileNow(); });
}

void Supervisor::ReconcileNow() {
  kick_pending_ = false;
  if (shut_down_) return;
  std::vector<DesiredService> desired;
  for (const auto& [name, env] : envs_) {
    if (env.deleting) continue;
    for (const auto& [sname, s] : env.project.services)
      desired.push_back({name, sname, DesiredReplicas(env, s), env.hashes.at(sname), s.depends_on,
                         o_.prewarm && Autoscaled(s) && DesiredReplicas(env, s) < s.scale.max});
  }
  std::vector<ObservedReplica> observed;
  for (const auto& [id, r] : replicas_) observed.push_back({r->rec, r->busy || r->stopping, r->stopping});
  Plan plan = Reconcile(desired, observed, clock_.Now());
  for (const auto& a : plan.actions) Execute(a);

  // Environments being removed finish once their last replica is gone.
  std::vector<std::string> finished;
  for (const auto& [name, env] : envs_) {
    if (!env.deleting) continue;
    bool any = false;
    for (const auto& [id, r] : replicas_) any |= r->rec.env == name;
    if (!any) finished.push_back(name);
  }
  for (const auto& name : finished)
    if (!envs_.at(name).removing_network) FinishRemoval(name);

  if (plan.wake_at) {
    auto delay = *plan.wake_at - clock_.Now();
    wake_timer_.expires_after(std::max(delay, Millis(0)));
    wake_timer_.async_wait([this](const boost::system::error_code& ec) {
      if (!ec) Kick();
    });
  }
}

void Supervisor::Execute(const Action& a) {
  switch (a.kind) {
    case ActionKind::kCreate: {
      const Env& env = envs_.at(a.env);
      const spec::Service& svc = env.project.services.at(a.service);
      AddReplica(a, env, svc);
      StartReplica(a.id, false);
      break;
    }
    case ActionKind::kRestart:
      StartReplica(a.id, true);
      break;
    case ActionKind::kPrepare: {
      const Env& env = envs_.at(a.env);
      AddReplica(a, env, env.project.services.at(a.service));
      PrepareReplica(a.id);
      break;
    }
    case ActionKind::kPromote:
      PromoteReplica(a.id);
      break;
    case ActionKind::kStop: {
      std::string id = a.id;
      StopReplica(id, a.reason, [this, id] {
        RemoveReplica(id);
        Kick();
      });
      break;
    }
  }
}

// ---------------------------------------------------------------------------------
// Waiting and change notification

void Supervisor::Changed() {
  for (auto& f : change_listeners_) f();
  CheckWaiters();
}

std::optional<Status> Supervisor::ReadyState(const std::string& name) const {
  auto it = envs_.find(name);
  if (it == envs_.end()) return NotFound("environment " + name + " was removed");
  const Env& env = it->second;
  for (const auto& [sname, s] : env.project.services) {
    int want = DesiredReplicas(env, s);
    int ready = 0;
    for (const auto& [id, r] : replicas_) {
      const auto& rec = r->rec;
      if (rec.env != name || rec.service != sname || rec.state == "standby") continue;
      if (rec.spec_hash != env.hashes.at(sname)) continue;
      if (rec.state == "running" && (rec.health == "healthy" || rec.health == "none")) ++ready;
      else if (rec.state == "exited" && rec.exit_code == 0) ++ready;
      else if (rec.state == "exited")
        return FailedPrecondition(rec.id + " " + rec.exit_reason + " and will not be restarted (restart: " +
                                  (s.restart.policy == spec::RestartPolicy::kNo ? "no" : "on-failure") +
                                  "); see `berth logs " + name + "/" + sname + "`");
    }
    if (ready < want) return std::nullopt;
  }
  return OkStatus();
}

void Supervisor::WaitReady(const std::string& env, Millis timeout, std::function<void(Status)> done) {
  auto w = std::make_unique<Waiter>();
  w->env = env;
  w->done = std::move(done);
  w->timer = std::make_unique<asio::steady_timer>(io_, timeout);
  Waiter* raw = w.get();
  w->timer->async_wait([this, raw, timeout](const boost::system::error_code& ec) {
    if (ec) return;
    for (auto it = waiters_.begin(); it != waiters_.end(); ++it) {
      if (it->get() != raw) continue;
      std::string detail;
      for (const auto& rec : Replicas(raw->env))
        if (!(rec.state == "running" && (rec.health == "healthy" || rec.health == "none")))
          detail += "; " + rec.id + " " + rec.state + (rec.exit_reason.empty() ? "" : " (" + rec.exit_reason + ")");
      auto cb = std::move((*it)->done);
      std::string env = raw->env;
      waiters_.erase(it);  // frees *raw
      cb(DeadlineExceeded("environment " + env + " not ready after " + FormatDuration(timeout) + detail));
      return;
    }
  });
  waiters_.push_back(std::move(w));
  CheckWaiters();
}

void Supervisor::CheckWaiters() {
  for (size_t i = 0; i < waiters_.size();) {
    auto state = ReadyState(waiters_[i]->env);
    if (!state) {
      ++i;
      continue;
    }
    auto w = std::move(waiters_[i]);
    waiters_.erase(waiters_.begin() + static_cast<long>(i));
    w->timer->cancel();
    w->done(*state);
  }
}

// ---------------------------------------------------------------------------------
// Events

void Supervisor::Event(const std::string& kind, const store::ReplicaRecord& r, const std::string& message) {
  store::Event e;
  e.time_ms = ToUnixMillis(clock_.Now());
  e.env = r.env;
  e.service = r.service;
  e.replica = r.id;
  e.kind = kind;
  e.message = message;
  spdlog::info("{} {}: {}", kind, r.id.empty() ? r.env + "/" + r.service : r.id, message);
  auto s = store_.AppendEvent(std::move(e));
  if (!s.ok()) spdlog::warn("event: {}", s.status().message());
}

void Supervisor::EnvEvent(const std::string& kind, const std::string& env, const std::string& message) {
  store::ReplicaRecord r;
  r.env = env;
  store::Event e;
  e.time_ms = ToUnixMillis(clock_.Now());
  e.env = env;
  e.kind = kind;
  e.message = message;
  spdlog::info("{} {}{}{}", kind, env, message.empty() ? "" : ": ", message);
  auto s = store_.AppendEvent(std::move(e));
  if (!s.ok()) spdlog::warn("event: {}", s.status().message());
}

}  // namespace berth::supervisor
