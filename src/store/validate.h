// Checks every Store implementation applies before it writes anything, so that
// SqliteStore and MemStore reject the same inputs with the same codes and messages.
// Names are validated at the edge (base/names.h); the store only refuses records it
// could not find again (an empty key) or could not encode (params that are not UTF-8).
//
// Thread-safety: pure functions.
#pragma once

#include <string>

#include "base/status.h"
#include "store/store.h"

namespace berth::store {

Status ValidateEnv(const EnvRecord& env);
Status ValidateReplica(const ReplicaRecord& replica);
Status ValidateMetaKey(const std::string& key);

// Validates every op, so an invalid op anywhere rejects the whole batch before any
// write. The error names the op: "op 3 (put replica \"\"): replica id is empty".
Status ValidateBatch(const Batch& batch);

// What an op does, for error context: "put env shop", "delete replica shop.api.1".
std::string DescribeOp(const Batch::Op& op);

// The meta key prefix DeleteEnv removes with the environment: "env/NAME/".
std::string EnvMetaPrefix(const std::string& env_name);

}  // namespace berth::store
