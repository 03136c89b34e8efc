// ClientConnection, client side: reading and routing requests, local answers, closing.
// The upstream side is in exchange.cc, upgraded connections in tunnel.cc.
#include "proxy/client_connection.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

#include "proxy/canned_response.h"
#include "proxy/head_rewriter.h"
#include "proxy/net_util.h"
#include "proxy/route_table.h"
#include "proxy/upstream_pool.h"
#include "proxy/worker.h"

namespace berth::proxy {

namespace {

// A head must be contiguous; the parser's limits (8 KiB start line, 64 KiB of fields)
// trigger before the buffer reaches this.
constexpr size_t kMaxHeadBuffer = 96 * 1024;
// Body pieces shorter than this are copied next to the head (one write() instead of a
// writev() of many small pieces); longer ones are referenced in place.
constexpr size_t kCopyBelow = 2048;

bool Idempotent(uint8_t method) {
  switch (method) {
    case HTTP_GET:
    case HTTP_HEAD:
    case HTTP_OPTIONS:
    case HTTP_TRACE:
    case HTTP_PUT:
    case HTTP_DELETE:
      return true;
    default:
      return false;
  }
}

}  // namespace

void BodyForwarder::OnBody(const char* p, size_t n) {
  if (n < kCopyBelow) {
    out_->Append({p, n});
  } else {
    out_->AppendRef(p, n);
  }
}

void BodyForwarder::OnChunkHeader(uint64_t size) {
  if (mode_ != Mode::kChunked || size == 0) return;
  char line[24];
  int n = std::snprintf(line, sizeof(line), "%llx\r\n", static_cast<unsigned long long>(size));
  out_->Append({line, static_cast<size_t>(n)});
}

void BodyForwarder::OnChunkComplete() {
  if (mode_ == Mode::kChunked) out_->Append("\r\n");
}

void BodyForwarder::Finish() {
  if (mode_ == Mode::kChunked) out_->Append("0\r\n\r\n");
}

ClientConnection::ClientConnection(Worker* worker)
    : w_(worker),
      to_up_(&worker->buffers()),
      to_client_(&worker->buffers()),
      req_parser_(HttpParser::Kind::kRequest),
      req_body_(&to_up_),
      resp_body_(&to_client_) {
  timer_.client = this;
  req_parser_.set_limits(&worker->request_limits());
}

ClientConnection::~ClientConnection() {
  Close(true);
}

void ClientConnection::Open(int fd, const sockaddr_in& peer) {
  fd_ = fd;
  state_ = State::kIdle;
  readable_ = rdhup_ = false;
  client_ip_len_ = static_cast<uint8_t>(FormatIpv4(peer, client_ip_));
  req_parser_.Reset();
  ResetRequest();
  if (!w_->loop().AddStream(fd, this, /*connecting=*/false).ok()) {
    Close(true);
    return;
  }
  w_->idle_timers->Arm(&timer_, w_->loop().now_ms());
}

void ClientConnection::ResetRequest() {
  ReleaseSlot();
  svc_ = RefPtr<ServiceState>();
  replica_ = RefPtr<ReplicaState>();
  start_ns_ = 0;
  resp_status_ = 0;
  head_timer_armed_ = req_complete_ = req_kick_ = req_keep_alive_ = req_has_body_ = false;
  req_retryable_ = req_upgrade_ = req_head_method_ = client_http10_ = req_chunked_ = false;
  resp_kick_ = resp_bytes_ = resp_started_ = resp_complete_ = resp_interim_ = resp_keep_alive_ = false;
  close_after_ = retried_ = tunnel_pending_ = false;
  c2u_eof_ = u2c_eof_ = c2u_shut_ = u2c_shut_ = false;
}

void ClientConnection::OnIo(uint32_t events) {
  if (fd_ < 0) return;
  if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) readable_ = true;
  if (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) rdhup_ = true;
  switch (state_) {
    case State::kIdle:
    case State::kHead:
      ProcessInput();
      break;
    case State::kQueued:
      // A client that closes while it waits has given up: leave the queue.
      if (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
        w_->mutable_stats().client_aborts.Add();
        Close(false);
      }
      break;
    case State::kLocal:
      FlushLocal();
      break;
    case State::kProxying:
      if (events & (EPOLLHUP | EPOLLERR)) {  // reset by the client
        w_->mutable_stats().client_aborts.Add();
        AbortExchange();
        return;
      }
      if (!req_complete_ && !PumpRequest()) return;
      if (state_ == State::kProxying && (events & EPOLLOUT) && !to_client_.drained()) PumpResponse();
      break;
    case State::kTunnel:
      PumpTunnel();
      break;
    case State::kLingering:
      DrainLinger();
      break;
    case State::kClosed:
      break;
  }
}

