// DiffSnapshots: table, schema, row and cell differences between two snapshot trees.
#include <algorithm>
#include <cctype>
#include <cstring>
#include <map>

#include "diff/diff.h"

namespace cfgit {
namespace {

// The JSON columns of a table: declared json/jsonb, or configured.
std::vector<std::string> JsonColumns(const TableSchema& schema, const DiffOptions& options) {
  return schema.JsonColumns(options.json_columns ? options.json_columns(schema.name)
                                                 : std::vector<std::string>());
}

// A row file's path below rows/: "3f/a0/<stem>.yaml".
bool IsRowPath(const std::string& path) {
  return path.size() > 11 && path.compare(path.size() - 5, 5, ".yaml") == 0;
}

// Where the key columns sit among the versioned columns `cols` (key columns that are not
// versioned are left out), computed once per table rather than once per row.
std::vector<size_t> KeyPositions(const TableSchema& schema, const std::vector<std::string>& cols) {
  std::vector<size_t> out;
  for (const std::string& k : schema.key) {
    auto it = std::find(cols.begin(), cols.end(), k);
    if (it != cols.end()) out.push_back(static_cast<size_t>(it - cols.begin()));
  }
  return out;
}

Row KeyOf(const std::vector<size_t>& positions, const Row& row) {
  Row key;
  key.reserve(positions.size());
  for (size_t i : positions) key.push_back(row[i]);
  return key;
}

// `cols`: schema.VersionedColumns().
// `canonical`: set to whether the file is exactly as EncodeRow writes the row.
Result<Row> ReadRow(const Store& store, const TableSchema& schema,
                    const std::vector<std::string>& cols, const Oid& blob,
                    bool* canonical = nullptr) {
  CFGIT_ASSIGN_OR_RETURN(std::string text, store.ReadBlob(blob));
  Result<Row> row = DecodeRow(cols, text, canonical);
  if (!row.ok())
    return row.status().Wrap("table '" + schema.name + "', row " + blob.Short() + ": ");
  return row;
}

void SortChanges(std::vector<RowChange>* rows, bool by_old) {
  std::sort(rows->begin(), rows->end(), [by_old](const RowChange& a, const RowChange& b) {
    int c = CompareRows(a.key, b.key);
    if (c != 0) return c < 0;
    const auto& ra = by_old ? a.old_row : a.new_row;
    const auto& rb = by_old ? b.old_row : b.new_row;
    return ra && rb && CompareRows(*ra, *rb) < 0;
  });
}

Status DiffRows(const Store& store, const TableEntry* from, const TableEntry* to,
                const DiffOptions& options, TableDiff* out) {
  std::optional<Oid> a = from ? from->rows : std::nullopt;
  std::optional<Oid> b = to ? to->rows : std::nullopt;
  std::vector<std::string> json_old, json_new;
  if (out->from) json_old = JsonColumns(*out->from, options);
  if (out->to) json_new = JsonColumns(*out->to, options);
  std::vector<std::string> old_cols, new_cols;
  if (out->from) old_cols = out->from->VersionedColumns();
  if (out->to) new_cols = out->to->VersionedColumns();
  std::vector<size_t> old_key, new_key;
  if (out->from) old_key = KeyPositions(*out->from, old_cols);
  if (out->to) new_key = KeyPositions(*out->to, new_cols);
  // Where both sides' rows are in the same columns under the same key, a modified row's key is
  // its new row's, and its old row may be left unread.
  bool skip_old = !options.old_rows && out->from && out->to && old_cols == new_cols &&
                  out->from->key == out->to->key;
  CFGIT_RETURN_IF_ERROR(
      store.DiffTrees(a, b, options.keep_trees, [&](const TreeChange& change) -> Status {
        if (!IsRowPath(change.path)) {
          return Status::Invalid("table '" + out->name + "': unexpected file rows/" + change.path);
        }
        RowChange row;
        const bool modified = change.before && change.after;
        if (modified && skip_old) {
          row.old_file = *change.before;
        } else if (change.before) {
          CFGIT_ASSIGN_OR_RETURN(row.old_row, ReadRow(store, *out->from, old_cols, *change.before));
        }
        if (change.after) {
          bool canonical = false;
          CFGIT_ASSIGN_OR_RETURN(row.new_row,
                                 ReadRow(store, *out->to, new_cols, *change.after, &canonical));
          if (canonical) row.new_file = *change.after;
        }
        if (modified) {
          row.key = KeyOf(new_key, *row.new_row);
          // A cell is compared as JSON when its column is JSON on the side it ends up on.
          if (row.old_row) {
            row.cells = DiffCells(old_cols, *row.old_row, new_cols, *row.new_row, json_new);
          }
          out->modified.push_back(std::move(row));
        } else if (row.new_row) {
          row.key = KeyOf(new_key, *row.new_row);
          out->added.push_back(std::move(row));
        } else {
          row.key = KeyOf(old_key, *row.old_row);
          out->deleted.push_back(std::move(row));
        }
        return Status::Ok();
      }));
  SortChanges(&out->added, false);
  SortChanges(&out->deleted, true);
  SortChanges(&out->modified, false);
  return Status::Ok();
}

}  // namespace

bool SchemaDiff::empty() const {
  return columns_added.empty() && columns_removed.empty() && columns_changed.empty() &&
         !primary_key_changed && !key_changed && !ignore_changed && !rows_versioned_changed &&
         indexes_added.empty() && indexes_removed.empty() && foreign_keys_added.empty() &&
         foreign_keys_removed.empty() && !sql_changed;
}

SchemaDiff DiffSchemas(const TableSchema& from, const TableSchema& to) {
  SchemaDiff d;
  for (const Column& c : from.columns) {
    const Column* n = to.FindColumn(c.name);
    if (!n) {
      d.columns_removed.push_back(c);
    } else if (!(*n == c)) {
      d.columns_changed.push_back({c, *n});
    }
  }
  for (const Column& c : to.columns) {
    if (!from.FindColumn(c.name)) d.columns_added.push_back(c);
  }
  d.primary_key_changed = from.primary_key != to.primary_key;
  d.key_changed = from.key != to.key;
  d.ignore_changed = from.ignore != to.ignore;
  d.rows_versioned_changed = from.rows_versioned != to.rows_versioned;
  for (const Index& i : from.indexes) {
    if (std::find(to.indexes.begin(), to.indexes.end(), i) == to.indexes.end())
      d.indexes_removed.push_back(i);
  }
  for (const Index& i : to.indexes) {
    if (std::find(from.indexes.begin(), from.indexes.end(), i) == from.indexes.end())
      d.indexes_added.push_back(i);
  }
  for (const ForeignKey& f : from.foreign_keys) {
    if (std::find(to.foreign_keys.begin(), to.foreign_keys.end(), f) == to.foreign_keys.end())
      d.foreign_keys_removed.push_back(f);
  }
  for (const ForeignKey& f : to.foreign_keys) {
    if (std::find(from.foreign_keys.begin(), from.foreign_keys.end(), f) == from.foreign_keys.end())
      d.foreign_keys_added.push_back(f);
  }
  d.sql_changed = from.sql != to.sql;
  return d;
}

std::vector<CellChange> DiffCells(const std::vector<std::string>& old_columns, const Row& old_row,
                                  const std::vector<std::string>& new_columns, const Row& new_row,
                                  const std::vector<std::string>& json_columns) {
  std::vector<CellChange> out;
  auto find = [](const std::vector<std::string>& cols, const std::string& name) -> long {
    auto it = std::find(cols.begin(), cols.end(), name);
    return it == cols.end() ? -1 : it - cols.begin();
  };
  for (size_t i = 0; i < new_columns.size(); ++i) {
    long j = find(old_columns, new_columns[i]);
    const Value& now = new_row[i];
    if (j >= 0 && old_row[static_cast<size_t>(j)] == now) continue;
    CellChange c;
    c.column = new_columns[i];
    c.new_value = now;
    if (j >= 0) c.old_value = old_row[static_cast<size_t>(j)];
    if (c.old_value && c.old_value->kind() == Value::Kind::kText &&
        now.kind() == Value::Kind::kText &&
        std::find(json_columns.begin(), json_columns.end(), c.column) != json_columns.end()) {
      if (auto changes = DiffJson(c.old_value->bytes(), now.bytes())) {
        c.json = true;
        c.json_changes = std::move(*changes);
      }
    }
    out.push_back(std::move(c));
  }
  for (size_t j = 0; j < old_columns.size(); ++j) {
    if (find(new_columns, old_columns[j]) >= 0) continue;
    CellChange c;
    c.column = old_columns[j];
    c.old_value = old_row[j];
    out.push_back(std::move(c));
  }
  return out;
}

int CompareValues(const Value& a, const Value& b) {
  if (a.kind() != b.kind()) return a.kind() < b.kind() ? -1 : 1;
  switch (a.kind()) {
    case Value::Kind::kNull:
      return 0;
    case Value::Kind::kInteger:
    case Value::Kind::kBool:
      return a.integer() < b.integer() ? -1 : a.integer() > b.integer() ? 1 : 0;
    case Value::Kind::kReal:
      return a.real() < b.real() ? -1 : a.real() > b.real() ? 1 : 0;
    case Value::Kind::kText:
    case Value::Kind::kBlob:
      return a.bytes().compare(b.bytes()) < 0 ? -1 : a.bytes() == b.bytes() ? 0 : 1;
  }
  return 0;
}

int CompareRows(const Row& a, const Row& b) {
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) {
    if (int c = CompareValues(a[i], b[i])) return c;
  }
  return a.size() < b.size() ? -1 : a.size() > b.size() ? 1 : 0;
}

