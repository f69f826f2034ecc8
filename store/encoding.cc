// Canonical encoding of rows, keys and schemas. See docs/store-format.md for the specification
// this file implements; any change here is a change of the store format.
#include "store/encoding.h"

#include <xxhash.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <bit>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "store/internal/text.h"

namespace cfgit {

bool Value::operator==(const Value& other) const {
  if (kind_ != other.kind_) return false;
  switch (kind_) {
    case Kind::kNull:
      return true;
    case Kind::kInteger:
    case Kind::kBool:
      return int_ == other.int_;
    case Kind::kReal:
      // Bitwise, so -0.0 differs from 0.0; every NaN is the same value.
      return std::bit_cast<uint64_t>(real_) == std::bit_cast<uint64_t>(other.real_) ||
             (std::isnan(real_) && std::isnan(other.real_));
    case Kind::kText:
    case Kind::kBlob:
      return bytes_ == other.bytes_;
  }
  return false;
}

std::vector<std::string> TableSchema::VersionedColumns() const {
  std::vector<std::string> out;
  for (const Column& c : columns) {
    bool ignored = false;
    for (const std::string& i : ignore) ignored = ignored || i == c.name;
    if (!ignored) out.push_back(c.name);
  }
  return out;
}

std::string AsciiLower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool Column::IsJson() const {
  std::string t = AsciiLower(type);
  return t == "json" || t == "jsonb";
}

std::vector<std::string> TableSchema::JsonColumns(
    const std::vector<std::string>& configured) const {
  std::vector<std::string> out;
  for (const Column& c : columns) {
    if (c.IsJson() || std::find(configured.begin(), configured.end(), c.name) != configured.end())
      out.push_back(c.name);
  }
  return out;
}

const Column* TableSchema::FindColumn(const std::string& column) const {
  for (const Column& c : columns) {
    if (c.name == column) return &c;
  }
  return nullptr;
}

namespace {

constexpr char kHex[] = "0123456789abcdef";

std::string Hex(const void* data, size_t n) {
  const auto* p = static_cast<const unsigned char*>(data);
  std::string out;
  out.reserve(2 * n);
  for (size_t i = 0; i < n; ++i) {
    out.push_back(kHex[p[i] >> 4]);
    out.push_back(kHex[p[i] & 15]);
  }
  return out;
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

Result<std::string> Unhex(const std::string& s) {
  if (s.size() % 2 != 0) return Status::Invalid("odd-length hex '" + s + "'");
  std::string out;
  for (size_t i = 0; i < s.size(); i += 2) {
    int hi = HexDigit(s[i]), lo = HexDigit(s[i + 1]);
    if (hi < 0 || lo < 0) return Status::Invalid("bad hex '" + s + "'");
    out.push_back(static_cast<char>(hi * 16 + lo));
  }
  return out;
}

std::string Hash128Hex(const std::string& data) {
  XXH128_hash_t h = XXH3_128bits(data.data(), data.size());
  XXH128_canonical_t c;
  XXH128_canonicalFromHash(&c, h);
  return Hex(c.digest, sizeof c.digest);
}

bool IsSafePathByte(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-' || c == '.';
}

// Percent-encodes every byte outside [A-Za-z0-9_.-]; `escape_first` also encodes a first byte
// that would otherwise be ambiguous.
std::string PercentEncode(const std::string& s, bool (*escape_first)(unsigned char)) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (IsSafePathByte(c) && !(i == 0 && escape_first(c))) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(static_cast<char>(std::toupper(kHex[c >> 4])));
      out.push_back(static_cast<char>(std::toupper(kHex[c & 15])));
    }
  }
  return out;
}

Result<std::string> PercentDecode(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      if (!IsSafePathByte(static_cast<unsigned char>(s[i]))) {
        return Status::Invalid("unexpected character in encoded name '" + s + "'");
      }
      out.push_back(s[i]);
      continue;
    }
    if (i + 2 >= s.size()) {
      return Status::Invalid("truncated escape in encoded name '" + s + "'");
    }
    int hi = HexDigit(s[i + 1]), lo = HexDigit(s[i + 2]);
    if (hi < 0 || lo < 0) return Status::Invalid("bad escape in encoded name '" + s + "'");
    out.push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return out;
}

