// Client: the CLI's connection to berthd's API — the unix socket (--socket, $BERTH_SOCKET,
// default /run/berth/berth.sock) or TCP ($BERTH_HOST=host:port with $BERTH_TOKEN).
// Synchronous: one request at a time.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "base/status.h"

namespace berth::cli {

struct Endpoint {
  std::string socket_path;  // used when host is empty
  std::string host;         // "127.0.0.1:7070"
  std::string token;
  std::string Describe() const;
};

// Flag, then $BERTH_HOST/$BERTH_TOKEN, then $BERTH_SOCKET, then the default socket.
Endpoint ResolveEndpoint(const std::string& socket_flag);

struct Response {
  int status = 0;
  nlohmann::json body;  // null if not JSON
  std::string raw;
};

class Client {
 public:
  explicit Client(Endpoint e) : e_(std::move(e)) {}

  // kUnavailable when berthd cannot be reached.
  StatusOr<Response> Call(const std::string& method, const std::string& target,
                          const nlohmann::json& body = nullptr);
  // Streams the response body to on_data until the server ends it or on_data returns
  // false. A non-2xx answer is returned as an error built from its JSON.
  Status Stream(const std::string& target, const std::function<bool(std::string_view)>& on_data);

 private:
  Endpoint e_;
};

// Status from an error response: code from the JSON, message plus diagnostics lines.
Status ErrorFromResponse(const Response& r);

// "a b/c" -> "a%20b%2Fc" for path segments and query values.
std::string UrlEncode(std::string_view s);

}  // namespace berth::cli
