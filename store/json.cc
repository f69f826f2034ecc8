#include "store/json.h"

#include <algorithm>
#include <unordered_set>

namespace cfgit {
namespace {

const std::string& EmptyText() {
  static const std::string* const kEmpty = new std::string();
  return *kEmpty;
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

void AppendUtf8(uint32_t cp, std::string* out) {
  const int n = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;  // bytes in the sequence
  static const uint32_t kLead[] = {0, 0, 0xC0, 0xE0, 0xF0};
  out->push_back(static_cast<char>(kLead[n] | (cp >> (6 * (n - 1)))));
  for (int k = n - 2; k >= 0; --k) {
    out->push_back(static_cast<char>(0x80 | ((cp >> (6 * k)) & 0x3F)));
  }
}

// The length of the well-formed UTF-8 sequence at s[i] (shortest form, no surrogates, at most
// U+10FFFF), or 0 if it is malformed.
size_t Utf8Length(std::string_view s, size_t i) {
  auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = b(i);
  const size_t n = c < 0x80             ? 1
                   : (c & 0xE0) == 0xC0 ? 2
                   : (c & 0xF0) == 0xE0 ? 3
                   : (c & 0xF8) == 0xF0 ? 4
                                        : 0;
  if (n <= 1) return n;
  if (i + n > s.size()) return 0;
  uint32_t cp = c & (0x7Fu >> n);  // the payload bits of the lead byte
  for (size_t k = 1; k < n; ++k) {
    if ((b(i + k) & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (b(i + k) & 0x3Fu);
  }
  static const uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < kMin[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return n;
}

// The short escapes, in pairs: the letter after the backslash, then the character it stands for.
constexpr std::string_view kShortEscapes = "\"\"\\\\//b\bf\fn\nr\rt\t";

// The character that a backslash and `letter` stand for, or 0 when that is no short escape.
char Unescape(char letter) {
  for (size_t i = 0; i < kShortEscapes.size(); i += 2) {
    if (kShortEscapes[i] == letter) return kShortEscapes[i + 1];
  }
  return 0;
}

// The letter that escapes `c` in output, or 0 when `c` is written as is ('/' is).
char EscapeLetter(char c) {
  for (size_t i = 0; i < kShortEscapes.size(); i += 2) {
    if (kShortEscapes[i + 1] == c && c != '/') return kShortEscapes[i];
  }
  return 0;
}

void AppendQuoted(std::string_view s, std::string* out) {
  static const char kHex[] = "0123456789abcdef";
  out->push_back('"');
  for (char c : s) {
    if (const char letter = EscapeLetter(c)) {
      out->push_back('\\');
      out->push_back(letter);
    } else if (static_cast<unsigned char>(c) < 0x20) {
      *out += "\\u00";
      out->push_back(kHex[(c >> 4) & 0xF]);
      out->push_back(kHex[c & 0xF]);
    } else {
      out->push_back(c);
    }
  }
  out->push_back('"');
}

void Write(const Json& v, std::string* out) {
  using Kind = Json::Kind;
  if (v.kind() == Kind::kNull || v.kind() == Kind::kBool) {
    *out += v.is_null() ? "null" : v.boolean() ? "true" : "false";
  } else if (v.kind() == Kind::kNumber) {
    *out += v.number_text();
  } else if (v.kind() == Kind::kString) {
    AppendQuoted(v.string(), out);
  } else if (v.kind() == Kind::kArray) {
    out->push_back('[');
    for (size_t i = 0; i < v.items().size(); ++i) {
      if (i > 0) out->push_back(',');
      Write(v.items()[i], out);
    }
    out->push_back(']');
  } else {
    out->push_back('{');
    for (size_t i = 0; i < v.members().size(); ++i) {
      if (i > 0) out->push_back(',');
      AppendQuoted(v.members()[i].first, out);
      out->push_back(':');
      Write(v.members()[i].second, out);
    }
    out->push_back('}');
  }
}

// Recursive descent over the text; pos_ is always the offset of the next unread byte.
class Parser {
 public:
  explicit Parser(std::string_view text) : s_(text) {}

  Result<Json> Document() {
    SkipSpace();
    CFGIT_ASSIGN_OR_RETURN(Json value, ParseValue(0));
    SkipSpace();
    if (pos_ != s_.size()) return Error(pos_, "expected the end of the document");
    return value;
  }

 private:
  static Status Error(size_t at, const std::string& what) {
    return Status::Invalid("invalid JSON at byte " + std::to_string(at) + ": " + what);
  }
  bool AtEnd() const { return pos_ >= s_.size(); }
  char Peek() const { return AtEnd() ? '\0' : s_[pos_]; }
  void SkipSpace() {
    while (!AtEnd() && (Peek() == ' ' || Peek() == '\t' || Peek() == '\n' || Peek() == '\r')) {
      ++pos_;
    }
  }

  // `depth` counts the arrays and objects around the value.
  Result<Json> ParseValue(int depth) {
    const char c = Peek();
    if ((c == '[' || c == '{') && depth >= kMaxJsonDepth) {
      return Error(pos_, "expected nesting at most " + std::to_string(kMaxJsonDepth) + " deep");
    }
    if (c == '[') return ParseArray(depth + 1);
    if (c == '{') return ParseObject(depth + 1);
    if (c == '"') {
      CFGIT_ASSIGN_OR_RETURN(std::string s, ParseString());
      return Json::String(std::move(s));
    }
    if (c == 't') return ParseLiteral("true", Json::Bool(true));
    if (c == 'f') return ParseLiteral("false", Json::Bool(false));
    if (c == 'n') return ParseLiteral("null", Json::Null());
    if (c == '-' || IsDigit(c)) return ParseNumber();
    return Error(pos_, "expected a value");
  }

  Result<Json> ParseLiteral(std::string_view word, Json value) {
    if (s_.substr(pos_, word.size()) != word) {
      return Error(pos_, "expected a value ('" + std::string(word) + "'?)");
    }
    pos_ += word.size();
    return value;
  }

  Result<Json> ParseNumber() {
    const size_t start = pos_;
    if (Peek() == '-') ++pos_;
    if (Peek() == '0') {
      ++pos_;
      if (IsDigit(Peek())) return Error(pos_ - 1, "expected a number without leading zeros");
    } else if (IsDigit(Peek())) {
      while (IsDigit(Peek())) ++pos_;
    } else {
      return Error(pos_, "expected a digit");
    }
    if (Peek() == '.') {
      ++pos_;
      if (!IsDigit(Peek())) return Error(pos_, "expected a digit after '.'");
      while (IsDigit(Peek())) ++pos_;
    }
    if (Peek() == 'e' || Peek() == 'E') {
      ++pos_;
      if (Peek() == '+' || Peek() == '-') ++pos_;
      if (!IsDigit(Peek())) return Error(pos_, "expected a digit in the exponent");
      while (IsDigit(Peek())) ++pos_;
    }
    return Json::Number(std::string(s_.substr(start, pos_ - start)));
  }

  // Reads 4 hex digits after "\u" at pos_.
  Result<uint32_t> ParseHex4() {
    uint32_t v = 0;
    for (int k = 0; k < 4; ++k, ++pos_) {
      const int h = AtEnd() ? -1 : HexValue(Peek());
      if (h < 0) return Error(pos_, "expected 4 hex digits after \\u");
      v = v * 16 + static_cast<uint32_t>(h);
    }
    return v;
  }

  Result<uint32_t> ParseEscape() {  // pos_ is just after the backslash
    const size_t at = pos_ - 1;
    const char c = Peek();
    ++pos_;
    if (const char plain = Unescape(c)) return static_cast<uint32_t>(plain);
    if (c != 'u') {
      return Error(at, "expected an escape (\\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX)");
    }
    CFGIT_ASSIGN_OR_RETURN(uint32_t cp, ParseHex4());
    if (cp >= 0xDC00 && cp <= 0xDFFF) {
      return Error(at, "expected a high surrogate before a low one (lone surrogate)");
    }
    if (cp < 0xD800 || cp > 0xDBFF) return cp;
    if (s_.substr(pos_, 2) != "\\u") {
      return Error(at, "expected a \\u low surrogate after a high one (lone surrogate)");
    }
    pos_ += 2;
    CFGIT_ASSIGN_OR_RETURN(uint32_t low, ParseHex4());
    if (low < 0xDC00 || low > 0xDFFF) {
      return Error(at, "expected a low surrogate after a high one (lone surrogate)");
    }
    return 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
  }

  Result<std::string> ParseString() {  // pos_ is at the opening quote
    std::string out;
    ++pos_;
    while (true) {
      if (AtEnd()) return Error(pos_, "expected '\"' to end the string");
      const char c = Peek();
      if (c == '"') break;
      if (c == '\\') {
        ++pos_;
        CFGIT_ASSIGN_OR_RETURN(uint32_t cp, ParseEscape());
        AppendUtf8(cp, &out);
      } else if (static_cast<unsigned char>(c) < 0x20) {
        return Error(pos_, "expected an escape for the control character in the string");
      } else {
        const size_t n = Utf8Length(s_, pos_);
        if (n == 0) return Error(pos_, "expected valid UTF-8");
        out.append(s_.substr(pos_, n));
        pos_ += n;
      }
    }
    ++pos_;
    return out;
  }

  Result<Json> ParseArray(int depth) {
    ++pos_;
    std::vector<Json> items;
    SkipSpace();
    while (Peek() != ']') {
      CFGIT_ASSIGN_OR_RETURN(Json item, ParseValue(depth));
      items.push_back(std::move(item));
      SkipSpace();
      if (Peek() == ']') break;
      if (Peek() != ',') return Error(pos_, "expected ',' or ']'");
      ++pos_;
      SkipSpace();
      if (Peek() == ']') return Error(pos_, "expected a value, not a trailing comma");
    }
    ++pos_;
    return Json::Array(std::move(items));
  }

  Result<Json> ParseObject(int depth) {
    ++pos_;
    std::vector<Json::Member> members;
    std::unordered_set<std::string> seen;
    SkipSpace();
    while (Peek() != '}') {
      if (Peek() != '"') return Error(pos_, "expected a '\"' to start a member name");
      const size_t key_at = pos_;
      CFGIT_ASSIGN_OR_RETURN(std::string key, ParseString());
      if (!seen.insert(key).second) {
        std::string quoted;
        AppendQuoted(key, &quoted);
        return Error(key_at, "expected unique member names, not a second " + quoted);
      }
      SkipSpace();
      if (Peek() != ':') return Error(pos_, "expected ':'");
      ++pos_;
      SkipSpace();
      CFGIT_ASSIGN_OR_RETURN(Json value, ParseValue(depth));
      members.emplace_back(std::move(key), std::move(value));
      SkipSpace();
      if (Peek() == '}') break;
      if (Peek() != ',') return Error(pos_, "expected ',' or '}'");
      ++pos_;
      SkipSpace();
      if (Peek() == '}') {
        return Error(pos_, "expected a '\"' to start a member name, not a trailing comma");
      }
    }
    ++pos_;
    return Json::Object(std::move(members));
  }

  std::string_view s_;
  size_t pos_ = 0;
};

bool IsIdentifier(const std::string& s) {
  auto first = [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' || c == '$';
  };
  if (s.empty() || !first(s[0])) return false;
  return std::all_of(s.begin() + 1, s.end(),
                     [&](char c) { return first(c) || IsDigit(c) || c == '-'; });
}

}  // namespace

const std::string& Json::number_text() const {
  return kind_ == Kind::kNumber ? text_ : EmptyText();
}

const std::string& Json::string() const { return kind_ == Kind::kString ? text_ : EmptyText(); }

const Json* Json::Find(std::string_view key) const {
  for (const Member& m : members_) {
    if (m.first == key) return &m.second;
  }
  return nullptr;
}

bool Json::operator==(const Json& other) const {
  if (kind_ != other.kind_) return false;
  if (kind_ == Kind::kBool) return bool_ == other.bool_;
  if (kind_ == Kind::kArray) return items_ == other.items_;
  if (kind_ != Kind::kObject) return text_ == other.text_;  // null, number, string
  if (members_.size() != other.members_.size()) return false;
  // Sort both sides by name and compare in step: n log n, however large the object.
  auto sorted = [](const std::vector<Member>& ms) {
    std::vector<const Member*> v;
    v.reserve(ms.size());
    for (const Member& m : ms) v.push_back(&m);
    std::sort(v.begin(), v.end(), [](auto* a, auto* b) { return a->first < b->first; });
    return v;
  };
  const std::vector<const Member*> a = sorted(members_), b = sorted(other.members_);
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i]->first != b[i]->first || a[i]->second != b[i]->second) return false;
  }
  return true;
}

Result<Json> ParseJson(std::string_view text) { return Parser(text).Document(); }

std::string WriteJson(const Json& value) {
  std::string out;
  Write(value, &out);
  return out;
}

std::string JsonPath(const std::vector<JsonPathStep>& steps) {
  std::string out;
  for (const JsonPathStep& step : steps) {
    if (const size_t* index = std::get_if<size_t>(&step)) {
      out += "[" + std::to_string(*index) + "]";
      continue;
    }
    const std::string& name = std::get<std::string>(step);
    if (IsIdentifier(name)) {
      if (!out.empty()) out.push_back('.');
      out += name;
    } else {
      out.push_back('[');
      AppendQuoted(name, &out);
      out.push_back(']');
    }
  }
  return out;
}

}  // namespace cfgit
