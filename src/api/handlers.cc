#include "api/handlers.h"

#include <unistd.h>

#include <algorithm>

#include <boost/asio/steady_timer.hpp>
#include <spdlog/spdlog.h>

#include "base/fs.h"
#include "base/names.h"
#include "spec/loader.h"
#include "spec/model_json.h"

namespace berth::api {

namespace asio = boost::asio;
using nlohmann::json;

namespace {

using RespPtr = std::shared_ptr<Responder>;

bool Truthy(const std::map<std::string, std::string>& q, const std::string& k) {
  auto it = q.find(k);
  return it != q.end() && (it->second == "1" || it->second == "true" || it->second.empty());
}

// Reads an optional typed member of a JSON body; false (and an error reply) on a wrong type.
template <typename T>
bool Member(const json& body, const char* key, T* out, const RespPtr& r, bool required = false) {
  auto it = body.find(key);
  if (it == body.end() || it->is_null()) {
    if (required) r->ReplyError(InvalidArgument(std::string("request body: \"") + key + "\" is required"));
    return !required;
  }
  try {
    *out = it->get<T>();
    return true;
  } catch (const json::exception&) {
    r->ReplyError(InvalidArgument(std::string("request body: \"") + key + "\" has the wrong type"));
    return false;
  }
}

json EnvSummary(const supervisor::EnvView& v, const std::vector<store::ReplicaRecord>& reps) {
  int desired = 0, running = 0;
  for (const auto& [s, n] : v.scale) desired += n;
  for (const auto& r : reps)
    if (r.env == v.rec.name && r.state == "running") ++running;
  return {{"name", v.rec.name},
          {"phase", v.rec.phase},
          {"generation", v.rec.generation},
          {"services", v.project.services.size()},
          {"replicas_desired", desired},
          {"replicas_running", running},
          {"created_at_ms", v.rec.created_at_ms},
          {"updated_at_ms", v.rec.updated_at_ms}};
}


}  // namespace

json ReplicaJson(const store::ReplicaRecord& r, TimePoint now) {
  json j = {{"env", r.env},
            {"service", r.service},
            {"replica", r.index},
            {"id", r.id},
            {"state", r.state},
            {"pid", r.pid > 0 ? r.pid : 0},
            {"ip", r.ip},
            {"restarts", r.restarts},
            {"health", r.health.empty() ? "none" : r.health},
            {"exit_code", r.exit_code},
            {"exit_reason", r.exit_reason},
            {"started_at_ms", r.started_at_ms}};
  if (r.state == "running" && r.started_at_ms > 0) j["uptime_ms"] = ToUnixMillis(now) - r.started_at_ms;
  if (r.state == "backoff") j["next_start_in_ms"] = std::max<int64_t>(0, r.next_start_at_ms - ToUnixMillis(now));
  return j;
}

namespace {

void CreateEnv(const Request& req, RespPtr r, supervisor::Supervisor& sup) {
  json body = json::parse(req.body, nullptr, false);
  if (!body.is_object()) return r->ReplyError(InvalidArgument("request body must be a JSON object"));
  std::string source, base_dir, file = "berth.yaml", name, mode = "create";
  std::map<std::string, std::string> params, variables;
  bool wait = false;
  int64_t wait_timeout_ms = 120'000;
  if (!Member(body, "source", &source, r, true) || !Member(body, "base_dir", &base_dir, r, true) ||
      !Member(body, "file", &file, r) || !Member(body, "name", &name, r) || !Member(body, "mode", &mode, r) ||
      !Member(body, "params", &params, r) || !Member(body, "variables", &variables, r) ||
      !Member(body, "wait", &wait, r) || !Member(body, "wait_timeout_ms", &wait_timeout_ms, r))
    return;
  if (mode != "create" && mode != "update" && mode != "apply")
    return r->ReplyError(InvalidArgument("mode must be create, update or apply"));
  if (base_dir.empty() || base_dir[0] != '/') return r->ReplyError(InvalidArgument("base_dir must be absolute"));
  if (!name.empty()) {
    if (Status s = ValidateEnvName(name); !s.ok()) return r->ReplyError(s);
  }
  spec::LoadOptions lo;
  lo.file_name = file;
  lo.base_dir = base_dir;
  lo.params = params;
  lo.variables = variables;
  if (!name.empty()) lo.env_name = name;
  lo.read_file = [](const std::string& p) { return ReadFile(p); };
  std::vector<spec::Diagnostic> errors;
  auto loaded = spec::Load(source, lo, &errors);
  if (!loaded.ok()) {
    json diags = json::array();
    for (const auto& d : errors) diags.push_back(d.ToString());
    return r->ReplyError(loaded.status(), {{"diagnostics", diags}});
  }
  json warnings = json::array();
  for (const auto& w : loaded->warnings) warnings.push_back(w.ToString());
  store::EnvRecord meta;
  meta.source = source;
  meta.source_file = JoinPath(base_dir, file);
  meta.params = params;
  const std::string env = loaded->project.name;
  Status s = sup.ApplyEnv(loaded->project, meta, mode != "update", mode != "create");
  if (!s.ok()) return r->ReplyError(s, {{"warnings", warnings}, {"env_name", env}});
  auto reply = [&sup, r, env, warnings](Status st) {
    auto v = sup.GetEnv(env);
    json out = {{"warnings", warnings}};
    if (v.ok()) out["env"] = EnvSummary(*v, sup.Replicas(env));
    if (!st.ok()) return r->ReplyError(st, out);
    r->Reply(200, out);
  };
  if (!wait) return reply(OkStatus());
  sup.WaitReady(env, Millis(wait_timeout_ms), reply);
}

json AmountJson(const supervisor::Amount& a) { return {{"cpus", a.cpus}, {"memory_bytes", a.memory}}; }

// GET: the host's capacity and what environments reserve; POST {source, base_dir, ...}:
// also how many more environments of that template fit.
void CapacityHandler(const Request& req, RespPtr r, supervisor::Supervisor& sup) {
  auto v = sup.Capacity();
  supervisor::Amount free{v.total.cpus - v.reserved.cpus, v.total.memory - v.reserved.memory};
  json envs = json::array();
  for (const auto& [name, a] : v.envs) envs.push_back({{"name", name}, {"reserved", AmountJson(a)}});
  json out = {{"total", AmountJson(v.total)}, {"reserved", AmountJson(v.reserved)}, {"free", AmountJson(free)},
              {"environments", envs}};
  if (req.method == "POST") {
    json body = json::parse(req.body, nullptr, false);
    if (!body.is_object()) return r->ReplyError(InvalidArgument("request body must be a JSON object"));
    std::string source, base_dir, file = "template.yaml";
    std::map<std::string, std::string> params, variables;
    if (!Member(body, "source", &source, r, true) || !Member(body, "base_dir", &base_dir, r, true) ||
        !Member(body, "file", &file, r) || !Member(body, "params", &params, r) ||
        !Member(body, "variables", &variables, r))
      return;
    if (base_dir.empty() || base_dir[0] != '/') return r->ReplyError(InvalidArgument("base_dir must be absolute"));
    spec::LoadOptions lo;
    lo.file_name = file;
    lo.base_dir = base_dir;
    lo.params = params;
    lo.variables = variables;
    lo.read_file = [](const std::string& p) { return ReadFile(p); };
    std::vector<spec::Diagnostic> errors;
    auto loaded = spec::Load(source, lo, &errors);
    if (!loaded.ok()) {
      json diags = json::array();
      for (const auto& d : errors) diags.push_back(d.ToString());
      return r->ReplyError(loaded.status(), {{"diagnostics", diags}});
    }
    supervisor::Amount each = supervisor::EnvReservation(loaded->project, {});
    std::string by;
    int fit = supervisor::HowManyFit(free, each, &by);
    out["template"] = {{"name", loaded->project.name}, {"reserved", AmountJson(each)}, {"fit", fit},
                       {"limited_by", by}};
  }
  r->Reply(200, out);
}

void ShowEnv(const Request& req, RespPtr r, supervisor::Supervisor& sup, const Clock& clock) {
  auto v = sup.GetEnv(req.params[0]);
  if (!v.ok()) return r->ReplyError(v.status());
  auto reps = sup.Replicas(v->rec.name);
  json j = EnvSummary(*v, reps);
  j["source_file"] = v->rec.source_file;
  j["params"] = v->rec.params;
  j["spec"] = spec::ToJson(v->project);
  json svcs = json::object();
  for (const auto& [name, s] : v->project.services) {
    int running = 0;
    for (const auto& rep : reps) running += rep.service == name && rep.state == "running";
    svcs[name] = {{"desired", v->scale[name]}, {"running", running}};
  }
  j["service_status"] = svcs;
  json secrets = json::array();
  for (const auto& [name, s] : v->project.secrets) secrets.push_back(name);
  j["secrets"] = secrets;  // names only, never values
  json rows = json::array();
  for (const auto& rep : reps) rows.push_back(ReplicaJson(rep, clock.Now()));
  j["replicas"] = rows;
  r->Reply(200, j);
}

struct LogTarget {
  std::vector<store::ReplicaRecord> replicas;
  bool prefix = false;
};

void Logs(const Request& req, RespPtr r, supervisor::Supervisor& sup) {
  const std::string& env = req.params[0];
  const std::string& svc = req.params[1];
  int index = 0;
  if (req.params.size() > 2) {
    index = std::atoi(req.params[2].c_str());
    if (index <= 0) return r->ReplyError(InvalidArgument("replica must be a positive number"));
  }
  if (auto e = sup.GetEnv(env); !e.ok()) return r->ReplyError(e.status());
  else if (!e->project.services.count(svc))
    return r->ReplyError(NotFound("environment " + env + " has no service " + svc));
  std::vector<store::ReplicaRecord> reps;
  for (auto& rep : sup.Replicas(env))
    if (rep.service == svc && (index == 0 || rep.index == index)) reps.push_back(rep);
  if (index && reps.empty()) return r->ReplyError(NotFound("no replica " + env + "/" + svc + "/" + std::to_string(index)));
  bool follow = Truthy(req.query, "follow");
  bool ts = Truthy(req.query, "timestamps");
  int tail = -1;
  if (auto it = req.query.find("tail"); it != req.query.end() && it->second != "all") {
    tail = std::atoi(it->second.c_str());
    if (tail < 0 || (tail == 0 && it->second != "0")) return r->ReplyError(InvalidArgument("tail must be a number or all"));
  }
  bool prefix = reps.size() > 1;
  auto fmt = [ts, prefix](const store::ReplicaRecord& rep, const supervisor::LogLine& l) {
    std::string s;
    if (ts) s += supervisor::FormatLogLine({l.time, l.stream, ""}).substr(0, 24) + " ";
    if (prefix) s += rep.service + "." + std::to_string(rep.index) + " | ";
    s += l.text;
    s += '\n';
    return s;
  };
  std::vector<std::pair<supervisor::LogLine, const store::ReplicaRecord*>> lines;
  for (const auto& rep : reps) {
    auto src = sup.Logs(rep.id);
    if (!src) continue;
    auto got = supervisor::LogFile::Tail(src->path, src->keep_files, tail);
    if (!got.ok()) continue;
    for (auto& l : *got) lines.emplace_back(std::move(l), &rep);
  }
  std::stable_sort(lines.begin(), lines.end(), [](auto& a, auto& b) { return a.first.time < b.first.time; });
  if (tail >= 0 && static_cast<int>(lines.size()) > tail) lines.erase(lines.begin(), lines.end() - tail);
  r->StartStream("text/plain; charset=utf-8");
  std::string out;
  for (auto& [l, rep] : lines) {
    out += fmt(*rep, l);
    if (out.size() > 65536) {
      r->Write(std::move(out));
      out.clear();
    }
  }
  r->Write(std::move(out));
  if (!follow) return r->End();
  auto tokens = std::make_shared<std::vector<std::pair<std::string, int>>>();
  for (const auto& rep : reps) {
    int t = sup.FollowLogs(rep.id, [r, fmt, rep](const supervisor::LogLine& l) { r->Write(fmt(rep, l)); });
    if (t) tokens->emplace_back(rep.id, t);
  }
  r->OnClose([&sup, tokens] {
    for (auto& [id, t] : *tokens) sup.UnfollowLogs(id, t);
  });
}

void Stats(const Request& req, RespPtr r, supervisor::Supervisor& sup, asio::io_context& io) {
  std::string env = req.query.count("env") ? req.query.at("env") : "";
  // Two samples half a second apart give CPU use as a percentage of one core.
  sup.Stats([&sup, &io, r, env](auto first) {
    auto timer = std::make_shared<asio::steady_timer>(io, std::chrono::milliseconds(500));
    timer->async_wait([&sup, r, env, first = std::move(first), timer](const boost::system::error_code&) {
      sup.Stats([r, env, first](auto second) {
        json rows = json::array();
        for (const auto& [rec, u] : second) {
          if (!env.empty() && rec.env != env) continue;
          double cpu = 0;
          for (const auto& [rec0, u0] : first)
            if (rec0.id == rec.id && rec0.pid == rec.pid) cpu = static_cast<double>(u.cpu_ns - u0.cpu_ns) / 5e6;
          rows.push_back({{"id", rec.id}, {"env", rec.env}, {"service", rec.service}, {"replica", rec.index},
                          {"cpu_percent", std::max(0.0, cpu)}, {"cpu_ns", u.cpu_ns},
                          {"memory_bytes", u.memory_bytes}, {"memory_limit", u.memory_limit}, {"pids", u.pids},
                          {"oom_kills", u.oom_kills}});
        }
        r->Reply(200, rows);
      });
    });
  });
}

json EventJson(const store::Event& e) {
  return {{"seq", e.seq}, {"time_ms", e.time_ms}, {"env", e.env},         {"service", e.service},
          {"replica", e.replica}, {"kind", e.kind},   {"message", e.message}};
}

void Events(const Request& req, RespPtr r, store::Store& store, asio::io_context& io) {
  std::string env = req.query.count("env") ? req.query.at("env") : "";
  int64_t after = req.query.count("after") ? std::atoll(req.query.at("after").c_str()) : 0;
  int limit = req.query.count("limit") ? std::atoi(req.query.at("limit").c_str()) : 1000;
  if (limit <= 0 || limit > 10000) limit = 1000;
  // Without a cursor: the newest `limit` (a busy autoscaled service writes many).
  auto evs = after > 0 ? store.ListEvents(after, limit, env) : store.LatestEvents(limit, env);
  if (!evs.ok()) return r->ReplyError(evs.status());
  if (!env.empty()) {
    // An environment re-created under an old name does not inherit the old one's events.
    if (auto rec = store.GetEnv(env); rec.ok())
      std::erase_if(*evs, [&](const store::Event& e) { return e.time_ms < rec->created_at_ms; });
  }
  if (!Truthy(req.query, "follow")) {
    json arr = json::array();
    for (const auto& e : *evs) arr.push_back(EventJson(e));
    return r->Reply(200, arr);
  }
  r->StartStream("application/x-ndjson");
  for (const auto& e : *evs) {
    after = e.seq;
    r->Write(EventJson(e).dump() + "\n");
  }
  if (after == 0) {  // nothing shown yet: follow from now on, not from the first event
    auto last = store.LatestEvents(1);
    if (last.ok() && !last->empty()) after = last->back().seq;
  }
  // New events are polled: they are rare, and this keeps the store the only source.
  struct Poll : std::enable_shared_from_this<Poll> {
    asio::steady_timer timer;
    store::Store& store;
    RespPtr r;
    std::string env;
    int64_t after;
    bool closed = false;
    Poll(asio::io_context& io, store::Store& s, RespPtr r, std::string env, int64_t after)
        : timer(io), store(s), r(std::move(r)), env(std::move(env)), after(after) {}
    void Next() {
      timer.expires_after(std::chrono::milliseconds(250));
      timer.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
        if (ec || self->closed) return;
        auto evs = self->store.ListEvents(self->after, 1000, self->env);
        if (evs.ok())
          for (const auto& e : *evs) {
            self->after = e.seq;
            self->r->Write(EventJson(e).dump() + "\n");
          }
        self->Next();
      });
    }
  };
  auto p = std::make_shared<Poll>(io, store, r, env, after);
  r->OnClose([p] {
    p->closed = true;
    p->timer.cancel();
  });
  p->Next();
}

}  // namespace

