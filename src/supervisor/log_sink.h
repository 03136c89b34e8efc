// LogSink: captures one replica's stdout and stderr. The container writes into two FIFOs
// under the run dir; the sink reads them on the event loop, stamps each line and appends
// it to the replica's LogFile, and hands new lines to followers (`berth logs -f`).
//
// The FIFOs outlive both the container process and berthd: a restarted berthd opens them
// again and reads what was written meanwhile (up to the pipe's capacity, which Open()
// raises to 1 MiB; beyond that the writer blocks until berthd is back, and nothing is
// lost). The sink holds the FIFOs O_RDWR so it never sees EOF between container restarts.
//
// Not thread-safe: used on the io_context's thread only.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>

#include "base/clock.h"
#include "base/status.h"
#include "supervisor/log_file.h"

namespace berth::supervisor {

class LogSink : public std::enable_shared_from_this<LogSink> {
 public:
  using Follower = std::function<void(const LogLine&)>;

  LogSink(boost::asio::io_context& io, const Clock& clock, std::string fifo_out, std::string fifo_err,
          std::string log_path, int64_t max_bytes, int keep_files);
  ~LogSink();

  // Creates the FIFOs if missing, opens them and starts reading.
  Status Open();
  // Reads what is buffered, stops, and removes the FIFOs (the log file stays).
  void Close();

  int Follow(Follower f);
  void Unfollow(int token);

  const std::string& log_path() const { return file_.path(); }
  int keep_files() const { return keep_; }

 private:
  struct Stream {
    char tag;
    std::string path;
    std::unique_ptr<boost::asio::posix::stream_descriptor> fd;
    LineSplitter splitter;
    char buf[16384];
  };
  Status OpenStream(Stream& s);
  void ReadMore(Stream& s);
  void Drain(Stream& s);
  void Emit(char tag, std::string_view text);

  boost::asio::io_context& io_;
  const Clock& clock_;
  Stream out_, err_;
  LogFile file_;
  int keep_;
  std::map<int, Follower> followers_;
  int next_token_ = 1;
  bool closed_ = false;
  bool write_error_logged_ = false;
};

}  // namespace berth::supervisor
