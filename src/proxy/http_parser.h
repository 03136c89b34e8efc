// HttpParser: llhttp, wrapped for a proxy that forwards what it parses.
//
// One parser per connection direction (requests from a client, responses from an
// upstream). Execute() runs llhttp over newly received bytes and stops at each point the
// connection has to act on:
//   kHeadComplete     the head is parsed into the attached MessageHead (spans are
//                     offsets into the caller's buffer, `base`)
//   kMessageComplete  the message (head and body) ended; bytes after it are the next
//                     message and are not parsed until the next Execute()
//   kUpgrade          an upgrade/CONNECT message ended; what follows is another protocol
//   kNeedMore         every byte was consumed
//   kError            malformed or over a limit; error_status() is the HTTP status to
//                     answer a request with (400, 413, 414, 431)
// Body bytes (de-chunked) and chunk boundaries go to a BodySink as they are parsed.
//
// On top of llhttp's strict mode it rejects what a proxy must not pass on (RFC 9112):
// header names with whitespace or other non-token bytes ("Host : x"), obsolete line
// folding, HTTP versions other than 1.0/1.1, Transfer-Encoding in HTTP/1.0; and it
// enforces the start-line, header and body limits. llhttp itself rejects
// Content-Length together with Transfer-Encoding, duplicate or malformed Content-Length,
// a Transfer-Encoding whose last coding is not chunked, and bad chunk sizes.
//
// Thread-safety: none; one parser per connection on one worker thread.
#pragma once

#include <llhttp.h>

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace berth::proxy {

struct Span {
  uint32_t off = 0;
  uint32_t len = 0;
};

struct HeaderField {
  Span name;
  Span value;  // without leading or trailing whitespace
};

// The parsed head of one message. Lives in a per-worker pool, attached to a parser
// while a head is being parsed.
struct MessageHead {
  static constexpr uint32_t kMaxHeaders = 100;

  uint8_t method = 0;   // llhttp_method_t (requests)
  uint16_t status = 0;  // responses
  uint8_t http_major = 0;
  uint8_t http_minor = 0;
  Span url;
  Span reason;  // response reason phrase
  bool chunked = false;
  bool has_content_length = false;
  bool upgrade = false;     // llhttp's view: Upgrade + Connection: upgrade, or CONNECT, or 101
  bool keep_alive = false;  // per RFC 9112 (version and Connection)
  uint64_t content_length = 0;
  uint32_t num_headers = 0;
  HeaderField headers[kMaxHeaders];

  void Clear();
  std::string_view Get(const char* base, Span s) const { return {base + s.off, s.len}; }
};

class BodySink {
 public:
  virtual void OnBody(const char* p, size_t n) = 0;
  virtual void OnChunkHeader(uint64_t size) = 0;
  virtual void OnChunkComplete() = 0;

 protected:
  ~BodySink() = default;
};

struct ParseLimits {
  uint32_t max_start_line = 8 * 1024;               // request line (or status line); 414 for requests
  uint32_t max_header_bytes = 64 * 1024;            // all fields; 431
  uint32_t max_headers = MessageHead::kMaxHeaders;  // 431
  uint64_t max_body = 0;                            // 0: no limit; 413
};

enum class ParseStatus { kNeedMore, kHeadComplete, kMessageComplete, kUpgrade, kError };

struct ParseResult {
  ParseStatus status;
  size_t consumed;  // bytes of the input used (all of it for kNeedMore)
};

class HttpParser {
 public:
  enum class Kind { kRequest, kResponse };

  explicit HttpParser(Kind kind);
  HttpParser(const HttpParser&) = delete;
  HttpParser& operator=(const HttpParser&) = delete;

  // Forgets all state (new connection, or after an error).
  void Reset();
  void set_limits(const ParseLimits* limits) { limits_ = limits; }
  // Where the next head is recorded. nullptr after the head was handled: trailer fields
  // are then counted against the limits but not recorded.
  void set_head(MessageHead* head) { head_ = head; }
  void set_sink(BodySink* sink) { sink_ = sink; }

  // `base` is the start of the buffer `data` lies in (spans are offsets from it); bytes
  // from earlier calls of the same head must still be at the same offsets.
  ParseResult Execute(const char* base, const char* data, size_t len);
  // The peer closed: ends a body delimited by the connection close (kMessageComplete),
  // or reports an incomplete message (kError).
  ParseStatus Finish();

  // Call at kHeadComplete of a response to a HEAD request: the body is not there.
  void SkipBody() { p_.flags |= F_SKIPBODY; }
  bool message_needs_eof() const { return llhttp_message_needs_eof(&p_) != 0; }
  bool in_message() const { return in_message_; }
  bool head_done() const { return head_done_; }
  int status_code() const { return p_.status_code; }

  int error_status() const { return error_status_; }
  const char* error_reason() const { return error_reason_; }

 private:
  static int OnMessageBegin(llhttp_t* p);
  static int OnUrl(llhttp_t* p, const char* at, size_t n);
  static int OnStatus(llhttp_t* p, const char* at, size_t n);
  static int OnMethodOrVersion(llhttp_t* p, const char* at, size_t n);
  static int OnHeaderField(llhttp_t* p, const char* at, size_t n);
  static int OnHeaderFieldComplete(llhttp_t* p);
  static int OnHeaderValue(llhttp_t* p, const char* at, size_t n);
  static int OnHeaderValueComplete(llhttp_t* p);
  static int OnHeadersComplete(llhttp_t* p);
  static int OnBody(llhttp_t* p, const char* at, size_t n);
  static int OnChunkHeader(llhttp_t* p);
  static int OnChunkComplete(llhttp_t* p);
  static int OnMessageComplete(llhttp_t* p);
  static const llhttp_settings_t* Settings();

  int Fail(int status, const char* reason);
  bool AddStartLine(size_t n);
  bool AddHeaderBytes(size_t n);
  int ValidateHead();

  llhttp_t p_;
  Kind kind_;
  const ParseLimits* limits_;
  MessageHead* head_ = nullptr;
  BodySink* sink_ = nullptr;
  const char* base_ = nullptr;
  uint32_t start_line_bytes_ = 0;
  uint32_t header_bytes_ = 0;
  uint64_t body_bytes_ = 0;
  int error_status_ = 0;
  const char* error_reason_ = nullptr;
  bool paused_ = false;
  bool in_message_ = false;
  bool head_done_ = false;
  bool value_started_ = false;
  bool field_open_ = false;
  uint8_t pause_ = 0;  // why llhttp was paused (head, message, upgrade)
  uint32_t num_fields_ = 0;
  uint64_t chunk_size_ = 0;
};

// Token characters of RFC 9110 (field names, methods, transfer codings).
bool IsTokenChar(unsigned char c);

}  // namespace berth::proxy
