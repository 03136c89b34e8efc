// Small file-system helpers with the error handling done once.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "base/status.h"

namespace berth {

StatusOr<std::string> ReadFile(const std::string& path);

// Writes to a temporary file beside `path`, fsyncs it, renames it into place and fsyncs
// the directory: readers (and a crash) see the old content or the new, never a mix.
Status WriteFileAtomic(const std::string& path, const std::string& content, mode_t mode = 0644);

// mkdir -p; existing directories are fine. New directories get `mode`.
Status MakeDirs(const std::string& path, mode_t mode = 0755);

// rm -rf that never crosses into another file system (a mount point inside `path` is
// an error, not something to delete through) and never follows symlinks. Absent is ok.
Status RemoveAll(const std::string& path);

bool PathExists(const std::string& path);

// Directory entries (names only, no "." or ".."), sorted. Absent directory: empty.
StatusOr<std::vector<std::string>> ListDir(const std::string& path);

// Joins path parts with single slashes.
std::string JoinPath(const std::string& a, const std::string& b);

// Lexically normalized absolute path: resolves "." and ".." without touching the disk.
// `base` must be absolute; `p` relative to it (or absolute).
std::string AbsolutePath(const std::string& base, const std::string& p);

}  // namespace berth
