// SQL text shared by the adapters and the script renderer: identifier quoting (the same in
// SQLite and PostgreSQL: double quotes, doubled inside), ordering tables by their foreign keys,
// and what a SQLite table rebuild carries over from the old table.
#pragma once

#include <string>
#include <vector>

#include "store/schema.h"

namespace cfgit {

std::string QuoteIdent(const std::string& name);

// Indexes into `tables`, parents before the tables whose foreign keys reference them (cycles are
// broken by input order). Tables referenced but not in the list are ignored.
std::vector<size_t> ParentsFirst(const std::vector<const TableSchema*>& tables);

// A SQLite table whose structure changed is rebuilt: renamed to RebuildOldName, created again
// from the snapshot's definition `to` and filled with the snapshot's rows. What the snapshot does
// not hold is then carried over from the old table `from` by these statements (each ending in
// ";\n"; empty when there is nothing to carry): every row of a schema-only table, and the
// ignored columns of a keyed table's rows, matched by key. A keyless table's ignored columns
// cannot be matched and start from their defaults.
std::string RebuildOldName(const std::string& table);
std::string SqliteCarryOver(const TableSchema& from, const TableSchema& to);

}  // namespace cfgit
