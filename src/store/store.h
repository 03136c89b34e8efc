// Store: berthd's durable desired and observed state. The only part of Berth that
// talks to SQLite (sqlite_store.cc); MemStore is the in-memory fake for tests of the
// parts above it. Both pass the same conformance suite (store_conformance_test.cc).
//
// Records are plain values. Every method is one atomic transaction; Apply() commits a
// batch of puts/deletes atomically (leveldb's WriteBatch), so a kill -9 leaves either
// all of a batch or none of it.
//
// Thread-safety: implementations are safe to call from several threads (calls are
// serialized internally); berthd calls them from its event-loop thread.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "base/status.h"

namespace berth::store {

// An environment's desired state.
struct EnvRecord {
  std::string name;
  std::string spec_json;    // normalized spec::Project as JSON (spec/model_json.h)
  std::string source;       // the YAML the user gave, for `env show`/update diffs
  std::string source_file;  // where it came from (absolute path), informational
  std::map<std::string, std::string> params;  // --set values (never secrets)
  int64_t generation = 1;   // bumped by every update
  std::string phase;        // "creating" | "ready" | "updating" | "deleting"
  int64_t created_at_ms = 0;
  int64_t updated_at_ms = 0;
  bool operator==(const EnvRecord&) const = default;
};

// One replica of a service: a container, and what berthd last observed of it.
struct ReplicaRecord {
  std::string id;        // "ENV.SERVICE.N": the runc container id
  std::string env;
  std::string service;
  int index = 0;         // N, 1-based
  std::string spec_hash; // hash of the service spec it was created from
  std::string state;     // "starting" | "running" | "backoff" | "exited" | "stopped"
  std::string health;    // "none" | "starting" | "healthy" | "unhealthy"
  int pid = 0;
  int64_t pid_start_time = 0;  // /proc/PID/stat starttime: guards against PID reuse
  int restarts = 0;            // times restarted since created
  int consecutive_failures = 0;
  int exit_code = 0;           // last exit; -1 unknown
  std::string exit_reason;     // "exited 1", "OOM-killed", "unhealthy", "signal 9" ...
  int64_t started_at_ms = 0;
  int64_t finished_at_ms = 0;
  int64_t next_start_at_ms = 0;  // when in backoff
  std::string ip;
  bool operator==(const ReplicaRecord&) const = default;
};

// Something that happened, for `berth events` and debugging. Append-only.
struct Event {
  int64_t seq = 0;  // assigned by the store, strictly increasing
  int64_t time_ms = 0;
  std::string env;
  std::string service;
  std::string replica;
  std::string kind;  // "start", "exit", "restart", "unhealthy", "scale", ...
  std::string message;
  bool operator==(const Event&) const = default;
};

// A set of writes applied atomically by Store::Apply.
class Batch {
 public:
  struct PutEnv { EnvRecord rec; };
  struct DeleteEnv { std::string name; };  // also deletes the env's replicas and meta
  struct PutReplica { ReplicaRecord rec; };
  struct DeleteReplica { std::string id; };
  struct PutMeta { std::string key; std::string value; };
  struct DeleteMeta { std::string key; };
  using Op = std::variant<PutEnv, DeleteEnv, PutReplica, DeleteReplica, PutMeta, DeleteMeta>;

  Batch& Put(EnvRecord r) { ops_.push_back(PutEnv{std::move(r)}); return *this; }
  Batch& Put(ReplicaRecord r) { ops_.push_back(PutReplica{std::move(r)}); return *this; }
  Batch& RemoveEnv(std::string name) { ops_.push_back(DeleteEnv{std::move(name)}); return *this; }
  Batch& RemoveReplica(std::string id) { ops_.push_back(DeleteReplica{std::move(id)}); return *this; }
  Batch& SetMeta(std::string k, std::string v) { ops_.push_back(PutMeta{std::move(k), std::move(v)}); return *this; }
  Batch& RemoveMeta(std::string k) { ops_.push_back(DeleteMeta{std::move(k)}); return *this; }

  const std::vector<Op>& ops() const { return ops_; }
  bool empty() const { return ops_.empty(); }

 private:
  std::vector<Op> ops_;
};

class Store {
 public:
  virtual ~Store() = default;

  virtual Status PutEnv(const EnvRecord& env) = 0;                   // insert or replace
  virtual StatusOr<EnvRecord> GetEnv(const std::string& name) = 0;   // kNotFound if absent
  virtual StatusOr<std::vector<EnvRecord>> ListEnvs() = 0;           // ordered by name
  virtual Status DeleteEnv(const std::string& name) = 0;             // + its replicas; absent is ok

  virtual Status PutReplica(const ReplicaRecord& replica) = 0;
  virtual StatusOr<ReplicaRecord> GetReplica(const std::string& id) = 0;
  // All replicas (env empty) or one environment's, ordered by env, service, index.
  virtual StatusOr<std::vector<ReplicaRecord>> ListReplicas(const std::string& env = "") = 0;
  virtual Status DeleteReplica(const std::string& id) = 0;  // absent is ok

  // Small key/value facts (allocations, daemon identity). Keys are namespaced by the
  // caller ("subnet/ENV"); DeleteEnv removes keys prefixed "env/ENV/".
  virtual Status PutMeta(const std::string& key, const std::string& value) = 0;
  virtual StatusOr<std::optional<std::string>> GetMeta(const std::string& key) = 0;
  virtual StatusOr<std::map<std::string, std::string>> ListMeta(const std::string& prefix) = 0;
  virtual Status DeleteMeta(const std::string& key) = 0;

  // Assigns seq (and time_ms if 0); returns seq. Keeps at most the newest
  // `event_retention` events (default 10000), pruning older ones.
  virtual StatusOr<int64_t> AppendEvent(Event event) = 0;
  // Events with seq > after_seq, oldest first, at most `limit`, optionally one env's.
  virtual StatusOr<std::vector<Event>> ListEvents(int64_t after_seq, int limit,
                                                  const std::string& env = "") = 0;
  // The newest `limit` events (optionally one env's), oldest first.
  virtual StatusOr<std::vector<Event>> LatestEvents(int limit, const std::string& env = "") = 0;

  virtual Status Apply(const Batch& batch) = 0;
};

struct SqliteOptions {
  int event_retention = 10000;
  int busy_timeout_ms = 5000;
};

// Opens (creating if needed) the database at `path`, in WAL mode, and migrates it to
// the current schema version. Fails clearly on a database from a newer Berth.
StatusOr<std::unique_ptr<Store>> OpenSqliteStore(const std::string& path, SqliteOptions options = {});

// The in-memory fake: same contract, nothing persisted.
std::unique_ptr<Store> NewMemStore(int event_retention = 10000);

}  // namespace berth::store
