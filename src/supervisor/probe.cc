#include "supervisor/probe.h"

#include <memory>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

namespace berth::supervisor {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

struct Probe : std::enable_shared_from_this<Probe> {
  Probe(asio::io_context& io, ProbeCallback cb) : socket(io), timer(io), done(std::move(cb)) {}
  tcp::socket socket;
  asio::steady_timer timer;
  ProbeCallback done;
  std::string request;
  std::string response;
  char buf[512];
  bool finished = false;

  void Finish(bool ok, std::string detail) {
    if (finished) return;
    finished = true;
    boost::system::error_code ec;
    timer.cancel();
    socket.close(ec);
    done(ok, std::move(detail));
  }

  void Start(const std::string& ip, int port, Millis timeout) {
    boost::system::error_code ec;
    auto addr = asio::ip::make_address(ip, ec);
    if (ec) return Finish(false, "bad address " + ip);
    auto self = shared_from_this();
    timer.expires_after(timeout);
    timer.async_wait([self](const boost::system::error_code& e) {
      if (!e) self->Finish(false, "timed out");
    });
    socket.async_connect(tcp::endpoint(addr, static_cast<unsigned short>(port)),
                         [self, port](const boost::system::error_code& e) {
                           if (e) return self->Finish(false, "connect :" + std::to_string(port) + ": " + e.message());
                           if (self->request.empty()) return self->Finish(true, "connected");
                           self->Send();
                         });
  }

  void Send() {
    auto self = shared_from_this();
    asio::async_write(socket, asio::buffer(request), [self](const boost::system::error_code& e, size_t) {
      if (e) return self->Finish(false, "send: " + e.message());
      self->Read();
    });
  }

  void Read() {
    auto self = shared_from_this();
    socket.async_read_some(asio::buffer(buf), [self](const boost::system::error_code& e, size_t n) {
      if (!e) self->response.append(self->buf, n);
      size_t eol = self->response.find("\r\n");
      if (eol == std::string::npos && !e && self->response.size() < 4096) return self->Read();
      // "HTTP/1.x NNN reason"
      std::string line = self->response.substr(0, eol);
      if (line.size() < 12 || line.compare(0, 5, "HTTP/") != 0)
        return self->Finish(false, e ? "read: " + e.message() : "not an HTTP response");
      int code = std::atoi(line.c_str() + 9);
      self->Finish(code >= 200 && code < 400, line);
    });
  }
};

}  // namespace

void ProbeTcp(asio::io_context& io, const std::string& ip, int port, Millis timeout, ProbeCallback cb) {
  auto p = std::make_shared<Probe>(io, std::move(cb));
  p->Start(ip, port, timeout);
}

void ProbeHttp(asio::io_context& io, const std::string& ip, int port, const std::string& path, Millis timeout,
               ProbeCallback cb) {
  auto p = std::make_shared<Probe>(io, std::move(cb));
  p->request = "GET " + (path.empty() ? std::string("/") : path) +
               " HTTP/1.0\r\nHost: localhost\r\nUser-Agent: berth-health\r\nConnection: close\r\n\r\n";
  p->Start(ip, port, timeout);
}

}  // namespace berth::supervisor
