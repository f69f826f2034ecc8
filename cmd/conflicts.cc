// cfgit conflicts TARGET: the conflicts of the merge in progress into TARGET.
#include <iostream>

#include "cmd/command.h"

namespace cfgit::cmd {
namespace {

struct ConflictsOptions {
  std::string target, format = "text";
};

std::string JsonRow(const std::vector<std::string>& columns, const std::optional<Row>& row) {
  if (!row) return "null";
  std::string out = "{";
  for (size_t i = 0; i < columns.size() && i < row->size(); ++i) {
    out += (i ? "," : "") + JsonString(columns[i]) + ":" + JsonValue((*row)[i]);
  }
  return out + "}";
}

std::string TextRow(const std::vector<std::string>& columns, const std::optional<Row>& row) {
  if (!row) return "(deleted / none)";
  std::string out;
  for (size_t i = 0; i < columns.size() && i < row->size(); ++i) {
    out += (i ? ", " : "") + columns[i] + ": " + EncodeValue((*row)[i]);
  }
  return out.empty() ? "(present)" : out;
}

std::string JsonList(const std::vector<std::string>& items) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) out += (i ? "," : "") + JsonString(items[i]);
  return out + "]";
}

Status RunConflicts(const Globals& globals, const ConflictsOptions& o) {
  CFGIT_ASSIGN_OR_RETURN(Session s, OpenSession(globals));
  CFGIT_ASSIGN_OR_RETURN(std::optional<MergeState> state, s.store->ReadMergeState(o.target));
  if (!state) {
    return Status::Usage("no merge into " + o.target +
                         " is in progress (cfgit status shows merges)");
  }
  if (o.format == "json") {
    std::string list;
    for (const Conflict& c : state->conflicts) {
      list +=
          std::string(list.empty() ? "" : ",") + "{\"table\":" + JsonString(c.table) + ",\"key\":" +
          JsonRow(c.key_columns, c.key_columns.empty() ? std::nullopt : std::optional<Row>(c.key)) +
          ",\"kind\":" + JsonString(ConflictKindName(c.kind)) +
          ",\"columns\":" + JsonList(c.columns) + ",\"base\":" + JsonRow(c.row_columns, c.base) +
          ",\"ours\":" + JsonRow(c.row_columns, c.ours) +
          ",\"theirs\":" + JsonRow(c.row_columns, c.theirs) +
          ",\"detail\":" + JsonString(c.detail) + "}";
    }
    std::cout << "{\"target\":" << JsonString(state->target)
              << ",\"source\":" << JsonString(state->source) << ",\"conflicts\":[" << list
              << "]}\n";
    return Status::Ok();
  }
  std::cout << "merge of " << state->source << " into " << state->target << ": "
            << state->conflicts.size()
            << (state->conflicts.size() == 1 ? " conflict" : " conflicts") << "\n";
  for (const Conflict& c : state->conflicts) {
    std::string where = c.table;
    if (!c.key_columns.empty()) where += " --key " + KeyValuesText(c.key);
    std::cout << "\n" << ConflictKindName(c.kind) << " in " << where;
    if (!c.columns.empty()) {
      std::string cols;
      for (const auto& col : c.columns) cols += (cols.empty() ? "" : ", ") + col;
      std::cout << " (" << cols << ")";
    }
    std::cout << "\n";
    if (!c.detail.empty()) std::cout << "  " << c.detail << "\n";
    if (c.kind == ConflictKind::kSchema && c.key_columns.empty()) continue;
    if (c.base || c.kind == ConflictKind::kModifyModify || c.kind == ConflictKind::kModifyDelete)
      std::cout << "  base:   " << TextRow(c.row_columns, c.base) << "\n";
    std::cout << "  ours:   " << TextRow(c.row_columns, c.ours) << "\n";
    std::cout << "  theirs: " << TextRow(c.row_columns, c.theirs) << "\n";
  }
  if (!state->conflicts.empty()) {
    std::cout << "\nsettle with: cfgit resolve " << state->target
              << " [--table T] [--key K] (--ours | --theirs | --set COL=VALUE)\n";
  } else {
    std::cout << "all settled: commit with cfgit merge --continue " << state->target << "\n";
  }
  return Status::Ok();
}

}  // namespace

void RegisterConflicts(CLI::App& app, const Globals& globals, Action* action) {
  auto o = std::make_shared<ConflictsOptions>();
  CLI::App* sub =
      app.add_subcommand("conflicts", "List the conflicts of the merge in progress into TARGET");
  sub->add_option("TARGET", o->target, "The branch being merged into")->required();
  AddFormatOption(sub, &o->format);
  sub->footer(
      "Each conflict shows its table, the row's key (as resolve --key takes it), its kind "
      "(modify/modify, modify/delete, add/add, schema, unique, foreign-key), the cells in "
      "conflict, and the base, ours and theirs values.");
  sub->callback(
      [action, o, &globals] { *action = [o, &globals] { return RunConflicts(globals, *o); }; });
}

}  // namespace cfgit::cmd
