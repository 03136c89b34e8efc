#include "store/validate.h"

#include <nlohmann/json.hpp>
#include <type_traits>

namespace berth::store {

Status ValidateEnv(const EnvRecord& env) {
  if (env.name.empty()) return InvalidArgument("env name is empty");
  // SqliteStore keeps params as JSON text, which must be UTF-8. Checking here, with
  // the same encoder, makes MemStore refuse exactly what SqliteStore cannot store.
  try {
    (void)nlohmann::json(env.params).dump();
  } catch (const nlohmann::json::exception&) {
    return InvalidArgument("env " + env.name + ": params are not valid UTF-8");
  }
  return OkStatus();
}

Status ValidateReplica(const ReplicaRecord& replica) {
  if (replica.id.empty()) return InvalidArgument("replica id is empty");
  // A replica without an env could be listed by neither ListReplicas(env) nor removed
  // by DeleteEnv: it would outlive everything that could clean it up.
  if (replica.env.empty()) return InvalidArgument("replica " + replica.id + ": env is empty");
  return OkStatus();
}

Status ValidateMetaKey(const std::string& key) {
  if (key.empty()) return InvalidArgument("meta key is empty");
  return OkStatus();
}

namespace {

Status ValidateOp(const Batch::Op& op) {
  return std::visit(
      [](const auto& o) -> Status {
        using T = std::decay_t<decltype(o)>;
        if constexpr (std::is_same_v<T, Batch::PutEnv>) return ValidateEnv(o.rec);
        if constexpr (std::is_same_v<T, Batch::DeleteEnv>) {
          return o.name.empty() ? InvalidArgument("env name is empty") : OkStatus();
        }
        if constexpr (std::is_same_v<T, Batch::PutReplica>) return ValidateReplica(o.rec);
        if constexpr (std::is_same_v<T, Batch::DeleteReplica>) {
          return o.id.empty() ? InvalidArgument("replica id is empty") : OkStatus();
        }
        if constexpr (std::is_same_v<T, Batch::PutMeta> || std::is_same_v<T, Batch::DeleteMeta>) {
          return ValidateMetaKey(o.key);
        }
      },
      op);
}

}  // namespace

Status ValidateBatch(const Batch& batch) {
  for (size_t i = 0; i < batch.ops().size(); ++i) {
    const Batch::Op& op = batch.ops()[i];
    Status s = ValidateOp(op);
    if (!s.ok()) return s.WithContext("op " + std::to_string(i + 1) + " (" + DescribeOp(op) + ")");
  }
  return OkStatus();
}

std::string DescribeOp(const Batch::Op& op) {
  return std::visit(
      [](const auto& o) -> std::string {
        using T = std::decay_t<decltype(o)>;
        if constexpr (std::is_same_v<T, Batch::PutEnv>) return "put env \"" + o.rec.name + "\"";
        if constexpr (std::is_same_v<T, Batch::DeleteEnv>) return "delete env \"" + o.name + "\"";
        if constexpr (std::is_same_v<T, Batch::PutReplica>) return "put replica \"" + o.rec.id + "\"";
        if constexpr (std::is_same_v<T, Batch::DeleteReplica>) return "delete replica \"" + o.id + "\"";
        if constexpr (std::is_same_v<T, Batch::PutMeta>) return "put meta \"" + o.key + "\"";
        if constexpr (std::is_same_v<T, Batch::DeleteMeta>) return "delete meta \"" + o.key + "\"";
      },
      op);
}

std::string EnvMetaPrefix(const std::string& env_name) {
  return "env/" + env_name + "/";
}

}  // namespace berth::store
