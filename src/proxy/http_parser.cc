#include "proxy/http_parser.h"

#include <algorithm>

namespace berth::proxy {

namespace {

enum PauseReason : uint8_t { kPauseNone, kPauseHead, kPauseMessage, kPauseUpgrade };

struct TokenTable {
  bool t[256] = {};
  constexpr TokenTable() {
    for (int c = '0'; c <= '9'; ++c) t[c] = true;
    for (int c = 'a'; c <= 'z'; ++c) t[c] = true;
    for (int c = 'A'; c <= 'Z'; ++c) t[c] = true;
    for (char c : {'!', '#', '$', '%', '&', '\'', '*', '+', '-', '.', '^', '_', '`', '|', '~'}) {
      t[static_cast<unsigned char>(c)] = true;
    }
  }
};
constexpr TokenTable kTokens;

HttpParser* Self(llhttp_t* p) {
  return static_cast<HttpParser*>(p->data);
}

constexpr ParseLimits kDefaultLimits{};

}  // namespace

bool IsTokenChar(unsigned char c) {
  return kTokens.t[c];
}

void MessageHead::Clear() {
  method = 0;
  status = 0;
  http_major = http_minor = 0;
  url = reason = {};
  chunked = has_content_length = upgrade = keep_alive = false;
  content_length = 0;
  num_headers = 0;
}

const llhttp_settings_t* HttpParser::Settings() {
  static const llhttp_settings_t settings = [] {
    llhttp_settings_t s;
    llhttp_settings_init(&s);
    s.on_message_begin = OnMessageBegin;
    s.on_url = OnUrl;
    s.on_status = OnStatus;
    s.on_method = OnMethodOrVersion;
    s.on_version = OnMethodOrVersion;
    s.on_header_field = OnHeaderField;
    s.on_header_field_complete = OnHeaderFieldComplete;
    s.on_header_value = OnHeaderValue;
    s.on_header_value_complete = OnHeaderValueComplete;
    s.on_headers_complete = OnHeadersComplete;
    s.on_body = OnBody;
    s.on_chunk_header = OnChunkHeader;
    s.on_chunk_complete = OnChunkComplete;
    s.on_message_complete = OnMessageComplete;
    return s;
  }();
  return &settings;
}

HttpParser::HttpParser(Kind kind) : kind_(kind), limits_(&kDefaultLimits) {
  Reset();
}

void HttpParser::Reset() {
  llhttp_init(&p_, kind_ == Kind::kRequest ? HTTP_REQUEST : HTTP_RESPONSE, Settings());
  p_.data = this;
  start_line_bytes_ = header_bytes_ = 0;
  body_bytes_ = 0;
  error_status_ = 0;
  error_reason_ = nullptr;
  paused_ = in_message_ = head_done_ = value_started_ = field_open_ = false;
  pause_ = kPauseNone;
  num_fields_ = 0;
  chunk_size_ = 0;
}

int HttpParser::Fail(int status, const char* reason) {
  error_status_ = status;
  error_reason_ = reason;
  llhttp_set_error_reason(&p_, reason);
  return HPE_USER;
}

bool HttpParser::AddStartLine(size_t n) {
  start_line_bytes_ += static_cast<uint32_t>(std::min<size_t>(n, 1u << 30));
  return start_line_bytes_ <= limits_->max_start_line;
}

bool HttpParser::AddHeaderBytes(size_t n) {
  header_bytes_ += static_cast<uint32_t>(std::min<size_t>(n, 1u << 30));
  return header_bytes_ <= limits_->max_header_bytes;
}

ParseResult HttpParser::Execute(const char* base, const char* data, size_t len) {
  base_ = base;
  if (paused_) {
    llhttp_resume(&p_);
    paused_ = false;
  }
  pause_ = kPauseNone;
  llhttp_errno_t e = llhttp_execute(&p_, data, len);
  if (e == HPE_OK) return {ParseStatus::kNeedMore, len};
  size_t used = p_.error_pos != nullptr ? static_cast<size_t>(p_.error_pos - data) : 0;
  if (e == HPE_PAUSED) {
    paused_ = true;
    switch (pause_) {
      case kPauseHead:
        return {ParseStatus::kHeadComplete, used};
      case kPauseUpgrade:
        return {ParseStatus::kUpgrade, used};
      default:
        return {ParseStatus::kMessageComplete, used};
    }
  }
  if (e == HPE_PAUSED_UPGRADE) return {ParseStatus::kUpgrade, used};
  if (error_status_ == 0) {
    error_status_ = 400;
    error_reason_ = llhttp_get_error_reason(&p_);
  }
  return {ParseStatus::kError, used};
}

ParseStatus HttpParser::Finish() {
  if (paused_) {
    llhttp_resume(&p_);
    paused_ = false;
  }
  if (!in_message_) return ParseStatus::kNeedMore;
  llhttp_errno_t e = llhttp_finish(&p_);
  if (e == HPE_PAUSED) {
    paused_ = true;
    return ParseStatus::kMessageComplete;
  }
  if (error_status_ == 0) {
    error_status_ = 400;
    error_reason_ = "connection closed before the message ended";
  }
  return ParseStatus::kError;
}

int HttpParser::OnMessageBegin(llhttp_t* p) {
  HttpParser* self = Self(p);
  self->start_line_bytes_ = self->header_bytes_ = 0;
  self->body_bytes_ = 0;
  self->in_message_ = true;
  self->head_done_ = false;
  self->value_started_ = false;
  self->field_open_ = false;
  self->num_fields_ = 0;
  if (self->head_ != nullptr) self->head_->Clear();
  return 0;
}

int HttpParser::OnUrl(llhttp_t* p, const char* at, size_t n) {
  HttpParser* self = Self(p);
  if (!self->AddStartLine(n)) return self->Fail(414, "request line too long");
  if (self->head_ != nullptr) {
    Span& u = self->head_->url;
    if (u.len == 0) u.off = static_cast<uint32_t>(at - self->base_);
    u.len += static_cast<uint32_t>(n);
  }
  return 0;
}

int HttpParser::OnStatus(llhttp_t* p, const char* at, size_t n) {
  HttpParser* self = Self(p);
  if (!self->AddStartLine(n)) return self->Fail(502, "status line too long");
  if (self->head_ != nullptr) {
    Span& r = self->head_->reason;
    if (r.len == 0) r.off = static_cast<uint32_t>(at - self->base_);
    r.len += static_cast<uint32_t>(n);
  }
  return 0;
}

int HttpParser::OnMethodOrVersion(llhttp_t* p, const char*, size_t n) {
  HttpParser* self = Self(p);
  if (!self->AddStartLine(n)) {
    return self->Fail(self->kind_ == Kind::kRequest ? 414 : 502, "start line too long");
  }
  return 0;
}

int HttpParser::OnHeaderField(llhttp_t* p, const char* at, size_t n) {
  HttpParser* self = Self(p);
  if (!self->AddHeaderBytes(n)) return self->Fail(431, "header fields too large");
  if (!self->field_open_) {
    self->field_open_ = true;
    self->value_started_ = false;
    if (++self->num_fields_ > self->limits_->max_headers || self->num_fields_ > MessageHead::kMaxHeaders) {
      return self->Fail(431, "too many header fields");
    }
    if (self->head_ != nullptr && !self->head_done_) {
      HeaderField& h = self->head_->headers[self->head_->num_headers++];
      h.name = {static_cast<uint32_t>(at - self->base_), static_cast<uint32_t>(n)};
      h.value = {h.name.off + h.name.len, 0};
    }
    return 0;
  }
  if (self->head_ != nullptr && !self->head_done_) {
    HeaderField& h = self->head_->headers[self->head_->num_headers - 1];
    if (self->base_ + h.name.off + h.name.len != at) return self->Fail(400, "split header name");
    h.name.len += static_cast<uint32_t>(n);
  }
  return 0;
}

int HttpParser::OnHeaderFieldComplete(llhttp_t* p) {
  HttpParser* self = Self(p);
  self->field_open_ = false;
  if (self->head_ == nullptr || self->head_done_) return 0;
  const HeaderField& h = self->head_->headers[self->head_->num_headers - 1];
  if (h.name.len == 0) return self->Fail(400, "empty header name");
  // llhttp lets whitespace through inside a field name ("Host A: x", "Host : x") and
  // reports it as part of the name: every byte must be a token character (the fuzzer
  // checks this on every input: checking only the last byte was not enough).
  const char* s = self->base_ + h.name.off;
  for (uint32_t i = 0; i < h.name.len; ++i) {
    if (!kTokens.t[static_cast<unsigned char>(s[i])]) {
      return self->Fail(400, "invalid character in header name (whitespace before the colon?)");
    }
  }
  return 0;
}

int HttpParser::OnHeaderValue(llhttp_t* p, const char* at, size_t n) {
  HttpParser* self = Self(p);
  if (!self->AddHeaderBytes(n)) return self->Fail(431, "header fields too large");
  if (self->head_ == nullptr || self->head_done_) return 0;
  HeaderField& h = self->head_->headers[self->head_->num_headers - 1];
  if (!self->value_started_) {
    self->value_started_ = true;
    h.value = {static_cast<uint32_t>(at - self->base_), static_cast<uint32_t>(n)};
    return 0;
  }
  // llhttp reports an obs-fold continuation as more value bytes after the CRLF: the
  // gap gives it away. RFC 9112 5.2 lets a proxy reject it; passing it on is how
  // requests get smuggled past other parsers.
  if (self->base_ + h.value.off + h.value.len != at) return self->Fail(400, "obsolete line folding");
  h.value.len += static_cast<uint32_t>(n);
  return 0;
}

int HttpParser::OnHeaderValueComplete(llhttp_t* p) {
  HttpParser* self = Self(p);
  if (!self->AddHeaderBytes(4)) return self->Fail(431, "header fields too large");
  self->value_started_ = false;
  if (self->head_ == nullptr || self->head_done_) return 0;
  HeaderField& h = self->head_->headers[self->head_->num_headers - 1];
  const char* s = self->base_ + h.value.off;
  while (h.value.len > 0 && (s[h.value.len - 1] == ' ' || s[h.value.len - 1] == '\t')) --h.value.len;
  return 0;
}

int HttpParser::ValidateHead() {
  if (p_.http_major != 1 || p_.http_minor > 1)
    return Fail(kind_ == Kind::kRequest ? 505 : 502, "unsupported HTTP version");
  if (kind_ == Kind::kRequest && p_.http_minor == 0 && (p_.flags & F_TRANSFER_ENCODING)) {
    return Fail(400, "Transfer-Encoding in an HTTP/1.0 request");
  }
  // llhttp only notices this after the head; the head must not be forwarded first.
  if (kind_ == Kind::kRequest && (p_.flags & F_TRANSFER_ENCODING) && !(p_.flags & F_CHUNKED)) {
    return Fail(400, "Transfer-Encoding must end with chunked");
  }
  if (kind_ == Kind::kRequest && limits_->max_body != 0 && (p_.flags & F_CONTENT_LENGTH) &&
      p_.content_length > limits_->max_body) {
    return Fail(413, "request body too large");
  }
  return 0;
}

int HttpParser::OnHeadersComplete(llhttp_t* p) {
  HttpParser* self = Self(p);
  if (self->head_done_) return 0;  // (not reached: trailers end with message complete)
  self->head_done_ = true;
  if (int err = self->ValidateHead(); err != 0) return err;
  if (MessageHead* h = self->head_; h != nullptr) {
    h->method = p->method;
    h->status = p->status_code;
    h->http_major = p->http_major;
    h->http_minor = p->http_minor;
    h->chunked = (p->flags & F_CHUNKED) != 0;
    h->has_content_length = (p->flags & F_CONTENT_LENGTH) != 0;
    h->content_length = p->content_length;
    h->upgrade = p->upgrade != 0;
    h->keep_alive = llhttp_should_keep_alive(p) != 0;
  }
  self->num_fields_ = 0;  // trailers get their own budget of fields
  self->pause_ = kPauseHead;
  return HPE_PAUSED;
}

int HttpParser::OnBody(llhttp_t* p, const char* at, size_t n) {
  HttpParser* self = Self(p);
  self->body_bytes_ += n;
  if (self->kind_ == Kind::kRequest && self->limits_->max_body != 0 &&
      self->body_bytes_ > self->limits_->max_body) {
    return self->Fail(413, "request body too large");
  }
  if (self->sink_ != nullptr) self->sink_->OnBody(at, n);
  return 0;
}

int HttpParser::OnChunkHeader(llhttp_t* p) {
  HttpParser* self = Self(p);
  self->chunk_size_ = p->content_length;
  if (self->sink_ != nullptr) self->sink_->OnChunkHeader(p->content_length);
  return 0;
}

int HttpParser::OnChunkComplete(llhttp_t* p) {
  HttpParser* self = Self(p);
  if (self->sink_ != nullptr && self->chunk_size_ != 0) self->sink_->OnChunkComplete();
  return 0;
}

int HttpParser::OnMessageComplete(llhttp_t* p) {
  HttpParser* self = Self(p);
  self->in_message_ = false;
  self->pause_ = p->upgrade ? kPauseUpgrade : kPauseMessage;
  return HPE_PAUSED;
}

}  // namespace berth::proxy
