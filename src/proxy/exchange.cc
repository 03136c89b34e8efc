// ClientConnection, upstream side: dispatching a request to a replica, streaming the
// request body up and the response back, keep-alive reuse and the one retry.
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "proxy/client_connection.h"
#include "proxy/head_rewriter.h"
#include "proxy/net_util.h"
#include "proxy/upstream_pool.h"
#include "proxy/worker.h"

namespace berth::proxy {

namespace {

constexpr size_t kMaxResponseHead = 96 * 1024;
const char kNoBytes[1] = {0};

}  // namespace

void ClientConnection::Dispatch(ReplicaState* replica) {
  replica_ = RefPtr<ReplicaState>(replica);
  svc_->worker(w_->index()).in_flight.Change(w_->loop().now_ns(), +1);
  state_ = State::kProxying;
  UpstreamConnection* up = w_->pool().Take(replica);
  if (up == nullptr) {
    int err = 0;
    up = w_->pool().Connect(replica, &err);
    if (up == nullptr) {
      UpstreamFailed(UpstreamError::kConnect, false);
      return;
    }
  }
  Attach(up);
  req_kick_ = true;
  req_body_.set_mode(req_chunked_ ? BodyForwarder::Mode::kChunked : BodyForwarder::Mode::kRaw);
  req_parser_.set_sink(&req_body_);
  PumpRequest();
}

void ClientConnection::Attach(UpstreamConnection* up) {
  up_ = up;
  up->owner = this;
  up->head = nullptr;
  up->parser.set_limits(&w_->response_limits());
  up->parser.set_head(nullptr);
  up->parser.set_sink(&resp_body_);
  resp_kick_ = false;
  w_->upstream_timers->Arm(&up->timer, w_->loop().now_ms());
}

bool ClientConnection::UpstreamConnected() {
  int err = ConnectError(up_->fd());
  if (err != 0) {
    UpstreamFailed(UpstreamError::kConnect, false);
    return false;
  }
  up_->connecting = false;
  return true;
}

void ClientConnection::OnUpstreamIo(uint32_t events) {
  if (up_ == nullptr) return;
  if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) up_->readable = true;
  if (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) up_->rdhup = true;
  if (up_->connecting) {
    if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) return;
    if (!UpstreamConnected()) return;
  }
  if (state_ == State::kTunnel) {
    PumpTunnel();
    return;
  }
  if (state_ != State::kProxying) return;
  if ((!req_complete_ || !to_up_.drained()) && !PumpRequest()) return;
  if (state_ == State::kProxying && up_ != nullptr) PumpResponse();
}

void ClientConnection::OnUpstreamTimeout() {
  if (state_ != State::kProxying) return;
  UpstreamFailed(UpstreamError::kTimeout, false);
}

// Streams the request (head, then body as it arrives) to the upstream. Everything
// already buffered is parsed before writing, so a head and a small body leave in one
// write. False when the exchange ended (failed or answered).
bool ClientConnection::PumpRequest() {
  for (;;) {
    while (!req_complete_ && (!in_.empty() || req_kick_)) {
      if (!ParseRequestBody()) return false;
    }
    if (up_->connecting) return true;  // flushed on EPOLLOUT
    if (!to_up_.drained()) {
      int err = 0;
      OutQueue::Result r = to_up_.Flush(up_->fd(), &err, &w_->loop());
      if (r == OutQueue::Result::kAgain) return true;
      if (r == OutQueue::Result::kError) {
        UpstreamFailed(UpstreamError::kReset, true);
        return false;
      }
    }
    // Everything queued is written. A retryable request keeps its head for a resend.
    if (!req_retryable_) to_up_.Clear();
    if (req_complete_ || !readable_) return true;
    in_.Ensure(w_->buffers());
    in_.Reset();
    size_t space = in_.free_size();
    ssize_t n = w_->loop().Recv(fd_, in_.free_space(), space);
    if (n > 0) {
      in_.Commit(static_cast<size_t>(n));
      if (static_cast<size_t>(n) < space && !rdhup_) readable_ = false;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      readable_ = false;
      return true;
    }
    w_->mutable_stats().client_aborts.Add();  // the client went away mid-body
    AbortExchange();
    return false;
  }
}

bool ClientConnection::ParseRequestBody() {
  req_kick_ = false;
  const char* base = in_.allocated() ? in_.base() : kNoBytes;
  const char* data = in_.allocated() ? in_.unread() : kNoBytes;
  ParseResult r = req_parser_.Execute(base, data, in_.unread_size());
  in_.Consume(r.consumed);
  switch (r.status) {
    case ParseStatus::kNeedMore:
      return true;
    case ParseStatus::kMessageComplete:
      req_body_.Finish();
      req_complete_ = true;
      return true;
    case ParseStatus::kUpgrade:
      req_body_.Finish();    // (an upgrade request may have had a body)
      req_complete_ = true;  // what follows is the new protocol, sent after a 101
      return true;
    default:
      break;
  }
  // A bad chunk or a body over --max-body: the upstream has a partial request.
  if (resp_started_) {
    AbortExchange();
    return false;
  }
  ReleaseSlot();
  DetachUpstream(UpstreamEnd::kAbort);
  SendLocal(req_parser_.error_status(), true);
  return false;
}

