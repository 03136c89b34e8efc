// MetricsWriter: Prometheus text exposition (format 0.0.4). Families get HELP and TYPE
// lines; label values are escaped (backslash, double quote, newline). A plain value.
// Used by berth-proxy's admin listener and berthd's /v1/metrics.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace berth {

class MetricsWriter {
 public:
  using Labels = std::initializer_list<std::pair<std::string_view, std::string_view>>;
  // Starts a family: "# HELP name help" and "# TYPE name type".
  void Family(std::string_view name, std::string_view type, std::string_view help);
  void Sample(std::string_view name, Labels labels, double value);
  void Sample(std::string_view name, Labels labels, uint64_t value);
  const std::string& text() const { return out_; }

  static std::string EscapeLabelValue(std::string_view v);

 private:
  void Head(std::string_view name, Labels labels);
  std::string out_;
};

}  // namespace berth
