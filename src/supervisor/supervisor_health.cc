// Health probes: scheduling, running (exec in the container, or TCP/HTTP from berthd),
// and acting on the result (an unhealthy replica is stopped and restarted).
#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

#include "supervisor/probe.h"
#include "supervisor/supervisor_internal.h"

namespace berth::supervisor {

namespace asio = boost::asio;

bool NeedsReadiness(const spec::Service& s) {
  return s.healthcheck.kind != spec::HealthKind::kNone || s.expose.has_value();
}

std::unique_ptr<HealthTracker> MakeHealthTracker(const spec::Service& s, TimePoint started, bool fresh,
                                                 spec::HealthCheck* probe) {
  constexpr Millis kFast{20}, kReadiness{10};
  const Millis fast_for = std::max(s.healthcheck.start_period, Millis(60'000));
  if (s.healthcheck.kind != spec::HealthKind::kNone) {
    *probe = s.healthcheck;
    bool cheap = s.healthcheck.kind == spec::HealthKind::kHttp || s.healthcheck.kind == spec::HealthKind::kTcp;
    return std::make_unique<HealthTracker>(*probe, started, fresh && cheap ? kFast : Millis(0), fast_for);
  }
  *probe = spec::HealthCheck{};
  if (s.expose && fresh) {
    probe->kind = spec::HealthKind::kTcp;
    probe->port = s.expose->port;
    probe->timeout = Millis(1000);
    return std::make_unique<HealthTracker>(*probe, started, kReadiness, Millis(600'000), /*readiness_only=*/true);
  }
  return std::make_unique<HealthTracker>(*probe, started);
}

void Supervisor::ScheduleProbe(Replica& r) {
  if (!r.health || r.health->status() == Health::kNone || shut_down_) return;
  auto delay = r.health->NextProbeAt() - clock_.Now();
  if (!r.probe_timer) r.probe_timer = std::make_unique<asio::steady_timer>(io_);
  r.probe_timer->expires_after(std::max(delay, Millis(0)));
  std::string id = r.rec.id;
  uint64_t inc = r.incarnation;
  r.probe_timer->async_wait([this, id, inc](const boost::system::error_code& ec) {
    if (!ec) RunProbe(id, inc);
  });
}

void Supervisor::RunProbe(const std::string& id, uint64_t inc) {
  auto it = replicas_.find(id);
  if (it == replicas_.end() || it->second->incarnation != inc || it->second->rec.state != "running") return;
  Replica& r = *it->second;
  const spec::HealthCheck& hc = r.probe;
  auto done = [this, id, inc](bool ok, std::string detail) { OnProbe(id, inc, ok, std::move(detail)); };
  std::string ip = r.rec.ip.empty() ? "127.0.0.1" : r.rec.ip;
  switch (hc.kind) {
    case spec::HealthKind::kNone:
      return;
    case spec::HealthKind::kTcp:
      return ProbeTcp(io_, ip, hc.port, hc.timeout, done);
    case spec::HealthKind::kHttp:
      return ProbeHttp(io_, ip, hc.port, hc.http_path, hc.timeout, done);
    case spec::HealthKind::kCmd:
    case spec::HealthKind::kCmdShell:
      asio::post(pool_, [this, id, inc, argv = hc.command, timeout = hc.timeout] {
        auto res = rt_.Exec(id, argv, timeout);
        bool ok = res.ok() && !res->timed_out && res->exit_code == 0;
        std::string detail = !res.ok()        ? res.status().message()
                             : res->timed_out ? "timed out"
                                              : "exit " + std::to_string(res->exit_code) + ": " + res->output;
        asio::post(io_, [this, id, inc, ok, detail = std::move(detail)]() mutable {
          OnProbe(id, inc, ok, std::move(detail));
        });
      });
      return;
  }
}

void Supervisor::OnProbe(const std::string& id, uint64_t inc, bool ok, std::string detail) {
  auto it = replicas_.find(id);
  if (it == replicas_.end() || it->second->incarnation != inc || !it->second->health) return;
  Replica& r = *it->second;
  if (r.rec.state != "running") return;
  if (detail.size() > 300) detail.resize(300);
  Health after = r.health->Record(ok, clock_.Now(), detail);
  // Compared with the record, not the tracker: an adopted replica keeps its status.
  if (HealthName(after) != r.rec.health && !(after == Health::kStarting && r.rec.health == "healthy")) {
    r.rec.health = HealthName(after);
    Persist(r);
    // A readiness-only probe (an exposed service without a health check) goes from
    // "starting" to "none": say what that means.
    std::string what = after == Health::kNone ? "ready: port " + std::to_string(r.probe.port) + " accepts"
                                              : std::string(HealthName(after));
    Event("health", r.rec, what + (ok ? "" : ": " + detail));
    Changed();
    Kick();
  }
  if (after == Health::kUnhealthy && !r.stopping) {
    Event("unhealthy", r.rec, "restarting: " + detail);
    Terminate(r, true);
    return;
  }
  ScheduleProbe(r);
}

}  // namespace berth::supervisor
