// Output helpers shared by the subcommands: aligned tables, JSON, human durations and
// the mapping from errors to exit codes (0 ok, 1 failure, 2 usage or validation).
#pragma once

#include <iostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/status.h"

namespace berth::cli {

enum class Format { kTable, kJson, kYaml };

// Prints rows under headers with columns padded to their widest cell.
void PrintTable(std::ostream& out, const std::vector<std::string>& headers,
                const std::vector<std::vector<std::string>>& rows);

// "3s", "4m", "2h", "5d": the largest unit, like docker ps.
std::string HumanAge(int64_t ms);

// Exit code for an error: 2 for invalid input, 1 otherwise.
int ExitCode(const Status& s);

// Prints "berth: <message>" to stderr and returns ExitCode(s).
int Fail(const Status& s);

}  // namespace berth::cli
