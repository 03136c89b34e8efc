// Helpers shared by the store tests. Test-only: linked into store_test, never berth_store.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <string>

#include "base/fs.h"

namespace berth::store {

// A fresh directory under /tmp, removed with everything in it when the object goes
// out of scope — including when an ASSERT_* returns from the test early.
class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/berth-store-test-XXXXXX";
    if (mkdtemp(tmpl) != nullptr) path_ = tmpl;
    EXPECT_FALSE(path_.empty()) << "mkdtemp failed";
  }
  ~TempDir() {
    if (!path_.empty()) {
      EXPECT_TRUE(RemoveAll(path_).ok()) << path_;
    }
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return JoinPath(path_, name); }

 private:
  std::string path_;
};

}  // namespace berth::store
