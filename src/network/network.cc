#include "network/network.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <sstream>

#include "base/fs.h"
#include "base/subprocess.h"
#include "network/cni.h"
#include "network/firewall.h"
#include "network/hosts.h"
#include "network/netns.h"

namespace berth::network {

using nlohmann::json;

namespace {

constexpr const char* kCniVersion = "1.0.0";

uint32_t Fnv32(const std::string& s) {
  uint32_t h = 2166136261u;
  for (unsigned char c : s) h = (h ^ c) * 16777619u;
  return h;
}

std::string Hex(uint32_t v, int digits) {
  static const char* hex = "0123456789abcdef";
  std::string out(static_cast<size_t>(digits), '0');
  for (int i = digits - 1; i >= 0; --i, v >>= 4) out[static_cast<size_t>(i)] = hex[v & 15];
  return out;
}

}  // namespace

Network::Network(NetworkOptions options)
    : o_(std::move(options)), firewall_(o_.instance.substr(0, 4), o_.ingress_host, o_.ingress_port) {}

Status Network::SyncFirewall(const std::string& env, const std::optional<Cidr>& subnet) {
  std::lock_guard<std::mutex> g(firewall_mu_);
  auto before = firewall_envs_;
  if (subnet) firewall_envs_[env] = {BridgeName(env), *subnet};
  else firewall_envs_.erase(env);
  if (subnet && before.count(env) && before[env].subnet == *subnet) return OkStatus();
  Status s = firewall_.Sync(firewall_envs_);
  if (!s.ok()) firewall_envs_ = std::move(before);
  return s;
}

std::string Network::BridgeName(const std::string& env) const {
  return "bt" + o_.instance.substr(0, 4) + Hex(Fnv32(env), 8);  // 14 characters
}
std::string Network::NetworkName(const std::string& env) const { return "berth-" + o_.instance + "-" + env; }
std::string Network::NetnsPath(const std::string& id) const { return o_.run_dir + "/netns/" + id; }
std::string Network::CachePath(const std::string& id) const { return o_.run_dir + "/cni/results/" + id + ".json"; }
std::string Network::HostsPath(const std::string& env) const { return o_.run_dir + "/envs/" + env + "/hosts"; }
std::string Network::ResolvConfPath(const std::string& env) const {
  return o_.run_dir + "/envs/" + env + "/resolv.conf";
}

std::mutex& Network::EnvLock(const std::string& env) {
  std::lock_guard<std::mutex> g(mu_);
  auto& m = env_locks_[env];
  if (!m) m = std::make_unique<std::mutex>();
  return *m;
}

Status Network::PrepareEnv(const std::string& env, const Cidr& subnet) {
  BERTH_RETURN_IF_ERROR(MakeDirs(o_.run_dir + "/envs/" + env, 0755));
  auto host = ReadFile("/etc/resolv.conf");
  BERTH_RETURN_IF_ERROR(WriteInPlace(ResolvConfPath(env), ResolvConfContent(host.ok() ? *host : "")));
  if (!PathExists(HostsPath(env))) BERTH_RETURN_IF_ERROR(WriteInPlace(HostsPath(env), HostsFileContent({})));
  return SyncFirewall(env, subnet);
}

StatusOr<Attachment> Network::Attach(const std::string& env, const Cidr& subnet, const std::string& id) {
  std::lock_guard<std::mutex> g(EnvLock(env));
  std::string ns = NetnsPath(id), cache = CachePath(id);
  if (PathExists(cache) && IsNetns(ns)) {
    auto text = ReadFile(cache);
    json c = text.ok() ? json::parse(*text, nullptr, false) : json();
    if (c.is_object() && c.contains("ip")) return Attachment{ns, c["ip"], c.value("gateway", "")};
  }
  json bridge = {{"cniVersion", kCniVersion},
                 {"name", NetworkName(env)},
                 {"type", "bridge"},
                 {"bridge", BridgeName(env)},
                 {"isGateway", true},
                 {"ipMasq", false},  // one masquerade rule per subnet instead (firewall.h)
                 {"hairpinMode", true},
                 {"ipam",
                  {{"type", "host-local"},
                   {"ranges", json::array({json::array({{{"subnet", subnet.ToString()}}})})},
                   {"routes", json::array({{{"dst", "0.0.0.0/0"}}})},  // out via the gateway (masqueraded)
                   {"dataDir", o_.run_dir + "/cni/ipam"}}}};
  // Leftovers of an attempt that did not finish: undo them first. A namespace without a
  // cached result means berthd died during the ADD, which may have leased an address
  // already: a DEL without prevResult releases it (CNI DEL is idempotent).
  if (PathExists(ns) && !PathExists(cache)) (void)RunCniPlugin(bridge, {"DEL", id, ns, "eth0", o_.cni_path});
  (void)DetachLocked(id);
  BERTH_RETURN_IF_ERROR(MakeDirs(o_.run_dir + "/netns", 0755));
  BERTH_RETURN_IF_ERROR(MakeDirs(o_.run_dir + "/cni/results", 0700));
  BERTH_RETURN_IF_ERROR(CreateNetns(ns));

  CniCall call{"ADD", id, ns, "eth0", o_.cni_path};
  auto r1 = RunCniPlugin(bridge, call);
  if (!r1.ok()) {
    (void)DeleteNetns(ns);
    return r1.status().WithContext("attach " + id);
  }
  std::string ip, gw;
  const json& ips = (*r1)["ips"];
  if (ips.is_array() && !ips.empty()) {
    std::string addr = ips[0].value("address", "");
    ip = addr.substr(0, addr.find('/'));
    gw = ips[0].value("gateway", "");
  }
  json record = {{"env", env}, {"ip", ip}, {"gateway", gw}, {"plugins", json::array({bridge})}, {"result", *r1}};
  Status s = ip.empty() ? Internal("the bridge plugin returned no address") : OkStatus();
  if (s.ok()) s = WriteFileAtomic(cache, record.dump(), 0600);
  if (s.ok() && firewall_.DnatIngress()) {
    // The ingress DNAT (firewall.h) sends gateway:port to a loopback address, which the
    // kernel routes from this bridge only with route_localnet. Gone with the bridge.
    std::string knob = "/proc/sys/net/ipv4/conf/" + BridgeName(env) + "/route_localnet";
    int fd = open(knob.c_str(), O_WRONLY | O_CLOEXEC);
    bool ok = fd >= 0 && write(fd, "1\n", 2) == 2;
    if (fd >= 0) close(fd);
    if (!ok) s = Internal("cannot enable " + knob + " (containers would not reach the ingress)");
  }
  if (!s.ok()) {
    // Undo the ADD through the same path as a normal detach.
    (void)WriteFileAtomic(cache, record.dump(), 0600);
    (void)DetachLocked(id);
    return s.WithContext("attach " + id);
  }
  return Attachment{ns, ip, gw};
}

std::string Network::AttachedIp(const std::string& id) const {
  auto text = ReadFile(CachePath(id));
  if (!text.ok()) return "";
  json c = json::parse(*text, nullptr, false);
  return c.is_object() ? c.value("ip", "") : "";
}

Status Network::DetachLocked(const std::string& id) {
  std::string ns = NetnsPath(id), cache = CachePath(id);
  Status first;
  auto text = ReadFile(cache);
  if (text.ok()) {
    json c = json::parse(*text, nullptr, false);
    if (c.is_object() && c["plugins"].is_array()) {
      const json& plugins = c["plugins"];
      for (auto it = plugins.rbegin(); it != plugins.rend(); ++it) {
        json conf = *it;
        conf["prevResult"] = c["result"];
        CniCall call{"DEL", id, IsNetns(ns) ? ns : "", "eth0", o_.cni_path};
        auto r = RunCniPlugin(conf, call);
        if (!r.ok() && first.ok()) first = r.status();
      }
    }
  }
  Status d = DeleteNetns(ns);
  if (!d.ok() && first.ok()) first = d;
  if (unlink(cache.c_str()) != 0 && errno != ENOENT && first.ok()) first = ErrnoStatus("remove " + cache);
  return first.WithContext("detach " + id);
}

Status Network::Detach(const std::string& env, const std::string& id) {
  std::lock_guard<std::mutex> g(EnvLock(env));
  return DetachLocked(id);
}

Status Network::RemoveBridge(const std::string& bridge, const std::string& network_name) {
  auto r = Run({"ip", "link", "del", bridge});
  Status first;
  if (!r.ok()) first = r.status();
  else if (!r->ok() && r->err.find("Cannot find device") == std::string::npos)
    first = Internal("ip link del " + bridge + ": " + r->Describe());
  if (!network_name.empty()) {
    Status s = RemoveAll(o_.run_dir + "/cni/ipam/" + network_name);
    if (!s.ok() && first.ok()) first = s;
  }
  return first;
}

Status Network::RemoveEnv(const std::string& env) {
  std::lock_guard<std::mutex> g(EnvLock(env));
  Status s = RemoveBridge(BridgeName(env), NetworkName(env));
  if (Status f = SyncFirewall(env, std::nullopt); s.ok()) s = f;
  Status f = RemoveAll(o_.run_dir + "/envs/" + env);
  return (s.ok() ? f : s).WithContext("remove network of " + env);
}

Status Network::CleanupOrphans(const std::set<std::string>& envs, const std::set<std::string>& ids) {
  Status first;
  auto keep = [&](Status s) {
    if (!s.ok() && first.ok()) first = s;
  };
  std::set<std::string> stale;
  if (auto names = ListDir(o_.run_dir + "/cni/results"); names.ok())
    for (const auto& n : *names)
      if (n.size() > 5 && !ids.count(n.substr(0, n.size() - 5))) stale.insert(n.substr(0, n.size() - 5));
  if (auto names = ListDir(o_.run_dir + "/netns"); names.ok())
    for (const auto& n : *names)
      if (!ids.count(n)) stale.insert(n);
  for (const auto& id : stale) keep(DetachLocked(id));

  std::set<std::string> bridges, networks;
  for (const auto& e : envs) {
    bridges.insert(BridgeName(e));
    networks.insert(NetworkName(e));
  }
  if (auto r = Run({"ip", "-o", "link", "show", "type", "bridge"}); r.ok() && r->ok()) {
    std::istringstream in(r->out);
    std::string line, prefix = "bt" + o_.instance.substr(0, 4);
    while (std::getline(in, line)) {
      // "12: bt1a2b3c4d5e6f: <BROADCAST,...>"
      size_t a = line.find(": "), b = line.find(':', a + 2);
      if (a == std::string::npos || b == std::string::npos) continue;
      std::string name = line.substr(a + 2, b - a - 2);
      if (name.rfind(prefix, 0) == 0 && name.size() == 14 && !bridges.count(name)) keep(RemoveBridge(name, ""));
    }
  }
  if (auto names = ListDir(o_.run_dir + "/cni/ipam"); names.ok())
    for (const auto& n : *names)
      if (!networks.count(n)) keep(RemoveAll(o_.run_dir + "/cni/ipam/" + n));
  if (auto names = ListDir(o_.run_dir + "/envs"); names.ok())
    for (const auto& n : *names)
      if (!envs.count(n)) keep(RemoveAll(o_.run_dir + "/envs/" + n));
  {
    std::lock_guard<std::mutex> g(firewall_mu_);
    for (auto it = firewall_envs_.begin(); it != firewall_envs_.end();)
      it = envs.count(it->first) ? std::next(it) : firewall_envs_.erase(it);
    keep(firewall_.Sync(firewall_envs_));  // also drops rules a crash left behind
  }
  return first;
}

}  // namespace berth::network
