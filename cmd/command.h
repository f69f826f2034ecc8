// The command table and what every command shares: the global options, opening the workspace,
// and the output helpers. Commands hold no domain logic: they parse, call the modules, print.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "adapters/adapter.h"
#include "diff/diff.h"
#include "merge/merge.h"
#include "store/remote.h"
#include "store/store.h"

namespace cfgit::cmd {

struct Globals {
  std::string dir = ".";  // -C DIR
};

// What a subcommand runs once the command line is parsed.
using Action = std::function<Status()>;

// Each command file defines one Register function; main.cc lists them in its command table.
using RegisterFn = void (*)(CLI::App& app, const Globals& globals, Action* action);
void RegisterInit(CLI::App&, const Globals&, Action*);
void RegisterEnv(CLI::App&, const Globals&, Action*);
void RegisterCommit(CLI::App&, const Globals&, Action*);
void RegisterLog(CLI::App&, const Globals&, Action*);
void RegisterShow(CLI::App&, const Globals&, Action*);
void RegisterBranch(CLI::App&, const Globals&, Action*);
void RegisterTag(CLI::App&, const Globals&, Action*);
void RegisterDiff(CLI::App&, const Globals&, Action*);
void RegisterMerge(CLI::App&, const Globals&, Action*);
void RegisterConflicts(CLI::App&, const Globals&, Action*);
void RegisterResolve(CLI::App&, const Globals&, Action*);
void RegisterApply(CLI::App&, const Globals&, Action*);
void RegisterPromote(CLI::App&, const Globals&, Action*);
void RegisterRollback(CLI::App&, const Globals&, Action*);
void RegisterBackups(CLI::App&, const Globals&, Action*);
void RegisterRestore(CLI::App&, const Globals&, Action*);
void RegisterStatus(CLI::App&, const Globals&, Action*);
void RegisterClone(CLI::App&, const Globals&, Action*);
void RegisterRemote(CLI::App&, const Globals&, Action*);
void RegisterFetch(CLI::App&, const Globals&, Action*);
void RegisterPush(CLI::App&, const Globals&, Action*);
void RegisterPull(CLI::App&, const Globals&, Action*);
void RegisterExport(CLI::App&, const Globals&, Action*);
void RegisterImport(CLI::App&, const Globals&, Action*);

// An open workspace: its configuration and its store.
struct Session {
  Workspace workspace;
  Config config;
  std::unique_ptr<Store> store;
};
Result<Session> OpenSession(const Globals& globals);

// The environment NAME from cfgit.yaml, or a usage error that lists the known ones.
Result<const EnvironmentConfig*> FindEnvironment(const Config& config, const std::string& name);

// A live environment read into a snapshot tree that is staged, not stored (cmd/snapshot.cc).
struct LiveSnapshot {
  std::unique_ptr<SnapshotWriter> writer;  // keeps the staged tree readable through the store
  Oid tree;
  std::string dialect;
  std::vector<TableWriteStats> tables;
};
// Reads every versioned table of ENV at one moment (skip tables are never read).
Result<LiveSnapshot> ReadLive(const Session& s, const EnvironmentConfig& env);
// `missing`: what to do when ENV's SQLite file does not exist yet (see OpenOptions).
Result<std::unique_ptr<Adapter>> OpenEnvironment(
    const Session& s, const EnvironmentConfig& env,
    OpenOptions::Missing missing = OpenOptions::Missing::kRefuse);
// The same from an open adapter, in whatever transaction it has (a write transaction: the locked
// state). With `backup`, also a snapshot of every column, ignored ones too, from the same scan.
// `made`: the snapshot's writer when it was made before the database was opened (its memo loads
// meanwhile); otherwise one is made here.
Result<LiveSnapshot> ReadLiveFrom(const Session& s, const EnvironmentConfig& env, Adapter* db,
                                  LiveSnapshot* backup,
                                  std::unique_ptr<SnapshotWriter> made = nullptr);

// One side of a diff: a revision (branch, tag, id, REV~N) or @ENV, the live database.
struct Side {
  std::string label;          // as given
  std::optional<Oid> commit;  // absent for @ENV
  std::optional<Oid> tree;    // absent: the empty snapshot (an unborn branch)
  std::string dialect;        // "" for the empty snapshot
  std::shared_ptr<LiveSnapshot> live;
};
Result<Side> ResolveSide(const Session& s, const std::string& arg);
Side EmptySide(const std::string& label);

// For an environment cfgit has never written (no deployed record): the commit on the first-parent
// history of `head` whose tree equals the live tree, if any. Its live content then counts as
// deployed; otherwise it is drift.
Result<std::optional<CommitInfo>> DeployedByContent(const Store& store, const Oid& head,
                                                    const Oid& live_tree);

// What cfgit.yaml says to diff as JSON, per table.
DiffOptions MakeDiffOptions(const Config& config, std::vector<std::string> tables);

// The ChangeBatch that turns a database holding snapshot `from` into snapshot `to`
// (cmd/plan.cc): rows as minimal deletes/updates/inserts, tables created, dropped or altered;
// a created table, and a table the target must rebuild, carries all its rows as a stream read
// from `store` when written (TableBatch::stream): `store` must outlive the batch.
Result<ChangeBatch> PlanChanges(const Store& store, const Side& from, const Side& to,
                                const std::string& target_dialect, const DiffOptions& options);

// The three-way merge of snapshot trees (cmd/merging.cc): the two diffs against the base, each
// table merged by merge/ (pure), the edits applied to ours' tree, constraints checked on the
// result. The editor holds the staged result until a commit or a merge state writes it.
struct TableOutcome {
  std::string table;
  TableMergeSummary summary;
};
struct MergeOutcome {
  std::unique_ptr<SnapshotEditor> editor;
  Oid result;  // the merged tree (staged)
  std::vector<Conflict> conflicts;
  std::vector<TableOutcome> tables;  // tables the merge changed or that conflict
};
Result<MergeOutcome> MergeTrees(const Session& s, const std::optional<Oid>& base, const Oid& ours,
                                const Oid& theirs);

// Merging a revision into a branch (cmd/merge.cc), as `merge` and `pull` do it; the caller holds
// the workspace lock. Fast-forwards when it can (unless no_ff), else merges three ways
// (MergeTrees) and commits; on conflicts records the merge in progress and leaves the branch.
// No database is written. kUsage: no such branch or revision; kNeedsAttention: a merge into the
// branch is already in progress.
struct BranchMerge {
  std::string target;   // the branch
  std::string source;   // the revision merged
  std::string label;    // how messages and the merge state name it ("" : source)
  std::string message;  // of the merge commit ("" : "Merge LABEL into TARGET")
  bool no_ff = false;
};
struct BranchMergeResult {
  std::string result;  // "up-to-date", "fast-forward", "merged" or "conflicts"
  Oid source;          // the revision, resolved
  Oid old_head;
  Oid commit;  // the branch's head afterwards (for "conflicts": the old head)
  std::string message;
  std::vector<TableOutcome> tables;    // merged or conflicts: per table
  std::vector<TableChangeStat> stats;  // fast-forward: what it brought
  std::vector<Conflict> conflicts;
  std::string summary;  // the per-table summary lines (merge commit message, output)
};
Result<BranchMergeResult> MergeIntoBranch(const Session& s, const BranchMerge& m);
// What stops a merge with conflicts (exit 1): counts per table and the next steps.
Status MergeStopped(const std::string& label, const std::string& target,
                    const std::vector<Conflict>& conflicts);

// A remote URL as given, with a local path made absolute against `base` (cmd/remote.cc).
std::string RemoteUrl(const std::string& url, const std::string& base);

// Progress of clone, fetch and push on standard error when it is a terminal (cmd/sync.cc).
TransferOptions TerminalProgress();
// Ends the progress line, if one was drawn.
void EndProgress();

// Writes revision `commit` to ENV's database (cmd/release.cc): the live state is read inside the
// write transaction (locked), refused on drift of a protected environment (unless `force`) and
// on {{$env.NAME}} variables ENV does not define, backed up to refs/cfgit/backups/ENV/<time>,
// then the difference is written in one transaction and refs/cfgit/deployed/ENV moves. With
// `move_branch`, branch ENV moves to `commit` too, with the deployed record after the write has
// committed (a refused or failed deploy leaves it where it was).
struct DeployRequest {
  const EnvironmentConfig* env = nullptr;
  Oid commit;
  std::string label;   // the revision as given, for messages
  std::string reason;  // "apply of v1 (3fa0c1d2e4)", for the backup's message
  bool force = false;
  bool dry_run = false;      // plan only: nothing is written, no backup
  bool sql = false;          // with dry_run: the script too
  bool all_columns = false;  // restore: compare and write ignored columns too
  bool move_branch = false;
  std::optional<Oid> branch_head;  // where branch ENV is expected to be (nullopt: unborn)
};
struct DeployResult {
  bool changed = false;
  std::vector<TableChangeStat> drift;  // what --force overwrote
  std::optional<std::string> backup_ref;
  std::string batch_text;  // counts per table of what was (or would be) written
  std::string script;      // dry_run with sql
};
Result<DeployResult> Deploy(const Session& s, const DeployRequest& request);
// Prints what Deploy did (or would do) for `command` ("apply", "promote"...), text or JSON.
void PrintDeploy(const DeployRequest& request, const DeployResult& result,
                 const std::string& format, const std::string& extra_json = "");

// Adds `--format text|json` to a subcommand.
void AddFormatOption(CLI::App* sub, std::string* format);

std::string JsonString(const std::string& s);
// A Value as JSON: null, numbers, true/false, strings; non-finite reals as strings ("NaN");
// blobs as {"hex":"..."}.
std::string JsonValue(const Value& v);
// A key as `resolve --key` takes it: values joined by ',', text as is (quoted as in row files
// when it holds a ',' or a quote, or is empty), integers in decimal, NULL as `null`.
std::string KeyValuesText(const Row& key);
// Whether to colour output: stdout is a terminal, NO_COLOR is unset and not `no_color`.
bool UseColor(bool no_color);
std::string IsoTime(int64_t time, int offset_minutes);
std::string Subject(const std::string& message);  // first line
// " users  +3 -1 ~2" lines, and the JSON array of the same.
std::string FormatStatsText(const std::vector<TableChangeStat>& stats);
std::string FormatStatsJson(const std::vector<TableChangeStat>& stats);

}  // namespace cfgit::cmd
