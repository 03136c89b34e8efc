// The Store contract, run against every implementation: SqliteStore and MemStore must
// be interchangeable for the parts above them.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "base/clock.h"
#include "store/store.h"
#include "store/store_test_util.h"

namespace berth::store {
namespace {

struct MemFactory {
  std::unique_ptr<Store> Make(int event_retention) { return NewMemStore(event_retention); }
};

struct SqliteFactory {
  TempDir dir;
  std::unique_ptr<Store> Make(int event_retention) {
    auto s = OpenSqliteStore(dir.File("state.db"), SqliteOptions{.event_retention = event_retention});
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? std::move(s).value() : nullptr;
  }
};

template <typename Factory>
class StoreConformanceTest : public ::testing::Test {
 protected:
  void SetUp() override { store_ = Make(); }
  std::unique_ptr<Store> Make(int event_retention = 10000) {
    auto store = factory_.Make(event_retention);
    if (store == nullptr) ADD_FAILURE() << "could not create the store";
    return store;
  }

  Factory factory_;
  std::unique_ptr<Store> store_;
};

using Implementations = ::testing::Types<MemFactory, SqliteFactory>;
class ImplementationNames {
 public:
  template <typename T>
  static std::string GetName(int) {
    return std::is_same_v<T, MemFactory> ? "Mem" : "Sqlite";
  }
};
TYPED_TEST_SUITE(StoreConformanceTest, Implementations, ImplementationNames);

EnvRecord FullEnv(const std::string& name) {
  EnvRecord e;
  e.name = name;
  e.spec_json = R"({"name":")" + name + R"(","services":{"api":{"image":"host"}}})";
  e.source = "name: " + name + "\nservices:\n  api: {image: host}  # \"quoted\" ünïcode\n";
  e.source_file = "/home/u/" + name + "/compose.yaml";
  e.params = {{"team", "a"}, {"empty", ""}, {"quote", "\"x\"\n"}, {"ü", "✓"}};
  e.generation = 7;
  e.phase = "ready";
  e.created_at_ms = 1'700'000'000'123;
  e.updated_at_ms = 1'700'000'999'456;
  return e;
}

ReplicaRecord Replica(const std::string& env, const std::string& service, int index) {
  ReplicaRecord r;
  r.id = env + "." + service + "." + std::to_string(index);
  r.env = env;
  r.service = service;
  r.index = index;
  return r;
}

ReplicaRecord FullReplica() {
  ReplicaRecord r = Replica("shop", "api", 3);
  r.spec_hash = "sha256:abc";
  r.state = "backoff";
  r.health = "unhealthy";
  r.pid = 123456;
  r.pid_start_time = int64_t{1} << 40;
  r.restarts = 4;
  r.consecutive_failures = 2;
  r.exit_code = -1;
  r.exit_reason = "signal 9";
  r.started_at_ms = 1'700'000'000'001;
  r.finished_at_ms = 1'700'000'000'002;
  r.next_start_at_ms = 1'700'000'000'003;
  r.ip = "10.88.0.7";
  return r;
}

std::vector<std::string> Ids(const std::vector<ReplicaRecord>& rs) {
  std::vector<std::string> out;
  for (const auto& r : rs) out.push_back(r.id);
  return out;
}

TYPED_TEST(StoreConformanceTest, EnvRoundTripsEveryField) {
  Store& s = *this->store_;
  EnvRecord full = FullEnv("shop");
  ASSERT_TRUE(s.PutEnv(full).ok());
  auto got = s.GetEnv("shop");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(*got, full);

  EnvRecord minimal;  // empty strings, empty map, default numbers
  minimal.name = "bare";
  ASSERT_TRUE(s.PutEnv(minimal).ok());
  auto got_min = s.GetEnv("bare");
  ASSERT_TRUE(got_min.ok());
  EXPECT_EQ(*got_min, minimal);
}

TYPED_TEST(StoreConformanceTest, PutEnvReplacesAndListIsOrderedByName) {
  Store& s = *this->store_;
  for (const char* n : {"b", "a-2", "c", "a", "a-10"}) ASSERT_TRUE(s.PutEnv(FullEnv(n)).ok());
  EnvRecord updated = FullEnv("b");
  updated.generation = 8;
  updated.params = {{"team", "b"}};
  ASSERT_TRUE(s.PutEnv(updated).ok());

  auto list = s.ListEnvs();
  ASSERT_TRUE(list.ok());
  std::vector<std::string> names;
  for (const auto& e : *list) names.push_back(e.name);
  EXPECT_EQ(names, (std::vector<std::string>{"a", "a-10", "a-2", "b", "c"}));
  EXPECT_EQ((*list)[3], updated);
}

TYPED_TEST(StoreConformanceTest, MissingRecordsAreNotFound) {
  Store& s = *this->store_;
  EXPECT_EQ(s.GetEnv("nope").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(s.GetReplica("nope.api.1").status().code(), StatusCode::kNotFound);
  auto meta = s.GetMeta("nope");
  ASSERT_TRUE(meta.ok());
  EXPECT_FALSE(meta->has_value());
  EXPECT_TRUE(s.ListEnvs()->empty());
  EXPECT_TRUE(s.ListReplicas()->empty());
  EXPECT_TRUE(s.ListMeta("")->empty());
  EXPECT_TRUE(s.ListEvents(0, 10)->empty());
  // Deleting what is not there is fine: callers retry deletes after a crash.
  EXPECT_TRUE(s.DeleteEnv("nope").ok());
  EXPECT_TRUE(s.DeleteReplica("nope.api.1").ok());
  EXPECT_TRUE(s.DeleteMeta("nope").ok());
}

TYPED_TEST(StoreConformanceTest, ReplicaCrudRoundTripsEveryField) {
  Store& s = *this->store_;
  ReplicaRecord full = FullReplica();
  ASSERT_TRUE(s.PutReplica(full).ok());
  auto got = s.GetReplica(full.id);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(*got, full);

  full.state = "running";
  full.pid_start_time = -5;
  full.ip = "";
  ASSERT_TRUE(s.PutReplica(full).ok());
  EXPECT_EQ(*s.GetReplica(full.id), full);
  EXPECT_EQ(s.ListReplicas()->size(), 1u);

  ReplicaRecord minimal;
  minimal.id = "x";
  minimal.env = "e";
  ASSERT_TRUE(s.PutReplica(minimal).ok());
  EXPECT_EQ(*s.GetReplica("x"), minimal);

  ASSERT_TRUE(s.DeleteReplica(full.id).ok());
  EXPECT_EQ(s.GetReplica(full.id).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(Ids(*s.ListReplicas()), std::vector<std::string>{"x"});
}

TYPED_TEST(StoreConformanceTest, ReplicasAreOrderedByEnvServiceAndNumericIndex) {
  Store& s = *this->store_;
  for (int i : {10, 2, 1, 11, 3}) ASSERT_TRUE(s.PutReplica(Replica("b", "api", i)).ok());
  ASSERT_TRUE(s.PutReplica(Replica("b", "db", 1)).ok());
  ASSERT_TRUE(s.PutReplica(Replica("a", "web", 2)).ok());
  ASSERT_TRUE(s.PutReplica(Replica("a", "api", 9)).ok());

  EXPECT_EQ(Ids(*s.ListReplicas()), (std::vector<std::string>{"a.api.9", "a.web.2", "b.api.1", "b.api.2",
                                                              "b.api.3", "b.api.10", "b.api.11", "b.db.1"}));
  EXPECT_EQ(Ids(*s.ListReplicas("a")), (std::vector<std::string>{"a.api.9", "a.web.2"}));
  EXPECT_TRUE(s.ListReplicas("c")->empty());
}

TYPED_TEST(StoreConformanceTest, DeleteEnvRemovesItsReplicasAndEnvMetaOnly) {
  Store& s = *this->store_;
  for (const char* n : {"a", "ab"}) {
    ASSERT_TRUE(s.PutEnv(FullEnv(n)).ok());
    ASSERT_TRUE(s.PutReplica(Replica(n, "api", 1)).ok());
    ASSERT_TRUE(s.PutReplica(Replica(n, "api", 2)).ok());
    ASSERT_TRUE(s.PutMeta(std::string("env/") + n + "/port", "1").ok());
  }
  ASSERT_TRUE(s.PutMeta("env/a/deep/key", "2").ok());
  ASSERT_TRUE(s.PutMeta("env/a", "no trailing slash: not the env's").ok());
  ASSERT_TRUE(s.PutMeta("subnet/a", "10.88.1.0/24").ok());

  ASSERT_TRUE(s.DeleteEnv("a").ok());
  EXPECT_EQ(s.GetEnv("a").status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(s.ListReplicas("a")->empty());
  EXPECT_EQ(Ids(*s.ListReplicas()), (std::vector<std::string>{"ab.api.1", "ab.api.2"}));
  EXPECT_EQ(*s.ListMeta(""),
            (std::map<std::string, std::string>{{"env/a", "no trailing slash: not the env's"},
                                                {"env/ab/port", "1"},
                                                {"subnet/a", "10.88.1.0/24"}}));
  EXPECT_TRUE(s.GetEnv("ab").ok());
  EXPECT_TRUE(s.DeleteEnv("a").ok());  // again: absent is ok
}

TYPED_TEST(StoreConformanceTest, MetaPutGetListDelete) {
  Store& s = *this->store_;
  ASSERT_TRUE(s.PutMeta("daemon/id", "d1").ok());
  ASSERT_TRUE(s.PutMeta("daemon/id", "d2").ok());
  ASSERT_TRUE(s.PutMeta("subnet/b", "").ok());
  ASSERT_TRUE(s.PutMeta("subnet/a", "x").ok());
  ASSERT_TRUE(s.PutMeta("subnet%_", "wildcards are literal").ok());
  ASSERT_TRUE(s.PutMeta("subnetz", "z").ok());
  ASSERT_TRUE(s.PutMeta("hi\xff\xff", "high bytes").ok());
  ASSERT_TRUE(s.PutMeta("hi\xff", "high byte").ok());

  EXPECT_EQ(**s.GetMeta("daemon/id"), "d2");
  EXPECT_EQ(**s.GetMeta("subnet/b"), "");
  EXPECT_EQ(*s.ListMeta("subnet/"),
            (std::map<std::string, std::string>{{"subnet/a", "x"}, {"subnet/b", ""}}));
  EXPECT_EQ(*s.ListMeta("subnet%"),
            (std::map<std::string, std::string>{{"subnet%_", "wildcards are literal"}}));
  EXPECT_EQ(*s.ListMeta("hi\xff"),
            (std::map<std::string, std::string>{{"hi\xff", "high byte"}, {"hi\xff\xff", "high bytes"}}));
  EXPECT_EQ(s.ListMeta("")->size(), 7u);
  EXPECT_TRUE(s.ListMeta("zzz")->empty());

  ASSERT_TRUE(s.DeleteMeta("subnet/a").ok());
  EXPECT_FALSE(s.GetMeta("subnet/a")->has_value());
  EXPECT_EQ(s.ListMeta("subnet/")->size(), 1u);
}

TYPED_TEST(StoreConformanceTest, InvalidRecordsAreRejected) {
  Store& s = *this->store_;
  EXPECT_EQ(s.PutEnv(EnvRecord{}).code(), StatusCode::kInvalidArgument);
  ReplicaRecord no_id = Replica("e", "api", 1);
  no_id.id = "";
  EXPECT_EQ(s.PutReplica(no_id).code(), StatusCode::kInvalidArgument);
  ReplicaRecord no_env = Replica("e", "api", 1);
  no_env.env = "";
  EXPECT_EQ(s.PutReplica(no_env).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.PutMeta("", "v").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.DeleteEnv("").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.DeleteReplica("").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.DeleteMeta("").code(), StatusCode::kInvalidArgument);
  EnvRecord bad_params = FullEnv("e");
  bad_params.params["k"] = "\xc3\x28";  // invalid UTF-8: not representable as JSON
  Status st = s.PutEnv(bad_params);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << st.ToString();
  EXPECT_EQ(st.message().rfind("store: put env", 0), 0u) << st.message();

  EXPECT_TRUE(s.ListEnvs()->empty());
  EXPECT_TRUE(s.ListReplicas()->empty());
  EXPECT_TRUE(s.ListMeta("")->empty());
}

TYPED_TEST(StoreConformanceTest, EventsGetIncreasingSeqAndTime) {
  Store& s = *this->store_;
  const int64_t before = ToUnixMillis(SystemClock().Now());
  auto first = s.AppendEvent(Event{.env = "a", .kind = "start", .message = "api.1 started"});
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  auto second = s.AppendEvent(Event{.seq = 999, .time_ms = 42, .env = "b", .kind = "exit"});
  ASSERT_TRUE(second.ok());
  EXPECT_GT(*second, *first);
  const int64_t after = ToUnixMillis(SystemClock().Now());

  auto events = s.ListEvents(0, 10);
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), 2u);
  const Event& e1 = (*events)[0];
  EXPECT_EQ(e1.seq, *first);
  EXPECT_GE(e1.time_ms, before);  // assigned because it was 0
  EXPECT_LE(e1.time_ms, after);
  EXPECT_EQ(e1.env, "a");
  EXPECT_EQ(e1.service, "");
  EXPECT_EQ(e1.kind, "start");
  EXPECT_EQ(e1.message, "api.1 started");
  EXPECT_EQ((*events)[1], (Event{.seq = *second, .time_ms = 42, .env = "b", .kind = "exit"}));
}

TYPED_TEST(StoreConformanceTest, ListEventsPagesAndFilters) {
  Store& s = *this->store_;
  std::vector<int64_t> seqs;
  for (int i = 0; i < 10; ++i) {
    auto seq =
        s.AppendEvent(Event{.time_ms = 1, .env = i % 2 ? "odd" : "even", .message = std::to_string(i)});
    ASSERT_TRUE(seq.ok());
    if (!seqs.empty()) {
      EXPECT_GT(*seq, seqs.back());
    }
    seqs.push_back(*seq);
  }
  // Page through with after_seq = the last seq seen.
  std::vector<std::string> seen;
  int64_t cursor = 0;
  for (int pages = 0; pages < 10; ++pages) {
    auto page = s.ListEvents(cursor, 3);
    ASSERT_TRUE(page.ok());
    if (page->empty()) break;
    EXPECT_LE(page->size(), 3u);
    for (const Event& e : *page) seen.push_back(e.message);
    cursor = page->back().seq;
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}));

