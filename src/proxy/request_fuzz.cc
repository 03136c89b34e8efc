// libFuzzer target for the proxy's request path: bytes from a client go through the
// HttpParser (fed in pieces, as reads deliver them), head classification, routing and
// head rewriting, and the body through the re-framing BodyForwarder, exactly as
// ClientConnection does. Nothing may crash, leak or read out of bounds, and what would
// go upstream must be one well-formed message that an independent parser reads back as
// the same request: same method and target, same body bytes, no hop-by-hop fields. That
// is the no-smuggling property. Responses get the same treatment the other way.
//
//   CC=clang CXX=clang++ cmake -S . -B build-proxy-fuzz -G Ninja -DBERTH_FUZZ=ON -DBERTH_BENCH=OFF
//   cmake --build build-proxy-fuzz --target proxy_request_fuzz
//   build-proxy-fuzz/src/proxy/proxy_request_fuzz -dict=src/proxy/fuzz.dict CORPUS src/proxy/fuzz_corpus
#include <fcntl.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include "proxy/client_connection.h"
#include "proxy/head_rewriter.h"
#include "proxy/http_parser.h"
#include "proxy/out_queue.h"
#include "proxy/route_table.h"

namespace {

using namespace berth::proxy;

#define CHECK(cond)                                                          \
  do {                                                                       \
    if (!(cond)) {                                                           \
      std::fprintf(stderr, "CHECK failed: %s (line %d)\n", #cond, __LINE__); \
      std::abort();                                                          \
    }                                                                        \
  } while (0)

struct Collect final : BodySink {
  std::string body;
  void OnBody(const char* p, size_t n) override { body.append(p, n); }
  void OnChunkHeader(uint64_t) override {}
  void OnChunkComplete() override {}
};

// Everything an OutQueue holds, in order (drained through a pipe).
std::string Contents(OutQueue& q) {
  std::string s;
  int fds[2];
  CHECK(pipe2(fds, O_NONBLOCK) == 0);
  for (;;) {
    int err = 0;
    OutQueue::Result r = q.Flush(fds[1], &err);
    CHECK(r != OutQueue::Result::kError);
    char buf[65536];
    ssize_t n;
    while ((n = read(fds[0], buf, sizeof(buf))) > 0) s.append(buf, static_cast<size_t>(n));
    if (r == OutQueue::Result::kDone) break;
  }
  close(fds[0]);
  close(fds[1]);
  return s;
}

const RouteTable& Table() {
  static StateRegistry registry(1);
  static std::shared_ptr<const RouteTable> table = [] {
    RouteSnapshot s;
    RouteSpec a;
    a.host = "api.shop.localhost";
    a.service = "shop/api";
    a.upstreams = {{"1", "127.0.0.1:8000", true}};
    RouteSpec b = a;
    b.path_prefix = "/admin";
    b.service = "shop/admin";
    RouteSpec c = a;
    c.host = "*";
    c.service = "default";
    s.routes = {a, b, c};
    return *RouteTable::Build(s, &registry);
  }();
  return *table;
}

// Re-reads the forwarded request and compares it with what the proxy parsed.
void CheckForwarded(const std::string& wire, const MessageHead& orig_head, std::string_view orig_url,
                    const std::string& orig_body, bool body_complete) {
  HttpParser p(HttpParser::Kind::kRequest);
  ParseLimits unlimited;
  unlimited.max_header_bytes = 1u << 30;
  unlimited.max_start_line = 1u << 30;
  p.set_limits(&unlimited);
  MessageHead head;
  Collect body;
  p.set_head(&head);
  p.set_sink(&body);
  ParseResult r = p.Execute(wire.data(), wire.data(), wire.size());
  CHECK(r.status == ParseStatus::kHeadComplete);
  CHECK(head.method == orig_head.method);
  CHECK(head.Get(wire.data(), head.url) == orig_url);
  CHECK(head.chunked == orig_head.chunked);
  CHECK(head.content_length == orig_head.content_length);
  for (uint32_t i = 0; i < head.num_headers; ++i) {
    HeaderKind k = ClassifyHeaderName(head.Get(wire.data(), head.headers[i].name));
    CHECK(k != HeaderKind::kKeepAlive && k != HeaderKind::kProxyConnection && k != HeaderKind::kTe &&
          k != HeaderKind::kTrailer);
    if (k == HeaderKind::kConnection || k == HeaderKind::kUpgrade) CHECK(orig_head.upgrade);
  }
  size_t off = r.consumed;
  r = p.Execute(wire.data(), wire.data() + off, wire.size() - off);
  if (body_complete) {
    CHECK(r.status == ParseStatus::kMessageComplete || r.status == ParseStatus::kUpgrade);
    CHECK(off + r.consumed == wire.size());  // nothing after the message: no smuggled request
  } else {
    CHECK(r.status == ParseStatus::kNeedMore);
  }
  CHECK(body.body == orig_body);
}

// Parses the body from `*off` on (in read-sized pieces) through the re-framing
// forwarder into `out`, collecting the decoded bytes. False if the request failed.
bool StreamBody(HttpParser* parser, const std::string& in, bool chunked, size_t step, size_t* off,
                size_t* end, OutQueue* out, std::string* decoded, bool* complete) {
  BodyForwarder forward(out);
  forward.set_mode(chunked ? BodyForwarder::Mode::kChunked : BodyForwarder::Mode::kRaw);
  Collect collect;
  struct Tee final : BodySink {
    BodySink* a;
    BodySink* b;
    void OnBody(const char* p, size_t n) override { a->OnBody(p, n), b->OnBody(p, n); }
    void OnChunkHeader(uint64_t s) override { a->OnChunkHeader(s), b->OnChunkHeader(s); }
    void OnChunkComplete() override { a->OnChunkComplete(), b->OnChunkComplete(); }
  } tee;
  tee.a = &forward;
  tee.b = &collect;
  parser->set_head(nullptr);
  parser->set_sink(&tee);
  for (;;) {
    ParseResult r = parser->Execute(in.data(), in.data() + *off, *end - *off);
    *off += r.consumed;
    if (r.status == ParseStatus::kError) return false;  // the proxy aborts the exchange
    if (r.status == ParseStatus::kMessageComplete || r.status == ParseStatus::kUpgrade) {
      forward.Finish();
      *complete = true;
      break;
    }
    if (*end == in.size()) break;
    *end = std::min(in.size(), *end + step);
  }
  *decoded = std::move(collect.body);
  return true;
}

void FuzzRequest(const uint8_t* data, size_t size, size_t step) {
  std::string in(reinterpret_cast<const char*>(data), size);
  ParseLimits limits;
  limits.max_body = 4096;
  limits.max_headers = 90;  // the rewritten head adds up to 7 fields; a MessageHead holds 100
  HttpParser parser(HttpParser::Kind::kRequest);
  parser.set_limits(&limits);
  MessageHead head;
  parser.set_head(&head);
  size_t off = 0, end = std::min(step, in.size());
  ParseResult r{ParseStatus::kNeedMore, 0};
  for (;;) {  // the head, in pieces
    r = parser.Execute(in.data(), in.data() + off, end - off);
    off += r.consumed;
    if (r.status != ParseStatus::kNeedMore || end == in.size()) break;
    end = std::min(in.size(), end + step);
  }
  if (r.status != ParseStatus::kHeadComplete) return;
  if (head.method == HTTP_CONNECT) return;  // answered 405 by ClientConnection::HandleHead
  for (uint32_t i = 0; i < head.num_headers; ++i) {  // every accepted field name is a token
    std::string_view name = head.Get(in.data(), head.headers[i].name);
    for (char c : name) CHECK(IsTokenChar(static_cast<unsigned char>(c)));
  }
  HeadInfo info;
  if (ClassifyHead(head, in.data(), &info) != 0) return;
  std::string_view url = head.Get(in.data(), head.url);
  std::string_view host = info.host, origin = url, authority;
  if (SplitAbsoluteUrl(url, &authority, &origin)) host = authority;
  char hostbuf[256];
  int n = NormalizeHost(host, hostbuf, sizeof(hostbuf));
  if (n < 0) return;
  const Route* route = Table().Match(std::string_view(hostbuf, static_cast<size_t>(n)), origin);
  CHECK(route != nullptr);  // "*" catches everything
  BufferPool pool;
  OutQueue out(&pool);
  RequestForwarding fwd;
  fwd.client_addr = "192.0.2.1";
  fwd.default_host = route->service->default_host;
  fwd.url = origin;
  WriteUpstreamRequest(head, in.data(), info, fwd, &out);
  std::string decoded;
  bool complete = false;
  if (!StreamBody(&parser, in, head.chunked, step, &off, &end, &out, &decoded, &complete)) return;
  CheckForwarded(Contents(out), head, origin, decoded, complete);
}

void FuzzResponse(const uint8_t* data, size_t size) {
  std::string in(reinterpret_cast<const char*>(data), size);
  HttpParser parser(HttpParser::Kind::kResponse);
  ParseLimits limits;
  limits.max_headers = 90;  // the rewritten head adds up to 3 fields; a MessageHead holds 100
  parser.set_limits(&limits);
  MessageHead head;
  parser.set_head(&head);
  ParseResult r = parser.Execute(in.data(), in.data(), in.size());
  if (r.status != ParseStatus::kHeadComplete) return;
  HeadInfo info;
  ClassifyHead(head, in.data(), &info);
  BufferPool pool;
  OutQueue out(&pool);
  ResponseForwarding fwd;
  fwd.chunked = head.chunked;
  fwd.close = (size & 1) != 0;
  fwd.upgrade = head.status == 101;
  WriteClientResponse(head, in.data(), info, fwd, &out);
  BodyForwarder forward(&out);
  forward.set_mode(head.chunked ? BodyForwarder::Mode::kChunked : BodyForwarder::Mode::kRaw);
  parser.set_head(nullptr);
  parser.set_sink(&forward);
  size_t off = r.consumed;
  r = parser.Execute(in.data(), in.data() + off, in.size() - off);
  if (r.status == ParseStatus::kMessageComplete) forward.Finish();
  std::string wire = Contents(out);
  HttpParser again(HttpParser::Kind::kResponse);
  MessageHead h2;
  again.set_head(&h2);
  ParseResult r2 = again.Execute(wire.data(), wire.data(), wire.size());
  CHECK(r2.status == ParseStatus::kHeadComplete || head.status < 200);
  if (r2.status == ParseStatus::kHeadComplete) CHECK(h2.status == head.status);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  // The first byte picks the read size the bytes arrive in (1..256, or all at once).
  size_t step = data[0] == 0 ? size : data[0];
  FuzzRequest(data + 1, size - 1, step);
  FuzzResponse(data + 1, size - 1);
  return 0;
}
