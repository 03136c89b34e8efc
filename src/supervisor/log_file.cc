#include "supervisor/log_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <ctime>
#include <deque>

#include "base/fs.h"

namespace berth::supervisor {

std::string FormatLogLine(const LogLine& line) {
  int64_t ms = ToUnixMillis(line.time);
  time_t secs = static_cast<time_t>(ms / 1000);
  struct tm tm;
  gmtime_r(&secs, &tm);
  char buf[96];
  snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
           tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms % 1000));
  std::string out = buf;
  out += line.stream;
  out += ' ';
  out += line.text;
  return out;
}

bool ParseLogLine(std::string_view raw, LogLine* out) {
  // 2026-11-23T02:32:13.123Z o text
  if (raw.size() < 27 || raw[10] != 'T' || raw[23] != 'Z' || raw[24] != ' ' || raw[26] != ' ') return false;
  struct tm tm = {};
  int msec = 0;
  std::string ts(raw.substr(0, 24));
  if (sscanf(ts.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d.%3dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
             &tm.tm_min, &tm.tm_sec, &msec) != 7)
    return false;
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  int64_t secs = static_cast<int64_t>(timegm(&tm));
  out->time = FromUnixMillis(secs * 1000 + msec);
  out->stream = raw[25];
  out->text = std::string(raw.substr(27));
  return true;
}

void LineSplitter::Feed(std::string_view data, const std::function<void(std::string_view)>& emit) {
  while (!data.empty()) {
    size_t nl = data.find('\n');
    size_t take = nl == std::string_view::npos ? data.size() : nl;
    if (partial_.size() + take >= max_line_) {
      size_t room = max_line_ - partial_.size();
      partial_.append(data.substr(0, room));
      emit(partial_);
      partial_.clear();
      data.remove_prefix(room);
      continue;
    }
    partial_.append(data.substr(0, take));
    if (nl == std::string_view::npos) return;
    if (!partial_.empty() && partial_.back() == '\r') partial_.pop_back();
    emit(partial_);
    partial_.clear();
    data.remove_prefix(nl + 1);
  }
}

void LineSplitter::Flush(const std::function<void(std::string_view)>& emit) {
  if (partial_.empty()) return;
  emit(partial_);
  partial_.clear();
}

LogFile::~LogFile() {
  if (fd_ >= 0) close(fd_);
}

Status LogFile::Open() {
  if (fd_ >= 0) return OkStatus();
  fd_ = open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  if (fd_ < 0) return ErrnoStatus("open log " + path_);
  struct stat st;
  size_ = fstat(fd_, &st) == 0 ? st.st_size : 0;
  return OkStatus();
}

Status LogFile::Rotate() {
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
  for (int i = keep_ - 1; i >= 1; --i) {
    std::string from = path_ + "." + std::to_string(i), to = path_ + "." + std::to_string(i + 1);
    if (rename(from.c_str(), to.c_str()) != 0 && errno != ENOENT) return ErrnoStatus("rotate " + from);
  }
  if (keep_ >= 1) {
    if (rename(path_.c_str(), (path_ + ".1").c_str()) != 0 && errno != ENOENT) return ErrnoStatus("rotate " + path_);
  } else {
    unlink(path_.c_str());
  }
  return Open();
}

Status LogFile::Append(const LogLine& line) {
  BERTH_RETURN_IF_ERROR(Open());
  std::string s = FormatLogLine(line);
  s += '\n';
  if (size_ > 0 && size_ + static_cast<int64_t>(s.size()) > max_bytes_) BERTH_RETURN_IF_ERROR(Rotate());
  size_t off = 0;
  while (off < s.size()) {
    ssize_t n = write(fd_, s.data() + off, s.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus("write log " + path_);
    }
    off += static_cast<size_t>(n);
  }
  size_ += static_cast<int64_t>(s.size());
  return OkStatus();
}

StatusOr<std::vector<LogLine>> LogFile::Tail(const std::string& path, int keep_files, int n) {
  std::deque<LogLine> lines;
  // Newest file first; stop once we have n lines.
  for (int i = 0; i <= keep_files; ++i) {
    std::string p = i == 0 ? path : path + "." + std::to_string(i);
    auto data = ReadFile(p);
    if (!data.ok()) {
      if (data.status().code() == StatusCode::kNotFound) continue;
      return data.status();
    }
    std::vector<LogLine> file_lines;
    size_t start = 0;
    while (start < data->size()) {
      size_t nl = data->find('\n', start);
      if (nl == std::string::npos) nl = data->size();
      LogLine l;
      if (ParseLogLine(std::string_view(*data).substr(start, nl - start), &l)) file_lines.push_back(std::move(l));
      start = nl + 1;
    }
    for (auto it = file_lines.rbegin(); it != file_lines.rend(); ++it) {
      if (n >= 0 && static_cast<int>(lines.size()) >= n) break;
      lines.push_front(std::move(*it));
    }
    if (n >= 0 && static_cast<int>(lines.size()) >= n) break;
  }
  return std::vector<LogLine>(lines.begin(), lines.end());
}

}  // namespace berth::supervisor