bool KeyTextEscapeFirst(unsigned char c) { return (c >= '0' && c <= '9') || c == '-' || c == '.'; }
bool PathEscapeFirst(unsigned char c) { return c == '.'; }

// The shortest decimal that reads back as exactly `v`, always recognisable as a float: fixed
// notation with at least one decimal ("100.0", "0.001") for decimal exponents -5..16, else a
// mantissa with a decimal point and a signed exponent ("1.0e+20", "2.5e-07"), which YAML 1.1
// and 1.2 readers alike take for a float.
std::string FormatReal(double v) {
  if (std::isnan(v)) return ".nan";
  if (std::isinf(v)) return v > 0 ? ".inf" : "-.inf";
  char buf[64];
  int precision = 1;
  for (; precision < 17; ++precision) {
    std::snprintf(buf, sizeof buf, "%.*e", precision - 1, v);
    if (std::strtod(buf, nullptr) == v) break;
  }
  std::snprintf(buf, sizeof buf, "%.*e", precision - 1, v);
  std::string sci = buf;
  int exponent = std::atoi(sci.c_str() + sci.find('e') + 1);
  if (exponent >= -5 && exponent < 17) {
    int decimals = std::max(1, precision - 1 - exponent);
    std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
    std::string fixed = buf;
    // Trailing zeros beyond the first decimal carry nothing ("100.0", not "100.00").
    while (fixed.size() > 2 && fixed.back() == '0' && fixed[fixed.size() - 2] != '.')
      fixed.pop_back();
    return fixed;
  }
  std::string mantissa = sci.substr(0, sci.find('e'));
  if (mantissa.find('.') == std::string::npos) mantissa += ".0";
  return mantissa + sci.substr(sci.find('e'));
}

}  // namespace

bool IsValidUtf8(const std::string& text) { return text::IsValidUtf8(text); }

std::string EncodeValue(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::kNull:
      return "null";
    case Value::Kind::kInteger:
      return std::to_string(v.integer());
    case Value::Kind::kBool:
      return v.boolean() ? "true" : "false";
    case Value::Kind::kReal:
      return FormatReal(v.real());
    case Value::Kind::kText: {
      if (!text::IsValidUtf8(v.bytes()))
        return "!textbytes " +
               YAML::EncodeBase64(reinterpret_cast<const unsigned char*>(v.bytes().data()),
                                  v.bytes().size());
      return text::QuoteYaml(v.bytes());
    }
    case Value::Kind::kBlob:
      return "!!binary " +
             YAML::EncodeBase64(reinterpret_cast<const unsigned char*>(v.bytes().data()),
                                v.bytes().size());
  }
  return "null";
}

