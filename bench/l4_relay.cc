// l4_relay: the floor under any user-space proxy, for bench/proxy_bench.py's `floor`.
//
// It does only what every proxy must do with the bytes: each accepted connection gets its
// own upstream connection, and whatever arrives on one side is sent to the other, one
// receive and one send per piece, nothing parsed, nothing rewritten, nothing pooled,
// counted or timed. Its CPU per request is what the kernel charges for moving a request
// and a response through a process (two TCP receives and two TCP sends on loopback, the
// sends including the peers' receive path); a real HTTP proxy can only add to it. So its
// ratio to direct, measured side by side with berth-proxy, says which throughput ratios
// this machine allows at all.
//
// Two back ends, as berth-proxy has: `epoll` (edge-triggered, recv/send per piece) and
// `uring` (io_uring with DEFER_TASKRUN: one io_uring_enter per loop iteration submits
// every send and collects every completion; one recv or one send in flight per direction).
// A benchmark tool, not a product: loopback only, connect is blocking, connection objects
// of closed pairs are not reused, and in epoll mode a send the socket cannot take whole
// ends the pair (small HTTP messages never fill a socket buffer; proxy_bench refuses a
// run with socket errors, so such an end would not pass unnoticed).
//
//   l4_relay [--io epoll|uring] LISTEN_ADDR UPSTREAM_ADDR      (IPv4 HOST:PORT)
#include <arpa/inet.h>
#include <liburing.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace {

constexpr size_t kPiece = 16384;

// One direction's source: bytes read from `fd` go to `peer->fd`.
struct End {
  int fd = -1;
  End* peer = nullptr;
  bool dead = false;
  char buf[kPiece];
};

bool ParseAddr(const char* text, sockaddr_in* out) {
  std::string s(text);
  size_t colon = s.rfind(':');
  if (colon == std::string::npos) return false;
  *out = sockaddr_in{};
  out->sin_family = AF_INET;
  out->sin_port = htons(static_cast<uint16_t>(std::atoi(s.c_str() + colon + 1)));
  return inet_pton(AF_INET, s.substr(0, colon).c_str(), &out->sin_addr) == 1;
}

int Listen(const sockaddr_in& addr) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0 || listen(fd, 4096) != 0) {
    std::perror("l4_relay: listen");
    std::exit(1);
  }
  return fd;
}

// A pair for the accepted `client`, or nullptr (client closed) when the upstream refuses.
End* Pair(int client, const sockaddr_in& upstream) {
  int up = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (connect(up, reinterpret_cast<const sockaddr*>(&upstream), sizeof(upstream)) != 0) {
    close(up);
    close(client);
    return nullptr;
  }
  int one = 1;
  setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  setsockopt(up, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  End* a = new End;
  End* b = new End;
  a->fd = client;
  b->fd = up;
  a->peer = b;
  b->peer = a;
  return a;
}

void Kill(End* e) {
  if (e->dead) return;
  e->dead = e->peer->dead = true;
  shutdown(e->fd, SHUT_RDWR);  // ends a receive still in flight on either (io_uring)
  shutdown(e->peer->fd, SHUT_RDWR);
  close(e->fd);
  close(e->peer->fd);
}

[[noreturn]] void RunEpoll(int lfd, const sockaddr_in& upstream) {
  int ep = epoll_create1(EPOLL_CLOEXEC);
  epoll_event lev{};
  lev.events = EPOLLIN;
  lev.data.ptr = nullptr;
  epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &lev);
  epoll_event evs[256];
  for (;;) {
    int n = epoll_wait(ep, evs, 256, -1);
    for (int i = 0; i < n; ++i) {
      auto* e = static_cast<End*>(evs[i].data.ptr);
      if (e == nullptr) {
        int c = accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC);
        if (c < 0) continue;
        End* a = Pair(c, upstream);
        if (a == nullptr) continue;
        for (End* x : {a, a->peer}) {
          int one = 1;
          ioctl(x->fd, FIONBIO, &one);
          epoll_event ev{};
          ev.events = EPOLLIN | EPOLLRDHUP | EPOLLET;
          ev.data.ptr = x;
          epoll_ctl(ep, EPOLL_CTL_ADD, x->fd, &ev);
        }
        continue;
      }
      while (!e->dead) {
        ssize_t r = recv(e->fd, e->buf, kPiece, 0);
        if (r < 0 && errno == EAGAIN) break;
        if (r <= 0 || send(e->peer->fd, e->buf, static_cast<size_t>(r), MSG_NOSIGNAL) != r) {
          Kill(e);  // the peer's End stays allocated: pairs are not reused here
          break;
        }
        if (static_cast<size_t>(r) < kPiece) break;  // drained: a later arrival raises a new edge
      }
    }
  }
}

