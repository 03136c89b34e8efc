#include "base/prometheus.h"

#include <cstdio>

namespace berth {

std::string MetricsWriter::EscapeLabelValue(std::string_view v) {
  std::string s;
  s.reserve(v.size());
  for (char c : v) {
    if (c == '\\') {
      s += "\\\\";
    } else if (c == '"') {
      s += "\\\"";
    } else if (c == '\n') {
      s += "\\n";
    } else {
      s += c;
    }
  }
  return s;
}

void MetricsWriter::Family(std::string_view name, std::string_view type, std::string_view help) {
  out_.append("# HELP ").append(name).append(" ").append(help).append("\n");
  out_.append("# TYPE ").append(name).append(" ").append(type).append("\n");
}

void MetricsWriter::Head(std::string_view name, Labels labels) {
  out_.append(name);
  if (labels.size() > 0) {
    out_ += '{';
    bool first = true;
    for (const auto& [k, v] : labels) {
      if (!first) out_ += ',';
      first = false;
      out_.append(k).append("=\"").append(EscapeLabelValue(v)).append("\"");
    }
    out_ += '}';
  }
  out_ += ' ';
}

void MetricsWriter::Sample(std::string_view name, Labels labels, uint64_t value) {
  Head(name, labels);
  out_.append(std::to_string(value)).append("\n");
}

void MetricsWriter::Sample(std::string_view name, Labels labels, double value) {
  Head(name, labels);
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.6f", value);
  out_.append(buf).append("\n");
}

}  // namespace berth
