// Conflicts of a three-way merge, as the merge module reports them and as a merge in progress
// keeps them in the store (Store::WriteMergeState).
//
// A merge in progress is a commit under refs/cfgit/merge/<target> (parents: ours and theirs, so
// nothing it refers to is ever pruned) whose tree holds merge.yaml (the ids and the message),
// result/ (the merged snapshot so far: conflicted cells hold ours' values) and conflicts/NNNNNN/
// (one directory per conflict: conflict.yaml, and key/other_key/base/ours/theirs row files in the
// row-file encoding). Layout: docs/store-format.md, "Merge in progress". The target branch does
// not move until the merge commits, so a crash leaves it where it was.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "store/value.h"

namespace cfgit {

enum class ConflictKind { kModifyModify, kModifyDelete, kAddAdd, kSchema, kUnique, kForeignKey };
const char* ConflictKindName(ConflictKind kind);  // "modify/modify", ..., "foreign-key"
std::optional<ConflictKind> ParseConflictKind(const std::string& name);

// One conflict. Rows are given as values of `row_columns`: the columns that collide (row
// conflicts), the whole merged row (modify/delete), or the constrained columns (unique,
// foreign-key); an absent side (deleted, or no such row) is nullopt.
struct Conflict {
  std::string table;
  ConflictKind kind = ConflictKind::kModifyModify;
  std::vector<std::string> key_columns;
  Row key;                           // empty for table-level schema conflicts
  std::vector<std::string> columns;  // the cells in conflict ([] for a whole row or the table)
  std::vector<std::string> row_columns;
  std::optional<Row> base, ours, theirs;
  std::string detail;            // what collides, in words
  std::optional<Row> other_key;  // unique: the key of ours' colliding row
};

}  // namespace cfgit
