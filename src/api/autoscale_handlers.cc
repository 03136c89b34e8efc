#include "api/autoscale_handlers.h"

#include "base/prometheus.h"

namespace berth::api {

using nlohmann::json;

std::string AutoscaleMetrics(const std::vector<autoscaler::ServiceView>& views) {
  struct Family {
    const char* name;
    const char* help;
    double (*value)(const autoscaler::ServiceView&);
  };
  static const Family kFamilies[] = {
      {"berth_autoscaler_desired_replicas", "Replicas the autoscaler wants.",
       [](const autoscaler::ServiceView& v) { return double(v.desired); }},
      {"berth_autoscaler_ready_replicas", "Replicas ready to serve (the actual count).",
       [](const autoscaler::ServiceView& v) { return double(v.ready); }},
      {"berth_autoscaler_panic", "1 while the service is in panic mode.",
       [](const autoscaler::ServiceView& v) { return v.panic ? 1.0 : 0.0; }},
      {"berth_autoscaler_stable_concurrency", "Observed concurrency (in flight + queued), stable window average.",
       [](const autoscaler::ServiceView& v) { return v.stable_demand; }},
      {"berth_autoscaler_panic_concurrency", "Observed concurrency (in flight + queued), panic window average.",
       [](const autoscaler::ServiceView& v) { return v.panic_demand; }},
      {"berth_autoscaler_target_concurrency", "Concurrency one replica should carry (limit x utilization).",
       [](const autoscaler::ServiceView& v) { return v.target; }},
  };
  MetricsWriter m;
  for (const Family& f : kFamilies) {
    m.Family(f.name, "gauge", f.help);
    for (const auto& v : views) {
      size_t slash = v.key.find('/');
      std::string_view key = v.key;
      std::string_view env = key.substr(0, slash), svc = slash == std::string::npos ? "" : key.substr(slash + 1);
      m.Sample(f.name, {{"env", env}, {"service", svc}}, f.value(v));
    }
  }
  return m.text();
}

void AddAutoscaleRoutes(Router& router, AutoscaleViews views) {
  router.Add("GET", "/v1/autoscale", [views](const Request& req, std::shared_ptr<Responder> r) {
    std::string env = req.query.count("env") ? req.query.at("env") : "";
    json arr = json::array();
    for (const auto& v : views()) {
      size_t slash = v.key.find('/');
      std::string e = v.key.substr(0, slash);
      if (!env.empty() && e != env) continue;
      arr.push_back({{"env", e},
                     {"service", slash == std::string::npos ? "" : v.key.substr(slash + 1)},
                     {"desired", v.desired},
                     {"ready", v.ready},
                     {"panic", v.panic},
                     {"stable_concurrency", v.stable_demand},
                     {"panic_concurrency", v.panic_demand},
                     {"target", v.target},
                     {"reason", v.reason}});
    }
    r->Reply(200, arr);
  });
  router.Add("GET", "/v1/metrics", [views](const Request&, std::shared_ptr<Responder> r) {
    r->StartStream("text/plain; version=0.0.4; charset=utf-8");
    r->Write(AutoscaleMetrics(views()));
    r->End();
  });
}

}  // namespace berth::api
