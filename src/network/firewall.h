// Host iptables rules for environment bridges (iptables via argv, with the xtables lock):
//  - BERTH-INPUT, jumped to from INPUT: traffic from a bridge to the host is accepted
//    only when it answers the host or goes to the ingress port; the rest is rejected;
//  - removal of the per-bridge isolation rules the CNI firewall plugin leaves behind.
// Every function is idempotent. Thread-safe (iptables serializes through its lock).
#pragma once

#include <string>

#include "base/status.h"

namespace berth::network {

Status EnsureHostRules(const std::string& bridge, int ingress_port);
Status RemoveHostRules(const std::string& bridge, int ingress_port);
Status RemoveIsolationRules(const std::string& bridge);

}  // namespace berth::network
