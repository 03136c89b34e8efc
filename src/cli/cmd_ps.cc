// berth ps and berth logs.
#include <iostream>

#include "base/names.h"
#include "cli/commands.h"

namespace berth::cli {

using nlohmann::json;

namespace {

std::string Status(const json& r) {
  std::string state = r.value("state", "");
  if (state == "running" && r.contains("uptime_ms")) return "Up " + HumanAge(r["uptime_ms"].get<int64_t>());
  if (state == "backoff") {
    std::string s = "Backoff";
    if (r.contains("next_start_in_ms")) s += " (restart in " + HumanAge(r["next_start_in_ms"].get<int64_t>()) + ")";
    return s;
  }
  if (state == "exited" || state == "stopped") return r.value("exit_reason", state);
  return state;
}

}  // namespace

void RegisterPs(CLI::App& app, Context& ctx) {
  auto env = std::make_shared<std::string>();
  auto* ps = app.add_subcommand("ps", "list replicas: one row per replica");
  ps->add_option("--env", *env, "only this environment");
  AddOutputFlag(ps, ctx);
  ps->callback([&ctx, env] {
    ctx.run = [&ctx, env]() -> int {
      if (!env->empty()) {
        if (berth::Status s = ValidateEnvName(*env); !s.ok()) return Fail(s);
      }
      auto r = CallApi(ctx, "GET", "/v1/ps" + (env->empty() ? "" : "?env=" + UrlEncode(*env)));
      if (!r.ok()) return Fail(r.status());
      if (ctx.format() == Format::kJson) {
        std::cout << r->dump(2) << "\n";
        return 0;
      }
      std::vector<std::vector<std::string>> rows;
      for (const auto& x : *r) {
        int pid = x.value("pid", 0);
        rows.push_back({x.value("env", ""), x.value("service", ""), std::to_string(x.value("replica", 0)),
                        x.value("state", ""), x.value("health", ""), pid ? std::to_string(pid) : "-",
                        x.value("ip", "").empty() ? "-" : x.value("ip", ""), std::to_string(x.value("restarts", 0)),
                        Status(x)});
      }
      PrintTable(std::cout, {"ENV", "SERVICE", "REPLICA", "STATE", "HEALTH", "PID", "IP", "RESTARTS", "STATUS"}, rows);
      return 0;
    };
  });

  struct LogOpts {
    std::string target;
    bool follow = false;
    std::string tail = "all";
    bool timestamps = false;
  };
  auto o = std::make_shared<LogOpts>();
  auto* logs = app.add_subcommand("logs", "print a service's (or one replica's) output");
  logs->add_option("target", o->target, "ENV/SERVICE or ENV/SERVICE/REPLICA")->required();
  logs->add_flag("-f,--follow", o->follow, "keep printing new output");
  logs->add_option("-n,--tail", o->tail, "number of lines from the end, or all")->capture_default_str();
  logs->add_flag("-t,--timestamps", o->timestamps, "prefix each line with its time");
  logs->callback([&ctx, o] {
    ctx.run = [&ctx, o]() -> int {
      auto t = ParseTarget(o->target, true);
      if (!t.ok()) return Fail(t.status());
      if (o->tail != "all" && (o->tail.empty() || o->tail.find_first_not_of("0123456789") != std::string::npos))
        return Fail(InvalidArgument("--tail wants a number or all"));
      std::string path = "/v1/logs/" + t->env + "/" + t->service;
      if (t->replica) path += "/" + std::to_string(t->replica);
      path += "?tail=" + o->tail;
      if (o->follow) path += "&follow=1";
      if (o->timestamps) path += "&timestamps=1";
      berth::Status s = ctx.client().Stream(path, [](std::string_view data) {
        std::cout.write(data.data(), static_cast<std::streamsize>(data.size()));
        std::cout.flush();
        return static_cast<bool>(std::cout);
      });
      if (!s.ok()) return Fail(s);
      return 0;
    };
  });
}

}  // namespace berth::cli
