// Autoscaler: the loop around the deciders. Once a second (and at once when the proxy
// reports requests waiting for a scaled-to-zero service) it feeds each autoscaled
// service's measured concurrency to its Decider and applies the decisions through a
// callback (the supervisor's desired count). Services without samples in a tick are
// recorded as idle, which is how scale-to-zero is reached.
//
// Threading: the io_context's thread only.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "autoscaler/decider.h"
#include "base/clock.h"

namespace berth::autoscaler {

struct Target {
  std::string key;  // "env/service"
  DeciderConfig config;
  int ready = 0;    // replicas ready now
  int current = 0;  // replicas wanted now
};

struct ServiceView {  // for metrics and `berth autoscale`
  std::string key;
  int desired = 0;
  int ready = 0;
  bool panic = false;
  double stable_demand = 0;
  double panic_demand = 0;
  double target = 0;
  std::string reason;
};

class Autoscaler {
 public:
  using TargetsFn = std::function<std::vector<Target>()>;
  using ApplyFn = std::function<void(const std::string& key, int desired, const Decision& why)>;

  Autoscaler(boost::asio::io_context& io, const Clock& clock, TargetsFn targets, ApplyFn apply,
             Millis tick = Millis(1000));
  void Start();
  void Stop();

  // A measurement for one service (the proxy's avg_concurrency and avg_queued).
  void Record(const std::string& key, double in_flight, double queued);
  // Requests are waiting for a service with no ready replica: decide for it now.
  void Activate(const std::string& key, double queued);

  std::vector<ServiceView> Views() const;

 private:
  void Tick();
  void DecideOne(const Target& t, TimePoint now);

  const Clock& clock_;
  TargetsFn targets_;
  ApplyFn apply_;
  Millis tick_;
  boost::asio::steady_timer timer_;
  bool stopped_ = false;
  struct State {
    Decider decider{DeciderConfig{}};
    bool sampled = false;  // a measurement arrived since the last tick
    Decision last;
    int ready = 0;
    bool decided = false;  // an autoscaled service (stats also arrive for fixed ones)
  };
  std::map<std::string, State> states_;
};

}  // namespace berth::autoscaler
