#include "supervisor/reconciler.h"

#include <gtest/gtest.h>

namespace berth::supervisor {
namespace {

const TimePoint kNow = FromUnixMillis(1'000'000);

DesiredService Want(const std::string& svc, int n, const std::string& hash = "h1",
                    std::vector<spec::DependsOn> deps = {}) {
  return {"shop", svc, n, hash, std::move(deps)};
}

ObservedReplica Have(const std::string& svc, int index, const std::string& state, const std::string& hash = "h1",
                     bool busy = false) {
  ObservedReplica o;
  o.rec.env = "shop";
  o.rec.service = svc;
  o.rec.index = index;
  o.rec.id = ReplicaId("shop", svc, index);
  o.rec.state = state;
  o.rec.spec_hash = hash;
  o.rec.health = "none";
  o.busy = busy;
  return o;
}

std::vector<std::string> Summary(const Plan& p) {
  std::vector<std::string> out;
  for (const auto& a : p.actions) out.push_back(std::string(ActionName(a.kind)) + " " + a.id);
  return out;
}

using V = std::vector<std::string>;

ObservedReplica Ready(const std::string& svc, int index, const std::string& hash = "h1") {
  auto o = Have(svc, index, "running", hash);
  o.rec.health = "healthy";
  return o;
}

TEST(Reconcile, Table) {
  struct Case {
    const char* name;
    std::vector<DesiredService> want;
    std::vector<ObservedReplica> have;
    V actions;
  };
  auto backoff_due = Have("api", 1, "backoff");
  backoff_due.rec.next_start_at_ms = ToUnixMillis(kNow) - 1;
  auto backoff_later = Have("api", 1, "backoff");
  backoff_later.rec.next_start_at_ms = ToUnixMillis(kNow) + 5000;
  auto starting_new = Have("api", 2, "starting", "h2");
  auto running_unready_new = Have("api", 2, "running", "h2");
  running_unready_new.rec.health = "starting";
  auto stopping3 = Have("api", 3, "running", "h1", true);
  stopping3.stopping = true;
  auto stopping4 = Have("api", 4, "running", "h1", true);
  stopping4.stopping = true;

  const Case table[] = {
      {"nothing to do", {}, {}, {}},
      // Regression: the two being stopped counted as current, so the next pass stopped
      // replicas 2 and 1 as well (no replica left for a min-1 service).
      {"scale-down in progress: the rest stays",
       {Want("api", 2)},
       {Have("api", 1, "running"), Have("api", 2, "running"), stopping3, stopping4},
       {}},
      {"a stopping replica is replaced if still wanted",
       {Want("api", 2)},
       {Have("api", 1, "running"), stopping3},
       {"create shop.api.2"}},
      {"create all", {Want("api", 2)}, {}, {"create shop.api.1", "create shop.api.2"}},
      {"converged", {Want("api", 2)}, {Have("api", 1, "running"), Have("api", 2, "running")}, {}},
      {"fill the lowest free index", {Want("api", 3)}, {Have("api", 1, "running"), Have("api", 3, "running")},
       {"create shop.api.2"}},
      {"scale down highest first",
       {Want("api", 1)},
       {Have("api", 1, "running"), Have("api", 2, "running"), Have("api", 3, "running")},
       {"stop shop.api.3", "stop shop.api.2"}},
      {"scale down prefers replicas that are not ready",
       {Want("api", 1)},
       {Have("api", 1, "backoff"), Ready("api", 2)},
       {"stop shop.api.1"}},
      {"scale to zero", {Want("api", 0)}, {Have("api", 1, "running")}, {"stop shop.api.1"}},
      {"service removed", {}, {Have("api", 1, "running"), Have("api", 2, "exited")}, {"stop shop.api.2", "stop shop.api.1"}},
      {"busy replicas are left alone", {Want("api", 0)}, {Have("api", 1, "running", "h1", true)}, {}},
      {"backoff due restarts", {Want("api", 1)}, {backoff_due}, {"restart shop.api.1"}},
      {"backoff not due waits", {Want("api", 1)}, {backoff_later}, {}},
      {"exited stays exited (it counts)", {Want("api", 1)}, {Have("api", 1, "exited")}, {}},
      {"rollout: surge one new replica first", {Want("api", 2, "h2")}, {Ready("api", 1), Ready("api", 2)},
       {"create shop.api.3"}},
      {"rollout: the old one stays until the new one is ready", {Want("api", 1, "h2")},
       {Ready("api", 1), running_unready_new}, {}},
      {"rollout: no second surge while one is starting", {Want("api", 2, "h2")},
       {Ready("api", 1), Ready("api", 3), starting_new}, {}},
      {"rollout: new one ready, old one goes", {Want("api", 1, "h2")}, {Ready("api", 1), Ready("api", 2, "h2")},
       {"stop shop.api.1"}},
      {"rollout: an old replica that serves nothing goes at once", {Want("api", 1, "h2")},
       {Have("api", 1, "backoff"), starting_new}, {"stop shop.api.1"}},
      {"stopped replicas do not count", {Want("api", 1)}, {Have("api", 1, "stopped")}, {"create shop.api.2"}},
  };
  for (const auto& c : table) {
    Plan p = Reconcile(c.want, c.have, kNow);
    EXPECT_EQ(Summary(p), c.actions) << c.name;
  }
}

TEST(Reconcile, RollingUpdateConvergesWithCapacityKept) {
  // Simulate: every action takes effect at once; new replicas become ready next pass.
  std::vector<ObservedReplica> have = {Ready("api", 1), Ready("api", 2), Ready("api", 3)};
  DesiredService want = Want("api", 3, "h2");
  for (int pass = 0; pass < 20; ++pass) {
    int ready = 0;
    for (auto& o : have) ready += o.rec.state == "running" && o.rec.health == "healthy";
    EXPECT_GE(ready, 3) << "pass " << pass;
    for (auto& o : have)  // what started last pass is ready now
      if (o.rec.state == "starting") { o.rec.state = "running"; o.rec.health = "healthy"; }
    Plan p = Reconcile({want}, have, kNow);
    if (p.actions.empty()) break;
    for (const auto& a : p.actions) {
      if (a.kind == ActionKind::kCreate) {
        auto o = Have("api", a.index, "starting", "h2");
        have.push_back(o);
      } else if (a.kind == ActionKind::kStop) {
        have.erase(std::remove_if(have.begin(), have.end(), [&](auto& o) { return o.rec.id == a.id; }), have.end());
      }
    }
  }
  ASSERT_EQ(have.size(), 3u);
  for (auto& o : have) EXPECT_EQ(o.rec.spec_hash, "h2");
}

DesiredService Autoscaled(int n) {
  DesiredService d = Want("api", n);
  d.prewarm = true;
  return d;
}

TEST(Reconcile, StandbyIsPreparedPromotedAndReplaced) {
  struct Case {
    const char* name;
    std::vector<DesiredService> want;
    std::vector<ObservedReplica> have;
    V actions;
  };
  const Case table[] = {
      {"at zero: prepare replica 1", {Autoscaled(0)}, {}, {"prepare shop.api.1"}},
      {"standby kept while not wanted", {Autoscaled(0)}, {Have("api", 1, "standby")}, {}},
      {"wanted: promote it, prepare the next",
       {Autoscaled(1)},
       {Have("api", 1, "standby")},
       {"promote shop.api.1", "prepare shop.api.2"}},
      {"scale up by two: promote one, create one",
       {Autoscaled(2)},
       {Have("api", 1, "standby")},
       {"promote shop.api.1", "create shop.api.2", "prepare shop.api.3"}},
      {"standby at any index is promoted", {Autoscaled(2)}, {Ready("api", 1), Have("api", 5, "standby")},
       {"promote shop.api.5", "prepare shop.api.2"}},
      {"outdated standby is stopped, a new one prepared",
       {Autoscaled(0)},
       {Have("api", 1, "standby", "old")},
       {"stop shop.api.1", "prepare shop.api.2"}},
      {"scale down keeps the standby",
       {Autoscaled(1)},
       {Have("api", 1, "running"), Have("api", 2, "running"), Have("api", 3, "standby")},
       {"stop shop.api.2"}},
      {"busy standby: not duplicated", {Autoscaled(1)}, {Have("api", 1, "running"), Have("api", 2, "standby", "h1", true)},
       {}},
      {"busy standby: waited for, not bypassed", {Autoscaled(2)},
       {Have("api", 1, "running"), Have("api", 2, "standby", "h1", true)}, {}},
      {"busy standby covers one of two missing", {Autoscaled(3)},
       {Have("api", 1, "running"), Have("api", 2, "standby", "h1", true)}, {"create shop.api.3"}},
      {"no prewarm: no standby", {Want("api", 1)}, {Have("api", 1, "running")}, {}},
  };
  for (const auto& c : table) EXPECT_EQ(Summary(Reconcile(c.want, c.have, kNow)), c.actions) << c.name;
}

TEST(Reconcile, BackoffWakesAtEarliestDue) {
  auto a = Have("api", 1, "backoff");
  a.rec.next_start_at_ms = ToUnixMillis(kNow) + 5000;
  auto b = Have("api", 2, "backoff");
  b.rec.next_start_at_ms = ToUnixMillis(kNow) + 2000;
  Plan p = Reconcile({Want("api", 2)}, {a, b}, kNow);
  EXPECT_TRUE(p.actions.empty());
  ASSERT_TRUE(p.wake_at);
  EXPECT_EQ(*p.wake_at, kNow + Millis(2000));
}

TEST(Reconcile, DependsOnGatesFirstStart) {
  spec::DependsOn healthy{"db", spec::DependCondition::kHealthy, true};
  spec::DependsOn started{"db", spec::DependCondition::kStarted, true};
  spec::DependsOn done{"migrate", spec::DependCondition::kCompletedSuccessfully, true};

  // db not there yet: only db is created; api waits with a reason.
  Plan p = Reconcile({Want("db", 1), Want("api", 1, "h1", {healthy})}, {}, kNow);
  EXPECT_EQ(Summary(p), V{"create shop.db.1"});
  ASSERT_EQ(p.waiting.size(), 1u);
  EXPECT_EQ(p.waiting[0], "shop/api waits for db (service_healthy)");

  auto db = Have("db", 1, "running");
  db.rec.health = "starting";
  EXPECT_EQ(Summary(Reconcile({Want("db", 1), Want("api", 1, "h1", {healthy})}, {db}, kNow)), V{});
  EXPECT_EQ(Summary(Reconcile({Want("db", 1), Want("api", 1, "h1", {started})}, {db}, kNow)), V{"create shop.api.1"});
  db.rec.health = "healthy";
  EXPECT_EQ(Summary(Reconcile({Want("db", 1), Want("api", 1, "h1", {healthy})}, {db}, kNow)), V{"create shop.api.1"});

  auto mig = Have("migrate", 1, "exited");
  mig.rec.exit_code = 1;
  EXPECT_EQ(Summary(Reconcile({Want("migrate", 1), Want("api", 1, "h1", {done})}, {mig}, kNow)), V{});
  mig.rec.exit_code = 0;
  EXPECT_EQ(Summary(Reconcile({Want("migrate", 1), Want("api", 1, "h1", {done})}, {mig}, kNow)),
            V{"create shop.api.1"});

  // A restart of an already created replica is not gated.
  auto api = Have("api", 1, "backoff");
  api.rec.next_start_at_ms = 0;
  V want{"create shop.db.1", "restart shop.api.1"};  // the restart is not gated
  EXPECT_EQ(Summary(Reconcile({Want("db", 1), Want("api", 1, "h1", {healthy})}, {api}, kNow)), want);
}

TEST(Reconcile, EnvironmentsAreIndependent) {
  DesiredService other{"lab", "api", 1, "h1", {}};
  Plan p = Reconcile({Want("api", 1), other}, {Have("api", 1, "running")}, kNow);
  EXPECT_EQ(Summary(p), V{"create lab.api.1"});
}

}  // namespace
}  // namespace berth::supervisor
