// The fingerprint memo of a snapshot writer (see Store::NewSnapshot). For each row of an
// environment's last committed snapshot: an XXH3-128 fingerprint of its values (seeded with the
// table's column layout) → the row file's blob id and name. For each rows tree of that snapshot
// (the leaf and middle directories of a table's rows/): a fingerprint of its entries → the tree's
// id. A row or tree whose fingerprint is found needs no encoding and no SHA-1: it is in the store.
//
// File format (store-format.md, "Fingerprint memo"): the line "cfgit-fingerprints 3\n", then
// blocks, each: 8 bytes little-endian count of row records, the row records (16 bytes
// fingerprint, 20 bytes blob id, 2 bytes little-endian name length, the name); 8 bytes count of
// tree records, the tree records (16 bytes fingerprint, 20 bytes tree id). Records are in no
// particular order. A block cut short ends the memo; a file that does not parse is ignored: it is
// only a memo.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "store/store.h"

namespace cfgit {

struct Fingerprint {
  uint64_t high = 0, low = 0;
  bool operator==(const Fingerprint&) const = default;
};

// A seed for the rows of one table layout: the versioned columns and which of them are the key.
uint64_t LayoutSeed(const std::vector<std::string>& columns, const std::vector<size_t>& key_index);
Fingerprint RowFingerprint(uint64_t seed, const Row& row);

// The fingerprint of a tree's entries (names, kinds and ids, in the order given).
class TreeFingerprint {
 public:
  void Add(std::string_view name, bool is_tree, const Oid& id);
  // The fingerprint of the entries added since the last Take; starts over.
  Fingerprint Take();

 private:
  std::string entries_;  // since the last Take
};

class FingerprintMemo {
 public:
  // Reads the memo at `path`; when there is none, the largest memo of the same kind (an
  // environment's, or a backup's) in the same directory: rows are found by their values, from
  // whichever environment. Nothing readable gives an empty memo.
  static FingerprintMemo Load(const std::string& path);

  struct Hit {
    Oid blob;
    std::string_view name;  // the row file's name without ".yaml"
  };
  // A row of the last snapshot; marks it as kept in the next memo.
  std::optional<Hit> Find(const Fingerprint& fp);
  // Find for `n` rows at once: `hits[i]` for `fps[i]`. The lookups' cache misses (a slot, then a
  // record, for every row) overlap instead of following one another.
  void FindMany(const Fingerprint* fps, size_t n, std::optional<Hit>* hits);
  // A rows tree of the last snapshot; marks it as kept.
  std::optional<Oid> FindTree(const Fingerprint& fp);

  // How many rows the memo knows (of every table of the last snapshot).
  size_t row_records() const { return rows_.count; }

  // Records a row or tree that was not found, for Save (each fingerprint once).
  void Add(const Fingerprint& fp, const Oid& blob, std::string_view name);
  void AddTree(const Fingerprint& fp, const Oid& tree);
  // Writes the memo of this snapshot to `path`: the records added, appended to the memo loaded
  // from `path` when it is still as loaded and few of its records are gone; otherwise what was
  // found or added, as a new file (a temporary file, then rename). Saving again to the same path
  // with nothing found or added since writes nothing.
  Status Save(const std::string& path);

 private:
  // An open-addressing table of records, by offset into `data_` (0: empty slot), each with 32
  // more bits of its fingerprint so that probing past other records seldom reads them.
  struct Slot {
    uint32_t offset = 0, tag = 0;
  };
  Status Write(const std::string& path);  // Save, done
  bool Append(const std::string& path);   // the added records as one block; false: not done
  // A new file at `path`: the blocks loaded (from another path, whose file is still there), then
  // the added records as one block; false: not done (nothing left behind).
  bool CopyAndAppend(const std::string& path);
  bool WriteBlock(int fd) const;  // the added records as one block, in one write

  struct Table {
    std::vector<Slot> slots;
    std::vector<uint8_t> used;  // by slot
    size_t count = 0, found = 0;
    void Build(std::string_view data, const std::vector<uint32_t>& offsets);
    long Lookup(std::string_view data, const Fingerprint& fp) const;  // slot or -1
    // The slot holding `fp`, or the empty one where it would go (slots must not be empty).
    size_t Probe(std::string_view data, const Fingerprint& fp) const;
  };
  // The file loaded, mapped read-only (a 1M-row memo is ~70 MB: copying it into zero-filled
  // memory cost more than the lookups). Memo files are only ever replaced (rename) or appended
  // to, never truncated, so the mapping stays valid.
  struct Mapping;
  std::shared_ptr<const Mapping> mapping_;
  std::string source_;     // the file loaded ("": none)
  std::string_view data_;  // its whole blocks, in mapping_
  Table rows_, trees_;
  std::string new_rows_, new_trees_;  // records added, in the file's encoding
  size_t new_row_count_ = 0, new_tree_count_ = 0;
  // What the last Save wrote, and where: a commit saves when its snapshot is done and again
  // after its commit object, and the second finds nothing new (counts only grow).
  struct Saved {
    std::string path;
    size_t rows_found = 0, trees_found = 0, new_rows = 0, new_trees = 0;
    bool operator==(const Saved&) const = default;
  };
  Saved saved_;
  Saved State(const std::string& path) const;
};

// A memo's records name objects that were in the store's packs when it was saved. Stock git
// deletes packs, and with them objects no ref reaches (`git gc --prune=now`, or `git repack -a
// -d`, after a branch was reset), so a record may come to name an object the store no longer
// has; a snapshot that used it would point at nothing. `<memo_dir>.packs` lists the packs (file
// names, one per line) of the last listing a writer checked. When one of them is neither in
// `packs` (the pack directory's listing now) nor among `consolidated` (packs cfgit copied whole
// into another before deleting them), or when the list is missing (a store written before it
// existed) or cannot be read, every file in `memo_dir` that can be deleted is. The list then
// becomes `packs`, unless something was left: then the error names it, the list stays, and the
// caller must not use the memos (the next check tries again).
Status KeepMemosToPacks(const std::string& memo_dir, const std::vector<std::string>& packs,
                        const std::vector<std::string>& consolidated);

}  // namespace cfgit
