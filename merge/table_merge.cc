// MergeTable: one table, three ways, from the two diffs against the base.
#include <algorithm>
#include <cctype>
#include <map>

#include "merge/merge.h"

namespace cfgit {
namespace {

// A row of one side, with the columns its values belong to.
struct SideRow {
  const std::vector<std::string>* columns = nullptr;
  Row values;
  std::optional<Value> Get(const std::string& column) const {
    auto it = std::find(columns->begin(), columns->end(), column);
    if (it == columns->end()) return std::nullopt;
    return values[static_cast<size_t>(it - columns->begin())];
  }
};

// What each side did to one key (keyed tables) or one distinct row (keyless tables).
struct Entry {
  // Absent: no base row, or one left unread (a row only one side modified: BaseRowsNeeded).
  std::optional<SideRow> base;
  bool ours_changed = false, theirs_changed = false;
  std::optional<SideRow> ours, theirs;   // after the change (absent: deleted); set when changed
  int ours_delta = 0, theirs_delta = 0;  // keyless: copies added minus copies deleted
};

class TableMerger {
 public:
  explicit TableMerger(const TableMergeInput& in) : in_(in) {}

  TableMergeResult Run() {
    const auto &b = in_.base, &o = in_.ours, &t = in_.theirs;
    if (o || t) {  // else: dropped on both sides, or never there
      if (!b) {
        Created();
      } else if (!o) {
        DroppedByOurs();
      } else if (!t) {
        DroppedByTheirs();
      } else {
        Merged();
      }
    }
    result_.summary.conflicts = result_.conflicts.size();
    return std::move(result_);
  }

 private:
  bool Changed(const TableDiff& d) const { return !d.empty(); }

  Conflict TableConflict(const std::string& detail) const {
    Conflict c;
    c.table = in_.name;
    c.kind = ConflictKind::kSchema;
    c.detail = detail;
    return c;
  }

  TableMergeResult Created() {
    if (!in_.ours) {  // created by theirs only: it appears, with all its rows
      result_.schema = in_.theirs;
      for (const RowChange& r : in_.theirs_diff.added) {
        result_.puts.push_back(*r.new_row);
        result_.touched.push_back({*r.new_row, false, true});
      }
      result_.summary.from_theirs = result_.puts.size();
      result_.summary.schema_merged = true;
      return result_;
    }
    result_.schema = in_.ours;
    if (!in_.theirs) return result_;  // created by ours only
    if (!SameStructure(*in_.ours, *in_.theirs)) {
      result_.conflicts.push_back(
          TableConflict("table " + in_.name + " was created on both sides with different schemas"));
      return result_;
    }
    return MergeRows(*in_.ours);
  }

  TableMergeResult DroppedByOurs() {
    if (Changed(in_.theirs_diff)) {
      result_.conflicts.push_back(
          TableConflict("table " + in_.name +
                        " was dropped on ours and changed on theirs; keep it dropped with "
                        "--ours, or take theirs' table with --theirs"));
    }
    return result_;  // stays dropped
  }

  TableMergeResult DroppedByTheirs() {
    result_.schema = in_.ours;
    if (Changed(in_.ours_diff)) {
      result_.conflicts.push_back(
          TableConflict("table " + in_.name +
                        " was dropped on theirs and changed on ours; keep ours' table "
                        "with --ours, or drop it with --theirs"));
      return result_;
    }
    result_.schema.reset();  // ours did not touch it: dropped
    result_.summary.schema_merged = true;
    return result_;
  }

  static bool SameStructure(const TableSchema& a, const TableSchema& b) {
    return a.columns == b.columns && a.primary_key == b.primary_key && a.indexes == b.indexes &&
           a.foreign_keys == b.foreign_keys;
  }

  TableMergeResult Merged() {
    const TableSchema& ours = *in_.ours;
    TableSchema merged = ours;
    if (in_.rule == Rule::kOverwrite) {
      merged = *in_.theirs;
      merged.key = ours.key;
      merged.ignore = ours.ignore;
      merged.rows_versioned = ours.rows_versioned;
    } else {
      SchemaMerge s = MergeSchemas(*in_.base, ours, *in_.theirs);
      for (Conflict& c : s.conflicts) result_.conflicts.push_back(std::move(c));
      if (!result_.conflicts.empty()) {
        result_.schema = ours;  // a person decides the schema first; rows wait
        return result_;
      }
      merged = std::move(s.schema);
    }
    result_.summary.schema_merged = !(merged == ours);
    return MergeRows(merged);
  }

  // --- rows ---