  auto odd = s.ListEvents(seqs[4], 2, "odd");
  ASSERT_TRUE(odd.ok());
  ASSERT_EQ(odd->size(), 2u);
  EXPECT_EQ((*odd)[0].message, "5");
  EXPECT_EQ((*odd)[1].message, "7");
  EXPECT_TRUE(s.ListEvents(0, 10, "none")->empty());
  EXPECT_TRUE(s.ListEvents(seqs.back(), 10)->empty());
  EXPECT_TRUE(s.ListEvents(0, 0)->empty());
  EXPECT_EQ(s.ListEvents(0, -1).status().code(), StatusCode::kInvalidArgument);

  // The newest ones, oldest first.
  auto latest = s.LatestEvents(3);
  ASSERT_TRUE(latest.ok());
  std::vector<std::string> l;
  for (const Event& e : *latest) l.push_back(e.message);
  EXPECT_EQ(l, (std::vector<std::string>{"7", "8", "9"}));
  auto even = s.LatestEvents(2, "even");
  ASSERT_TRUE(even.ok());
  ASSERT_EQ(even->size(), 2u);
  EXPECT_EQ((*even)[0].message, "6");
  EXPECT_EQ((*even)[1].message, "8");
  EXPECT_EQ(s.LatestEvents(100)->size(), 10u);
  EXPECT_TRUE(s.LatestEvents(10, "none")->empty());
  EXPECT_EQ(s.LatestEvents(-1).status().code(), StatusCode::kInvalidArgument);
}

TYPED_TEST(StoreConformanceTest, EventRetentionKeepsTheNewest) {
  std::unique_ptr<Store> s = this->Make(/*event_retention=*/5);
  ASSERT_NE(s, nullptr);
  int64_t last = 0;
  for (int i = 1; i <= 12; ++i) {
    auto seq = s->AppendEvent(Event{.time_ms = 1, .message = std::to_string(i)});
    ASSERT_TRUE(seq.ok());
    EXPECT_GT(*seq, last);
    last = *seq;
  }
  auto events = s->ListEvents(0, 100);
  ASSERT_TRUE(events.ok());
  std::vector<std::string> messages;
  for (const Event& e : *events) messages.push_back(e.message);
  EXPECT_EQ(messages, (std::vector<std::string>{"8", "9", "10", "11", "12"}));
  EXPECT_EQ(events->back().seq, last);
  // Seqs keep increasing after pruning: never reused.
  EXPECT_GT(*s->AppendEvent(Event{.time_ms = 1}), last);
}

TYPED_TEST(StoreConformanceTest, BatchAppliesInOrder) {
  Store& s = *this->store_;
  ASSERT_TRUE(s.PutReplica(Replica("old", "api", 1)).ok());
  ASSERT_TRUE(s.PutMeta("env/old/x", "1").ok());
  Batch b;
  b.Put(FullEnv("shop"))
      .Put(Replica("shop", "api", 1))
      .Put(Replica("shop", "api", 2))
      .RemoveReplica("shop.api.2")
      .SetMeta("subnet/shop", "10.88.2.0/24")
      .SetMeta("tmp", "x")
      .RemoveMeta("tmp")
      .RemoveEnv("old")
      .Put(Replica("old", "api", 9));  // after the delete: survives it
  Status st = s.Apply(b);
  ASSERT_TRUE(st.ok()) << st.ToString();

  EXPECT_EQ(*s.GetEnv("shop"), FullEnv("shop"));
  EXPECT_EQ(Ids(*s.ListReplicas()), (std::vector<std::string>{"old.api.9", "shop.api.1"}));
  EXPECT_EQ(*s.ListMeta(""), (std::map<std::string, std::string>{{"subnet/shop", "10.88.2.0/24"}}));
  EXPECT_TRUE(s.Apply(Batch()).ok());
}

TYPED_TEST(StoreConformanceTest, BatchWithAnInvalidOpAppliesNothing) {
  Store& s = *this->store_;
  ASSERT_TRUE(s.PutEnv(FullEnv("keep")).ok());
  ASSERT_TRUE(s.PutMeta("k", "before").ok());

  ReplicaRecord no_id = Replica("shop", "api", 2);
  no_id.id = "";
  Batch bad_replica;
  bad_replica.Put(FullEnv("shop"))
      .Put(Replica("shop", "api", 1))
      .SetMeta("k", "after")
      .RemoveEnv("keep")
      .Put(no_id);
  Status st = s.Apply(bad_replica);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("op 5 (put replica \"\")"), std::string::npos) << st.message();