namespace {

Result<double> ParseReal(const std::string& s) {
  if (s == ".nan" || s == ".NaN" || s == ".NAN") return std::nan("");
  if (s == ".inf" || s == "+.inf" || s == ".Inf") return HUGE_VAL;
  if (s == "-.inf" || s == "-.Inf") return -HUGE_VAL;
  char* end = nullptr;
  double d = std::strtod(s.c_str(), &end);
  if (s.empty() || *end != '\0') return Status::Invalid("'" + s + "' is not a number");
  return d;
}

Result<int64_t> ParseInteger(const std::string& s) {
  if (s.empty()) return Status::Invalid("empty integer");
  errno = 0;
  char* end = nullptr;
  long long v = std::strtoll(s.c_str(), &end, 10);
  if (*end != '\0' || errno == ERANGE) return Status::Invalid("'" + s + "' is not an integer");
  return static_cast<int64_t>(v);
}

bool LooksInteger(const std::string& s) {
  size_t i = (!s.empty() && (s[0] == '-' || s[0] == '+')) ? 1 : 0;
  if (i == s.size()) return false;
  for (; i < s.size(); ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
  }
  return true;
}

// The value of one scalar as the YAML parser reports it: `tag` is "?" for a plain scalar, "!" for
// a quoted one, else the resolved tag. Both row readers (yaml-cpp and the canonical one) end
// here, so they cannot disagree on what a scalar means.
Result<Value> DecodeScalar(std::string_view tag, std::string s) {
  if (tag == "!") return Value::Text(std::move(s));
  if (tag == "tag:yaml.org,2002:binary" || tag == "!textbytes") {
    std::vector<unsigned char> bytes = YAML::DecodeBase64(s);
    if (bytes.empty() && !s.empty()) return Status::Invalid("bad base64 value '" + s + "'");
    std::string b(bytes.begin(), bytes.end());
    return tag == "!textbytes" ? Value::Text(std::move(b)) : Value::Blob(std::move(b));
  }
  if (tag != "?" && !tag.empty()) {
    return Status::Invalid("unknown value tag '" + std::string(tag) + "'");
  }
  if (s == "null" || s == "~" || s.empty()) return Value::Null();
  if (s == "true") return Value::Bool(true);
  if (s == "false") return Value::Bool(false);
  if (LooksInteger(s)) {
    CFGIT_ASSIGN_OR_RETURN(int64_t i, ParseInteger(s));
    return Value::Integer(i);
  }
  CFGIT_ASSIGN_OR_RETURN(double d, ParseReal(s));
  return Value::Real(d);
}

Result<Value> DecodeValueNode(const YAML::Node& node) {
  if (!node.IsScalar()) {
    if (node.IsNull()) return Value::Null();
    return Status::Invalid("a row value is not a scalar");
  }
  return DecodeScalar(node.Tag(), node.Scalar());
}

Status YamlError(const YAML::Exception& e, const std::string& what) {
  return Status::Invalid(what + " is not valid YAML (line " + std::to_string(e.mark.line + 1) +
                         ", column " + std::to_string(e.mark.column + 1) + "): " + e.msg);
}

}  // namespace

std::string EncodeRow(const std::vector<std::string>& columns, const Row& row) {
  std::string out;
  for (size_t i = 0; i < columns.size() && i < row.size(); ++i) {
    out += text::YamlKey(columns[i]);
    out += ": ";
    out += EncodeValue(row[i]);
    out += '\n';
  }
  return out;
}

// ---- reading row files ----
//
// Row files are read on every diff and merge, one per changed row. cfgit writes them in one
// fixed, line-based form (EncodeRow, store-format.md section 7), which DecodeCanonicalRow reads
// directly, byte by byte. Whatever it does not recognise as exactly that form (hand-edited
// files, other YAML styles, comments, errors of any kind) goes to yaml-cpp, the reader of
// record: the fast reader only ever answers with what yaml-cpp would have answered.

