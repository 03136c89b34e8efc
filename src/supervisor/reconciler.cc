#include "supervisor/reconciler.h"

#include <algorithm>
#include <map>
#include <set>

namespace berth::supervisor {
namespace {

using Key = std::pair<std::string, std::string>;  // env, service
using Reps = std::vector<const ObservedReplica*>;

const char* ConditionName(spec::DependCondition c) {
  switch (c) {
    case spec::DependCondition::kStarted: return "service_started";
    case spec::DependCondition::kHealthy: return "service_healthy";
    case spec::DependCondition::kCompletedSuccessfully: return "service_completed_successfully";
  }
  return "?";
}

bool Ready(const store::ReplicaRecord& r) {
  return r.state == "running" && (r.health == "healthy" || r.health == "none");
}

// Counts toward the desired number: everything but standbys and replicas being removed.
bool Serving(const store::ReplicaRecord& r) { return r.state != "standby" && r.state != "stopped"; }

// Whether `wanted` replicas of `dep` meet the condition.
bool Satisfied(const spec::DependsOn& dep, int wanted, const Reps& reps) {
  if (wanted == 0) return dep.condition != spec::DependCondition::kCompletedSuccessfully || reps.empty();
  int ok = 0;
  for (const ObservedReplica* r : reps) {
    switch (dep.condition) {
      case spec::DependCondition::kStarted: ok += r->rec.state == "running"; break;
      case spec::DependCondition::kHealthy: ok += Ready(r->rec); break;
      case spec::DependCondition::kCompletedSuccessfully: ok += r->rec.state == "exited" && r->rec.exit_code == 0; break;
    }
  }
  return ok >= wanted;
}

// The plan for one service. Replicas are identified by index, but the desired state is a
// count: indices are names, new replicas take the lowest free ones.
class ServicePlanner {
 public:
  ServicePlanner(const DesiredService& d, const Reps& reps, TimePoint now, Plan& plan)
      : d_(d), reps_(reps), now_(now), plan_(plan) {
    for (auto* r : reps_) used_.insert(r->rec.index);
  }

  void Run(bool deps_ok) {
    std::vector<const ObservedReplica*> current, outdated, standby_ok;
    int current_ready = 0, standby_busy = 0;
    for (auto* r : reps_) {
      const auto& rec = r->rec;
      bool fresh = rec.spec_hash == d_.spec_hash;
      if (rec.state == "standby") {
        if (r->busy && fresh) ++standby_busy;  // being prepared: it still counts
        else if (r->busy) continue;
        else if (fresh) standby_ok.push_back(r);
        else Add(ActionKind::kStop, rec, "standby outdated");
        continue;
      }
      // A replica on its way out counts for nothing: counting it would make the next
      // pass stop another one in its place (a scale-down by 2 would stop them all).
      if (!Serving(rec) || r->stopping) continue;
      (fresh ? current : outdated).push_back(r);
      current_ready += fresh && Ready(rec);
    }
    int n = d_.replicas, c = static_cast<int>(current.size()), o = static_cast<int>(outdated.size());

    // Up: promote a standby first, then create; during a rollout one extra at a time
    // (surge 1), so capacity never drops below n.
    auto may_add = [&] { return c < n && (o == 0 || c + o < n + 1); };
    while (deps_ok && may_add() && !standby_ok.empty()) {
      Add(ActionKind::kPromote, standby_ok.back()->rec, o ? "rolling update (prepared)" : "scale up (prepared)");
      standby_ok.pop_back();
      ++c;
    }
    // A standby still being prepared is never slower than a new replica (same steps,
    // already under way): wait for it; the pass after it is ready promotes it.
    for (int coming = standby_busy; deps_ok && may_add() && coming > 0; --coming) ++c;
    while (deps_ok && may_add()) {
      Add(ActionKind::kCreate, Make(FreeIndex()), o ? "rolling update" : "scale up");
      ++c;
    }
    if (!deps_ok && c < n) waiting_ = true;

    // Outdated replicas go once enough current ones are ready; ones that serve nothing at once.
    int removable = std::max(0, current_ready + o - n);
    std::sort(outdated.begin(), outdated.end(), [](auto* a, auto* b) { return Ready(a->rec) < Ready(b->rec); });
    for (auto* r : outdated) {
      if (r->busy) continue;
      if (!Ready(r->rec)) Add(ActionKind::kStop, r->rec, "spec changed");
      else if (removable > 0) {
        Add(ActionKind::kStop, r->rec, "spec changed: replaced");
        --removable;
      }
    }

    // Down: extra current replicas, not-ready and highest index first.
    if (static_cast<int>(current.size()) > n) {
      std::sort(current.begin(), current.end(), [](auto* a, auto* b) {
        if (Ready(a->rec) != Ready(b->rec)) return Ready(a->rec) < Ready(b->rec);
        return a->rec.index > b->rec.index;
      });
      int extra = static_cast<int>(current.size()) - n;
      for (auto* r : current) {
        if (extra == 0) break;
        if (r->busy) continue;
        Add(ActionKind::kStop, r->rec, "scale down");
        --extra;
      }
    }

    // Restarts that are due.
    for (auto* r : current) {
      if (r->busy || r->rec.state != "backoff" || stopped_.count(r->rec.id)) continue;
      TimePoint due = FromUnixMillis(r->rec.next_start_at_ms);
      if (due <= now_) Add(ActionKind::kRestart, r->rec, "backoff elapsed");
      else if (!plan_.wake_at || due < *plan_.wake_at) plan_.wake_at = due;
    }

    // One prepared replica while the service may still grow; extras go.
    bool want_standby = d_.prewarm && deps_ok;
    size_t keep = want_standby && standby_busy == 0 ? 1 : 0;
    if (want_standby && standby_ok.empty() && standby_busy == 0) Add(ActionKind::kPrepare, Make(FreeIndex()), "prewarm");
    for (size_t i = keep; i < standby_ok.size(); ++i) Add(ActionKind::kStop, standby_ok[i]->rec, "standby not needed");
  }

