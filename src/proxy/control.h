// The control protocol between berthd (the controller) and berth-proxy. Library
// `berth_proxy_control`: message model, JSON encoding/decoding and line framing, with
// no dependency on the data plane, so berthd can link it. The full description, with
// examples, is docs/proxy-control.md; the short form:
//
// Transport: berth-proxy listens on the unix socket given by `--control PATH` (mode
// 0600; a stale socket file is replaced). Any number of controllers may connect; each
// message is one JSON object on one line ("\n"-terminated, at most 16 MiB).
//
// Proxy -> controller:
//   {"type":"hello","pid":P,"version":V,"build":"berth-proxy 0.1.0"}      on connect; V is
//        the version of the snapshot being served (0: none / the --route flags)
//   {"type":"ack","version":N}                         snapshot N accepted and published
//   {"type":"error","message":"..."}                   the message changed nothing
//   {"type":"stats","time_ms":T,"interval_ms":I,"version":V,"services":{"shop/api":
//        {"in_flight":x,"queued":y,"requests":n,"requests_total":t,"avg_concurrency":c,
//         "avg_queued":q,"rejected":r}}}                 every second
//        avg_concurrency: time-weighted mean of requests in flight at the service's
//        replicas over the interval (the autoscaler's input); avg_queued: the same for
//        requests waiting in its queue; requests: responses completed in the interval;
//        rejected: 429s and 503s the proxy answered itself in the interval.
//        T is wall-clock Unix milliseconds.
// Controller -> proxy:
//   {"type":"snapshot","version":N,"domain":"localhost","routes":[{"host":
//     "api.shop.localhost","aliases":["..."],"path_prefix":"","service":"shop/api",
//     "limit":10,"queue":100,"queue_timeout_ms":10000,"wait_for_replica":false,
//     "upstreams":[{"id":"shop.api.1","addr":"10.88.1.5:8000","ready":true}]}]}
//        replaces the whole routing table atomically. Versions only increase: an older or
//        equal version is acknowledged but ignored. Invalid -> error reply, nothing
//        changes.
//   {"type":"ping"} -> {"type":"pong","version":V}
// Proxy -> controller, at once (not waiting for the next stats report):
//   {"type":"activate","service":"shop/api","queued":3}     a request is waiting for a
//        service with no ready replica (wait_for_replica): the signal to scale from zero.
// The proxy keeps serving its last snapshot when every controller has gone, and the
// same snapshot object can be stored as a file (--routes-file) that the proxy loads at
// start, so it serves right after a restart, before berthd reconnects.
//
// Thread-safety: plain values and pure functions.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace berth::proxy {

struct UpstreamSpec {
  std::string id;     // unique within the service: "shop.api.1"
  std::string addr;   // "10.88.1.5:8000" (IPv4 literal or "localhost", and a port)
  bool ready = true;  // only ready upstreams receive requests
};

struct RouteSpec {
  std::string host;                  // "api.shop.localhost", or "*" for any host
  std::vector<std::string> aliases;  // more hosts for the same route
  std::string path_prefix;           // "" or "/path": longest prefix wins, on segment boundaries
  std::string service;               // "shop/api": the limiter, queue and metrics key
  uint32_t limit = 0;                // per-replica concurrency limit; 0 = unlimited
  uint32_t queue = 0;                // per-service FIFO capacity
  int64_t queue_timeout_ms = 10'000;
  bool wait_for_replica = false;  // queue (not 503) while no upstream is ready
  std::vector<UpstreamSpec> upstreams;
};

struct RouteSnapshot {
  uint64_t version = 0;
  std::string domain = "localhost";
  std::vector<RouteSpec> routes;
};

struct ServiceStats {
  uint64_t in_flight = 0;
  uint64_t queued = 0;
  uint64_t requests = 0;
  uint64_t requests_total = 0;
  uint64_t rejected = 0;
  double avg_concurrency = 0;
  double avg_queued = 0;
  std::map<std::string, uint64_t> upstream_in_flight;  // by upstream id, now (drains wait for 0)
};

struct StatsReport {
  int64_t time_ms = 0;
  int64_t interval_ms = 0;
  uint64_t version = 0;
  std::map<std::string, ServiceStats> services;
};

// One decoded message, in either direction. Only the fields of its type are set.
struct ControlMessage {
  enum class Type { kHello, kAck, kError, kStats, kSnapshot, kPing, kPong, kActivate };
  Type type = Type::kError;
  uint64_t version = 0;  // hello, ack, pong
  int64_t pid = 0;       // hello
  std::string message;   // error; hello: build; activate: the service
  uint64_t queued = 0;   // activate
  StatsReport stats;
  RouteSnapshot snapshot;
};

// Encoders return one JSON object without the trailing newline.
std::string EncodeSnapshot(const RouteSnapshot& s);
std::string EncodeHello(int64_t pid, uint64_t version);
std::string EncodeAck(uint64_t version);
std::string EncodeError(std::string_view message);
std::string EncodeStats(const StatsReport& r);
std::string EncodePing();
std::string EncodePong(uint64_t version);
std::string EncodeActivate(std::string_view service, uint64_t queued);

// Decodes and validates a snapshot object ("type" optional): hosts are lower-case DNS
// names or "*", host+prefix pairs unique, addresses parse, ids unique per service, a
// service named by several routes has the same upstreams and limits in each.
StatusOr<RouteSnapshot> ParseSnapshot(std::string_view json);
// Decodes any message; snapshots are validated as by ParseSnapshot.
StatusOr<ControlMessage> ParseControlMessage(std::string_view line);

// "10.0.0.1:8000" or "localhost:8000" -> IPv4 address and port (host byte order).
// Port 0 only with `allow_port_zero` (listeners: "any free port").
Status ParseIpv4Address(std::string_view addr, uint32_t* ip, uint16_t* port, bool allow_port_zero = false);

// Splits a byte stream into lines. A line longer than `max_line` makes overflow() true
// and is discarded (the caller should drop the connection).
class LineFramer {
 public:
  static constexpr size_t kMaxLine = 16 * 1024 * 1024;
  explicit LineFramer(size_t max_line = kMaxLine) : max_line_(max_line) {}
  void Append(std::string_view bytes);
  // Moves the next complete line (without "\n" or "\r\n") into *line.
  bool Next(std::string* line);
  bool overflow() const { return overflow_; }

 private:
  std::string buf_;
  size_t scanned_ = 0;
  size_t max_line_;
  bool overflow_ = false;
};

// The snapshot as a routes file, written atomically (temporary file + rename).
Status WriteRoutesFile(const std::string& path, const RouteSnapshot& s);
StatusOr<RouteSnapshot> ReadRoutesFile(const std::string& path);

}  // namespace berth::proxy
