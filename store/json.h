// Json: one JSON document as a value tree, for json/jsonb columns and text columns configured as
// JSON, so that diff can show changes by path and merge can merge objects key by key.
//
// Nothing is lost between ParseJson and WriteJson: numbers keep the text they were written with
// (never converted to double, so 1.0 and 1 and -0 stay distinct), strings are decoded UTF-8
// bytes, and object members keep their source order. A Json owns its whole subtree; it is built
// once (by ParseJson or the factories) and then only read. The parser is strict RFC 8259 and
// reports every refusal as Code::kInvalid with the byte offset.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "store/status.h"

namespace cfgit {

class Json {
 public:
  enum class Kind : uint8_t { kNull, kBool, kNumber, kString, kArray, kObject };
  using Member = std::pair<std::string, Json>;

  Json() = default;  // null
  static Json Null() { return Json(); }
  static Json Bool(bool v) {
    Json x(Kind::kBool);
    x.bool_ = v;
    return x;
  }
  // `text` must be a number as RFC 8259 writes it ("-1.50e3"); it is not checked here.
  static Json Number(std::string text) {
    Json x(Kind::kNumber);
    x.text_ = std::move(text);
    return x;
  }
  // `bytes` should be valid UTF-8 for the document to be valid JSON; it is not checked here.
  static Json String(std::string bytes) {
    Json x(Kind::kString);
    x.text_ = std::move(bytes);
    return x;
  }
  static Json Array(std::vector<Json> items) {
    Json x(Kind::kArray);
    x.items_ = std::move(items);
    return x;
  }
  // Member names must be unique (ParseJson guarantees it; equality and Find assume it).
  static Json Object(std::vector<Member> members) {
    Json x(Kind::kObject);
    x.members_ = std::move(members);
    return x;
  }

  Kind kind() const { return kind_; }
  bool is_null() const { return kind_ == Kind::kNull; }
  // Each accessor below gives false or empty for a value of another kind.
  bool boolean() const { return bool_; }
  // The number exactly as written in the source, e.g. "1.50e3".
  const std::string& number_text() const;
  // The decoded UTF-8 bytes of a string.
  const std::string& string() const;
  const std::vector<Json>& items() const { return items_; }
  // In source order.
  const std::vector<Member>& members() const { return members_; }
  // The value of member `key` of an object, or nullptr (also for non-objects). Linear.
  const Json* Find(std::string_view key) const;

  // Structural equality: objects as unordered sets of members (key order does not matter),
  // arrays element by element, numbers by their text, strings by their bytes.
  bool operator==(const Json& other) const;
  bool operator!=(const Json& other) const { return !(*this == other); }

 private:
  explicit Json(Kind k) : kind_(k) {}
  Kind kind_ = Kind::kNull;
  bool bool_ = false;
  std::string text_;  // number text or string bytes
  std::vector<Json> items_;
  std::vector<Member> members_;
};

// Nesting deeper than this (arrays and objects inside each other) is refused by ParseJson.
constexpr int kMaxJsonDepth = 512;

// Parses a whole document strictly by RFC 8259: whitespace around the value, nothing else after
// it. \uXXXX escapes (surrogate pairs included) decode to UTF-8. Refused, as Code::kInvalid
// "invalid JSON at byte N: <what was expected>" with N counted from 0: lone surrogates, unescaped
// control characters in strings, invalid UTF-8, leading zeros, trailing commas, NaN/Infinity and
// other non-JSON literals, duplicate object keys (the message names the key), nesting deeper
// than kMaxJsonDepth.
Result<Json> ParseJson(std::string_view text);

// The compact canonical form: no whitespace, object members in their order, numbers as their
// text, strings escaped minimally (\" \\, and control characters as \b \f \n \r \t or \u00xx;
// everything else, '/' and non-ASCII UTF-8 included, written as is). Parsing the output gives a
// value equal to `value` that writes the same bytes again.
std::string WriteJson(const Json& value);

// A location inside a document, for messages and diffs: member names joined by '.', array
// indexes as [N]; a name that is not a plain identifier ([A-Za-z_$][A-Za-z0-9_$-]*) is written as
// ["name"] with JSON string escaping. E.g. options.uiSchema.title, items[2].name,
// options["a.b"].x. No steps (the whole document) give "".
using JsonPathStep = std::variant<std::string, size_t>;
std::string JsonPath(const std::vector<JsonPathStep>& steps);

}  // namespace cfgit