  TableMergeResult MergeRows(const TableSchema& merged) {
    result_.schema = merged;
    if (!merged.rows_versioned || in_.rule == Rule::kSchemaOnly) return result_;
    merged_columns_ = merged.VersionedColumns();
    if (in_.base) base_columns_ = in_.base->VersionedColumns();
    ours_columns_ = in_.ours->VersionedColumns();
    if (in_.theirs) theirs_columns_ = in_.theirs->VersionedColumns();
    for (const std::string& c : merged_columns_) {
      const Column* col = merged.FindColumn(c);
      defaults_.push_back(col ? DefaultValue(*col) : Value::Null());
      json_.push_back((col && col->IsJson()) ||
                      std::find(in_.json_columns.begin(), in_.json_columns.end(), c) !=
                          in_.json_columns.end());
    }
    keyless_ = merged.key.empty();
    Collect(in_.ours_diff, true);
    Collect(in_.theirs_diff, false);
    for (auto& [key, e] : entries_) {
      if (keyless_) {
        MergeKeyless(key, e);
      } else if (in_.rule == Rule::kOverwrite) {
        Overwrite(key, e);
      } else if (in_.rule == Rule::kInsertOnly) {
        InsertOnly(e);
      } else {
        MergeKeyed(key, e);
      }
    }
    return result_;
  }

  void Collect(const TableDiff& d, bool ours) {
    const std::vector<std::string>& side = ours ? ours_columns_ : theirs_columns_;
    auto entry = [&](const RowChange& r, const Row& full) -> Entry& {
      return entries_[keyless_ ? full : r.key];
    };
    for (const RowChange& r : d.added) {
      Entry& e = entry(r, *r.new_row);
      Mark(e, ours, SideRow{&side, *r.new_row}, +1);
    }
    for (const RowChange& r : d.deleted) {
      Entry& e = entry(r, *r.old_row);
      e.base = SideRow{&base_columns_, *r.old_row};
      Mark(e, ours, std::nullopt, -1);
    }
    for (const RowChange& r : d.modified) {
      Entry& e = entry(r, *r.new_row);
      if (r.old_row) e.base = SideRow{&base_columns_, *r.old_row};
      Mark(e, ours, SideRow{&side, *r.new_row}, 0);
    }
  }

  static void Mark(Entry& e, bool ours, std::optional<SideRow> row, int delta) {
    (ours ? e.ours_changed : e.theirs_changed) = true;
    (ours ? e.ours : e.theirs) = std::move(row);
    (ours ? e.ours_delta : e.theirs_delta) += delta;
  }

  // A side's row as it is after the merge's inputs: changed, or else the base row.
  const std::optional<SideRow>& State(const Entry& e, bool ours) const {
    if (ours) return e.ours_changed ? e.ours : e.base;
    return e.theirs_changed ? e.theirs : e.base;
  }

  // A side's value of a merged column; a column the side lacks has its default.
  Value Cell(const SideRow& r, size_t i) const {
    std::optional<Value> v = r.Get(merged_columns_[i]);
    return v ? *v : defaults_[i];
  }

  Row Project(const SideRow& r) const {
    Row out;
    for (size_t i = 0; i < merged_columns_.size(); ++i) out.push_back(Cell(r, i));
    return out;
  }

  // Puts `row` unless ours already holds exactly that content in the merged columns.
  void Put(const Entry& e, Row row) {
    RequireValues(row);
    // Whether each side's database held this exact row (with the rows it did not change).
    const std::optional<SideRow>& theirs_row = State(e, false);
    const std::optional<SideRow>& ours = State(e, true);
    bool as_ours = ours && Project(*ours) == row;
    bool as_theirs = theirs_row && Project(*theirs_row) == row;
    result_.touched.push_back({row, as_ours, as_theirs});
    if (ours && ours_columns_ == merged_columns_ && ours->values == row) return;
    result_.puts.push_back(std::move(row));
  }

  void Remove(const Entry& e) {
    const std::optional<SideRow>& ours = State(e, true);
    if (ours) result_.removes.push_back(ours->values);
  }

