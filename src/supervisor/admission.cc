#include "supervisor/admission.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "base/units.h"

namespace berth::supervisor {
namespace {

std::string Cpus(double c) {
  char buf[32];
  snprintf(buf, sizeof buf, "%.2f", c);
  std::string s = buf;
  while (s.back() == '0') s.pop_back();
  if (s.back() == '.') s.pop_back();
  return s;
}

constexpr double kEps = 1e-9;

}  // namespace

Amount ServiceReservation(const spec::Service& s) {
  Amount a;
  a.cpus = s.reservations.cpus > 0 ? s.reservations.cpus : s.limits.cpus;
  a.memory = s.reservations.memory_bytes > 0 ? s.reservations.memory_bytes : s.limits.memory_bytes;
  return a;
}

Amount ServicesReservation(const spec::Project& p, const std::map<std::string, int>& replicas) {
  Amount total;
  for (const auto& [name, s] : p.services) {
    auto it = replicas.find(name);
    int n = it != replicas.end() ? it->second : s.replicas;
    Amount one = ServiceReservation(s);
    total.cpus += one.cpus * n;
    total.memory += one.memory * n;
  }
  return total;
}

Amount EnvReservation(const spec::Project& p, const std::map<std::string, int>& replicas) {
  Amount services = ServicesReservation(p, replicas);
  Amount a = services;
  if (p.quota.cpus > 0) a.cpus = p.quota.cpus;
  if (p.quota.memory_bytes > 0) a.memory = p.quota.memory_bytes;
  return a;
}

Status CheckQuota(const spec::Project& p, const std::map<std::string, int>& replicas) {
  Amount need = ServicesReservation(p, replicas);
  if (p.quota.cpus > 0 && need.cpus > p.quota.cpus + kEps)
    return InvalidArgument("environment " + p.name + ": its services reserve " + Cpus(need.cpus) +
                           " CPUs but x-berth.quota allows " + Cpus(p.quota.cpus));
  if (p.quota.memory_bytes > 0 && need.memory > p.quota.memory_bytes)
    return InvalidArgument("environment " + p.name + ": its services reserve " + FormatBytes(need.memory) +
                           " of memory but x-berth.quota allows " + FormatBytes(p.quota.memory_bytes));
  return OkStatus();
}

Status Admit(const Amount& total, const Amount& others, const Amount& wanted, const std::string& env) {
  double free_cpu = total.cpus - others.cpus;
  int64_t free_mem = total.memory - others.memory;
  if (wanted.cpus > kEps && wanted.cpus > free_cpu + kEps)
    return ResourceExhausted("environment " + env + " does not fit: it reserves " + Cpus(wanted.cpus) +
                             " CPUs, " + Cpus(std::max(0.0, free_cpu)) + " of " + Cpus(total.cpus) +
                             " are free (see `berth capacity`)");
  if (wanted.memory > 0 && wanted.memory > free_mem)
    return ResourceExhausted("environment " + env + " does not fit: it reserves " + FormatBytes(wanted.memory) +
                             " of memory, " + FormatBytes(std::max<int64_t>(0, free_mem)) + " of " +
                             FormatBytes(total.memory) + " are free (see `berth capacity`)");
  return OkStatus();
}

int HowManyFit(const Amount& free, const Amount& each, std::string* limited_by) {
  constexpr int kMany = 1'000'000;
  int by_cpu = each.cpus > kEps ? static_cast<int>(std::floor(std::max(0.0, free.cpus) / each.cpus + kEps)) : kMany;
  int by_mem = each.memory > 0 ? static_cast<int>(std::max<int64_t>(0, free.memory) / each.memory) : kMany;
  if (limited_by) *limited_by = by_cpu == kMany && by_mem == kMany ? "" : by_cpu <= by_mem ? "cpus" : "memory";
  return std::min(by_cpu, by_mem);
}

}  // namespace berth::supervisor
