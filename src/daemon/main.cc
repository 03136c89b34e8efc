// berthd: the control plane. Owns desired and observed state (SQLite), supervises
// replicas through the OCI runtime, and serves the API on a unix socket. Containers
// outlive it: berthd is their subreaper and adopts them again when it restarts.
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>

#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "api/autoscale_handlers.h"
#include "api/handlers.h"
#include "autoscaler/autoscaler.h"
#include "ingress/proxy_manager.h"
#include "api/server.h"
#include "base/fs.h"
#include "base/reaper.h"
#include "base/units.h"
#include "network/network.h"
#include "runtime/runtime.h"
#include "store/store.h"
#include "supervisor/supervisor.h"

#ifndef BERTH_VERSION
#define BERTH_VERSION "0.1.0"
#endif

namespace berth {
namespace {

struct Flags {
  std::string state_dir = "/var/lib/berth";
  std::string run_dir = "/run/berth";
  std::string socket;
  std::string listen;
  std::string token_file;
  std::string proxy_listen = "127.0.0.1:8080";
  std::string runtime = "runc";
  std::string domain = "localhost";
  std::string cgroup_parent;
  int64_t pids_limit = 1024;
  std::string backoff_base = "1s";
  std::string backoff_cap = "5m";
  std::string log_level = "info";
  std::string init_path;
  std::string subnet_pool = "10.89.0.0/16";
  int subnet_prefix = 24;
  std::string cni_path = "/usr/lib/cni";
  bool no_network = false;
  double reserve_cpus = 0;
  std::string reserve_memory = "0";
  std::string proxy_admin = "127.0.0.1:9090";
  std::string proxy_binary;
  int proxy_workers = 1;
  bool no_proxy = false;
  int workers = 4;
};

// What environments may reserve: the host's CPUs and memory minus what is kept back.
StatusOr<supervisor::Amount> HostCapacity(const Flags& f) {
  supervisor::Amount a;
  a.cpus = static_cast<double>(sysconf(_SC_NPROCESSORS_ONLN)) - f.reserve_cpus;
  auto meminfo = ReadFile("/proc/meminfo");
  if (!meminfo.ok()) return meminfo.status();
  long long kb = 0;
  if (sscanf(meminfo->c_str(), "MemTotal: %lld kB", &kb) != 1) return Internal("cannot read MemTotal");
  BERTH_ASSIGN_OR_RETURN(int64_t keep, ParseBytes(f.reserve_memory));
  a.memory = kb * 1024 - keep;
  if (a.cpus <= 0 || a.memory <= 0) return InvalidArgument("--reserve-cpus/--reserve-memory leave nothing for environments");
  return a;
}

uint64_t Fnv64(const std::string& s) {
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ULL;
  return h;
}

// berth-init and berth-proxy ship beside berthd.
std::string Beside(const std::string& name) {
  char buf[4096];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return "";
  std::string exe(buf, static_cast<size_t>(n));
  return exe.substr(0, exe.rfind('/')) + "/" + name;
}

// Containers of different daemons (tests run several) must not share cgroup paths.
std::string DefaultCgroupParent(const std::string& run_dir) {
  if (run_dir == "/run/berth") return "berth";
  uint64_t h = Fnv64(run_dir);
  char buf[32];
  snprintf(buf, sizeof buf, "berth-%08llx", static_cast<unsigned long long>(h & 0xffffffffULL));
  return buf;
}

// One berthd per state directory.
StatusOr<int> LockStateDir(const std::string& state_dir) {
  std::string path = state_dir + "/berthd.lock";
  int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return ErrnoStatus("open " + path);
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    auto pid = ReadFile(path);
    close(fd);
    return FailedPrecondition("another berthd (pid " + (pid.ok() ? *pid : std::string("?")) +
                              ") is using state dir " + state_dir);
  }
  std::string pid = std::to_string(getpid());
  if (ftruncate(fd, 0) != 0 || pwrite(fd, pid.data(), pid.size(), 0) < 0) {
    close(fd);
    return ErrnoStatus("write " + path);
  }
  return fd;
}

int RunDaemon(const Flags& f) {
  auto base = ParseDuration(f.backoff_base);
  auto cap = ParseDuration(f.backoff_cap);
  if (!base.ok() || !cap.ok()) {
    std::cerr << "berthd: --backoff-base/--backoff-cap: " << (!base.ok() ? base : cap).status().message() << "\n";
    return 2;
  }
  std::vector<std::string> warnings;
  std::string runtime_name = f.runtime;
  if (geteuid() != 0 && runtime_name != "process") {
    std::string w = "not running as root: runtime " + runtime_name +
                    " needs root, using --runtime process (no isolation, no limits)";
    spdlog::warn("{}", w);
    warnings.push_back(w);
    runtime_name = "process";
  }
  if (runtime_name == "process" && warnings.empty())
    warnings.push_back("runtime process: replicas are plain processes (no isolation, no limits)");
  std::string socket = f.socket.empty() ? f.run_dir + "/berth.sock" : f.socket;

  for (const auto& d : {f.state_dir, f.run_dir}) {
    if (Status s = MakeDirs(d, 0700); !s.ok()) {
      spdlog::error("{}", s.message());
      return 1;
    }
  }
  auto lock = LockStateDir(f.state_dir);
  if (!lock.ok()) {
    spdlog::error("{}", lock.status().message());
    return 1;
  }
  if (prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) spdlog::warn("cannot become a subreaper: {}", strerror(errno));

  if (!f.listen.empty() && f.token_file.empty()) {
    spdlog::error("--listen needs --token-file: the TCP API requires a token");
    return 2;
  }
  std::string token;
  if (!f.token_file.empty()) {
    auto t = ReadFile(f.token_file);
    if (!t.ok()) {
      spdlog::error("--token-file: {}", t.status().message());
      return 2;
    }
    token = *t;
    while (!token.empty() && (token.back() == '\n' || token.back() == ' ')) token.pop_back();
    if (token.size() < 16) {
      spdlog::error("--token-file: the token must be at least 16 characters");
      return 2;
    }
  }

  auto store = store::OpenSqliteStore(f.state_dir + "/berth.db");
  if (!store.ok()) {
    spdlog::error("{}", store.status().message());
    return 1;
  }
  runtime::RuntimeOptions ro;
  ro.name = runtime_name;
  ro.run_dir = f.run_dir;
  ro.state_dir = f.state_dir;
  ro.cgroup_parent = f.cgroup_parent.empty() ? DefaultCgroupParent(f.run_dir) : f.cgroup_parent;
  auto rt = runtime::NewRuntime(ro);
  if (!rt.ok()) {
    spdlog::error("{}", rt.status().message());
    return 1;
  }

  std::unique_ptr<network::Network> net;
  if ((*rt)->isolated() && !f.no_network) {
    auto pool = network::Cidr::Parse(f.subnet_pool);
    if (!pool.ok()) {
      spdlog::error("--subnet-pool: {}", pool.status().message());
      return 2;
    }
    network::NetworkOptions no;
    no.run_dir = f.run_dir;
    no.cni_path = f.cni_path;
    char inst[8];
    snprintf(inst, sizeof inst, "%04llx", static_cast<unsigned long long>(Fnv64(f.run_dir) & 0xffff));
    no.instance = inst;
    size_t colon = f.proxy_listen.rfind(':');
    no.ingress_port = colon == std::string::npos ? 8080 : std::atoi(f.proxy_listen.c_str() + colon + 1);
    if (colon != std::string::npos && colon > 0) no.ingress_host = f.proxy_listen.substr(0, colon);
    net = std::make_unique<network::Network>(no);
  }

  boost::asio::io_context io;
  SystemClock clock;
  supervisor::SupervisorOptions so;
  so.layout = {f.state_dir, f.run_dir};
  so.default_pids_limit = f.pids_limit;
  auto capacity = HostCapacity(f);
  if (!capacity.ok()) {
    spdlog::error("{}", capacity.status().message());
    return 2;
  }
  so.capacity = *capacity;
  so.init_path = f.init_path.empty() ? Beside("berth-init") : f.init_path;
  if (access(so.init_path.c_str(), X_OK) != 0) {
    spdlog::warn("no berth-init at {}: containers run their program as PID 1", so.init_path);
    so.init_path.clear();
  }
  so.backoff.base = *base;
  so.backoff.cap = *cap;
  so.worker_threads = f.workers;
  so.network = net.get();
  so.subnet_pool = f.subnet_pool;
  so.subnet_prefix = f.subnet_prefix;
  so.domain = f.domain;
  std::unique_ptr<ingress::ProxyManager> proxy;
  supervisor::Supervisor* sup_ptr = nullptr;
  if (!f.no_proxy) {
    ingress::ProxyManagerOptions po;
    po.binary = f.proxy_binary.empty() ? Beside("berth-proxy") : f.proxy_binary;
    po.listen = f.proxy_listen;
    po.admin = f.proxy_admin;
    po.workers = f.proxy_workers;
    po.control_path = f.run_dir + "/proxy.sock";
    po.routes_file = f.run_dir + "/proxy-routes.json";
    po.pid_file = f.run_dir + "/berth-proxy.pid";
    po.log_path = f.state_dir + "/berth-proxy.log";
    // RouteInputs points into the last ListEnvs() result, kept here until the next call.
    auto envs = std::make_shared<std::vector<supervisor::EnvView>>();
    proxy = std::make_unique<ingress::ProxyManager>(io, clock, po, [&sup_ptr, &f, envs] {
      ingress::RouteInputs in;
      in.domain = f.domain;
      if (!sup_ptr) return in;
      *envs = sup_ptr->ListEnvs();
      for (const auto& e : *envs) in.envs.push_back({e.rec.name, &e.project, e.rec.phase == "deleting"});
      in.replicas = sup_ptr->Replicas();
      in.draining = sup_ptr->Draining();
      return in;
    });
    ingress::ProxyManager* p = proxy.get();
    so.drain = [p](const std::string& id, const std::string& service, std::function<void()> done) {
      p->Drain(id, service, std::move(done));
    };
  }
  supervisor::Supervisor sup(io, **store, **rt, clock, so);
  sup_ptr = &sup;
  if (Status s = sup.Start(); !s.ok()) {
    spdlog::error("start: {}", s.message());
    return 1;
  }
  autoscaler::Autoscaler scaler(
      io, clock,
      [&sup] {
        std::vector<autoscaler::Target> out;
        for (const auto& t : sup.AutoscaleTargets()) {
          autoscaler::DeciderConfig c;
          c.min = t.min;
          c.max = t.max;
          c.limit = t.limit;
          c.target_utilization = t.target_utilization;
          c.idle = t.idle;
          c.stable_window = t.window;
          out.push_back({t.env + "/" + t.service, c, t.ready, t.current});
        }
        return out;
      },
      [&sup](const std::string& key, int n, const autoscaler::Decision& d) {
        size_t slash = key.find('/');
        sup.SetAutoscaled(key.substr(0, slash), key.substr(slash + 1), n, d.reason);
      });
  scaler.Start();
  if (proxy) {
    ingress::ProxyManager* p = proxy.get();
    sup.OnChange([p] { p->Changed(); });
    proxy->OnStats([&scaler](const proxy::StatsReport& r) {
      for (const auto& [key, s] : r.services) scaler.Record(key, s.avg_concurrency, s.avg_queued);
    });
    proxy->OnActivate([&scaler](const std::string& key, double queued) { scaler.Activate(key, queued); });
    if (Status s = proxy->Start(); !s.ok()) spdlog::error("ingress: {}", s.message());
  }

  api::DaemonInfo info{BERTH_VERSION, runtime_name, (*rt)->isolated(), f.state_dir, f.run_dir,
                       f.domain,      f.proxy_listen, warnings};
  api::Router router;
  api::AddRoutes(router, io, sup, **store, clock, info);
  api::AddAutoscaleRoutes(router, [&scaler] { return scaler.Views(); });
  api::ApiServer server(io, router, {socket, f.listen, token});
  if (Status s = server.Start(); !s.ok()) {
    spdlog::error("{}", s.message());
    return 1;
  }
  spdlog::info("berthd {} ready: socket {}, runtime {}, state {}", BERTH_VERSION, socket, runtime_name, f.state_dir);

  boost::asio::signal_set signals(io, SIGTERM, SIGINT);
  signals.async_wait([&](const boost::system::error_code&, int sig) {
    spdlog::info("signal {}: stopping (containers keep running)", sig);
    server.Stop();
    scaler.Stop();
    if (proxy) proxy->Shutdown();  // the proxy keeps serving: it outlives berthd
    sup.Shutdown();
    io.stop();
  });
  io.run();
  return 0;
}

}  // namespace
}  // namespace berth

