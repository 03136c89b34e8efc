// What only SqliteStore promises: persistence, its pragmas, schema migrations, clear
// errors on files it cannot use, and all-or-nothing batches across kill -9.
#include <SQLiteCpp/SQLiteCpp.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <random>
#include <string>

#include "store/sqlite_store_internal.h"
#include "store/store.h"
#include "store/store_test_util.h"

namespace berth::store {
namespace {

std::unique_ptr<Store> MustOpen(const std::string& path, SqliteOptions options = {}) {
  auto s = OpenSqliteStore(path, options);
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return s.ok() ? std::move(s).value() : nullptr;
}

void WriteRaw(const std::string& path, const std::string& bytes, off_t offset = 0) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT, 0644);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(pwrite(fd, bytes.data(), bytes.size(), offset), static_cast<ssize_t>(bytes.size()));
  close(fd);
}

// A second connection, as an operator with the sqlite3 shell would have.
std::string OutsidePragma(const std::string& path, const std::string& pragma) {
  SQLite::Database db(path, SQLite::OPEN_READWRITE);
  return db.execAndGet("PRAGMA " + pragma).getString();
}

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

TEST(SqliteStoreTest, PersistsAcrossReopen) {
  TempDir dir;
  const std::string path = dir.File("state.db");
  EnvRecord env{.name = "shop", .spec_json = "{}", .params = {{"team", "a"}}, .phase = "ready"};
  ReplicaRecord replica{.id = "shop.api.1", .env = "shop", .service = "api", .index = 1, .pid = 42};
  int64_t last_seq = 0;
  {
    auto s = MustOpen(path, {.event_retention = 2});
    ASSERT_NE(s, nullptr);
    ASSERT_TRUE(s->Apply(Batch().Put(env).Put(replica).SetMeta("daemon/id", "d1")).ok());
    for (int i = 0; i < 3; ++i) last_seq = *s->AppendEvent(Event{.kind = "k" + std::to_string(i)});
  }
  auto s = MustOpen(path, {.event_retention = 2});
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(*s->GetEnv("shop"), env);
  EXPECT_EQ(*s->GetReplica("shop.api.1"), replica);
  EXPECT_EQ(**s->GetMeta("daemon/id"), "d1");
  auto events = s->ListEvents(0, 10);
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), 2u);
  EXPECT_EQ(events->back().seq, last_seq);
  EXPECT_EQ(events->back().kind, "k2");
  // Seqs continue after a reopen; they are never reused.
  EXPECT_GT(*s->AppendEvent(Event{}), last_seq);
}

TEST(SqliteStoreTest, RunsInWalModeWithSynchronousNormal) {
  TempDir dir;
  auto s = MustOpen(dir.File("state.db"));
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(*QueryPragmaForTesting(*s, "journal_mode"), "wal");
  EXPECT_EQ(*QueryPragmaForTesting(*s, "synchronous"), "1");  // NORMAL
  EXPECT_EQ(*QueryPragmaForTesting(*s, "foreign_keys"), "1");
  EXPECT_EQ(*QueryPragmaForTesting(*s, "busy_timeout"), "5000");
  auto custom = MustOpen(dir.File("other.db"), {.busy_timeout_ms = 250});
  ASSERT_NE(custom, nullptr);
  EXPECT_EQ(*QueryPragmaForTesting(*custom, "busy_timeout"), "250");
  // WAL is a property of the file: another connection sees it too.
  EXPECT_EQ(OutsidePragma(dir.File("state.db"), "journal_mode"), "wal");
}

TEST(SqliteStoreTest, MigratesAnEmptyFileAndReopensIdempotently) {
  TempDir dir;
  const std::string path = dir.File("state.db");
  WriteRaw(path, "");  // a zero-byte file is an empty SQLite database
  {
    auto s = MustOpen(path);
    ASSERT_NE(s, nullptr);
    ASSERT_TRUE(s->PutMeta("k", "v").ok());
  }
  EXPECT_EQ(OutsidePragma(path, "user_version"), std::to_string(SqliteSchemaVersion()));
  for (int i = 0; i < 2; ++i) {
    auto s = MustOpen(path);
    ASSERT_NE(s, nullptr);
    EXPECT_EQ(**s->GetMeta("k"), "v");
  }
  EXPECT_EQ(OutsidePragma(path, "user_version"), std::to_string(SqliteSchemaVersion()));
  EXPECT_EQ(OutsidePragma(path, "integrity_check"), "ok");
}

TEST(SqliteStoreTest, CreatesAMissingFile) {
  TempDir dir;
  auto s = MustOpen(dir.File("new.db"));
  ASSERT_NE(s, nullptr);
  EXPECT_TRUE(PathExists(dir.File("new.db")));
}

