#include "api/server.h"

#include <sys/stat.h>
#include <unistd.h>

#include <deque>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <openssl/crypto.h>
#include <spdlog/spdlog.h>

namespace berth::api {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using local = asio::local::stream_protocol;

int HttpStatus(StatusCode code) {
  switch (code) {
    case StatusCode::kOk: return 200;
    case StatusCode::kInvalidArgument: return 400;
    case StatusCode::kNotFound: return 404;
    case StatusCode::kAlreadyExists:
    case StatusCode::kFailedPrecondition: return 409;
    case StatusCode::kResourceExhausted: return 507;
    case StatusCode::kUnavailable: return 503;
    case StatusCode::kDeadlineExceeded: return 504;
    case StatusCode::kPermissionDenied: return 403;
    case StatusCode::kUnimplemented: return 501;
    case StatusCode::kInternal: return 500;
  }
  return 500;
}

nlohmann::json ErrorJson(const Status& s) {
  return {{"error", {{"code", std::string(StatusCodeName(s.code()))}, {"message", s.message()}}}};
}

std::string PercentDecode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && isxdigit(static_cast<unsigned char>(s[i + 1])) &&
        isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      out += static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else if (s[i] == '+') {
      out += ' ';
    } else {
      out += s[i];
    }
  }
  return out;
}

std::map<std::string, std::string> ParseQuery(std::string_view q) {
  std::map<std::string, std::string> out;
  while (!q.empty()) {
    size_t amp = q.find('&');
    std::string_view kv = q.substr(0, amp);
    size_t eq = kv.find('=');
    if (!kv.empty())
      out[PercentDecode(kv.substr(0, eq))] = eq == std::string_view::npos ? "" : PercentDecode(kv.substr(eq + 1));
    if (amp == std::string_view::npos) break;
    q.remove_prefix(amp + 1);
  }
  return out;
}

void Router::Add(std::string method, std::string pattern, Handler h) {
  Route r{std::move(method), {}, std::move(h)};
  size_t i = 1;
  while (i <= pattern.size()) {
    size_t j = pattern.find('/', i);
    if (j == std::string::npos) j = pattern.size();
    r.parts.push_back(pattern.substr(i, j - i));
    i = j + 1;
  }
  routes_.push_back(std::move(r));
}

bool Router::Dispatch(Request& req, std::shared_ptr<Responder> resp, bool* method_mismatch) const {
  std::vector<std::string> segs;
  size_t i = 1;
  while (i <= req.path.size()) {
    size_t j = req.path.find('/', i);
    if (j == std::string::npos) j = req.path.size();
    segs.push_back(PercentDecode(req.path.substr(i, j - i)));
    i = j + 1;
  }
  *method_mismatch = false;
  for (const auto& r : routes_) {
    if (r.parts.size() != segs.size()) continue;
    std::vector<std::string> params;
    bool match = true;
    for (size_t k = 0; k < segs.size() && match; ++k) {
      if (r.parts[k] == "{}") {
        if (segs[k].empty()) match = false;
        else params.push_back(segs[k]);
      } else if (r.parts[k] != segs[k]) {
        match = false;
      }
    }
    if (!match) continue;
    if (r.method != req.method) {
      *method_mismatch = true;
      continue;
    }
    req.params = std::move(params);
    r.handler(req, std::move(resp));
    return true;
  }
  return false;
}

namespace {

template <typename Socket>
class Session : public std::enable_shared_from_this<Session<Socket>> {
 public:
  Session(Socket socket, const Router& router, const ServerOptions& o, bool need_token)
      : socket_(std::move(socket)), router_(router), o_(o), need_token_(need_token) {}

  void Run() { Read(); }

  // --- used by the responder ---
  void SendResponse(int status, const std::string& content_type, std::string body) {
    if (responded_) return;
    responded_ = true;
    auto res = std::make_shared<http::response<http::string_body>>(static_cast<http::status>(status), 11);
    res->set(http::field::server, "berthd");
    res->set(http::field::content_type, content_type);
    res->keep_alive(keep_alive_);
    res->body() = std::move(body);
    res->prepare_payload();
    auto self = this->shared_from_this();
    http::async_write(socket_, *res, [self, res](beast::error_code ec, size_t) {
      if (ec || !self->keep_alive_) return self->Close();
      self->Read();
    });
  }

  void StartStream(const std::string& content_type) {
    if (responded_) return;
    responded_ = true;
    streaming_ = true;
    Queue("HTTP/1.1 200 OK\r\nServer: berthd\r\nContent-Type: " + content_type +
          "\r\nTransfer-Encoding: chunked\r\nCache-Control: no-cache\r\nConnection: close\r\n\r\n");
    WatchClose();
  }

