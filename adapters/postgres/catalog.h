// Introspection of a PostgreSQL database from pg_catalog, for the configured schemas.
//
// Table names: with one schema, a table is named by its relname alone ("uiSchemas"); with several
// (schema=a,b), every table is "schema.relname", split at the configured schema's name. Every
// function here throws pqxx exceptions; callers run them inside Guard (pg_error.h).
#pragma once

#include <optional>
#include <pqxx/transaction_base>
#include <string>
#include <vector>

#include "adapters/postgres/pg_types.h"
#include "store/schema.h"

namespace cfgit::pg {

// The sequence named by a serial column's default, "nextval('seq'::regclass)", as SQL text
// ("\"rolesResources_id_seq\"", "app.seq"); "" for any other default.
std::string SequenceOfDefault(const std::string& default_sql);

// A table of the database, located.
struct TableRef {
  std::string schema;   // pg_namespace.nspname
  std::string relname;  // pg_class.relname
  unsigned oid = 0;     // 0: not (yet) in the database
  std::string Qualified() const { return QuoteIdent(schema) + "." + QuoteIdent(relname); }
};

class Catalog {
 public:
  explicit Catalog(std::vector<std::string> schemas) : schemas_(std::move(schemas)) {}

  const std::vector<std::string>& schemas() const { return schemas_; }
  // cfgit's name of a table, and back. Locate does not look at the database.
  std::string DisplayName(const std::string& schema, const std::string& relname) const;
  TableRef Locate(const std::string& table) const;
  // The table with its oid, or nullopt when it does not exist (views and others do not count).
  std::optional<TableRef> Find(pqxx::transaction_base& tx, const std::string& table) const;

  std::vector<std::string> ListTables(pqxx::transaction_base& tx) const;
  std::vector<PgColumn> Columns(pqxx::transaction_base& tx, const TableRef& table) const;
  // Columns, primary key, indexes and foreign keys (Column::default_sql holds the markers of
  // pg_types.h for identity and generated columns).
  TableSchema ReadSchema(pqxx::transaction_base& tx, const TableRef& table,
                         const std::string& name) const;

 private:
  std::vector<std::string> schemas_;
};

}  // namespace cfgit::pg
