#include "supervisor/log_sink.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include <boost/asio/buffer.hpp>
#include <spdlog/spdlog.h>

namespace berth::supervisor {

LogSink::LogSink(boost::asio::io_context& io, const Clock& clock, std::string fifo_out, std::string fifo_err,
                 std::string log_path, int64_t max_bytes, int keep_files)
    : io_(io), clock_(clock), file_(std::move(log_path), max_bytes, keep_files), keep_(keep_files) {
  out_.tag = 'o';
  out_.path = std::move(fifo_out);
  err_.tag = 'e';
  err_.path = std::move(fifo_err);
}

LogSink::~LogSink() {
  for (Stream* s : {&out_, &err_})
    if (s->fd) {
      boost::system::error_code ec;
      s->fd->close(ec);
    }
}

Status LogSink::OpenStream(Stream& s) {
  if (mkfifo(s.path.c_str(), 0600) != 0 && errno != EEXIST) return ErrnoStatus("mkfifo " + s.path);
  struct stat st;
  if (lstat(s.path.c_str(), &st) != 0 || !S_ISFIFO(st.st_mode))
    return FailedPrecondition(s.path + " exists and is not a FIFO");
  int fd = open(s.path.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus("open " + s.path);
  fcntl(fd, F_SETPIPE_SZ, 1 << 20);  // best effort: more room while berthd is away
  s.fd = std::make_unique<boost::asio::posix::stream_descriptor>(io_, fd);
  return OkStatus();
}

Status LogSink::Open() {
  BERTH_RETURN_IF_ERROR(file_.Open());
  BERTH_RETURN_IF_ERROR(OpenStream(out_));
  BERTH_RETURN_IF_ERROR(OpenStream(err_));
  ReadMore(out_);
  ReadMore(err_);
  return OkStatus();
}

void LogSink::Emit(char tag, std::string_view text) {
  LogLine line{clock_.Now(), tag, std::string(text)};
  Status s = file_.Append(line);
  if (!s.ok() && !write_error_logged_) {
    spdlog::warn("logs: {}", s.message());
    write_error_logged_ = true;
  }
  for (auto& [token, f] : followers_) f(line);
}

void LogSink::ReadMore(Stream& s) {
  if (closed_ || !s.fd) return;
  std::weak_ptr<LogSink> weak = weak_from_this();
  s.fd->async_read_some(boost::asio::buffer(s.buf), [weak, &s](const boost::system::error_code& ec, size_t n) {
    auto self = weak.lock();
    if (!self || self->closed_) return;
    if (ec) {
      if (ec != boost::asio::error::operation_aborted) spdlog::warn("logs: read {}: {}", s.path, ec.message());
      return;
    }
    s.splitter.Feed(std::string_view(s.buf, n), [&](std::string_view l) { self->Emit(s.tag, l); });
    self->ReadMore(s);
  });
}

void LogSink::Drain(Stream& s) {
  if (!s.fd) return;
  for (;;) {
    ssize_t n = read(s.fd->native_handle(), s.buf, sizeof s.buf);
    if (n <= 0) break;
    s.splitter.Feed(std::string_view(s.buf, static_cast<size_t>(n)), [&](std::string_view l) { Emit(s.tag, l); });
  }
  s.splitter.Flush([&](std::string_view l) { Emit(s.tag, l); });
}

void LogSink::Close() {
  if (closed_) return;
  Drain(out_);
  Drain(err_);
  closed_ = true;
  for (Stream* s : {&out_, &err_}) {
    if (s->fd) {
      boost::system::error_code ec;
      s->fd->cancel(ec);
      s->fd->close(ec);
      s->fd.reset();
    }
    unlink(s->path.c_str());
  }
  followers_.clear();
}

int LogSink::Follow(Follower f) {
  int t = next_token_++;
  followers_[t] = std::move(f);
  return t;
}

void LogSink::Unfollow(int token) { followers_.erase(token); }

}  // namespace berth::supervisor