// Streams the response to the client, parsing all buffered bytes before each write
// (head and body in one write). False when the exchange ended.
bool ClientConnection::PumpResponse() {
  for (;;) {
    while (!resp_complete_ && (!up_->in.empty() || resp_kick_)) {
      if (!ParseResponse()) return false;
    }
    if (!to_client_.drained()) {
      int err = 0;
      OutQueue::Result r = to_client_.Flush(fd_, &err, &w_->loop());
      if (r == OutQueue::Result::kAgain) return true;
      if (r == OutQueue::Result::kError) {
        w_->mutable_stats().client_aborts.Add();
        AbortExchange();
        return false;
      }
      w_->upstream_timers->Arm(&up_->timer, w_->loop().now_ms());
    }
    if (resp_complete_) {
      if (tunnel_pending_) {
        StartTunnel();
      } else {
        FinishExchange();
      }
      return false;
    }
    to_client_.Clear();
    if (!up_->readable) return true;
    if (!ReadUpstream()) return false;
  }
}

// One read from the upstream. False when the exchange ended.
bool ClientConnection::ReadUpstream() {
  Buffer& in = up_->in;
  bool mid_head = up_->parser.in_message() && !up_->parser.head_done();
  in.Ensure(w_->buffers());
  if (!mid_head) {
    in.Reset();  // everything parsed before was flushed
  } else if (in.free_size() == 0 && !in.Grow(w_->buffers(), kMaxResponseHead)) {
    UpstreamFailed(UpstreamError::kProtocol, false);
    return false;
  }
  size_t space = in.free_size();
  ssize_t n = w_->loop().Recv(up_->fd(), in.free_space(), space);
  if (n > 0) {
    in.Commit(static_cast<size_t>(n));
    resp_bytes_ = true;
    if (static_cast<size_t>(n) < space && !up_->rdhup) up_->readable = false;
    w_->upstream_timers->Arm(&up_->timer, w_->loop().now_ms());
    return true;
  }
  if (n < 0 && errno == EINTR) return true;
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
    up_->readable = false;
    return true;
  }
  if (n == 0 && up_->parser.in_message() && up_->parser.head_done() && up_->parser.message_needs_eof()) {
    // The body was delimited by the close (HTTP/1.0 style): that was its end.
    if (up_->parser.Finish() == ParseStatus::kMessageComplete) {
      resp_complete_ = true;
      resp_keep_alive_ = false;
      resp_body_.Finish();
      return true;
    }
  }
  UpstreamFailed(n == 0 ? UpstreamError::kProtocol : UpstreamError::kReset, true);
  return false;
}

bool ClientConnection::ParseResponse() {
  UpstreamConnection* up = up_;
  if (up->head == nullptr && !(up->parser.in_message() && up->parser.head_done())) {
    up->head = w_->TakeHead();
    up->parser.set_head(up->head);
  }
  const char* base = up->in.allocated() ? up->in.base() : kNoBytes;
  const char* data = up->in.allocated() ? up->in.unread() : kNoBytes;
  ParseResult r = up->parser.Execute(base, data, up->in.unread_size());
  up->in.Consume(r.consumed);
  resp_kick_ = false;
  switch (r.status) {
    case ParseStatus::kNeedMore:
      return true;
    case ParseStatus::kHeadComplete:
      return OnResponseHead();
    case ParseStatus::kMessageComplete:
      if (resp_interim_) {  // 100 Continue and friends: the real response follows
        resp_interim_ = false;
        return true;
      }
      if (resp_status_ == 101) tunnel_pending_ = true;
      resp_complete_ = true;
      resp_body_.Finish();
      if (!up->in.empty()) resp_keep_alive_ = false;  // bytes nobody asked for
      return true;
    case ParseStatus::kUpgrade:
      tunnel_pending_ = resp_status_ == 101;
      resp_complete_ = true;
      return true;
    default:
      break;
  }
  if (resp_started_) {
    AbortExchange();
  } else {
    UpstreamFailed(UpstreamError::kProtocol, false);
  }
  return false;
}

