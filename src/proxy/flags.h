// Command line of berth-proxy. Hand-parsed (no exceptions; not on the request path).
//
//   berth-proxy --listen ADDR --route HOST=UPSTREAM[,UPSTREAM...] [--route ...]
//               [--limit N] [--queue M] [--queue-timeout D] [--workers N]
//               [--admin ADDR] [--control PATH] [--routes-file PATH] [--max-body SIZE]
//               [--header-timeout D] [--upstream-timeout D] [--idle-timeout D]
//               [--pool-idle D] [--tunnel-idle D] [--drain-timeout D] [--busy-poll-us N]
// Both "--flag value" and "--flag=value". D is a duration ("500ms", "10s", "1m"; a
// bare number means seconds), SIZE a byte size ("1M", "512k").
//
// Thread-safety: pure functions.
#pragma once

#include <string>

#include "base/status.h"
#include "proxy/proxy_config.h"

namespace berth::proxy {

struct Flags {
  ProxyConfig config;
  bool help = false;
};

// InvalidArgument with a one-line reason on any usage error (the caller exits 2).
StatusOr<Flags> ParseFlags(int argc, const char* const* argv);
std::string Usage();

}  // namespace berth::proxy
