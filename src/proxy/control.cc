#include "proxy/control.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

namespace berth::proxy {

using nlohmann::json;

namespace {

// nlohmann::json reports type errors with exceptions; the proxy never throws, so every
// access below checks the type first (and parse/dump use their non-throwing modes).
std::string Dump(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

Status Field(const json& obj, const char* key, const json** out, bool required) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) {
    *out = nullptr;
    if (required) return InvalidArgument(std::string("missing \"") + key + "\"");
    return OkStatus();
  }
  *out = &*it;
  return OkStatus();
}

Status GetString(const json& obj, const char* key, std::string* out, bool required) {
  const json* v;
  BERTH_RETURN_IF_ERROR(Field(obj, key, &v, required));
  if (v == nullptr) return OkStatus();
  if (!v->is_string()) return InvalidArgument(std::string("\"") + key + "\" must be a string");
  *out = v->get_ref<const std::string&>();
  return OkStatus();
}

Status GetUint(const json& obj, const char* key, uint64_t max, uint64_t* out, bool required) {
  const json* v;
  BERTH_RETURN_IF_ERROR(Field(obj, key, &v, required));
  if (v == nullptr) return OkStatus();
  if (!v->is_number_unsigned() && !(v->is_number_integer() && v->get<int64_t>() >= 0)) {
    return InvalidArgument(std::string("\"") + key + "\" must be a non-negative integer");
  }
  uint64_t x = v->get<uint64_t>();
  if (x > max) return InvalidArgument(std::string("\"") + key + "\" is over " + std::to_string(max));
  *out = x;
  return OkStatus();
}

Status GetBool(const json& obj, const char* key, bool* out) {
  const json* v;
  BERTH_RETURN_IF_ERROR(Field(obj, key, &v, false));
  if (v == nullptr) return OkStatus();
  if (!v->is_boolean()) return InvalidArgument(std::string("\"") + key + "\" must be true or false");
  *out = v->get<bool>();
  return OkStatus();
}

bool ValidHost(std::string* host) {
  if (*host == "*") return true;
  if (host->empty() || host->size() > 253) return false;
  for (char& c : *host) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + ('a' - 'A'));
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_';
    if (!ok) return false;
  }
  return host->front() != '.' && host->back() != '.';
}

bool ValidPrefix(const std::string& p) {
  if (p.empty()) return true;
  if (p.front() != '/' || p.size() > 1024) return false;
  for (unsigned char c : p) {
    if (c <= ' ' || c == 0x7f || c == '?' || c == '#') return false;
  }
  return true;
}

bool Printable(const std::string& s, size_t max) {
  if (s.empty() || s.size() > max) return false;
  for (unsigned char c : s) {
    if (c < ' ' || c == 0x7f) return false;
  }
  return true;
}

Status ParseUpstream(const json& j, UpstreamSpec* u) {
  if (!j.is_object()) return InvalidArgument("an upstream must be an object");
  BERTH_RETURN_IF_ERROR(GetString(j, "id", &u->id, true));
  BERTH_RETURN_IF_ERROR(GetString(j, "addr", &u->addr, true));
  BERTH_RETURN_IF_ERROR(GetBool(j, "ready", &u->ready));
  if (!Printable(u->id, 256)) return InvalidArgument("upstream id must be 1-256 printable characters");
  uint32_t ip;
  uint16_t port;
  return ParseIpv4Address(u->addr, &ip, &port).WithContext("upstream " + u->id);
}

Status ParseHosts(const json& j, RouteSpec* r) {
  BERTH_RETURN_IF_ERROR(GetString(j, "host", &r->host, true));
  if (!ValidHost(&r->host)) return InvalidArgument("invalid host \"" + r->host + "\"");
  const json* aliases;
  BERTH_RETURN_IF_ERROR(Field(j, "aliases", &aliases, false));
  if (aliases == nullptr) return OkStatus();
  if (!aliases->is_array()) return InvalidArgument("\"aliases\" must be an array of host names");
  for (const json& a : *aliases) {
    if (!a.is_string()) return InvalidArgument("\"aliases\" must be an array of host names");
    std::string h = a.get<std::string>();
    if (!ValidHost(&h)) return InvalidArgument("invalid alias \"" + h + "\"");
    r->aliases.push_back(std::move(h));
  }
  return OkStatus();
}

