// cfgit commit ENV -m MSG: snapshot the live database of ENV onto branch ENV.
#include <iostream>

#include "adapters/adapter.h"
#include "cmd/command.h"

namespace cfgit::cmd {
namespace {

struct CommitOptions {
  std::string env, message, format = "text";
};

Status RunCommit(const Globals& globals, const CommitOptions& o) {
  CFGIT_ASSIGN_OR_RETURN(Session s, OpenSession(globals));
  CFGIT_ASSIGN_OR_RETURN(const EnvironmentConfig* env, FindEnvironment(s.config, o.env));
  if (env->is_protected) {
    return Status::NeedsAttention(
        "environment '" + env->name +
        "' is protected: its configuration changes only by apply, "
        "promote or rollback, never by commit; commit a development environment instead");
  }
  CFGIT_ASSIGN_OR_RETURN(auto lock, s.store->LockForWriting(std::chrono::seconds(10)));
  const std::string branch = "refs/heads/" + env->name;
  const std::string deployed = "refs/cfgit/deployed/" + env->name;
  CFGIT_ASSIGN_OR_RETURN(std::optional<Oid> head, s.store->ReadRef(branch));
  CFGIT_ASSIGN_OR_RETURN(std::optional<Oid> was_deployed, s.store->ReadRef(deployed));

  Result<LiveSnapshot> live = ReadLive(s, *env);
  if (!live.ok()) return live.status().Wrap("cannot commit " + env->name + ": ");
  const std::vector<TableWriteStats>& tables = live->tables;
  const Oid* tree = &live->tree;
  SnapshotWriter* writer = live->writer.get();

  std::optional<Oid> head_tree;
  if (head) {
    CFGIT_ASSIGN_OR_RETURN(CommitInfo info, s.store->ReadCommit(*head));
    head_tree = info.tree;
  }
  std::vector<std::string> keyless;
  size_t rows = 0;
  std::vector<std::string> keyless_all;
  for (const auto& t : tables) {
    rows += t.rows;
    if (t.keyless) keyless_all.push_back(t.table);
  }
  std::optional<Oid> commit;
  if (head_tree && *head_tree == *tree) {
    commit = head;  // nothing changed: no new commit
  } else {
    std::vector<Oid> parents;
    if (head) parents.push_back(*head);
    CFGIT_ASSIGN_OR_RETURN(
        commit, writer->WriteCommit(parents, o.message, s.store->DefaultSignature(s.config)));
    CFGIT_RETURN_IF_ERROR(
        s.store->UpdateRef(branch, *commit, head, "commit: " + Subject(o.message)));
    CFGIT_RETURN_IF_ERROR(s.store->AdoptHeadIfUnborn(env->name));
  }
  // The live database is now exactly this commit.
  if (!was_deployed || !(*was_deployed == *commit)) {
    CFGIT_RETURN_IF_ERROR(s.store->UpdateRef(deployed, *commit, was_deployed, "commit"));
  }
  bool changed = !(head && *commit == *head);
  // A new commit's rows diffs are kept: a later diff or merge of it replays them.
  DiffStatOptions stat_options;
  stat_options.keep_rows_diffs = changed;
  CFGIT_ASSIGN_OR_RETURN(auto stats, DiffStat(*s.store, head_tree, *tree, stat_options));
  // Keyless tables are pointed out once: in the commit that brings them into the branch.
  for (const auto& t : tables) {
    for (const auto& st : stats) {
      if (t.keyless && st.table == t.table && st.table_added) keyless.push_back(t.table);
    }
  }

  if (o.format == "json") {
    std::string k = "[";
    for (size_t i = 0; i < keyless_all.size(); ++i)
      k += (i ? "," : "") + JsonString(keyless_all[i]);
    std::cout << "{\"environment\":" << JsonString(env->name)
              << ",\"commit\":" << JsonString(commit->Hex())
              << ",\"changed\":" << (changed ? "true" : "false") << ",\"tables\":" << tables.size()
              << ",\"rows\":" << rows << ",\"keyless\":" << k
              << "],\"changes\":" << FormatStatsJson(stats) << "}\n";
    return Status::Ok();
  }
  if (!changed) {
    std::cout << "nothing to commit: " << env->name << " is the same as branch " << env->name
              << " (" << commit->Short() << ")\n";
    return Status::Ok();
  }
  std::cout << "[" << env->name << " " << commit->Short() << "] " << Subject(o.message) << "\n"
            << FormatStatsText(stats) << " " << tables.size() << " tables, " << rows
            << " rows in the snapshot\n";
  if (!keyless.empty()) {
    std::string list;
    for (const auto& t : keyless) list += (list.empty() ? "" : ", ") + t;
    std::cout << "note: " << list << (keyless.size() == 1 ? " has" : " have")
              << " no primary key and no key: setting, so a row is identified by its whole "
                 "content (duplicates counted); name a key with key: [COLUMN, ...] under tables: "
                 "in cfgit.yaml\n";
  }
  return Status::Ok();
}

}  // namespace

void RegisterCommit(CLI::App& app, const Globals& globals, Action* action) {
  auto o = std::make_shared<CommitOptions>();
  CLI::App* sub = app.add_subcommand("commit", "Snapshot the live database of ENV onto branch ENV");
  sub->add_option("ENV", o->env, "A development environment (not protected)")->required();
  sub->add_option("-m,--message", o->message, "What changed and why")->required();
  AddFormatOption(sub, &o->format);
  sub->footer(
      "Prints the new commit id and the rows added (+), deleted (-) and modified (~) per "
      "table. When the live database equals the branch head, prints 'nothing to commit' "
      "and makes no commit.");
  sub->callback(
      [action, o, &globals] { *action = [o, &globals] { return RunCommit(globals, *o); }; });
}

}  // namespace cfgit::cmd
