// cfgit resolve TARGET [--table T] [--key K] (--ours | --theirs | --set COL=VALUE...): settles
// conflicts of the merge in progress into TARGET, in its recorded result.
#include <cctype>
#include <iostream>
#include <map>

#include "cmd/command.h"

namespace cfgit::cmd {
namespace {

struct ResolveOptions {
  std::string target, table, key;
  bool ours = false, theirs = false;
  std::vector<std::string> sets;
};

// COL=VALUE, VALUE as in row files ('text', 42, 1.5, null, true); anything else is text.
Result<std::pair<std::string, Value>> ParseSet(const std::string& arg) {
  size_t eq = arg.find('=');
  if (eq == std::string::npos || eq == 0) {
    return Status::Usage("--set takes COL=VALUE, not '" + arg + "'");
  }
  std::string column = arg.substr(0, eq), text = arg.substr(eq + 1);
  Result<Row> row = DecodeRow({"v"}, "v: " + text + "\n");
  if (row.ok() && row->size() == 1) return std::make_pair(column, (*row)[0]);
  return std::make_pair(column, Value::Text(text));
}

// The value of `column` in a side's row (by name), or the column's default.
Row Project(const TableSchema& to, const TableSchema& from, const Row& row) {
  std::vector<std::string> from_cols = from.VersionedColumns();
  Row out;
  for (const std::string& c : to.VersionedColumns()) {
    auto it = std::find(from_cols.begin(), from_cols.end(), c);
    if (it != from_cols.end()) {
      out.push_back(row[static_cast<size_t>(it - from_cols.begin())]);
    } else {
      const Column* col = to.FindColumn(c);
      out.push_back(col ? DefaultValue(*col) : Value::Null());
    }
  }
  return out;
}

class Resolver {
 public:
  Resolver(const Session& s, const MergeState& state, SnapshotEditor* editor)
      : s_(s), state_(state), editor_(editor) {}

  Status Resolve(const Conflict& c, const ResolveOptions& o,
                 const std::vector<std::pair<std::string, Value>>& sets) {
    CFGIT_ASSIGN_OR_RETURN(std::optional<TableSchema> schema, Schema(state_.result, c.table));
    if (c.kind == ConflictKind::kSchema && c.key.empty()) {
      if (!sets.empty()) {
        return Status::Usage("the schema conflict of table " + c.table +
                             " is settled with --ours or --theirs, not --set");
      }
      if (o.theirs) return editor_->CopyTable(theirs_tree(), c.table);
      return Status::Ok();  // ours' table stays
    }
    if (!schema) return Status::Invalid("table " + c.table + " is missing from the merge result");
    if (c.kind == ConflictKind::kSchema && sets.empty()) {
      return Status::Usage("row " + KeyValuesText(c.key) + " of " + c.table +
                           " needs a value: " + c.detail);
    }
    if (!sets.empty()) return Set(*schema, c, sets);
    if (o.ours) {
      if (c.kind == ConflictKind::kUnique || c.kind == ConflictKind::kForeignKey) {
        return TakeSide(*schema, c.key, /*theirs=*/false);
      }
      return Status::Ok();  // the result holds ours' values
    }
    switch (c.kind) {
      case ConflictKind::kModifyModify:
      case ConflictKind::kAddAdd: {
        CFGIT_ASSIGN_OR_RETURN(std::optional<Row> row, editor_->GetRow(*schema, c.key));
        if (!row) return Status::Invalid("the conflicted row is missing from the merge result");
        Row values = *c.theirs;
        for (size_t i = 0; i < values.size() && c.base && c.ours; ++i) {
          if (!IsJson(*schema, c.row_columns[i])) continue;
          // theirs' members where the two collide, the merged members elsewhere
          JsonCellMerge m = MergeJsonCell((*c.base)[i], (*c.ours)[i], values[i], true);
          if (m.outcome == CellOutcome::kConflict) values[i] = m.value;
        }
        SetCells(*schema, c.row_columns, values, &*row);
        return editor_->PutRow(*schema, *row);
      }
      case ConflictKind::kModifyDelete:
        if (c.theirs) return editor_->PutRow(*schema, *c.theirs);
        return Remove(*schema, c.key);
      case ConflictKind::kUnique:
        return TakeSide(*schema, c.other_key ? *c.other_key : c.key, /*theirs=*/true);
      case ConflictKind::kForeignKey:
        return TakeSide(*schema, c.key, /*theirs=*/true);
      case ConflictKind::kSchema:
        return Status::Ok();
    }
    return Status::Ok();
  }

