// ProxyManager: berthd's side of the ingress. It runs berth-proxy as its own process
// (started with setsid, so it outlives berthd; adopted again through the control socket
// when berthd restarts), restarts it with backoff when it dies, and keeps it fed: after
// every change of environments or replicas it builds the routing snapshot (routes.h),
// writes it to the routes file (a restarted proxy serves it before berthd reconnects)
// and pushes it over the control socket. Stats from the proxy go to the autoscaler; a
// replica leaving a service drains (no new requests, in-flight ones finish) first.
//
// Threading: the io_context's thread only.
#pragma once

#include <sys/types.h>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>

#include "base/clock.h"
#include "base/status.h"
#include "base/subprocess.h"
#include "ingress/routes.h"
#include "proxy/control.h"

namespace berth::ingress {

struct ProxyManagerOptions {
  std::string binary;        // berth-proxy
  std::string listen = "127.0.0.1:8080";
  std::string admin = "127.0.0.1:9090";
  std::string control_path;  // RUN_DIR/proxy.sock
  std::string routes_file;   // RUN_DIR/proxy-routes.json
  std::string pid_file;      // RUN_DIR/berth-proxy.pid
  std::string log_path;      // STATE_DIR/logs/berth-proxy.log
  int workers = 1;
  Millis drain_timeout{10'000};
};

class ProxyManager {
 public:
  using InputsFn = std::function<RouteInputs()>;
  using StatsFn = std::function<void(const proxy::StatsReport&)>;
  using ActivateFn = std::function<void(const std::string& service, double queued)>;

  ProxyManager(boost::asio::io_context& io, const Clock& clock, ProxyManagerOptions options, InputsFn inputs);
  ~ProxyManager();

  // Adopts a running proxy (its control socket answers) or starts one.
  Status Start();
  // Stops supervising; the proxy keeps serving (it outlives berthd on purpose).
  void Shutdown();

  // Something routes depend on changed: push a new snapshot soon (coalesced).
  void Changed();
  void OnStats(StatsFn f) { on_stats_ = std::move(f); }
  void OnActivate(ActivateFn f) { on_activate_ = std::move(f); }

  // Calls done() once the proxy routes no new requests to `replica_id` and its in-flight
  // requests finished (or drain_timeout passed). The caller keeps it in RouteInputs.draining.
  void Drain(const std::string& replica_id, const std::string& service, std::function<void()> done);

  pid_t pid() const { return pid_; }
  bool connected() const { return socket_ != nullptr; }

 private:
  struct Drainer {
    std::string service;
    uint64_t after_version = 0;  // routes without it are acked at this version
    bool acked = false;
    std::function<void()> done;
    std::unique_ptr<boost::asio::steady_timer> timer;
  };

  void Spawn();
  StatusOr<pid_t> Spawn_(const SpawnOptions& so);
  void WatchPid();
  void OnProxyExit();
  void Connect(int attempts_left);
  void ReadLoop();
  void OnMessage(const proxy::ControlMessage& m);
  void Disconnect();
  void PushNow();
  void Send(const std::string& line);
  void FinishDrain(const std::string& id);
  void CheckDrains(const proxy::StatsReport* stats);

  boost::asio::io_context& io_;
  const Clock& clock_;
  ProxyManagerOptions o_;
  InputsFn inputs_;
  StatsFn on_stats_;
  ActivateFn on_activate_;

  pid_t pid_ = 0;
  std::unique_ptr<boost::asio::posix::stream_descriptor> pidfd_;
  std::unique_ptr<boost::asio::local::stream_protocol::socket> socket_;
  proxy::LineFramer framer_;
  char buf_[65536];
  std::string out_;  // queued bytes while a write is in flight
  bool writing_ = false;
  boost::asio::steady_timer restart_timer_;
  boost::asio::steady_timer connect_timer_;
  int failures_ = 0;
  TimePoint started_at_{};
  bool push_pending_ = false;
  bool shut_down_ = false;
  std::string last_routes_;  // encoded routes of the last snapshot, without its version
  uint64_t version_ = 0;
  uint64_t acked_ = 0;
  std::map<std::string, Drainer> drains_;
};

}  // namespace berth::ingress