Status DiffSnapshots(const Store& store, const std::optional<Oid>& from,
                     const std::optional<Oid>& to, const DiffOptions& options,
                     const std::function<Status(TableDiff&&)>& each) {
  if (from && to && *from == *to) return Status::Ok();
  std::map<std::string, std::pair<std::optional<TableEntry>, std::optional<TableEntry>>> tables;
  if (from) {
    CFGIT_ASSIGN_OR_RETURN(std::vector<TableEntry> list, store.ListTables(*from));
    for (TableEntry& t : list) tables[t.name].first = std::move(t);
  }
  if (to) {
    CFGIT_ASSIGN_OR_RETURN(std::vector<TableEntry> list, store.ListTables(*to));
    for (TableEntry& t : list) tables[t.name].second = std::move(t);
  }
  for (auto& [name, pair] : tables) {
    if (!options.tables.empty() &&
        std::find(options.tables.begin(), options.tables.end(), name) == options.tables.end())
      continue;
    const std::optional<TableEntry>& a = pair.first;
    const std::optional<TableEntry>& b = pair.second;
    if (a && b && a->schema == b->schema && a->rows == b->rows) continue;
    TableDiff d;
    d.name = name;
    if (a) {
      CFGIT_ASSIGN_OR_RETURN(d.from, store.ReadSchema(a->schema));
    }
    if (b) {
      CFGIT_ASSIGN_OR_RETURN(d.to, store.ReadSchema(b->schema));
    }
    if (a && b && !(a->schema == b->schema)) d.schema = DiffSchemas(*d.from, *d.to);
    if (options.whole_table_rows || (a && b)) {
      CFGIT_RETURN_IF_ERROR(DiffRows(store, a ? &*a : nullptr, b ? &*b : nullptr, options, &d));
    }
    CFGIT_RETURN_IF_ERROR(each(std::move(d)));
  }
  return Status::Ok();
}

