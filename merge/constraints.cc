// CheckConstraints: unique and foreign keys of a merged table, among the rows the merge touched.
#include <algorithm>
#include <map>

#include "merge/merge.h"

namespace cfgit {
namespace {

std::optional<Row> Pick(const std::vector<std::string>& all, const Row& row,
                        const std::vector<std::string>& columns) {
  Row out;
  for (const std::string& c : columns) {
    auto it = std::find(all.begin(), all.end(), c);
    if (it == all.end()) return std::nullopt;  // not versioned: cannot check
    out.push_back(row[static_cast<size_t>(it - all.begin())]);
  }
  return out;
}

bool AnyNull(const Row& r) {
  return std::any_of(r.begin(), r.end(), [](const Value& v) { return v.is_null(); });
}

std::string Describe(const std::vector<std::string>& columns, const Row& values) {
  std::string out = "(";
  for (size_t i = 0; i < columns.size() && i < values.size(); ++i)
    out += (i ? ", " : "") + columns[i] + "=" + EncodeValue(values[i]);
  return out + ")";
}

// Whether `side` has a foreign key from the same columns to the same parent columns, with those
// columns versioned (so a row as that side has it holds that side's own values in them).
bool HasForeignKey(const TableSchema* side, const ForeignKey& fk) {
  if (!side) return false;
  const std::vector<std::string> versioned = side->VersionedColumns();
  for (const std::string& c : fk.columns) {
    if (std::find(versioned.begin(), versioned.end(), c) == versioned.end()) return false;
  }
  return std::any_of(side->foreign_keys.begin(), side->foreign_keys.end(),
                     [&](const ForeignKey& f) {
                       return f.columns == fk.columns && f.ref_table == fk.ref_table &&
                              f.ref_columns == fk.ref_columns;
                     });
}

}  // namespace

std::vector<Conflict> CheckConstraints(const TableSchema& schema,
                                       const std::vector<TableMergeResult::Touched>& touched,
                                       const TableSchema* ours, const TableSchema* theirs,
                                       const ParentExists& parent_exists) {
  std::vector<Conflict> out;
  const std::vector<std::string> columns = schema.VersionedColumns();
  if (schema.key.empty()) return out;  // keyless rows have no identity to report or resolve
  std::vector<std::pair<std::string, std::vector<std::string>>> unique;
  if (!schema.primary_key.empty() && schema.primary_key != schema.key)
    unique.emplace_back("primary key", schema.primary_key);
  for (const Index& i : schema.indexes) {
    if (i.unique && i.columns != schema.key)
      unique.emplace_back("unique index " + i.name, i.columns);
  }
  for (const auto& [name, cols] : unique) {
    std::map<Row, std::vector<const TableMergeResult::Touched*>, RowLess> by_value;
    for (const auto& t : touched) {
      std::optional<Row> values = Pick(columns, t.row, cols);
      if (!values || AnyNull(*values)) continue;  // NULLs never collide in SQL
      by_value[*values].push_back(&t);
    }
    for (const auto& [values, rows] : by_value) {
      for (size_t i = 0; i < rows.size(); ++i) {
        for (size_t j = i + 1; j < rows.size(); ++j) {
          const auto* a = rows[i];
          const auto* b = rows[j];
          if ((a->as_ours && b->as_ours) || (a->as_theirs && b->as_theirs)) continue;
          if (!a->as_ours && b->as_ours) std::swap(a, b);  // a: ours' row if one is
          Conflict c;
          c.table = schema.name;
          c.kind = ConflictKind::kUnique;
          c.key_columns = schema.key;
          c.key = *Pick(columns, b->row, schema.key);
          c.other_key = *Pick(columns, a->row, schema.key);
          c.columns = cols;
          c.row_columns = cols;
          c.ours = values;
          c.theirs = values;
          c.detail = "rows " + Describe(schema.key, c.key) + " and " +
                     Describe(schema.key, *c.other_key) + " both have " + Describe(cols, values) +
                     " (" + name + ")";
          out.push_back(std::move(c));
        }
      }
    }
  }
  for (const ForeignKey& fk : schema.foreign_keys) {
    const bool ours_has = HasForeignKey(ours, fk), theirs_has = HasForeignKey(theirs, fk);
    for (const auto& t : touched) {
      std::optional<Row> values = Pick(columns, t.row, fk.columns);
      if (!values || AnyNull(*values)) continue;
      const bool as_a_side = (t.as_ours && ours_has) || (t.as_theirs && theirs_has);
      if (parent_exists(fk.ref_table, fk.ref_columns, *values, as_a_side)) continue;
      Conflict c;
      c.table = schema.name;
      c.kind = ConflictKind::kForeignKey;
      c.key_columns = schema.key;
      c.key = *Pick(columns, t.row, schema.key);
      c.columns = fk.columns;
      c.row_columns = fk.columns;
      (t.as_ours ? c.ours : c.theirs) = values;
      c.detail = "row " + Describe(schema.key, c.key) + " refers to " + fk.ref_table + " " +
                 Describe(fk.ref_columns, *values) + ", which the merged result does not have";
      out.push_back(std::move(c));
    }
  }
  return out;
}

}  // namespace cfgit
