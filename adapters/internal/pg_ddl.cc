#include "adapters/internal/pg_ddl.h"

#include <algorithm>

#include "adapters/internal/sql_text.h"
#include "adapters/postgres/pg_types.h"

namespace cfgit {

std::string JoinIdents(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& n : names) out += (out.empty() ? "" : ", ") + QuoteIdent(n);
  return out;
}

std::string PgColumnDefinition(const Column& c) {
  std::string out = QuoteIdent(c.name) + " " + c.type;
  if (c.default_sql) {
    const std::string& dflt = *c.default_sql;
    bool marker = dflt == pg::kIdentityAlways || dflt == pg::kIdentityByDefault ||
                  dflt.rfind(pg::kGeneratedPrefix, 0) == 0;
    out += marker ? " " + dflt : " DEFAULT " + dflt;
  }
  return out;
}

std::string PgForeignKey(const PgNamer& name, const TableSchema& s, const ForeignKey& f) {
  return "ALTER TABLE " + name(s.name).table + " ADD FOREIGN KEY (" + JoinIdents(f.columns) +
         ") REFERENCES " + name(f.ref_table).table + " (" + JoinIdents(f.ref_columns) +
         ") ON UPDATE " + f.on_update + " ON DELETE " + f.on_delete +
         (f.deferrable ? " DEFERRABLE" : "") + (f.initially_deferred ? " INITIALLY DEFERRED" : "") +
         ";\n";
}

std::string PgIndex(const PgNamer& name, const TableSchema& s, const Index& index) {
  return std::string("CREATE ") + (index.unique ? "UNIQUE " : "") + "INDEX " +
         QuoteIdent(index.name) + " ON " + name(s.name).table + " (" + JoinIdents(index.columns) +
         ");\n";
}

bool IsPrimaryKeyIndex(const TableSchema& s, const Index& index) {
  return index.unique && index.columns == s.primary_key;
}

Status PgAlter(const PgNamer& name, const TableSchema& from, const TableSchema& to,
               std::string* early, std::string* late) {
  auto refuse = [&](const std::string& what) {
    return Status::Invalid("table '" + to.name + "': " + what +
                           " cannot be written as SQL from the snapshots; change the table by "
                           "hand (ALTER TABLE), then try again");
  };
  if (from.primary_key != to.primary_key) return refuse("the primary key change");
  for (const ForeignKey& f : from.foreign_keys) {
    if (std::find(to.foreign_keys.begin(), to.foreign_keys.end(), f) == to.foreign_keys.end())
      return refuse("dropping a foreign key (its constraint name is not recorded)");
  }
  PgName n = name(to.name);
  std::string t = "ALTER TABLE " + n.table;
  for (const Index& i : from.indexes) {
    if (std::find(to.indexes.begin(), to.indexes.end(), i) != to.indexes.end()) continue;
    if (IsPrimaryKeyIndex(from, i)) continue;
    *early += "DROP INDEX " + n.schema_prefix + QuoteIdent(i.name) + ";\n";
  }
  for (const Column& c : from.columns) {
    const Column* now = to.FindColumn(c.name);
    std::string col = QuoteIdent(c.name);
    if (!now) {  // before the rows: a NOT NULL column the new rows lack must be gone
      *early += t + " DROP COLUMN " + col + ";\n";
      continue;
    }
    if (now->type != c.type) {
      *early += t + " ALTER COLUMN " + col + " TYPE " + now->type + " USING " + col +
                "::" + now->type + ";\n";
    }
    if (now->default_sql != c.default_sql) {
      *early += t + " ALTER COLUMN " + col +
                (now->default_sql ? " SET DEFAULT " + *now->default_sql : " DROP DEFAULT") +
                ";\n";
    }
    if (now->not_null != c.not_null) {
      if (now->not_null) {
        *late += t + " ALTER COLUMN " + col + " SET NOT NULL;\n";
      } else {
        *early += t + " ALTER COLUMN " + col + " DROP NOT NULL;\n";
      }
    }
  }
  for (const Column& c : to.columns) {
    if (from.FindColumn(c.name)) continue;
    // Added without NOT NULL: the rows get their values, then the constraint holds.
    *early += t + " ADD COLUMN " + PgColumnDefinition(c) + ";\n";
    if (c.not_null) *late += t + " ALTER COLUMN " + QuoteIdent(c.name) + " SET NOT NULL;\n";
  }
  for (const Index& i : to.indexes) {
    if (std::find(from.indexes.begin(), from.indexes.end(), i) != from.indexes.end()) continue;
    if (IsPrimaryKeyIndex(to, i)) continue;
    *late += PgIndex(name, to, i);
  }
  for (const ForeignKey& f : to.foreign_keys) {
    if (std::find(from.foreign_keys.begin(), from.foreign_keys.end(), f) == from.foreign_keys.end())
      *late += PgForeignKey(name, to, f);
  }
  return Status::Ok();
}

}  // namespace cfgit