  // A NOT NULL column without a default that one side added leaves the other side's rows
  // without a value: each such row is reported, to be settled with --set.
  void RequireValues(const Row& row) {
    if (keyless_) return;
    for (size_t i = 0; i < merged_columns_.size(); ++i) {
      const Column* col = result_.schema->FindColumn(merged_columns_[i]);
      if (!col || !col->not_null || col->default_sql || !row[i].is_null()) continue;
      Row key;
      for (const std::string& k : result_.schema->key) {
        auto it = std::find(merged_columns_.begin(), merged_columns_.end(), k);
        key.push_back(row[static_cast<size_t>(it - merged_columns_.begin())]);
      }
      Conflict c = RowConflict(ConflictKind::kSchema, key);
      c.columns = {merged_columns_[i]};
      c.detail = "column " + merged_columns_[i] +
                 " is NOT NULL without a default and this row has no value for it; give it one "
                 "with --set " +
                 merged_columns_[i] + "=VALUE";
      result_.conflicts.push_back(std::move(c));
    }
  }

  Conflict RowConflict(ConflictKind kind, const Row& key) const {
    Conflict c;
    c.table = in_.name;
    c.kind = kind;
    c.key_columns = result_.schema->key;
    c.key = key;
    return c;
  }

  void MergeKeyed(const Row& key, const Entry& e) {
    const std::optional<SideRow>& ours = State(e, true);
    const std::optional<SideRow>& theirs = State(e, false);
    if (!e.theirs_changed) {  // only ours changed it: ours stands (re-encoded if columns moved)
      ++result_.summary.from_ours;
      if (ours) Put(e, Project(*ours));
      return;
    }
    if (!e.ours_changed) {  // only theirs changed it
      ++result_.summary.from_theirs;
      if (theirs && !ours) {
        Put(e, Project(*theirs));  // added by theirs
      } else if (theirs) {
        // Ours' row is the base row: merge cell by cell so that columns ours added keep theirs'.
        Put(e, MergeCells(key, e, nullptr));
      } else {
        Remove(e);
      }
      return;
    }
    if (!ours && !theirs) {  // both deleted
      ++result_.summary.converged;
      return;
    }
    if (!ours || !theirs) {  // one side deleted, the other changed it
      Conflict c = RowConflict(ConflictKind::kModifyDelete, key);
      c.row_columns = merged_columns_;
      if (e.base) c.base = Project(*e.base);
      if (ours) c.ours = Project(*ours);
      if (theirs) c.theirs = Project(*theirs);
      c.detail = std::string(ours ? "ours changed the row, theirs deleted it"
                                  : "ours deleted the row, theirs changed it");
      result_.conflicts.push_back(std::move(c));
      if (ours) Put(e, Project(*ours));
      return;
    }
    bool conflicted = false;
    Row merged = MergeCells(key, e, &conflicted);
    if (!conflicted && merged == Project(*ours) && merged == Project(*theirs)) {
      ++result_.summary.converged;
    } else if (!(merged == Project(*ours))) {
      ++result_.summary.from_theirs;
    }
    Put(e, std::move(merged));
  }

  // Cell by cell. Cells that conflict keep ours' value and are reported together as one
  // conflict of the row (modify/modify, or add/add when the base has no such row).
  Row MergeCells(const Row& key, const Entry& e, bool* conflicted) {
    const std::optional<SideRow>& ours = State(e, true);
    const std::optional<SideRow>& theirs = State(e, false);
    Row out;
    Conflict c = RowConflict(e.base ? ConflictKind::kModifyModify : ConflictKind::kAddAdd, key);
    Row cb, co, ct;
    for (size_t i = 0; i < merged_columns_.size(); ++i) {
      Value o = Cell(*ours, i), t = Cell(*theirs, i);
      if (!e.base) {  // added on both sides: any difference is a conflict
        if (!(o == t)) {
          c.columns.push_back(merged_columns_[i]);
          cb.push_back(Value::Null());
          co.push_back(o);
          ct.push_back(t);
        }
        out.push_back(o);
        continue;
      }
      Value b = Cell(*e.base, i);
      CellOutcome outcome;
      Value v;
      std::vector<std::string> paths;
      if (json_[i]) {
        JsonCellMerge m = MergeJsonCell(b, o, t);
        outcome = m.outcome;
        v = std::move(m.value);
        paths = std::move(m.conflict_paths);
      } else {
        CellMerge m = MergeCell(b, o, t);
        outcome = m.outcome;
        v = std::move(m.value);
      }
      if (outcome == CellOutcome::kConflict) {
        c.columns.push_back(merged_columns_[i]);
        cb.push_back(b);
        co.push_back(o);
        ct.push_back(t);
        for (const std::string& p : paths) {
          if (!p.empty()) c.detail += (c.detail.empty() ? "" : ", ") + merged_columns_[i] + "." + p;
        }
      }
      out.push_back(std::move(v));
    }
    if (!c.columns.empty()) {
      if (!c.detail.empty()) c.detail = "JSON paths in conflict: " + c.detail;
      c.row_columns = c.columns;
      if (e.base) c.base = std::move(cb);
      c.ours = std::move(co);
      c.theirs = std::move(ct);
      result_.conflicts.push_back(std::move(c));
      if (conflicted) *conflicted = true;
    }
    return out;
  }

