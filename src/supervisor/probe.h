// Network health probes run from berthd against a replica: a TCP connect, or an HTTP/1.0
// GET whose status must be 2xx or 3xx. Asynchronous on the io_context; the callback runs
// once, on that thread.
#pragma once

#include <functional>
#include <string>

#include <boost/asio/io_context.hpp>

#include "base/clock.h"

namespace berth::supervisor {

using ProbeCallback = std::function<void(bool ok, std::string detail)>;

void ProbeTcp(boost::asio::io_context& io, const std::string& ip, int port, Millis timeout, ProbeCallback cb);
void ProbeHttp(boost::asio::io_context& io, const std::string& ip, int port, const std::string& path,
               Millis timeout, ProbeCallback cb);

}  // namespace berth::supervisor
