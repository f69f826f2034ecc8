#include "store/internal/text.h"

#include <cstdint>
#include <cstdio>

namespace cfgit::text {

size_t DecodeUtf8(std::string_view s, size_t i, uint32_t* cp) {
  auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = b(i);
  size_t n;
  uint32_t v;
  if (c < 0x80) {
    *cp = c;
    return 1;
  } else if ((c & 0xE0) == 0xC0) {
    n = 2, v = c & 0x1F;
  } else if ((c & 0xF0) == 0xE0) {
    n = 3, v = c & 0x0F;
  } else if ((c & 0xF8) == 0xF0) {
    n = 4, v = c & 0x07;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    if ((b(i + k) & 0xC0) != 0x80) return 0;
    v = (v << 6) | (b(i + k) & 0x3F);
  }
  static const uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
  if (v < kMin[n] || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) return 0;
  *cp = v;
  return n;
}

bool IsPlainPrintable(uint32_t cp) {
  if (cp < 0x20 || cp == 0x7F) return false;
  if (cp >= 0x80 && cp <= 0x9F) return false;
  if (cp == 0x2028 || cp == 0x2029 || cp == 0xFEFF || cp == 0xFFFE || cp == 0xFFFF) return false;
  return true;
}

bool IsReservedWord(std::string_view s) {
  static const char* kWords[] = {"null",  "Null",  "NULL", "true", "True", "TRUE", "false",
                                 "False", "FALSE", "yes",  "Yes",  "YES",  "no",   "No",
                                 "NO",    "on",    "On",   "ON",   "off",  "Off",  "OFF",
                                 "y",     "Y",     "n",    "N"};
  for (const char* w : kWords) {
    if (s == w) return true;
  }
  return false;
}

bool IsValidUtf8(const std::string& s) {
  uint32_t cp;
  for (size_t i = 0; i < s.size();) {
    size_t n = DecodeUtf8(s, i, &cp);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

std::string QuoteYaml(const std::string& s) {
  bool simple = true;
  uint32_t cp;
  for (size_t i = 0; i < s.size() && simple;) {
    size_t n = DecodeUtf8(s, i, &cp);
    simple = n > 0 && IsPlainPrintable(cp);
    i += n == 0 ? 1 : n;
  }
  std::string out;
  out.reserve(s.size() + 2);
  if (simple) {
    out.push_back('\'');
    for (char c : s) {
      if (c == '\'') out.push_back('\'');
      out.push_back(c);
    }
    out.push_back('\'');
    return out;
  }
  out.push_back('"');
  for (size_t i = 0; i < s.size();) {
    size_t n = DecodeUtf8(s, i, &cp);
    if (n == 0) {  // not reachable for valid UTF-8; keep the byte visible rather than drop it
      n = 1;
      cp = static_cast<unsigned char>(s[i]);
    }
    char buf[12];
    switch (cp) {
      case 0:
        out += "\\0";
        break;
      case '\a':
        out += "\\a";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\v':
        out += "\\v";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\r':
        out += "\\r";
        break;
      case 0x1B:
        out += "\\e";
        break;
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      default:
        if (IsPlainPrintable(cp)) {
          out.append(s, i, n);
        } else if (cp <= 0xFF) {
          std::snprintf(buf, sizeof buf, "\\x%02X", cp);
          out += buf;
        } else {
          std::snprintf(buf, sizeof buf, "\\u%04X", cp);
          out += buf;
        }
    }
    i += n;
  }
  out.push_back('"');
  return out;
}

std::string YamlKey(const std::string& s) {
  bool plain = !s.empty() && !IsReservedWord(s) &&
               ((s[0] >= 'A' && s[0] <= 'Z') || (s[0] >= 'a' && s[0] <= 'z') || s[0] == '_');
  for (char c : s) {
    plain = plain && ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                      c == '_' || c == '-');
  }
  return plain ? s : QuoteYaml(s);
}

}  // namespace cfgit::text
