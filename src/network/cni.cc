#include "network/cni.h"

#include <cstdlib>

#include "base/subprocess.h"

namespace berth::network {

StatusOr<nlohmann::json> RunCniPlugin(const nlohmann::json& config, const CniCall& call) {
  std::string type = config.value("type", "");
  if (type.empty() || type.find('/') != std::string::npos) return InvalidArgument("cni: bad plugin type");
  std::string what = "cni " + type + " " + call.command;
  std::vector<std::string> env = {
      "CNI_COMMAND=" + call.command, "CNI_CONTAINERID=" + call.container_id, "CNI_NETNS=" + call.netns,
      "CNI_IFNAME=" + call.ifname,   "CNI_PATH=" + call.cni_path,
      // The firewall plugin runs iptables; the bridge plugin sysctl. Give them a PATH.
      std::string("PATH=") + (getenv("PATH") ? getenv("PATH") : "/usr/sbin:/usr/bin:/sbin:/bin"),
  };
  RunOptions ro;
  ro.env = env;
  ro.stdin_data = config.dump();
  ro.timeout = call.timeout;
  auto r = Run({call.cni_path + "/" + type}, ro);
  if (!r.ok()) return r.status().WithContext(what);
  if (r->timed_out) return DeadlineExceeded(what + ": timed out");
  nlohmann::json out = nlohmann::json::parse(r->out, nullptr, false);
  if (!r->ok()) {
    std::string msg = r->Describe();
    if (out.is_object() && out.contains("msg")) {
      msg = out.value("msg", msg);
      if (out.contains("details") && out["details"].is_string() && !out["details"].get<std::string>().empty())
        msg += ": " + out["details"].get<std::string>();
    }
    return Internal(what + ": " + msg);
  }
  if (call.command == "DEL" || call.command == "CHECK") return nlohmann::json(nullptr);
  if (!out.is_object()) return Internal(what + ": result is not JSON: " + r->out.substr(0, 200));
  return out;
}

}  // namespace berth::network
