#include "network/subnet.h"

#include <cstdio>

namespace berth::network {

std::string FormatIPv4(uint32_t a) {
  char buf[16];
  snprintf(buf, sizeof buf, "%u.%u.%u.%u", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255);
  return buf;
}

StatusOr<uint32_t> ParseIPv4(const std::string& text) {
  unsigned a, b, c, d;
  char tail;
  if (sscanf(text.c_str(), "%u.%u.%u.%u%c", &a, &b, &c, &d, &tail) != 4 || a > 255 || b > 255 || c > 255 ||
      d > 255)
    return InvalidArgument("invalid IPv4 address \"" + text + "\"");
  return (a << 24) | (b << 16) | (c << 8) | d;
}

StatusOr<Cidr> Cidr::Parse(const std::string& text) {
  size_t slash = text.find('/');
  if (slash == std::string::npos) return InvalidArgument("subnet \"" + text + "\" needs a /prefix");
  BERTH_ASSIGN_OR_RETURN(uint32_t addr, ParseIPv4(text.substr(0, slash)));
  std::string p = text.substr(slash + 1);
  if (p.empty() || p.size() > 2 || p.find_first_not_of("0123456789") != std::string::npos)
    return InvalidArgument("subnet \"" + text + "\" has a bad prefix");
  int prefix = std::stoi(p);
  if (prefix < 8 || prefix > 30) return InvalidArgument("subnet \"" + text + "\": prefix must be 8-30");
  uint32_t mask = prefix == 0 ? 0 : ~0u << (32 - prefix);
  if (addr & ~mask) return InvalidArgument("subnet \"" + text + "\" has host bits set");
  return Cidr{addr, prefix};
}

std::string Cidr::ToString() const { return FormatIPv4(addr) + "/" + std::to_string(prefix); }

bool Cidr::Contains(const Cidr& o) const {
  if (o.prefix < prefix) return false;
  uint32_t mask = ~0u << (32 - prefix);
  return (o.addr & mask) == addr;
}

bool Cidr::Overlaps(const Cidr& o) const { return Contains(o) || o.Contains(*this); }

std::string Cidr::Host(uint32_t n) const { return FormatIPv4(addr + n); }

StatusOr<Cidr> AllocateSubnet(const Cidr& pool, int prefix, const std::set<Cidr>& used) {
  if (prefix < pool.prefix || prefix > 30)
    return InvalidArgument("subnet size /" + std::to_string(prefix) + " does not fit pool " + pool.ToString());
  uint32_t step = 1u << (32 - prefix);
  uint64_t end = static_cast<uint64_t>(pool.addr) + pool.Size();
  for (uint64_t a = pool.addr; a < end; a += step) {
    Cidr c{static_cast<uint32_t>(a), prefix};
    bool clash = false;
    for (const auto& u : used) clash |= u.Overlaps(c);
    if (!clash) return c;
  }
  return ResourceExhausted("subnet pool " + pool.ToString() + " is full (" + std::to_string(used.size()) +
                           " environments); use a larger --subnet-pool");
}

}  // namespace berth::network
