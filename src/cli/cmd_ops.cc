// berth restart, scale, stats, autoscale, events, secret get, info.
#include <ctime>
#include <iostream>

#include "base/names.h"
#include "base/units.h"
#include "cli/commands.h"
#include "cli/spec_file.h"

namespace berth::cli {

using nlohmann::json;

namespace {

std::string Clock(int64_t ms) {
  time_t s = static_cast<time_t>(ms / 1000);
  struct tm tm;
  localtime_r(&s, &tm);
  char buf[32];
  strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  return buf;
}

std::string EventLine(const json& e) {
  std::string who = e.value("replica", "");
  if (who.empty()) who = e.value("env", "") + (e.value("service", "").empty() ? "" : "/" + e.value("service", ""));
  std::string msg = e.value("message", "");
  return Clock(e.value("time_ms", int64_t{0})) + "  " + e.value("kind", "") + "  " + who + (msg.empty() ? "" : "  " + msg);
}

}  // namespace

void RegisterOps(CLI::App& app, Context& ctx) {
  auto target = std::make_shared<std::string>();
  auto* restart = app.add_subcommand("restart", "restart a service's replicas, one at a time");
  restart->add_option("target", *target, "ENV/SERVICE")->required();
  restart->callback([&ctx, target] {
    ctx.run = [&ctx, target]() -> int {
      auto t = ParseTarget(*target, false);
      if (!t.ok()) return Fail(t.status());
      auto r = CallApi(ctx, "POST", "/v1/envs/" + t->env + "/services/" + t->service + "/restart", json::object());
      if (!r.ok()) return Fail(r.status());
      std::cout << "restarting " << t->env << "/" << t->service << "\n";
      return 0;
    };
  });

  struct ScaleOpts {
    std::string target;
    int replicas = -1;
  };
  auto so = std::make_shared<ScaleOpts>();
  auto* scale = app.add_subcommand("scale", "pin a service's replica count");
  scale->add_option("target", so->target, "ENV/SERVICE")->required();
  scale->add_option("replicas", so->replicas, "number of replicas")->required()->check(CLI::Range(0, 1000));
  scale->callback([&ctx, so] {
    ctx.run = [&ctx, so]() -> int {
      auto t = ParseTarget(so->target, false);
      if (!t.ok()) return Fail(t.status());
      auto r = CallApi(ctx, "POST", "/v1/envs/" + t->env + "/services/" + t->service + "/scale",
                       {{"replicas", so->replicas}});
      if (!r.ok()) return Fail(r.status());
      std::cout << t->env << "/" << t->service << " scaled to " << so->replicas << "\n";
      return 0;
    };
  });

  auto stats_env = std::make_shared<std::string>();
  auto* stats = app.add_subcommand("stats", "CPU, memory and pids of running replicas");
  stats->add_option("--env", *stats_env, "only this environment");
  AddOutputFlag(stats, ctx);
  stats->callback([&ctx, stats_env] {
    ctx.run = [&ctx, stats_env]() -> int {
      auto r = CallApi(ctx, "GET", "/v1/stats" + (stats_env->empty() ? "" : "?env=" + UrlEncode(*stats_env)));
      if (!r.ok()) return Fail(r.status());
      if (ctx.format() == Format::kJson) {
        std::cout << r->dump(2) << "\n";
        return 0;
      }
      std::vector<std::vector<std::string>> rows;
      for (const auto& x : *r) {
        char cpu[32];
        snprintf(cpu, sizeof cpu, "%.1f%%", x.value("cpu_percent", 0.0));
        int64_t lim = x.value("memory_limit", int64_t{0});
        rows.push_back({x.value("id", ""), cpu,
                        FormatBytes(x.value("memory_bytes", int64_t{0})) + " / " + (lim > 0 ? FormatBytes(lim) : "-"),
                        std::to_string(x.value("pids", int64_t{0}))});
      }
      PrintTable(std::cout, {"REPLICA", "CPU", "MEMORY", "PIDS"}, rows);
      return 0;
    };
  });

  auto as_env = std::make_shared<std::string>();
  auto* as = app.add_subcommand("autoscale", "what the autoscaler wants for each autoscaled service, and why");
  as->add_option("--env", *as_env, "only this environment");
  AddOutputFlag(as, ctx);
  as->callback([&ctx, as_env] {
    ctx.run = [&ctx, as_env]() -> int {
      auto r = CallApi(ctx, "GET", "/v1/autoscale" + (as_env->empty() ? "" : "?env=" + UrlEncode(*as_env)));
      if (!r.ok()) return Fail(r.status());
      if (ctx.format() == Format::kJson) {
        std::cout << r->dump(2) << "\n";
        return 0;
      }
      std::vector<std::vector<std::string>> rows;
      auto num = [](double v) {
        char b[32];
        snprintf(b, sizeof b, "%.2f", v);
        return std::string(b);
      };
      for (const auto& x : *r)
        rows.push_back({x.value("env", "") + "/" + x.value("service", ""), std::to_string(x.value("desired", 0)),
                        std::to_string(x.value("ready", 0)), x.value("panic", false) ? "yes" : "no",
                        num(x.value("stable_concurrency", 0.0)) + " / " + num(x.value("panic_concurrency", 0.0)),
                        num(x.value("target", 0.0)), x.value("reason", "")});
      PrintTable(std::cout, {"SERVICE", "DESIRED", "READY", "PANIC", "CONCURRENCY (STABLE / PANIC)", "TARGET", "LAST DECISION"},
                 rows);
      return 0;
    };
  });

  struct EventOpts {
    std::string env;
    bool follow = false;
    int64_t after = 0;
  };
  auto eo = std::make_shared<EventOpts>();
  auto* events = app.add_subcommand("events", "what berthd did and why");
  events->add_option("--env", eo->env, "only this environment");
  events->add_flag("-f,--follow", eo->follow, "keep printing new events");
  events->add_option("--after", eo->after, "only events after this sequence number");
  AddOutputFlag(events, ctx);
  events->callback([&ctx, eo] {
    ctx.run = [&ctx, eo]() -> int {
      std::string q = "/v1/events?after=" + std::to_string(eo->after);
      if (!eo->env.empty()) q += "&env=" + UrlEncode(eo->env);
      bool as_json = ctx.format() == Format::kJson;
      if (!eo->follow) {
        auto r = CallApi(ctx, "GET", q);
        if (!r.ok()) return Fail(r.status());
        if (as_json) std::cout << r->dump(2) << "\n";
        else for (const auto& e : *r) std::cout << EventLine(e) << "\n";
        return 0;
      }
      std::string buf;
      berth::Status s = ctx.client().Stream(q + "&follow=1", [&](std::string_view d) {
        buf.append(d);
        size_t nl;
        while ((nl = buf.find('\n')) != std::string::npos) {
          std::string line = buf.substr(0, nl);
          buf.erase(0, nl + 1);
          if (as_json) std::cout << line << "\n";
          else {
            json e = json::parse(line, nullptr, false);
            if (e.is_object()) std::cout << EventLine(e) << "\n";
          }
        }
        std::cout.flush();
        return static_cast<bool>(std::cout);
      });
      return s.ok() ? 0 : Fail(s);
    };
  });

  struct SecretOpts {
    std::string env, name;
  };
  auto sec = std::make_shared<SecretOpts>();
  auto* secret = app.add_subcommand("secret", "read generated secrets");
  secret->require_subcommand(1);
  auto* get = secret->add_subcommand("get", "print one secret's value");
  get->add_option("env", sec->env, "environment")->required();
  get->add_option("name", sec->name, "secret name")->required();
  get->callback([&ctx, sec] {
    ctx.run = [&ctx, sec]() -> int {
      if (berth::Status s = ValidateEnvName(sec->env); !s.ok()) return Fail(s);
      if (berth::Status s = ValidateSecretName(sec->name); !s.ok()) return Fail(s);
      auto r = CallApi(ctx, "GET", "/v1/envs/" + sec->env + "/secrets/" + sec->name);
      if (!r.ok()) return Fail(r.status());
      std::cout << r->value("value", "") << "\n";
      return 0;
    };
  });

  struct ExecOpts {
    std::string target;
    std::vector<std::string> argv;
    int timeout = 30;
  };
  auto xo = std::make_shared<ExecOpts>();
  auto* exec = app.add_subcommand("exec", "run a command in a running replica; exits with its exit code");
  exec->add_option("target", xo->target, "ENV/SERVICE or ENV/SERVICE/REPLICA")->required();
  exec->add_option("command", xo->argv, "command and arguments (after --)")->required();
  exec->add_option("--timeout", xo->timeout, "seconds before the command is killed")
      ->check(CLI::Range(1, 3600))
      ->capture_default_str();
  exec->callback([&ctx, xo] {
    ctx.run = [&ctx, xo]() -> int {
      auto t = ParseTarget(xo->target, true);
      if (!t.ok()) return Fail(t.status());
      json body = {{"argv", xo->argv}, {"replica", t->replica}, {"timeout_ms", xo->timeout * 1000}};
      auto r = CallApi(ctx, "POST", "/v1/envs/" + t->env + "/services/" + t->service + "/exec", body);
      if (!r.ok()) return Fail(r.status());
      std::cout << r->value("output", "");
      if (r->value("truncated", false)) std::cerr << "berth: output truncated (exec keeps the first 8 MiB)\n";
      if (r->value("timed_out", false)) {
        std::cerr << "berth: exec timed out after " << xo->timeout << "s\n";
        return 124;
      }
      return r->value("exit_code", 1);
    };
  });

  struct CapOpts {
    std::string file;
    std::vector<std::string> sets;
  };
  auto co = std::make_shared<CapOpts>();
  auto* cap = app.add_subcommand("capacity", "host CPU and memory, what environments reserve, and what more fits");
  cap->add_option("-f,--file", co->file, "a template: how many more environments of it fit");
  cap->add_option("--set", co->sets, "template parameter KEY=VALUE (repeatable)");
  AddOutputFlag(cap, ctx);
  cap->callback([&ctx, co] {
    ctx.run = [&ctx, co]() -> int {
      StatusOr<json> r = InvalidArgument("");
      if (co->file.empty()) {
        r = CallApi(ctx, "GET", "/v1/capacity");
      } else {
        auto f = ReadSpecFile(co->file);
        if (!f.ok()) return Fail(f.status());
        auto sets = ParseSets(co->sets);
        if (!sets.ok()) return Fail(sets.status());
        r = CallApi(ctx, "POST", "/v1/capacity",
                    {{"source", f->source}, {"file", f->display}, {"base_dir", f->base_dir}, {"params", *sets},
                     {"variables", f->variables}});
      }
      if (!r.ok()) return Fail(r.status());
      if (ctx.format() == Format::kJson) {
        std::cout << r->dump(2) << "\n";
        return 0;
      }
      auto cpus = [](const json& a) {
        char b[32];
        snprintf(b, sizeof b, "%.2f", a.value("cpus", 0.0));
        return std::string(b);
      };
      auto mem = [](const json& a) { return FormatBytes(a.value("memory_bytes", int64_t{0})); };
      const json& j = *r;
      PrintTable(std::cout, {"", "CPUS", "MEMORY"},
                 {{"host (for environments)", cpus(j["total"]), mem(j["total"])},
                  {"reserved", cpus(j["reserved"]), mem(j["reserved"])},
                  {"free", cpus(j["free"]), mem(j["free"])}});
      if (j.contains("template")) {
        const json& t = j["template"];
        std::cout << "\ntemplate " << t.value("name", "") << " reserves " << cpus(t["reserved"]) << " CPUs and "
                  << mem(t["reserved"]) << "\n";
        int fit = t.value("fit", 0);
        if (t.value("limited_by", "").empty())
          std::cout << "it reserves nothing: admission does not limit it (set deploy.resources.reservations)\n";
        else
          std::cout << fit << " more fit (limited by " << t.value("limited_by", "") << ")\n";
      }
      return 0;
    };
  });

  auto* info = app.add_subcommand("info", "berthd's version, runtime and directories");
  AddOutputFlag(info, ctx);
  info->callback([&ctx] {
    ctx.run = [&ctx]() -> int {
      auto r = CallApi(ctx, "GET", "/v1/info");
      if (!r.ok()) return Fail(r.status());
      if (ctx.format() == Format::kJson) {
        std::cout << r->dump(2) << "\n";
        return 0;
      }
      for (auto& [k, v] : r->items()) std::cout << k << ": " << (v.is_string() ? v.get<std::string>() : v.dump()) << "\n";
      return 0;
    };
  });
}

}  // namespace berth::cli
