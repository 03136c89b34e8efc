// The files that give an environment its name resolution: an /etc/hosts mapping each
// service (and each replica, as SERVICE-N) to its addresses, and a resolv.conf with the
// host's usable name servers. Content builders are pure; WriteInPlace rewrites a file
// keeping its inode, because containers see it through a bind mount of that inode.
#pragma once

#include <string>
#include <vector>

#include "base/status.h"

namespace berth::network {

struct HostEntry {
  std::string ip;
  std::string service;
  int index = 1;
};

// Extra names for one address: the ingress names of the environment's exposed services
// (SERVICE.ENV.DOMAIN) at its gateway, where the host's berth-proxy answers.
struct HostAlias {
  std::string ip;
  std::string name;
};

// Deterministic: entries sorted by service then index, aliases by name after them.
std::string HostsFileContent(std::vector<HostEntry> entries, std::vector<HostAlias> aliases = {});

// The host's resolv.conf with loopback name servers removed (they are unreachable
// from a container's namespace); search/options kept.
std::string ResolvConfContent(const std::string& host_resolv_conf);

// Truncates and rewrites `path` (creating it with `mode` if absent) without replacing
// the inode.
Status WriteInPlace(const std::string& path, const std::string& content, int mode = 0644);

}  // namespace berth::network
