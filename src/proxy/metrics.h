// Prometheus text exposition (format 0.0.4) of the proxy's counters, for the admin
// listener's /metrics. Every family has HELP and TYPE lines; counters end in _total,
// the latency histogram has cumulative _bucket{le=...} series plus _sum and _count;
// label values are escaped (backslash, double quote, newline). Families:
//   berth_proxy_requests_total{service,code}            answers per service, by status class
//   berth_proxy_upstream_requests_total{service,replica,code}  answers per replica
//   berth_proxy_request_duration_seconds{service}       latency histogram
//   berth_proxy_in_flight{service,replica}              requests holding a slot
//   berth_proxy_queue_depth{service}                    requests waiting in the queue
//   berth_proxy_rejected_total{service,reason}          overflow (429), no_replica and
//                                                       queue_timeout (503)
//   berth_proxy_upstream_errors_total{service,replica,kind}  connect|timeout|reset|protocol
//   berth_proxy_upstream_connections_total{service,replica,result}  new|reused
//   berth_proxy_upstream_retries_total{service,replica}  keep-alive race resends
//   berth_proxy_local_responses_total{code}             answers without a route (400, 404, ...)
//   berth_proxy_connections_accepted_total, berth_proxy_connections_active,
//   berth_proxy_client_aborts_total, berth_proxy_route_table_version,
//   berth_proxy_route_updates_total, berth_proxy_workers
//
// MetricsWriter (base/prometheus.h) writes the text. Thread-safety: RenderMetrics reads counters that the
// workers write (relaxed atomics) and is called on the control thread.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

#include "base/prometheus.h"

namespace berth::proxy {

class RouteTable;
class WorkerGroup;

using berth::MetricsWriter;

struct ProxyInfo {
  uint64_t version = 0;
  uint64_t route_updates = 0;
};

std::string RenderMetrics(const RouteTable* table, const WorkerGroup& workers, const ProxyInfo& info);

}  // namespace berth::proxy
