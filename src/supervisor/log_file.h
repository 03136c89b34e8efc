// LogFile: one replica's captured output, as lines "TIMESTAMP STREAM TEXT\n" with
// size-based rotation (NAME.log, NAME.log.1 ... NAME.log.K; oldest dropped).
// LineSplitter turns a byte stream into lines, cutting over-long lines so a program that
// never prints a newline cannot make berthd buffer without bound.
// Not thread-safe: one owner (the replica's log sink on the event loop).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.h"
#include "base/status.h"

namespace berth::supervisor {

struct LogLine {
  TimePoint time;
  char stream = 'o';  // 'o' stdout, 'e' stderr
  std::string text;   // without the newline
};

// "2026-11-23T02:32:13.123Z o hello" <-> LogLine. Parse returns false on a malformed line.
std::string FormatLogLine(const LogLine& line);
bool ParseLogLine(std::string_view raw, LogLine* out);

class LineSplitter {
 public:
  explicit LineSplitter(size_t max_line = 16 * 1024) : max_line_(max_line) {}
  // Feeds bytes; calls emit for each complete (or cut) line.
  void Feed(std::string_view data, const std::function<void(std::string_view)>& emit);
  // Emits what is buffered (the stream ended without a final newline).
  void Flush(const std::function<void(std::string_view)>& emit);

 private:
  size_t max_line_;
  std::string partial_;
};

class LogFile {
 public:
  LogFile(std::string path, int64_t max_bytes, int keep_files)
      : path_(std::move(path)), max_bytes_(max_bytes), keep_(keep_files) {}
  ~LogFile();
  LogFile(const LogFile&) = delete;
  LogFile& operator=(const LogFile&) = delete;

  Status Open();  // creates or appends to path
  Status Append(const LogLine& line);
  const std::string& path() const { return path_; }

  // The last `n` lines across the rotated files, oldest first (n < 0: all).
  static StatusOr<std::vector<LogLine>> Tail(const std::string& path, int keep_files, int n);

 private:
  Status Rotate();

  std::string path_;
  int64_t max_bytes_;
  int keep_;
  int fd_ = -1;
  int64_t size_ = 0;
};

}  // namespace berth::supervisor
