// PlanChanges: the change batch between two snapshots, built from their diff (see command.h).
#include "cmd/command.h"

namespace cfgit::cmd {
namespace {

bool StructureDiffers(const TableSchema& a, const TableSchema& b) {
  return a.columns != b.columns || a.primary_key != b.primary_key || a.indexes != b.indexes ||
         a.foreign_keys != b.foreign_keys || a.sql != b.sql;
}

// Every row of one table of `tree`, as inserts.
Status AllRows(const Store& store, const Oid& tree, const std::string& table,
               std::vector<Row>* rows) {
  DiffOptions only;
  only.tables = {table};
  return DiffSnapshots(store, std::nullopt, tree, only, [&](TableDiff&& d) -> Status {
    for (RowChange& r : d.added) rows->push_back(std::move(*r.new_row));
    return Status::Ok();
  });
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
    if (t.rebuild) {
      if (t.schema.rows_versioned) {
        CFGIT_RETURN_IF_ERROR(AllRows(store, *to.tree, d.name, &t.inserts));
      }
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
  CFGIT_RETURN_IF_ERROR(DiffSnapshots(store, from.tree, to.tree, options, each));
  return batch;
}

}  // namespace cfgit::cmd
