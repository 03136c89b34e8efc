// StatsCollector: the per-service samples berth-proxy reports to its controllers every
// second (the autoscaler's input; see control.h for the message).
//
// avg_concurrency is the time-weighted mean number of requests in flight at the
// service's replicas over the interval since the previous report: each worker keeps the
// time integral of its own in-flight level (LevelIntegral, updated when a request takes
// or frees a slot), and the sum over workers of those integrals, differenced and divided
// by the interval, is the service's mean. avg_queued is the same for queued requests.
//
// Thread-safety: one collector, used by the control thread only.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "proxy/control.h"

namespace berth::proxy {

class RouteTable;
class ServiceState;

class StatsCollector {
 public:
  // `now_ns`: CLOCK_MONOTONIC (the workers' clock); `wall_ms`: Unix time for the report.
  StatsReport Collect(const RouteTable* table, int64_t now_ns, int64_t wall_ms);

 private:
  struct Previous {
    const ServiceState* state = nullptr;
    int64_t in_flight_integral = 0;
    int64_t queued_integral = 0;
    uint64_t requests = 0;
    uint64_t rejected = 0;
  };
  std::map<std::string, Previous> prev_;
  int64_t prev_ns_ = 0;
};

}  // namespace berth::proxy
