// libFuzzer target for the spec component: Load, ReferencedVariables and ExpandSecrets
// on arbitrary bytes. None may crash, hang, leak or throw; whatever loads must survive
// the JSON round trip, and its ToYaml must load back to the same project.
//
//   CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DBERTH_FUZZ=ON -DBERTH_BENCH=OFF
//   cmake --build build-fuzz --target spec_fuzz
//   build-fuzz/src/spec/spec_fuzz -max_len=4096 -dict=src/spec/fuzz.dict CORPUS_DIR src/spec/fuzz_corpus
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "spec/loader.h"
#include "spec/model_json.h"

namespace {

using berth::spec::LoadOptions;

berth::StatusOr<std::string> ReadFixedFile(const std::string& path) {
  if (path.ends_with(".env")) return std::string("A=1\nexport B='two $X'\nC=\"${X:-c}\\n\"\n# note\nD\n");
  return berth::NotFound("no such file");
}

const LoadOptions& Options() {
  static const LoadOptions options = [] {
    LoadOptions o;
    o.file_name = "fuzz.yaml";
    o.base_dir = "/srv/fuzz";
    o.params = {{"team", "a"}};
    o.variables = {{"HOME", "/root"}, {"X", "x"}, {"EMPTY", ""}};
    o.read_file = ReadFixedFile;
    return o;
  }();
  return options;
}

std::optional<std::string> SecretLookup(const std::string& name) {
  if (!name.empty() && name[0] == 'a') return "value";
  return std::nullopt;
}

void CheckRoundTrips(const berth::spec::Project& project) {
  auto back = berth::spec::ProjectFromJson(berth::spec::ToJson(project));
  if (!back.ok() || !(*back == project)) __builtin_trap();
  for (const auto& [name, service] : project.services) {
    auto s = berth::spec::ServiceFromJson(berth::spec::ToJson(service));
    if (!s.ok() || !(*s == service)) __builtin_trap();
    if (berth::spec::ServiceHash(service).size() != 16) __builtin_trap();
  }
  auto reloaded = berth::spec::Load(berth::spec::ToYaml(project), Options());
  if (!reloaded.ok() || !(reloaded->project == project)) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  std::vector<berth::spec::Diagnostic> errors;
  auto loaded = berth::spec::Load(text, Options(), &errors);
  if (loaded.ok()) {
    CheckRoundTrips(loaded->project);
  } else if (errors.empty() || loaded.status().message().empty()) {
    __builtin_trap();  // a failure must say why
  }
  berth::spec::ReferencedVariables(text);
  (void)berth::spec::ExpandSecrets(text, SecretLookup);
  return 0;
}
