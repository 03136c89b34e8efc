#include "proxy/route_table.h"

#include <algorithm>
#include <map>

#include "proxy/net_util.h"

namespace berth::proxy {

namespace {

bool PrefixMatches(std::string_view prefix, std::string_view path) {
  if (prefix.empty()) return true;
  if (!path.starts_with(prefix)) return false;
  if (path.size() == prefix.size() || prefix.back() == '/') return true;
  char next = path[prefix.size()];
  return next == '/' || next == '?';
}

StatusOr<std::unique_ptr<ServiceEntry>> BuildService(const RouteSpec& r, StateRegistry* registry) {
  auto e = std::make_unique<ServiceEntry>();
  e->state = registry->Service(r.service);
  e->state->limiter().SetOptions({.limit = r.limit,
                                  .queue = r.queue,
                                  .queue_timeout_ms = r.queue_timeout_ms,
                                  .wait_for_replica = r.wait_for_replica});
  e->default_host = r.host == "*" ? "localhost" : r.host;
  for (const UpstreamSpec& u : r.upstreams) {
    auto ep = ParseEndpoint(u.addr);
    if (!ep.ok()) return ep.status().WithContext("service " + r.service + " upstream " + u.id);
    e->replicas.push_back(registry->Replica(e->state.get(), u.id, ep->addr, ep->text));
    if (u.ready) e->ready.push_back(e->replicas.back().get());
  }
  return e;
}

}  // namespace

StatusOr<std::shared_ptr<const RouteTable>> RouteTable::Build(const RouteSnapshot& snapshot,
                                                              StateRegistry* registry) {
  auto t = std::make_shared<RouteTable>();
  t->version_ = snapshot.version;
  std::map<std::string, ServiceEntry*> by_name;
  for (const RouteSpec& r : snapshot.routes) {
    ServiceEntry*& entry = by_name[r.service];
    if (entry == nullptr) {
      BERTH_ASSIGN_OR_RETURN(auto e, BuildService(r, registry));
      entry = e.get();
      t->services_.push_back(std::move(e));
    }
    std::vector<std::string> hosts{r.host};
    hosts.insert(hosts.end(), r.aliases.begin(), r.aliases.end());
    for (const std::string& h : hosts) {
      auto route = std::make_unique<Route>(Route{h, r.path_prefix, entry});
      PrefixList& list = h == "*" ? t->wildcard_ : t->hosts_[h];
      list.push_back(route.get());
      t->routes_.push_back(std::move(route));
    }
  }
  auto longest_first = [](const Route* a, const Route* b) {
    return a->path_prefix.size() > b->path_prefix.size();
  };
  for (auto& [host, list] : t->hosts_) std::stable_sort(list.begin(), list.end(), longest_first);
  std::stable_sort(t->wildcard_.begin(), t->wildcard_.end(), longest_first);
  registry->Sweep();
  return std::shared_ptr<const RouteTable>(std::move(t));
}

const Route* RouteTable::MatchPrefix(const PrefixList& list, std::string_view path) {
  for (const Route* r : list) {
    if (PrefixMatches(r->path_prefix, path)) return r;
  }
  return nullptr;
}

const Route* RouteTable::Match(std::string_view host, std::string_view path) const {
  if (!hosts_.empty()) {
    auto it = hosts_.find(host);
    if (it != hosts_.end()) {
      if (const Route* r = MatchPrefix(it->second, path)) return r;
    }
  }
  return MatchPrefix(wildcard_, path);
}

}  // namespace berth::proxy
