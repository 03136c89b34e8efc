#include "proxy/metrics.h"

#include <cinttypes>
#include <cstdio>

#include "proxy/route_table.h"
#include "proxy/worker.h"

namespace berth::proxy {

namespace {

constexpr const char* kClasses[6] = {"other", "1xx", "2xx", "3xx", "4xx", "5xx"};
constexpr const char* kRejections[] = {"overflow", "no_replica", "queue_timeout"};
constexpr const char* kErrors[] = {"connect", "timeout", "reset", "protocol"};

std::string FormatLe(int64_t us) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%g", static_cast<double>(us) / 1e6);
  return buf;
}

void RenderServices(MetricsWriter& m, const RouteTable& t, uint32_t nw) {
  m.Family("berth_proxy_requests_total", "counter",
           "Responses per service (proxied and the proxy's own), by status class.");
  for (const auto& e : t.services()) {
    for (int c = 1; c < 6; ++c) {
      uint64_t n = 0;
      for (uint32_t w = 0; w < nw; ++w) n += e->state->worker(w).responses[c].Get();
      m.Sample("berth_proxy_requests_total", {{"service", e->state->name()}, {"code", kClasses[c]}}, n);
    }
  }
  m.Family("berth_proxy_request_duration_seconds", "histogram",
           "Time from the end of the request head to the end of the response.");
  for (const auto& e : t.services()) {
    uint64_t cumulative = 0, sum_us = 0;
    for (int b = 0; b <= kLatencyBuckets; ++b) {
      for (uint32_t w = 0; w < nw; ++w) cumulative += e->state->worker(w).latency[b].Get();
      std::string le = b < kLatencyBuckets ? FormatLe(kLatencyBoundsUs[b]) : "+Inf";
      m.Sample("berth_proxy_request_duration_seconds_bucket", {{"service", e->state->name()}, {"le", le}},
               cumulative);
    }
    for (uint32_t w = 0; w < nw; ++w) sum_us += e->state->worker(w).latency_sum_us.Get();
    m.Sample("berth_proxy_request_duration_seconds_sum", {{"service", e->state->name()}},
             static_cast<double>(sum_us) / 1e6);
    m.Sample("berth_proxy_request_duration_seconds_count", {{"service", e->state->name()}}, cumulative);
  }
  m.Family("berth_proxy_queue_depth", "gauge", "Requests waiting in the service's queue.");
  for (const auto& e : t.services()) {
    m.Sample("berth_proxy_queue_depth", {{"service", e->state->name()}},
             uint64_t{e->state->limiter().queued()});
  }
  m.Family("berth_proxy_rejected_total", "counter",
           "Requests the proxy refused: overflow (429), no_replica and queue_timeout (503).");
  for (const auto& e : t.services()) {
    for (int r = 0; r < static_cast<int>(Rejection::kCount); ++r) {
      uint64_t n = 0;
      for (uint32_t w = 0; w < nw; ++w) n += e->state->worker(w).rejected[r].Get();
      m.Sample("berth_proxy_rejected_total", {{"service", e->state->name()}, {"reason", kRejections[r]}}, n);
    }
  }
}

template <typename Fn>
void ForEachReplica(const RouteTable& t, Fn fn) {
  for (const auto& e : t.services()) {
    for (const auto& r : e->replicas) fn(*e->state, *r);
  }
}

void RenderReplicas(MetricsWriter& m, const RouteTable& t, uint32_t nw) {
  m.Family("berth_proxy_upstream_requests_total", "counter", "Responses per replica, by status class.");
  ForEachReplica(t, [&](const ServiceState& s, const ReplicaState& r) {
    for (int c = 1; c < 6; ++c) {
      uint64_t n = 0;
      for (uint32_t w = 0; w < nw; ++w) n += r.worker(w).responses[c].Get();
      m.Sample("berth_proxy_upstream_requests_total",
               {{"service", s.name()}, {"replica", r.id()}, {"code", kClasses[c]}}, n);
    }
  });
  m.Family("berth_proxy_in_flight", "gauge", "Requests holding a concurrency slot of the replica.");
  ForEachReplica(t, [&](const ServiceState& s, const ReplicaState& r) {
    m.Sample("berth_proxy_in_flight", {{"service", s.name()}, {"replica", r.id()}},
             uint64_t{r.in_flight.load(std::memory_order_relaxed)});
  });
  m.Family("berth_proxy_upstream_errors_total", "counter", "Upstream failures by kind.");
  ForEachReplica(t, [&](const ServiceState& s, const ReplicaState& r) {
    for (int k = 0; k < static_cast<int>(UpstreamError::kCount); ++k) {
      uint64_t n = 0;
      for (uint32_t w = 0; w < nw; ++w) n += r.worker(w).errors[k].Get();
      m.Sample("berth_proxy_upstream_errors_total",
               {{"service", s.name()}, {"replica", r.id()}, {"kind", kErrors[k]}}, n);
    }
  });
  m.Family("berth_proxy_upstream_connections_total", "counter",
           "Upstream connections used for a request: new or reused from the keep-alive pool.");
  ForEachReplica(t, [&](const ServiceState& s, const ReplicaState& r) {
    uint64_t fresh = 0, reused = 0;
    for (uint32_t w = 0; w < nw; ++w) {
      fresh += r.worker(w).connects.Get();
      reused += r.worker(w).reuses.Get();
    }
    m.Sample("berth_proxy_upstream_connections_total",
             {{"service", s.name()}, {"replica", r.id()}, {"result", "new"}}, fresh);
    m.Sample("berth_proxy_upstream_connections_total",
             {{"service", s.name()}, {"replica", r.id()}, {"result", "reused"}}, reused);
  });
  m.Family("berth_proxy_upstream_retries_total", "counter",
           "Idempotent requests sent again after a reused connection failed (keep-alive race).");
  ForEachReplica(t, [&](const ServiceState& s, const ReplicaState& r) {
    uint64_t n = 0;
    for (uint32_t w = 0; w < nw; ++w) n += r.worker(w).retries.Get();
    m.Sample("berth_proxy_upstream_retries_total", {{"service", s.name()}, {"replica", r.id()}}, n);
  });
}

void RenderProcess(MetricsWriter& m, const WorkerGroup& g, const ProxyInfo& info) {
  uint32_t nw = g.size();
  auto sum = [&](auto field) {
    uint64_t n = 0;
    for (uint32_t w = 0; w < nw; ++w) n += field(g.at(w)->stats());
    return n;
  };
  m.Family("berth_proxy_local_responses_total", "counter",
           "Answers the proxy wrote for requests without a service.");
  for (int code = 100; code < 600; ++code) {
    uint64_t n = sum([code](const WorkerStats& s) { return s.local[code].Get(); });
    if (n > 0) m.Sample("berth_proxy_local_responses_total", {{"code", std::to_string(code)}}, n);
  }
  uint64_t accepted = sum([](const WorkerStats& s) { return s.accepted.Get(); });
  uint64_t closed = sum([](const WorkerStats& s) { return s.closed.Get(); });
  m.Family("berth_proxy_connections_accepted_total", "counter", "Client connections accepted.");
  m.Sample("berth_proxy_connections_accepted_total", {}, accepted);
  m.Family("berth_proxy_connections_active", "gauge", "Open client connections.");
  m.Sample("berth_proxy_connections_active", {}, accepted >= closed ? accepted - closed : 0);
  m.Family("berth_proxy_client_aborts_total", "counter",
           "Clients that went away before their response ended.");
  m.Sample("berth_proxy_client_aborts_total", {},
           sum([](const WorkerStats& s) { return s.client_aborts.Get(); }));
  m.Family("berth_proxy_route_table_version", "gauge", "Version of the routing snapshot being served.");
  m.Sample("berth_proxy_route_table_version", {}, info.version);
  m.Family("berth_proxy_route_updates_total", "counter", "Routing snapshots accepted.");
  m.Sample("berth_proxy_route_updates_total", {}, info.route_updates);
  m.Family("berth_proxy_workers", "gauge", "Worker threads.");
  m.Sample("berth_proxy_workers", {}, uint64_t{nw});
  uint64_t uring = 0;
  for (uint32_t w = 0; w < nw; ++w) uring += g.at(w)->uses_uring() ? 1 : 0;
  m.Family("berth_proxy_io_workers", "gauge", "Worker threads by I/O back end (--io).");
  m.Sample("berth_proxy_io_workers", {{"backend", "io_uring"}}, uring);
  m.Sample("berth_proxy_io_workers", {{"backend", "epoll"}}, uint64_t{nw} - uring);
}

}  // namespace

std::string RenderMetrics(const RouteTable* table, const WorkerGroup& workers, const ProxyInfo& info) {
  MetricsWriter m;
  uint32_t nw = workers.size();
  if (table != nullptr) {
    RenderServices(m, *table, nw);
    RenderReplicas(m, *table, nw);
  }
  RenderProcess(m, workers, info);
  return m.text();
}

}  // namespace berth::proxy
