// Reading single rows of a snapshot and editing snapshots (store/edit.cc), and merge states
// (store/merge_state.cc). Included only by store/*.cc.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "store/internal/staging.h"
#include "store/internal/tree_reader.h"

namespace cfgit {

// The row with this key in snapshot `tree`, if any, read through `trees`.
Result<std::optional<Row>> ReadRowAt(TreeReader& trees, const Oid& tree, const TableSchema& schema,
                                     const Row& key);
Result<std::unique_ptr<SnapshotEditor>> NewSnapshotEditor(git_repository* repo,
                                                          std::shared_ptr<TreeReader> trees,
                                                          const std::string& objects_dir,
                                                          const Oid& tree);

Result<std::optional<MergeState>> ReadMergeStateAt(git_repository* repo, TreeReader& trees,
                                                   const std::string& ref);
// The state commit's id, staged and written as a pack (the caller moves the ref).
Result<Oid> WriteMergeStateCommit(git_repository* repo, const std::string& objects_dir,
                                  PackReader* packs, const MergeState& state,
                                  const Signature& author);

}  // namespace cfgit