Status ParseRoute(const json& j, RouteSpec* r) {
  if (!j.is_object()) return InvalidArgument("a route must be an object");
  BERTH_RETURN_IF_ERROR(ParseHosts(j, r));
  BERTH_RETURN_IF_ERROR(GetString(j, "path_prefix", &r->path_prefix, false));
  if (!ValidPrefix(r->path_prefix)) return InvalidArgument("invalid path_prefix \"" + r->path_prefix + "\"");
  BERTH_RETURN_IF_ERROR(GetString(j, "service", &r->service, true));
  if (!Printable(r->service, 256)) return InvalidArgument("service must be 1-256 printable characters");
  uint64_t limit = 0, queue = 0, timeout = static_cast<uint64_t>(r->queue_timeout_ms);
  BERTH_RETURN_IF_ERROR(GetUint(j, "limit", 1'000'000, &limit, false));
  BERTH_RETURN_IF_ERROR(GetUint(j, "queue", 1'000'000, &queue, false));
  BERTH_RETURN_IF_ERROR(GetUint(j, "queue_timeout_ms", 3'600'000, &timeout, false));
  if (timeout == 0) return InvalidArgument("\"queue_timeout_ms\" must be positive");
  r->limit = static_cast<uint32_t>(limit);
  r->queue = static_cast<uint32_t>(queue);
  r->queue_timeout_ms = static_cast<int64_t>(timeout);
  BERTH_RETURN_IF_ERROR(GetBool(j, "wait_for_replica", &r->wait_for_replica));
  const json* ups;
  BERTH_RETURN_IF_ERROR(Field(j, "upstreams", &ups, false));
  if (ups != nullptr && !ups->is_array()) return InvalidArgument("\"upstreams\" must be an array");
  std::set<std::string> ids;
  if (ups != nullptr) {
    for (const json& u : *ups) {
      UpstreamSpec spec;
      BERTH_RETURN_IF_ERROR(ParseUpstream(u, &spec));
      if (!ids.insert(spec.id).second) return InvalidArgument("duplicate upstream id \"" + spec.id + "\"");
      r->upstreams.push_back(std::move(spec));
    }
  }
  return OkStatus();
}

bool SameService(const RouteSpec& a, const RouteSpec& b) {
  if (a.limit != b.limit || a.queue != b.queue || a.queue_timeout_ms != b.queue_timeout_ms ||
      a.wait_for_replica != b.wait_for_replica || a.upstreams.size() != b.upstreams.size()) {
    return false;
  }
  for (size_t i = 0; i < a.upstreams.size(); ++i) {
    const UpstreamSpec& x = a.upstreams[i];
    const UpstreamSpec& y = b.upstreams[i];
    if (x.id != y.id || x.addr != y.addr || x.ready != y.ready) return false;
  }
  return true;
}

Status CheckSnapshot(const RouteSnapshot& s) {
  std::set<std::pair<std::string, std::string>> seen;
  std::map<std::string, const RouteSpec*> services;
  for (const RouteSpec& r : s.routes) {
    std::vector<const std::string*> hosts{&r.host};
    for (const std::string& a : r.aliases) hosts.push_back(&a);
    for (const std::string* h : hosts) {
      if (!seen.insert({*h, r.path_prefix}).second) {
        return InvalidArgument("two routes for host \"" + *h + "\" and path_prefix \"" + r.path_prefix +
                               "\"");
      }
    }
    auto [it, inserted] = services.emplace(r.service, &r);
    if (!inserted && !SameService(*it->second, r)) {
      return InvalidArgument("routes of service \"" + r.service + "\" disagree on its upstreams or limits");
    }
  }
  return OkStatus();
}

StatusOr<RouteSnapshot> SnapshotFromJson(const json& j) {
  if (!j.is_object()) return InvalidArgument("a snapshot must be a JSON object");
  RouteSnapshot s;
  BERTH_RETURN_IF_ERROR(GetUint(j, "version", UINT64_MAX, &s.version, true));
  BERTH_RETURN_IF_ERROR(GetString(j, "domain", &s.domain, false));
  const json* routes;
  BERTH_RETURN_IF_ERROR(Field(j, "routes", &routes, true));
  if (!routes->is_array()) return InvalidArgument("\"routes\" must be an array");
  for (size_t i = 0; i < routes->size(); ++i) {
    RouteSpec r;
    Status st = ParseRoute((*routes)[i], &r);
    if (!st.ok()) return st.WithContext("routes[" + std::to_string(i) + "]");
    s.routes.push_back(std::move(r));
  }
  BERTH_RETURN_IF_ERROR(CheckSnapshot(s));
  return s;
}