void ClientConnection::OnTimer() {
  switch (state_) {
    case State::kIdle:
    case State::kLingering:
      Close(false);
      break;
    case State::kHead:
      SendLocal(408, true);
      break;
    case State::kQueued: {
      std::vector<Grant>* g = w_->grant_scratch();
      svc_->limiter().Expire(w_->loop().now_ms(), g);
      w_->Deliver(g);
      // Our own expiry arrives through the worker's grant list; look again shortly in
      // case the deadline moved (queue_timeout changed by a snapshot).
      w_->loop().Timers(250)->Arm(&timer_, w_->loop().now_ms());
      break;
    }
    case State::kLocal:
    case State::kTunnel:
      AbortExchange();
      break;
    case State::kProxying:
    case State::kClosed:
      break;
  }
}

void ClientConnection::Resume() {
  if (fd_ >= 0 && (state_ == State::kIdle || state_ == State::kHead)) ProcessInput();
}

void ClientConnection::BeginDrain() {
  if (state_ == State::kIdle && (!in_.allocated() || in_.empty())) Close(false);
}

void ClientConnection::ProcessInput() {
  for (;;) {
    if (!in_.empty()) {
      if (!ParseHead()) return;
    }
    if (!readable_) return;
    if (!ReadClient()) return;
  }
}

// Reads more of a request head. False when nothing more can be done now.
bool ClientConnection::ReadClient() {
  in_.Ensure(w_->buffers());
  if (in_.free_size() == 0 && !in_.Grow(w_->buffers(), kMaxHeadBuffer)) {
    SendLocal(431, true);
    return false;
  }
  size_t space = in_.free_size();
  ssize_t n = w_->loop().Recv(fd_, in_.free_space(), space);
  if (n > 0) {
    in_.Commit(static_cast<size_t>(n));
    // A short read drained the socket: a later arrival raises a new edge.
    if (static_cast<size_t>(n) < space && !rdhup_) readable_ = false;
    return true;
  }
  if (n < 0 && errno == EINTR) return true;
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
    readable_ = false;
    if (state_ == State::kIdle && in_.empty()) in_.Release(w_->buffers());
    return false;
  }
  Close(n < 0);  // EOF (a partial head is dropped) or a socket error
  return false;
}

// Parses buffered bytes of a request head. True when more bytes are needed.
bool ClientConnection::ParseHead() {
  if (head_ == nullptr) {
    head_ = w_->TakeHead();
    req_parser_.set_head(head_);
    req_parser_.set_sink(nullptr);
    state_ = State::kHead;
  }
  ParseResult r = req_parser_.Execute(in_.base(), in_.unread(), in_.unread_size());
  in_.Consume(r.consumed);
  switch (r.status) {
    case ParseStatus::kNeedMore:
      // Slowloris defence: the whole head must arrive within --header-timeout of its
      // first byte. Armed only for heads that do not arrive in one read.
      if (!head_timer_armed_) {
        w_->header_timers->Arm(&timer_, w_->loop().now_ms());
        head_timer_armed_ = true;
      }
      return true;
    case ParseStatus::kHeadComplete:
      HandleHead();
      return false;
    case ParseStatus::kError:
      SendLocal(req_parser_.error_status(), true);
      return false;
    default:
      SendLocal(400, true);
      return false;
  }
}

