// SqliteStore: the Store over one SQLite database file (through SQLiteCpp). The only
// file in Berth that includes SQLite headers.
//
// One connection, serialized by a mutex: berthd's writes are small and come from one
// event loop, so a pool would add locking without adding throughput. Every SQLiteCpp
// or JSON exception is caught here and becomes a Status with context
// ("store: put replica shop.api.1: database is locked").
#include <SQLiteCpp/SQLiteCpp.h>
#include <sqlite3.h>

#include <mutex>
#include <nlohmann/json.hpp>
#include <string_view>
#include <unordered_map>

#include "base/clock.h"
#include "store/sqlite_store_internal.h"
#include "store/store.h"
#include "store/validate.h"

namespace berth::store {
namespace {

// PRAGMA application_id ("BERT"): tells a Berth database from another program's.
constexpr int kApplicationId = 0x42455254;

// The schema, as ordered steps. Step i takes the database from user_version i to i+1;
// each runs in its own transaction together with the user_version bump, so a crash
// mid-migration leaves the previous version intact. Append steps; never edit one that
// has shipped.
//
// No foreign key from replicas to envs: observed state may be recorded before or
// without desired state (berthd adopting an orphan container found at start, puts in
// any order within a batch). DeleteEnv removes an env's replicas explicitly.
// AUTOINCREMENT makes event seqs strictly increasing even after pruning removed every
// row (a plain rowid would reuse max(seq)+1).
constexpr const char* kMigrations[] = {
    R"sql(
CREATE TABLE envs (
  name TEXT PRIMARY KEY NOT NULL,
  spec_json TEXT NOT NULL,
  source TEXT NOT NULL,
  source_file TEXT NOT NULL,
  params_json TEXT NOT NULL,
  generation INTEGER NOT NULL,
  phase TEXT NOT NULL,
  created_at_ms INTEGER NOT NULL,
  updated_at_ms INTEGER NOT NULL
);
CREATE TABLE replicas (
  id TEXT PRIMARY KEY NOT NULL,
  env TEXT NOT NULL,
  service TEXT NOT NULL,
  idx INTEGER NOT NULL,
  spec_hash TEXT NOT NULL,
  state TEXT NOT NULL,
  health TEXT NOT NULL,
  pid INTEGER NOT NULL,
  pid_start_time INTEGER NOT NULL,
  restarts INTEGER NOT NULL,
  consecutive_failures INTEGER NOT NULL,
  exit_code INTEGER NOT NULL,
  exit_reason TEXT NOT NULL,
  started_at_ms INTEGER NOT NULL,
  finished_at_ms INTEGER NOT NULL,
  next_start_at_ms INTEGER NOT NULL,
  ip TEXT NOT NULL
);
CREATE INDEX replicas_by_env ON replicas (env, service, idx, id);
CREATE TABLE meta (
  key TEXT PRIMARY KEY NOT NULL,
  value TEXT NOT NULL
);
CREATE TABLE events (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  time_ms INTEGER NOT NULL,
  env TEXT NOT NULL,
  service TEXT NOT NULL,
  replica TEXT NOT NULL,
  kind TEXT NOT NULL,
  message TEXT NOT NULL
);
CREATE INDEX events_by_env ON events (env, seq);
)sql",
};
constexpr int kSchemaVersion = static_cast<int>(std::size(kMigrations));

// Maps SQLite's result codes onto ours: what the caller can do about it.
Status FromSqlite(const SQLite::Exception& e) {
  std::string msg = e.what();
  switch (e.getErrorCode() & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return Unavailable(msg);
    case SQLITE_FULL:
      return ResourceExhausted(msg);
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return FailedPrecondition(msg);
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_AUTH:
      return PermissionDenied(msg);
    case SQLITE_CONSTRAINT:
      return InvalidArgument(msg);
    default:
      return Internal(msg);
  }
}

Status ErrorOf(const Status& s) {
  return s;
}
template <typename T>
Status ErrorOf(const StatusOr<T>& s) {
  return s.status();
}

// Runs `body` (returning Status or StatusOr<T>), turning any exception into a Status,
// and prefixes every error with "store: WHAT".
template <typename F>
auto Guarded(const std::string& what, F&& body) -> decltype(body()) {
  Status s;
  try {
    auto result = body();
    if (result.ok()) return result;
    s = ErrorOf(result);
  } catch (const SQLite::Exception& e) {
    s = FromSqlite(e);
  } catch (const nlohmann::json::exception& e) {
    s = Internal(std::string("stored JSON: ") + e.what());
  } catch (const std::exception& e) {
    s = Internal(e.what());
  }
  return s.WithContext("store: " + what);
}

// The smallest string greater than every string starting with `prefix`, for a range
// scan that uses the primary key index (LIKE would also treat '_' and '%' specially).
// nullopt when no such string exists (empty prefix, or all bytes 0xff).
std::optional<std::string> PrefixEnd(std::string prefix) {
  while (!prefix.empty() && static_cast<unsigned char>(prefix.back()) == 0xff) prefix.pop_back();
  if (prefix.empty()) return std::nullopt;
  prefix.back() = static_cast<char>(static_cast<unsigned char>(prefix.back()) + 1);
  return prefix;
}

// A cached statement borrowed for one use; reset on return so that a half-read
// SELECT does not hold a read transaction open (which would stall WAL checkpoints).
class Borrowed {
 public:
  explicit Borrowed(SQLite::Statement& s) : s_(s) { s_.tryReset(); }
  ~Borrowed() { s_.tryReset(); }
  Borrowed(const Borrowed&) = delete;
  Borrowed& operator=(const Borrowed&) = delete;
  SQLite::Statement* operator->() { return &s_; }
  SQLite::Statement& operator*() { return s_; }

