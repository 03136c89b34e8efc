#include "network/firewall.h"

#include <vector>

#include "base/subprocess.h"

namespace berth::network {
namespace {

constexpr const char* kChain = "BERTH-INPUT";
constexpr const char* kIsolationComment = "CNI firewall plugin rules (ingressPolicy: same-bridge)";

StatusOr<RunResult> Iptables(std::vector<std::string> args) {
  args.insert(args.begin(), {"iptables", "-w", "10"});
  return Run(args);
}

// -C then -A (or -D while present): idempotent add and remove of one rule.
Status Ensure(std::vector<std::string> rule) {
  std::vector<std::string> check = {"-C"};
  check.insert(check.end(), rule.begin(), rule.end());
  auto c = Iptables(check);
  if (c.ok() && c->ok()) return OkStatus();
  std::vector<std::string> add = {"-A"};
  add.insert(add.end(), rule.begin(), rule.end());
  auto a = Iptables(add);
  if (!a.ok()) return a.status();
  if (!a->ok()) return Internal("iptables -A " + rule[0] + ": " + a->Describe());
  return OkStatus();
}

Status Remove(std::vector<std::string> rule) {
  for (int i = 0; i < 16; ++i) {  // duplicates are possible after crashes
    std::vector<std::string> del = {"-D"};
    del.insert(del.end(), rule.begin(), rule.end());
    auto d = Iptables(del);
    if (!d.ok()) return d.status();
    if (!d->ok()) return OkStatus();  // no (more) such rule
  }
  return OkStatus();
}

std::vector<std::vector<std::string>> HostRules(const std::string& br, int port) {
  return {
      {kChain, "-i", br, "-m", "conntrack", "--ctstate", "ESTABLISHED,RELATED", "-j", "ACCEPT"},
      {kChain, "-i", br, "-p", "tcp", "--dport", std::to_string(port), "-j", "ACCEPT"},
      {kChain, "-i", br, "-j", "REJECT"},
  };
}

}  // namespace

Status EnsureHostRules(const std::string& bridge, int ingress_port) {
  auto n = Iptables({"-N", kChain});  // exists already: fine
  if (!n.ok()) return n.status().WithContext("iptables");
  BERTH_RETURN_IF_ERROR(Ensure({"INPUT", "-j", kChain}));
  for (auto& rule : HostRules(bridge, ingress_port)) BERTH_RETURN_IF_ERROR(Ensure(rule));
  return OkStatus();
}

Status RemoveHostRules(const std::string& bridge, int ingress_port) {
  for (auto& rule : HostRules(bridge, ingress_port)) BERTH_RETURN_IF_ERROR(Remove(rule));
  return OkStatus();
}

Status RemoveIsolationRules(const std::string& br) {
  BERTH_RETURN_IF_ERROR(Remove({"CNI-ISOLATION-STAGE-1", "-i", br, "!", "-o", br, "-m", "comment", "--comment",
                                kIsolationComment, "-j", "CNI-ISOLATION-STAGE-2"}));
  return Remove({"CNI-ISOLATION-STAGE-2", "-o", br, "-m", "comment", "--comment", kIsolationComment, "-j", "DROP"});
}

}  // namespace berth::network
