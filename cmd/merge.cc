// cfgit merge SOURCE --into TARGET | --continue TARGET | --abort TARGET: three-way merge of
// snapshots, cell by cell; stops on conflicts with the merge recorded in the store.
#include <iostream>
#include <map>

#include "cmd/command.h"

namespace cfgit::cmd {
namespace {

struct MergeOptions {
  std::string source, into, continue_target, abort_target, message, format = "text";
  bool no_ff = false;
};

std::string SummaryLine(const TableOutcome& t) {
  const TableMergeSummary& s = t.summary;
  auto rows = [](size_t n) { return std::to_string(n) + (n == 1 ? " row" : " rows"); };
  std::string out = " " + t.table + ": " + rows(s.from_ours) + " kept from ours, " +
                    rows(s.from_theirs) + " from theirs";
  if (s.converged) out += ", " + std::to_string(s.converged) + " converged";
  if (s.schema_merged) out += ", schema merged";
  if (!s.overwritten.empty()) {
    out += ", " + std::to_string(s.overwritten.size()) + " of ours overwritten:";
    for (size_t i = 0; i < s.overwritten.size() && i < 10; ++i) {
      out += " " + KeyValuesText(s.overwritten[i]);
    }
    if (s.overwritten.size() > 10) out += " ...";
  }
  if (s.conflicts) {
    out += ", " + std::to_string(s.conflicts) + (s.conflicts == 1 ? " conflict" : " conflicts");
  }
  return out;
}

std::string SummaryJson(const std::vector<TableOutcome>& tables) {
  std::string out = "[";
  for (size_t i = 0; i < tables.size(); ++i) {
    const TableMergeSummary& s = tables[i].summary;
    std::string over = "[";
    for (size_t k = 0; k < s.overwritten.size(); ++k) {
      over += std::string(k ? "," : "") + JsonString(KeyValuesText(s.overwritten[k]));
    }
    out += std::string(i ? "," : "") + "{\"name\":" + JsonString(tables[i].table) +
           ",\"from_ours\":" + std::to_string(s.from_ours) +
           ",\"from_theirs\":" + std::to_string(s.from_theirs) +
           ",\"converged\":" + std::to_string(s.converged) + ",\"overwritten\":" + over +
           "],\"schema_merged\":" + (s.schema_merged ? "true" : "false") +
           ",\"conflicts\":" + std::to_string(s.conflicts) + "}";
  }
  return out + "]";
}

// The conflicts per table, for the message that stops a merge or refuses --continue.
std::string ConflictCounts(const std::vector<Conflict>& conflicts) {
  std::map<std::string, size_t> per_table;
  for (const Conflict& c : conflicts) ++per_table[c.table];
  std::string out;
  for (const auto& [table, n] : per_table) {
    out += "\n  " + table + ": " + std::to_string(n) + (n == 1 ? " conflict" : " conflicts");
  }
  return out;
}

Status Report(const MergeOptions& o, const std::string& result, const std::string& target,
              const std::optional<Oid>& commit, const std::vector<TableOutcome>& tables,
              size_t conflicts, const std::string& text) {
  if (o.format == "json") {
    std::cout << "{\"target\":" << JsonString(target) << ",\"source\":" << JsonString(o.source)
              << ",\"result\":" << JsonString(result)
              << ",\"commit\":" << (commit ? JsonString(commit->Hex()) : "null")
              << ",\"tables\":" << SummaryJson(tables) << ",\"conflicts\":" << conflicts << "}\n";
  } else {
    std::cout << text;
  }
  return Status::Ok();
}

Status RunMerge(const Globals& globals, const MergeOptions& o) {
  CFGIT_ASSIGN_OR_RETURN(Session s, OpenSession(globals));
  CFGIT_ASSIGN_OR_RETURN(auto lock, s.store->LockForWriting(std::chrono::seconds(10)));
  const std::string& target = o.into;
  CFGIT_ASSIGN_OR_RETURN(
      BranchMergeResult m,
      MergeIntoBranch(
          s, {.target = target, .source = o.source, .message = o.message, .no_ff = o.no_ff}));
  if (m.result == "up-to-date") {
    return Report(o, m.result, target, m.commit, {}, 0,
                  "already up to date: " + target + " contains " + o.source + " (" +
                      m.source.Short() + ")\n");
  }
  if (m.result == "fast-forward") {
    return Report(o, m.result, target, m.commit, {}, 0,
                  "fast-forward " + target + " " + m.old_head.Short() + " -> " + m.commit.Short() +
                      " (" + o.source + ")\n" + FormatStatsText(m.stats));
  }
  if (m.result == "conflicts") {
    Report(o, m.result, target, std::nullopt, m.tables, m.conflicts.size(),
           "merge of " + o.source + " into " + target +
               " stopped: " + std::to_string(m.conflicts.size()) +
               (m.conflicts.size() == 1 ? " conflict; " : " conflicts; ") + target +
               " has not moved\n" + m.summary)
        .ok();
    return MergeStopped(o.source, target, m.conflicts);
  }
  return Report(
      o, m.result, target, m.commit, m.tables, 0,
      "[" + target + " " + m.commit.Short() + "] " + Subject(m.message) + "\n" + m.summary);
}

Status RunContinue(const Globals& globals, const MergeOptions& o) {
  CFGIT_ASSIGN_OR_RETURN(Session s, OpenSession(globals));
  CFGIT_ASSIGN_OR_RETURN(auto lock, s.store->LockForWriting(std::chrono::seconds(10)));
  const std::string& target = o.continue_target;
  CFGIT_ASSIGN_OR_RETURN(std::optional<MergeState> state, s.store->ReadMergeState(target));
  if (!state) return Status::Usage("no merge into " + target + " is in progress");
  if (!state->conflicts.empty()) {
    return Status::NeedsAttention("the merge of " + state->source + " into " + target +
                                  " still has " + std::to_string(state->conflicts.size()) +
                                  (state->conflicts.size() == 1 ? " conflict:" : " conflicts:") +
                                  ConflictCounts(state->conflicts) +
                                  "\nsee them with: cfgit conflicts " + target +
                                  " and settle them with: cfgit resolve " + target);
  }
  CFGIT_ASSIGN_OR_RETURN(auto editor, s.store->EditSnapshot(state->result));
  CFGIT_ASSIGN_OR_RETURN(
      Oid commit, editor->WriteCommit(state->result, {state->ours, state->theirs}, state->message,
                                      s.store->DefaultSignature(s.config)));
  Status moved = s.store->UpdateRef("refs/heads/" + target, commit, state->ours,
                                    "merge " + state->source + ": " + Subject(state->message));
  if (!moved.ok()) {
    CFGIT_ASSIGN_OR_RETURN(std::optional<Oid> now, s.store->ReadRef("refs/heads/" + target));
    if (now && *now == state->ours) {
      return moved.Wrap("cannot move " + target +
                        " (the merge in progress is kept; run cfgit merge --continue " + target +
                        " again): ");
    }
    return Status::NeedsAttention("branch " + target + " moved since the merge of " +
                                  state->source +
                                  " started; nothing was committed: run cfgit merge --abort " +
                                  target + ", then merge again");
  }
  CFGIT_RETURN_IF_ERROR(s.store->DeleteMergeState(target));
  if (o.format == "json") {
    std::cout << "{\"target\":" << JsonString(target) << ",\"source\":" << JsonString(state->source)
              << ",\"result\":\"merged\",\"commit\":" << JsonString(commit.Hex()) << "}\n";
  } else {
    std::cout << "[" << target << " " << commit.Short() << "] " << Subject(state->message) << "\n";
  }
  return Status::Ok();
}

Status RunAbort(const Globals& globals, const MergeOptions& o) {
  CFGIT_ASSIGN_OR_RETURN(Session s, OpenSession(globals));
  CFGIT_ASSIGN_OR_RETURN(auto lock, s.store->LockForWriting(std::chrono::seconds(10)));
  const std::string& target = o.abort_target;
  CFGIT_ASSIGN_OR_RETURN(std::optional<MergeState> state, s.store->ReadMergeState(target));
  if (!state) return Status::Usage("no merge into " + target + " is in progress");
  CFGIT_RETURN_IF_ERROR(s.store->DeleteMergeState(target));
  if (o.format != "json") {
    std::cout << "aborted the merge of " << state->source << " into " << target << "; " << target
              << " stays at " << state->ours.Short() << "\n";
  } else {
    std::cout << "{\"target\":" << JsonString(target) << ",\"result\":\"aborted\"}\n";
  }
  return Status::Ok();
}

}  // namespace

Result<BranchMergeResult> MergeIntoBranch(const Session& s, const BranchMerge& m) {
  const std::string& target = m.target;
  const std::string& label = m.label.empty() ? m.source : m.label;
  const std::string branch = "refs/heads/" + target;
  CFGIT_ASSIGN_OR_RETURN(std::optional<Oid> head, s.store->ReadRef(branch));
  if (!head) {
    return Status::Usage("branch '" + target + "' does not exist; start it with: cfgit branch " +
                         target + " REV");
  }
  CFGIT_ASSIGN_OR_RETURN(std::optional<MergeState> busy, s.store->ReadMergeState(target));
  if (busy) {
    return Status::NeedsAttention("a merge of " + busy->source + " into " + target +
                                  " is already in progress; see it with: cfgit conflicts " +
                                  target + ", then cfgit merge --continue " + target +
                                  " (or --abort " + target + ")");
  }
  BranchMergeResult out;
  CFGIT_ASSIGN_OR_RETURN(out.source, s.store->ResolveCommit(m.source));
  const Oid& source = out.source;
  out.old_head = *head;
  out.commit = *head;
  CFGIT_ASSIGN_OR_RETURN(std::optional<Oid> base, s.store->MergeBase(*head, source));
  if (source == *head || (base && *base == source)) {
    out.result = "up-to-date";
    return out;
  }
  CFGIT_ASSIGN_OR_RETURN(CommitInfo ours, s.store->ReadCommit(*head));
  CFGIT_ASSIGN_OR_RETURN(CommitInfo theirs, s.store->ReadCommit(source));
  if (base && *base == *head && !m.no_ff) {
    CFGIT_RETURN_IF_ERROR(
        s.store->UpdateRef(branch, source, head, "merge " + label + ": fast-forward"));
    CFGIT_ASSIGN_OR_RETURN(out.stats, DiffStat(*s.store, ours.tree, theirs.tree));
    out.result = "fast-forward";
    out.commit = source;
    return out;
  }
  std::optional<Oid> base_tree;
  if (base) {
    CFGIT_ASSIGN_OR_RETURN(CommitInfo b, s.store->ReadCommit(*base));
    base_tree = b.tree;
  }
  CFGIT_ASSIGN_OR_RETURN(MergeOutcome merged, MergeTrees(s, base_tree, ours.tree, theirs.tree));
  out.message = m.message.empty() ? "Merge " + label + " into " + target : m.message;
  for (const TableOutcome& t : merged.tables) out.summary += SummaryLine(t) + "\n";
  if (!out.summary.empty()) out.message += "\n\n" + out.summary;
  out.tables = merged.tables;
  Signature author = s.store->DefaultSignature(s.config);

  if (!merged.conflicts.empty()) {
    MergeState state;
    state.target = target;
    state.source = label;
    state.ours = *head;
    state.theirs = source;
    state.base = base;
    state.result = merged.result;
    state.message = out.message;
    state.conflicts = merged.conflicts;
    CFGIT_RETURN_IF_ERROR(merged.editor->Flush());
    CFGIT_RETURN_IF_ERROR(s.store->WriteMergeState(state, std::nullopt, author));
    out.result = "conflicts";
    out.conflicts = std::move(merged.conflicts);
    return out;
  }
  CFGIT_ASSIGN_OR_RETURN(
      out.commit, merged.editor->WriteCommit(merged.result, {*head, source}, out.message, author));
  CFGIT_RETURN_IF_ERROR(
      s.store->UpdateRef(branch, out.commit, head, "merge " + label + ": " + Subject(out.message)));
  out.result = "merged";
  return out;
}

Status MergeStopped(const std::string& label, const std::string& target,
                    const std::vector<Conflict>& conflicts) {
  return Status::NeedsAttention(
      "merge of " + label + " into " + target + " has conflicts:" + ConflictCounts(conflicts) +
      "\nsee them with: cfgit conflicts " + target + "\nsettle them with: cfgit resolve " + target +
      " [--table T] [--key K] (--ours | --theirs | --set COL=VALUE)\nthen: cfgit merge "
      "--continue " +
      target + "   (or give up with: cfgit merge --abort " + target + ")");
}

void RegisterMerge(CLI::App& app, const Globals& globals, Action* action) {
  auto o = std::make_shared<MergeOptions>();
  CLI::App* sub =
      app.add_subcommand("merge", "Merge SOURCE into branch TARGET, three ways, cell by cell");
  sub->add_option("SOURCE", o->source, "The branch, tag or commit to merge");
  sub->add_option("--into", o->into, "The branch to merge into")->option_text("TARGET");
  sub->add_option("-m,--message", o->message, "Message of the merge commit");
  sub->add_flag("--no-ff", o->no_ff, "Make a merge commit even when a fast-forward would do");
  sub->add_option("--continue", o->continue_target,
                  "Commit the merge in progress into TARGET once no conflict remains")
      ->option_text("TARGET");
  sub->add_option("--abort", o->abort_target, "Forget the merge in progress into TARGET")
      ->option_text("TARGET");
  AddFormatOption(sub, &o->format);
  sub->footer(
      "A side that did not change a cell loses to the side that did; equal changes converge; "
      "different changes to one cell, modify vs delete and add vs add with different content "
      "conflict. On conflicts the merge stops (exit 1), is recorded in the store, and TARGET "
      "does not move: see them with cfgit conflicts TARGET, settle them with cfgit resolve, "
      "then cfgit merge --continue TARGET. Semantics: docs/merge.md.");
  sub->callback([action, o, &globals] {
    int modes = !o->source.empty() + !o->continue_target.empty() + !o->abort_target.empty();
    *action = [o, &globals, modes]() -> Status {
      if (modes != 1) {
        return Status::Usage(
            "say what to do: cfgit merge SOURCE --into TARGET, cfgit merge --continue TARGET, or "
            "cfgit merge --abort TARGET");
      }
      if (!o->continue_target.empty()) return RunContinue(globals, *o);
      if (!o->abort_target.empty()) return RunAbort(globals, *o);
      if (o->into.empty()) {
        return Status::Usage("say which branch to merge " + o->source + " into: cfgit merge " +
                             o->source + " --into TARGET");
      }
      return RunMerge(globals, *o);
    };
  });
}

}  // namespace cfgit::cmd