 private:
  bool IsJson(const TableSchema& schema, const std::string& column) const {
    std::vector<std::string> json =
        schema.JsonColumns(s_.config.ForTable(schema.name).json.columns);
    return std::find(json.begin(), json.end(), column) != json.end();
  }

  Oid theirs_tree() { return tree(state_.theirs); }
  Oid tree(const Oid& commit) {
    Result<CommitInfo> c = s_.store->ReadCommit(commit);
    return c.ok() ? c->tree : Oid();
  }

  Result<std::optional<TableSchema>> Schema(const Oid& tree, const std::string& table) {
    std::string k = tree.Hex() + "/" + table;
    if (auto it = schemas_.find(k); it != schemas_.end()) return it->second;
    CFGIT_ASSIGN_OR_RETURN(std::vector<TableEntry> tables, s_.store->ListTables(tree));
    std::optional<TableSchema> out;
    for (const TableEntry& t : tables) {
      if (t.name != table) continue;
      CFGIT_ASSIGN_OR_RETURN(out, s_.store->ReadSchema(t.schema));
    }
    schemas_[k] = out;
    return out;
  }

  static void SetCells(const TableSchema& schema, const std::vector<std::string>& columns,
                       const Row& values, Row* row) {
    std::vector<std::string> cols = schema.VersionedColumns();
    for (size_t i = 0; i < columns.size() && i < values.size(); ++i) {
      auto it = std::find(cols.begin(), cols.end(), columns[i]);
      if (it != cols.end()) (*row)[static_cast<size_t>(it - cols.begin())] = values[i];
    }
  }

  Status Remove(const TableSchema& schema, const Row& key) {
    CFGIT_ASSIGN_OR_RETURN(std::optional<Row> row, editor_->GetRow(schema, key));
    if (row) return editor_->RemoveRow(schema, *row);
    return Status::Ok();
  }

  // The row with `key` becomes what ours (or theirs) has under that key.
  Status TakeSide(const TableSchema& schema, const Row& key, bool theirs) {
    Oid side_tree = tree(theirs ? state_.theirs : state_.ours);
    CFGIT_ASSIGN_OR_RETURN(std::optional<TableSchema> side_schema, Schema(side_tree, schema.name));
    std::optional<Row> row;
    if (side_schema) {
      CFGIT_ASSIGN_OR_RETURN(row, s_.store->ReadRow(side_tree, *side_schema, key));
    }
    if (!row) return Remove(schema, key);
    return editor_->PutRow(schema, Project(schema, *side_schema, *row));
  }

  Status Set(const TableSchema& schema, const Conflict& c,
             const std::vector<std::pair<std::string, Value>>& sets) {
    std::vector<std::string> cols = schema.VersionedColumns();
    CFGIT_ASSIGN_OR_RETURN(std::optional<Row> row, editor_->GetRow(schema, c.key));
    if (!row && c.theirs && c.row_columns == cols) row = *c.theirs;  // deleted by ours
    if (!row) {
      return Status::Usage("the row " + KeyValuesText(c.key) + " of " + c.table +
                           " is not in the merge result; settle it with --theirs or --ours");
    }
    for (const auto& [column, value] : sets) {
      auto it = std::find(cols.begin(), cols.end(), column);
      if (it == cols.end()) {
        return Status::Usage("table " + c.table + " has no versioned column '" + column + "'");
      }
      (*row)[static_cast<size_t>(it - cols.begin())] = value;
    }
    return editor_->PutRow(schema, *row);
  }