  bool waiting() const { return waiting_; }

 private:
  int FreeIndex() {
    int i = 1;
    while (used_.count(i)) ++i;
    used_.insert(i);
    return i;
  }
  store::ReplicaRecord Make(int index) {
    store::ReplicaRecord r;
    r.env = d_.env;
    r.service = d_.service;
    r.index = index;
    r.id = ReplicaId(d_.env, d_.service, index);
    return r;
  }
  void Add(ActionKind kind, const store::ReplicaRecord& r, const char* reason) {
    if (kind == ActionKind::kStop) stopped_.insert(r.id);
    plan_.actions.push_back({kind, r.env, r.service, r.index, r.id, reason});
  }

  const DesiredService& d_;
  const Reps& reps_;
  TimePoint now_;
  Plan& plan_;
  std::set<int> used_;
  std::set<std::string> stopped_;
  bool waiting_ = false;
};

}  // namespace

const char* ActionName(ActionKind k) {
  switch (k) {
    case ActionKind::kCreate: return "create";
    case ActionKind::kRestart: return "restart";
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
  std::map<Key, Reps> have;
  for (const auto& o : observed) have[{o.rec.env, o.rec.service}].push_back(&o);
  for (auto& [k, v] : have)
    std::sort(v.begin(), v.end(), [](auto* a, auto* b) { return a->rec.index < b->rec.index; });

  // Replicas of services no longer wanted.
  for (const auto& [key, reps] : have) {
    if (want.count(key)) continue;
    for (auto it = reps.rbegin(); it != reps.rend(); ++it)
      if (!(*it)->busy)
        plan.actions.push_back({ActionKind::kStop, (*it)->rec.env, (*it)->rec.service, (*it)->rec.index,
                                (*it)->rec.id, "service removed"});
  }

  static const Reps kNone;
  for (const auto& d : desired) {
    auto hit = have.find({d.env, d.service});
    const Reps& reps = hit == have.end() ? kNone : hit->second;
    // Dependencies gate new replicas only; restarts of a started service go ahead.
    bool deps_ok = true;
    std::vector<std::string> waits;
    for (const auto& dep : d.depends_on) {
      auto wit = want.find({d.env, dep.service});
      if (wit == want.end() && !dep.required) continue;
      int wanted = wit == want.end() ? 0 : wit->second->replicas;
      auto dit = have.find({d.env, dep.service});
      if (!Satisfied(dep, wanted, dit == have.end() ? kNone : dit->second)) {
        deps_ok = false;
        waits.push_back(d.env + "/" + d.service + " waits for " + dep.service + " (" + ConditionName(dep.condition) + ")");
      }
    }
    ServicePlanner p(d, reps, now, plan);
    p.Run(deps_ok);
    if (p.waiting()) plan.waiting.insert(plan.waiting.end(), waits.begin(), waits.end());
  }
  return plan;
}

}  // namespace berth::supervisor
