// Start-up after a berthd restart (or crash): take back what the previous berthd ran.
#include <unistd.h>

#include <boost/asio/post.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "base/fs.h"
#include "spec/model_json.h"
#include "supervisor/supervisor_internal.h"

namespace berth::supervisor {

namespace asio = boost::asio;

Status Supervisor::Adopt() {
  BERTH_ASSIGN_OR_RETURN(auto env_recs, store_.ListEnvs());
  for (auto& rec : env_recs) {
    nlohmann::json j = nlohmann::json::parse(rec.spec_json, nullptr, false);
    auto project = spec::ProjectFromJson(j);
    if (!project.ok()) {
      spdlog::error("environment {}: stored spec unreadable ({}); leaving it alone", rec.name,
                    project.status().message());
      continue;
    }
    Env& env = envs_[rec.name];
    env.rec = rec;
    SetProject(env, std::move(*project));
    env.deleting = rec.phase == "deleting";
    if (auto v = store_.GetMeta("env/" + rec.name + "/delete_volumes"); v.ok() && *v) env.remove_volumes = **v == "1";
    if (auto m = store_.ListMeta("env/" + rec.name + "/scale/"); m.ok())
      for (const auto& [k, v] : *m) env.scale[k.substr(k.rfind('/') + 1)] = std::atoi(v.c_str());
    if (auto m = store_.ListMeta("env/" + rec.name + "/auto/"); m.ok())
      for (const auto& [k, v] : *m) env.autoscaled[k.substr(k.rfind('/') + 1)] = std::atoi(v.c_str());
    if (auto v = store_.GetMeta("env/" + rec.name + "/subnet"); v.ok() && *v) {
      if (auto c = network::Cidr::Parse(**v); c.ok()) env.subnet = *c;
    }
    if (o_.network && !env.subnet && !env.deleting) {
      // Stored before networks existed (or by a process-runtime berthd): allocate now.
      auto s = AllocateSubnet(rec.name);
      if (s.ok()) {
        env.subnet = *s;
        (void)store_.PutMeta("env/" + rec.name + "/subnet", s->ToString());
      }
    }
    if (!env.deleting) {
      if (Status s = PrepareEnvFiles(env.project, rec.name, &env.uids); !s.ok())
        spdlog::warn("environment {}: {}", rec.name, s.message());
    }
    if (o_.network && env.subnet) {  // a deleting environment keeps its rules until its network goes
      if (Status s = o_.network->PrepareEnv(rec.name, *env.subnet); !s.ok())
        spdlog::warn("network of {}: {}", rec.name, s.message());
    }
  }

  BERTH_ASSIGN_OR_RETURN(auto states, rt_.List());
  std::map<std::string, runtime::ContainerState> by_id;
  for (auto& s : states) by_id[s.id] = s;
  BERTH_ASSIGN_OR_RETURN(auto recs, store_.ListReplicas());

  int adopted = 0, exited = 0;
  TimePoint now = clock_.Now();
  for (auto& rec : recs) {
    auto st = by_id.find(rec.id);
    bool have_container = st != by_id.end();
    runtime::ContainerState cs = have_container ? st->second : runtime::ContainerState{};
    if (have_container) by_id.erase(st);
    if (!envs_.count(rec.env)) {
      spdlog::warn("replica {} belongs to no environment: removing it", rec.id);
      (void)rt_.Delete(rec.id);
      (void)store_.DeleteReplica(rec.id);
      continue;
    }
    auto r = std::make_unique<Replica>();
    r->rec = rec;
    r->incarnation = next_incarnation_++;
    Replica& ref = *r;
    replicas_[rec.id] = std::move(r);
    ref.logs = std::make_shared<LogSink>(io_, clock_, o_.layout.FifoPath(rec.id, 'o'),
                                         o_.layout.FifoPath(rec.id, 'e'), o_.layout.LogFile(rec.id),
                                         o_.log_max_bytes, o_.log_keep_files);
    if (Status s = ref.logs->Open(); !s.ok()) spdlog::warn("logs {}: {}", rec.id, s.message());

    if (o_.network && ref.rec.ip.empty()) ref.rec.ip = o_.network->AttachedIp(rec.id);  // died before saving it
    bool same_process = cs.status == runtime::ContainerStatus::kRunning &&
                        (rec.pid == 0 || (cs.pid == rec.pid && (rec.pid_start_time == 0 ||
                                                                cs.pid_start_time == rec.pid_start_time)));
    if (have_container && same_process) {
      // Still running: take it back as it is.
      ref.rec.pid = cs.pid;
      ref.rec.pid_start_time = cs.pid_start_time;
      if (ref.rec.state == "starting") {
        ref.rec.state = "running";
        ref.rec.started_at_ms = ToUnixMillis(now);
      }
      Persist(ref);
      if (const spec::Service* svc = ServiceOf(ref.rec)) {
        // Still waiting for readiness (berthd died meanwhile): keep probing fast.
        bool fresh = ref.rec.health == "starting";
        ref.health = MakeHealthTracker(*svc, FromUnixMillis(ref.rec.started_at_ms), fresh, &ref.probe);
        ScheduleProbe(ref);
      }
      WatchExit(ref);
      ++adopted;
      continue;
    }
    if (rec.state == "standby") {
      // A prepared replica: still good if its container is created; else prepared anew.
      ref.prepared = have_container && cs.status == runtime::ContainerStatus::kCreated;
      if (!ref.prepared) {
        if (have_container) (void)rt_.Delete(rec.id);
        asio::post(io_, [this, id = rec.id] { PrepareReplica(id); });
      }
      continue;
    }
    if (rec.state == "starting" && cs.status != runtime::ContainerStatus::kRunning) {
      // berthd died while starting it (before or after runc create): start it afresh,
      // without counting a failure or a restart.
      asio::post(io_, [this, id = rec.id] { StartReplica(id, false); });
      continue;
    }
    if (have_container || rec.state == "running" || rec.state == "starting") {
      // It ended while berthd was away; its exit status went to someone else.
      ++exited;
      ref.rec.pid = rec.pid == 0 ? -1 : rec.pid;  // OnExit ignores pid 0
      asio::post(io_, [this, id = rec.id, inc = ref.incarnation] { OnExit(id, inc, std::nullopt); });
    }
  }
  // Containers no record knows: created by a berthd that died before saving them.
  for (auto& [id, cs] : by_id) {
    spdlog::warn("removing orphaned container {}", id);
    if (Status s = rt_.Delete(id); !s.ok()) spdlog::warn("remove orphan {}: {}", id, s.message());
  }
  if (o_.network) {
    std::set<std::string> env_names, ids;
    for (const auto& [name, e] : envs_) env_names.insert(name);
    for (const auto& [id, r] : replicas_) ids.insert(id);
    if (Status s = o_.network->CleanupOrphans(env_names, ids); !s.ok()) spdlog::warn("network cleanup: {}", s.message());
    for (const auto& name : env_names) UpdateHosts(name);
  }
  // FIFOs of replicas that no longer exist.
  if (auto names = ListDir(o_.layout.FifoDir()); names.ok()) {
    for (const auto& n : *names) {
      std::string id = n.substr(0, n.rfind('.'));
      if (!replicas_.count(id)) unlink((o_.layout.FifoDir() + "/" + n).c_str());
    }
  }
  spdlog::info("started: {} environments, {} replicas ({} adopted running, {} exited while away)", envs_.size(),
               replicas_.size(), adopted, exited);
  return OkStatus();
}

}  // namespace berth::supervisor
