// SQL text shared by the adapters and the script renderer: identifier quoting (the same in
// SQLite and PostgreSQL: double quotes, doubled inside) and ordering tables by their foreign keys.
#pragma once

#include <string>
#include <vector>

#include "store/schema.h"

namespace cfgit {

std::string QuoteIdent(const std::string& name);

// Indexes into `tables`, parents before the tables whose foreign keys reference them (cycles are
// broken by input order). Tables referenced but not in the list are ignored.
std::vector<size_t> ParentsFirst(const std::vector<const TableSchema*>& tables);

}  // namespace cfgit
