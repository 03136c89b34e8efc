// MemStore: the in-memory Store for tests of the parts above the store. It keeps the
// same contract as SqliteStore (store_conformance_test.cc runs against both): the same
// orderings, codes, cascades, event retention and all-or-nothing batches.
#include <algorithm>
#include <deque>
#include <map>
#include <mutex>
#include <tuple>

#include "base/clock.h"
#include "store/store.h"
#include "store/validate.h"

namespace berth::store {
namespace {

Status StoreError(const std::string& what, const Status& s) {
  return s.WithContext("store: " + what);
}

class MemStore final : public Store {
 public:
  // OpenSqliteStore refuses a retention below 1; this constructor cannot return an
  // error, so it keeps at least the event just appended.
  explicit MemStore(int event_retention) : event_retention_(std::max(1, event_retention)) {}

  Status PutEnv(const EnvRecord& env) override {
    Status s = ValidateEnv(env);
    if (!s.ok()) return StoreError("put env", s);
    std::lock_guard lock(mu_);
    DoPutEnv(env);
    return OkStatus();
  }

  StatusOr<EnvRecord> GetEnv(const std::string& name) override {
    std::lock_guard lock(mu_);
    auto it = envs_.find(name);
    if (it == envs_.end()) return NotFound("store: get env " + name + ": not found");
    return it->second;
  }

  StatusOr<std::vector<EnvRecord>> ListEnvs() override {
    std::lock_guard lock(mu_);
    std::vector<EnvRecord> out;
    out.reserve(envs_.size());
    for (const auto& [name, env] : envs_) out.push_back(env);
    return out;
  }

  Status DeleteEnv(const std::string& name) override {
    if (name.empty()) return StoreError("delete env", InvalidArgument("env name is empty"));
    std::lock_guard lock(mu_);
    DoDeleteEnv(name);
    return OkStatus();
  }

  Status PutReplica(const ReplicaRecord& replica) override {
    Status s = ValidateReplica(replica);
    if (!s.ok()) return StoreError("put replica", s);
    std::lock_guard lock(mu_);
    replicas_[replica.id] = replica;
    return OkStatus();
  }

  StatusOr<ReplicaRecord> GetReplica(const std::string& id) override {
    std::lock_guard lock(mu_);
    auto it = replicas_.find(id);
    if (it == replicas_.end()) return NotFound("store: get replica " + id + ": not found");
    return it->second;
  }

  StatusOr<std::vector<ReplicaRecord>> ListReplicas(const std::string& env) override {
    std::vector<ReplicaRecord> out;
    {
      std::lock_guard lock(mu_);
      for (const auto& [id, r] : replicas_) {
        if (env.empty() || r.env == env) out.push_back(r);
      }
    }
    std::sort(out.begin(), out.end(), [](const ReplicaRecord& a, const ReplicaRecord& b) {
      return std::tie(a.env, a.service, a.index, a.id) < std::tie(b.env, b.service, b.index, b.id);
    });
    return out;
  }

  Status DeleteReplica(const std::string& id) override {
    if (id.empty()) return StoreError("delete replica", InvalidArgument("replica id is empty"));
    std::lock_guard lock(mu_);
    replicas_.erase(id);
    return OkStatus();
  }

  Status PutMeta(const std::string& key, const std::string& value) override {
    Status s = ValidateMetaKey(key);
    if (!s.ok()) return StoreError("put meta", s);
    std::lock_guard lock(mu_);
    meta_[key] = value;
    return OkStatus();
  }

  StatusOr<std::optional<std::string>> GetMeta(const std::string& key) override {
    std::lock_guard lock(mu_);
    auto it = meta_.find(key);
    if (it == meta_.end()) return std::optional<std::string>();
    return std::optional<std::string>(it->second);
  }

  StatusOr<std::map<std::string, std::string>> ListMeta(const std::string& prefix) override {
    std::lock_guard lock(mu_);
    std::map<std::string, std::string> out;
    for (auto it = meta_.lower_bound(prefix); it != meta_.end() && it->first.starts_with(prefix); ++it) {
      out.insert(*it);
    }
    return out;
  }

