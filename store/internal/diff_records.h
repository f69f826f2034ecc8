// Records of what differs between two trees (a table's rows/ in two snapshots), kept by the
// command that walked them (`cfgit commit`, for its diff stat) so that a later diff of the same
// two trees reads the record instead of walking both again. A tree's id is its content, so a
// record is true for as long as it exists. Records live beside the fingerprint memos
// (<store>/cfgit/changes/, one file per pair), not in the object store: stock git never sees
// them, and a store without them (a clone, a deleted directory) only walks trees. Each file
// carries both ids and a checksum; one that does not match is not used.
// Included only by store/*.cc (and the store's tests).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "store/store.h"

namespace cfgit {

class DiffRecords {
 public:
  // The most changes one record holds: a diff bigger than that is walked (its walk costs little
  // next to reading that many row files).
  static constexpr size_t kMaxChanges = 100000;
  // Files kept in the directory; past that, the oldest are deleted when one is written.
  static constexpr size_t kMaxFiles = 2048;

  explicit DiffRecords(std::string dir) : dir_(std::move(dir)) {}

  // The changes from tree `a` to tree `b` (paths relative to them, in the order a walk reports
  // them), when a sound record of them is kept.
  std::optional<std::vector<TreeChange>> Find(const Oid& a, const Oid& b) const;
  // Keeps `changes` (as a walk of `a` against `b` reported them) as the record of that pair.
  // Written to a temporary file and renamed; fails naming the file.
  Status Keep(const Oid& a, const Oid& b, const std::vector<TreeChange>& changes) const;
  // The file a record of the pair is kept in.
  std::string PathOf(const Oid& a, const Oid& b) const;

 private:
  void Prune() const;
  std::string dir_;
};

}  // namespace cfgit