Status ReadOldRows(const Store& store, TableDiff* diff, const std::set<Row, RowLess>* keys) {
  std::vector<std::string> cols;
  for (RowChange& row : diff->modified) {
    if (row.old_row || (keys && !keys->count(row.key))) continue;
    if (!row.old_file || !diff->from) {
      return Status::Invalid("table '" + diff->name + "': a changed row has no old row to read");
    }
    if (cols.empty()) cols = diff->from->VersionedColumns();
    CFGIT_ASSIGN_OR_RETURN(row.old_row, ReadRow(store, *diff->from, cols, *row.old_file));
  }
  return Status::Ok();
}

namespace {

Result<TableEntry> FindTable(const Store& store, const Oid& tree, const std::string& table) {
  CFGIT_ASSIGN_OR_RETURN(std::vector<TableEntry> list, store.ListTables(tree));
  for (TableEntry& t : list) {
    if (t.name == table) return std::move(t);
  }
  return Status::Invalid("snapshot " + tree.Short() + " has no table '" + table + "'");
}

}  // namespace

Status ForEachTableRow(const Store& store, const Oid& tree, const std::string& table,
                       const std::function<Status(Row&&)>& each) {
  CFGIT_ASSIGN_OR_RETURN(TableEntry entry, FindTable(store, tree, table));
  if (!entry.rows) return Status::Ok();
  CFGIT_ASSIGN_OR_RETURN(TableSchema schema, store.ReadSchema(entry.schema));
  std::vector<std::string> cols = schema.VersionedColumns();
  return store.DiffTrees(std::nullopt, entry.rows, [&](const TreeChange& change) -> Status {
    if (!IsRowPath(change.path)) {
      return Status::Invalid("table '" + table + "': unexpected file rows/" + change.path);
    }
    CFGIT_ASSIGN_OR_RETURN(Row row, ReadRow(store, schema, cols, *change.after));
    return each(std::move(row));
  });
}

Result<size_t> CountTableRows(const Store& store, const Oid& tree, const std::string& table) {
  CFGIT_ASSIGN_OR_RETURN(TableEntry entry, FindTable(store, tree, table));
  size_t n = 0;
  if (!entry.rows) return n;
  CFGIT_RETURN_IF_ERROR(store.DiffTrees(std::nullopt, entry.rows, [&](const TreeChange&) {
    ++n;
    return Status::Ok();
  }));
  return n;
}

}  // namespace cfgit
