#include "proxy/service_state.h"

#include <arpa/inet.h>
#include <unistd.h>

namespace berth::proxy {

void LevelIntegral::Change(int64_t now_ns, int64_t delta) {
  int64_t now_us = now_ns / 1000;
  int64_t lvl = level.load(std::memory_order_relaxed);
  int64_t last = last_us.load(std::memory_order_relaxed);
  if (now_us > last) {
    integral.store(integral.load(std::memory_order_relaxed) + lvl * (now_us - last),
                   std::memory_order_relaxed);
    last_us.store(now_us, std::memory_order_relaxed);
  }
  level.store(lvl + delta, std::memory_order_relaxed);
}

int64_t LevelIntegral::IntegralAt(int64_t now_ns) const {
  int64_t now_us = now_ns / 1000;
  int64_t integ = integral.load(std::memory_order_relaxed);
  int64_t last = last_us.load(std::memory_order_relaxed);
  int64_t lvl = level.load(std::memory_order_relaxed);
  return integ + (now_us > last ? lvl * (now_us - last) : 0);
}

void ServiceWorkerStats::RecordLatency(int64_t us) {
  int i = 0;
  while (i < kLatencyBuckets && us > kLatencyBoundsUs[i]) ++i;
  latency[i].Add();
  latency_sum_us.Add(static_cast<uint64_t>(us < 0 ? 0 : us));
}

std::atomic<int> ActivationSignal::eventfd{-1};
std::atomic<bool> ActivationSignal::pending{false};

void ActivationSignal::Notify() {
  pending.store(true, std::memory_order_release);
  int fd = eventfd.load(std::memory_order_acquire);
  if (fd < 0) return;
  uint64_t one = 1;
  ssize_t n = ::write(fd, &one, sizeof one);
  (void)n;
}

ServiceState::ServiceState(std::string name, uint32_t num_workers)
    : name_(std::move(name)), num_workers_(num_workers), workers_(new ServiceWorkerStats[num_workers]) {}

ReplicaState::ReplicaState(RefPtr<ServiceState> service, std::string id, const sockaddr_in& addr,
                           std::string addr_text, uint32_t num_workers)
    : service_(std::move(service)),
      id_(std::move(id)),
      addr_(addr),
      addr_text_(std::move(addr_text)),
      workers_(new ReplicaWorkerStats[num_workers]) {}

RefPtr<ServiceState> StateRegistry::Service(const std::string& name) {
  used_services_.insert(name);
  auto it = services_.find(name);
  if (it != services_.end()) return it->second;
  RefPtr<ServiceState> s(new ServiceState(name, num_workers_));
  services_.emplace(name, s);
  return s;
}

RefPtr<ReplicaState> StateRegistry::Replica(ServiceState* service, const std::string& id,
                                            const sockaddr_in& addr, const std::string& addr_text) {
  // The address is part of the key: a replica id that moved is a new replica (its
  // pooled connections and in-flight count belong to the old address).
  std::string key = service->name() + '\0' + id + '\0' + addr_text;
  used_replicas_.insert(key);
  auto it = replicas_.find(key);
  if (it != replicas_.end()) return it->second;
  RefPtr<ReplicaState> r(new ReplicaState(RefPtr<ServiceState>(service), id, addr, addr_text, num_workers_));
  replicas_.emplace(key, r);
  return r;
}

void StateRegistry::Sweep() {
  std::erase_if(services_, [&](const auto& kv) { return !used_services_.contains(kv.first); });
  std::erase_if(replicas_, [&](const auto& kv) { return !used_replicas_.contains(kv.first); });
  used_services_.clear();
  used_replicas_.clear();
}

}  // namespace berth::proxy