  void Overwrite(const Row& key, const Entry& e) {
    const std::optional<SideRow>& ours = State(e, true);
    const std::optional<SideRow>& theirs = State(e, false);
    std::optional<Row> want = theirs ? std::optional<Row>(Project(*theirs)) : std::nullopt;
    std::optional<Row> have = ours ? std::optional<Row>(Project(*ours)) : std::nullopt;
    if (want == have && ours_columns_ == merged_columns_) return;
    if (e.ours_changed && !(want == have)) result_.summary.overwritten.push_back(key);
    if (e.theirs_changed) ++result_.summary.from_theirs;
    if (want) {
      Put(e, std::move(*want));
    } else {
      Remove(e);
    }
  }

  void InsertOnly(const Entry& e) {
    const std::optional<SideRow>& ours = State(e, true);
    if (ours && ours_columns_ != merged_columns_) {
      Put(e, Project(*ours));  // ours' row in the merged columns (a column theirs added)
      return;
    }
    if (e.base || !e.theirs || ours) return;  // only rows theirs added and ours lacks
    ++result_.summary.from_theirs;
    Put(e, Project(*e.theirs));
  }

  // Keyless rows: copies of one content. Theirs' net change is applied unless ours made the same.
  void MergeKeyless(const Row& row, const Entry& e) {
    if (in_.rule == Rule::kInsertOnly && e.theirs_delta <= 0) return;
    if (e.ours_delta == e.theirs_delta && e.ours_changed) {
      if (e.theirs_changed) ++result_.summary.converged;
      return;
    }
    // Copies are rows of their own: a copy added (or deleted) on both sides converges, so the
    // change to ours is what theirs did beyond ours in the same direction, or all of it when
    // the two went opposite ways. Overwrite makes the count theirs'.
    int o = e.ours_delta, t = e.theirs_delta, delta;
    if (in_.rule == Rule::kOverwrite) {
      delta = t - o;
    } else if (o >= 0 && t >= 0) {
      delta = std::max(0, t - o);
    } else if (o <= 0 && t <= 0) {
      delta = std::min(0, t - o);
    } else {
      delta = t;
    }
    if (in_.rule == Rule::kOverwrite && e.ours_changed && delta != 0)
      result_.summary.overwritten.push_back(row);
    if (delta != 0 && e.theirs_changed) ++result_.summary.from_theirs;
    const std::vector<std::string>& side = e.theirs ? theirs_columns_ : ours_columns_;
    SideRow r{e.base ? e.base->columns : &side, row};
    for (int i = 0; i < delta; ++i) result_.puts.push_back(Project(r));
    for (int i = 0; i > delta; --i) result_.removes.push_back(row);
  }

  const TableMergeInput& in_;
  TableMergeResult result_;
  std::vector<std::string> merged_columns_, base_columns_, ours_columns_, theirs_columns_;
  Row defaults_;
  std::vector<bool> json_;
  bool keyless_ = false;
  std::map<Row, Entry, RowLess> entries_;
};

}  // namespace

TableMergeResult MergeTable(const TableMergeInput& input) { return TableMerger(input).Run(); }

std::optional<std::set<Row, RowLess>> BaseRowsNeeded(const TableDiff& side, const TableDiff* other,
                                                     Rule rule) {
  // Without the base, a row only theirs modified counts as one ours lacks, and one only ours
  // modified as one theirs lacks: either way that side's row is put, or kept, as it is. Only
  // the merge rule does so (overwrite and insert-only tell modified rows from added ones), and
  // only while every side's rows are in the base's columns.
  auto same_columns = [](const TableDiff& d) {
    return !d.from || !d.to ||
           (d.from->VersionedColumns() == d.to->VersionedColumns() && d.from->key == d.to->key);
  };
  if (rule != Rule::kMerge || !side.from || side.from->key.empty() || !same_columns(side) ||
      (other && !same_columns(*other))) {
    return std::nullopt;
  }
  std::set<Row, RowLess> keys;
  if (!other) return keys;
  for (const auto* rows : {&other->added, &other->deleted, &other->modified}) {
    for (const RowChange& r : *rows) keys.insert(r.key);
  }
  return keys;
}

}  // namespace cfgit
