#include "adapters/postgres/copy_text.h"

#include <charconv>
#include <cmath>
#include <limits>

namespace cfgit::pg {
namespace {

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool IsOctal(char c) { return c >= '0' && c <= '7'; }

// Undoes one escape starting after the backslash at line[*i]; advances *i past it.
void Unescape(std::string_view line, size_t* i, std::string* out) {
  char c = line[*i];
  switch (c) {
    case 'b':
      out->push_back('\b');
      ++*i;
      return;
    case 'f':
      out->push_back('\f');
      ++*i;
      return;
    case 'n':
      out->push_back('\n');
      ++*i;
      return;
    case 'r':
      out->push_back('\r');
      ++*i;
      return;
    case 't':
      out->push_back('\t');
      ++*i;
      return;
    case 'v':
      out->push_back('\v');
      ++*i;
      return;
    default:
      break;
  }
  if (IsOctal(c)) {
    int v = 0;
    for (int n = 0; n < 3 && *i < line.size() && IsOctal(line[*i]); ++n, ++*i)
      v = v * 8 + (line[*i] - '0');
    out->push_back(static_cast<char>(v & 0xff));
    return;
  }
  if (c == 'x' && *i + 1 < line.size() && HexDigit(line[*i + 1]) >= 0) {
    ++*i;
    int v = 0;
    for (int n = 0; n < 2 && *i < line.size() && HexDigit(line[*i]) >= 0; ++n, ++*i)
      v = v * 16 + HexDigit(line[*i]);
    out->push_back(static_cast<char>(v));
    return;
  }
  out->push_back(c);  // \\ and any other escaped character stand for themselves
  ++*i;
}

}  // namespace

Status ParseCopyLine(std::string_view line, std::vector<CopyField>* fields) {
  if (!line.empty() && line.back() == '\n') line.remove_suffix(1);
  // Fields already in `fields` are assigned, not rebuilt: a scan parses one line a row.
  size_t n = 0;
  auto next = [&]() -> CopyField& {
    if (n == fields->size()) fields->emplace_back();
    return (*fields)[n++];
  };
  size_t i = 0;
  while (true) {
    size_t end = line.find('\t', i);
    std::string_view raw =
        line.substr(i, end == std::string_view::npos ? line.size() - i : end - i);
    CopyField& field = next();
    if (raw == "\\N") {
      field.reset();
    } else {
      std::string& value = field ? *field : field.emplace();
      // Runs without a backslash are copied whole; most fields are one such run.
      size_t j = raw.find('\\');
      value.assign(raw.substr(0, j));
      while (j != std::string_view::npos) {
        if (++j == raw.size()) {
          fields->resize(n);
          return Status::Invalid("a COPY line ends inside an escape");
        }
        Unescape(raw, &j, &value);
        size_t plain = raw.find('\\', j);
        value.append(raw.substr(j, plain == std::string_view::npos ? raw.size() - j : plain - j));
        j = plain;
      }
    }
    if (end == std::string_view::npos) break;
    i = end + 1;
  }
  fields->resize(n);
  return Status::Ok();
}

void AppendCopyField(const CopyField& field, std::string* line) {
  if (!field) {
    line->append("\\N");
    return;
  }
  for (char c : *field) {
    switch (c) {
      case '\\':
        line->append("\\\\");
        break;
      case '\t':
        line->append("\\t");
        break;
      case '\n':
        line->append("\\n");
        break;
      case '\r':
        line->append("\\r");
        break;
      default:
        line->push_back(c);
    }
  }
}

Result<std::string> DecodeByteaHex(std::string_view text) {
  if (text.size() < 2 || text[0] != '\\' || text[1] != 'x' || text.size() % 2 != 0) {
    return Status::Invalid("not a bytea in hex form: '" + std::string(text.substr(0, 20)) + "'");
  }
  std::string out;
  out.reserve(text.size() / 2 - 1);
  for (size_t i = 2; i < text.size(); i += 2) {
    int hi = HexDigit(text[i]), lo = HexDigit(text[i + 1]);
    if (hi < 0 || lo < 0)
      return Status::Invalid("not a bytea in hex form: bad digit at " + std::to_string(i));
    out.push_back(static_cast<char>(hi * 16 + lo));
  }
  return out;
}

std::string EncodeByteaHex(std::string_view bytes) {
  static const char kDigits[] = "0123456789abcdef";
  std::string out = "\\x";
  out.reserve(2 + bytes.size() * 2);
  for (unsigned char b : bytes) {
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 0xf]);
  }
  return out;
}

Result<double> ParseFloat(std::string_view text) {
  if (text == "NaN") return std::numeric_limits<double>::quiet_NaN();
  if (text == "Infinity") return std::numeric_limits<double>::infinity();
  if (text == "-Infinity") return -std::numeric_limits<double>::infinity();
  double v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size()) {
    return Status::Invalid("not a floating-point number: '" + std::string(text) + "'");
  }
  return v;
}

std::string FormatFloat(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "Infinity" : "-Infinity";
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value);
  return std::string(buf, end);
}

Result<int64_t> ParseInteger(std::string_view text) {
  int64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size()) {
    return Status::Invalid("not an integer: '" + std::string(text) + "'");
  }
  return v;
}

}  // namespace cfgit::pg
