// berth config -f FILE [--set k=v]... [-o yaml|json]: validate and print the normalized
// spec locally, without a daemon (like `docker compose config`).
#include <iostream>

#include "base/fs.h"
#include "cli/commands.h"
#include "cli/spec_file.h"
#include "spec/loader.h"
#include "spec/model_json.h"

namespace berth::cli {

void RegisterConfig(CLI::App& app, Context& ctx) {
  auto* cmd = app.add_subcommand("config", "validate a spec and print its normalized form");
  struct Opts {
    std::string file;
    std::vector<std::string> sets;
    std::string env;
    bool quiet = false;
    std::string output = "yaml";
  };
  auto o = std::make_shared<Opts>();
  cmd->add_option("-f,--file", o->file, "spec file (- for stdin)")->required();
  cmd->add_option("--set", o->sets, "parameter KEY=VALUE (repeatable)");
  cmd->add_option("--env", o->env, "environment name (default: the spec's name)");
  cmd->add_flag("-q,--quiet", o->quiet, "only validate: print nothing on success");
  cmd->add_option("-o,--output", o->output, "output format")->check(CLI::IsMember({"yaml", "json"}))->capture_default_str();
  cmd->callback([&ctx, o] {
    ctx.run = [&ctx, o]() -> int {
      auto f = ReadSpecFile(o->file);
      if (!f.ok()) return Fail(f.status());
      auto sets = ParseSets(o->sets);
      if (!sets.ok()) return Fail(sets.status());
      spec::LoadOptions lo;
      lo.file_name = f->display;
      lo.base_dir = f->base_dir;
      lo.params = *sets;
      lo.variables = f->variables;
      if (!o->env.empty()) lo.env_name = o->env;
      lo.read_file = [](const std::string& p) { return ReadFile(p); };
      auto r = spec::Load(f->source, lo);
      if (!r.ok()) {
        std::cerr << r.status().message() << "\n";
        return 2;
      }
      for (const auto& w : r->warnings) std::cerr << w.ToString() << "\n";
      if (o->quiet) return 0;
      if (o->output == "json") std::cout << spec::ToJson(r->project).dump(2) << "\n";
      else std::cout << spec::ToYaml(r->project);
      return 0;
    };
  });
}

}  // namespace berth::cli
