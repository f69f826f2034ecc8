// TableSchema: the structure of one configuration table, as an adapter reads it from the
// database's catalog, plus the identity and versioning choices cfgit.yaml makes for it.
//
// The adapter fills the catalog part; the caller (cmd/commit) fills `key`, `ignore` and
// `rows_versioned` from the table's settings before the schema is written to the store.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace cfgit {

struct Column {
  std::string name;
  std::string type;  // declared type, as the database spells it ("" if none)
  bool not_null = false;
  std::optional<std::string> default_sql;  // default expression as SQL text; nullopt: none
  bool IsJson() const;  // declared json or jsonb (in any case)
  bool operator==(const Column&) const = default;
};

// ASCII lower case: declared types and SQL keywords compare case-insensitively.
std::string AsciiLower(std::string s);

struct Index {
  std::string name;
  std::vector<std::string> columns;
  bool unique = false;
  bool operator==(const Index&) const = default;
};

struct ForeignKey {
  std::vector<std::string> columns;
  std::string ref_table;
  std::vector<std::string> ref_columns;
  std::string on_update = "NO ACTION";
  std::string on_delete = "NO ACTION";
  bool deferrable = false;
  bool initially_deferred = false;
  bool operator==(const ForeignKey&) const = default;
};

struct TableSchema {
  std::string name;
  std::vector<Column> columns;           // in the table's column order
  std::vector<std::string> primary_key;  // empty: none
  std::vector<Index> indexes;            // sorted by name
  std::vector<ForeignKey> foreign_keys;  // in the order the catalog lists them
  std::string sql;                       // the database's own DDL for the table, when it keeps one

  // Chosen by cfgit.yaml:
  std::vector<std::string> key;     // row identity; empty: keyless (identity is the whole row)
  std::vector<std::string> ignore;  // columns never versioned
  bool rows_versioned = true;       // false for schema-only tables

  // The columns a row file holds: `columns` minus `ignore`, in table order.
  std::vector<std::string> VersionedColumns() const;
  const Column* FindColumn(const std::string& column) const;
  // The columns whose values are JSON, diffed and merged by path: declared json/jsonb, and those
  // listed in `configured` (cfgit.yaml's `json:` for the table), in table order.
  std::vector<std::string> JsonColumns(const std::vector<std::string>& configured) const;
  bool operator==(const TableSchema&) const = default;
};

}  // namespace cfgit
