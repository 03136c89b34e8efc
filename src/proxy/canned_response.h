// The responses berth-proxy writes itself (errors, 404, 429, 503, ...): complete
// HTTP/1.1 messages built once, so answering costs one copy and no formatting.
//
// 429 and 503 carry "Retry-After: 1". Every response says "Connection: close" or
// nothing (keep-alive), as asked.
//
// Thread-safety: the table is built on first use (thread-safe static) and immutable.
#pragma once

#include <string_view>

namespace berth::proxy {

// Status codes with a canned response: 400 404 405 408 413 414 429 431 500 502 503 504
// 505. Any other status gets the 500 response.
std::string_view CannedResponse(int status, bool close);

}  // namespace berth::proxy
