// ClientConnection: one accepted client connection and the exchange it is running.
//
// The state machine of the data plane. Per request:
//   kIdle/kHead  read and parse the request head (llhttp); enforce the limits
//   (route)      Host (+ path prefix) -> service; 404 if none
//   (admit)      the service's ConcurrencyLimiter: a slot on the least-loaded ready
//                replica, or kQueued (FIFO with deadline), 429 on overflow, 503 without
//                a ready replica
//   kProxying    an upstream connection from the pool (or a new one); the rewritten head
//                and the body stream to it while the response streams back; both sides
//                apply backpressure: a source is not read while its destination still
//                has queued bytes from it
//   kTunnel      after a 101 response: bytes both ways until both sides close
//   kLingering   after a response that closes the connection: FIN sent, input
//                discarded until the client closes (so a RST cannot destroy the response)
// then back to kIdle (keep-alive) or closed. Common case cost: one read and one write on
// each side, no epoll_ctl, no allocation (buffers, heads and connection objects come
// from per-worker pools).
//
// Failure handling, per the README policy: malformed input -> 4xx and close; upstream
// connect failure -> 502; upstream silent past --upstream-timeout -> 504; upstream dead
// on a reused keep-alive connection before any response byte -> the request is sent
// again once on a new connection if it is idempotent and has no body; upstream failure
// after the response head went out -> the client connection is reset (RST), never ended
// cleanly, so the client cannot mistake a truncated response for a complete one.
//
// Thread-safety: none; a connection lives on one worker thread. Cross-thread inputs
// (queue grants) arrive through the worker's mailbox.
#pragma once

#include <netinet/in.h>

#include <cstdint>

#include "proxy/buffer.h"
#include "proxy/event_loop.h"
#include "proxy/http_parser.h"
#include "proxy/limiter.h"
#include "proxy/out_queue.h"
#include "proxy/service_state.h"

namespace berth::proxy {

class Worker;
class UpstreamConnection;
struct ServiceEntry;
struct HeadInfo;

// Forwards parsed body bytes to an OutQueue: as they are, or re-framed as chunked.
class BodyForwarder final : public BodySink {
 public:
  enum class Mode : uint8_t { kRaw, kChunked };
  explicit BodyForwarder(OutQueue* out) : out_(out) {}
  void set_mode(Mode m) { mode_ = m; }
  void OnBody(const char* p, size_t n) override;
  void OnChunkHeader(uint64_t size) override;
  void OnChunkComplete() override;
  // The message ended: the last chunk for chunked mode.
  void Finish();

 private:
  OutQueue* out_;
  Mode mode_ = Mode::kRaw;
};

class ClientConnection final : public IoHandler, public TimerClient {
 public:
  explicit ClientConnection(Worker* worker);
  ~ClientConnection();

  void Open(int fd, const sockaddr_in& peer);
  void OnIo(uint32_t events) override;
  void OnTimer() override;

  // From the UpstreamConnection this connection owns.
  void OnUpstreamIo(uint32_t events);
  void OnUpstreamTimeout();
  // A queue grant or expiry for this connection; false if stale (the request it was
  // for is gone), in which case the caller releases the slot.
  bool AcceptGrant(const Grant& g);
  // The worker is draining: close now if idle, else after the current response.
  void BeginDrain();
  // Continue a request that was deferred to the end of the batch.
  void Resume();
  void CloseNow() { Close(true); }

  bool open() const { return fd_ >= 0; }
  uint64_t seq() const { return seq_; }

  // Worker bookkeeping: intrusive lists of live and free connections.
  ClientConnection* prev = nullptr;
  ClientConnection* next = nullptr;

 private:
  enum class State : uint8_t { kIdle, kHead, kQueued, kLocal, kProxying, kTunnel, kLingering, kClosed };
  enum class UpstreamEnd : uint8_t { kReuse, kClose, kAbort };

  // client_connection.cc: reading requests, local answers, closing.
  void ProcessInput();
  bool ParseHead();
  bool ReadClient();
  void HandleHead();
  const ServiceEntry* RouteAndRewrite(const HeadInfo& info);
  void Admit(const ServiceEntry* entry);
  void SendLocal(int status, bool close);
  void FlushLocal();
  void FinishLocal();
  void StartNextRequest();
  void CloseAfterResponse();
  void DrainLinger();
  void Close(bool abort);
  void ResetRequest();
  void RecordResponse(int status);

  // exchange.cc: the upstream side.
  void Dispatch(ReplicaState* replica);
  void Attach(UpstreamConnection* up);
  bool PumpRequest();
  bool ParseRequestBody();
  bool PumpResponse();
  bool ReadUpstream();
  bool ParseResponse();
  bool OnResponseHead();
  void FinishExchange();
  void ReleaseSlot();
  void DetachUpstream(UpstreamEnd end);
  void UpstreamFailed(UpstreamError kind, bool may_retry);
  bool Retry();
  void AbortExchange();
  bool UpstreamConnected();

  // tunnel.cc
  void StartTunnel();
  void PumpTunnel();

  Worker* w_;
  int fd_ = -1;
  State state_ = State::kClosed;
  bool readable_ = false;
  bool rdhup_ = false;
  char client_ip_[16];
  uint8_t client_ip_len_ = 0;
  uint64_t seq_ = 0;  // bumped per queued request and on close: stale grants are detected

  Buffer in_;
  OutQueue to_up_;
  OutQueue to_client_;
  HttpParser req_parser_;
  BodyForwarder req_body_;
  BodyForwarder resp_body_;
  MessageHead* head_ = nullptr;
  TimerNode timer_;
  Waiter waiter_;

  // The current exchange.
  RefPtr<ServiceState> svc_;
  RefPtr<ReplicaState> replica_;
  UpstreamConnection* up_ = nullptr;
  int64_t start_ns_ = 0;
  int resp_status_ = 0;
  bool head_timer_armed_ = false;
  bool req_complete_ = false;
  bool req_kick_ = false;  // the parser must run once more (it is paused at the head)
  bool req_keep_alive_ = false;
  bool req_has_body_ = false;
  bool req_retryable_ = false;
  bool req_upgrade_ = false;
  bool req_head_method_ = false;
  bool req_chunked_ = false;
  bool client_http10_ = false;
  bool resp_kick_ = false;
  bool resp_bytes_ = false;    // any response byte arrived
  bool resp_started_ = false;  // the response head went to the client
  bool resp_complete_ = false;
  bool resp_interim_ = false;  // the current response message is a 1xx
  bool resp_keep_alive_ = false;
  bool close_after_ = false;
  bool retried_ = false;
  bool tunnel_pending_ = false;
  bool c2u_eof_ = false;  // tunnel: client finished sending
  bool u2c_eof_ = false;  // tunnel: upstream finished sending
  bool c2u_shut_ = false;
  bool u2c_shut_ = false;
};

}  // namespace berth::proxy
