// Text helpers shared inside store/: UTF-8 validation and the canonical YAML quoting rule used
// by row and schema files (docs/store-format.md, "Text").
#pragma once

#include <string>

namespace cfgit::text {

bool IsValidUtf8(const std::string& s);
// 'single-quoted' when the text is one printable line, else "double-quoted" with escapes.
// Requires valid UTF-8.
std::string QuoteYaml(const std::string& s);
// A mapping key: plain when it is a simple identifier, else quoted as QuoteYaml does.
std::string YamlKey(const std::string& s);

}  // namespace cfgit::text
