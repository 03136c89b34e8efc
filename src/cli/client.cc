#include "cli/client.h"

#include <cstdlib>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace berth::cli {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

std::string Endpoint::Describe() const { return host.empty() ? socket_path : "http://" + host; }

Endpoint ResolveEndpoint(const std::string& socket_flag) {
  Endpoint e;
  if (!socket_flag.empty()) {
    e.socket_path = socket_flag;
    return e;
  }
  if (const char* h = getenv("BERTH_HOST"); h && *h) {
    e.host = h;
    if (e.host.rfind("http://", 0) == 0) e.host = e.host.substr(7);
    while (!e.host.empty() && e.host.back() == '/') e.host.pop_back();
    if (const char* t = getenv("BERTH_TOKEN")) e.token = t;
    return e;
  }
  if (const char* s = getenv("BERTH_SOCKET"); s && *s) {
    e.socket_path = s;
    return e;
  }
  e.socket_path = "/run/berth/berth.sock";
  return e;
}

std::string UrlEncode(std::string_view s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

Status ErrorFromResponse(const Response& r) {
  StatusCode code = StatusCode::kInternal;
  std::string message = "berthd answered HTTP " + std::to_string(r.status);
  if (r.body.is_object() && r.body.contains("error") && r.body["error"].is_object()) {
    const auto& e = r.body["error"];
    std::string c = e.value("code", "");
    for (int i = 0; i <= static_cast<int>(StatusCode::kPermissionDenied); ++i)
      if (StatusCodeName(static_cast<StatusCode>(i)) == c) code = static_cast<StatusCode>(i);
    message = e.value("message", message);
    if (e.contains("diagnostics") && e["diagnostics"].is_array() && !e["diagnostics"].empty()) {
      message.clear();
      for (const auto& d : e["diagnostics"]) {
        if (!message.empty()) message += "\n";
        message += d.get<std::string>();
      }
    }
  }
  return Status(code, message);
}

namespace {

template <typename Socket>
struct Conn {
  Socket socket;
  explicit Conn(asio::io_context& io) : socket(io) {}
};

http::request<http::string_body> MakeRequest(const Endpoint& e, const std::string& method, const std::string& target,
                                             const nlohmann::json& body) {
  http::request<http::string_body> req{http::string_to_verb(method), target, 11};
  req.set(http::field::host, e.host.empty() ? "berthd" : e.host);
  req.set(http::field::user_agent, "berth-cli");
  if (!e.token.empty()) req.set(http::field::authorization, "Bearer " + e.token);
  if (!body.is_null()) {
    req.set(http::field::content_type, "application/json");
    req.body() = body.dump();
  }
  req.prepare_payload();
  return req;
}

Status Unreachable(const Endpoint& e, const std::string& why) {
  std::string hint = e.host.empty() ? " (is berthd running? start it as root with `berthd`, or set --socket/BERTH_SOCKET)"
                                    : " (is berthd running with --listen? check BERTH_HOST)";
  return Unavailable("cannot reach berthd at " + e.Describe() + ": " + why + hint);
}

// Runs fn(stream) over a connected stream of the endpoint's kind.
template <typename Fn>
Status WithStream(const Endpoint& e, Fn&& fn) {
  asio::io_context io;
  beast::error_code ec;
  if (e.host.empty()) {
    asio::local::stream_protocol::socket s(io);
    s.connect(asio::local::stream_protocol::endpoint(e.socket_path), ec);
    if (ec) return Unreachable(e, ec.message());
    return fn(s);
  }
  size_t colon = e.host.rfind(':');
  if (colon == std::string::npos) return InvalidArgument("BERTH_HOST must be HOST:PORT, got " + e.host);
  asio::ip::tcp::resolver resolver(io);
  auto results = resolver.resolve(e.host.substr(0, colon), e.host.substr(colon + 1), ec);
  if (ec) return Unreachable(e, ec.message());
  asio::ip::tcp::socket s(io);
  asio::connect(s, results, ec);
  if (ec) return Unreachable(e, ec.message());
  return fn(s);
}

}  // namespace

StatusOr<Response> Client::Call(const std::string& method, const std::string& target, const nlohmann::json& body) {
  Response out;
  Status st = WithStream(e_, [&](auto& s) -> Status {
    beast::error_code ec;
    auto req = MakeRequest(e_, method, target, body);
    http::write(s, req, ec);
    if (ec) return Unreachable(e_, ec.message());
    beast::flat_buffer buf;
    http::response_parser<http::string_body> parser;
    parser.body_limit(256 << 20);
    http::read(s, buf, parser, ec);
    if (ec) return Unavailable("berthd closed the connection: " + ec.message());
    out.status = parser.get().result_int();
    out.raw = parser.get().body();
    out.body = nlohmann::json::parse(out.raw, nullptr, false);
    if (out.body.is_discarded()) out.body = nullptr;
    return OkStatus();
  });
  if (!st.ok()) return st;
  return out;
}

Status Client::Stream(const std::string& target, const std::function<bool(std::string_view)>& on_data) {
  return WithStream(e_, [&](auto& s) -> Status {
    beast::error_code ec;
    auto req = MakeRequest(e_, "GET", target, nullptr);
    http::write(s, req, ec);
    if (ec) return Unreachable(e_, ec.message());
    beast::flat_buffer buf;
    http::response_parser<http::buffer_body> parser;
    parser.body_limit(boost::none);
    http::read_header(s, buf, parser, ec);
    if (ec) return Unavailable("berthd closed the connection: " + ec.message());
    int status = parser.get().result_int();
    std::string error_body;
    char chunk[16384];
    while (!parser.is_done()) {
      parser.get().body().data = chunk;
      parser.get().body().size = sizeof chunk;
      http::read_some(s, buf, parser, ec);  // returns as soon as some body arrived
      if (ec == http::error::need_buffer) ec = {};
      if (ec) return Unavailable("stream ended: " + ec.message());
      size_t n = sizeof chunk - parser.get().body().size;
      if (status >= 300) {
        error_body.append(chunk, n);
      } else if (n && !on_data(std::string_view(chunk, n))) {
        return OkStatus();
      }
    }
    if (status >= 300) {
      Response r;
      r.status = status;
      r.raw = error_body;
      r.body = nlohmann::json::parse(error_body, nullptr, false);
      return ErrorFromResponse(r);
    }
    return OkStatus();
  });
}

}  // namespace berth::cli
