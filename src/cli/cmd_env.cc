// berth env create|ls|show|update|rm and berth up.
#include <iostream>

#include "base/names.h"
#include "cli/commands.h"
#include "cli/spec_file.h"

namespace berth::cli {

using nlohmann::json;

namespace {

struct ApplyOpts {
  std::string name;
  std::string file;
  std::vector<std::string> sets;
  bool wait = false;
  std::string timeout = "120";
};

int PrintWarnings(const json& body) {
  if (body.is_object() && body.contains("warnings"))
    for (const auto& w : body["warnings"]) std::cerr << w.get<std::string>() << "\n";
  return 0;
}

// create / update / apply an environment from a spec file.
int Apply(const Context& ctx, const ApplyOpts& o, const std::string& mode) {
  if (!o.name.empty()) {
    if (Status s = ValidateEnvName(o.name); !s.ok()) return Fail(s);
  }
  auto f = ReadSpecFile(o.file);
  if (!f.ok()) return Fail(f.status());
  auto sets = ParseSets(o.sets);
  if (!sets.ok()) return Fail(sets.status());
  int timeout_s = std::atoi(o.timeout.c_str());
  if (timeout_s <= 0) return Fail(InvalidArgument("--timeout wants a number of seconds"));
  json body = {{"source", f->source}, {"file", f->display}, {"base_dir", f->base_dir}, {"params", *sets},
               {"variables", f->variables}, {"mode", mode}, {"wait", o.wait},
               {"wait_timeout_ms", static_cast<int64_t>(timeout_s) * 1000}};
  if (!o.name.empty()) body["name"] = o.name;
  if (o.wait) std::cerr << "waiting for the environment to be ready (up to " << timeout_s << "s)...\n";
  auto r = ctx.client().Call("POST", "/v1/envs", body);
  if (!r.ok()) return Fail(r.status());
  PrintWarnings(r->body);
  if (r->status < 200 || r->status >= 300) return Fail(ErrorFromResponse(*r));
  const json& env = r->body["env"];
  if (ctx.format() == Format::kJson) {
    std::cout << r->body.dump(2) << "\n";
    return 0;
  }
  std::string verb = mode == "create" ? "created" : mode == "update" ? "updated" : "applied";
  std::cout << "environment " << env.value("name", "?") << " " << verb << " (generation "
            << env.value("generation", 0) << ", " << env.value("replicas_running", 0) << "/"
            << env.value("replicas_desired", 0) << " replicas running)\n";
  return 0;
}

void AddApplyFlags(CLI::App* cmd, ApplyOpts& o, bool file_required) {
  auto* f = cmd->add_option("-f,--file", o.file, "spec file (- for stdin)");
  if (file_required) f->required();
  cmd->add_option("--set", o.sets, "parameter KEY=VALUE (repeatable)");
  cmd->add_flag("--wait", o.wait, "wait until every replica runs and is healthy");
  cmd->add_option("--timeout", o.timeout, "seconds to wait with --wait")->capture_default_str();
}

std::string Ago(int64_t then_ms) {
  auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                 std::chrono::system_clock::now().time_since_epoch()).count();
  return HumanAge(now - then_ms) + " ago";
}

}  // namespace

