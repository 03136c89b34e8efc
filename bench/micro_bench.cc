// Micro-benchmarks of the pure cores on berthd's hot paths: a reconcile pass over a
// workshop-sized state (80 environments x 2 services) runs after every event, and a spec
// load runs per environment created.
#include <benchmark/benchmark.h>

#include "base/fs.h"
#include "spec/loader.h"
#include "spec/model_json.h"
#include "supervisor/reconciler.h"

namespace berth {
namespace {

void BM_ReconcileConverged(benchmark::State& state) {
  const int envs = static_cast<int>(state.range(0));
  std::vector<supervisor::DesiredService> desired;
  std::vector<supervisor::ObservedReplica> observed;
  for (int e = 0; e < envs; ++e) {
    std::string env = "team" + std::to_string(e);
    for (const char* svc : {"notebook", "db"}) {
      desired.push_back({env, svc, 1, "hash", {}});
      supervisor::ObservedReplica o;
      o.rec.env = env;
      o.rec.service = svc;
      o.rec.index = 1;
      o.rec.id = supervisor::ReplicaId(env, svc, 1);
      o.rec.state = "running";
      o.rec.health = "healthy";
      o.rec.spec_hash = "hash";
      observed.push_back(o);
    }
  }
  TimePoint now = FromUnixMillis(1'700'000'000'000);
  for (auto _ : state) benchmark::DoNotOptimize(supervisor::Reconcile(desired, observed, now));
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(observed.size()));
}
BENCHMARK(BM_ReconcileConverged)->Arg(10)->Arg(80)->Arg(320);

void BM_LoadHelloSpec(benchmark::State& state) {
  auto src = ReadFile(std::string(BERTH_SOURCE_DIR) + "/examples/hello/berth.yaml");
  if (!src.ok()) {
    state.SkipWithError("examples/hello/berth.yaml not readable");
    return;
  }
  spec::LoadOptions o;
  o.file_name = "berth.yaml";
  o.base_dir = std::string(BERTH_SOURCE_DIR) + "/examples/hello";
  for (auto _ : state) {
    auto r = spec::Load(*src, o);
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_LoadHelloSpec);

void BM_ServiceHash(benchmark::State& state) {
  spec::Service s;
  s.name = "api";
  s.command = {"gunicorn", "-w", "4", "app:app"};
  s.environment = {{"A", "1"}, {"B", "2"}};
  for (auto _ : state) benchmark::DoNotOptimize(spec::ServiceHash(s));
}
BENCHMARK(BM_ServiceHash);

}  // namespace
}  // namespace berth

BENCHMARK_MAIN();