namespace {

bool IsPrintableAscii(unsigned char c) { return c >= 0x20 && c < 0x7F; }

void AppendUtf8(uint32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

constexpr size_t kNo = std::string_view::npos;
constexpr size_t kMaxFastKeyBytes = 1000;

// Copies the printable, non-ASCII character at s[i] (or reports it is not one): its length, or 0.
size_t CopyPrintableNonAscii(std::string_view s, size_t i, std::string* out) {
  uint32_t cp;
  size_t n = text::DecodeUtf8(s, i, &cp);
  if (n == 0 || !text::IsPlainPrintable(cp)) return 0;
  out->append(s.data() + i, n);
  return n;
}

// A 'single-quoted' scalar on one line starting at s[i]: its text into *out, and the index just
// past the closing quote (kNo when it is not in the written form).
size_t ReadSingleQuoted(std::string_view s, size_t i, std::string* out) {
  ++i;
  while (i < s.size()) {
    size_t run = i;
    while (run < s.size() && s[run] != '\'' && IsPrintableAscii(static_cast<unsigned char>(s[run])))
      ++run;
    out->append(s.data() + i, run - i);
    i = run;
    if (i == s.size()) return kNo;
    if (s[i] == '\'') {
      if (i + 1 < s.size() && s[i + 1] == '\'') {
        out->push_back('\'');
        i += 2;
        continue;
      }
      return i + 1;
    }
    if (static_cast<unsigned char>(s[i]) < 0x80) return kNo;  // a control character
    size_t n = CopyPrintableNonAscii(s, i, out);
    if (n == 0) return kNo;
    i += n;
  }
  return kNo;
}

// `digits` upper-case hex digits at s[i] (the writer's form), or -1.
long UpperHex(std::string_view s, size_t i, size_t digits) {
  if (i + digits > s.size()) return -1;
  long v = 0;
  for (size_t k = 0; k < digits; ++k) {
    char c = s[i + k];
    int d = (c >= '0' && c <= '9') ? c - '0' : (c >= 'A' && c <= 'F') ? c - 'A' + 10 : -1;
    if (d < 0) return -1;
    v = v * 16 + d;
  }
  return v;
}

// A "double-quoted" scalar on one line starting at s[i], with the escapes the writer uses.
size_t ReadDoubleQuoted(std::string_view s, size_t i, std::string* out) {
  ++i;
  while (i < s.size()) {
    size_t run = i;
    while (run < s.size() && s[run] != '"' && s[run] != '\\' &&
           IsPrintableAscii(static_cast<unsigned char>(s[run])))
      ++run;
    out->append(s.data() + i, run - i);
    i = run;
    if (i == s.size()) return kNo;
    char c = s[i];
    if (c == '"') return i + 1;
    if (c == '\\') {
      if (i + 1 == s.size()) return kNo;
      char e = s[i + 1];
      i += 2;
      switch (e) {
        case '0':
          out->push_back('\0');
          break;
        case 'a':
          out->push_back('\a');
          break;
        case 'b':
          out->push_back('\b');
          break;
        case 't':
          out->push_back('\t');
          break;
        case 'n':
          out->push_back('\n');
          break;
        case 'v':
          out->push_back('\v');
          break;
        case 'f':
          out->push_back('\f');
          break;
        case 'r':
          out->push_back('\r');
          break;
        case 'e':
          out->push_back('\x1B');
          break;
        case '"':
          out->push_back('"');
          break;
        case '\\':
          out->push_back('\\');
          break;
        case 'x':
        case 'u': {
          size_t digits = e == 'x' ? 2 : 4;
          long cp = UpperHex(s, i, digits);
          if (cp < 0 || (cp >= 0xD800 && cp <= 0xDFFF)) return kNo;
          AppendUtf8(static_cast<uint32_t>(cp), out);
          i += digits;
          break;
        }
        default:
          return kNo;
      }
      continue;
    }
    if (static_cast<unsigned char>(c) < 0x80) return kNo;  // a control character
    size_t n = CopyPrintableNonAscii(s, i, out);
    if (n == 0) return kNo;
    i += n;
  }
  return kNo;
}

bool IsPlainKeyStart(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}
bool IsPlainKeyChar(char c) { return IsPlainKeyStart(c) || (c >= '0' && c <= '9') || c == '-'; }
// Characters of the plain scalars the writer uses: integers, reals, null, true, false.
bool IsPlainValueChar(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '-' || c == '+';
}
bool IsBase64Char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
         c == '/' || c == '=';
}
bool StartsWith(std::string_view s, size_t i, std::string_view prefix) {
  return s.size() - i >= prefix.size() && s.compare(i, prefix.size(), prefix) == 0;
}

}  // namespace

