// berth env create|ls|show|update|rm and berth up.
#include <atomic>
#include <chrono>
#include <fstream>
#include <iostream>
#include <mutex>
#include <thread>

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
  std::string each;  // a file of names: one environment per line
  int parallel = 4;
};

std::string Replace(std::string s, const std::string& from, const std::string& to) {
  for (size_t p = s.find(from); p != std::string::npos; p = s.find(from, p + to.size())) s.replace(p, from.size(), to);
  return s;
}

// Non-empty, non-comment lines of a names file, first occurrence of each.
StatusOr<std::vector<std::string>> ReadNames(const std::string& path) {
  std::ifstream in(path);
  if (!in) return InvalidArgument("--each: cannot read " + path);
  std::vector<std::string> names;
  std::string line;
  while (std::getline(in, line)) {
    size_t a = line.find_first_not_of(" \t\r");
    if (a == std::string::npos || line[a] == '#') continue;
    size_t b = line.find_last_not_of(" \t\r");
    std::string n = line.substr(a, b - a + 1);
    if (std::find(names.begin(), names.end(), n) == names.end()) names.push_back(n);
  }
  if (names.empty()) return InvalidArgument("--each: " + path + " lists no names");
  return names;
}

// Runs fn(i) for i in [0, n) on `parallel` threads.
void ForEachParallel(size_t n, int parallel, const std::function<void(size_t)>& fn) {
  std::atomic<size_t> next{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < std::max(1, std::min<int>(parallel, static_cast<int>(n))); ++t)
    threads.emplace_back([&] {
      for (size_t i; (i = next++) < n;) fn(i);
    });
  for (auto& t : threads) t.join();
}

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

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

