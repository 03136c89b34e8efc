// The API's endpoints (v1), implemented over the Supervisor. The wire format is the
// contract the CLI and the web panel read; see docs/api.md.
//
//   GET    /v1/info
//   GET    /v1/envs                         POST /v1/envs  {source, base_dir, file, name, params,
//   GET    /v1/envs/{env}                                   variables, mode: create|update|apply,
//   DELETE /v1/envs/{env}?volumes=1                         wait, wait_timeout_ms}
//   POST   /v1/envs/{env}/services/{svc}/restart
//   POST   /v1/envs/{env}/services/{svc}/scale   {replicas}
//   GET    /v1/envs/{env}/secrets/{name}
//   GET    /v1/ps?env=
//   GET    /v1/logs/{env}/{svc}[/{n}]?follow=1&tail=N&timestamps=1
//   GET    /v1/stats?env=
//   GET    /v1/events?env=&after=&limit=&follow=1   (no after: the newest `limit`, 1000)
//   GET    /v1/autoscale?env=   GET /v1/metrics   (autoscale_handlers.h)
#pragma once

#include <string>

#include "api/server.h"
#include "store/store.h"
#include "supervisor/supervisor.h"

namespace berth::api {

struct DaemonInfo {
  std::string version;
  std::string runtime;
  bool isolated = true;
  std::string state_dir;
  std::string run_dir;
  std::string domain;
  std::string proxy_listen;
  std::vector<std::string> warnings;
};

nlohmann::json ReplicaJson(const store::ReplicaRecord& r, TimePoint now);

void AddRoutes(Router& router, boost::asio::io_context& io, supervisor::Supervisor& sup, store::Store& store,
               const Clock& clock, const DaemonInfo& info);

}  // namespace berth::api