std::optional<Row> DecodeCanonicalRow(const std::vector<std::string>& columns,
                                      std::string_view text) {
  Row row(columns.size());
  std::vector<bool> seen(columns.size());
  size_t next = 0;  // the column the next line most likely holds: files follow column order
  std::string key, scalar;
  size_t i = 0;
  while (i < text.size()) {
    // The key, then ": ".
    key.clear();
    const size_t line = i;
    char c = text[i];
    if (c == '\'') {
      i = ReadSingleQuoted(text, i, &key);
    } else if (c == '"') {
      i = ReadDoubleQuoted(text, i, &key);
    } else if (IsPlainKeyStart(c)) {
      size_t end = i + 1;
      while (end < text.size() && IsPlainKeyChar(text[end])) ++end;
      key.assign(text.data() + i, end - i);
      if (text::IsReservedWord(key)) return std::nullopt;
      i = end;
    } else {
      return std::nullopt;
    }
    if (i == kNo || !StartsWith(text, i, ": ")) return std::nullopt;
    // yaml-cpp refuses implicit keys past YAML's 1024-character limit: leave long ones to it.
    if (i - line > kMaxFastKeyBytes) return std::nullopt;
    i += 2;
    if (i == text.size()) return std::nullopt;

    // The value, as the scalar and tag YAML would report, up to the end of the line.
    scalar.clear();
    std::string_view tag = "?";
    c = text[i];
    if (c == '\'' || c == '"') {
      tag = "!";
      i = c == '\'' ? ReadSingleQuoted(text, i, &scalar) : ReadDoubleQuoted(text, i, &scalar);
      if (i == kNo) return std::nullopt;
    } else {
      if (c == '!') {
        if (StartsWith(text, i, "!!binary ")) {
          tag = "tag:yaml.org,2002:binary";
          i += 9;
        } else if (StartsWith(text, i, "!textbytes ")) {
          tag = "!textbytes";
          i += 11;
        } else {
          return std::nullopt;
        }
      }
      size_t end = i;
      if (tag == "?") {
        while (end < text.size() && IsPlainValueChar(text[end])) ++end;
        if (end == i) return std::nullopt;
      } else {
        while (end < text.size() && IsBase64Char(text[end])) ++end;
      }
      scalar.assign(text.data() + i, end - i);
      i = end;
    }
    if (i == text.size() || text[i] != '\n') return std::nullopt;
    ++i;

    // Which column: usually the next one in order; a key that is not a column is ignored.
    size_t col = columns.size();
    if (next < columns.size() && columns[next] == key) {
      col = next;
    } else {
      for (size_t k = 0; k < columns.size(); ++k) {
        if (columns[k] == key) {
          col = k;
          break;
        }
      }
    }
    if (col == columns.size()) continue;
    if (seen[col]) return std::nullopt;  // a repeated key: yaml-cpp decides
    seen[col] = true;
    next = col + 1;
    if (tag == "?") {
      if (scalar == "null") continue;  // already NULL
      // YAML reads these as null where DecodeScalar would not: leave them to yaml-cpp.
      if (scalar == "Null" || scalar == "NULL") return std::nullopt;
    }
    Result<Value> v = DecodeScalar(tag, std::move(scalar));
    if (!v.ok()) return std::nullopt;  // the error message is yaml-cpp's to give
    row[col] = std::move(*v);
  }
  return row;
}

Result<Row> DecodeRowYaml(const std::vector<std::string>& columns, const std::string& text) {
  try {
    YAML::Node doc = YAML::Load(text);
    if (!doc.IsMap() && !doc.IsNull()) return Status::Invalid("a row file is not a mapping");
    Row row(columns.size());
    for (const auto& kv : doc) {
      const std::string& name = kv.first.Scalar();
      for (size_t i = 0; i < columns.size(); ++i) {
        if (columns[i] != name) continue;
        CFGIT_ASSIGN_OR_RETURN(row[i], DecodeValueNode(kv.second));
      }
    }
    return row;
  } catch (const YAML::Exception& e) {
    return YamlError(e, "a row file");
  }
}

Result<Row> DecodeRow(const std::vector<std::string>& columns, const std::string& text,
                      bool* canonical) {
  std::optional<Row> row = DecodeCanonicalRow(columns, text);
  if (canonical) *canonical = row.has_value();
  if (row) return std::move(*row);
  return DecodeRowYaml(columns, text);
}

