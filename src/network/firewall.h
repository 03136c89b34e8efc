// Firewall: the host iptables rules of one berthd instance, kept as whole chains it owns
// (BERTH-<instance>-INPUT, -FORWARD in filter, -POSTROUTING in nat) and rewritten in one
// `iptables-restore --noflush` from the set of environments, so every change is atomic,
// idempotent, and removes the rules of environments that are gone. Per environment:
//  - FORWARD: into its bridge only replies or traffic from the bridge itself: other
//    environments cannot reach it (checked first for every bridge), then its own
//    outbound traffic is accepted (even under a DROP policy);
//  - INPUT: from its bridge to the host only replies and the ingress port; the rest is
//    rejected (berthd's API and other host services stay out of reach);
//  - POSTROUTING: masquerade its subnet's traffic leaving the subnet.
// Generate() is pure; Sync() runs iptables. Thread-safe: callers serialize Sync().
#pragma once

#include <map>
#include <string>

#include "base/status.h"
#include "network/subnet.h"

namespace berth::network {

struct FirewallEnv {
  std::string bridge;
  Cidr subnet;
};

class Firewall {
 public:
  Firewall(std::string instance, int ingress_port) : instance_(std::move(instance)), port_(ingress_port) {}

  std::string Chain(const std::string& base) const { return "BERTH-" + instance_ + "-" + base; }

  // The iptables-restore input for these environments (by name).
  std::string Generate(const std::map<std::string, FirewallEnv>& envs) const;

  // Makes the instance's chains hold exactly the rules for `envs`, and makes sure INPUT,
  // FORWARD and POSTROUTING jump to them.
  Status Sync(const std::map<std::string, FirewallEnv>& envs);

 private:
  Status Restore(const std::map<std::string, FirewallEnv>& envs);
  Status EnsureJumps();

  std::string instance_;
  int port_;
  bool jumps_ok_ = false;
};

}  // namespace berth::network
