// ControlServer: berth-proxy's end of the control socket (protocol: control.h and
// docs/proxy-control.md). Runs on the control thread's event loop: accepts controllers
// on the unix socket, greets each with "hello", hands snapshots to its Delegate and
// writes the reply, answers pings, and broadcasts the stats report. A controller that
// sends garbage gets an error line; one that sends a line over 16 MiB, or stops reading
// (more than 64 MiB unread), is disconnected. Controllers coming and going never affect
// the routes being served.
//
// Thread-safety: none; control thread only.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/status.h"
#include "proxy/control.h"
#include "proxy/event_loop.h"

namespace berth::proxy {

class ControlServer {
 public:
  class Delegate {
   public:
    // Applies a snapshot; returns the reply line (ack or error).
    virtual std::string OnSnapshot(const RouteSnapshot& snapshot) = 0;
    virtual uint64_t served_version() const = 0;

   protected:
    ~Delegate() = default;
  };

  ControlServer(EventLoop* loop, Delegate* delegate);
  ~ControlServer();  // closes every connection and removes the socket file
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

  Status Listen(const std::string& path);
  // Sends `line` (without "\n") to every connected controller.
  void Broadcast(const std::string& line);
  size_t connections() const;

 private:
  class Listener;
  class Connection;
  void Accept();
  void Handle(Connection* c, const std::string& line);
  void Reap();

  EventLoop* loop_;
  Delegate* delegate_;
  std::string path_;
  int fd_ = -1;
  std::unique_ptr<Listener> listener_;
  std::vector<std::unique_ptr<Connection>> conns_;
  std::vector<std::unique_ptr<Connection>> dead_;
};

}  // namespace berth::proxy
