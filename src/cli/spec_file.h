// Reading a spec file for `config`, `env create` and `up`: its text, where relative
// paths resolve, and the values of the ${VARS} it references from our environment.
#pragma once

#include <map>
#include <string>

#include "base/status.h"

namespace berth::cli {

struct SpecFile {
  std::string source;
  std::string path;      // absolute
  std::string base_dir;  // absolute directory of path
  std::string display;   // as given, for messages
  std::map<std::string, std::string> variables;  // referenced and set in our environment
};

StatusOr<SpecFile> ReadSpecFile(const std::string& path);

}  // namespace berth::cli
