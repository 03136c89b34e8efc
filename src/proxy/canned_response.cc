#include "proxy/canned_response.h"

#include <array>
#include <string>

namespace berth::proxy {

namespace {

struct Entry {
  int status;
  const char* reason;
  const char* body;
  bool retry_after;
};

constexpr Entry kEntries[] = {
    {400, "Bad Request", "bad request\n", false},
    {404, "Not Found", "no route for this host\n", false},
    {405, "Method Not Allowed", "method not allowed\n", false},
    {408, "Request Timeout", "request header timeout\n", false},
    {413, "Content Too Large", "request body too large\n", false},
    {414, "URI Too Long", "request line too long\n", false},
    {429, "Too Many Requests",
     "too many requests: the service is at its concurrency limit and its queue is full\n", true},
    {431, "Request Header Fields Too Large", "request header fields too large\n", false},
    {500, "Internal Server Error", "internal proxy error\n", false},
    {502, "Bad Gateway", "upstream connection failed\n", false},
    {503, "Service Unavailable", "no ready replica for this service\n", true},
    {504, "Gateway Timeout", "upstream timed out\n", false},
    {505, "HTTP Version Not Supported", "HTTP version not supported\n", false},
};
constexpr size_t kCount = sizeof(kEntries) / sizeof(kEntries[0]);

std::string Build(const Entry& e, bool close) {
  std::string body = e.body;
  std::string s = "HTTP/1.1 " + std::to_string(e.status) + " " + e.reason + "\r\n";
  s += "Content-Type: text/plain; charset=utf-8\r\n";
  s += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  if (e.retry_after) s += "Retry-After: 1\r\n";
  s += "Via: 1.1 berth\r\n";
  if (close) s += "Connection: close\r\n";
  s += "\r\n";
  return s + body;
}

struct Table {
  std::array<std::string, kCount> keep;
  std::array<std::string, kCount> close;
  Table() {
    for (size_t i = 0; i < kCount; ++i) {
      keep[i] = Build(kEntries[i], false);
      close[i] = Build(kEntries[i], true);
    }
  }
};

}  // namespace

std::string_view CannedResponse(int status, bool close) {
  static const Table table;
  size_t fallback = 0;
  for (size_t i = 0; i < kCount; ++i) {
    if (kEntries[i].status == status) return close ? table.close[i] : table.keep[i];
    if (kEntries[i].status == 500) fallback = i;
  }
  return close ? table.close[fallback] : table.keep[fallback];
}

}  // namespace berth::proxy
