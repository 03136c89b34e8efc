#include "api/autoscale_handlers.h"

#include <cstdio>

namespace berth::api {

using nlohmann::json;

namespace {

std::string Escape(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

std::string Labels(const autoscaler::ServiceView& v) {
  size_t slash = v.key.find('/');
  std::string env = v.key.substr(0, slash), svc = slash == std::string::npos ? "" : v.key.substr(slash + 1);
  return "{env=\"" + Escape(env) + "\",service=\"" + Escape(svc) + "\"}";
}

std::string Num(double d) {
  char b[32];
  snprintf(b, sizeof b, "%.6g", d);
  return b;
}

}  // namespace

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
  std::string out;
  for (const Family& f : kFamilies) {
    out += std::string("# HELP ") + f.name + " " + f.help + "\n# TYPE " + f.name + " gauge\n";
    for (const auto& v : views) out += f.name + Labels(v) + " " + Num(f.value(v)) + "\n";
  }
  return out;
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