std::string EncodeKey(const Row& key_values) {
  std::string out;
  for (size_t i = 0; i < key_values.size(); ++i) {
    if (i > 0) out.push_back(',');
    const Value& v = key_values[i];
    switch (v.kind()) {
      case Value::Kind::kNull:
        out += "~n";
        break;
      case Value::Kind::kInteger:
        out += std::to_string(v.integer());
        break;
      case Value::Kind::kBool:
        out += v.boolean() ? "~t" : "~f";
        break;
      case Value::Kind::kReal: {
        std::string r = FormatReal(v.real());
        if (r[0] == '.') r.erase(0, 1);                    // ".nan" -> "nan"
        if (r.rfind("-.", 0) == 0) r = "-" + r.substr(2);  // "-.inf" -> "-inf"
        out += "~r" + r;
        break;
      }
      case Value::Kind::kText:
        out += v.bytes().empty() ? "~s" : PercentEncode(v.bytes(), KeyTextEscapeFirst);
        break;
      case Value::Kind::kBlob:
        out += "~x" + Hex(v.bytes().data(), v.bytes().size());
        break;
    }
  }
  if (out.size() <= kMaxKeyName) return out;
  size_t cut = 140;
  while (cut > 0 && (out[cut - 1] == '%' || (cut >= 2 && out[cut - 2] == '%'))) --cut;
  return out.substr(0, cut) + "~~" + Hash128Hex(out);
}

Result<Row> DecodeKey(const std::string& stem) {
  if (stem.find("~~") != std::string::npos) {
    return Status::Invalid("row name '" + stem + "' is a shortened long key; read the row file");
  }
  if (stem.rfind("~h", 0) == 0) {
    return Status::Invalid("row name '" + stem + "' belongs to a keyless table");
  }
  Row out;
  size_t start = 0;
  while (true) {
    size_t comma = stem.find(',', start);
    std::string c =
        stem.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (c.empty()) return Status::Invalid("empty key component in row name '" + stem + "'");
    if (c[0] == '~') {
      std::string rest = c.size() > 1 ? c.substr(2) : "";
      switch (c.size() > 1 ? c[1] : '\0') {
        case 'n':
          out.push_back(Value::Null());
          break;
        case 't':
          out.push_back(Value::Bool(true));
          break;
        case 'f':
          out.push_back(Value::Bool(false));
          break;
        case 's':
          out.push_back(Value::Text(""));
          break;
        case 'r': {
          if (rest == "nan" || rest == "inf" || rest == "-inf") {
            rest = rest[0] == '-' ? "-.inf" : "." + rest;
          }
          CFGIT_ASSIGN_OR_RETURN(double d, ParseReal(rest));
          out.push_back(Value::Real(d));
          break;
        }
        case 'x': {
          CFGIT_ASSIGN_OR_RETURN(std::string b, Unhex(rest));
          out.push_back(Value::Blob(std::move(b)));
          break;
        }
        default:
          return Status::Invalid("unknown key marker in row name '" + stem + "'");
      }
    } else if ((c[0] >= '0' && c[0] <= '9') || c[0] == '-') {
      CFGIT_ASSIGN_OR_RETURN(int64_t i, ParseInteger(c));
      out.push_back(Value::Integer(i));
    } else {
      CFGIT_ASSIGN_OR_RETURN(std::string t, PercentDecode(c));
      out.push_back(Value::Text(std::move(t)));
    }
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

std::string KeylessName(const std::string& encoded_row, int occurrence) {
  std::string name = "~h" + Hash128Hex(encoded_row);
  if (occurrence > 1) name += "~" + std::to_string(occurrence);
  return name;
}

uint32_t FanoutBucket(std::string_view stem) {
  return static_cast<uint32_t>(XXH3_64bits(stem.data(), stem.size()) >> 48);
}

std::pair<std::string, std::string> FanoutDirs(const std::string& stem) {
  uint32_t bucket = FanoutBucket(stem);
  unsigned char a = static_cast<unsigned char>(bucket >> 8), b = static_cast<unsigned char>(bucket);
  return {Hex(&a, 1), Hex(&b, 1)};
}

std::string EncodePathComponent(const std::string& text) {
  return text.empty() ? "~" : PercentEncode(text, PathEscapeFirst);
}

Result<std::string> DecodePathComponent(const std::string& component) {
  if (component == "~") return std::string();
  return PercentDecode(component);
}

// ---- schema files ----

namespace {

std::string FlowList(const std::vector<std::string>& items) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += ", ";
    out += text::YamlKey(items[i]);
  }
  return out + "]";
}

std::vector<std::string> StringList(const YAML::Node& n) {
  std::vector<std::string> out;
  if (n && n.IsSequence()) {
    for (const auto& item : n) out.push_back(item.Scalar());
  }
  return out;
}

std::string Str(const YAML::Node& n, const char* key) {
  return n[key] && n[key].IsScalar() ? n[key].Scalar() : std::string();
}

bool Bool(const YAML::Node& n, const char* key) { return Str(n, key) == "true"; }

}  // namespace

