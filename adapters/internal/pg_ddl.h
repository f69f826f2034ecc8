// PostgreSQL DDL from snapshot schemas, shared by the script renderer (RenderScript) and the
// PostgreSQL adapter's writer, so that `cfgit diff --format sql` prints what `apply` does.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "store/schema.h"
#include "store/status.h"

namespace cfgit {

// How a statement names a table of the snapshot and the schema its indexes live in: "t" and ""
// in a script; "app"."t" and "app". in the adapter (schema-qualified).
struct PgName {
  std::string table;          // quoted, maybe qualified
  std::string schema_prefix;  // "" or the quoted schema followed by '.'
};
using PgNamer = std::function<PgName(const std::string& table)>;

// Identifiers quoted and joined with ", ".
std::string JoinIdents(const std::vector<std::string>& names);
// `"col" type [DEFAULT d | GENERATED ...]`, as a CREATE TABLE or ADD COLUMN takes it.
std::string PgColumnDefinition(const Column& c);
// Statements ending in ";\n".
std::string PgIndex(const PgNamer& name, const TableSchema& s, const Index& index);
std::string PgForeignKey(const PgNamer& name, const TableSchema& s, const ForeignKey& f);
// Whether an index is the primary key's own (created with the table, dropped with it).
bool IsPrimaryKeyIndex(const TableSchema& s, const Index& index);

// The statements that alter table `from` in place into `to`: `early` ones run before the rows
// are written (indexes and columns dropped, types and defaults changed, columns added, NOT NULL
// dropped), `late` ones after (NOT NULL set on columns the rows have now filled, new indexes and
// foreign keys). A changed primary key or a dropped foreign key (whose constraint name the
// snapshot does not record) is kInvalid, naming the table.
Status PgAlter(const PgNamer& name, const TableSchema& from, const TableSchema& to,
               std::string* early, std::string* late);

}  // namespace cfgit