 private:
  SQLite::Statement& s_;
};

template <typename... Parts>
std::string Sql(const Parts&... parts) {
  std::string out;
  (out.append(parts), ...);
  return out;
}

constexpr const char* kEnvColumns =
    "name, spec_json, source, source_file, params_json, generation, phase, created_at_ms, updated_at_ms";
constexpr const char* kReplicaColumns =
    "id, env, service, idx, spec_hash, state, health, pid, pid_start_time, restarts, "
    "consecutive_failures, exit_code, exit_reason, started_at_ms, finished_at_ms, next_start_at_ms, ip";
constexpr const char* kEventColumns = "seq, time_ms, env, service, replica, kind, message";

EnvRecord ReadEnv(SQLite::Statement& q) {
  EnvRecord e;
  e.name = q.getColumn(0).getString();
  e.spec_json = q.getColumn(1).getString();
  e.source = q.getColumn(2).getString();
  e.source_file = q.getColumn(3).getString();
  e.params = nlohmann::json::parse(q.getColumn(4).getString()).get<std::map<std::string, std::string>>();
  e.generation = q.getColumn(5).getInt64();
  e.phase = q.getColumn(6).getString();
  e.created_at_ms = q.getColumn(7).getInt64();
  e.updated_at_ms = q.getColumn(8).getInt64();
  return e;
}

ReplicaRecord ReadReplica(SQLite::Statement& q) {
  ReplicaRecord r;
  r.id = q.getColumn(0).getString();
  r.env = q.getColumn(1).getString();
  r.service = q.getColumn(2).getString();
  r.index = q.getColumn(3).getInt();
  r.spec_hash = q.getColumn(4).getString();
  r.state = q.getColumn(5).getString();
  r.health = q.getColumn(6).getString();
  r.pid = q.getColumn(7).getInt();
  r.pid_start_time = q.getColumn(8).getInt64();
  r.restarts = q.getColumn(9).getInt();
  r.consecutive_failures = q.getColumn(10).getInt();
  r.exit_code = q.getColumn(11).getInt();
  r.exit_reason = q.getColumn(12).getString();
  r.started_at_ms = q.getColumn(13).getInt64();
  r.finished_at_ms = q.getColumn(14).getInt64();
  r.next_start_at_ms = q.getColumn(15).getInt64();
  r.ip = q.getColumn(16).getString();
  return r;
}

Event ReadEvent(SQLite::Statement& q) {
  Event e;
  e.seq = q.getColumn(0).getInt64();
  e.time_ms = q.getColumn(1).getInt64();
  e.env = q.getColumn(2).getString();
  e.service = q.getColumn(3).getString();
  e.replica = q.getColumn(4).getString();
  e.kind = q.getColumn(5).getString();
  e.message = q.getColumn(6).getString();
  return e;
}

class SqliteStore final : public Store {
 public:
  SqliteStore(SQLite::Database db, SqliteOptions options) : db_(std::move(db)), options_(options) {}

