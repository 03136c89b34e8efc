#include "proxy/net_util.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "proxy/control.h"

namespace berth::proxy {

StatusOr<Endpoint> ParseEndpoint(std::string_view text, bool allow_port_zero) {
  uint32_t ip = 0;
  uint16_t port = 0;
  BERTH_RETURN_IF_ERROR(ParseIpv4Address(text, &ip, &port, allow_port_zero));
  Endpoint ep;
  ep.addr.sin_family = AF_INET;
  ep.addr.sin_addr.s_addr = htonl(ip);
  ep.addr.sin_port = htons(port);
  char buf[16];
  int n = FormatIpv4(ep.addr, buf);
  ep.text = std::string(buf, n) + ":" + std::to_string(port);
  return ep;
}

StatusOr<int> ListenTcp(const Endpoint& ep, bool reuse_port, int backlog) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return ErrnoStatus("socket");
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (reuse_port && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0) {
    Status st = ErrnoStatus("setsockopt SO_REUSEPORT");
    ::close(fd);
    return st;
  }
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&ep.addr), sizeof(ep.addr)) != 0) {
    Status st = ErrnoStatus("bind " + ep.text);
    ::close(fd);
    return st;
  }
  if (::listen(fd, backlog) != 0) {
    Status st = ErrnoStatus("listen " + ep.text);
    ::close(fd);
    return st;
  }
  return fd;
}

int BoundPort(int fd) {
  sockaddr_in a{};
  socklen_t len = sizeof(a);
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) return -1;
  return ntohs(a.sin_port);
}

StatusOr<int> ConnectTcp(const sockaddr_in& addr, bool* in_progress) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return ErrnoStatus("socket");
  SetNoDelay(fd);
  *in_progress = false;
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0) {
    if (errno != EINPROGRESS) {
      Status st = ErrnoStatus("connect");
      ::close(fd);
      return st;
    }
    *in_progress = true;
  }
  return fd;
}

int ConnectError(int fd) {
  int err = 0;
  socklen_t len = sizeof(err);
  if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) return errno;
  return err;
}

void SetNoDelay(int fd) {
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

void SetLingerZero(int fd) {
  linger l{1, 0};
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
}

namespace {

// True if something accepts connections on the unix socket at `path`.
bool UnixSocketAlive(const sockaddr_un& a) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  bool alive = ::connect(fd, reinterpret_cast<const sockaddr*>(&a), sizeof(a)) == 0;
  ::close(fd);
  return alive;
}

}  // namespace

StatusOr<int> ListenUnix(const std::string& path) {
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof(a.sun_path))
    return InvalidArgument("control socket path too long: " + path);
  std::memcpy(a.sun_path, path.c_str(), path.size() + 1);
  struct stat st;
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) return FailedPrecondition(path + " exists and is not a socket");
    if (UnixSocketAlive(a)) return FailedPrecondition(path + ": another process is listening on it");
    ::unlink(path.c_str());
  }
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return ErrnoStatus("socket");
  mode_t old = ::umask(0177);  // the socket file is created 0600
  int rc = ::bind(fd, reinterpret_cast<const sockaddr*>(&a), sizeof(a));
  ::umask(old);
  if (rc != 0 || ::listen(fd, 16) != 0) {
    Status s = ErrnoStatus("bind " + path);
    ::close(fd);
    return s;
  }
  ::chmod(path.c_str(), 0600);
  return fd;
}

uint64_t RaiseFileLimit() {
  rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return 0;
  if (rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  return rl.rlim_cur;
}

int FormatIpv4(const sockaddr_in& a, char* out) {
  if (inet_ntop(AF_INET, &a.sin_addr, out, 16) == nullptr) {
    out[0] = '?';
    return 1;
  }
  return static_cast<int>(std::strlen(out));
}

}  // namespace berth::proxy
