// Reconcile: the supervisor's pure core (Nomad's reconciler). Given what should run
// (desired services), what does (replica records, with in-flight operations marked
// busy) and the time, it returns the actions that move one toward the other. It never
// performs them and never reads a clock, so it is tested as a table; the shell runs it
// again after every event, so each pass only needs to make progress.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "base/clock.h"
#include "spec/model.h"
#include "store/store.h"

namespace berth::supervisor {

struct DesiredService {
  std::string env;
  std::string service;
  int replicas = 1;
  std::string spec_hash;
  std::vector<spec::DependsOn> depends_on;
  // Autoscaled services below their maximum keep one replica prepared but not started
  // (state "standby", at index replicas+1), so scaling up is a `runc start` away.
  bool prewarm = false;
};

struct ObservedReplica {
  store::ReplicaRecord rec;
  bool busy = false;      // a start/stop is in flight: leave it alone this pass
  bool stopping = false;  // being stopped (draining, or its stop signal sent): already gone
};
// Replica states the reconciler knows: "standby" (prepared, not started), "starting",
// "running", "backoff", "exited", "stopped".

// The desired state of a service is a count of replicas running its current spec. The
// plan creates what is missing at the lowest free indices (promoting a prepared standby
// first), stops extras (not-ready and highest index first), restarts what is due after
// its backoff, and rolls out a changed spec with a surge of one: a replica of the new
// spec is started, and an old one stopped only once the new one is ready, so capacity
// never drops below the desired count.
enum class ActionKind {
  kCreate,   // create and start a replica (new index)
  kRestart,  // in backoff and due: start it again
  kStop,     // not wanted (scaled down, outdated, service or environment removed): stop and remove
  kPrepare,  // create the standby replica (network, bundle, runc create) without starting it
  kPromote,  // start a standby replica that is now wanted
};
const char* ActionName(ActionKind k);

struct Action {
  ActionKind kind;
  std::string env;
  std::string service;
  int index = 0;
  std::string id;  // ENV.SERVICE.N
  std::string reason;
  bool operator==(const Action&) const = default;
};

struct Plan {
  std::vector<Action> actions;
  std::optional<TimePoint> wake_at;  // run again then (earliest backoff expiry)
  std::vector<std::string> waiting;  // human reasons: "shop/api waits for db (service_healthy)"
};

std::string ReplicaId(const std::string& env, const std::string& service, int index);

Plan Reconcile(const std::vector<DesiredService>& desired, const std::vector<ObservedReplica>& observed,
               TimePoint now);

}  // namespace berth::supervisor