// env create --each FILE: one environment per name, `{name}` substituted in NAME and in
// --set values; failures are reported and the rest go on; a re-run creates what is
// missing (existing environments are reported, and waited for with --wait).
int CreateEach(const Context& ctx, const ApplyOpts& o) {
  auto names = ReadNames(o.each);
  if (!names.ok()) return Fail(names.status());
  auto f = ReadSpecFile(o.file);
  if (!f.ok()) return Fail(f.status());
  int timeout_s = std::atoi(o.timeout.c_str());
  if (timeout_s <= 0) return Fail(InvalidArgument("--timeout wants a number of seconds"));
  struct Outcome {
    std::string env, verdict, detail;
    double secs = 0;
    bool failed = false;
  };
  std::vector<Outcome> out(names->size());
  std::mutex mu;
  size_t done = 0;
  auto start_all = std::chrono::steady_clock::now();
  ForEachParallel(names->size(), o.parallel, [&](size_t i) {
    const std::string& item = (*names)[i];
    auto t0 = std::chrono::steady_clock::now();
    Outcome& res = out[i];
    std::vector<std::string> sets;
    for (const auto& s : o.sets) sets.push_back(Replace(s, "{name}", item));
    auto params = ParseSets(sets);
    json body = {{"source", f->source}, {"file", f->display}, {"base_dir", f->base_dir},
                 {"variables", f->variables}, {"mode", "create"}, {"wait", o.wait},
                 {"wait_timeout_ms", static_cast<int64_t>(timeout_s) * 1000}};
    if (params.ok()) body["params"] = *params;
    if (!o.name.empty()) body["name"] = Replace(o.name, "{name}", item);
    Status st = params.status();
    StatusOr<Response> r = st;
    if (st.ok()) r = ctx.client().Call("POST", "/v1/envs", body);
    if (r.ok() && r->status >= 200 && r->status < 300) {
      res.env = r->body["env"].value("name", item);
      res.verdict = "created";
    } else {
      st = r.ok() ? ErrorFromResponse(*r) : r.status();
      std::string env_name = item;
      if (r.ok() && r->body.is_object() && r->body["error"].is_object())
        env_name = r->body["error"].value("env_name", item);
      res.env = env_name;
      if (st.code() == StatusCode::kAlreadyExists) {
        res.verdict = "exists";
        if (o.wait) {  // wait for it like for a new one
          auto w = ctx.client().Call("GET", "/v1/envs/" + env_name + "/wait?timeout_ms=" +
                                                std::to_string(static_cast<int64_t>(timeout_s) * 1000));
          if (!w.ok() || w->status >= 300) {
            res.failed = true;
            res.verdict = "NOT READY";
            res.detail = (w.ok() ? ErrorFromResponse(*w) : w.status()).message();
          }
        }
      } else {
        res.failed = true;
        res.verdict = "FAILED";
        res.detail = st.message();
        size_t nl = res.detail.find('\n');
        if (nl != std::string::npos) res.detail = res.detail.substr(0, nl) + " ...";
      }
    }
    res.secs = Seconds(t0);
    std::lock_guard<std::mutex> g(mu);
    ++done;
    char line[512];
    snprintf(line, sizeof line, "[%3zu/%zu] %-24s %-9s %5.1fs  ", done, names->size(), item.c_str(),
             res.verdict.c_str(), res.secs);
    (res.failed ? std::cerr : std::cout) << line << res.detail << "\n" << std::flush;
  });
  int created = 0, existed = 0, failed = 0;
  for (const auto& r : out) {
    created += r.verdict == "created";
    existed += r.verdict == "exists";
    failed += r.failed;
  }
  std::cout << names->size() << " environments in " << static_cast<int>(Seconds(start_all) + 0.5) << "s: "
            << created << " created, " << existed << " already existed, " << failed << " failed\n";
  if (failed) {
    std::cerr << "failed:";
    for (size_t i = 0; i < out.size(); ++i)
      if (out[i].failed) std::cerr << " " << (*names)[i];
    std::cerr << "\nrun the same command again to retry them\n";
  }
  return failed ? 1 : 0;
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
  create->add_option("name", create_opts->name, "environment name (default: the spec's name; {name} with --each)");
  AddApplyFlags(create, *create_opts, true);
  create->add_option("--each", create_opts->each, "one environment per name in FILE; {name} in --set values and NAME");
  create->add_option("--parallel", create_opts->parallel, "environments created at once with --each")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  AddOutputFlag(create, ctx);
  create->callback([&ctx, create_opts] {
    ctx.run = [&ctx, create_opts] {
      return create_opts->each.empty() ? Apply(ctx, *create_opts, "create") : CreateEach(ctx, *create_opts);
    };
  });

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
    std::string each;
    bool volumes = false;
    int parallel = 4;
  };
  auto rm_opts = std::make_shared<RmOpts>();
  auto* rm = env->add_subcommand("rm", "stop and remove environments (volumes kept unless --volumes)");
  rm->add_option("names", rm_opts->names, "environment names ({name} patterns with --each)");
  rm->add_option("--each", rm_opts->each, "remove one environment per line of FILE (NAME patterns: {name})");
  rm->add_flag("-v,--volumes", rm_opts->volumes, "also delete named volumes and secrets");
  rm->add_option("--parallel", rm_opts->parallel, "environments removed at once")->check(CLI::Range(1, 64));
  rm->callback([&ctx, rm_opts] {
    ctx.run = [&ctx, rm_opts]() -> int {
      std::vector<std::string> names;
      if (rm_opts->each.empty()) {
        names = rm_opts->names;
      } else {
        // Each NAME with {name} is a pattern expanded per line; without any NAME the
        // lines are the environment names.
        auto items = ReadNames(rm_opts->each);
        if (!items.ok()) return Fail(items.status());
        std::vector<std::string> patterns = rm_opts->names;
        if (patterns.empty()) patterns.push_back("{name}");
        for (const auto& p : patterns) {
          if (p.find("{name}") == std::string::npos) names.push_back(p);
          else
            for (const auto& item : *items) names.push_back(Replace(p, "{name}", item));
        }
      }
      if (names.empty()) return Fail(InvalidArgument("env rm: name at least one environment (or --each FILE)"));
      for (const auto& n : names)
        if (Status s = ValidateEnvName(n); !s.ok()) return Fail(s);
      std::atomic<int> rc{0};
      std::mutex mu;
      ForEachParallel(names.size(), rm_opts->parallel, [&](size_t i) {
        auto r = CallApi(ctx, "DELETE", "/v1/envs/" + names[i] + (rm_opts->volumes ? "?volumes=1" : ""));
        std::lock_guard<std::mutex> g(mu);
        if (!r.ok()) {
          int code = Fail(r.status());
          if (code > rc) rc = code;
          return;
        }
        std::cout << "environment " << names[i] << " removed" << (rm_opts->volumes ? " with its volumes" : "") << "\n";
      });
      return rc.load();
    };
  });
}

}  // namespace berth::cli
