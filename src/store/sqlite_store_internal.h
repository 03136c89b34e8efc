// Hooks into SqliteStore for its own tests (sqlite_store_test.cc), which need to see
// per-connection settings no other connection can observe. Not for use elsewhere.
#pragma once

#include <string>

#include "base/status.h"
#include "store/store.h"

namespace berth::store {

// The schema version this build migrates databases to.
int SqliteSchemaVersion();

// Runs "PRAGMA NAME" on `store`'s own connection and returns the first column of the
// first row as text. `store` must come from OpenSqliteStore.
StatusOr<std::string> QueryPragmaForTesting(Store& store, const std::string& name);

}  // namespace berth::store
