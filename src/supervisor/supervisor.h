// Supervisor: the loop around the pure cores. It keeps every environment's desired state
// (spec::Project + scale overrides) and every replica's observed state in the Store,
// runs Reconcile() after each event, and carries out its actions through the Runtime on a
// small worker pool (runc calls block for ~50-100 ms). It watches replica exits
// (ChildReaper for its own children, pidfd for containers adopted after a restart), runs
// health probes, captures logs, applies restart policies with backoff, and on Start()
// adopts whatever a previous berthd left running — same PIDs, same restart counts.
//
// Threading: every public method must be called on the io_context's thread. Worker
// threads only call the Runtime and post results back to that thread.
#pragma once

#include <sys/types.h>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>

#include "base/clock.h"
#include "base/status.h"
#include "network/network.h"
#include "network/subnet.h"
#include "runtime/runtime.h"
#include "spec/model.h"
#include "store/store.h"
#include "supervisor/admission.h"
#include "supervisor/backoff.h"
#include "supervisor/container_spec.h"
#include "supervisor/health.h"
#include "supervisor/log_sink.h"
#include "supervisor/reconciler.h"
#include "supervisor/restart.h"

namespace berth::supervisor {

struct SupervisorOptions {
  Layout layout;
  int64_t default_pids_limit = 1024;
  Amount capacity;  // what environments may reserve in total (admission.h)
  bool prewarm = true;  // autoscaled services keep one prepared (created, not started) replica
  // Ingress drain: called before an exposed running replica is stopped; `done` once the
  // proxy sends it nothing and its requests finished. Unset: stop at once.
  std::function<void(const std::string& id, const std::string& service, std::function<void()> done)> drain;
  std::string init_path;  // berth-init for isolated runtimes; empty: none
  // Per-environment networks (isolated runtimes). Null: replicas share the host network.
  network::Network* network = nullptr;
  std::string subnet_pool = "10.89.0.0/16";
  int subnet_prefix = 24;
  // Ingress names (SERVICE.ENV.DOMAIN) in each environment's hosts file, at its gateway.
  std::string domain = "localhost";
  BackoffOptions backoff;
  int64_t log_max_bytes = 10 << 20;
  int log_keep_files = 3;
  int worker_threads = 4;
  Millis stop_timeout_floor{0};  // added to stop_grace_period before the final SIGKILL wait
};

// An environment as the API shows it.
struct EnvView {
  store::EnvRecord rec;
  spec::Project project;
  std::map<std::string, int> scale;  // desired replicas per service (overrides applied)
};

class Supervisor {
 public:
  Supervisor(boost::asio::io_context& io, store::Store& store, runtime::Runtime& runtime, const Clock& clock,
             SupervisorOptions options);
  ~Supervisor();
  Supervisor(const Supervisor&) = delete;
  Supervisor& operator=(const Supervisor&) = delete;

  // Loads the store, adopts running containers, removes orphans, starts reconciling.
  Status Start();
  // Stops timers and the worker pool. Containers keep running (they outlive berthd).
  void Shutdown();

  // Creates (or, with allow_update, updates) an environment. Nothing is changed when it
  // fails. `warnings` collects non-fatal notes.
  Status ApplyEnv(const spec::Project& project, store::EnvRecord meta, bool allow_create, bool allow_update);
  // Stops every replica, removes the environment; volumes and secrets only if asked.
  void RemoveEnv(const std::string& name, bool remove_volumes, std::function<void(Status)> done);
  // done(ok) once every wanted replica runs (and is healthy when it has a check) or has
  // completed successfully; done(error) on a replica that will not run, or at timeout.
  void WaitReady(const std::string& env, Millis timeout, std::function<void(Status)> done);
  // Rolling restart of a service's replicas (one at a time).
  Status RestartService(const std::string& env, const std::string& service);
  // Pins a service's replica count (`berth scale`).
  Status Scale(const std::string& env, const std::string& service, int replicas);