  Status PutEnv(const EnvRecord& env) override {
    BERTH_RETURN_IF_ERROR(ValidateEnv(env).WithContext("store: put env"));
    return Write("put env " + env.name, [&] { DoPutEnv(env); });
  }

  StatusOr<EnvRecord> GetEnv(const std::string& name) override {
    return Read("get env " + name, [&]() -> StatusOr<EnvRecord> {
      static const std::string sql = Sql("SELECT ", kEnvColumns, " FROM envs WHERE name = ?1");
      Borrowed q(Stmt(sql));
      q->bind(1, name);
      if (!q->executeStep()) return NotFound("not found");
      return ReadEnv(*q);
    });
  }

  StatusOr<std::vector<EnvRecord>> ListEnvs() override {
    return Read("list envs", [&]() -> StatusOr<std::vector<EnvRecord>> {
      static const std::string sql = Sql("SELECT ", kEnvColumns, " FROM envs ORDER BY name");
      Borrowed q(Stmt(sql));
      std::vector<EnvRecord> out;
      while (q->executeStep()) out.push_back(ReadEnv(*q));
      return out;
    });
  }

  Status DeleteEnv(const std::string& name) override {
    if (name.empty()) return InvalidArgument("env name is empty").WithContext("store: delete env");
    return Write("delete env " + name, [&] { DoDeleteEnv(name); });
  }

  Status PutReplica(const ReplicaRecord& replica) override {
    BERTH_RETURN_IF_ERROR(ValidateReplica(replica).WithContext("store: put replica"));
    return Write("put replica " + replica.id, [&] { DoPutReplica(replica); });
  }

  StatusOr<ReplicaRecord> GetReplica(const std::string& id) override {
    return Read("get replica " + id, [&]() -> StatusOr<ReplicaRecord> {
      static const std::string sql = Sql("SELECT ", kReplicaColumns, " FROM replicas WHERE id = ?1");
      Borrowed q(Stmt(sql));
      q->bind(1, id);
      if (!q->executeStep()) return NotFound("not found");
      return ReadReplica(*q);
    });
  }

  StatusOr<std::vector<ReplicaRecord>> ListReplicas(const std::string& env) override {
    return Read("list replicas", [&]() -> StatusOr<std::vector<ReplicaRecord>> {
      static const std::string all =
          Sql("SELECT ", kReplicaColumns, " FROM replicas ORDER BY env, service, idx, id");
      static const std::string one_env =
          Sql("SELECT ", kReplicaColumns, " FROM replicas WHERE env = ?1 ORDER BY service, idx, id");
      Borrowed q(Stmt(env.empty() ? all : one_env));
      if (!env.empty()) q->bind(1, env);
      std::vector<ReplicaRecord> out;
      while (q->executeStep()) out.push_back(ReadReplica(*q));
      return out;
    });
  }

  Status DeleteReplica(const std::string& id) override {
    if (id.empty()) return InvalidArgument("replica id is empty").WithContext("store: delete replica");
    return Write("delete replica " + id, [&] { DoDeleteReplica(id); });
  }

  Status PutMeta(const std::string& key, const std::string& value) override {
    BERTH_RETURN_IF_ERROR(ValidateMetaKey(key).WithContext("store: put meta"));
    return Write("put meta " + key, [&] { DoPutMeta(key, value); });
  }

  StatusOr<std::optional<std::string>> GetMeta(const std::string& key) override {
    return Read("get meta " + key, [&]() -> StatusOr<std::optional<std::string>> {
      Borrowed q(Stmt("SELECT value FROM meta WHERE key = ?1"));
      q->bind(1, key);
      if (!q->executeStep()) return std::optional<std::string>();
      return std::optional<std::string>(q->getColumn(0).getString());
    });
  }

  StatusOr<std::map<std::string, std::string>> ListMeta(const std::string& prefix) override {
    return Read("list meta " + prefix, [&]() -> StatusOr<std::map<std::string, std::string>> {
      std::optional<std::string> end = PrefixEnd(prefix);
      Borrowed q(Stmt(end ? "SELECT key, value FROM meta WHERE key >= ?1 AND key < ?2"
                          : "SELECT key, value FROM meta WHERE key >= ?1"));
      q->bind(1, prefix);
      if (end) q->bind(2, *end);
      std::map<std::string, std::string> out;
      while (q->executeStep()) out.emplace(q->getColumn(0).getString(), q->getColumn(1).getString());
      return out;
    });
  }

