// Text helpers shared inside store/: UTF-8 validation and the canonical YAML quoting rule used
// by row and schema files (docs/store-format.md, "Text").
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace cfgit::text {

// One UTF-8 sequence at s[i]: its length, or 0 if it is malformed (overlong, surrogate, past
// U+10FFFF, truncated).
size_t DecodeUtf8(std::string_view s, size_t i, uint32_t* cp);
// Code points written as themselves inside a quoted scalar on one line (store-format.md 7.3).
bool IsPlainPrintable(uint32_t cp);
// Plain words YAML reads as something other than their text (null, the booleans of YAML 1.1):
// never written as plain keys.
bool IsReservedWord(std::string_view s);
bool IsValidUtf8(const std::string& s);
// 'single-quoted' when the text is one printable line, else "double-quoted" with escapes.
// Requires valid UTF-8.
std::string QuoteYaml(const std::string& s);
// A mapping key: plain when it is a simple identifier, else quoted as QuoteYaml does.
std::string YamlKey(const std::string& s);

}  // namespace cfgit::text
