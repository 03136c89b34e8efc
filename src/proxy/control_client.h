// ControlClient: berthd's end of the control socket (protocol: control.h). Blocking I/O
// with timeouts on a unix stream socket; link `berth_proxy_control`, which does not pull
// in the data plane.
//
//   auto c = ControlClient::Connect("/run/berth/proxy.sock", Millis(1000));
//   if (!c.ok()) ...;                       // the proxy is not (yet) up: retry later
//   Status st = (*c)->PushSnapshot(snapshot, Millis(1000));   // waits for the ack
//   auto m = (*c)->Read(Millis(1500));      // stats every second (kStats)
//
// For an event loop (Asio), use fd() with LineFramer/ParseControlMessage and
// EncodeSnapshot directly instead: the protocol is one JSON object per line.
//
// Thread-safety: one thread at a time per client.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "base/status.h"
#include "base/units.h"
#include "proxy/control.h"

namespace berth::proxy {

class ControlClient {
 public:
  static StatusOr<std::unique_ptr<ControlClient>> Connect(const std::string& path, Millis timeout);
  ~ControlClient();
  ControlClient(const ControlClient&) = delete;
  ControlClient& operator=(const ControlClient&) = delete;

  // Sends the snapshot and waits for its ack (an ack of a version >= snapshot.version:
  // the proxy serves at least that) or an error reply. Stats read meanwhile are kept
  // (last_stats()).
  Status PushSnapshot(const RouteSnapshot& snapshot, Millis timeout);
  // Round trip; returns the version being served.
  StatusOr<uint64_t> Ping(Millis timeout);
  // The next message from the proxy (hello, ack, error, pong, stats).
  StatusOr<ControlMessage> Read(Millis timeout);
  Status SendLine(const std::string& line, Millis timeout);

  // The hello the proxy sent on connect (pid, version served).
  const ControlMessage& hello() const { return hello_; }
  const std::optional<StatsReport>& last_stats() const { return last_stats_; }
  int fd() const { return fd_; }

 private:
  explicit ControlClient(int fd) : fd_(fd) {}
  int fd_;
  LineFramer framer_;
  ControlMessage hello_;
  std::optional<StatsReport> last_stats_;
};

}  // namespace berth::proxy
