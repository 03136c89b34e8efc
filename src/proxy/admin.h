// AdminServer: the admin listener (--admin, default 127.0.0.1:9090), a deliberately tiny
// HTTP/1.x server on the control thread:
//   GET /metrics  Prometheus text format 0.0.4 (metrics.h)
//   GET /healthz  "ok"
//   GET /routes   the routing snapshot being served, as the control protocol's JSON
// One request per connection (the response closes it); heads over 8 KiB or slower than
// 5 s are dropped. Not on the request path, so it favours simplicity over speed.
//
// Thread-safety: none; control thread only.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "base/status.h"
#include "proxy/event_loop.h"
#include "proxy/net_util.h"

namespace berth::proxy {

class AdminServer {
 public:
  class Delegate {
   public:
    virtual std::string Metrics() = 0;
    virtual std::string Routes() = 0;

   protected:
    ~Delegate() = default;
  };

  AdminServer(EventLoop* loop, Delegate* delegate);
  ~AdminServer();
  AdminServer(const AdminServer&) = delete;
  AdminServer& operator=(const AdminServer&) = delete;

  Status Listen(const Endpoint& ep);
  int port() const { return port_; }

 private:
  class Listener;
  class Connection;
  void Accept();
  std::string Respond(const std::string& head);
  void Reap();

  EventLoop* loop_;
  Delegate* delegate_;
  int fd_ = -1;
  int port_ = 0;
  std::unique_ptr<Listener> listener_;
  std::vector<std::unique_ptr<Connection>> conns_;
  std::vector<std::unique_ptr<Connection>> dead_;
};

}  // namespace berth::proxy
