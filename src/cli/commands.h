// The berth CLI's subcommands, one file per group (crun style). Each Register* adds its
// subcommands to the app and sets ctx.run to the chosen one's body; main() parses, then
// calls ctx.run and exits with its code.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "cli/client.h"
#include "cli/output.h"

namespace berth::cli {

struct Context {
  std::string socket;  // --socket
  std::string output = "table";
  std::function<int()> run;

  Client client() const { return Client(ResolveEndpoint(socket)); }
  Format format() const { return output == "json" ? Format::kJson : output == "yaml" ? Format::kYaml : Format::kTable; }
};

// Adds `-o/--output` to a subcommand (allowed: table,json or json,yaml for config).
void AddOutputFlag(CLI::App* cmd, Context& ctx, std::vector<std::string> allowed = {"table", "json"});

// "k=v" pairs from --set; InvalidArgument naming the bad one.
StatusOr<std::map<std::string, std::string>> ParseSets(const std::vector<std::string>& sets);

// "env/service[/replica]" split and validated; replica 0 when absent.
struct Target {
  std::string env;
  std::string service;
  int replica = 0;
};
StatusOr<Target> ParseTarget(const std::string& text, bool allow_replica);

// Calls the API; a non-2xx answer becomes its error Status.
StatusOr<nlohmann::json> CallApi(const Context& ctx, const std::string& method, const std::string& target,
                                 const nlohmann::json& body = nullptr);

void RegisterConfig(CLI::App& app, Context& ctx);
void RegisterEnv(CLI::App& app, Context& ctx);  // env create|ls|show|update|rm, up
void RegisterPs(CLI::App& app, Context& ctx);   // ps, logs
void RegisterOps(CLI::App& app, Context& ctx);  // restart, scale, stats, events, secret, info

}  // namespace berth::cli