  Batch bad_env;
  bad_env.SetMeta("k", "after").Put(EnvRecord{});
  EXPECT_EQ(s.Apply(bad_env).code(), StatusCode::kInvalidArgument);

  Batch bad_meta;
  bad_meta.Put(FullEnv("shop")).SetMeta("", "v");
  EXPECT_EQ(s.Apply(bad_meta).code(), StatusCode::kInvalidArgument);

  EXPECT_EQ(s.GetEnv("shop").status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(s.ListReplicas()->empty());
  EXPECT_TRUE(s.GetEnv("keep").ok());
  EXPECT_EQ(**s.GetMeta("k"), "before");
}

TYPED_TEST(StoreConformanceTest, ConcurrentCallersAreSerialized) {
  Store& s = *this->store_;
  constexpr int kThreads = 4;
  constexpr int kPerThread = 50;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&s, t] {
      for (int i = 0; i < kPerThread; ++i) {
        const std::string env = "e" + std::to_string(t);
        Batch b;
        b.Put(Replica(env, "api", i + 1)).SetMeta("n/" + env, std::to_string(i));
        EXPECT_TRUE(s.Apply(b).ok());
        EXPECT_TRUE(s.AppendEvent(Event{.env = env}).ok());
        EXPECT_TRUE(s.ListReplicas(env).ok());
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(s.ListReplicas()->size(), size_t{kThreads} * kPerThread);
  auto events = s.ListEvents(0, kThreads * kPerThread + 1);
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), size_t{kThreads} * kPerThread);
  for (size_t i = 1; i < events->size(); ++i) EXPECT_GT((*events)[i].seq, (*events)[i - 1].seq);
}

}  // namespace
}  // namespace berth::store