std::string EncodeSchema(const TableSchema& s) {
  std::string out = "table: " + text::QuoteYaml(s.name) + "\n";
  out += "columns:\n";
  for (const Column& c : s.columns) {
    out += "  - name: " + text::QuoteYaml(c.name) + "\n";
    out += "    type: " + text::QuoteYaml(c.type) + "\n";
    out += std::string("    not_null: ") + (c.not_null ? "true" : "false") + "\n";
    out += "    default: " + (c.default_sql ? text::QuoteYaml(*c.default_sql) : "null") + "\n";
  }
  out += "primary_key: " + FlowList(s.primary_key) + "\n";
  out += "key: " + FlowList(s.key) + "\n";
  out += "ignore: " + FlowList(s.ignore) + "\n";
  out += std::string("rows: ") + (s.rows_versioned ? "versioned" : "schema-only") + "\n";
  out += "indexes:";
  out += s.indexes.empty() ? " []\n" : "\n";
  for (const Index& i : s.indexes) {
    out += "  - name: " + text::QuoteYaml(i.name) + "\n";
    out += std::string("    unique: ") + (i.unique ? "true" : "false") + "\n";
    out += "    columns: " + FlowList(i.columns) + "\n";
  }
  out += "foreign_keys:";
  out += s.foreign_keys.empty() ? " []\n" : "\n";
  for (const ForeignKey& f : s.foreign_keys) {
    out += "  - columns: " + FlowList(f.columns) + "\n";
    out += "    table: " + text::QuoteYaml(f.ref_table) + "\n";
    out += "    references: " + FlowList(f.ref_columns) + "\n";
    out += "    on_update: " + text::QuoteYaml(f.on_update) + "\n";
    out += "    on_delete: " + text::QuoteYaml(f.on_delete) + "\n";
    out += std::string("    deferrable: ") + (f.deferrable ? "true" : "false") + "\n";
    out +=
        std::string("    initially_deferred: ") + (f.initially_deferred ? "true" : "false") + "\n";
  }
  out += "sql: " + text::QuoteYaml(s.sql) + "\n";
  return out;
}

Result<TableSchema> DecodeSchema(const std::string& source) {
  try {
    YAML::Node doc = YAML::Load(source);
    if (!doc.IsMap() || !doc["table"]) return Status::Invalid("a schema file has no 'table'");
    TableSchema s;
    s.name = Str(doc, "table");
    for (const auto& c : doc["columns"]) {
      Column col{.name = Str(c, "name"), .type = Str(c, "type"), .not_null = Bool(c, "not_null")};
      if (c["default"] && !(c["default"].IsNull() ||
                            (c["default"].Tag() == "?" && c["default"].Scalar() == "null"))) {
        col.default_sql = c["default"].Scalar();
      }
      s.columns.push_back(std::move(col));
    }
    s.primary_key = StringList(doc["primary_key"]);
    s.key = StringList(doc["key"]);
    s.ignore = StringList(doc["ignore"]);
    s.rows_versioned = Str(doc, "rows") != "schema-only";
    for (const auto& i : doc["indexes"]) {
      s.indexes.push_back({.name = Str(i, "name"),
                           .columns = StringList(i["columns"]),
                           .unique = Bool(i, "unique")});
    }
    for (const auto& f : doc["foreign_keys"]) {
      s.foreign_keys.push_back({.columns = StringList(f["columns"]),
                                .ref_table = Str(f, "table"),
                                .ref_columns = StringList(f["references"]),
                                .on_update = Str(f, "on_update"),
                                .on_delete = Str(f, "on_delete"),
                                .deferrable = Bool(f, "deferrable"),
                                .initially_deferred = Bool(f, "initially_deferred")});
    }
    s.sql = Str(doc, "sql");
    return s;
  } catch (const YAML::Exception& e) {
    return YamlError(e, "a schema file");
  }
}

}  // namespace cfgit
