// berth: the command-line client of berthd.
#include <signal.h>

#include <iostream>

#include "base/names.h"
#include "cli/commands.h"

#ifndef BERTH_VERSION
#define BERTH_VERSION "0.1.0"
#endif

namespace berth::cli {

void AddOutputFlag(CLI::App* cmd, Context& ctx, std::vector<std::string> allowed) {
  cmd->add_option("-o,--output", ctx.output, "output format")->check(CLI::IsMember(allowed));
}

StatusOr<std::map<std::string, std::string>> ParseSets(const std::vector<std::string>& sets) {
  std::map<std::string, std::string> out;
  for (const auto& s : sets) {
    size_t eq = s.find('=');
    if (eq == std::string::npos || eq == 0)
      return InvalidArgument("--set wants KEY=VALUE, got \"" + s + "\"");
    std::string key = s.substr(0, eq);
    if (Status st = ValidateParamName(key); !st.ok()) return st.WithContext("--set");
    out[key] = s.substr(eq + 1);
  }
  return out;
}

StatusOr<Target> ParseTarget(const std::string& text, bool allow_replica) {
  Target t;
  size_t a = text.find('/');
  if (a == std::string::npos)
    return InvalidArgument("expected ENV/SERVICE" + std::string(allow_replica ? "[/REPLICA]" : "") + ", got \"" + text + "\"");
  t.env = text.substr(0, a);
  std::string rest = text.substr(a + 1);
  size_t b = rest.find('/');
  t.service = rest.substr(0, b);
  if (b != std::string::npos) {
    if (!allow_replica) return InvalidArgument("expected ENV/SERVICE, got \"" + text + "\"");
    std::string n = rest.substr(b + 1);
    if (n.empty() || n.find_first_not_of("0123456789") != std::string::npos || n.size() > 6 || std::stoi(n) == 0)
      return InvalidArgument("replica must be a positive number, got \"" + n + "\"");
    t.replica = std::stoi(n);
  }
  BERTH_RETURN_IF_ERROR(ValidateEnvName(t.env));
  BERTH_RETURN_IF_ERROR(ValidateServiceName(t.service));
  return t;
}

StatusOr<nlohmann::json> CallApi(const Context& ctx, const std::string& method, const std::string& target,
                                 const nlohmann::json& body) {
  auto r = ctx.client().Call(method, target, body);
  if (!r.ok()) return r.status();
  if (r->status < 200 || r->status >= 300) return ErrorFromResponse(*r);
  return r->body;
}

}  // namespace berth::cli

int main(int argc, char** argv) {
  signal(SIGPIPE, SIG_IGN);
  berth::cli::Context ctx;
  CLI::App app{"berth: run per-team environments of Python containers (client of berthd)"};
  app.set_version_flag("--version", BERTH_VERSION);
  app.require_subcommand(1);
  app.add_option("--socket", ctx.socket, "berthd's API socket (else $BERTH_HOST+$BERTH_TOKEN, $BERTH_SOCKET, /run/berth/berth.sock)");
  berth::cli::RegisterConfig(app, ctx);
  berth::cli::RegisterEnv(app, ctx);
  berth::cli::RegisterPs(app, ctx);
  berth::cli::RegisterOps(app, ctx);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }
  if (!ctx.run) {
    std::cerr << app.help();
    return 2;
  }
  return ctx.run();
}