bool ClientConnection::OnResponseHead() {
  MessageHead& h = *up_->head;
  HeadInfo info;
  ClassifyHead(h, up_->in.base(), &info);
  ResponseForwarding fwd;
  bool write = true;
  if (h.status == 101) {
    if (!req_upgrade_) {
      UpstreamFailed(UpstreamError::kProtocol, false);
      return false;
    }
    fwd.upgrade = true;
    for (uint32_t i = 0; i < h.num_headers && info.upgrade.empty(); ++i) {
      if (info.kinds[i] == HeaderKind::kUpgrade) info.upgrade = h.Get(up_->in.base(), h.headers[i].value);
    }
    resp_started_ = true;
  } else if (h.status < 200) {
    resp_interim_ = true;
    write = !client_http10_;  // HTTP/1.0 clients do not get interim responses
  } else {
    if (req_head_method_) up_->parser.SkipBody();
    bool dechunk = h.chunked && client_http10_;
    close_after_ = !req_keep_alive_ || up_->parser.message_needs_eof() || dechunk || !req_complete_ ||
                   req_upgrade_ || w_->draining();
    fwd.chunked = h.chunked && !client_http10_;
    fwd.close = close_after_;
    fwd.keep_alive_10 = client_http10_ && !close_after_;
    // A response without a body (HEAD, 204, 304) keeps its framing fields but must not
    // get a chunked terminator.
    bool has_body = !req_head_method_ && h.status != 204 && h.status != 304;
    resp_body_.set_mode(fwd.chunked && has_body ? BodyForwarder::Mode::kChunked : BodyForwarder::Mode::kRaw);
    resp_keep_alive_ = h.keep_alive;
    resp_started_ = true;
  }
  if (write) WriteClientResponse(h, up_->in.base(), info, fwd, &to_client_);
  resp_status_ = h.status;
  w_->ReturnHead(up_->head);
  up_->head = nullptr;
  up_->parser.set_head(nullptr);
  resp_kick_ = true;
  return true;
}

void ClientConnection::FinishExchange() {
  RecordResponse(resp_status_);
  bool reusable = resp_keep_alive_ && req_complete_ && up_->in.empty() && !req_upgrade_;
  DetachUpstream(reusable ? UpstreamEnd::kReuse : UpstreamEnd::kClose);
  ReleaseSlot();
  to_up_.Clear();
  to_client_.Clear();
  if (close_after_ || w_->draining()) {
    CloseAfterResponse();
    return;
  }
  StartNextRequest();
}

void ClientConnection::ReleaseSlot() {
  if (!replica_) return;
  ServiceState* s = svc_.get();
  s->worker(w_->index()).in_flight.Change(w_->loop().now_ns(), -1);
  std::vector<Grant>* grants = w_->grant_scratch();
  s->limiter().Release(replica_.get(), w_->ReadyView(s), grants);
  replica_ = RefPtr<ReplicaState>();
  if (!grants->empty()) w_->Deliver(grants);
}

void ClientConnection::DetachUpstream(UpstreamEnd end) {
  if (up_ == nullptr) return;
  UpstreamConnection* up = up_;
  up_ = nullptr;
  TimerList::Cancel(&up->timer);
  if (up->head != nullptr) {
    w_->ReturnHead(up->head);
    up->head = nullptr;
    up->parser.set_head(nullptr);
  }
  up->parser.set_sink(nullptr);
  if (end == UpstreamEnd::kReuse) {
    w_->pool().Put(up);
  } else {
    w_->pool().Close(up, end == UpstreamEnd::kAbort);
  }
}

// The upstream failed before the exchange could finish. `may_retry`: the failure may be
// the keep-alive race (the replica closed a pooled connection as we reused it).
void ClientConnection::UpstreamFailed(UpstreamError kind, bool may_retry) {
  if (replica_) replica_->worker(w_->index()).errors[static_cast<int>(kind)].Add();
  if (may_retry && !resp_bytes_ && up_ != nullptr && up_->reused && req_retryable_ && !retried_ && Retry())
    return;
  if (resp_started_) {
    AbortExchange();
    return;
  }
  if (replica_) replica_->worker(w_->index()).responses[5].Add();
  DetachUpstream(UpstreamEnd::kAbort);
  ReleaseSlot();
  bool timeout = kind == UpstreamError::kTimeout;
  SendLocal(timeout ? 504 : 502, !req_complete_);
}

// Sends the request again on a new connection. False if that cannot even start.
bool ClientConnection::Retry() {
  DetachUpstream(UpstreamEnd::kAbort);
  int err = 0;
  UpstreamConnection* up = w_->pool().Connect(replica_.get(), &err);
  if (up == nullptr) return false;
  retried_ = true;
  w_->mutable_stats().retries.Add();
  replica_->worker(w_->index()).retries.Add();
  resp_bytes_ = false;
  to_up_.Rewind();
  Attach(up);
  PumpRequest();
  return true;
}

// Ends the exchange and resets the client connection: the client sees an error, never
// a clean end of a truncated response.
void ClientConnection::AbortExchange() {
  if (replica_ && resp_started_) replica_->worker(w_->index()).responses[resp_status_ / 100 % 6].Add();
  DetachUpstream(UpstreamEnd::kAbort);
  ReleaseSlot();
  Close(true);
}

}  // namespace berth::proxy
