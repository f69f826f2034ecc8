// Rows diffs: what differs between a table's rows/ trees in two snapshots, kept by the command
// that walked them (`cfgit commit`, for its diff stat) so that a later diff of the same two
// trees (a diff, a merge) reads it instead of walking both again: a merge of 1000 against 1000
// rows at 1M rows took about a third less time (docs/performance.md, rounds 18 and 19). A
// tree's id is its content, so a kept diff stays true; it is trusted as the refs are. Kept
// beside the fingerprint memos (<store>/cfgit/rows-diffs/, one file per pair of trees), not in
// the object store: stock git never sees them, and a store without them (a clone, the directory
// deleted) walks trees. Each file names both trees and carries a checksum; a file that does not
// match is not used. Format: docs/store-format.md, section 9.
// Included only by store/*.cc (and the tests).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "store/store.h"

namespace cfgit {

class RowsDiffs {
 public:
  // The most changes one file holds: a bigger diff is walked (its walk costs little next to
  // reading that many row files).
  static constexpr size_t kMaxChanges = 100000;
  // The biggest file read (kMaxChanges changes with paths of up to ~600 bytes).
  static constexpr uint64_t kMaxFileBytes = uint64_t{64} << 20;
  // What the directory may hold; past either, Prune deletes the oldest files down to three
  // quarters of both.
  static constexpr size_t kMaxFiles = 2048;
  static constexpr uint64_t kMaxBytes = uint64_t{256} << 20;

  explicit RowsDiffs(std::string dir) : dir_(std::move(dir)) {}

  // The changes from tree `a` to tree `b` (paths relative to them, in the order a walk reports
  // them), when a sound file of them is kept.
  std::optional<std::vector<TreeChange>> Find(const Oid& a, const Oid& b) const;
  // Keeps `changes` (as a walk of `a` against `b` reported them, at most kMaxChanges) for that
  // pair. Written whole and renamed into place; fails naming the file.
  Status Keep(const Oid& a, const Oid& b, const std::vector<TreeChange>& changes) const;
  // Deletes the oldest files while the directory holds more than kMaxFiles or kMaxBytes.
  void Prune() const;
  // The file the pair's changes are kept in.
  std::string PathOf(const Oid& a, const Oid& b) const;

 private:
  std::string dir_;
};

}  // namespace cfgit