void AddRoutes(Router& router, asio::io_context& io, supervisor::Supervisor& sup, store::Store& store,
               const Clock& clock, const DaemonInfo& info) {
  router.Add("GET", "/v1/info", [&sup, &info](const Request&, RespPtr r) {
    r->Reply(200, {{"version", info.version},
                   {"runtime", info.runtime},
                   {"isolated", info.isolated},
                   {"state_dir", info.state_dir},
                   {"run_dir", info.run_dir},
                   {"domain", info.domain},
                   {"proxy_listen", info.proxy_listen},
                   {"pid", getpid()},
                   {"environments", sup.ListEnvs().size()},
                   {"replicas", sup.Replicas().size()},
                   {"warnings", info.warnings}});
  });
  router.Add("GET", "/v1/envs", [&sup](const Request&, RespPtr r) {
    json arr = json::array();
    auto reps = sup.Replicas();
    for (const auto& v : sup.ListEnvs()) arr.push_back(EnvSummary(v, reps));
    r->Reply(200, arr);
  });
  router.Add("POST", "/v1/envs", [&sup](const Request& req, RespPtr r) { CreateEnv(req, r, sup); });
  router.Add("GET", "/v1/envs/{}", [&sup, &clock](const Request& req, RespPtr r) { ShowEnv(req, r, sup, clock); });
  router.Add("DELETE", "/v1/envs/{}", [&sup](const Request& req, RespPtr r) {
    sup.RemoveEnv(req.params[0], Truthy(req.query, "volumes"), [r, name = req.params[0]](Status s) {
      if (!s.ok()) return r->ReplyError(s);
      r->Reply(200, {{"removed", name}});
    });
  });
  router.Add("GET", "/v1/envs/{}/wait", [&sup](const Request& req, RespPtr r) {
    int64_t timeout_ms = req.query.count("timeout_ms") ? std::atoll(req.query.at("timeout_ms").c_str()) : 120'000;
    if (timeout_ms <= 0 || timeout_ms > 3'600'000) return r->ReplyError(InvalidArgument("timeout_ms must be 1-3600000"));
    std::string env = req.params[0];
    if (auto e = sup.GetEnv(env); !e.ok()) return r->ReplyError(e.status());
    sup.WaitReady(env, Millis(timeout_ms), [&sup, r, env](Status st) {
      if (!st.ok()) return r->ReplyError(st);
      auto v = sup.GetEnv(env);
      r->Reply(200, {{"env", v.ok() ? EnvSummary(*v, sup.Replicas(env)) : json()}});
    });
  });
  router.Add("POST", "/v1/envs/{}/services/{}/restart", [&sup](const Request& req, RespPtr r) {
    Status s = sup.RestartService(req.params[0], req.params[1]);
    if (!s.ok()) return r->ReplyError(s);
    r->Reply(200, {{"restarting", req.params[0] + "/" + req.params[1]}});
  });
  router.Add("POST", "/v1/envs/{}/services/{}/scale", [&sup](const Request& req, RespPtr r) {
    json body = json::parse(req.body, nullptr, false);
    int n = -1;
    if (!body.is_object() || !Member(body, "replicas", &n, r, true)) {
      if (!body.is_object()) r->ReplyError(InvalidArgument("request body must be a JSON object"));
      return;
    }
    Status s = sup.Scale(req.params[0], req.params[1], n);
    if (!s.ok()) return r->ReplyError(s);
    r->Reply(200, {{"service", req.params[0] + "/" + req.params[1]}, {"replicas", n}});
  });
  router.Add("POST", "/v1/envs/{}/services/{}/exec", [&sup](const Request& req, RespPtr r) {
    json body = json::parse(req.body, nullptr, false);
    if (!body.is_object()) return r->ReplyError(InvalidArgument("request body must be a JSON object"));
    std::vector<std::string> argv;
    int replica = 0;
    int64_t timeout_ms = 30'000;
    if (!Member(body, "argv", &argv, r, true) || !Member(body, "replica", &replica, r) ||
        !Member(body, "timeout_ms", &timeout_ms, r))
      return;
    if (argv.empty() || argv[0].empty()) return r->ReplyError(InvalidArgument("exec: empty command"));
    if (timeout_ms <= 0 || timeout_ms > 3'600'000) return r->ReplyError(InvalidArgument("timeout_ms must be 1-3600000"));
    sup.Exec(req.params[0], req.params[1], replica, argv, Millis(timeout_ms), [r](StatusOr<runtime::ExecResult> res) {
      if (!res.ok()) return r->ReplyError(res.status());
      r->Reply(200, {{"exit_code", res->exit_code},
                     {"output", res->output},
                     {"timed_out", res->timed_out},
                     {"truncated", res->truncated}});
    });
  });
  router.Add("GET", "/v1/envs/{}/secrets/{}", [&sup](const Request& req, RespPtr r) {
    auto v = sup.Secret(req.params[0], req.params[1]);
    if (!v) return r->ReplyError(NotFound("no secret " + req.params[1] + " in environment " + req.params[0]));
    r->Reply(200, {{"name", req.params[1]}, {"value", *v}});
  });
  router.Add("GET", "/v1/capacity", [&sup](const Request& req, RespPtr r) { CapacityHandler(req, r, sup); });
  router.Add("POST", "/v1/capacity", [&sup](const Request& req, RespPtr r) { CapacityHandler(req, r, sup); });
  router.Add("GET", "/v1/ps", [&sup, &clock](const Request& req, RespPtr r) {
    std::string env = req.query.count("env") ? req.query.at("env") : "";
    if (!env.empty()) {
      if (auto e = sup.GetEnv(env); !e.ok()) return r->ReplyError(e.status());
    }
    json arr = json::array();
    for (const auto& rep : sup.Replicas(env)) arr.push_back(ReplicaJson(rep, clock.Now()));
    r->Reply(200, arr);
  });
  auto logs = [&sup](const Request& req, RespPtr r) { Logs(req, r, sup); };
  router.Add("GET", "/v1/logs/{}/{}", logs);
  router.Add("GET", "/v1/logs/{}/{}/{}", logs);
  router.Add("GET", "/v1/stats", [&sup, &io](const Request& req, RespPtr r) { Stats(req, r, sup, io); });
  router.Add("GET", "/v1/events", [&store, &io](const Request& req, RespPtr r) { Events(req, r, store, io); });
}

}  // namespace berth::api
