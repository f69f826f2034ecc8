// Files the store keeps beside its objects (fingerprint memos and their list, rows diffs,
// cfgit.yaml), written whole and replaced by a rename, and the little-endian integers of their
// binary formats. Included only by store/*.cc (and the tests).
#pragma once

#include <bit>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <string>
#include <string_view>

#include "store/status.h"

namespace cfgit {

// A temporary file name of its own beside `path`, to write and rename over it: two commands, or
// two threads of one, may write the same file at once.
std::string TempBeside(const std::string& path);

// Writes a temporary file beside `path` (creating the directory) through `write`, which gets it
// open and says whether everything was written, and renames it over `path`: a reader finds the
// old file or the new one, never a part. Fails naming `path`, leaving no temporary file.
Status ReplaceFile(const std::string& path, const std::function<bool(std::FILE*)>& write);
// ReplaceFile with `bytes`.
Status WriteFileAtomically(const std::string& path, std::string_view bytes);

// Little-endian, as the formats say (a plain copy on the machines cfgit runs on).
inline void StoreU64(char* p, uint64_t v) {
  if constexpr (std::endian::native == std::endian::little) {
    std::memcpy(p, &v, sizeof v);
  } else {
    for (int i = 0; i < 8; ++i) p[i] = static_cast<char>((v >> (8 * i)) & 0xff);
  }
}
inline void PutU64(std::string* out, uint64_t v) {
  char bytes[8];
  StoreU64(bytes, v);
  out->append(bytes, sizeof bytes);
}
inline uint64_t GetU64(const char* p) {
  uint64_t v = 0;
  if constexpr (std::endian::native == std::endian::little) {
    std::memcpy(&v, p, sizeof v);
  } else {
    for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  }
  return v;
}

}  // namespace cfgit