  // Autoscaling: services with x-berth.scale (min < max) that `berth scale` has not
  // pinned, with their decider settings and counts; and setting a decision.
  struct AutoscaleTarget {
    std::string env, service;
    int min = 0, max = 0, limit = 0;
    double target_utilization = 0.7;
    Millis idle{60'000};
    Millis window{60'000};
    int ready = 0, current = 0;
  };
  std::vector<AutoscaleTarget> AutoscaleTargets() const;
  void SetAutoscaled(const std::string& env, const std::string& service, int replicas, const std::string& reason);

  // Replicas being drained (the ingress keeps them but sends them nothing new).
  std::set<std::string> Draining() const;

  struct CapacityView {
    Amount total;
    Amount reserved;
    std::vector<std::pair<std::string, Amount>> envs;
  };
  CapacityView Capacity() const;

  StatusOr<EnvView> GetEnv(const std::string& name) const;
  std::vector<EnvView> ListEnvs() const;
  std::vector<store::ReplicaRecord> Replicas(const std::string& env = "") const;
  std::optional<std::string> Secret(const std::string& env, const std::string& name) const;

  // Runs argv in a running replica (`berth exec`); done on the loop thread.
  // `berth exec`: up to kExecOutputLimit bytes of output are returned (truncated says so).
  static constexpr size_t kExecOutputLimit = 8 << 20;
  void Exec(const std::string& env, const std::string& service, int index, std::vector<std::string> argv,
            Millis timeout, std::function<void(StatusOr<runtime::ExecResult>)> done);

  // Usage of every running replica, gathered on the worker pool.
  void Stats(std::function<void(std::vector<std::pair<store::ReplicaRecord, runtime::Usage>>)> done);

  // Log access: the replica's log file, and live lines.
  struct LogSource {
    std::string path;
    int keep_files;
  };
  std::optional<LogSource> Logs(const std::string& replica_id) const;
  int FollowLogs(const std::string& replica_id, LogSink::Follower f);  // 0 if unknown
  void UnfollowLogs(const std::string& replica_id, int token);

  // Called after any replica or environment change (route updates, waiters).
  void OnChange(std::function<void()> f) { change_listeners_.push_back(std::move(f)); }

  const Layout& layout() const { return o_.layout; }
  runtime::Runtime& runtime() { return rt_; }

 private:
  struct Replica;
  struct Env {
    store::EnvRecord rec;
    spec::Project project;
    std::map<std::string, int> scale;  // overrides
    std::map<std::string, int> autoscaled;  // the autoscaler's counts (persisted)
    std::map<std::string, std::string> hashes;  // ServiceHash per service, computed once
    std::optional<network::Cidr> subnet;        // with a network: allocated once, kept in the store
    std::map<std::string, uint32_t> uids;       // resolved `user` per service (absent: root)
    bool deleting = false;
    bool removing_network = false;
    bool remove_volumes = false;
    std::vector<std::function<void(Status)>> on_removed;
  };
  struct Waiter {
    std::string env;
    std::function<void(Status)> done;
    std::unique_ptr<boost::asio::steady_timer> timer;
  };

  // Environments
  Status PrepareEnvFiles(const spec::Project& project, const std::string& env,
                         std::map<std::string, uint32_t>* uids);
  void FinishRemoval(const std::string& env);
  int DesiredReplicas(const Env& env, const spec::Service& s) const;
  std::map<std::string, int> DesiredReplicas(const Env& env) const;
  // What admission charges an environment: autoscaled services at scale.min (replicas
  // above it are best effort, not reserved), pinned and fixed ones at their count.
  std::map<std::string, int> ReservedReplicas(const Env& env) const;
  Amount ReservedExcept(const std::string& env) const;
  static void SetProject(Env& env, spec::Project project);
  const std::string& HashOf(const store::ReplicaRecord& r) const;

  // Reconciling
  void Kick();
  void ReconcileNow();
  void Execute(const Action& a);

  // Replica lifecycle (supervisor_replica.cc)
  Replica& AddReplica(const Action& a, const Env& env, const spec::Service& svc);
  void StartReplica(const std::string& id, bool is_restart);
  void PrepareReplica(const std::string& id);
  void PromoteReplica(const std::string& id);
  void Launch(const std::string& id, bool is_restart, bool standby);
  void OnPrepared(const std::string& id, uint64_t incarnation, Status st);
  void OnStarted(const std::string& id, uint64_t incarnation, StatusOr<runtime::ContainerState> st);
  void WatchExit(Replica& r);
  void OnExit(const std::string& id, uint64_t incarnation, std::optional<int> wait_status);
  void AfterContainerGone(const std::string& id, uint64_t incarnation, ExitInfo info);
  void StopReplica(const std::string& id, std::string reason, std::function<void()> then);
  void Terminate(Replica& r, bool unhealthy);
  void RemoveReplica(const std::string& id);
  void ForgetReplica(const std::string& id);
  void UpdateHosts(const std::string& env);
  StatusOr<network::Cidr> AllocateSubnet(const std::string& env);
  void Persist(Replica& r);
  void Event(const std::string& kind, const store::ReplicaRecord& r, const std::string& message);
  void EnvEvent(const std::string& kind, const std::string& env, const std::string& message);
  const spec::Service* ServiceOf(const store::ReplicaRecord& r) const;

  // Health (supervisor_health.cc)
  void ScheduleProbe(Replica& r);
  void RunProbe(const std::string& id, uint64_t incarnation);
  void OnProbe(const std::string& id, uint64_t incarnation, bool ok, std::string output);

  // Adoption (supervisor_adopt.cc)
  Status Adopt();

  void Changed();
  void CheckWaiters();
  std::optional<Status> ReadyState(const std::string& env) const;
  double Rand01();

  boost::asio::io_context& io_;
  store::Store& store_;
  runtime::Runtime& rt_;
  const Clock& clock_;
  SupervisorOptions o_;
  BackoffPolicy backoff_;
  boost::asio::thread_pool pool_;
  std::map<std::string, Env> envs_;
  std::map<std::string, std::unique_ptr<Replica>> replicas_;
  std::vector<std::unique_ptr<Waiter>> waiters_;
  std::vector<std::function<void()>> change_listeners_;
  boost::asio::steady_timer wake_timer_;
  bool kick_pending_ = false;
  bool shut_down_ = false;
  uint64_t next_incarnation_ = 1;
  std::mt19937_64 rng_{std::random_device{}()};
};

}  // namespace berth::supervisor
