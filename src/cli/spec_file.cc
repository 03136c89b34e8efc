#include "cli/spec_file.h"

#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <iostream>
#include <iterator>

#include "base/fs.h"
#include "spec/loader.h"

namespace berth::cli {

StatusOr<SpecFile> ReadSpecFile(const std::string& path) {
  SpecFile f;
  f.display = path;
  char cwd[PATH_MAX];
  if (!getcwd(cwd, sizeof cwd)) return ErrnoStatus("getcwd");
  if (path == "-") {
    f.source.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
    f.path = std::string(cwd) + "/-";
    f.base_dir = cwd;
    f.display = "<stdin>";
  } else {
    auto src = ReadFile(path);
    if (!src.ok()) return Status(src.status().code() == StatusCode::kNotFound ? StatusCode::kInvalidArgument
                                                                              : src.status().code(),
                                 src.status().message());
    f.source = std::move(*src);
    f.path = AbsolutePath(cwd, path);
    f.base_dir = f.path.substr(0, f.path.rfind('/'));
    if (f.base_dir.empty()) f.base_dir = "/";
  }
  for (const auto& name : spec::ReferencedVariables(f.source))
    if (const char* v = getenv(name.c_str())) f.variables[name] = v;
  return f;
}

}  // namespace berth::cli
