// The fingerprint memo of a snapshot writer (see Store::NewSnapshot): for each row of an
// environment's last committed snapshot, an XXH3-128 fingerprint of its values (seeded with the
// table's column layout) and the row file's blob id and name. A row whose fingerprint is found
// needs no encoding and no SHA-1: its file already exists in the store.
//
// File format (store-format.md, "Fingerprint memo"): the line "cfgit-fingerprints 1\n", then
// records sorted by fingerprint: 16 bytes fingerprint, 20 bytes blob id, 2 bytes little-endian
// name length, the name. A file that does not parse is ignored: it is only a memo.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "store/store.h"

namespace cfgit {

struct Fingerprint {
  uint64_t high = 0, low = 0;
  auto operator<=>(const Fingerprint&) const = default;
};

// A seed for the rows of one table layout: the versioned columns and which of them are the key.
uint64_t LayoutSeed(const std::vector<std::string>& columns, const std::vector<size_t>& key_index);
Fingerprint RowFingerprint(uint64_t seed, const Row& row);

class FingerprintMemo {
 public:
  // Reads the memo at `path`; a missing or unreadable file gives an empty memo.
  static FingerprintMemo Load(const std::string& path);

  struct Hit {
    Oid blob;
    std::string_view name;  // the row file's name without ".yaml"
  };
  std::optional<Hit> Find(const Fingerprint& fp) const;

  // Records a row of the snapshot being written, for Save.
  void Add(const Fingerprint& fp, const Oid& blob, const std::string& name);
  // Replaces the file at `path` with the rows added (write to a temporary file, then rename).
  Status Save(const std::string& path);

 private:
  struct Record {
    Fingerprint fp;
    Oid blob;
    uint32_t name_offset = 0;
    uint16_t name_size = 0;
  };
  std::vector<Record> old_, new_;
  std::string old_names_, new_names_;
};

}  // namespace cfgit
