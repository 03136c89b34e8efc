// Admission: whether an environment fits on the host, decided before anything of it is
// created. Pure.
//
// What an environment reserves: its x-berth.quota when it has one, else the sum over
// services of replicas x (deploy.resources.reservations, or the limits when no
// reservation is given — Kubernetes' rule for requests). Services without either reserve
// nothing: admission is opt-in per service. Replicas are the desired count at admission
// time (scale.min for autoscaled services).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "base/status.h"
#include "spec/model.h"

namespace berth::supervisor {

struct Amount {
  double cpus = 0;
  int64_t memory = 0;
  Amount& operator+=(const Amount& o) {
    cpus += o.cpus;
    memory += o.memory;
    return *this;
  }
};

// Per service: reservations, or limits where no reservation is set.
Amount ServiceReservation(const spec::Service& s);
// The services' sum (ignoring the quota).
Amount ServicesReservation(const spec::Project& p, const std::map<std::string, int>& replicas);
// What admission counts: the quota if set, else ServicesReservation.
Amount EnvReservation(const spec::Project& p, const std::map<std::string, int>& replicas);

// InvalidArgument when the services reserve more than the environment's own quota.
Status CheckQuota(const spec::Project& p, const std::map<std::string, int>& replicas);

// ResourceExhausted naming the resource when `wanted` does not fit next to `others`
// within `total`: "environment alice needs 0.5 CPUs, 0.3 of 2 are free".
Status Admit(const Amount& total, const Amount& others, const Amount& wanted, const std::string& env);

// How many more environments reserving `each` fit into `free` (a large number when
// `each` reserves nothing), and which resource limits it ("cpus", "memory" or "").
int HowManyFit(const Amount& free, const Amount& each, std::string* limited_by);

}  // namespace berth::supervisor
