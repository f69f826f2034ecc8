// CheckConstraints: unique and foreign keys of a merged table, among the rows the merge touched.
#include <algorithm>
#include <map>

#include "merge/merge.h"

namespace cfgit {
namespace {

struct RowLess {
  bool operator()(const Row& a, const Row& b) const { return CompareRows(a, b) < 0; }
};

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

}  // namespace

std::vector<Conflict> CheckConstraints(const TableSchema& schema,
                                       const std::vector<TableMergeResult::Touched>& touched,
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
    std::map<Row, const TableMergeResult::Touched*, RowLess> seen;
    for (const auto& t : touched) {
      std::optional<Row> values = Pick(columns, t.row, cols);
      if (!values || AnyNull(*values)) continue;  // NULLs never collide in SQL
      auto [it, fresh] = seen.emplace(*values, &t);
      if (fresh || it->second->theirs == t.theirs) continue;  // one side's rows held together
      const auto* ours = t.theirs ? it->second : &t;
      const auto* theirs = t.theirs ? &t : it->second;
      Conflict c;
      c.table = schema.name;
      c.kind = ConflictKind::kUnique;
      c.key_columns = schema.key;
      c.key = *Pick(columns, theirs->row, schema.key);
      c.other_key = *Pick(columns, ours->row, schema.key);
      c.columns = cols;
      c.row_columns = cols;
      c.ours = values;
      c.theirs = values;
      c.detail = "theirs' row " + Describe(schema.key, c.key) + " and ours' row " +
                 Describe(schema.key, *c.other_key) + " both have " + Describe(cols, *values) +
                 " (" + name + ")";
      out.push_back(std::move(c));
    }
  }
  for (const ForeignKey& fk : schema.foreign_keys) {
    for (const auto& t : touched) {
      std::optional<Row> values = Pick(columns, t.row, fk.columns);
      if (!values || AnyNull(*values)) continue;
      if (parent_exists(fk.ref_table, fk.ref_columns, *values)) continue;
      Conflict c;
      c.table = schema.name;
      c.kind = ConflictKind::kForeignKey;
      c.key_columns = schema.key;
      c.key = *Pick(columns, t.row, schema.key);
      c.columns = fk.columns;
      c.row_columns = fk.columns;
      (t.theirs ? c.theirs : c.ours) = values;
      c.detail = "row " + Describe(schema.key, c.key) + " refers to " + fk.ref_table + " " +
                 Describe(fk.ref_columns, *values) + ", which the merged result does not have";
      out.push_back(std::move(c));
    }
  }
  return out;
}

}  // namespace cfgit
