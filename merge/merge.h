// merge: the pure three-way merge of snapshot content (no I/O, no libgit2).
//
// ours = the target branch, theirs = the source, base = their merge base. A table is merged from
// the two diffs base→ours and base→theirs (diff/diff.h), so rows neither side changed are never
// looked at: the cost follows the size of the changes. The result is expressed as edits to ours'
// table (rows to put, rows to remove), plus conflicts and a summary; the caller applies the edits
// to ours' tree. Semantics, with examples: docs/merge.md.
#pragma once

#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "diff/diff.h"
#include "store/config.h"
#include "store/conflict.h"
#include "store/value.h"

namespace cfgit {

// --- cells ---

enum class CellOutcome {
  kUnchanged,  // neither side changed the cell
  kOurs,       // only ours changed it: keep ours
  kTheirs,     // only theirs changed it: take theirs
  kConverged,  // both changed it to the same value
  kConflict,   // both changed it, differently
};

struct CellMerge {
  CellOutcome outcome;
  Value value;  // the merged value; ours for a conflict
};

// A change is a change of value (NULL counts as a value): a side that set a cell and set it
// back did not change it.
CellMerge MergeCell(const Value& base, const Value& ours, const Value& theirs);

// A cell of a JSON column: when MergeCell conflicts and all present values are JSON text,
// objects merge member by member, recursively; arrays and scalars are whole values. An edit
// inside an object that the other side replaced or removed conflicts, and so does NULL against an
// object edit. A merged value is written in compact canonical form (store/json.h); a value taken
// whole from one side keeps its exact text. `conflict_paths` names where the sides collide.
struct JsonCellMerge {
  CellOutcome outcome;
  Value value;
  std::vector<std::string> conflict_paths;
};
// On a conflict, `value` is the merge with ours' value at the colliding paths (theirs' with
// `prefer_theirs`), so the members that merged are kept whichever side wins the rest.
JsonCellMerge MergeJsonCell(const Value& base, const Value& ours, const Value& theirs,
                            bool prefer_theirs = false);

// --- tables ---

struct TableMergeSummary {
  size_t from_ours = 0;    // rows only ours changed (kept as ours has them)
  size_t from_theirs = 0;  // rows whose merged content took something from theirs
  size_t converged = 0;    // rows both sides changed the same way
  size_t conflicts = 0;
  std::vector<Row> overwritten;  // keys of ours' changed rows replaced (rule overwrite)
  bool schema_merged = false;    // the merged schema differs from ours'
};

struct TableMergeInput {
  std::string name;
  std::optional<TableSchema> base, ours, theirs;  // absent: no such table on that side
  // base → side (empty when unchanged). A modified row may lack its old row (the base row) where
  // BaseRowsNeeded does not name its key.
  TableDiff ours_diff, theirs_diff;
  Rule rule = Rule::kMerge;
  std::vector<std::string> json_columns;  // text columns merged as JSON (json/jsonb always are)
};

struct TableMergeResult {
  std::optional<TableSchema> schema;  // the merged table; absent: it is dropped
  // Merged rows (values of schema->VersionedColumns()) that differ from ours'. When a side
  // changed the table's columns, every row file changed on that side, so every row of the table
  // is among the changes and comes out here in the merged columns.
  std::vector<Row> puts;
  std::vector<Row> removes;  // ours' rows to remove (ours' versioned columns; keyless: one copy)
  std::vector<Conflict> conflicts;
  TableMergeSummary summary;
  // Every merged row either side changed (also those ours already holds), for CheckConstraints.
  struct Touched {
    Row row;         // values of schema->VersionedColumns()
    bool as_ours;    // ours' database holds exactly this row
    bool as_theirs;  // theirs' database holds exactly this row
  };
  std::vector<Touched> touched;
  bool changed() const { return !puts.empty() || !removes.empty(); }
};

// Merges one table. Conflicted cells keep ours' value in `puts` (the result is ours' wherever
// a person must decide).
TableMergeResult MergeTable(const TableMergeInput& input);

// The keys of `side`'s modified rows whose base row MergeTable needs: those `other` (the other
// side's diff of the table; nullptr: unchanged) changed too. nullopt: every one of them (a rule
// other than merge, a keyless table, or a side that changed the table's columns or key). A row
// only one side changed, in unchanged columns, merges to that side's row whatever the base was,
// so a caller may diff without old rows (DiffOptions::old_rows) and read only these.
std::optional<std::set<Row, RowLess>> BaseRowsNeeded(const TableDiff& side, const TableDiff* other,
                                                     Rule rule);

// The merged schema of a table present on all three sides, with conflicts (kind kSchema).
struct SchemaMerge {
  TableSchema schema;
  std::vector<Conflict> conflicts;
};
SchemaMerge MergeSchemas(const TableSchema& base, const TableSchema& ours,
                         const TableSchema& theirs);

// The value a column's default gives a row that lacks the column: the literal of
// `column.default_sql` (numbers, 'text', NULL, TRUE/FALSE), else NULL.
Value DefaultValue(const Column& column);

// --- constraints on the merged result ---

// Checks one merged table's unique indexes (and primary key) among its touched rows, and the
// foreign keys of those rows: `parent_exists(table, columns, values, as_a_side)` says whether the
// merged result has a row with those values (the caller answers from the merged tree).
// `as_a_side` tells that one side has the child row exactly as it is and has that foreign key too
// (`ours` / `theirs`: the sides' schemas of the table; nullptr: the side lacks the table), so that
// side's database held the parent, unless the merge changed it: the caller need not look up a
// parent no side changed. Rows only one side changed cannot collide with rows no side changed
// (that side's database held both), so only touched rows are compared, and two of them only when
// no one side held both as they are. Violations come back as conflicts of kind kUnique (on the
// row that is not ours' as it is; other_key names the other) and kForeignKey (on the child row).
using ParentExists =
    std::function<bool(const std::string& table, const std::vector<std::string>& columns,
                       const Row& values, bool as_a_side)>;
std::vector<Conflict> CheckConstraints(const TableSchema& schema,
                                       const std::vector<TableMergeResult::Touched>& touched,
                                       const TableSchema* ours, const TableSchema* theirs,
                                       const ParentExists& parent_exists);

}  // namespace cfgit
