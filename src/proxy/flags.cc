#include "proxy/flags.h"

#include <charconv>
#include <string_view>

#include "base/units.h"
#include "proxy/control.h"

namespace berth::proxy {

namespace {

Status ParseUint(std::string_view flag, std::string_view v, uint64_t max, uint64_t* out) {
  uint64_t x = 0;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), x);
  if (ec != std::errc() || end != v.data() + v.size() || v.empty() || x > max) {
    return InvalidArgument(std::string(flag) + ": expected an integer from 0 to " + std::to_string(max) +
                           ", got \"" + std::string(v) + "\"");
  }
  *out = x;
  return OkStatus();
}

Status ParseMillis(std::string_view flag, std::string_view v, bool allow_zero, int64_t* out) {
  auto d = ParseDuration(v);
  if (!d.ok()) return InvalidArgument(std::string(flag) + ": " + d.status().message());
  if (d->count() < 0 || (!allow_zero && d->count() == 0)) {
    return InvalidArgument(std::string(flag) + ": must be positive");
  }
  *out = d->count();
  return OkStatus();
}

Status ParseRouteFlag(std::string_view v, StandaloneRoute* r) {
  size_t eq = v.find('=');
  if (eq == std::string_view::npos || eq == 0 || eq + 1 == v.size()) {
    return InvalidArgument("--route: expected HOST=UPSTREAM[,UPSTREAM...], got \"" + std::string(v) + "\"");
  }
  r->host = std::string(v.substr(0, eq));
  std::string_view rest = v.substr(eq + 1);
  while (!rest.empty()) {
    size_t comma = rest.find(',');
    std::string_view u = rest.substr(0, comma);
    uint32_t ip;
    uint16_t port;
    Status st = ParseIpv4Address(u, &ip, &port);
    if (!st.ok()) return InvalidArgument("--route " + r->host + ": " + st.message());
    r->upstreams.emplace_back(u);
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  return OkStatus();
}

Status Apply(ProxyConfig* c, std::string_view flag, std::string_view v) {
  uint64_t n = 0;
  if (flag == "--listen") {
    c->listen = v;
  } else if (flag == "--route") {
    StandaloneRoute r;
    BERTH_RETURN_IF_ERROR(ParseRouteFlag(v, &r));
    c->routes.push_back(std::move(r));
  } else if (flag == "--limit") {
    BERTH_RETURN_IF_ERROR(ParseUint(flag, v, 1'000'000, &n));
    c->limit = static_cast<uint32_t>(n);
  } else if (flag == "--queue") {
    BERTH_RETURN_IF_ERROR(ParseUint(flag, v, 1'000'000, &n));
    c->queue = static_cast<uint32_t>(n);
  } else if (flag == "--busy-poll-us") {
    BERTH_RETURN_IF_ERROR(ParseUint(flag, v, 10'000, &n));
    c->busy_poll_us = static_cast<int64_t>(n);
  } else if (flag == "--io") {
    if (v != "auto" && v != "uring" && v != "epoll")
      return InvalidArgument("--io: want auto, uring or epoll");
    c->io = v;
  } else if (flag == "--workers") {
    BERTH_RETURN_IF_ERROR(ParseUint(flag, v, 256, &n));
    c->workers = static_cast<uint32_t>(n);
  } else if (flag == "--admin") {
    c->admin = v;
  } else if (flag == "--control") {
    c->control_path = v;
  } else if (flag == "--routes-file") {
    c->routes_file = v;
  } else if (flag == "--max-body") {
    auto b = ParseBytes(v);
    if (!b.ok()) return InvalidArgument("--max-body: " + b.status().message());
    c->max_body = static_cast<uint64_t>(*b);
  } else if (flag == "--queue-timeout") {
    return ParseMillis(flag, v, false, &c->queue_timeout_ms);
  } else if (flag == "--header-timeout") {
    return ParseMillis(flag, v, false, &c->header_timeout_ms);
  } else if (flag == "--upstream-timeout") {
    return ParseMillis(flag, v, false, &c->upstream_timeout_ms);
  } else if (flag == "--idle-timeout") {
    return ParseMillis(flag, v, false, &c->idle_timeout_ms);
  } else if (flag == "--pool-idle") {
    return ParseMillis(flag, v, false, &c->pool_idle_ms);
  } else if (flag == "--tunnel-idle") {
    return ParseMillis(flag, v, false, &c->tunnel_idle_ms);
  } else if (flag == "--drain-timeout") {
    return ParseMillis(flag, v, false, &c->drain_timeout_ms);
  } else {
    return InvalidArgument("unknown flag " + std::string(flag) + " (see --help)");
  }
  return OkStatus();
}

}  // namespace

std::string Usage() {
  return R"(usage: berth-proxy --listen ADDR --route HOST=UPSTREAM[,UPSTREAM...] [options]
       berth-proxy --listen ADDR --control PATH [--routes-file PATH] [options]

Berth's ingress proxy: routes by Host header to upstream replicas with a per-replica
concurrency limit, a bounded FIFO queue per service (429 + Retry-After beyond it) and
least-outstanding-requests balancing.

  --listen ADDR            client listener, IPv4 HOST:PORT (default 127.0.0.1:8080)
  --route HOST=UP[,UP...]  standalone route (repeatable); HOST "*" matches any host;
                           UP is HOST:PORT (IPv4 literal or localhost)
  --limit N                requests in flight per upstream, 0 = unlimited (default 0)
  --queue M                requests waiting per route when all are full (default 0)
  --queue-timeout D        longest wait in the queue, then 503 (default 10s)
  --workers N              worker threads, each with its own event loop (default: CPUs)
  --admin ADDR             metrics listener (default 127.0.0.1:9090; "" disables)
  --control PATH           unix socket for berthd's route snapshots (docs/proxy-control.md)
  --routes-file PATH       snapshot to serve at start (and on SIGHUP)
  --max-body SIZE          largest request body, else 413 (default 1G; 0 = no limit)
  --header-timeout D       request head must arrive within this (default 10s), else 408
  --upstream-timeout D     upstream silence while a response is due (default 60s), else 504
  --idle-timeout D         keep-alive client connection idle time (default 60s)
  --pool-idle D            idle upstream connection lifetime; keep it below the
                           upstream's keep-alive timeout (default 1.5s)
  --tunnel-idle D          WebSocket/upgraded connection idle time (default 1h)
  --drain-timeout D        on SIGTERM, time to finish requests in flight (default 15s)
  --io auto|uring|epoll    workers' I/O: io_uring (one system call per batch of socket
                           operations) or epoll; auto takes io_uring where the kernel
                           allows it, else epoll (default auto)
  --busy-poll-us N         epoll: poll up to N microseconds before sleeping while traffic
                           is dense (adaptive; saves a wake-up per batch); 0 = off (default 50)
  --help                   this text

Durations: 500ms, 10s, 1m (a bare number is seconds). Exit status 2 on usage errors.
)";
}

StatusOr<Flags> ParseFlags(int argc, const char* const* argv) {
  Flags f;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "--help" || a == "-h") {
      f.help = true;
      return f;
    }
    if (!a.starts_with("--"))
      return InvalidArgument("unexpected argument \"" + std::string(a) + "\" (see --help)");
    std::string_view flag = a;
    std::string_view value;
    size_t eq = a.find('=');
    if (eq != std::string_view::npos) {
      flag = a.substr(0, eq);
      value = a.substr(eq + 1);
    } else {
      if (i + 1 >= argc) return InvalidArgument(std::string(a) + " needs a value");
      value = argv[++i];
    }
    BERTH_RETURN_IF_ERROR(Apply(&f.config, flag, value));
  }
  if (f.config.routes.empty() && f.config.control_path.empty() && f.config.routes_file.empty()) {
    return InvalidArgument("nothing to route: give --route, --control or --routes-file (see --help)");
  }
  if (!f.config.routes.empty() && !f.config.routes_file.empty()) {
    return InvalidArgument("--route and --routes-file cannot be combined");
  }
  return f;
}

}  // namespace berth::proxy