  Status DeleteMeta(const std::string& key) override {
    Status s = ValidateMetaKey(key);
    if (!s.ok()) return StoreError("delete meta", s);
    std::lock_guard lock(mu_);
    meta_.erase(key);
    return OkStatus();
  }

  StatusOr<int64_t> AppendEvent(Event event) override {
    if (event.time_ms == 0) event.time_ms = ToUnixMillis(SystemClock().Now());
    std::lock_guard lock(mu_);
    event.seq = ++last_seq_;
    events_.push_back(std::move(event));
    while (static_cast<int64_t>(events_.size()) > event_retention_) events_.pop_front();
    return last_seq_;
  }

  StatusOr<std::vector<Event>> ListEvents(int64_t after_seq, int limit, const std::string& env) override {
    if (limit < 0) return InvalidArgument("store: list events: negative limit " + std::to_string(limit));
    std::lock_guard lock(mu_);
    std::vector<Event> out;
    auto it = std::upper_bound(events_.begin(), events_.end(), after_seq,
                               [](int64_t seq, const Event& e) { return seq < e.seq; });
    for (; it != events_.end() && static_cast<int>(out.size()) < limit; ++it) {
      if (env.empty() || it->env == env) out.push_back(*it);
    }
    return out;
  }

  StatusOr<std::vector<Event>> LatestEvents(int limit, const std::string& env) override {
    if (limit < 0) return InvalidArgument("store: latest events: negative limit " + std::to_string(limit));
    std::lock_guard lock(mu_);
    std::vector<Event> out;
    for (auto it = events_.rbegin(); it != events_.rend() && static_cast<int>(out.size()) < limit; ++it)
      if (env.empty() || it->env == env) out.push_back(*it);
    std::reverse(out.begin(), out.end());
    return out;
  }

  Status Apply(const Batch& batch) override {
    // Nothing below can fail once the batch is valid, so validating first is enough
    // for all-or-nothing.
    Status s = ValidateBatch(batch);
    if (!s.ok()) return StoreError("apply batch", s);
    std::lock_guard lock(mu_);
    for (const Batch::Op& op : batch.ops()) ApplyOp(op);
    return OkStatus();
  }

 private:
  void DoPutEnv(const EnvRecord& env) { envs_[env.name] = env; }

  void DoDeleteEnv(const std::string& name) {
    envs_.erase(name);
    std::erase_if(replicas_, [&](const auto& kv) { return kv.second.env == name; });
    const std::string prefix = EnvMetaPrefix(name);
    auto it = meta_.lower_bound(prefix);
    while (it != meta_.end() && it->first.starts_with(prefix)) it = meta_.erase(it);
  }

  void ApplyOp(const Batch::Op& op) {
    std::visit(
        [this](const auto& o) {
          using T = std::decay_t<decltype(o)>;
          if constexpr (std::is_same_v<T, Batch::PutEnv>) DoPutEnv(o.rec);
          if constexpr (std::is_same_v<T, Batch::DeleteEnv>) DoDeleteEnv(o.name);
          if constexpr (std::is_same_v<T, Batch::PutReplica>) replicas_[o.rec.id] = o.rec;
          if constexpr (std::is_same_v<T, Batch::DeleteReplica>) replicas_.erase(o.id);
          if constexpr (std::is_same_v<T, Batch::PutMeta>) meta_[o.key] = o.value;
          if constexpr (std::is_same_v<T, Batch::DeleteMeta>) meta_.erase(o.key);
        },
        op);
  }

  const int64_t event_retention_;
  std::mutex mu_;
  std::map<std::string, EnvRecord> envs_;
  std::map<std::string, ReplicaRecord> replicas_;  // by id
  std::map<std::string, std::string> meta_;
  std::deque<Event> events_;  // ascending seq
  int64_t last_seq_ = 0;
};

}  // namespace

std::unique_ptr<Store> NewMemStore(int event_retention) {
  return std::make_unique<MemStore>(event_retention);
}

}  // namespace berth::store