void RegisterEnv(CLI::App& app, Context& ctx) {
  auto* env = app.add_subcommand("env", "manage environments");
  env->require_subcommand(1);

  auto create_opts = std::make_shared<ApplyOpts>();
  auto* create = env->add_subcommand("create", "create an environment from a spec");
  create->add_option("name", create_opts->name, "environment name (default: the spec's name)");
  AddApplyFlags(create, *create_opts, true);
  AddOutputFlag(create, ctx);
  create->callback([&ctx, create_opts] { ctx.run = [&ctx, create_opts] { return Apply(ctx, *create_opts, "create"); }; });

  auto update_opts = std::make_shared<ApplyOpts>();
  auto* update = env->add_subcommand("update", "update an environment to a new spec (rolling)");
  update->add_option("name", update_opts->name, "environment name")->required();
  AddApplyFlags(update, *update_opts, true);
  AddOutputFlag(update, ctx);
  update->callback([&ctx, update_opts] { ctx.run = [&ctx, update_opts] { return Apply(ctx, *update_opts, "update"); }; });

  auto up_opts = std::make_shared<ApplyOpts>();
  auto* up = app.add_subcommand("up", "create or update an environment (Compose-style shortcut)");
  up->add_option("--env", up_opts->name, "environment name (default: the spec's name)");
  up_opts->file = "berth.yaml";
  AddApplyFlags(up, *up_opts, false);
  up->get_option("--file")->capture_default_str();
  AddOutputFlag(up, ctx);
  up->callback([&ctx, up_opts] { ctx.run = [&ctx, up_opts] { return Apply(ctx, *up_opts, "apply"); }; });

  auto* ls = env->add_subcommand("ls", "list environments");
  AddOutputFlag(ls, ctx);
  ls->callback([&ctx] {
    ctx.run = [&ctx]() -> int {
      auto r = CallApi(ctx, "GET", "/v1/envs");
      if (!r.ok()) return Fail(r.status());
      if (ctx.format() == Format::kJson) {
        std::cout << r->dump(2) << "\n";
        return 0;
      }
      std::vector<std::vector<std::string>> rows;
      for (const auto& e : *r)
        rows.push_back({e.value("name", ""), e.value("phase", ""), std::to_string(e.value("services", 0)),
                        std::to_string(e.value("replicas_running", 0)) + "/" + std::to_string(e.value("replicas_desired", 0)),
                        std::to_string(e.value("generation", 0)), Ago(e.value("created_at_ms", int64_t{0}))});
      PrintTable(std::cout, {"NAME", "PHASE", "SERVICES", "RUNNING", "GENERATION", "CREATED"}, rows);
      return 0;
    };
  });

  auto show_name = std::make_shared<std::string>();
  auto* show = env->add_subcommand("show", "show an environment: services, replicas, parameters");
  show->add_option("name", *show_name, "environment name")->required();
  AddOutputFlag(show, ctx);
  show->callback([&ctx, show_name] {
    ctx.run = [&ctx, show_name]() -> int {
      if (Status s = ValidateEnvName(*show_name); !s.ok()) return Fail(s);
      auto r = CallApi(ctx, "GET", "/v1/envs/" + *show_name);
      if (!r.ok()) return Fail(r.status());
      if (ctx.format() == Format::kJson) {
        std::cout << r->dump(2) << "\n";
        return 0;
      }
      const json& e = *r;
      std::cout << "Name:        " << e.value("name", "") << "\n"
                << "Phase:       " << e.value("phase", "") << "\n"
                << "Generation:  " << e.value("generation", 0) << "\n"
                << "Created:     " << Ago(e.value("created_at_ms", int64_t{0})) << "\n"
                << "Spec file:   " << e.value("source_file", "") << "\n";
      if (e.contains("params") && !e["params"].empty()) {
        std::cout << "Parameters:\n";
        for (auto& [k, v] : e["params"].items()) std::cout << "  " << k << "=" << v.get<std::string>() << "\n";
      }
      if (e.contains("secrets") && !e["secrets"].empty()) {
        std::cout << "Secrets:     ";
        for (size_t i = 0; i < e["secrets"].size(); ++i) std::cout << (i ? ", " : "") << e["secrets"][i].get<std::string>();
        std::cout << "  (values: berth secret get " << e.value("name", "") << " NAME)\n";
      }
      std::cout << "Services:\n";
      std::vector<std::vector<std::string>> rows;
      for (auto& [name, s] : e["service_status"].items()) {
        const json& spec = e["spec"]["services"][name];
        rows.push_back({"  " + name, std::to_string(s.value("running", 0)) + "/" + std::to_string(s.value("desired", 0)),
                        spec.value("image", "")});
      }
      PrintTable(std::cout, {"  SERVICE", "RUNNING", "IMAGE"}, rows);
      return 0;
    };
  });

  struct RmOpts {
    std::vector<std::string> names;
    bool volumes = false;
  };
  auto rm_opts = std::make_shared<RmOpts>();
  auto* rm = env->add_subcommand("rm", "stop and remove environments (volumes kept unless --volumes)");
  rm->add_option("names", rm_opts->names, "environment names")->required();
  rm->add_flag("-v,--volumes", rm_opts->volumes, "also delete named volumes and secrets");
  rm->callback([&ctx, rm_opts] {
    ctx.run = [&ctx, rm_opts]() -> int {
      int rc = 0;
      for (const auto& n : rm_opts->names) {
        if (Status s = ValidateEnvName(n); !s.ok()) {
          rc = std::max(rc, Fail(s));
          continue;
        }
        auto r = CallApi(ctx, "DELETE", "/v1/envs/" + n + (rm_opts->volumes ? "?volumes=1" : ""));
        if (!r.ok()) {
          rc = std::max(rc, Fail(r.status()));
          continue;
        }
        std::cout << "environment " << n << " removed" << (rm_opts->volumes ? " with its volumes" : "") << "\n";
      }
      return rc;
    };
  });
}

}  // namespace berth::cli
