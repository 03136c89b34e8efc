// Time for Berth's pure cores. Cores take `TimePoint now` as an argument and never
// read a clock (Knative's Scale(now)); the shells read a Clock, which tests replace
// with ManualClock. Wall-clock milliseconds so times persist across daemon restarts.
#pragma once

#include <chrono>
#include <cstdint>

namespace berth {

using Millis = std::chrono::milliseconds;
using TimePoint = std::chrono::time_point<std::chrono::system_clock, Millis>;

inline TimePoint FromUnixMillis(int64_t ms) { return TimePoint(Millis(ms)); }
inline int64_t ToUnixMillis(TimePoint t) { return t.time_since_epoch().count(); }

class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimePoint Now() const = 0;
};

class SystemClock final : public Clock {
 public:
  TimePoint Now() const override {
    return std::chrono::time_point_cast<Millis>(std::chrono::system_clock::now());
  }
};

// A clock tests move by hand. Not thread-safe.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(TimePoint start = FromUnixMillis(1'700'000'000'000)) : now_(start) {}
  TimePoint Now() const override { return now_; }
  void Advance(Millis d) { now_ += d; }
  void Set(TimePoint t) { now_ = t; }

 private:
  TimePoint now_;
};

}  // namespace berth
