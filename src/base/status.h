// Status and StatusOr<T>: the error values used across Berth (leveldb/abseil style).
//
// A Status is ok, or a code plus a human-readable message. Each layer that passes
// an error up adds context in front ("start api.1: runc create: exit 1: ..."), so the
// final message reads like a path from the user's action to the root cause (crun's
// error_handling.md). Codes map onto CLI exit codes and HTTP statuses at the edges.
//
// Thread-safety: value types; distinct objects may be used from distinct threads.
#pragma once

#include <cerrno>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace berth {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,     // bad input: spec, name, API body (CLI exit 2, HTTP 400)
  kNotFound,            // HTTP 404
  kAlreadyExists,       // HTTP 409
  kFailedPrecondition,  // state does not allow it (HTTP 409)
  kResourceExhausted,   // admission/quota (HTTP 507 / 429 in the proxy)
  kUnavailable,         // transient: daemon not reachable, retry (HTTP 503)
  kDeadlineExceeded,    // timed out (HTTP 504)
  kInternal,            // a bug or an unexpected system failure (HTTP 500)
  kUnimplemented,
  kPermissionDenied,
};

std::string_view StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }

  // Returns a copy whose message is "context: message". Ok stays ok.
  Status WithContext(std::string_view context) const;

  // "InvalidArgument: message" — for logs. User-facing output uses message().
  std::string ToString() const;

  bool operator==(const Status& o) const { return code_ == o.code_ && message_ == o.message_; }

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

inline Status OkStatus() { return Status(); }
inline Status InvalidArgument(std::string m) { return {StatusCode::kInvalidArgument, std::move(m)}; }
inline Status NotFound(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
inline Status AlreadyExists(std::string m) { return {StatusCode::kAlreadyExists, std::move(m)}; }
inline Status FailedPrecondition(std::string m) { return {StatusCode::kFailedPrecondition, std::move(m)}; }
inline Status ResourceExhausted(std::string m) { return {StatusCode::kResourceExhausted, std::move(m)}; }
inline Status Unavailable(std::string m) { return {StatusCode::kUnavailable, std::move(m)}; }
inline Status DeadlineExceeded(std::string m) { return {StatusCode::kDeadlineExceeded, std::move(m)}; }
inline Status Internal(std::string m) { return {StatusCode::kInternal, std::move(m)}; }
inline Status Unimplemented(std::string m) { return {StatusCode::kUnimplemented, std::move(m)}; }
inline Status PermissionDenied(std::string m) { return {StatusCode::kPermissionDenied, std::move(m)}; }

// An Internal (or mapped) status from an errno value: "what: strerror(err)".
Status ErrnoStatus(std::string_view what, int err = errno);

// StatusOr<T>: a T or a non-ok Status.
template <typename T>
class [[nodiscard]] StatusOr {
 public:
  StatusOr(const T& v) : v_(v) {}                 // NOLINT(google-explicit-constructor)
  StatusOr(T&& v) : v_(std::move(v)) {}           // NOLINT(google-explicit-constructor)
  StatusOr(Status s) : v_(std::move(s)) {         // NOLINT(google-explicit-constructor)
    if (std::get<Status>(v_).ok()) v_ = Status(StatusCode::kInternal, "StatusOr built from ok Status");
  }

  bool ok() const { return std::holds_alternative<T>(v_); }
  Status status() const { return ok() ? Status() : std::get<Status>(v_); }

  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace berth

// Straight-line error propagation: `BERTH_RETURN_IF_ERROR(s);`
#define BERTH_RETURN_IF_ERROR(expr)              \
  do {                                           \
    ::berth::Status berth_status_ = (expr);      \
    if (!berth_status_.ok()) return berth_status_; \
  } while (0)

#define BERTH_CONCAT_INNER_(a, b) a##b
#define BERTH_CONCAT_(a, b) BERTH_CONCAT_INNER_(a, b)
// `BERTH_ASSIGN_OR_RETURN(auto x, Fn());`
#define BERTH_ASSIGN_OR_RETURN(lhs, expr) \
  BERTH_ASSIGN_OR_RETURN_IMPL_(BERTH_CONCAT_(berth_statusor_, __LINE__), lhs, expr)
#define BERTH_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                 \
  if (!tmp.ok()) return tmp.status();                \
  lhs = std::move(tmp).value()
