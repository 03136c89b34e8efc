// berth-proxy: Berth's ingress data plane. See src/proxy/README.md.
#include <cstdio>

#include "proxy/control.h"
#include "proxy/flags.h"
#include "proxy/proxy.h"

int main(int argc, char** argv) {
  auto flags = berth::proxy::ParseFlags(argc, argv);
  if (!flags.ok()) {
    std::fprintf(stderr, "berth-proxy: %s\n", flags.status().message().c_str());
    return 2;
  }
  if (flags->help) {
    std::fputs(berth::proxy::Usage().c_str(), stdout);
    return 0;
  }
  // The flags' routes go through the same validation as a controller's snapshot.
  if (!flags->config.routes.empty()) {
    auto s = berth::proxy::ParseSnapshot(
        berth::proxy::EncodeSnapshot(berth::proxy::SnapshotFromFlags(flags->config)));
    if (!s.ok()) {
      std::fprintf(stderr, "berth-proxy: --route: %s\n", s.status().message().c_str());
      return 2;
    }
  }
  berth::proxy::Proxy proxy(std::move(flags->config));
  if (auto st = proxy.Start(); !st.ok()) {
    std::fprintf(stderr, "berth-proxy: %s\n", st.message().c_str());
    return 1;
  }
  return proxy.Run();
}
