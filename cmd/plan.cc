// PlanChanges: the change batch between two snapshots, built from their diff (see command.h).
#include "cmd/command.h"

namespace cfgit::cmd {
namespace {

bool StructureDiffers(const TableSchema& a, const TableSchema& b) {
  return a.columns != b.columns || a.primary_key != b.primary_key || a.indexes != b.indexes ||
         a.foreign_keys != b.foreign_keys || a.sql != b.sql;
}

// Every row of one table of `tree`, as inserts streamed from the store when written.
Status StreamAllRows(const Store& store, const Oid& tree, TableBatch* t) {
  std::string table = t->schema.name;
  CFGIT_ASSIGN_OR_RETURN(t->streamed_rows, CountTableRows(store, tree, table));
  t->stream = [&store, tree, table](const std::function<Status(const Row&)>& each) {
    return ForEachTableRow(store, tree, table, [&](Row&& row) { return each(row); });
  };
  return Status::Ok();
}

}  // namespace

Result<ChangeBatch> PlanChanges(const Store& store, const Side& from, const Side& to,
                                const std::string& target_dialect, const DiffOptions& options) {
  ChangeBatch batch;
  batch.source_dialect = to.tree ? to.dialect : from.dialect;
  auto each = [&](TableDiff&& d) -> Status {
    TableBatch t;
    if (!d.to) {
      t.schema = *d.from;
      t.drop = true;
      batch.tables.push_back(std::move(t));
      return Status::Ok();
    }
    t.schema = *d.to;
    t.create = !d.from;
    if (d.from && StructureDiffers(*d.from, *d.to)) {
      t.alter_from = *d.from;
      t.rebuild = NeedsRebuild(target_dialect, *d.from, *d.to);
    }
    if (t.rebuild || t.create) {
      if (t.schema.rows_versioned) CFGIT_RETURN_IF_ERROR(StreamAllRows(store, *to.tree, &t));
      batch.tables.push_back(std::move(t));
      return Status::Ok();
    }
    for (RowChange& r : d.deleted) {
      t.deletes.push_back(t.schema.key.empty() ? std::move(*r.old_row) : std::move(r.key));
    }
    for (RowChange& r : d.modified) {
      RowUpdate u;
      u.key = std::move(r.key);
      for (CellChange& c : r.cells) {
        if (!c.new_value) continue;  // a column the snapshot no longer has: left alone
        u.columns.push_back(c.column);
        u.values.push_back(std::move(*c.new_value));
      }
      if (!u.columns.empty()) t.updates.push_back(std::move(u));
    }
    for (RowChange& r : d.added) t.inserts.push_back(std::move(*r.new_row));
    batch.tables.push_back(std::move(t));
    return Status::Ok();
  };
  // Tables on one side only come without their rows: a created table's are streamed.
  DiffOptions tables_only = options;
  tables_only.whole_table_rows = false;
  CFGIT_RETURN_IF_ERROR(DiffSnapshots(store, from.tree, to.tree, tables_only, each));
  return batch;
}

}  // namespace cfgit::cmd
