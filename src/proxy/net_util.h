// Socket helpers for the proxy: IPv4 TCP listeners (one SO_REUSEPORT socket per worker),
// non-blocking upstream connects, unix-socket listeners for the control channel.
//
// Thread-safety: plain functions over file descriptors.
#pragma once

#include <netinet/in.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "base/status.h"

namespace berth::proxy {

struct Endpoint {
  sockaddr_in addr{};
  std::string text;  // "127.0.0.1:8080"
};

// "HOST:PORT" with an IPv4 literal, "localhost" or an empty host (any address); port 0
// (any free port) only with `allow_port_zero`.
StatusOr<Endpoint> ParseEndpoint(std::string_view text, bool allow_port_zero = false);

// A non-blocking listening socket; `reuse_port` lets every worker bind its own.
StatusOr<int> ListenTcp(const Endpoint& ep, bool reuse_port, int backlog = 4096);
// The port a socket is bound to (for ":0" listeners in tests).
int BoundPort(int fd);

// Starts a non-blocking connect with TCP_NODELAY. *in_progress is true when the
// connection completes later (EPOLLOUT, then ConnectError()).
StatusOr<int> ConnectTcp(const sockaddr_in& addr, bool* in_progress);
// The pending error of a connecting socket (SO_ERROR), 0 if connected.
int ConnectError(int fd);

void SetNoDelay(int fd);
// Makes close() send a RST instead of a FIN: the peer sees an aborted connection.
void SetLingerZero(int fd);

// A non-blocking unix stream listener at `path` (mode 0600). A stale socket file from
// a dead process is replaced; a live one (something accepts on it) is an error.
StatusOr<int> ListenUnix(const std::string& path);

// Raises the soft RLIMIT_NOFILE to the hard limit; returns the new soft limit.
uint64_t RaiseFileLimit();

// "a.b.c.d" of an IPv4 socket address into `out` (at least 16 bytes); returns the length.
int FormatIpv4(const sockaddr_in& a, char* out);

}  // namespace berth::proxy
