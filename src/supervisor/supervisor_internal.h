// Private to the Supervisor's implementation files.
#pragma once

#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>

#include "supervisor/supervisor.h"

namespace berth::supervisor {

struct Supervisor::Replica {
  store::ReplicaRecord rec;
  bool busy = false;            // a runtime call is in flight
  bool stopping = false;        // we want it gone; after_stop runs once it is
  bool unhealthy_kill = false;  // the coming exit was caused by failed health checks
  bool prepared = false;        // standby: its container is created and waits for Start
  bool draining = false;        // the ingress sends it nothing new; stop follows
  std::vector<std::function<void()>> after_stop;
  uint64_t incarnation = 0;     // bumps per start: late callbacks of an earlier run are ignored
  std::unique_ptr<HealthTracker> health;
  spec::HealthCheck probe;      // what `health` probes (the service's check, or implicit readiness)
  std::unique_ptr<boost::asio::steady_timer> probe_timer;
  std::unique_ptr<boost::asio::steady_timer> grace_timer;
  std::unique_ptr<boost::asio::posix::stream_descriptor> pidfd;
  std::shared_ptr<LogSink> logs;
};

// SIGTERM-style name to number; SIGTERM when unknown (the spec validated it).
int SignalNumber(const std::string& name);

// Whether a started replica is "starting" until a probe succeeds: services with a health
// check, and exposed services (the proxy must not send traffic before they listen).
bool NeedsReadiness(const spec::Service& s);

// The tracker for a replica started at `started`: the service's health check (polled
// every 20 ms until first healthy when it is an HTTP/TCP probe and `fresh`), or for an
// exposed service without one, an implicit TCP readiness probe of its port. Sets *probe.
std::unique_ptr<HealthTracker> MakeHealthTracker(const spec::Service& s, TimePoint started, bool fresh,
                                                 spec::HealthCheck* probe);

}  // namespace berth::supervisor