TEST(SqliteStoreTest, RefusesANewerSchemaVersion) {
  TempDir dir;
  const std::string path = dir.File("state.db");
  ASSERT_NE(MustOpen(path), nullptr);
  {
    SQLite::Database db(path, SQLite::OPEN_READWRITE);
    db.exec("PRAGMA user_version = 7");
  }
  auto s = OpenSqliteStore(path);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(s.status().message(),
            "store: open " + path + ": database schema version 7 is newer than this berthd " + "supports (" +
                std::to_string(SqliteSchemaVersion()) + "); upgrade berthd");
  EXPECT_EQ(OutsidePragma(path, "user_version"), "7");  // untouched
}

TEST(SqliteStoreTest, RefusesAnotherProgramsDatabase) {
  TempDir dir;
  const std::string path = dir.File("other.db");
  {
    SQLite::Database db(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    db.exec("CREATE TABLE notes (body TEXT)");
  }
  auto s = OpenSqliteStore(path);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_TRUE(Contains(s.status().message(), "not a Berth database")) << s.status().message();
}

TEST(SqliteStoreTest, NonSqliteFileGivesAClearError) {
  TempDir dir;
  const std::string path = dir.File("state.db");
  std::string garbage;
  for (int i = 0; i < 300; ++i) garbage += "this is not a database\n";
  WriteRaw(path, garbage);
  auto s = OpenSqliteStore(path);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(s.status().message(), "store: open " + path + ": file is not a database");
}

TEST(SqliteStoreTest, CorruptPagesGiveErrorsNotCrashes) {
  TempDir dir;
  const std::string path = dir.File("state.db");
  {
    auto s = MustOpen(path);
    ASSERT_NE(s, nullptr);
    for (int i = 0; i < 50; ++i) {
      ASSERT_TRUE(
          s->PutEnv(EnvRecord{.name = "env" + std::to_string(i), .source = std::string(500, 'x')}).ok());
    }
  }  // closing the last connection checkpoints the WAL into the main file
  const int page_size = std::stoi(OutsidePragma(path, "page_size"));
  WriteRaw(path, std::string(size_t{4} * page_size, '\xab'), page_size);  // keep page 1 (header, schema)

  auto s = OpenSqliteStore(path);
  Status st = s.status();
  if (s.ok()) st = (*s)->ListEnvs().status();
  EXPECT_EQ(st.code(), StatusCode::kFailedPrecondition) << st.ToString();
  EXPECT_TRUE(Contains(st.message(), "malformed")) << st.message();
}

TEST(SqliteStoreTest, UnopenablePathNamesThePath) {
  auto s = OpenSqliteStore("/nonexistent-berth-dir/state.db");
  ASSERT_FALSE(s.ok());
  EXPECT_TRUE(Contains(s.status().message(), "store: open /nonexistent-berth-dir/state.db: "))
      << s.status().message();
}

TEST(SqliteStoreTest, InvalidOptionsAreRejected) {
  TempDir dir;
  EXPECT_EQ(OpenSqliteStore(dir.File("a.db"), {.event_retention = 0}).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(OpenSqliteStore(dir.File("a.db"), {.busy_timeout_ms = -1}).status().code(),
            StatusCode::kInvalidArgument);
}

TEST(SqliteStoreTest, LockedDatabaseIsUnavailableWithContext) {
  TempDir dir;
  const std::string path = dir.File("state.db");
  auto s = MustOpen(path, {.busy_timeout_ms = 50});
  ASSERT_NE(s, nullptr);
  SQLite::Database other(path, SQLite::OPEN_READWRITE);
  other.exec("BEGIN EXCLUSIVE");
  Status st = s->PutReplica(ReplicaRecord{.id = "shop.api.1", .env = "shop"});
  EXPECT_EQ(st.code(), StatusCode::kUnavailable);
  EXPECT_EQ(st.message(), "store: put replica shop.api.1: database is locked");
  other.exec("ROLLBACK");
  EXPECT_TRUE(s->PutReplica(ReplicaRecord{.id = "shop.api.1", .env = "shop"}).ok());
}

// --- kill -9 -----------------------------------------------------------------------

constexpr int kCrashEnvs = 5;
constexpr int kReplicasPerEnv = 3;

// The child: applies batches as fast as it can until killed. Batch n rewrites env
// "e{n % 5}" with generation n and its 3 replicas with restarts n, and sets "counter"
// to n, so a torn batch would show as replicas disagreeing with their env.
[[noreturn]] void CrashWriter(const std::string& path, int ready_fd) {
  auto opened = OpenSqliteStore(path, {.event_retention = 100});
  if (!opened.ok()) _exit(3);
  Store& s = **opened;
  auto counter = s.GetMeta("counter");
  if (!counter.ok()) _exit(4);
  bool signalled = false;
  for (int64_t n = counter->has_value() ? std::stoll(**counter) + 1 : 1;; ++n) {
    Batch b;
    const std::string env = "e" + std::to_string(n % kCrashEnvs);
    b.Put(EnvRecord{.name = env, .params = {{"n", std::to_string(n)}}, .generation = n});
    for (int i = 1; i <= kReplicasPerEnv; ++i) {
      b.Put(ReplicaRecord{.id = env + ".api." + std::to_string(i),
                          .env = env,
                          .service = "api",
                          .index = i,
                          .spec_hash = std::to_string(n),
                          .restarts = static_cast<int>(n)});
    }
    b.SetMeta("counter", std::to_string(n));
    if (!s.Apply(b).ok()) _exit(5);
    if (!s.AppendEvent(Event{.env = env, .kind = "batch", .message = std::to_string(n)}).ok()) _exit(6);
    if (!signalled) {
      signalled = write(ready_fd, "r", 1) == 1;
    }
  }
}

// Waits up to 10 s for the child's first committed batch.
bool WaitReady(int fd) {
  pollfd p{.fd = fd, .events = POLLIN, .revents = 0};
  char c;
  return poll(&p, 1, 10'000) == 1 && read(fd, &c, 1) == 1;
}

struct CrashCheck {
  int64_t counter = 0;
  int64_t last_seq = 0;
};

// Reopens the database after a kill and checks it is whole; returns what it found.
CrashCheck CheckAfterCrash(const std::string& path, const CrashCheck& before) {
  CrashCheck now;
  // A kill before the child created the file leaves nothing to check yet.
  if (PathExists(path)) {
    EXPECT_EQ(OutsidePragma(path, "integrity_check"), "ok");
  }
  auto s = MustOpen(path, {.event_retention = 100});
  if (s == nullptr) return before;
  auto counter = s->GetMeta("counter");
  EXPECT_TRUE(counter.ok());
  now.counter = counter.ok() && counter->has_value() ? std::stoll(**counter) : 0;
  EXPECT_GE(now.counter, before.counter) << "committed batches were lost";

  auto envs = s->ListEnvs();
  EXPECT_TRUE(envs.ok());
  bool saw_latest = now.counter == 0;
  for (const EnvRecord& env : envs.ok() ? *envs : std::vector<EnvRecord>{}) {
    EXPECT_LE(env.generation, now.counter) << env.name;
    EXPECT_EQ(env.params.at("n"), std::to_string(env.generation));
    if (env.generation == now.counter) saw_latest = true;
    auto replicas = s->ListReplicas(env.name);
    EXPECT_TRUE(replicas.ok());
    EXPECT_EQ(replicas->size(), size_t{kReplicasPerEnv}) << env.name;
    for (const ReplicaRecord& r : *replicas) {
      EXPECT_EQ(r.restarts, env.generation) << r.id << " is from another batch than its env";
      EXPECT_EQ(r.spec_hash, std::to_string(env.generation)) << r.id;
    }
  }
  EXPECT_TRUE(saw_latest) << "the batch that set counter=" << now.counter << " is incomplete";
  EXPECT_EQ(s->ListReplicas()->size(), envs->size() * kReplicasPerEnv);

  auto events = s->ListEvents(0, 1000);
  EXPECT_TRUE(events.ok());
  now.last_seq = events->empty() ? before.last_seq : events->back().seq;
  EXPECT_GE(now.last_seq, before.last_seq);
  return now;
}

TEST(SqliteStoreCrashTest, KillNineLeavesEveryBatchWholeOrAbsent) {
  TempDir dir;
  const std::string path = dir.File("state.db");
  const unsigned seed = std::random_device()();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> delay_us(0, 20'000);

  CrashCheck state;
  int kills_mid_write = 0;
  for (int round = 0; round < 20; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    const pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      close(fds[0]);
      CrashWriter(path, fds[1]);
    }
    close(fds[1]);
    // Every fourth round kills at a random moment from the start, which can land in
    // open or migration; the others once the writer is committing batches.
    const bool wait_ready = round % 4 != 0;
    const bool ready = !wait_ready || WaitReady(fds[0]);
    usleep(delay_us(rng));
    kill(pid, SIGKILL);
    int wstatus = 0;
    ASSERT_EQ(waitpid(pid, &wstatus, 0), pid);
    close(fds[0]);
    ASSERT_TRUE(ready) << "writer never committed a batch";
    ASSERT_TRUE(WIFSIGNALED(wstatus) && WTERMSIG(wstatus) == SIGKILL)
        << "writer failed on its own, exit " << (WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : -1);
    if (wait_ready) ++kills_mid_write;
    state = CheckAfterCrash(path, state);
    if (HasFatalFailure() || HasFailure()) break;
  }
  EXPECT_EQ(kills_mid_write, 15);
  EXPECT_GT(state.counter, 0);
  RecordProperty("batches_committed", std::to_string(state.counter));
  std::printf("kill -9 test: 20 kills, %lld batches committed in all, seed %u\n",
              static_cast<long long>(state.counter), seed);
}

}  // namespace
}  // namespace berth::store
