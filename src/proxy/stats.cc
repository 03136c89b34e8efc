#include "proxy/stats.h"

#include "proxy/route_table.h"

namespace berth::proxy {

StatsReport StatsCollector::Collect(const RouteTable* table, int64_t now_ns, int64_t wall_ms) {
  StatsReport report;
  report.time_ms = wall_ms;
  int64_t interval_ns = prev_ns_ == 0 ? 0 : now_ns - prev_ns_;
  report.interval_ms = interval_ns / 1'000'000;
  std::map<std::string, Previous> next;
  if (table != nullptr) {
    report.version = table->version();
    for (const auto& e : table->services()) {
      const ServiceState& s = *e->state;
      Previous cur;
      cur.state = &s;
      for (uint32_t w = 0; w < s.num_workers(); ++w) {
        const ServiceWorkerStats& ws = s.worker(w);
        cur.in_flight_integral += ws.in_flight.IntegralAt(now_ns);
        cur.queued_integral += ws.queued.IntegralAt(now_ns);
        for (int c = 1; c < 6; ++c) cur.requests += ws.responses[c].Get();
        for (const Counter& r : ws.rejected) cur.rejected += r.Get();
      }
      ServiceStats out;
      for (const auto& r : e->replicas) {
        uint64_t n = r->in_flight.load(std::memory_order_relaxed);
        out.in_flight += n;
        out.upstream_in_flight[r->id()] = n;
      }
      out.queued = s.limiter().queued();
      out.requests_total = cur.requests;
      auto it = prev_.find(s.name());
      Previous p = (it != prev_.end() && it->second.state == &s) ? it->second : Previous{};
      out.requests = cur.requests - p.requests;
      out.rejected = cur.rejected - p.rejected;
      if (interval_ns > 0) {
        double us = static_cast<double>(interval_ns) / 1000.0;
        out.avg_concurrency = static_cast<double>(cur.in_flight_integral - p.in_flight_integral) / us;
        out.avg_queued = static_cast<double>(cur.queued_integral - p.queued_integral) / us;
        // Workers publish their integrals without a lock: clamp a torn read.
        if (out.avg_concurrency < 0) out.avg_concurrency = 0;
        if (out.avg_queued < 0) out.avg_queued = 0;
      }
      report.services[s.name()] = out;
      next[s.name()] = cur;
    }
  }
  prev_ = std::move(next);
  prev_ns_ = now_ns;
  return report;
}

}  // namespace berth::proxy