  bool WriteChunk(std::string data) {
    if (closed_) return false;
    if (data.empty()) return true;
    char hex[20];
    snprintf(hex, sizeof hex, "%zx\r\n", data.size());
    Queue(std::string(hex) + data + "\r\n");
    return true;
  }

  void EndStream() {
    if (closed_ || ended_) return;
    ended_ = true;
    Queue("0\r\n\r\n");
  }

  void OnClose(std::function<void()> f) {
    if (closed_) return f();
    on_close_.push_back(std::move(f));
  }

  bool closed() const { return closed_; }

 private:
  void Read() {
    parser_.emplace();
    parser_->body_limit(o_.max_body);
    parser_->header_limit(64 * 1024);
    responded_ = false;
    auto self = this->shared_from_this();
    http::async_read(socket_, buffer_, *parser_, [self](beast::error_code ec, size_t) {
      if (ec) {
        if (ec == http::error::body_limit) {
          self->keep_alive_ = false;
          return self->SendResponse(413, "application/json",
                                    ErrorJson(InvalidArgument("request body too large")).dump());
        }
        // A malformed request gets a 400; a peer that went away just ends the session.
        if (&ec.category() == &http::make_error_code(http::error::bad_target).category() &&
            ec != http::error::end_of_stream && ec != http::error::partial_message)
          return self->SendBadRequest(ec.message());
        return self->Close();
      }
      self->Handle();
    });
  }

  void SendBadRequest(const std::string& why) {
    keep_alive_ = false;
    SendResponse(400, "application/json", ErrorJson(InvalidArgument("bad request: " + why)).dump());
  }

  void Handle();

  void Queue(std::string s) {
    bool idle = queue_.empty();
    queue_.push_back(std::move(s));
    if (idle) WriteNext();
  }

  void WriteNext() {
    if (queue_.empty() || closed_) return;
    auto self = this->shared_from_this();
    asio::async_write(socket_, asio::buffer(queue_.front()), [self](beast::error_code ec, size_t) {
      if (ec) return self->Close();
      self->queue_.pop_front();
      if (self->queue_.empty() && self->ended_) return self->Close();
      self->WriteNext();
    });
  }

  // While streaming, a read completes only when the client goes away.
  void WatchClose() {
    auto self = this->shared_from_this();
    socket_.async_read_some(asio::buffer(scratch_), [self](beast::error_code ec, size_t) {
      if (ec) return self->Close();
      self->WatchClose();
    });
  }

  void Close() {
    if (closed_) return;
    closed_ = true;
    beast::error_code ec;
    socket_.shutdown(Socket::shutdown_both, ec);
    socket_.close(ec);
    auto cbs = std::move(on_close_);
    for (auto& f : cbs) f();
  }

  Socket socket_;
  const Router& router_;
  const ServerOptions& o_;
  bool need_token_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  bool keep_alive_ = true;
  bool responded_ = false;
  bool streaming_ = false;
  bool ended_ = false;
  bool closed_ = false;
  std::deque<std::string> queue_;
  std::vector<std::function<void()>> on_close_;
  char scratch_[256];
};

template <typename Socket>
class SessionResponder : public Responder {
 public:
  explicit SessionResponder(std::shared_ptr<Session<Socket>> s) : s_(std::move(s)) {}
  void Reply(int status, const nlohmann::json& body) override {
    s_->SendResponse(status, "application/json", body.dump() + "\n");
  }
  void ReplyError(const Status& status, const nlohmann::json& extra = nullptr) override {
    nlohmann::json j = ErrorJson(status);
    if (!extra.is_null())
      for (auto& [k, v] : extra.items()) j["error"][k] = v;
    s_->SendResponse(HttpStatus(status.code()), "application/json", j.dump() + "\n");
  }
  void StartStream(const std::string& content_type) override { s_->StartStream(content_type); }
  bool Write(std::string chunk) override { return s_->WriteChunk(std::move(chunk)); }
  void End() override { s_->EndStream(); }
  void OnClose(std::function<void()> f) override { s_->OnClose(std::move(f)); }

