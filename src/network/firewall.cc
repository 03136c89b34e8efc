#include "network/firewall.h"

#include <vector>

#include "base/subprocess.h"

namespace berth::network {

namespace {
struct Jump {
  const char* table;
  const char* from;
  std::string to;
};
}  // namespace

// Where the built-in chains jump to the instance's own.
static std::vector<Jump> Jumps(const Firewall& fw) {
  return {{"filter", "INPUT", fw.Chain("INPUT")},
          {"filter", "FORWARD", fw.Chain("FORWARD")},
          {"nat", "PREROUTING", fw.Chain("PREROUTING")},
          {"nat", "POSTROUTING", fw.Chain("POSTROUTING")}};
}

std::string Firewall::Generate(const std::map<std::string, FirewallEnv>& envs) const {
  std::string in = Chain("INPUT"), fwd = Chain("FORWARD"), pre = Chain("PREROUTING"), post = Chain("POSTROUTING");
  std::string port = std::to_string(port_);
  std::string f = "*filter\n:" + in + " - [0:0]\n:" + fwd + " - [0:0]\n";
  // Every bridge's isolation comes before any bridge's accept.
  for (const auto& [name, e] : envs) {
    f += "-A " + fwd + " -o " + e.bridge + " -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n";
    f += "-A " + fwd + " -o " + e.bridge + " ! -i " + e.bridge + " -j DROP\n";
  }
  for (const auto& [name, e] : envs) f += "-A " + fwd + " -i " + e.bridge + " -j ACCEPT\n";
  for (const auto& [name, e] : envs) {
    f += "-A " + in + " -i " + e.bridge + " -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n";
    if (DnatIngress())  // route_localnet is on: loopback is reachable only through the DNAT
      f += "-A " + in + " -i " + e.bridge + " -d 127.0.0.0/8 -m conntrack ! --ctstate DNAT -j DROP\n";
    f += "-A " + in + " -i " + e.bridge + " -p tcp --dport " + port + " -j ACCEPT\n";
    f += "-A " + in + " -i " + e.bridge + " -j REJECT\n";
  }
  f += "COMMIT\n*nat\n:" + pre + " - [0:0]\n:" + post + " - [0:0]\n";
  if (DnatIngress()) {
    for (const auto& [name, e] : envs)
      f += "-A " + pre + " -i " + e.bridge + " -d " + e.subnet.Host(1) + "/32 -p tcp --dport " + port +
           " -j DNAT --to-destination " + ingress_host_ + ":" + port + "\n";
  }
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
  for (const Jump& j : Jumps(*this)) {
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

Status Firewall::RemoveAll() {
  jumps_ok_ = false;
  const std::vector<Jump> jumps = Jumps(*this);
  for (const Jump& j : jumps) {
    // -D removes one copy; a crash between -C and -I cannot have made more than one, but
    // be thorough and bounded.
    for (int i = 0; i < 8; ++i) {
      auto d = Run({"iptables", "-w", "10", "-t", j.table, "-D", j.from, "-j", j.to});
      if (!d.ok()) return d.status().WithContext("iptables");
      if (!d->ok()) break;  // no (more) such rule
    }
  }
  for (const Jump& j : jumps) {
    auto l = Run({"iptables", "-w", "10", "-t", j.table, "-L", j.to, "-n"});
    if (!l.ok()) return l.status().WithContext("iptables");
    if (!l->ok()) continue;  // no such chain
    for (const char* op : {"-F", "-X"}) {
      auto r = Run({"iptables", "-w", "10", "-t", j.table, op, j.to});
      if (!r.ok()) return r.status().WithContext("iptables");
      if (!r->ok()) return Internal("iptables " + std::string(op) + " " + j.to + ": " + r->Describe());
    }
  }
  return OkStatus();
}

Status Firewall::Sync(const std::map<std::string, FirewallEnv>& envs) {
  if (envs.empty()) return RemoveAll();
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
