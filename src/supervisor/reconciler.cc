#include "supervisor/reconciler.h"

#include <algorithm>
#include <map>
#include <set>

namespace berth::supervisor {
namespace {

using Key = std::pair<std::string, std::string>;  // env, service

const char* ConditionName(spec::DependCondition c) {
  switch (c) {
    case spec::DependCondition::kStarted: return "service_started";
    case spec::DependCondition::kHealthy: return "service_healthy";
    case spec::DependCondition::kCompletedSuccessfully: return "service_completed_successfully";
  }
  return "?";
}

// Whether every wanted replica of `dep` meets the condition.
bool Satisfied(const spec::DependsOn& dep, int wanted, const std::vector<const ObservedReplica*>& reps) {
  if (wanted == 0) return dep.condition != spec::DependCondition::kCompletedSuccessfully || reps.empty();
  int ok = 0;
  for (const ObservedReplica* r : reps) {
    if (r->rec.index > wanted) continue;
    const auto& s = r->rec.state;
    switch (dep.condition) {
      case spec::DependCondition::kStarted:
        ok += s == "running";
        break;
      case spec::DependCondition::kHealthy:
        ok += s == "running" && (r->rec.health == "healthy" || r->rec.health == "none");
        break;
      case spec::DependCondition::kCompletedSuccessfully:
        ok += s == "exited" && r->rec.exit_code == 0;
        break;
    }
  }
  return ok >= wanted;
}

}  // namespace

const char* ActionName(ActionKind k) {
  switch (k) {
    case ActionKind::kCreate: return "create";
    case ActionKind::kRestart: return "restart";
    case ActionKind::kReplace: return "replace";
    case ActionKind::kStop: return "stop";
    case ActionKind::kPrepare: return "prepare";
    case ActionKind::kPromote: return "promote";
  }
  return "?";
}

std::string ReplicaId(const std::string& env, const std::string& service, int index) {
  return env + "." + service + "." + std::to_string(index);
}

Plan Reconcile(const std::vector<DesiredService>& desired, const std::vector<ObservedReplica>& observed,
               TimePoint now) {
  Plan plan;
  std::map<Key, const DesiredService*> want;
  for (const auto& d : desired) want[{d.env, d.service}] = &d;
  std::map<Key, std::vector<const ObservedReplica*>> have;
  for (const auto& o : observed) have[{o.rec.env, o.rec.service}].push_back(&o);
  for (auto& [k, v] : have)
    std::sort(v.begin(), v.end(), [](auto* a, auto* b) { return a->rec.index < b->rec.index; });

  auto add = [&](ActionKind kind, const store::ReplicaRecord& r, std::string reason) {
    plan.actions.push_back({kind, r.env, r.service, r.index, r.id, std::move(reason)});
  };

  // Replicas of services no longer wanted.
  for (const auto& [key, reps] : have) {
    if (want.count(key)) continue;
    for (auto it = reps.rbegin(); it != reps.rend(); ++it)
      if (!(*it)->busy) add(ActionKind::kStop, (*it)->rec, "service removed");
  }

  for (const auto& d : desired) {
    const auto& reps = have[{d.env, d.service}];
    std::map<int, const ObservedReplica*> by_index;
    for (auto* r : reps) by_index[r->rec.index] = r;

    // Dependencies gate first starts only; restarts of a started service go ahead.
    bool deps_ok = true;
    for (const auto& dep : d.depends_on) {
      auto wit = want.find({d.env, dep.service});
      int wanted = wit == want.end() ? 0 : wit->second->replicas;
      if (wit == want.end() && !dep.required) continue;
      if (!Satisfied(dep, wanted, have[{d.env, dep.service}])) {
        deps_ok = false;
        plan.waiting.push_back(d.env + "/" + d.service + " waits for " + dep.service + " (" +
                               ConditionName(dep.condition) + ")");
      }
    }

    bool rollout_in_flight = false;
    for (auto* r : reps)
      rollout_in_flight |= r->rec.index <= d.replicas && (r->busy || r->rec.state == "starting");
    const int standby_index = d.replicas + 1;
    auto make = [&](int i) {
      store::ReplicaRecord r;
      r.env = d.env;
      r.service = d.service;
      r.index = i;
      r.id = ReplicaId(d.env, d.service, i);
      return r;
    };

    for (int i = 1; i <= d.replicas; ++i) {
      auto it = by_index.find(i);
      if (it == by_index.end()) {
        if (deps_ok) add(ActionKind::kCreate, make(i), "scale up");
        continue;
      }
      const ObservedReplica& o = *it->second;
      if (o.busy) continue;
      const auto& r = o.rec;
      if (r.state == "standby" && r.spec_hash == d.spec_hash) {
        add(ActionKind::kPromote, r, "scale up (prepared)");
        continue;
      }
      if (r.spec_hash != d.spec_hash && r.state != "stopped") {
        if (!rollout_in_flight) {
          add(ActionKind::kReplace, r, "spec changed");
          rollout_in_flight = true;  // one replacement at a time per service
        }
        continue;
      }
      if (r.state == "backoff") {
        TimePoint due = FromUnixMillis(r.next_start_at_ms);
        if (due <= now) {
          add(ActionKind::kRestart, r, "backoff elapsed");
        } else if (!plan.wake_at || due < *plan.wake_at) {
          plan.wake_at = due;
        }
      }
    }
    // The standby: prepared at replicas+1 while the service may still grow.
    bool want_standby = d.prewarm && deps_ok;
    auto sit = by_index.find(standby_index);
    bool keep_standby = want_standby && sit != by_index.end() && sit->second->rec.state == "standby" &&
                        sit->second->rec.spec_hash == d.spec_hash;
    if (want_standby && sit == by_index.end()) add(ActionKind::kPrepare, make(standby_index), "prewarm");
    for (auto it = reps.rbegin(); it != reps.rend(); ++it) {
      const auto& r = (*it)->rec;
      if (r.index <= d.replicas || (*it)->busy) continue;
      if (r.index == standby_index && keep_standby) continue;
      add(ActionKind::kStop, r, r.state == "standby" ? "standby not needed" : "scale down");
    }
  }
  return plan;
}

}  // namespace berth::supervisor