json SnapshotToJson(const RouteSnapshot& s) {
  json routes = json::array();
  for (const RouteSpec& r : s.routes) {
    json ups = json::array();
    for (const UpstreamSpec& u : r.upstreams)
      ups.push_back({{"id", u.id}, {"addr", u.addr}, {"ready", u.ready}});
    routes.push_back({{"host", r.host},
                      {"aliases", r.aliases},
                      {"path_prefix", r.path_prefix},
                      {"service", r.service},
                      {"limit", r.limit},
                      {"queue", r.queue},
                      {"queue_timeout_ms", r.queue_timeout_ms},
                      {"wait_for_replica", r.wait_for_replica},
                      {"upstreams", std::move(ups)}});
  }
  return {{"type", "snapshot"}, {"version", s.version}, {"domain", s.domain}, {"routes", std::move(routes)}};
}

double GetDouble(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_number() ? it->get<double>() : 0.0;
}

uint64_t GetU64(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_number_unsigned() ? it->get<uint64_t>() : 0;
}

int64_t GetI64(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_number_integer() ? it->get<int64_t>() : 0;
}

StatsReport StatsFromJson(const json& j) {
  StatsReport r;
  r.time_ms = GetI64(j, "time_ms");
  r.interval_ms = GetI64(j, "interval_ms");
  r.version = GetU64(j, "version");
  auto it = j.find("services");
  if (it == j.end() || !it->is_object()) return r;
  for (const auto& [name, v] : it->items()) {
    if (!v.is_object()) continue;
    ServiceStats s;
    s.in_flight = GetU64(v, "in_flight");
    s.queued = GetU64(v, "queued");
    s.requests = GetU64(v, "requests");
    s.requests_total = GetU64(v, "requests_total");
    s.rejected = GetU64(v, "rejected");
    s.avg_concurrency = GetDouble(v, "avg_concurrency");
    s.avg_queued = GetDouble(v, "avg_queued");
    if (auto u = v.find("upstreams"); u != v.end() && u->is_object())
      for (const auto& [id, n] : u->items())
        if (n.is_number_unsigned()) s.upstream_in_flight[id] = n.get<uint64_t>();
    r.services[name] = s;
  }
  return r;
}

}  // namespace

Status ParseIpv4Address(std::string_view addr, uint32_t* ip, uint16_t* port, bool allow_port_zero) {
  size_t colon = addr.rfind(':');
  if (colon == std::string_view::npos)
    return InvalidArgument("\"" + std::string(addr) + "\": expected HOST:PORT");
  std::string host(addr.substr(0, colon));
  std::string_view p = addr.substr(colon + 1);
  unsigned value = 0;
  auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), value);
  if (ec != std::errc() || end != p.data() + p.size() || p.empty() || (value == 0 && !allow_port_zero) ||
      value > 65535) {
    return InvalidArgument("\"" + std::string(addr) + "\": invalid port");
  }
  if (host == "localhost") host = "127.0.0.1";
  if (host.empty()) host = "0.0.0.0";
  in_addr a;
  if (inet_pton(AF_INET, host.c_str(), &a) != 1) {
    return InvalidArgument("\"" + std::string(addr) + "\": host must be an IPv4 address or localhost");
  }
  *ip = ntohl(a.s_addr);
  *port = static_cast<uint16_t>(value);
  return OkStatus();
}

std::string EncodeSnapshot(const RouteSnapshot& s) {
  return Dump(SnapshotToJson(s));
}

std::string EncodeHello(int64_t pid, uint64_t version) {
  return Dump({{"type", "hello"}, {"pid", pid}, {"version", version}, {"build", "berth-proxy 0.1.0"}});
}

std::string EncodeAck(uint64_t version) {
  return Dump({{"type", "ack"}, {"version", version}});
}

std::string EncodeError(std::string_view message) {
  return Dump({{"type", "error"}, {"message", std::string(message)}});
}

std::string EncodePing() {
  return R"({"type":"ping"})";
}

std::string EncodePong(uint64_t version) {
  return Dump({{"type", "pong"}, {"version", version}});
}

