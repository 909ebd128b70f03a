// Errors as values across module boundaries: Status for "did it work", Result<T> for
// "the value, or why not". Messages are written for the user (name the file, line, field).
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace kanana {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,   // bad input from the user: a flag, a recipe field, a file's content
  kNotFound,          // a file, tensor, table row or field that should exist does not
  kAlreadyExists,
  kFailedPrecondition,// the world is not in a state where this can run (e.g. newer schema)
  kOutOfRange,        // offsets/sizes outside a buffer, indices past an end
  kDataLoss,          // corrupt or truncated data
  kPermissionDenied,
  kUnavailable,       // a remote host, a process group, a library that could not be loaded
  kCancelled,
  kUnimplemented,
  kInternal,
};

const char* status_code_name(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status ok() { return {}; }
  bool is_ok() const { return code_ == StatusCode::kOk; }
  explicit operator bool() const { return is_ok(); }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "InvalidArgument: recipe.json: field 'stages[0].tokens' must be a positive integer"
  std::string to_string() const;
  // Prefix the message with where it happened ("reading model.safetensors: ...").
  Status with_context(const std::string& context) const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

inline Status invalid_argument(std::string m) { return {StatusCode::kInvalidArgument, std::move(m)}; }
inline Status not_found(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
inline Status already_exists(std::string m) { return {StatusCode::kAlreadyExists, std::move(m)}; }
inline Status failed_precondition(std::string m) { return {StatusCode::kFailedPrecondition, std::move(m)}; }
inline Status out_of_range(std::string m) { return {StatusCode::kOutOfRange, std::move(m)}; }
inline Status data_loss(std::string m) { return {StatusCode::kDataLoss, std::move(m)}; }
inline Status permission_denied(std::string m) { return {StatusCode::kPermissionDenied, std::move(m)}; }
inline Status unavailable(std::string m) { return {StatusCode::kUnavailable, std::move(m)}; }
inline Status cancelled(std::string m = "cancelled") { return {StatusCode::kCancelled, std::move(m)}; }
inline Status unimplemented(std::string m) { return {StatusCode::kUnimplemented, std::move(m)}; }
inline Status internal_error(std::string m) { return {StatusCode::kInternal, std::move(m)}; }

// A value or a non-ok Status. Accessing value() of an error is a programming error (asserts).
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}                // NOLINT(implicit)
  Result(Status status) : v_(std::move(status)) {}         // NOLINT(implicit)

  bool is_ok() const { return v_.index() == 0; }
  explicit operator bool() const { return is_ok(); }
  const Status& status() const {
    static const Status ok_status;
    return is_ok() ? ok_status : std::get<1>(v_);
  }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  // On a temporary Result the value is moved out, not referenced: `for (auto& x : *list())`
  // and `const auto& v = make().value();` then hold a live value instead of one destroyed with
  // the Result at the end of the expression (a dangling read that once made a test see garbage).
  T value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T operator*() && { return std::move(*this).value(); }
  T value_or(T fallback) const& { return is_ok() ? value() : std::move(fallback); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace kanana

#define KANANA_CONCAT_INNER_(a, b) a##b
#define KANANA_CONCAT_(a, b) KANANA_CONCAT_INNER_(a, b)

// Return the Status from the enclosing function if `expr` (a Status) is not ok.
#define KANANA_RETURN_IF_ERROR(expr)                 \
  do {                                               \
    ::kanana::Status kanana_status_ = (expr);        \
    if (!kanana_status_.is_ok()) return kanana_status_; \
  } while (0)

// `KANANA_ASSIGN_OR_RETURN(auto x, make_x());` — unwrap a Result or return its Status.
#define KANANA_ASSIGN_OR_RETURN(lhs, expr) \
  KANANA_ASSIGN_OR_RETURN_IMPL_(KANANA_CONCAT_(kanana_result_, __LINE__), lhs, expr)
#define KANANA_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                  \
  if (!tmp.is_ok()) return tmp.status();              \
  lhs = std::move(tmp).value()
