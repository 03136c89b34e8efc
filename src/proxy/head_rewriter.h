// Rewriting of forwarded message heads (RFC 9110 7.6, RFC 9112): pure functions from a
// parsed MessageHead to the bytes sent on the other side.
//
// Requests (client -> upstream): always HTTP/1.1; hop-by-hop fields are dropped
// (Connection, Keep-Alive, Proxy-Connection, TE, Trailer, Transfer-Encoding, Upgrade, and
// every field the Connection header names); a chunked body is re-framed by the proxy, so
// "Transfer-Encoding: chunked" is written fresh; an upgrade keeps exactly "Connection:
// upgrade" and its Upgrade field; X-Forwarded-For gets the client address appended,
// X-Forwarded-Proto and X-Forwarded-Host are set (never trusted from the client), Via
// gets "1.1 berth" appended. Host is kept as the client sent it.
// Responses (upstream -> client): the same hop-by-hop removal, Via appended, framing
// and Connection written for the client connection.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string_view>

#include "proxy/http_parser.h"
#include "proxy/out_queue.h"

namespace berth::proxy {

enum class HeaderKind : uint8_t {
  kOther,
  kHost,
  kConnection,
  kKeepAlive,
  kProxyConnection,
  kTe,
  kTrailer,
  kTransferEncoding,
  kUpgrade,
  kXForwardedFor,
  kXForwardedProto,
  kXForwardedHost,
  kVia,
  kExpect,
  kNamedByConnection,  // listed in a Connection header: hop-by-hop too
};

HeaderKind ClassifyHeaderName(std::string_view name);

// What the proxy needs to know about one head, found in one pass over its fields.
struct HeadInfo {
  static constexpr int kMaxConnectionTokens = 16;
  HeaderKind kinds[MessageHead::kMaxHeaders];
  std::string_view host;     // the Host value (requests), empty if absent
  std::string_view upgrade;  // the Upgrade value, when the message upgrades
  int host_count = 0;
  bool connection_close = false;
  bool expect_continue = false;
  uint32_t xff_bytes = 0;  // total length of X-Forwarded-For values
  uint32_t via_bytes = 0;
  uint32_t field_bytes = 0;  // names + values of all fields
};

// Fills `info`. Returns 0, or the status to answer a bad request with (400: several
// Host fields, a Host with whitespace or control bytes).
int ClassifyHead(const MessageHead& head, const char* base, HeadInfo* info);

struct RequestForwarding {
  std::string_view client_addr;     // appended to X-Forwarded-For
  std::string_view proto = "http";  // X-Forwarded-Proto
  std::string_view default_host;    // Host to send when an HTTP/1.0 client sent none
  std::string_view url;             // request target to send (origin-form)
};

// Appends the upstream request head.
void WriteUpstreamRequest(const MessageHead& head, const char* base, const HeadInfo& info,
                          const RequestForwarding& fwd, OutQueue* out);

struct ResponseForwarding {
  bool chunked = false;        // "Transfer-Encoding: chunked" (body re-framed)
  bool close = false;          // "Connection: close": the proxy closes after it
  bool keep_alive_10 = false;  // "Connection: keep-alive" for an HTTP/1.0 client
  bool upgrade = false;        // 101: keep Upgrade, write "Connection: upgrade"
};

// Appends the client response head (final, 101 or interim 1xx).
void WriteClientResponse(const MessageHead& head, const char* base, const HeadInfo& info,
                         const ResponseForwarding& fwd, OutQueue* out);

// Splits an absolute-form target ("http://host:port/path?q") into authority and
// origin-form; returns false for other forms, and for a query without a path
// ("http://host?q": no origin-form to forward without a copy; the proxy answers 400).
bool SplitAbsoluteUrl(std::string_view url, std::string_view* authority, std::string_view* origin);

// Lower-cases `host`, drops a trailing ":port" and a trailing dot, into `out` (at least
// 256 bytes); returns the length, or -1 when it cannot be a host name.
int NormalizeHost(std::string_view host, char* out, size_t cap);

}  // namespace berth::proxy
