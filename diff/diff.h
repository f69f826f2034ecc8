// diff: what changed between two snapshots.
//
// Works on store trees only, through Store::DiffTrees, which skips every subtree whose id is the
// same on both sides: the cost follows the size of the change, not of the tables.
// (Row and cell diffs come with the diff command; see docs/commands.md.)
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "store/store.h"

namespace cfgit {

struct TableChangeStat {
  std::string table;
  size_t added = 0, deleted = 0, modified = 0;  // rows
  bool schema_changed = false;
  bool table_added = false, table_removed = false;
  bool empty() const {
    return added == 0 && deleted == 0 && modified == 0 && !schema_changed && !table_added &&
           !table_removed;
  }
};

// Per table, the rows added/deleted/modified from tree `from` to tree `to` (either absent: the
// empty snapshot), sorted by table name; tables without change are left out.
Result<std::vector<TableChangeStat>> DiffStat(const Store& store, const std::optional<Oid>& from,
                                              const std::optional<Oid>& to);

}  // namespace cfgit
