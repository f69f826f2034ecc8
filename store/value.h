// Value and Row: one cell and one row of a configuration table, as cfgit versions them.
//
// A Value keeps the storage class the database reported, so SQLite's 1, 1.0, '1' and x'31' stay
// four different values and '' stays distinct from NULL. PostgreSQL values whose type has no
// class of its own here (numeric, timestamptz, uuid, json, arrays, enums...) are kept as Text in
// the server's exact text form; the column's declared type in the table schema says what they are.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace cfgit {

class Value {
 public:
  enum class Kind : uint8_t { kNull, kInteger, kReal, kText, kBlob, kBool };

  Value() = default;  // NULL
  static Value Null() { return Value(); }
  static Value Integer(int64_t v) {
    Value x(Kind::kInteger);
    x.int_ = v;
    return x;
  }
  static Value Real(double v) {
    Value x(Kind::kReal);
    x.real_ = v;
    return x;
  }
  static Value Bool(bool v) {
    Value x(Kind::kBool);
    x.int_ = v ? 1 : 0;
    return x;
  }
  static Value Text(std::string v) {
    Value x(Kind::kText);
    x.bytes_ = std::move(v);
    return x;
  }
  static Value Blob(std::string v) {
    Value x(Kind::kBlob);
    x.bytes_ = std::move(v);
    return x;
  }

  // Makes this a Text or Blob value holding these bytes, reusing its buffer: readers that fill
  // one Row per row allocate nothing for most rows.
  void AssignBytes(Kind text_or_blob, const char* data, size_t size) {
    kind_ = text_or_blob;
    bytes_.assign(size ? data : "", size);
  }

  Kind kind() const { return kind_; }
  bool is_null() const { return kind_ == Kind::kNull; }
  int64_t integer() const { return int_; }
  bool boolean() const { return int_ != 0; }
  double real() const { return real_; }
  // The bytes of a Text (UTF-8 expected, not required) or Blob value.
  const std::string& bytes() const { return bytes_; }

  // Identity, as the store sees it: same kind and same encoded value (so NaN equals NaN and
  // -0.0 differs from 0.0).
  bool operator==(const Value& other) const;
  bool operator!=(const Value& other) const { return !(*this == other); }

 private:
  explicit Value(Kind k) : kind_(k) {}
  Kind kind_ = Kind::kNull;
  int64_t int_ = 0;
  double real_ = 0;
  std::string bytes_;
};

using Row = std::vector<Value>;

}  // namespace cfgit
