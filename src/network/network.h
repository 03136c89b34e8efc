// Network: one isolated network per environment, built from the CNI reference plugins.
//
//  - each environment gets a bridge (name derived to fit 15 characters, distinct per
//    berthd instance) and a subnet the caller allocated (subnet.h);
//  - each replica gets its own network namespace (netns.h) joined to the bridge by the
//    `bridge` plugin with `host-local` IPAM;
//  - host rules (firewall.h) keep environments from reaching each other and let a
//    container reach the host only on the ingress port (not berthd's API or anything
//    else listening on the host); one ruleset per instance, rewritten atomically;
//  - every ADD result is cached under the run dir and replayed on DEL in reverse plugin
//    order; Attach and Detach are idempotent; CleanupOrphans removes what a crash left.
//
// Thread-safety: all methods may be called from several threads; work on one
// environment is serialized (the bridge plugin races with itself creating a bridge).
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "base/status.h"
#include "network/firewall.h"
#include "network/subnet.h"

namespace berth::network {

struct NetworkOptions {
  std::string run_dir;
  std::string cni_path = "/usr/lib/cni";
  std::string instance = "0000";  // 4 hex chars: keeps concurrent daemons' bridges apart
  std::string ingress_host = "127.0.0.1";  // where berth-proxy listens
  int ingress_port = 8080;                 // the one host port containers may reach
};

struct Attachment {
  std::string netns_path;
  std::string ip;
  std::string gateway;
};

class Network {
 public:
  explicit Network(NetworkOptions options);

  std::string BridgeName(const std::string& env) const;   // "bt" + instance + 8 hex
  std::string NetworkName(const std::string& env) const;  // CNI network name
  std::string NetnsPath(const std::string& replica_id) const;
  std::string HostsPath(const std::string& env) const;
  std::string ResolvConfPath(const std::string& env) const;

  // Writes the environment's resolv.conf and (empty) hosts file, and its host rules.
  Status PrepareEnv(const std::string& env, const Cidr& subnet);
  // Namespace + CNI ADD chain for a replica; returns the cached attachment if it exists.
  StatusOr<Attachment> Attach(const std::string& env, const Cidr& subnet, const std::string& replica_id);
  // The address of an attached replica from its cached ADD result ("" if none).
  std::string AttachedIp(const std::string& replica_id) const;
  // CNI DEL chain (reverse order) and namespace removal. Absent is ok.
  Status Detach(const std::string& env, const std::string& replica_id);
  // Bridge, host rules, IPAM state and files of an environment whose replicas are gone.
  Status RemoveEnv(const std::string& env);
  // Removes namespaces, cached results, bridges, rules and IPAM state that belong to this
  // instance but to none of the given environments/replicas (environments are those
  // prepared since this Network was made).
  Status CleanupOrphans(const std::set<std::string>& envs, const std::set<std::string>& replica_ids);

 private:
  std::mutex& EnvLock(const std::string& env);
  Status DetachLocked(const std::string& replica_id);
  Status RemoveBridge(const std::string& bridge, const std::string& network_name);
  Status SyncFirewall(const std::string& env, const std::optional<Cidr>& subnet);
  std::string CachePath(const std::string& replica_id) const;

  NetworkOptions o_;
  std::mutex mu_;
  std::mutex firewall_mu_;  // guards firewall_ and firewall_envs_
  Firewall firewall_;
  std::map<std::string, FirewallEnv> firewall_envs_;
  std::map<std::string, std::unique_ptr<std::mutex>> env_locks_;
};

}  // namespace berth::network