  Status DeleteMeta(const std::string& key) override {
    BERTH_RETURN_IF_ERROR(ValidateMetaKey(key).WithContext("store: delete meta"));
    return Write("delete meta " + key, [&] { DoDeleteMeta(key); });
  }

  StatusOr<int64_t> AppendEvent(Event event) override {
    if (event.time_ms == 0) event.time_ms = ToUnixMillis(SystemClock().Now());
    int64_t seq = 0;
    Status s = Write("append event " + event.kind, [&] {
      Borrowed insert(
          Stmt("INSERT INTO events (time_ms, env, service, replica, kind, message) "
               "VALUES (?1, ?2, ?3, ?4, ?5, ?6)"));
      insert->bind(1, event.time_ms);
      insert->bind(2, event.env);
      insert->bind(3, event.service);
      insert->bind(4, event.replica);
      insert->bind(5, event.kind);
      insert->bind(6, event.message);
      insert->exec();
      seq = db_.getLastInsertRowid();
      // Seqs come from AUTOINCREMENT and only the oldest are ever deleted, so they are
      // dense: "seq <= newest - retention" keeps exactly the newest `retention` events
      // and, unlike counting rows, costs one index range per append.
      Borrowed prune(Stmt("DELETE FROM events WHERE seq <= ?1"));
      prune->bind(1, seq - options_.event_retention);
      prune->exec();
    });
    if (!s.ok()) return s;
    return seq;
  }

  StatusOr<std::vector<Event>> ListEvents(int64_t after_seq, int limit, const std::string& env) override {
    if (limit < 0) return InvalidArgument("store: list events: negative limit " + std::to_string(limit));
    return Read("list events", [&]() -> StatusOr<std::vector<Event>> {
      static const std::string all =
          Sql("SELECT ", kEventColumns, " FROM events WHERE seq > ?1 ORDER BY seq LIMIT ?2");
      static const std::string one_env =
          Sql("SELECT ", kEventColumns, " FROM events WHERE seq > ?1 AND env = ?3 ORDER BY seq LIMIT ?2");
      Borrowed q(Stmt(env.empty() ? all : one_env));
      q->bind(1, after_seq);
      q->bind(2, limit);
      if (!env.empty()) q->bind(3, env);
      std::vector<Event> out;
      while (q->executeStep()) out.push_back(ReadEvent(*q));
      return out;
    });
  }

  StatusOr<std::vector<Event>> LatestEvents(int limit, const std::string& env) override {
    if (limit < 0) return InvalidArgument("store: latest events: negative limit " + std::to_string(limit));
    return Read("latest events", [&]() -> StatusOr<std::vector<Event>> {
      static const std::string all = Sql("SELECT ", kEventColumns, " FROM events ORDER BY seq DESC LIMIT ?1");
      static const std::string one_env =
          Sql("SELECT ", kEventColumns, " FROM events WHERE env = ?2 ORDER BY seq DESC LIMIT ?1");
      Borrowed q(Stmt(env.empty() ? all : one_env));
      q->bind(1, limit);
      if (!env.empty()) q->bind(2, env);
      std::vector<Event> out;
      while (q->executeStep()) out.push_back(ReadEvent(*q));
      std::reverse(out.begin(), out.end());
      return out;
    });
  }

  StatusOr<std::string> QueryPragma(const std::string& name) {
    return Read("pragma " + name,
                [&]() -> StatusOr<std::string> { return db_.execAndGet("PRAGMA " + name).getString(); });
  }

  Status Apply(const Batch& batch) override {
    BERTH_RETURN_IF_ERROR(ValidateBatch(batch).WithContext("store: apply batch"));
    if (batch.empty()) return OkStatus();
    std::lock_guard lock(mu_);
    return Guarded("apply batch", [&]() -> Status {
      SQLite::Transaction tx(db_, SQLite::TransactionBehavior::IMMEDIATE);
      for (size_t i = 0; i < batch.ops().size(); ++i) {
        const Batch::Op& op = batch.ops()[i];
        try {
          ApplyOp(op);
        } catch (const SQLite::Exception& e) {
          // tx's destructor rolls back everything before this op.
          return FromSqlite(e).WithContext("op " + std::to_string(i + 1) + " (" + DescribeOp(op) + ")");
        }
      }
      tx.commit();
      return OkStatus();
    });
  }

