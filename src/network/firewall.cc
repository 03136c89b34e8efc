#include "network/firewall.h"

#include <vector>

#include "base/subprocess.h"

namespace berth::network {

std::string Firewall::Generate(const std::map<std::string, FirewallEnv>& envs) const {
  std::string in = Chain("INPUT"), fwd = Chain("FORWARD"), post = Chain("POSTROUTING");
  std::string f = "*filter\n:" + in + " - [0:0]\n:" + fwd + " - [0:0]\n";
  // Every bridge's isolation comes before any bridge's accept.
  for (const auto& [name, e] : envs) {
    f += "-A " + fwd + " -o " + e.bridge + " -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n";
    f += "-A " + fwd + " -o " + e.bridge + " ! -i " + e.bridge + " -j DROP\n";
  }
  for (const auto& [name, e] : envs) f += "-A " + fwd + " -i " + e.bridge + " -j ACCEPT\n";
  for (const auto& [name, e] : envs) {
    f += "-A " + in + " -i " + e.bridge + " -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n";
    f += "-A " + in + " -i " + e.bridge + " -p tcp --dport " + std::to_string(port_) + " -j ACCEPT\n";
    f += "-A " + in + " -i " + e.bridge + " -j REJECT\n";
  }
  f += "COMMIT\n*nat\n:" + post + " - [0:0]\n";
  for (const auto& [name, e] : envs) {
    std::string s = e.subnet.ToString();
    f += "-A " + post + " -s " + s + " ! -d " + s + " -j MASQUERADE\n";
  }
  f += "COMMIT\n";
  return f;
}

Status Firewall::EnsureJumps() {
  if (jumps_ok_) return OkStatus();
  // The chains exist (Restore declared them) before a rule can jump to them.
  struct Jump {
    const char* table;
    const char* from;
    std::string to;
  };
  for (const Jump& j : {Jump{"filter", "INPUT", Chain("INPUT")}, Jump{"filter", "FORWARD", Chain("FORWARD")},
                        Jump{"nat", "POSTROUTING", Chain("POSTROUTING")}}) {
    auto c = Run({"iptables", "-w", "10", "-t", j.table, "-C", j.from, "-j", j.to});
    if (!c.ok()) return c.status().WithContext("iptables");
    if (c->ok()) continue;
    auto a = Run({"iptables", "-w", "10", "-t", j.table, "-I", j.from, "1", "-j", j.to});
    if (!a.ok()) return a.status().WithContext("iptables");
    if (!a->ok()) return Internal(std::string("iptables -I ") + j.from + ": " + a->Describe());
  }
  jumps_ok_ = true;
  return OkStatus();
}

Status Firewall::Sync(const std::map<std::string, FirewallEnv>& envs) {
  BERTH_RETURN_IF_ERROR(Restore(envs));
  return EnsureJumps();
}

Status Firewall::Restore(const std::map<std::string, FirewallEnv>& envs) {
  RunOptions ro;
  ro.stdin_data = Generate(envs);
  auto r = Run({"iptables-restore", "-w", "10", "--noflush"}, ro);
  if (!r.ok()) return r.status().WithContext("iptables-restore");
  if (!r->ok()) return Internal("iptables-restore: " + r->Describe());
  return OkStatus();
}

}  // namespace berth::network
