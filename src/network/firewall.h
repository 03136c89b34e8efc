// Firewall: the host iptables rules of one berthd instance, kept as whole chains it owns
// (BERTH-<instance>-INPUT, -FORWARD in filter, -POSTROUTING in nat) and rewritten in one
// `iptables-restore --noflush` from the set of environments, so every change is atomic,
// idempotent, and removes the rules of environments that are gone. Per environment:
//  - FORWARD: into its bridge only replies or traffic from the bridge itself: other
//    environments cannot reach it (checked first for every bridge), then its own
//    outbound traffic is accepted (even under a DROP policy);
//  - INPUT: from its bridge to the host only replies and the ingress port; the rest is
//    rejected (berthd's API and other host services stay out of reach);
//  - PREROUTING (nat), when the ingress listens on a loopback address: the bridge's
//    gateway address at the ingress port is DNATed to it, so containers reach the proxy
//    at GATEWAY:PORT (the bridge gets route_localnet=1 for that; INPUT drops any other
//    packet from the bridge to 127.0.0.0/8, as kube-proxy does);
//  - POSTROUTING: masquerade its subnet's traffic leaving the subnet.
// With no environment left the chains and the jumps to them are removed.
// Generate() is pure; Sync() runs iptables. Thread-safe: callers serialize Sync().
#pragma once

#include <map>
#include <string>

#include "base/status.h"
#include "network/subnet.h"

namespace berth::network {

struct FirewallEnv {
  std::string bridge;
  Cidr subnet;  // its gateway (the bridge's address) is subnet.Host(1)
};

class Firewall {
 public:
  // ingress_host: the address berth-proxy listens on ("127.0.0.1", "0.0.0.0", ...).
  Firewall(std::string instance, std::string ingress_host, int ingress_port)
      : instance_(std::move(instance)), ingress_host_(std::move(ingress_host)), port_(ingress_port) {}

  // Whether containers reach the ingress through a DNAT of their gateway address.
  bool DnatIngress() const { return ingress_host_.rfind("127.", 0) == 0; }

  std::string Chain(const std::string& base) const { return "BERTH-" + instance_ + "-" + base; }

  // The iptables-restore input for these environments (by name).
  std::string Generate(const std::map<std::string, FirewallEnv>& envs) const;

  // Makes the instance's chains hold exactly the rules for `envs`, and makes sure INPUT,
  // FORWARD, PREROUTING and POSTROUTING jump to them; with no envs, removes them all.
  Status Sync(const std::map<std::string, FirewallEnv>& envs);

 private:
  Status Restore(const std::map<std::string, FirewallEnv>& envs);
  Status EnsureJumps();
  Status RemoveAll();  // jumps first, then the chains; absent is fine

  std::string instance_;
  std::string ingress_host_;
  int port_;
  bool jumps_ok_ = false;
};

}  // namespace berth::network