 private:
  // The prepared statement for `sql`, compiled on first use. Callers hold mu_.
  SQLite::Statement& Stmt(const std::string& sql) {
    auto it = statements_.find(sql);
    if (it == statements_.end()) {
      it = statements_.emplace(sql, std::make_unique<SQLite::Statement>(db_, sql)).first;
    }
    return *it->second;
  }

  template <typename F>
  auto Read(const std::string& what, F&& body) -> decltype(body()) {
    std::lock_guard lock(mu_);
    return Guarded(what, body);
  }

  // Runs `body` in a write transaction. IMMEDIATE takes the write lock up front, so
  // contention shows up as busy_timeout waiting rather than a deadlocked upgrade.
  template <typename F>
  Status Write(const std::string& what, F&& body) {
    std::lock_guard lock(mu_);
    return Guarded(what, [&]() -> Status {
      SQLite::Transaction tx(db_, SQLite::TransactionBehavior::IMMEDIATE);
      body();
      tx.commit();
      return OkStatus();
    });
  }

  void ApplyOp(const Batch::Op& op) {
    std::visit(
        [this](const auto& o) {
          using T = std::decay_t<decltype(o)>;
          if constexpr (std::is_same_v<T, Batch::PutEnv>) DoPutEnv(o.rec);
          if constexpr (std::is_same_v<T, Batch::DeleteEnv>) DoDeleteEnv(o.name);
          if constexpr (std::is_same_v<T, Batch::PutReplica>) DoPutReplica(o.rec);
          if constexpr (std::is_same_v<T, Batch::DeleteReplica>) DoDeleteReplica(o.id);
          if constexpr (std::is_same_v<T, Batch::PutMeta>) DoPutMeta(o.key, o.value);
          if constexpr (std::is_same_v<T, Batch::DeleteMeta>) DoDeleteMeta(o.key);
        },
        op);
  }

  // The Do* writers run inside a transaction, under mu_, and throw on failure.
  void DoPutEnv(const EnvRecord& e) {
    static const std::string sql =
        Sql("INSERT OR REPLACE INTO envs (", kEnvColumns, ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)");
    Borrowed q(Stmt(sql));
    q->bind(1, e.name);
    q->bind(2, e.spec_json);
    q->bind(3, e.source);
    q->bind(4, e.source_file);
    q->bind(5, nlohmann::json(e.params).dump());
    q->bind(6, e.generation);
    q->bind(7, e.phase);
    q->bind(8, e.created_at_ms);
    q->bind(9, e.updated_at_ms);
    q->exec();
  }

  void DoDeleteEnv(const std::string& name) {
    {
      Borrowed q(Stmt("DELETE FROM replicas WHERE env = ?1"));
      q->bind(1, name);
      q->exec();
    }
    {
      // The prefix ends in '/', so PrefixEnd always exists.
      const std::string prefix = EnvMetaPrefix(name);
      Borrowed q(Stmt("DELETE FROM meta WHERE key >= ?1 AND key < ?2"));
      q->bind(1, prefix);
      q->bind(2, *PrefixEnd(prefix));
      q->exec();
    }
    Borrowed q(Stmt("DELETE FROM envs WHERE name = ?1"));
    q->bind(1, name);
    q->exec();
  }

  void DoPutReplica(const ReplicaRecord& r) {
    static const std::string sql =
        Sql("INSERT OR REPLACE INTO replicas (", kReplicaColumns,
            ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)");
    Borrowed q(Stmt(sql));
    q->bind(1, r.id);
    q->bind(2, r.env);
    q->bind(3, r.service);
    q->bind(4, r.index);
    q->bind(5, r.spec_hash);
    q->bind(6, r.state);
    q->bind(7, r.health);
    q->bind(8, r.pid);
    q->bind(9, r.pid_start_time);
    q->bind(10, r.restarts);
    q->bind(11, r.consecutive_failures);
    q->bind(12, r.exit_code);
    q->bind(13, r.exit_reason);
    q->bind(14, r.started_at_ms);
    q->bind(15, r.finished_at_ms);
    q->bind(16, r.next_start_at_ms);
    q->bind(17, r.ip);
    q->exec();
  }

