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
  std::vector<std::function<void()>> after_stop;
  uint64_t incarnation = 0;     // bumps per start: late callbacks of an earlier run are ignored
  std::unique_ptr<HealthTracker> health;
  std::unique_ptr<boost::asio::steady_timer> probe_timer;
  std::unique_ptr<boost::asio::steady_timer> grace_timer;
  std::unique_ptr<boost::asio::posix::stream_descriptor> pidfd;
  std::shared_ptr<LogSink> logs;
};

// SIGTERM-style name to number; SIGTERM when unknown (the spec validated it).
int SignalNumber(const std::string& name);

}  // namespace berth::supervisor
