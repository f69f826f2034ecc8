// Status and Result<T>: the one way an operation that can fail reports it.
//
// A Status carries a Code that maps one-to-one onto cfgit's exit statuses (see docs/commands.md)
// and a message that names the object concerned and says what to do next. Expected outcomes (a
// diff, a conflict list, "nothing to commit") are values, not Statuses. No exception crosses a
// module's API: library errors are converted to a Status at the boundary, in one function per
// library.
#pragma once

#include <optional>
#include <string>
#include <utility>

namespace cfgit {

enum class Code {
  kOk = 0,
  kNeedsAttention = 1,  // a result a person must act on: drift, refused fast-forward, bad data
  kUsage = 2,           // the command line names something that does not exist or cannot be done
  kDatabase = 3,        // an environment's database failed; nothing was changed
  kInvalid = 4,         // the store or cfgit.yaml is invalid
};

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }
  static Status NeedsAttention(std::string m) { return {Code::kNeedsAttention, std::move(m)}; }
  static Status Usage(std::string m) { return {Code::kUsage, std::move(m)}; }
  static Status Database(std::string m) { return {Code::kDatabase, std::move(m)}; }
  static Status Invalid(std::string m) { return {Code::kInvalid, std::move(m)}; }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }

  // Prefixes the message with context ("committing dev: "), keeping the code.
  Status Wrap(const std::string& context) const {
    return ok() ? *this : Status(code_, context + message_);
  }

 private:
  Code code_ = Code::kOk;
  std::string message_;
};

// A value or the Status that explains why there is none.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}          // NOLINT: implicit by design
  Result(Status status) : status_(std::move(status)) {}  // NOLINT: implicit by design

  bool ok() const { return status_.ok(); }
  const Status& status() const { return status_; }
  T& value() & { return *value_; }
  const T& value() const& { return *value_; }
  T&& value() && { return std::move(*value_); }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }
  T& operator*() & { return *value_; }

 private:
  std::optional<T> value_;
  Status status_;
};

}  // namespace cfgit

#define CFGIT_CONCAT_INNER(a, b) a##b
#define CFGIT_CONCAT(a, b) CFGIT_CONCAT_INNER(a, b)

// Returns the Status of `expr` from the enclosing function when it is not ok.
#define CFGIT_RETURN_IF_ERROR(expr)                \
  do {                                             \
    ::cfgit::Status cfgit_status_ = (expr);        \
    if (!cfgit_status_.ok()) return cfgit_status_; \
  } while (0)

// `CFGIT_ASSIGN_OR_RETURN(auto x, MakeX());` declares x from a Result or returns its Status.
#define CFGIT_ASSIGN_OR_RETURN(lhs, expr) \
  CFGIT_ASSIGN_OR_RETURN_IMPL(CFGIT_CONCAT(cfgit_result_, __LINE__), lhs, expr)
#define CFGIT_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                \
  if (!tmp.ok()) return tmp.status();               \
  lhs = std::move(tmp).value()
