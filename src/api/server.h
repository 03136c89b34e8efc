// ApiServer: berthd's HTTP/1.1 JSON API (Boost.Beast) on a unix socket (mode 0600: root
// only) and optionally on TCP, where every request must carry `Authorization: Bearer
// <token>`. Requests are routed to handlers that may answer at once, later (an
// environment that is still starting), or as a stream (`logs -f`, `events -f`).
//
// Threading: runs on the io_context's thread; handlers are called on it.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <nlohmann/json.hpp>

#include "base/status.h"

namespace berth::api {

struct Request {
  std::string method;  // "GET", "POST", ...
  std::string path;    // without the query
  std::map<std::string, std::string> query;
  std::string body;
  std::vector<std::string> params;  // path segments captured by the route's "{}" parts
};

// How a handler answers. Exactly one of Reply/ReplyError/StartStream, once.
class Responder {
 public:
  virtual ~Responder() = default;
  virtual void Reply(int status, const nlohmann::json& body) = 0;
  virtual void ReplyError(const Status& status, const nlohmann::json& extra = nullptr) = 0;
  // Chunked text stream; Write returns false once the client has gone.
  virtual void StartStream(const std::string& content_type) = 0;
  virtual bool Write(std::string chunk) = 0;
  virtual void End() = 0;
  // Called (once) when the client disconnects before End().
  virtual void OnClose(std::function<void()> f) = 0;
};

using Handler = std::function<void(const Request&, std::shared_ptr<Responder>)>;

// HTTP status for a Status code (400, 404, 409, 500 ...).
int HttpStatus(StatusCode code);
nlohmann::json ErrorJson(const Status& status);

class Router {
 public:
  // pattern: "/v1/envs/{}/services/{}/restart"; each {} matches one non-empty segment.
  void Add(std::string method, std::string pattern, Handler h);
  // Returns false when no route matched (405 vs 404 decided by `method_mismatch`).
  bool Dispatch(Request& req, std::shared_ptr<Responder> r, bool* method_mismatch) const;

 private:
  struct Route {
    std::string method;
    std::vector<std::string> parts;
    Handler handler;
  };
  std::vector<Route> routes_;
};

struct ServerOptions {
  std::string socket_path;  // unix socket; created mode 0600
  std::string tcp_listen;   // "127.0.0.1:7070"; empty = none
  std::string token;        // required for TCP
  size_t max_body = 8 << 20;
};

class ApiServer {
 public:
  ApiServer(boost::asio::io_context& io, const Router& router, ServerOptions options);
  ~ApiServer();
  Status Start();
  void Stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// "a=1&b=x%20y" -> map (percent-decoded).
std::map<std::string, std::string> ParseQuery(std::string_view q);
std::string PercentDecode(std::string_view s);

}  // namespace berth::api