  const Session& s_;
  const MergeState& state_;
  SnapshotEditor* editor_;
  std::map<std::string, std::optional<TableSchema>> schemas_;
};

Status RunResolve(const Globals& globals, const ResolveOptions& o) {
  if (o.ours + o.theirs + !o.sets.empty() != 1) {
    return Status::Usage("say how to settle the conflicts: --ours, --theirs or --set COL=VALUE");
  }
  std::vector<std::pair<std::string, Value>> sets;
  for (const std::string& arg : o.sets) {
    CFGIT_ASSIGN_OR_RETURN(auto set, ParseSet(arg));
    sets.push_back(std::move(set));
  }
  CFGIT_ASSIGN_OR_RETURN(Session s, OpenSession(globals));
  CFGIT_ASSIGN_OR_RETURN(auto lock, s.store->LockForWriting(std::chrono::seconds(10)));
  CFGIT_ASSIGN_OR_RETURN(std::optional<MergeState> state, s.store->ReadMergeState(o.target));
  if (!state) return Status::Usage("no merge into " + o.target + " is in progress");
  std::vector<Conflict> chosen, remaining;
  for (Conflict& c : state->conflicts) {
    bool match = (o.table.empty() || c.table == o.table) &&
                 (o.key.empty() || (!c.key_columns.empty() && KeyValuesText(c.key) == o.key));
    (match ? chosen : remaining).push_back(std::move(c));
  }
  if (chosen.empty()) {
    return Status::Usage("no conflict of the merge into " + o.target + " matches" +
                         (o.table.empty() ? "" : " --table " + o.table) +
                         (o.key.empty() ? "" : " --key " + o.key) +
                         "; list them with: cfgit conflicts " + o.target);
  }
  if (!sets.empty() && chosen.size() > 1) {
    return Status::Usage(std::to_string(chosen.size()) +
                         " conflicts match; --set settles one row: narrow it with --table and "
                         "--key (cfgit conflicts " +
                         o.target + " lists them)");
  }
  CFGIT_ASSIGN_OR_RETURN(auto editor, s.store->EditSnapshot(state->result));
  Resolver resolver(s, *state, editor.get());
  for (const Conflict& c : chosen) CFGIT_RETURN_IF_ERROR(resolver.Resolve(c, o, sets));
  MergeState next = *state;
  next.conflicts = std::move(remaining);
  CFGIT_ASSIGN_OR_RETURN(next.result, editor->Finish());
  CFGIT_RETURN_IF_ERROR(editor->Flush());
  CFGIT_RETURN_IF_ERROR(
      s.store->WriteMergeState(next, state->id, s.store->DefaultSignature(s.config)));
  std::cout << "settled " << chosen.size() << (chosen.size() == 1 ? " conflict" : " conflicts")
            << " of the merge into " << o.target << " ("
            << (o.ours     ? "ours"
                : o.theirs ? "theirs"
                           : "set")
            << "); " << next.conflicts.size() << " remain\n";
  if (next.conflicts.empty()) {
    std::cout << "commit the merge with: cfgit merge --continue " << o.target << "\n";
  } else {
    std::cout << "see them with: cfgit conflicts " << o.target << "\n";
  }
  return Status::Ok();
}

}  // namespace

void RegisterResolve(CLI::App& app, const Globals& globals, Action* action) {
  auto o = std::make_shared<ResolveOptions>();
  CLI::App* sub =
      app.add_subcommand("resolve", "Settle conflicts of the merge in progress into TARGET");
  sub->add_option("TARGET", o->target, "The branch being merged into")->required();
  sub->add_option("--table", o->table, "Only conflicts of this table")->option_text("T");
  sub->add_option("--key", o->key, "Only the conflict of this row (as cfgit conflicts shows it)")
      ->option_text("K");
  sub->add_flag("--ours", o->ours, "Keep the target's values");
  sub->add_flag("--theirs", o->theirs, "Take the source's values");
  sub->add_option("--set", o->sets,
                  "Set a cell of the row: COL=VALUE, VALUE as in row files ('text', 42, null); "
                  "repeatable")
      ->option_text("COL=VALUE");
  sub->footer(
      "Without --table/--key every conflict is settled the same way. --set settles one row: "
      "cells it does not set keep ours' value. Then: cfgit merge --continue TARGET.");
  sub->callback(
      [action, o, &globals] { *action = [o, &globals] { return RunResolve(globals, *o); }; });
}

}  // namespace cfgit::cmd
