#include "ingress/routes.h"

#include <algorithm>
#include <map>

namespace berth::ingress {

std::string RouteHost(const std::string& service, const std::string& env, const std::string& domain) {
  std::string h = service + "." + env + "." + domain;
  std::transform(h.begin(), h.end(), h.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  std::replace(h.begin(), h.end(), '_', '-');  // service names may hold '_'; host names may not
  return h;
}

proxy::RouteSnapshot BuildRoutes(const RouteInputs& in) {
  proxy::RouteSnapshot snap;
  snap.domain = in.domain;
  std::map<std::pair<std::string, std::string>, std::vector<const store::ReplicaRecord*>> by_service;
  for (const auto& r : in.replicas) by_service[{r.env, r.service}].push_back(&r);
  for (const auto& e : in.envs) {
    if (!e.project || e.deleting) continue;
    for (const auto& [name, s] : e.project->services) {
      if (!s.expose) continue;
      proxy::RouteSpec route;
      route.host = RouteHost(name, e.name, in.domain);
      route.aliases = s.expose->hosts;
      route.path_prefix = s.expose->path_prefix;
      route.service = e.name + "/" + name;
      route.limit = static_cast<uint32_t>(std::max(0, s.concurrency.limit));
      route.queue = static_cast<uint32_t>(std::max(0, s.concurrency.queue));
      route.queue_timeout_ms = s.concurrency.queue_timeout.count();
      // A service that may sit at zero replicas holds requests while one starts.
      route.wait_for_replica = s.scale.min == 0;
      for (const auto* r : by_service[{e.name, name}]) {
        if (r->state == "standby" || r->state == "stopped" || r->ip.empty()) continue;
        proxy::UpstreamSpec u;
        u.id = r->id;
        u.addr = r->ip + ":" + std::to_string(s.expose->port);
        u.ready = r->state == "running" && (r->health == "healthy" || r->health == "none") &&
                  !in.draining.count(r->id);
        route.upstreams.push_back(std::move(u));
      }
      std::sort(route.upstreams.begin(), route.upstreams.end(),
                [](const auto& a, const auto& b) { return a.id < b.id; });
      snap.routes.push_back(std::move(route));
    }
  }
  std::sort(snap.routes.begin(), snap.routes.end(), [](const auto& a, const auto& b) {
    return std::tie(a.host, a.path_prefix) < std::tie(b.host, b.path_prefix);
  });
  return snap;
}

}  // namespace berth::ingress