void ClientConnection::HandleHead() {
  TimerList::Cancel(&timer_);
  head_timer_armed_ = false;
  w_->mutable_stats().requests.Add();
  start_ns_ = w_->loop().now_ns();
  const MessageHead& h = *head_;
  HeadInfo info;
  int bad = ClassifyHead(h, in_.base(), &info);
  req_keep_alive_ = h.keep_alive;
  client_http10_ = h.http_minor == 0;
  req_head_method_ = h.method == HTTP_HEAD;
  req_upgrade_ = h.upgrade;
  req_chunked_ = h.chunked;
  req_has_body_ = h.chunked || h.content_length > 0;
  req_retryable_ = !req_has_body_ && !req_upgrade_ && Idempotent(h.method);
  if (bad == 0 && h.method == HTTP_CONNECT) bad = 405;
  if (bad == 0 && !client_http10_ && info.host_count == 0) bad = 400;  // RFC 9112 3.2
  if (bad != 0) {
    SendLocal(bad, true);
    return;
  }
  const ServiceEntry* entry = RouteAndRewrite(info);
  if (entry == nullptr) return;  // answered locally
  w_->ReturnHead(head_);
  head_ = nullptr;
  req_parser_.set_head(nullptr);
  Admit(entry);
}

// Finds the route and writes the upstream head into to_up_; nullptr after answering.
const ServiceEntry* ClientConnection::RouteAndRewrite(const HeadInfo& info) {
  const MessageHead& h = *head_;
  std::string_view url = h.Get(in_.base(), h.url);
  std::string_view host = info.host;
  std::string_view origin = url;
  std::string_view authority;
  if (SplitAbsoluteUrl(url, &authority, &origin)) {
    host = authority;  // RFC 9112 3.2.2: the target's authority wins over Host
  } else if (url.empty() || (url[0] != '/' && !(url == "*" && h.method == HTTP_OPTIONS))) {
    SendLocal(400, true);
    return nullptr;
  }
  char hostbuf[256];
  int n = NormalizeHost(host, hostbuf, sizeof(hostbuf));
  if (n < 0) {
    SendLocal(400, true);
    return nullptr;
  }
  const RouteTable* table = w_->table();
  const Route* route =
      table ? table->Match(std::string_view(hostbuf, static_cast<size_t>(n)), origin) : nullptr;
  if (route == nullptr) {
    SendLocal(404, req_has_body_);
    return nullptr;
  }
  svc_ = route->service->state;
  RequestForwarding fwd;
  fwd.client_addr = std::string_view(client_ip_, client_ip_len_);
  fwd.default_host = route->service->default_host;
  fwd.url = origin;
  WriteUpstreamRequest(h, in_.base(), info, fwd, &to_up_);
  return route->service;
}

void ClientConnection::Admit(const ServiceEntry* entry) {
  ServiceState* s = svc_.get();
  waiter_.worker = w_->index();
  waiter_.owner = this;
  waiter_.tag = ++seq_;
  LimiterSlot* slot = nullptr;
  int64_t now = w_->loop().now_ms();
  switch (s->limiter().Acquire(entry->ready, &waiter_, now, w_->NextHint(), &slot)) {
    case ConcurrencyLimiter::Admit::kAcquired:
      Dispatch(ReplicaState::FromSlot(slot));
      return;
    case ConcurrencyLimiter::Admit::kQueued:
      state_ = State::kQueued;
      // Waiting for a replica that does not exist yet: tell the controller now, once.
      if (entry->ready.empty() && !s->activation_pending.exchange(true)) ActivationSignal::Notify();
      s->worker(w_->index()).queued.Change(w_->loop().now_ns(), +1);
      w_->loop().Timers(s->limiter().options().queue_timeout_ms)->Arm(&timer_, now);
      return;
    case ConcurrencyLimiter::Admit::kOverflow:
      s->worker(w_->index()).rejected[static_cast<int>(Rejection::kOverflow)].Add();
      SendLocal(429, req_has_body_);
      return;
    case ConcurrencyLimiter::Admit::kNoReplica:
      s->worker(w_->index()).rejected[static_cast<int>(Rejection::kNoReplica)].Add();
      SendLocal(503, req_has_body_);
      return;
  }
}

bool ClientConnection::AcceptGrant(const Grant& g) {
  if (fd_ < 0 || state_ != State::kQueued || g.tag != seq_) return false;
  TimerList::Cancel(&timer_);
  svc_->worker(w_->index()).queued.Change(w_->loop().now_ns(), -1);
  if (g.slot == nullptr) {
    svc_->worker(w_->index()).rejected[static_cast<int>(Rejection::kQueueTimeout)].Add();
    SendLocal(503, req_has_body_);
    return true;
  }
  Dispatch(ReplicaState::FromSlot(g.slot));
  return true;
}