int main(int argc, char** argv) {
  berth::ChildReaper::Get();  // blocks SIGCHLD before any other thread exists
  signal(SIGPIPE, SIG_IGN);
  berth::Flags f;
  CLI::App app{"berthd: the Berth control plane (API, supervisor, state)"};
  app.set_version_flag("--version", BERTH_VERSION);
  app.add_option("--state-dir", f.state_dir, "persistent state: database, volumes, secrets, logs")->capture_default_str();
  app.add_option("--run-dir", f.run_dir, "runtime state: socket, bundles, FIFOs")->capture_default_str();
  app.add_option("--socket", f.socket, "API unix socket (default RUN_DIR/berth.sock)");
  app.add_option("--listen", f.listen, "also serve the API on TCP HOST:PORT (needs --token-file)");
  app.add_option("--token-file", f.token_file, "file holding the bearer token for --listen");
  app.add_option("--proxy-listen", f.proxy_listen, "ingress proxy address")->capture_default_str();
  app.add_option("--runtime", f.runtime, "container runtime")
      ->check(CLI::IsMember({"runc", "crun", "process"}))
      ->capture_default_str();
  app.add_option("--domain", f.domain, "routes are SERVICE.ENV.DOMAIN")->capture_default_str();
  app.add_option("--cgroup-parent", f.cgroup_parent, "cgroup under which containers live (default derived from --run-dir)");
  app.add_option("--pids-limit", f.pids_limit, "default pids limit per container")->check(CLI::Range(16, 1 << 22))->capture_default_str();
  app.add_option("--backoff-base", f.backoff_base, "first restart delay")->capture_default_str();
  app.add_option("--backoff-cap", f.backoff_cap, "longest restart delay")->capture_default_str();
  app.add_option("--init-path", f.init_path, "berth-init binary run as PID 1 in containers (default: beside berthd)");
  app.add_option("--subnet-pool", f.subnet_pool, "addresses for environment networks")->capture_default_str();
  app.add_option("--subnet-size", f.subnet_prefix, "prefix length of each environment's subnet")
      ->check(CLI::Range(16, 28))
      ->capture_default_str();
  app.add_option("--cni-path", f.cni_path, "directory of the CNI plugins")->capture_default_str();
  app.add_flag("--no-network", f.no_network, "replicas share the host network (no per-environment networks)");
  app.add_option("--reserve-cpus", f.reserve_cpus, "CPUs kept back from environments (admission)")
      ->check(CLI::Range(0.0, 4096.0))
      ->capture_default_str();
  app.add_option("--reserve-memory", f.reserve_memory, "memory kept back from environments (admission)")
      ->capture_default_str();
  app.add_option("--proxy-admin", f.proxy_admin, "berth-proxy's metrics listener (\"\" disables)")
      ->capture_default_str();
  app.add_option("--proxy-workers", f.proxy_workers, "berth-proxy worker threads")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  app.add_option("--proxy-binary", f.proxy_binary, "berth-proxy to run (default: beside berthd)");
  app.add_flag("--no-proxy", f.no_proxy, "run no ingress proxy");
  app.add_option("--workers", f.workers, "threads for runtime calls")->check(CLI::Range(1, 64))->capture_default_str();
  app.add_option("--log-level", f.log_level, "debug, info, warn, error")
      ->check(CLI::IsMember({"debug", "info", "warn", "error"}))
      ->capture_default_str();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }
  auto logger = spdlog::stderr_color_mt("berthd");
  spdlog::set_default_logger(logger);
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
  spdlog::set_level(spdlog::level::from_str(f.log_level));
  return berth::RunDaemon(f);
}
