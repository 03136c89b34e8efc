// The ingress routing table as berthd sees it: every exposed service of every
// environment becomes a route SERVICE.ENV.DOMAIN (plus its extra hosts and path prefix)
// to its replicas' addresses, ready when they run and pass readiness, not while they
// drain. Pure: the proxy manager turns supervisor state into a snapshot with it.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "proxy/control.h"
#include "spec/model.h"
#include "store/store.h"

namespace berth::ingress {

struct RouteInputs {
  std::string domain = "localhost";
  struct Env {
    std::string name;
    const spec::Project* project = nullptr;
    bool deleting = false;
  };
  std::vector<Env> envs;
  std::vector<store::ReplicaRecord> replicas;
  std::set<std::string> draining;  // replica ids leaving: kept as not ready
};

// Routes sorted by host then path prefix; upstreams by replica id. Version 0.
proxy::RouteSnapshot BuildRoutes(const RouteInputs& in);

// "api.shop.localhost" for service api of environment shop.
std::string RouteHost(const std::string& service, const std::string& env, const std::string& domain);

}  // namespace berth::ingress