void ClientConnection::RecordResponse(int status) {
  if (svc_) {
    ServiceWorkerStats& s = svc_->worker(w_->index());
    s.RecordResponse(status);
    s.RecordLatency((w_->loop().now_ns() - start_ns_) / 1000);
    if (replica_) replica_->worker(w_->index()).responses[status / 100 % 6].Add();
  } else if (status >= 100 && status < 600) {
    w_->mutable_stats().local[status].Add();
  }
}

// Answers from the proxy itself. `close`: the connection cannot carry another request.
void ClientConnection::SendLocal(int status, bool close) {
  if (start_ns_ == 0) start_ns_ = w_->loop().now_ns();
  RecordResponse(status);
  if (head_ != nullptr) {
    w_->ReturnHead(head_);
    head_ = nullptr;
    req_parser_.set_head(nullptr);
  }
  close_after_ = close || !req_keep_alive_ || w_->draining();
  to_up_.Clear();
  to_client_.Clear();
  to_client_.Append(CannedResponse(status, close_after_));
  state_ = State::kLocal;
  w_->idle_timers->Arm(&timer_, w_->loop().now_ms());  // bounds a client that never reads
  FlushLocal();
}

void ClientConnection::FlushLocal() {
  int err = 0;
  OutQueue::Result r = to_client_.Flush(fd_, &err, &w_->loop());
  if (r == OutQueue::Result::kAgain) return;
  if (r == OutQueue::Result::kError) {
    Close(true);
    return;
  }
  FinishLocal();
}

void ClientConnection::FinishLocal() {
  to_client_.Clear();
  if (close_after_) {
    CloseAfterResponse();
    return;
  }
  if (!req_complete_) {
    // A request without a body: let the parser reach the end of the message.
    ParseResult r = req_parser_.Execute(in_.base(), in_.unread(), in_.unread_size());
    in_.Consume(r.consumed);
    if (r.status != ParseStatus::kMessageComplete) {
      CloseAfterResponse();
      return;
    }
  }
  StartNextRequest();
}

void ClientConnection::StartNextRequest() {
  ResetRequest();
  state_ = State::kIdle;
  if (in_.allocated()) {
    in_.Compact();
    if (in_.empty()) in_.Release(w_->buffers());
  }
  w_->idle_timers->Arm(&timer_, w_->loop().now_ms());
  // Pipelined bytes or an unread edge: continue after this batch (no recursion).
  if (!in_.empty() || readable_) w_->Defer(this);
}

// The response said "Connection: close". Send FIN, then discard what the client still
// sends until it closes: closing with unread input would send a RST, which can destroy
// the response before the client reads it.
void ClientConnection::CloseAfterResponse() {
  if (rdhup_) {
    Close(false);
    return;
  }
  w_->loop().Shutdown(fd_);
  ResetRequest();
  state_ = State::kLingering;
  in_.Release(w_->buffers());
  w_->linger_timers->Arm(&timer_, w_->loop().now_ms());
  readable_ = true;
  DrainLinger();
}

void ClientConnection::DrainLinger() {
  char sink[4096];
  for (;;) {
    ssize_t n = w_->loop().Recv(fd_, sink, sizeof(sink));
    if (n > 0) continue;
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    Close(false);
    return;
  }
}

void ClientConnection::Close(bool abort) {
  if (fd_ < 0) return;
  if (state_ == State::kQueued && svc_) {
    svc_->limiter().Cancel(&waiter_);  // if a grant is already on its way, seq_ makes it stale
    svc_->worker(w_->index()).queued.Change(w_->loop().now_ns(), -1);
  }
  DetachUpstream(abort ? UpstreamEnd::kAbort : UpstreamEnd::kClose);
  ReleaseSlot();
  if (head_ != nullptr) {
    w_->ReturnHead(head_);
    head_ = nullptr;
    req_parser_.set_head(nullptr);
  }
  TimerList::Cancel(&timer_);
  w_->loop().CloseStream(fd_, abort);
  fd_ = -1;
  state_ = State::kClosed;
  ++seq_;
  in_.Release(w_->buffers());
  to_up_.Clear();
  to_client_.Clear();
  ResetRequest();
  w_->ConnectionClosed(this);
}

}  // namespace berth::proxy
