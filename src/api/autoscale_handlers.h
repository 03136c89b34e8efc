// The autoscaler's view, read-only: what each autoscaled service wants and why.
//
//   GET /v1/autoscale?env=   JSON: per service desired and ready replicas, panic mode,
//                            observed concurrency (stable and panic window averages),
//                            the per-replica target and the last decision's reason
//   GET /v1/metrics          the same as Prometheus text (exposition format 0.0.4)
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "api/server.h"
#include "autoscaler/autoscaler.h"

namespace berth::api {

using AutoscaleViews = std::function<std::vector<autoscaler::ServiceView>()>;

// Prometheus text for the views (pure; label values escaped per the format).
std::string AutoscaleMetrics(const std::vector<autoscaler::ServiceView>& views);

void AddAutoscaleRoutes(Router& router, AutoscaleViews views);

}  // namespace berth::api
