#include <algorithm>
#include <cctype>

#include "spec/fields.h"
#include "spec/service_parser.h"

namespace berth::spec {
namespace {

// The port of "host:8000", "[::1]:8000" or "8000"; the host part is ignored because
// checks always target the replica itself.
std::optional<int> PortOf(std::string_view hostport) {
  size_t colon = hostport.rfind(':');
  std::string_view port = colon == std::string_view::npos ? hostport : hostport.substr(colon + 1);
  if (port.empty() || port.size() > 5) return std::nullopt;
  int v = 0;
  for (char c : port) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  if (v < 1 || v > 65535) return std::nullopt;
  return v;
}

void HttpCheck(const std::string& url, Pos pos, const std::string& path, Diagnostics& d, HealthCheck* hc) {
  constexpr std::string_view kScheme = "http://";
  if (!std::string_view(url).starts_with(kScheme)) {
    d.Error(
        pos, path,
        "HTTP check needs an http:// URL with a port, e.g. http://localhost:8000/health; got " + Quoted(url));
    return;
  }
  std::string_view rest = std::string_view(url).substr(kScheme.size());
  size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  std::optional<int> port = authority.find(':') == std::string_view::npos ? std::nullopt : PortOf(authority);
  if (!port) {
    d.Error(pos, path, "HTTP check URL " + Quoted(url) + " needs a port, e.g. http://localhost:8000/health");
    return;
  }
  hc->kind = HealthKind::kHttp;
  hc->port = *port;
  hc->http_path = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
}

void TcpCheck(const std::string& target, Pos pos, const std::string& path, Diagnostics& d, HealthCheck* hc) {
  std::optional<int> port = PortOf(target);
  if (!port) {
    d.Error(pos, path, "TCP check needs a port (\"8000\" or \"localhost:8000\"), got " + Quoted(target));
    return;
  }
  hc->kind = HealthKind::kTcp;
  hc->port = *port;
}

void ParseTest(const YamlNode& n, const std::string& path, Diagnostics& d, HealthCheck* hc) {
  if (n.invalid || n.is_null()) return;
  if (n.is_scalar()) {
    if (n.scalar.empty()) return d.Error(n.pos, path, "healthcheck test is empty");
    hc->kind = HealthKind::kCmdShell;
    hc->command = {"/bin/sh", "-c", n.scalar};
    return;
  }
  std::optional<std::vector<std::string>> list = ReadStringList(n, path, d);
  if (!list) return;
  if (list->empty()) return d.Error(n.pos, path, "healthcheck test is empty");
  const std::string& kind = list->front();
  std::vector<std::string> args(list->begin() + 1, list->end());
  auto want_one = [&](std::string_view what) {
    if (args.size() == 1) return true;
    d.Error(n.pos, path, "[\"" + kind + "\", ...] takes exactly one " + std::string(what));
    return false;
  };
  if (kind == "NONE") {
    hc->kind = HealthKind::kNone;
  } else if (kind == "CMD") {
    if (args.empty()) return d.Error(n.pos, path, "[\"CMD\", ...] needs a command");
    hc->kind = HealthKind::kCmd;
    hc->command = std::move(args);
  } else if (kind == "CMD-SHELL") {
    if (args.empty()) return d.Error(n.pos, path, "[\"CMD-SHELL\", ...] needs a script");
    std::string script;
    for (const std::string& a : args) script += (script.empty() ? "" : " ") + a;
    hc->kind = HealthKind::kCmdShell;
    hc->command = {"/bin/sh", "-c", script};
  } else if (kind == "HTTP") {
    if (want_one("URL")) HttpCheck(args[0], n.pos, path, d, hc);
  } else if (kind == "TCP") {
    if (want_one("port")) TcpCheck(args[0], n.pos, path, d, hc);
  } else {
    d.Error(n.pos, path,
            "healthcheck test must start with \"CMD\", \"CMD-SHELL\", \"NONE\", \"HTTP\" or \"TCP\", got " +
                Quoted(kind));
  }
}

void PositiveDuration(const YamlNode& map, std::string_view key, const std::string& path, bool allow_zero,
                      Diagnostics& d, Millis* out) {
  const YamlNode* n = map.Find(key);
  if (!n) return;
  std::string kpath = ChildPath(path, key);
  std::optional<Millis> v = ReadDuration(*n, kpath, d);
  if (!v) return;
  if (!allow_zero && v->count() == 0)
    return d.Error(n->pos, kpath, std::string(key) + " must be greater than 0");
  *out = *v;
}

std::optional<int64_t> IntField(const YamlNode& map, std::string_view key, const std::string& path,
                                Diagnostics& d, int64_t min, int64_t max) {
  const YamlNode* n = map.Find(key);
  return n ? ReadInt(*n, ChildPath(path, key), d, min, max) : std::nullopt;
}

void ParseResources(const YamlNode& n, const std::string& path, bool limits, LoadState& st, Resources* out) {
  if (!ExpectMap(n, path, st.diags)) return;
  static constexpr KeyRule kLimitKeys[] = {{"cpus"}, {"memory"}, {"pids"}};
  static constexpr KeyRule kReservationKeys[] = {
      {"cpus"}, {"memory"}, {"devices", kNotSupported}, {"generic_resources", kNotSupported}};
  if (limits) {
    CheckKeys(n, path, kLimitKeys, Extensions::kIgnore, st.diags);
  } else {
    CheckKeys(n, path, kReservationKeys, Extensions::kIgnore, st.diags);
  }
  if (const YamlNode* v = n.Find("cpus"))
    out->cpus = ReadCpus(*v, ChildPath(path, "cpus"), st.diags).value_or(0);
  if (const YamlNode* v = n.Find("memory")) {
    out->memory_bytes = ReadBytes(*v, ChildPath(path, "memory"), st.diags).value_or(0);
  }
  if (limits) out->pids = IntField(n, "pids", path, st.diags, 1, 4'194'304).value_or(0);
}

void ParseRestartPolicy(const YamlNode& n, const std::string& path, Pos key_pos, LoadState& st,
                        DeployResult* result) {
  if (!ExpectMap(n, path, st.diags)) return;
  static constexpr KeyRule kKeys[] = {
      {"condition"},
      {"max_attempts"},
      {"delay", "is not supported by berth and is ignored (restarts back off exponentially)"},
      {"window", kNotSupported}};
  CheckKeys(n, path, kKeys, Extensions::kIgnore, st.diags);
  Restart r{RestartPolicy::kAlways, 0};  // Compose's default condition is "any"
  std::string shown = "always";
  if (const YamlNode* c = n.Find("condition")) {
    std::string cpath = ChildPath(path, "condition");
    std::optional<std::string> cond = ReadString(*c, cpath, st.diags);
    if (!cond) return;
    if (*cond == "none") {
      r.policy = RestartPolicy::kNo;
      shown = "\"no\"";
    } else if (*cond == "on-failure") {
      r.policy = RestartPolicy::kOnFailure;
      r.max_retries = static_cast<int>(IntField(n, "max_attempts", path, st.diags, 0, 1'000'000).value_or(0));
      shown = r.max_retries ? "on-failure:" + std::to_string(r.max_retries) : "on-failure";
    } else if (*cond != "any") {
      st.diags.Error(c->pos, cpath, "invalid condition " + Quoted(*cond) + " (use none, on-failure or any)");
      return;
    }
  }
  st.diags.Warning(key_pos, path, "deploy.restart_policy is mapped to restart: " + shown);
  result->restart = r;
}

}  // namespace

void ParseHealthcheck(const YamlNode& n, const std::string& path, LoadState& st, HealthCheck* hc) {
  if (!ExpectMap(n, path, st.diags)) return;
  static constexpr KeyRule kKeys[] = {{"test"},           {"interval"}, {"timeout"}, {"start_period"},
                                      {"start_interval"}, {"retries"},  {"disable"}};
  CheckKeys(n, path, kKeys, Extensions::kIgnore, st.diags);
  Diagnostics& d = st.diags;
  PositiveDuration(n, "interval", path, false, d, &hc->interval);
  PositiveDuration(n, "timeout", path, false, d, &hc->timeout);
  PositiveDuration(n, "start_period", path, true, d, &hc->start_period);
  PositiveDuration(n, "start_interval", path, false, d, &hc->start_interval);
  if (auto retries = IntField(n, "retries", path, d, 1, 1'000'000)) hc->retries = static_cast<int>(*retries);
  if (const YamlNode* dis = n.Find("disable"); dis && ReadBool(*dis, ChildPath(path, "disable"), d) == true) {
    hc->kind = HealthKind::kNone;
    hc->command.clear();
    return;
  }
  const YamlNode* test = n.Find("test");
  if (!test || test->is_null()) {
    d.Warning(n.pos, path, "healthcheck has no test and has no effect");
    return;
  }
  ParseTest(*test, ChildPath(path, "test"), d, hc);
}

void ParseDeploy(const YamlNode& n, const std::string& path, LoadState& st, Service* svc,
                 DeployResult* result) {
  if (!ExpectMap(n, path, st.diags)) return;
  static constexpr KeyRule kKeys[] = {{"replicas"},
                                      {"resources"},
                                      {"restart_policy"},
                                      {"mode", kNotSupported},
                                      {"endpoint_mode", kNotSupported},
                                      {"labels", kNotSupported},
                                      {"placement", kNotSupported},
                                      {"update_config", kNotSupported},
                                      {"rollback_config", kNotSupported}};
  CheckKeys(n, path, kKeys, Extensions::kIgnore, st.diags);
  if (const YamlNode* r = n.Find("replicas")) {
    result->replicas_path = ChildPath(path, "replicas");
    result->replicas_pos = r->pos;
    if (auto v = ReadInt(*r, result->replicas_path, st.diags, 0, 10'000))
      result->replicas = static_cast<int>(*v);
  }
  if (const YamlEntry* rp = n.FindEntry("restart_policy"))
    ParseRestartPolicy(rp->value, ChildPath(path, "restart_policy"), rp->key_pos, st, result);
  const YamlNode* res = n.Find("resources");
  std::string rpath = ChildPath(path, "resources");
  if (!res || !ExpectMap(*res, rpath, st.diags)) return;
  static constexpr KeyRule kResourceKeys[] = {{"limits"}, {"reservations"}};
  CheckKeys(*res, rpath, kResourceKeys, Extensions::kIgnore, st.diags);
  if (const YamlNode* l = res->Find("limits"))
    ParseResources(*l, ChildPath(rpath, "limits"), true, st, &svc->limits);
  const YamlNode* r = res->Find("reservations");
  if (!r) return;
  std::string vpath = ChildPath(rpath, "reservations");
  ParseResources(*r, vpath, false, st, &svc->reservations);
  if (svc->limits.cpus > 0 && svc->reservations.cpus > svc->limits.cpus)
    st.diags.Error(r->Find("cpus")->pos, ChildPath(vpath, "cpus"), "reservation is greater than the limit");
  if (svc->limits.memory_bytes > 0 && svc->reservations.memory_bytes > svc->limits.memory_bytes)
    st.diags.Error(r->Find("memory")->pos, ChildPath(vpath, "memory"),
                   "reservation is greater than the limit");
}

namespace {

bool ValidHost(std::string_view h) {
  if (h.empty() || h.size() > 253 || h.front() == '.' || h.back() == '.') return false;
  return std::all_of(h.begin(), h.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.';
  });
}

void ParseExpose(const YamlNode& n, const std::string& path, LoadState& st, Service* svc) {
  Diagnostics& d = st.diags;
  Expose e;
  if (n.is_scalar()) {
    auto port = ReadInt(n, path, d, 1, 65535);
    if (!port) return;
    e.port = static_cast<int>(*port);
    svc->expose = e;
    return;
  }
  if (!ExpectMap(n, path, d)) return;
  static constexpr KeyRule kKeys[] = {{"port"}, {"hosts"}, {"path_prefix"}};
  CheckKeys(n, path, kKeys, Extensions::kReject, d);
  const YamlNode* port = n.Find("port");
  if (!port || port->is_null()) return d.Error(n.pos, path, "expose needs a port");
  auto p = ReadInt(*port, ChildPath(path, "port"), d, 1, 65535);
  if (!p) return;
  e.port = static_cast<int>(*p);
  if (const YamlNode* hosts = n.Find("hosts")) {
    std::string hpath = ChildPath(path, "hosts");
    for (std::string h : ReadStringList(*hosts, hpath, d).value_or(std::vector<std::string>{})) {
      std::transform(h.begin(), h.end(), h.begin(), [](unsigned char c) { return std::tolower(c); });
      if (!ValidHost(h)) {
        d.Error(hosts->pos, hpath, "invalid host name " + Quoted(h));
        continue;
      }
      e.hosts.push_back(std::move(h));
    }
  }
  if (const YamlNode* prefix = n.Find("path_prefix")) {
    std::string ppath = ChildPath(path, "path_prefix");
    if (auto v = ReadString(*prefix, ppath, d)) {
      if (v->empty() || (*v)[0] != '/') {
        d.Error(prefix->pos, ppath, "path_prefix must start with \"/\", got " + Quoted(*v));
      } else {
        e.path_prefix = *v;
      }
    }
  }
  svc->expose = e;
}

void ParseConcurrency(const YamlNode& n, const std::string& path, LoadState& st, Concurrency* c) {
  if (!ExpectMap(n, path, st.diags)) return;
  static constexpr KeyRule kKeys[] = {{"limit"}, {"queue"}, {"queue_timeout"}};
  CheckKeys(n, path, kKeys, Extensions::kReject, st.diags);
  if (auto v = IntField(n, "limit", path, st.diags, 0, 1'000'000)) c->limit = static_cast<int>(*v);
  if (auto v = IntField(n, "queue", path, st.diags, 0, 1'000'000)) c->queue = static_cast<int>(*v);
  PositiveDuration(n, "queue_timeout", path, false, st.diags, &c->queue_timeout);
  if (c->queue > 0 && c->limit == 0)
    st.diags.Warning(n.pos, path, "queue has no effect without a concurrency limit");
}

void ParseScale(const YamlNode& n, const std::string& path, LoadState& st, Scale* s) {
  if (!ExpectMap(n, path, st.diags)) return;
  static constexpr KeyRule kKeys[] = {{"min"}, {"max"}, {"idle"}, {"window"}, {"target_utilization"}};
  CheckKeys(n, path, kKeys, Extensions::kReject, st.diags);
  std::optional<int64_t> min = IntField(n, "min", path, st.diags, 0, 10'000);
  std::optional<int64_t> max = IntField(n, "max", path, st.diags, 1, 10'000);
  s->min = static_cast<int>(min.value_or(std::min<int64_t>(1, max.value_or(1))));
  s->max = static_cast<int>(max.value_or(std::max<int64_t>(1, s->min)));
  if (min && max && *min > *max)
    st.diags.Error(n.Find("min")->pos, ChildPath(path, "min"),
                   "min " + std::to_string(*min) + " is greater than max " + std::to_string(*max));
  PositiveDuration(n, "idle", path, false, st.diags, &s->idle);
  if (const YamlNode* w = n.Find("window")) {
    // Knative's bounds: a window under 6 s reacts to noise, one over an hour to nothing.
    std::string wpath = ChildPath(path, "window");
    if (std::optional<Millis> v = ReadDuration(*w, wpath, st.diags)) {
      if (*v < Millis(6'000) || *v > Millis(3'600'000))
        st.diags.Error(w->pos, wpath, "window must be between 6s and 1h, got " + Quoted(w->scalar));
      else
        s->window = *v;
    }
  }
  if (const YamlNode* t = n.Find("target_utilization")) {
    std::string tpath = ChildPath(path, "target_utilization");
    if (auto v = ReadNumber(*t, tpath, st.diags)) {
      if (*v <= 0 || *v > 1) {
        st.diags.Error(t->pos, tpath, "target_utilization must be in (0, 1], got " + Quoted(t->scalar));
      } else {
        s->target_utilization = *v;
      }
    }
  }
}

}  // namespace

void ParseServiceExtensions(const YamlNode& n, const std::string& path, LoadState& st, Service* svc,
                            bool* has_scale) {
  if (!ExpectMap(n, path, st.diags)) return;
  static constexpr KeyRule kKeys[] = {{"expose"}, {"concurrency"}, {"scale"}};
  CheckKeys(n, path, kKeys, Extensions::kReject, st.diags);
  if (const YamlNode* e = n.Find("expose")) ParseExpose(*e, ChildPath(path, "expose"), st, svc);
  if (const YamlNode* c = n.Find("concurrency"))
    ParseConcurrency(*c, ChildPath(path, "concurrency"), st, &svc->concurrency);
  if (const YamlNode* s = n.Find("scale"); s && !s->is_null()) {
    *has_scale = s->is_map();
    ParseScale(*s, ChildPath(path, "scale"), st, &svc->scale);
  }
}

}  // namespace berth::spec
