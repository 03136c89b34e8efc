// RouteTable: one immutable routing snapshot.
//
// Built by the control thread from a RouteSnapshot (control.h) and published to every
// worker as std::shared_ptr<const RouteTable>; a worker swaps its own pointer on its own
// loop, so lookups take no lock. Match() maps (Host, path) to a route: exact host first,
// then "*"; within a host the longest matching path prefix (on segment boundaries:
// "/api" matches "/api", "/api/x" and "/api?q", not "/apix").
//
// Thread-safety: immutable after Build; any number of threads may read it.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/status.h"
#include "proxy/control.h"
#include "proxy/service_state.h"

namespace berth::proxy {

struct ServiceEntry {
  RefPtr<ServiceState> state;
  std::vector<RefPtr<ReplicaState>> replicas;  // every replica in the snapshot
  std::vector<LimiterSlot*> ready;             // the routable ones (the limiter's view)
  std::string default_host;                    // Host for HTTP/1.0 requests without one
};

struct Route {
  std::string host;
  std::string path_prefix;
  ServiceEntry* service;
};

class RouteTable {
 public:
  // Validation happened in ParseSnapshot; Build fails only on addresses it cannot use.
  static StatusOr<std::shared_ptr<const RouteTable>> Build(const RouteSnapshot& snapshot,
                                                           StateRegistry* registry);

  // `host` is normalized (NormalizeHost); `path` is the origin-form target.
  const Route* Match(std::string_view host, std::string_view path) const;

  uint64_t version() const { return version_; }
  const std::vector<std::unique_ptr<ServiceEntry>>& services() const { return services_; }
  size_t route_count() const { return routes_.size(); }

 private:
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  using PrefixList = std::vector<const Route*>;  // longest prefix first

  static const Route* MatchPrefix(const PrefixList& list, std::string_view path);

  uint64_t version_ = 0;
  std::vector<std::unique_ptr<Route>> routes_;
  std::vector<std::unique_ptr<ServiceEntry>> services_;
  std::unordered_map<std::string, PrefixList, Hash, std::equal_to<>> hosts_;
  PrefixList wildcard_;
};

}  // namespace berth::proxy
