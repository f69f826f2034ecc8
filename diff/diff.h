// diff: what changed between two snapshots, at the level of tables, rows and cells.
//
// Works on store trees only. A live database is diffed by snapshotting it into a tree that is
// staged but never written (Store::NewSnapshot + FinishTree) and diffing that. The walk skips
// every subtree whose id is the same on both sides, and only rows whose files differ are read
// and parsed: the cost follows the size of the change, not of the tables.
// JSON values (json/jsonb columns, and text columns named by DiffOptions::json_columns) are
// compared by path, so a change deep inside a document is shown as that path's old and new value.
#pragma once

#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "store/store.h"

namespace cfgit {

// Counts only: what DiffStat reports per table.
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

struct DiffStatOptions {
  // Keep the rows trees' changes for later diffs of the same trees (Store::DiffAndKeepRowsDiffs):
  // for a command that has just written `to` (`cfgit commit`). Only when both trees are given.
  bool keep_rows_diffs = false;
};
// Per table, the rows added/deleted/modified from tree `from` to tree `to` (either absent: the
// empty snapshot), sorted by table name; tables without change are left out. Reads trees only (and
// writes rows diffs when asked).
Result<std::vector<TableChangeStat>> DiffStat(const Store& store, const std::optional<Oid>& from,
                                              const std::optional<Oid>& to,
                                              const DiffStatOptions& options = {});

// One changed place inside a JSON value. `path` is "" for the whole value (see JsonPath).
// Values are compact JSON text; nullopt means the member is absent on that side.
struct JsonChange {
  std::string path;
  std::optional<std::string> old_json, new_json;
};

// One cell whose value differs. nullopt: the column does not exist on that side.
struct CellChange {
  std::string column;
  std::optional<Value> old_value, new_value;
  // For JSON columns whose two values both parse: the changes by path (empty when the values are
  // equal as JSON and differ only in formatting or key order).
  bool json = false;
  std::vector<JsonChange> json_changes;
};

struct RowChange {
  Row key;  // values of the key columns (keyless tables: empty; the row is its own identity)
  // The row on each side, as values of that side's versioned columns (absent when added/deleted).
  std::optional<Row> old_row, new_row;
  std::vector<CellChange> cells;  // modified rows: every column whose value differs
  // A modified row left without its old row and cells (DiffOptions::old_rows): the old row's
  // file, for ReadOldRows.
  std::optional<Oid> old_file;
  // Added and modified rows: the new row's file, when it is exactly as cfgit encodes the row
  // (SnapshotEditor::PutRowFile places it as it is; a file another writer formatted otherwise is
  // encoded again).
  std::optional<Oid> new_file;
};

struct ColumnChange {
  Column old_column, new_column;
};

struct SchemaDiff {
  std::vector<Column> columns_added, columns_removed;
  std::vector<ColumnChange> columns_changed;  // same name, different type/nullability/default
  bool primary_key_changed = false;
  bool key_changed = false;     // the row identity cfgit uses
  bool ignore_changed = false;  // the columns left unversioned
  bool rows_versioned_changed = false;
  std::vector<Index> indexes_added, indexes_removed;
  std::vector<ForeignKey> foreign_keys_added, foreign_keys_removed;
  bool sql_changed = false;  // the database's own DDL text differs
  bool empty() const;
};

struct TableDiff {
  std::string name;
  std::optional<TableSchema> from, to;  // absent: the table is added (from) or removed (to)
  SchemaDiff schema;                    // empty when the table is added or removed
  // Sorted by key (keyless tables: by row).
  std::vector<RowChange> added, deleted, modified;
  bool empty() const {
    return from.has_value() == to.has_value() && schema.empty() && added.empty() &&
           deleted.empty() && modified.empty();
  }
};

struct DiffOptions {
  std::vector<std::string> tables;  // only these tables (empty: every table)
  // Text columns to compare as JSON, per table (json/jsonb columns always are).
  std::function<std::vector<std::string>(const std::string& table)> json_columns;
  // false: a table present on one side only comes without its rows (`added`/`deleted` stay
  // empty), so that a million rows are not held at once; ForEachTableRow streams them.
  bool whole_table_rows = true;
  // false: a modified row comes with its new row only (no old_row, no cells; `old_file` names
  // the old one), one row file read instead of two, unless the table's versioned columns or key
  // differ between the two sides (every row is re-encoded then). For the merge, which needs a
  // base row only where both sides changed it (merge/merge.h, BaseRowsNeeded; ReadOldRows).
  bool old_rows = true;
  // Which trees to keep for later reads through the same Store (Store::DiffTrees): a merge
  // reads them again.
  KeepTrees keep_trees = KeepTrees::kNone;
};

// Calls `each` once per table that differs, in table name order. Either tree may be absent
// (the empty snapshot). Fails with kInvalid when the store holds something the encoding rejects.
Status DiffSnapshots(const Store& store, const std::optional<Oid>& from,
                     const std::optional<Oid>& to, const DiffOptions& options,
                     const std::function<Status(TableDiff&&)>& each);

// Every row of `table` in snapshot `tree`, as values of its versioned columns, one at a time and
// in the order the store holds them (not by key). A table the snapshot lacks is kInvalid.
Status ForEachTableRow(const Store& store, const Oid& tree, const std::string& table,
                       const std::function<Status(Row&&)>& each);

// How many rows `table` has in snapshot `tree` (read from trees only; no row is read).
Result<size_t> CountTableRows(const Store& store, const Oid& tree, const std::string& table);

// The schema part alone (also used by merge and apply).
SchemaDiff DiffSchemas(const TableSchema& from, const TableSchema& to);

// The cells of `new_row` (columns `new_columns`) that differ from `old_row` (`old_columns`):
// columns matched by name; a column on one side only counts as a change. JSON columns
// (`json_columns`) whose values both parse are compared by path.
std::vector<CellChange> DiffCells(const std::vector<std::string>& old_columns, const Row& old_row,
                                  const std::vector<std::string>& new_columns, const Row& new_row,
                                  const std::vector<std::string>& json_columns);

// The changes by path from one JSON text to another; nullopt when either does not parse.
// Objects are compared member by member, recursively; arrays and scalars as whole values.
std::optional<std::vector<JsonChange>> DiffJson(const std::string& old_text,
                                                const std::string& new_text);

// Total order on values for sorting rows: NULL first, then by kind, then by value.
int CompareValues(const Value& a, const Value& b);
int CompareRows(const Row& a, const Row& b);
// CompareRows as the ordering of a std::map or std::set of rows.
struct RowLess {
  bool operator()(const Row& a, const Row& b) const { return CompareRows(a, b) < 0; }
};

// Reads the old rows of `diff`'s modified rows that DiffSnapshots left without them
// (DiffOptions::old_rows): all of them, or those whose key is in `keys`. Cells stay empty.
Status ReadOldRows(const Store& store, TableDiff* diff, const std::set<Row, RowLess>* keys);

}  // namespace cfgit
