// MergeTrees: base/ours/theirs snapshot trees -> merged tree, conflicts, summary (command.h).
#include <algorithm>
#include <map>
#include <set>
#include <unordered_map>

#include "cmd/command.h"

namespace cfgit::cmd {
namespace {

// The table's schema in a snapshot tree. Cached per tree.
class Schemas {
 public:
  explicit Schemas(const Store& store) : store_(store) {}
  // nullptr: no such table. Valid as long as this cache.
  Result<const TableSchema*> Get(const Oid& tree, const std::string& table) {
    auto& tables = cache_[tree.Hex()];
    if (tables.empty()) {
      CFGIT_ASSIGN_OR_RETURN(std::vector<TableEntry> list, store_.ListTables(tree));
      tables[""] = std::nullopt;  // marks the tree as loaded
      for (const TableEntry& t : list) {
        CFGIT_ASSIGN_OR_RETURN(TableSchema schema, store_.ReadSchema(t.schema));
        tables[t.name] = std::move(schema);
      }
    }
    auto it = tables.find(table);
    if (it == tables.end() || !it->second) return static_cast<const TableSchema*>(nullptr);
    return &*it->second;
  }

 private:
  const Store& store_;
  std::map<std::string, std::map<std::string, std::optional<TableSchema>>> cache_;
};

// Where the key columns sit among the schema's versioned columns; nullopt when one of them is
// not versioned (the key cannot then be read from a row).
std::optional<std::vector<size_t>> KeyPositions(const TableSchema& schema) {
  std::vector<std::string> cols = schema.VersionedColumns();
  std::vector<size_t> out;
  for (const std::string& k : schema.key) {
    auto it = std::find(cols.begin(), cols.end(), k);
    if (it == cols.end()) return std::nullopt;
    out.push_back(static_cast<size_t>(it - cols.begin()));
  }
  return out;
}

Row KeyOf(const std::vector<size_t>& positions, const Row& row) {
  Row key;
  for (size_t i : positions) key.push_back(row[i]);
  return key;
}

// For the rows some diff or merge edit names, whether the merged result holds them (by key),
// known without reading the tree: ours' snapshot is the base except where ours' diff says
// otherwise (a row theirs modified or deleted was in the base, one theirs added was not), and the
// merge's removes, then puts, apply on top of it, as the editor applies them. Only for tables
// whose row identity is the same key, fully versioned, on every side; nullopt otherwise.
std::optional<std::map<Row, bool, RowLess>> KnownRows(const TableDiff* ours_diff,
                                                      const TableDiff* theirs_diff,
                                                      const TableMergeResult* merged,
                                                      const std::optional<TableSchema>& ours) {
  std::vector<const TableSchema*> sides;
  for (const TableDiff* d : {ours_diff, theirs_diff}) {
    if (!d) continue;
    if (!d->from || !d->to) return std::nullopt;
    sides.push_back(&*d->from);
    sides.push_back(&*d->to);
  }
  if (merged) {
    if (!merged->schema || !ours) return std::nullopt;
    sides.push_back(&*merged->schema);
    sides.push_back(&*ours);
  }
  if (sides.empty() || sides[0]->key.empty()) return std::nullopt;
  for (const TableSchema* t : sides) {
    if (t->key != sides[0]->key || !KeyPositions(*t)) return std::nullopt;
  }
  std::map<Row, bool, RowLess> known;
  if (theirs_diff) {
    for (const RowChange& r : theirs_diff->modified) known[r.key] = true;
    for (const RowChange& r : theirs_diff->deleted) known[r.key] = true;
    for (const RowChange& r : theirs_diff->added) known[r.key] = false;
  }
  if (ours_diff) {
    for (const RowChange& r : ours_diff->modified) known[r.key] = true;
    for (const RowChange& r : ours_diff->added) known[r.key] = true;
    for (const RowChange& r : ours_diff->deleted) known[r.key] = false;
  }
  if (merged) {
    std::vector<size_t> ours_key = *KeyPositions(*ours),
                        merged_key = *KeyPositions(*merged->schema);
    for (const Row& row : merged->removes) known[KeyOf(ours_key, row)] = false;
    for (const Row& row : merged->puts) known[KeyOf(merged_key, row)] = true;
  }
  return known;
}

// Where merged rows of a keyed table can be placed as theirs' row files (PutRowFile): theirs'
// rows are in the merged table's columns under the same key. The key's positions; nullopt if not.
std::optional<std::vector<size_t>> TheirsFilesFit(const TableDiff& theirs,
                                                  const TableSchema& merged) {
  if (!theirs.to || merged.key.empty() || theirs.to->key != merged.key ||
      theirs.to->VersionedColumns() != merged.VersionedColumns()) {
    return std::nullopt;
  }
  return KeyPositions(merged);
}

// Theirs' added or modified row with this key, if any (the diff's rows are sorted by key).
const RowChange* TheirsRow(const TableDiff& theirs, const Row& key) {
  for (const std::vector<RowChange>* rows : {&theirs.modified, &theirs.added}) {
    auto it = std::lower_bound(
        rows->begin(), rows->end(), key,
        [](const RowChange& c, const Row& k) { return CompareRows(c.key, k) < 0; });
    if (it != rows->end() && CompareRows(it->key, key) == 0) return &*it;
  }
  return nullptr;
}

// Reads the base rows of `side`'s modified rows that MergeTable needs (BaseRowsNeeded): the
// diffs leave them unread, as a row only one side changed merges without its base. Tables are
// merged when theirs changed them: of ours' diffs, only those tables count (`of_ours`).
Status ReadBaseRows(const Session& s, std::map<std::string, TableDiff>* side,
                    const std::map<std::string, TableDiff>* other, bool of_ours) {
  for (auto& [name, d] : *side) {
    Rule rule = s.config.ForTable(name).rule;
    if (d.modified.empty() || rule == Rule::kSkip) continue;  // a skipped table is not merged
    auto o = other->find(name);
    if (of_ours && o == other->end()) continue;  // only ours changed it: ours' table stands
    std::optional<std::set<Row, RowLess>> keys =
        BaseRowsNeeded(d, o != other->end() ? &o->second : nullptr, rule);
    CFGIT_RETURN_IF_ERROR(ReadOldRows(*s.store, &d, keys ? &*keys : nullptr));
  }
  return Status::Ok();
}

}  // namespace

Result<MergeOutcome> MergeTrees(const Session& s, const std::optional<Oid>& base, const Oid& ours,
                                const Oid& theirs) {
  const Store& store = *s.store;
  DiffOptions all;
  all.old_rows = false;  // base rows are read below, where the merge needs them
  std::map<std::string, TableDiff> ours_diffs, theirs_diffs;
  auto keep = [](std::map<std::string, TableDiff>* into) {
    return [into](TableDiff&& d) {
      std::string name = d.name;
      into->emplace(std::move(name), std::move(d));
      return Status::Ok();
    };
  };
  // The first diff keeps the trees it reads: the second reads the base's again, and the editor
  // rewrites ours'. The second keeps the base's: where ours did not change a directory, ours'
  // is the base's, which the editor rewrites with theirs' changes. A table whose rows diff was
  // kept by the commit (Store::DiffAndKeepRowsDiffs) reads no tree in the diffs; the editor then
  // reads the trees it rewrites itself.
  all.keep_trees = KeepTrees::kBoth;
  CFGIT_RETURN_IF_ERROR(DiffSnapshots(store, base, ours, all, keep(&ours_diffs)));
  all.keep_trees = KeepTrees::kFrom;
  CFGIT_RETURN_IF_ERROR(DiffSnapshots(store, base, theirs, all, keep(&theirs_diffs)));
  CFGIT_RETURN_IF_ERROR(ReadBaseRows(s, &ours_diffs, &theirs_diffs, true));
  CFGIT_RETURN_IF_ERROR(ReadBaseRows(s, &theirs_diffs, &ours_diffs, false));
  // Ours' schema of a table either diff names (nullopt: ours has no such table): from ours' diff,
  // or else the base's, which ours kept.
  auto ours_schema_of = [&](const std::string& name) -> const std::optional<TableSchema>& {
    auto o = ours_diffs.find(name);
    return o != ours_diffs.end() ? o->second.to : theirs_diffs.at(name).from;
  };

  MergeOutcome out;
  CFGIT_ASSIGN_OR_RETURN(out.editor, s.store->EditSnapshot(ours));
  std::map<std::string, TableMergeResult> results;
  for (auto& [name, d] : theirs_diffs) {
    ResolvedTable settings = s.config.ForTable(name);
    if (settings.rule == Rule::kSkip) continue;
    TableMergeInput in;
    in.name = name;
    in.rule = settings.rule;
    in.json_columns = settings.json.columns;
    in.base = d.from;
    in.theirs = d.to;
    in.ours = ours_schema_of(name);
    // The diffs are lent to the merge and taken back (they are needed below).
    auto o = ours_diffs.find(name);
    in.theirs_diff = std::move(d);
    if (o != ours_diffs.end()) in.ours_diff = std::move(o->second);
    results.emplace(name, MergeTable(in));
    d = std::move(in.theirs_diff);
    if (o != ours_diffs.end()) o->second = std::move(in.ours_diff);
  }

  for (auto& [name, r] : results) {
    const std::optional<TableSchema>& ours_schema = ours_schema_of(name);
    if (!r.schema) {
      if (ours_schema) CFGIT_RETURN_IF_ERROR(out.editor->RemoveTable(name));
    } else {
      if (!ours_schema || !(*ours_schema == *r.schema)) {
        CFGIT_RETURN_IF_ERROR(out.editor->SetSchema(*r.schema));
      }
      for (const Row& row : r.removes) {
        CFGIT_RETURN_IF_ERROR(out.editor->RemoveRow(ours_schema ? *ours_schema : *r.schema, row));
      }
      const TableDiff& theirs_diff = theirs_diffs.at(name);
      std::optional<std::vector<size_t>> key = TheirsFilesFit(theirs_diff, *r.schema);
      for (const Row& row : r.puts) {
        const RowChange* as_theirs = key ? TheirsRow(theirs_diff, KeyOf(*key, row)) : nullptr;
        if (as_theirs && as_theirs->new_file && *as_theirs->new_row == row) {
          CFGIT_RETURN_IF_ERROR(out.editor->PutRowFile(*r.schema, row, *as_theirs->new_file));
        } else {
          CFGIT_RETURN_IF_ERROR(out.editor->PutRow(*r.schema, row));
        }
      }
    }
    for (Conflict& c : r.conflicts) out.conflicts.push_back(std::move(c));
    if (r.changed() || r.summary.conflicts || r.summary.schema_merged || !r.conflicts.empty())
      out.tables.push_back({name, r.summary});
  }

  // Unique and foreign keys among the rows the merge touched, against the merged result.
  Schemas schemas(store);
  // Parents the diffs and edits already tell about are not looked up in the tree.
  std::map<std::string, std::map<Row, bool, RowLess>> known;
  std::set<std::string> changed;  // tables either side changed
  for (const auto& [name, d] : ours_diffs) changed.insert(name);
  for (const auto& [name, d] : theirs_diffs) changed.insert(name);
  for (const std::string& name : changed) {
    auto o = ours_diffs.find(name);
    auto t = theirs_diffs.find(name);
    auto r = results.find(name);
    std::optional<std::map<Row, bool, RowLess>> rows =
        KnownRows(o != ours_diffs.end() ? &o->second : nullptr,
                  t != theirs_diffs.end() ? &t->second : nullptr,
                  r != results.end() ? &r->second : nullptr, ours_schema_of(name));
    if (rows) known.emplace(name, std::move(*rows));
  }
  // The parent table as merged; nullptr: gone.
  auto parent_schema = [&](const std::string& table) -> Result<const TableSchema*> {
    if (auto it = results.find(table); it != results.end()) {
      return it->second.schema ? &*it->second.schema : nullptr;
    }
    return schemas.Get(ours, table);
  };
  // Many touched rows point at the same parent (every closure row of a node at each of its
  // ancestors): each parent is looked up, and its row file read, once. The edits are all made
  // by now, so an answer cannot change.
  std::unordered_map<std::string, bool> parents_seen;
  auto parent_exists = [&](const std::string& table, const std::vector<std::string>& columns,
                           const Row& values, bool as_a_side) -> bool {
    Result<const TableSchema*> parent = parent_schema(table);
    if (!parent.ok()) return true;
    if (!*parent) return false;                  // the parent table is gone
    if ((*parent)->key != columns) return true;  // not its row identity: not checked
    if (auto k = known.find(table); k != known.end()) {
      if (auto it = k->second.find(values); it != k->second.end()) return it->second;
      // No side and no edit changed that parent row: the side that has the child as it is, and
      // the foreign key, has the parent as the base had it (its database held them together).
      if (as_a_side) return true;
    } else if (as_a_side && !changed.count(table)) {
      return true;  // no side changed the parent table
    }
    std::string memo = EncodePathComponent(table);
    for (const std::string& c : columns) memo += "/" + EncodePathComponent(c);
    memo += "/" + EncodeKey(values);
    if (auto seen = parents_seen.find(memo); seen != parents_seen.end()) return seen->second;
    Result<bool> row = out.editor->HasRow(**parent, values);
    bool exists = !row.ok() || *row;
    parents_seen.emplace(std::move(memo), exists);
    return exists;
  };
  for (auto& [name, r] : results) {
    if (!r.schema || r.touched.empty()) continue;
    const std::optional<TableSchema>& ours_side = ours_schema_of(name);
    const std::optional<TableSchema>& theirs_side = theirs_diffs.at(name).to;
    for (Conflict& c : CheckConstraints(*r.schema, r.touched, ours_side ? &*ours_side : nullptr,
                                        theirs_side ? &*theirs_side : nullptr, parent_exists)) {
      out.conflicts.push_back(std::move(c));
    }
  }
  // Rows of tables only ours changed may point at parents theirs removed.
  for (const auto& [name, d] : ours_diffs) {
    if (results.count(name) || !d.to || d.to->foreign_keys.empty()) continue;
    bool near = std::any_of(d.to->foreign_keys.begin(), d.to->foreign_keys.end(),
                            [&](const ForeignKey& f) { return results.count(f.ref_table) > 0; });
    if (!near) continue;
    std::vector<TableMergeResult::Touched> touched;
    for (const RowChange& r : d.added) touched.push_back({*r.new_row, true, false});
    for (const RowChange& r : d.modified) touched.push_back({*r.new_row, true, false});
    TableSchema only_fks = *d.to;
    only_fks.indexes.clear();  // ours' own rows cannot collide with each other
    only_fks.primary_key = only_fks.key;
    for (Conflict& c : CheckConstraints(only_fks, touched, &*d.to, nullptr, parent_exists)) {
      out.conflicts.push_back(std::move(c));
    }
  }
  CFGIT_ASSIGN_OR_RETURN(out.result, out.editor->Finish());
  return out;
}

}  // namespace cfgit::cmd