 private:
  std::shared_ptr<Session<Socket>> s_;
};

template <typename Socket>
void Session<Socket>::Handle() {
  auto& msg = parser_->get();
  keep_alive_ = msg.keep_alive();
  Request req;
  req.method = std::string(msg.method_string());
  std::string target(msg.target());
  size_t q = target.find('?');
  req.path = target.substr(0, q);
  if (q != std::string::npos) req.query = ParseQuery(std::string_view(target).substr(q + 1));
  req.body = std::move(msg.body());
  auto resp = std::make_shared<SessionResponder<Socket>>(this->shared_from_this());
  if (need_token_) {
    std::string auth(msg[http::field::authorization]);
    std::string want = "Bearer " + o_.token;
    if (o_.token.empty() || auth.size() != want.size() || CRYPTO_memcmp(auth.data(), want.data(), want.size()) != 0)
      return resp->ReplyError(PermissionDenied("missing or wrong token (set BERTH_TOKEN)"));
  }
  bool method_mismatch = false;
  if (!router_.Dispatch(req, resp, &method_mismatch)) {
    if (method_mismatch) return resp->ReplyError(Status(StatusCode::kInvalidArgument, "method not allowed"));
    resp->ReplyError(NotFound("no such endpoint: " + req.method + " " + req.path));
  }
}

template <typename Acceptor, typename Socket>
void Accept(Acceptor& acc, const Router& router, const ServerOptions& o, bool need_token) {
  acc.async_accept([&acc, &router, &o, need_token](beast::error_code ec, Socket s) {
    if (ec == asio::error::operation_aborted) return;
    if (!ec) std::make_shared<Session<Socket>>(std::move(s), router, o, need_token)->Run();
    Accept<Acceptor, Socket>(acc, router, o, need_token);
  });
}

}  // namespace

struct ApiServer::Impl {
  Impl(asio::io_context& io, const Router& r, ServerOptions o) : io(io), router(r), o(std::move(o)) {}
  asio::io_context& io;
  const Router& router;
  ServerOptions o;
  std::unique_ptr<local::acceptor> unix_acc;
  std::unique_ptr<tcp::acceptor> tcp_acc;
};

ApiServer::ApiServer(asio::io_context& io, const Router& router, ServerOptions options)
    : impl_(std::make_unique<Impl>(io, router, std::move(options))) {}

ApiServer::~ApiServer() { Stop(); }

Status ApiServer::Start() {
  auto& o = impl_->o;
  if (!o.socket_path.empty()) {
    unlink(o.socket_path.c_str());
    boost::system::error_code ec;
    auto acc = std::make_unique<local::acceptor>(impl_->io);
    acc->open(local(), ec);
    mode_t old = umask(0177);  // the socket is created 0600: only root may drive berthd
    if (!ec) acc->bind(local::endpoint(o.socket_path), ec);
    umask(old);
    if (!ec) acc->listen(asio::socket_base::max_listen_connections, ec);
    if (ec) return Unavailable("listen on " + o.socket_path + ": " + ec.message());
    chmod(o.socket_path.c_str(), 0600);
    impl_->unix_acc = std::move(acc);
    Accept<local::acceptor, local::socket>(*impl_->unix_acc, impl_->router, impl_->o, false);
  }
  if (!o.tcp_listen.empty()) {
    if (o.token.empty()) return InvalidArgument("--listen needs --token-file: the TCP API requires a token");
    size_t colon = o.tcp_listen.rfind(':');
    if (colon == std::string::npos) return InvalidArgument("--listen wants HOST:PORT, got " + o.tcp_listen);
    boost::system::error_code ec;
    auto addr = asio::ip::make_address(o.tcp_listen.substr(0, colon), ec);
    if (ec) return InvalidArgument("--listen: bad address " + o.tcp_listen);
    int port = std::atoi(o.tcp_listen.c_str() + colon + 1);
    auto acc = std::make_unique<tcp::acceptor>(impl_->io);
    tcp::endpoint ep(addr, static_cast<unsigned short>(port));
    acc->open(ep.protocol(), ec);
    if (!ec) acc->set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acc->bind(ep, ec);
    if (!ec) acc->listen(asio::socket_base::max_listen_connections, ec);
    if (ec) return Unavailable("listen on " + o.tcp_listen + ": " + ec.message());
    impl_->tcp_acc = std::move(acc);
    Accept<tcp::acceptor, tcp::socket>(*impl_->tcp_acc, impl_->router, impl_->o, true);
  }
  return OkStatus();
}

void ApiServer::Stop() {
  boost::system::error_code ec;
  if (impl_->unix_acc) {
    impl_->unix_acc->close(ec);
    impl_->unix_acc.reset();
  }
  if (impl_->tcp_acc) {
    impl_->tcp_acc->close(ec);
    impl_->tcp_acc.reset();
  }
}

}  // namespace berth::api