io_uring ring;
constexpr uint64_t kAccept = 0, kRecv = 1, kSend = 2;

io_uring_sqe* Sqe() {
  io_uring_sqe* s = io_uring_get_sqe(&ring);
  if (s == nullptr) {
    io_uring_submit(&ring);
    s = io_uring_get_sqe(&ring);
  }
  return s;
}

void ArmRecv(End* e) {
  io_uring_sqe* s = Sqe();
  io_uring_prep_recv(s, e->fd, e->buf, kPiece, 0);
  io_uring_sqe_set_data64(s, reinterpret_cast<uint64_t>(e) | kRecv);
}

[[noreturn]] void RunUring(int lfd, const sockaddr_in& upstream) {
  io_uring_params p{};
  p.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
  if (int rc = io_uring_queue_init_params(4096, &ring, &p); rc < 0) {
    std::fprintf(stderr, "l4_relay: io_uring_setup: %s\n", std::strerror(-rc));
    std::exit(1);
  }
  io_uring_sqe* s = Sqe();
  io_uring_prep_multishot_accept(s, lfd, nullptr, nullptr, SOCK_CLOEXEC);
  io_uring_sqe_set_data64(s, kAccept);
  io_uring_cqe* cqes[512];
  for (;;) {
    io_uring_submit_and_wait(&ring, 1);
    unsigned n = io_uring_peek_batch_cqe(&ring, cqes, 512);
    for (unsigned i = 0; i < n; ++i) {
      uint64_t ud = cqes[i]->user_data;
      int res = cqes[i]->res;
      if (ud == kAccept) {
        if (!(cqes[i]->flags & IORING_CQE_F_MORE)) {
          std::fprintf(stderr, "l4_relay: accept stopped: %s\n", std::strerror(-res));
          std::exit(1);
        }
        End* a = res >= 0 ? Pair(res, upstream) : nullptr;
        if (a != nullptr) {
          ArmRecv(a);
          ArmRecv(a->peer);
        }
        continue;
      }
      auto* e = reinterpret_cast<End*>(ud & ~uint64_t{3});
      if (e->dead) continue;
      if ((ud & 3) == kRecv) {
        if (res <= 0) {
          Kill(e);
          continue;
        }
        io_uring_sqe* x = Sqe();
        io_uring_prep_send(x, e->peer->fd, e->buf, static_cast<size_t>(res), MSG_NOSIGNAL | MSG_WAITALL);
        io_uring_sqe_set_data64(x, reinterpret_cast<uint64_t>(e) | kSend);
      } else if (res < 0) {
        Kill(e);
      } else {
        ArmRecv(e);  // the piece went out: read the next
      }
    }
    io_uring_cq_advance(&ring, n);
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::string io = "epoll";
  int i = 1;
  if (argc > 2 && std::string(argv[1]) == "--io") {
    io = argv[2];
    i = 3;
  }
  sockaddr_in listen_addr, upstream;
  if (argc - i != 2 || (io != "epoll" && io != "uring") || !ParseAddr(argv[i], &listen_addr) ||
      !ParseAddr(argv[i + 1], &upstream)) {
    std::fprintf(stderr, "usage: l4_relay [--io epoll|uring] LISTEN_ADDR UPSTREAM_ADDR (IPv4 HOST:PORT)\n");
    return 2;
  }
  int lfd = Listen(listen_addr);
  if (io == "uring") RunUring(lfd, upstream);
  RunEpoll(lfd, upstream);
}