  void DoDeleteReplica(const std::string& id) {
    Borrowed q(Stmt("DELETE FROM replicas WHERE id = ?1"));
    q->bind(1, id);
    q->exec();
  }

  void DoPutMeta(const std::string& key, const std::string& value) {
    Borrowed q(Stmt("INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)"));
    q->bind(1, key);
    q->bind(2, value);
    q->exec();
  }

  void DoDeleteMeta(const std::string& key) {
    Borrowed q(Stmt("DELETE FROM meta WHERE key = ?1"));
    q->bind(1, key);
    q->exec();
  }

  std::mutex mu_;
  SQLite::Database db_;  // declared before statements_: statements are finalized first
  const SqliteOptions options_;
  std::unordered_map<std::string, std::unique_ptr<SQLite::Statement>> statements_;
};

int PragmaInt(SQLite::Database& db, const char* name) {
  return db.execAndGet(std::string("PRAGMA ") + name).getInt();
}

// Brings the schema to kSchemaVersion, one transaction per step.
Status Migrate(SQLite::Database& db) {
  const int version = PragmaInt(db, "user_version");
  if (version > kSchemaVersion) {
    return FailedPrecondition("database schema version " + std::to_string(version) +
                              " is newer than this berthd supports (" + std::to_string(kSchemaVersion) +
                              "); upgrade berthd");
  }
  if (version > 0 && PragmaInt(db, "application_id") != kApplicationId) {
    return FailedPrecondition("not a Berth database (application_id differs)");
  }
  if (version == 0 && db.execAndGet("SELECT count(*) FROM sqlite_master").getInt() > 0) {
    return FailedPrecondition("not a Berth database (has tables but no schema version)");
  }
  for (int v = version; v < kSchemaVersion; ++v) {
    SQLite::Transaction tx(db, SQLite::TransactionBehavior::IMMEDIATE);
    // Another process may have migrated between our read and taking the write lock.
    if (PragmaInt(db, "user_version") > v) continue;
    db.exec(kMigrations[v]);
    if (v == 0) db.exec("PRAGMA application_id = " + std::to_string(kApplicationId));
    db.exec("PRAGMA user_version = " + std::to_string(v + 1));
    tx.commit();
  }
  return OkStatus();
}

StatusOr<std::unique_ptr<Store>> Open(const std::string& path, const SqliteOptions& options) {
  SQLite::Database db(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE, options.busy_timeout_ms);
  // The first statement reads the header: this is where a non-SQLite file fails.
  const std::string mode = db.execAndGet("PRAGMA journal_mode = WAL").getString();
  if (mode != "wal") return FailedPrecondition("cannot enable WAL mode (journal_mode is " + mode + ")");
  // In WAL mode, synchronous=NORMAL is durable against a process crash (kill -9 of
  // berthd): a committed transaction is in the WAL file, which the OS keeps. Only an
  // OS crash or power loss can roll back the last few transactions, and the database
  // stays consistent even then; berthd re-derives observed state from the runtime at
  // start. FULL would fsync the WAL on every commit, i.e. on every replica state change.
  db.exec("PRAGMA synchronous = NORMAL");
  // No foreign keys yet (see kMigrations); on so that one a later step adds is enforced.
  db.exec("PRAGMA foreign_keys = ON");
  BERTH_RETURN_IF_ERROR(Migrate(db));
  return std::unique_ptr<Store>(std::make_unique<SqliteStore>(std::move(db), options));
}

}  // namespace

int SqliteSchemaVersion() {
  return kSchemaVersion;
}

StatusOr<std::string> QueryPragmaForTesting(Store& store, const std::string& name) {
  auto* sqlite = dynamic_cast<SqliteStore*>(&store);
  if (sqlite == nullptr) return InvalidArgument("not a SqliteStore");
  return sqlite->QueryPragma(name);
}

StatusOr<std::unique_ptr<Store>> OpenSqliteStore(const std::string& path, SqliteOptions options) {
  const std::string what = "open " + path;
  if (options.event_retention < 1) {
    return InvalidArgument("event_retention must be at least 1, got " +
                           std::to_string(options.event_retention))
        .WithContext("store: " + what);
  }
  if (options.busy_timeout_ms < 0) {
    return InvalidArgument("busy_timeout_ms must not be negative").WithContext("store: " + what);
  }
  return Guarded(what, [&] { return Open(path, options); });
}

}  // namespace berth::store
