// Parsing and printing of the units users write in specs and flags: durations
// ("1m30s", "500ms"), byte sizes ("256M", "1Gi", "512k"), CPU amounts ("0.5").
// Pure functions; thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/status.h"

namespace berth {

using Millis = std::chrono::milliseconds;

// Go/Compose durations: a sequence of <number><unit> with units ns, us, ms, s, m, h
// ("1m30s", "1.5s", "250ms"). A bare integer means seconds. Result rounded to ms
// (sub-millisecond values round up to 1ms so "500us" is not silently zero).
StatusOr<Millis> ParseDuration(std::string_view text);

// Shortest exact form: 90000ms -> "1m30s", 1500ms -> "1.5s", 250ms -> "250ms", 0 -> "0s".
std::string FormatDuration(Millis d);

// Docker/Compose/Kubernetes sizes, case-insensitive, binary multiples: "1024", "512k",
// "256M", "256MB", "256Mi", "256MiB", "1.5g". Rejects negatives and overflow.
StatusOr<int64_t> ParseBytes(std::string_view text);

// Human form with binary units: 268435456 -> "256MiB", 1536 -> "1.5KiB", 12 -> "12B".
std::string FormatBytes(int64_t bytes);

// A positive CPU amount: "0.5", "2", "1.25". Must be > 0 and <= 1024.
StatusOr<double> ParseCpus(std::string_view text);

}  // namespace berth
