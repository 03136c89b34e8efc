// ProxyConfig: everything berth-proxy is told on its command line (flags.h parses it).
//
// Thread-safety: built before the workers start, read-only afterwards.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace berth::proxy {

struct StandaloneRoute {
  std::string host;  // "*" matches any host
  std::vector<std::string> upstreams;
};

struct ProxyConfig {
  std::string listen = "127.0.0.1:8080";
  std::vector<StandaloneRoute> routes;  // --route: a snapshot built from flags
  uint32_t limit = 0;                   // per replica, for --route; 0 = unlimited
  uint32_t queue = 0;
  int64_t queue_timeout_ms = 10'000;
  uint32_t workers = 0;                  // 0: one per CPU
  std::string admin = "127.0.0.1:9090";  // "" disables
  std::string control_path;              // "" disables
  std::string routes_file;               // "" disables

  uint64_t max_body = 1024ull * 1024 * 1024;  // 413 beyond; 0 = unlimited
  int64_t header_timeout_ms = 10'000;         // first byte to end of head (408)
  int64_t idle_timeout_ms = 60'000;           // keep-alive client connection without a request
  int64_t upstream_timeout_ms = 60'000;       // upstream silent while a response is due (504)
  int64_t pool_idle_ms = 1'500;               // idle pooled upstream connection lifetime
  int64_t tunnel_idle_ms = 3'600'000;         // upgraded (WebSocket) connection with no traffic
  int64_t drain_timeout_ms = 15'000;          // SIGTERM: finish in-flight requests for this long
  int64_t linger_ms = 2'000;                  // discard client input after a closing response
  uint32_t pool_max_idle = 1024;              // idle upstream connections per replica and worker
  int64_t busy_poll_us = 50;                  // adaptive busy polling before blocking; 0 = off
  std::string io = "auto";                    // worker I/O back end: auto (io_uring, else epoll), uring, epoll

  // Not flags: the signalfd for SIGTERM/SIGINT/SIGHUP (off for in-process tests).
  bool handle_signals = true;
};

}  // namespace berth::proxy
