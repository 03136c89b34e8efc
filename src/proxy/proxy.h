// Proxy: the berth-proxy process. Owns the workers and runs the control thread:
//   - publishes route snapshots (from --route flags, --routes-file, or controllers) to
//     every worker as immutable RouteTables;
//   - serves the control socket (ControlServer) and the admin listener (AdminServer);
//   - sends the stats report to controllers every second;
//   - on SIGTERM/SIGINT drains: workers stop accepting, finish what is in flight
//     (--drain-timeout at most) and exit; SIGHUP reloads --routes-file.
// The data plane never waits for the control thread: if every controller disappears the
// workers keep the last snapshot.
//
// Thread-safety: Stop() may be called from any thread; everything else from the thread
// that called Start() (the control thread).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "base/status.h"
#include "proxy/admin.h"
#include "proxy/control.h"
#include "proxy/control_server.h"
#include "proxy/event_loop.h"
#include "proxy/proxy_config.h"
#include "proxy/route_table.h"
#include "proxy/stats.h"
#include "proxy/worker.h"

namespace berth::proxy {

// The snapshot the --route/--limit/--queue flags describe (version 0).
RouteSnapshot SnapshotFromFlags(const ProxyConfig& config);

class Proxy final : private ControlServer::Delegate, private AdminServer::Delegate {
 public:
  explicit Proxy(ProxyConfig config);
  ~Proxy();
  Proxy(const Proxy&) = delete;
  Proxy& operator=(const Proxy&) = delete;

  // Binds the listeners, loads the initial routes and starts the workers.
  Status Start();
  // Runs the control loop until a drain finishes; returns the exit code.
  int Run();
  // Begins the graceful drain (as SIGTERM does). Thread-safe.
  void Stop();

  // Validated elsewhere (ParseSnapshot); applies if newer than the served version.
  Status Apply(const RouteSnapshot& snapshot);

  int listen_port() const;
  int admin_port() const { return admin_ ? admin_->port() : 0; }
  uint64_t version() const { return version_; }

 private:
  class Signals;
  class Wakeup;
  class Ticker;

  std::string OnSnapshot(const RouteSnapshot& snapshot) override;
  uint64_t served_version() const override { return version_; }
  std::string Metrics() override;
  std::string Routes() override;

  Status LoadInitialRoutes();
  Status StartServices();
  void OnSignal(int sig);
  void Tick();
  void SendActivations();
  void ReloadRoutesFile();
  void BeginDrain();

  ProxyConfig config_;
  std::unique_ptr<EventLoop> loop_;
  WorkerGroup workers_;
  StateRegistry registry_;
  std::shared_ptr<const RouteTable> table_;
  RouteSnapshot snapshot_;
  bool have_table_ = false;
  uint64_t version_ = 0;
  uint64_t updates_ = 0;
  std::unique_ptr<ControlServer> control_;
  std::unique_ptr<AdminServer> admin_;
  StatsCollector stats_;
  std::unique_ptr<Signals> signals_;
  std::unique_ptr<Wakeup> wakeup_;
  std::unique_ptr<Ticker> ticker_;
  std::atomic<bool> stop_requested_{false};
  bool draining_ = false;
  bool started_ = false;
  int64_t drain_deadline_ms_ = 0;
};

}  // namespace berth::proxy