std::string EncodeActivate(std::string_view service, uint64_t queued) {
  return Dump({{"type", "activate"}, {"service", std::string(service)}, {"queued", queued}});
}

std::string EncodeStats(const StatsReport& r) {
  json services = json::object();
  for (const auto& [name, s] : r.services) {
    services[name] = {{"in_flight", s.in_flight},   {"queued", s.queued},
                      {"requests", s.requests},     {"requests_total", s.requests_total},
                      {"rejected", s.rejected},     {"avg_concurrency", s.avg_concurrency},
                      {"avg_queued", s.avg_queued}, {"upstreams", s.upstream_in_flight}};
  }
  return Dump({{"type", "stats"},
               {"time_ms", r.time_ms},
               {"interval_ms", r.interval_ms},
               {"version", r.version},
               {"services", std::move(services)}});
}

StatusOr<RouteSnapshot> ParseSnapshot(std::string_view text) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return InvalidArgument("not valid JSON");
  return SnapshotFromJson(j);
}

StatusOr<ControlMessage> ParseControlMessage(std::string_view line) {
  json j = json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return InvalidArgument("not valid JSON");
  if (!j.is_object()) return InvalidArgument("a message must be a JSON object");
  std::string type;
  BERTH_RETURN_IF_ERROR(GetString(j, "type", &type, true));
  ControlMessage m;
  if (type == "snapshot") {
    m.type = ControlMessage::Type::kSnapshot;
    BERTH_ASSIGN_OR_RETURN(m.snapshot, SnapshotFromJson(j));
  } else if (type == "hello") {
    m.type = ControlMessage::Type::kHello;
    m.pid = GetI64(j, "pid");
    m.version = GetU64(j, "version");
    BERTH_RETURN_IF_ERROR(GetString(j, "build", &m.message, false));
  } else if (type == "ack" || type == "pong") {
    m.type = type == "ack" ? ControlMessage::Type::kAck : ControlMessage::Type::kPong;
    m.version = GetU64(j, "version");
  } else if (type == "error") {
    m.type = ControlMessage::Type::kError;
    BERTH_RETURN_IF_ERROR(GetString(j, "message", &m.message, false));
  } else if (type == "stats") {
    m.type = ControlMessage::Type::kStats;
    m.stats = StatsFromJson(j);
  } else if (type == "ping") {
    m.type = ControlMessage::Type::kPing;
  } else if (type == "activate") {
    m.type = ControlMessage::Type::kActivate;
    BERTH_RETURN_IF_ERROR(GetString(j, "service", &m.message, true));
    m.queued = GetU64(j, "queued");
  } else {
    return InvalidArgument("unknown message type \"" + type + "\"");
  }
  return m;
}

void LineFramer::Append(std::string_view bytes) {
  buf_.append(bytes);
}

bool LineFramer::Next(std::string* line) {
  for (;;) {
    size_t nl = buf_.find('\n', scanned_);
    if (nl == std::string::npos) {
      scanned_ = buf_.size();
      if (buf_.size() > max_line_) {
        overflow_ = true;
        buf_.clear();
        scanned_ = 0;
      }
      return false;
    }
    size_t len = nl;
    if (len > 0 && buf_[len - 1] == '\r') --len;
    line->assign(buf_, 0, len);
    buf_.erase(0, nl + 1);
    scanned_ = 0;
    if (len > max_line_) {
      overflow_ = true;
      continue;
    }
    return true;
  }
}

Status WriteRoutesFile(const std::string& path, const RouteSnapshot& s) {
  std::string tmp = path + ".tmp." + std::to_string(getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return ErrnoStatus("open " + tmp);
  std::string data = EncodeSnapshot(s) + "\n";
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      Status st = ErrnoStatus("write " + tmp);
      ::close(fd);
      ::unlink(tmp.c_str());
      return st;
    }
    off += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    ::unlink(tmp.c_str());
    return ErrnoStatus("fsync " + tmp);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    Status st = ErrnoStatus("rename " + tmp);
    ::unlink(tmp.c_str());
    return st;
  }
  return OkStatus();
}

StatusOr<RouteSnapshot> ReadRoutesFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound("cannot open routes file " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  auto s = ParseSnapshot(ss.str());
  if (!s.ok()) return s.status().WithContext("routes file " + path);
  return s;
}

}  // namespace berth::proxy
