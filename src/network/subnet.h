// IPv4 subnets for environments: parsing CIDR text and allocating one subnet per
// environment from a pool (default 10.89.0.0/16 in /24s). Pure; thread-safe.
#pragma once

#include <cstdint>
#include <set>
#include <string>

#include "base/status.h"

namespace berth::network {

struct Cidr {
  uint32_t addr = 0;  // host byte order, network address (host bits zero)
  int prefix = 0;

  static StatusOr<Cidr> Parse(const std::string& text);  // "10.89.0.0/16"
  std::string ToString() const;
  uint32_t Size() const { return prefix == 0 ? 0 : (1u << (32 - prefix)); }
  bool Contains(const Cidr& other) const;
  bool Overlaps(const Cidr& other) const;
  // The n-th address in the subnet as text: Host(1) of 10.89.3.0/24 is "10.89.3.1".
  std::string Host(uint32_t n) const;
  bool operator<(const Cidr& o) const { return addr < o.addr || (addr == o.addr && prefix < o.prefix); }
  bool operator==(const Cidr& o) const = default;
};

std::string FormatIPv4(uint32_t addr);
StatusOr<uint32_t> ParseIPv4(const std::string& text);

// The lowest subnet of size /prefix inside `pool` that overlaps none of `used`.
// ResourceExhausted (naming the pool) when the pool is full.
StatusOr<Cidr> AllocateSubnet(const Cidr& pool, int prefix, const std::set<Cidr>& used);

}  // namespace berth::network
