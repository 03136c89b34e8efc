#include "proxy/head_rewriter.h"

#include <cstring>
#include <string_view>

namespace berth::proxy {

namespace {

constexpr std::string_view kCrlf = "\r\n";

bool IEquals(std::string_view a, std::string_view lower) {
  if (a.size() != lower.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char c = a[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + ('a' - 'A'));
    if (c != lower[i]) return false;
  }
  return true;
}

std::string_view TrimOws(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Calls fn(token) for each element of a comma-separated list (RFC 9110 5.6.1).
template <typename Fn>
void ForEachToken(std::string_view list, Fn fn) {
  while (!list.empty()) {
    size_t comma = list.find(',');
    std::string_view t = TrimOws(list.substr(0, comma));
    if (!t.empty()) fn(t);
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
}

bool IsHopByHop(HeaderKind k) {
  switch (k) {
    case HeaderKind::kConnection:
    case HeaderKind::kKeepAlive:
    case HeaderKind::kProxyConnection:
    case HeaderKind::kTe:
    case HeaderKind::kTrailer:
    case HeaderKind::kTransferEncoding:
    case HeaderKind::kUpgrade:
    case HeaderKind::kNamedByConnection:
      return true;
    default:
      return false;
  }
}

// A cursor over reserved OutQueue space.
struct Writer {
  char* p;
  void Put(std::string_view s) {
    if (s.empty()) return;  // (memcpy from a null pointer is undefined even for 0 bytes)
    std::memcpy(p, s.data(), s.size());
    p += s.size();
  }
  void Field(std::string_view name, std::string_view value) {
    Put(name);
    Put(": ");
    Put(value);
    Put(kCrlf);
  }
};

// Marks fields named by Connection tokens (other than close/keep-alive/upgrade).
void MarkConnectionTokens(const MessageHead& head, const char* base, HeadInfo* info) {
  int budget = HeadInfo::kMaxConnectionTokens;  // bounds the work on hostile heads
  for (uint32_t i = 0; i < head.num_headers; ++i) {
    if (info->kinds[i] != HeaderKind::kConnection) continue;
    ForEachToken(head.Get(base, head.headers[i].value), [&](std::string_view t) {
      if (IEquals(t, "close")) {
        info->connection_close = true;
        return;
      }
      if (IEquals(t, "keep-alive") || IEquals(t, "upgrade") || --budget < 0) return;
      for (uint32_t j = 0; j < head.num_headers; ++j) {
        if (info->kinds[j] == HeaderKind::kOther && t.size() == head.headers[j].name.len) {
          std::string_view name = head.Get(base, head.headers[j].name);
          bool same = true;
          for (size_t k = 0; k < t.size() && same; ++k) same = ((t[k] | 0x20) == (name[k] | 0x20));
          if (same) info->kinds[j] = HeaderKind::kNamedByConnection;
        }
      }
    });
  }
}

// Joins the values of every field of `kind`, separated by ", ".
void JoinValues(Writer& w, const MessageHead& head, const char* base, const HeadInfo& info, HeaderKind kind) {
  bool first = true;
  for (uint32_t i = 0; i < head.num_headers; ++i) {
    if (info.kinds[i] != kind || head.headers[i].value.len == 0) continue;
    if (!first) w.Put(", ");
    w.Put(head.Get(base, head.headers[i].value));
    first = false;
  }
  if (!first) w.Put(", ");
}

void PutStatus(Writer& w, unsigned status) {
  char digits[3] = {static_cast<char>('0' + status / 100 % 10), static_cast<char>('0' + status / 10 % 10),
                    static_cast<char>('0' + status % 10)};
  w.Put(std::string_view(digits, 3));
}

}  // namespace

HeaderKind ClassifyHeaderName(std::string_view n) {
  switch (n.size()) {
    case 2:
      if (IEquals(n, "te")) return HeaderKind::kTe;
      break;
    case 3:
      if (IEquals(n, "via")) return HeaderKind::kVia;
      break;
    case 4:
      if (IEquals(n, "host")) return HeaderKind::kHost;
      break;
    case 6:
      if (IEquals(n, "expect")) return HeaderKind::kExpect;
      break;
    case 7:
      if (IEquals(n, "upgrade")) return HeaderKind::kUpgrade;
      if (IEquals(n, "trailer")) return HeaderKind::kTrailer;
      break;
    case 10:
      if (IEquals(n, "connection")) return HeaderKind::kConnection;
      if (IEquals(n, "keep-alive")) return HeaderKind::kKeepAlive;
      break;
    case 15:
      if (IEquals(n, "x-forwarded-for")) return HeaderKind::kXForwardedFor;
      break;
    case 16:
      if (IEquals(n, "x-forwarded-host")) return HeaderKind::kXForwardedHost;
      if (IEquals(n, "proxy-connection")) return HeaderKind::kProxyConnection;
      break;
    case 17:
      if (IEquals(n, "x-forwarded-proto")) return HeaderKind::kXForwardedProto;
      if (IEquals(n, "transfer-encoding")) return HeaderKind::kTransferEncoding;
      break;
    default:
      break;
  }
  return HeaderKind::kOther;
}

int ClassifyHead(const MessageHead& head, const char* base, HeadInfo* info) {
  bool has_connection = false;
  for (uint32_t i = 0; i < head.num_headers; ++i) {
    const HeaderField& f = head.headers[i];
    HeaderKind k = ClassifyHeaderName(head.Get(base, f.name));
    info->kinds[i] = k;
    info->field_bytes += f.name.len + f.value.len;
    std::string_view v = head.Get(base, f.value);
    switch (k) {
      case HeaderKind::kHost:
        info->host = v;
        ++info->host_count;
        for (char c : v) {
          if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f) return 400;
        }
        break;
      case HeaderKind::kConnection:
        has_connection = true;
        break;
      case HeaderKind::kUpgrade:
        info->upgrade = v;
        break;
      case HeaderKind::kExpect:
        info->expect_continue = IEquals(v, "100-continue");
        break;
      case HeaderKind::kXForwardedFor:
        info->xff_bytes += f.value.len + 2;
        break;
      case HeaderKind::kVia:
        info->via_bytes += f.value.len + 2;
        break;
      default:
        break;
    }
  }
  if (info->host_count > 1) return 400;
  if (has_connection) MarkConnectionTokens(head, base, info);
  if (!head.upgrade) info->upgrade = {};
  return 0;
}

void WriteUpstreamRequest(const MessageHead& head, const char* base, const HeadInfo& info,
                          const RequestForwarding& fwd, OutQueue* out) {
  const char* method = llhttp_method_name(static_cast<llhttp_method_t>(head.method));
  size_t reserve = std::strlen(method) + fwd.url.size() + 16 + info.field_bytes + 4 * head.num_headers +
                   info.xff_bytes + fwd.client_addr.size() + 2 * info.host.size() + fwd.default_host.size() +
                   info.via_bytes + info.upgrade.size() + 256;
  char* start = out->AppendSpace(reserve);
  Writer w{start};
  w.Put(method);
  w.Put(" ");
  w.Put(fwd.url);
  w.Put(" HTTP/1.1\r\n");
  for (uint32_t i = 0; i < head.num_headers; ++i) {
    HeaderKind k = info.kinds[i];
    if (IsHopByHop(k) || k == HeaderKind::kXForwardedFor || k == HeaderKind::kXForwardedProto ||
        k == HeaderKind::kXForwardedHost || k == HeaderKind::kVia) {
      continue;
    }
    w.Field(head.Get(base, head.headers[i].name), head.Get(base, head.headers[i].value));
  }
  if (info.host_count == 0 && !fwd.default_host.empty()) w.Field("Host", fwd.default_host);
  if (head.chunked) w.Put("Transfer-Encoding: chunked\r\n");
  if (!info.upgrade.empty()) {
    w.Put("Connection: upgrade\r\n");
    w.Field("Upgrade", info.upgrade);
  }
  w.Put("X-Forwarded-For: ");
  JoinValues(w, head, base, info, HeaderKind::kXForwardedFor);
  w.Put(fwd.client_addr);
  w.Put(kCrlf);
  w.Field("X-Forwarded-Proto", fwd.proto);
  if (!info.host.empty()) w.Field("X-Forwarded-Host", info.host);
  w.Put("Via: ");
  JoinValues(w, head, base, info, HeaderKind::kVia);
  w.Put("1.1 berth\r\n\r\n");
  out->Unappend(reserve - static_cast<size_t>(w.p - start));
}

void WriteClientResponse(const MessageHead& head, const char* base, const HeadInfo& info,
                         const ResponseForwarding& fwd, OutQueue* out) {
  size_t reserve = head.reason.len + 32 + info.field_bytes + 4 * head.num_headers + info.via_bytes +
                   info.upgrade.size() + 160;
  char* start = out->AppendSpace(reserve);
  Writer w{start};
  w.Put("HTTP/1.1 ");
  PutStatus(w, head.status);
  w.Put(" ");
  w.Put(head.Get(base, head.reason));
  w.Put(kCrlf);
  for (uint32_t i = 0; i < head.num_headers; ++i) {
    HeaderKind k = info.kinds[i];
    if (IsHopByHop(k) || k == HeaderKind::kVia) continue;
    w.Field(head.Get(base, head.headers[i].name), head.Get(base, head.headers[i].value));
  }
  if (fwd.chunked) w.Put("Transfer-Encoding: chunked\r\n");
  if (fwd.upgrade) {
    w.Put("Connection: upgrade\r\n");
    w.Field("Upgrade", info.upgrade);
  } else if (fwd.close) {
    w.Put("Connection: close\r\n");
  } else if (fwd.keep_alive_10) {
    w.Put("Connection: keep-alive\r\n");
  }
  w.Put("Via: ");
  JoinValues(w, head, base, info, HeaderKind::kVia);
  w.Put("1.1 berth\r\n\r\n");
  out->Unappend(reserve - static_cast<size_t>(w.p - start));
}

bool SplitAbsoluteUrl(std::string_view url, std::string_view* authority, std::string_view* origin) {
  size_t scheme = url.find("://");
  if (scheme == std::string_view::npos || scheme == 0 || url.front() == '/') return false;
  std::string_view rest = url.substr(scheme + 3);
  size_t slash = rest.find_first_of("/?");
  // "http://host?q" has no path to forward as an origin-form target ("?q" is not one).
  if (slash != std::string_view::npos && rest[slash] == '?') return false;
  *authority = rest.substr(0, slash);
  *origin = slash == std::string_view::npos ? std::string_view("/") : rest.substr(slash);
  size_t at = authority->rfind('@');  // userinfo is not part of the host
  if (at != std::string_view::npos) authority->remove_prefix(at + 1);
  return true;
}

int NormalizeHost(std::string_view host, char* out, size_t cap) {
  if (!host.empty() && host.front() != '[') {
    size_t colon = host.rfind(':');
    if (colon != std::string_view::npos) host = host.substr(0, colon);
  }
  if (!host.empty() && host.back() == '.') host.remove_suffix(1);
  if (host.size() >= cap) return -1;
  for (size_t i = 0; i < host.size(); ++i) {
    char c = host[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + ('a' - 'A'));
    if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f) return -1;
    out[i] = c;
  }
  return static_cast<int>(host.size());
}

}  // namespace berth::proxy
