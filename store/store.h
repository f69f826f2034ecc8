// The store: a bare Git repository (.cfgit/) holding environment snapshots as commits.
//
// This is the only module that talks to libgit2. A Store owns its repository handle; a
// SnapshotWriter (made by Store::NewSnapshot) turns a stream of tables and rows into Git trees,
// stages the new objects in memory and writes them out as one pack, never as loose objects.
// Layout of a snapshot tree and the encodings are specified in docs/store-format.md.
//
// Branch and tag updates are compare-and-swap against the id the command started from; writers
// hold the workspace lock (LockForWriting) for the duration of a command that writes.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "store/config.h"
#include "store/conflict.h"
#include "store/encoding.h"
#include "store/schema.h"
#include "store/status.h"
#include "store/value.h"
#include "store/workspace.h"

namespace cfgit {

struct Oid {
  std::array<unsigned char, 20> bytes{};
  std::string Hex() const;
  std::string Short() const { return Hex().substr(0, 10); }
  bool IsZero() const;
  bool operator==(const Oid&) const = default;
  static Result<Oid> FromHex(const std::string& hex);
};

struct Signature {
  std::string name;
  std::string email;
  int64_t time = 0;        // seconds since the epoch
  int offset_minutes = 0;  // time zone offset
};

struct CommitInfo {
  Oid id;
  Oid tree;
  std::vector<Oid> parents;
  std::string message;
  Signature author;
};

struct RefInfo {
  std::string name;     // short name: "dev", "v1"
  Oid target;           // the commit (tags: peeled)
  std::string message;  // annotated tags: the tag message
};

// One table of a snapshot, as found in its tree.
struct TableEntry {
  std::string name;
  Oid schema;               // blob id of schema.yaml
  std::optional<Oid> rows;  // tree id of rows/ (absent when the table has no rows stored)
};

// Which trees Store::DiffTrees keeps for later reads: none, those of side `a`, or both sides'.
enum class KeepTrees { kNone, kFrom, kBoth };

// A change between two trees, reported by Store::DiffTrees: a path whose blob differs.
struct TreeChange {
  std::string path;           // "tables/users/rows/3f/a0/42.yaml"
  std::optional<Oid> before;  // absent: added
  std::optional<Oid> after;   // absent: deleted
};

struct TableWriteStats {
  std::string table;
  size_t rows = 0;
  bool keyless = false;
};

// What a SnapshotWriter works out of a row before placing it (SnapshotWriter::PrepareRow): the
// row's fingerprint and, when its memo knows the row, the stored row file. Opaque to callers.
struct PreparedRow {
  uint64_t fingerprint[2] = {0, 0};
  bool known = false;
  Oid blob;               // when known
  std::string_view name;  // when known: the file name without ".yaml", owned by the writer
};

// Builds one snapshot tree. Tables are added one at a time, each with its rows (any order).
class SnapshotWriter {
 public:
  virtual ~SnapshotWriter() = default;
  // `schema.key` empty means keyless. Rows are dropped for schema-only tables.
  virtual Status BeginTable(const TableSchema& schema) = 0;
  // The values of schema.VersionedColumns(), in that order.
  Status AddRow(const Row& row) {
    PreparedRow prepared;
    PrepareRows(std::span<const Row>(&row, 1), &prepared);
    return AddRow(row, prepared);
  }
  // AddRow in two steps, so that the first can run on another thread while the second places
  // earlier rows (ForEachRow's reading thread): PrepareRows fingerprints rows and looks them up
  // in the memo (`out[i]` for `rows[i]`); AddRow(row, prepared) places one. Between BeginTable
  // and EndTable, one thread prepares the rows, in the order they are then added, each before
  // it is added.
  virtual void PrepareRows(std::span<const Row> rows, PreparedRow* out) = 0;
  virtual Status AddRow(const Row& row, const PreparedRow& prepared) = 0;
  // Fails (kNeedsAttention) naming the rows when key values are NULL or not unique.
  virtual Result<TableWriteStats> EndTable() = 0;
  // Instead of BeginTable, rows, EndTable: the table `from` ended last, as it is (same schema,
  // same rows). `from` must share this writer's staging (Store::NewSnapshot).
  virtual Result<TableWriteStats> CopyTable(const SnapshotWriter& from) = 0;
  // The root tree of the snapshot; its objects are staged, not yet in the store.
  virtual Result<Oid> FinishTree(const std::string& dialect) = 0;
  // Stages a commit of the finished tree and writes every staged object as a pack, then starts
  // saving the memo on another thread (it goes on after the return; the file is in place when
  // the writer is destroyed).
  virtual Result<Oid> WriteCommit(const std::vector<Oid>& parents, const std::string& message,
                                  const Signature& author) = 0;
  // Replaces the fingerprint memo with this snapshot's rows when all its objects are stored (a
  // writer sharing this one's staging made its commit); otherwise does nothing.
  virtual void KeepMemo() = 0;
};

// Edits an existing snapshot tree: how a merge turns ours' tree into the merged one without
// rewriting what did not change (the cost follows the number of edits). Rows are values of the
// given schema's VersionedColumns() and are placed by their key exactly as SnapshotWriter does.
// New objects are staged (readable through the store) until WriteCommit writes them as a pack.
class SnapshotEditor {
 public:
  virtual ~SnapshotEditor() = default;
  // Writes the table's schema.yaml (creating the table when it does not exist).
  virtual Status SetSchema(const TableSchema& schema) = 0;
  virtual Status RemoveTable(const std::string& table) = 0;
  // Makes the table exactly what it is in snapshot `from` (removed if `from` lacks it).
  virtual Status CopyTable(const Oid& from, const std::string& table) = 0;
  // Keyed tables: puts the row under its key, replacing any row there. Keyless: adds one copy.
  virtual Status PutRow(const TableSchema& schema, const Row& row) = 0;
  // PutRow of a row whose file is in the store already (`file`, as read by a diff: it decodes,
  // under the schema's versioned columns, to `row`): a keyed table's row is placed without being
  // encoded and hashed again. Keyless tables: PutRow.
  virtual Status PutRowFile(const TableSchema& schema, const Row& row, const Oid& file) = 0;
  // Keyed: removes the row with the key of `row`. Keyless: removes one copy of `row`.
  virtual Status RemoveRow(const TableSchema& schema, const Row& row) = 0;
  // The row with these key values in the edited snapshot, if any.
  virtual Result<std::optional<Row>> GetRow(const TableSchema& schema, const Row& key) = 0;
  // Whether the edited snapshot has a row with these key values (GetRow without reading it).
  virtual Result<bool> HasRow(const TableSchema& schema, const Row& key) = 0;
  // The edited tree (staged).
  virtual Result<Oid> Finish() = 0;
  // Stages a commit of the finished tree and writes every staged object as one pack.
  virtual Result<Oid> WriteCommit(const Oid& tree, const std::vector<Oid>& parents,
                                  const std::string& message, const Signature& author) = 0;
  // Writes every staged object as one pack, without a commit (a merge state refers to them).
  virtual Status Flush() = 0;
};

// A merge in progress (store/conflict.h describes its layout in the store).
struct MergeState {
  std::string target;  // the branch merged into
  std::string source;  // the revision merged, as given
  Oid ours, theirs;
  std::optional<Oid> base;
  Oid result;           // the merged snapshot tree so far (conflicted cells: ours' values)
  std::string message;  // of the merge commit to make
  std::vector<Conflict> conflicts;
  Oid id;  // the state commit, when read (for compare-and-swap)
};

// Held while a command writes to the workspace; released on destruction (also on a crash,
// since it is an flock on .cfgit/cfgit.lock).
class WriteLock {
 public:
  explicit WriteLock(int fd) : fd_(fd) {}
  WriteLock(WriteLock&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  WriteLock(const WriteLock&) = delete;
  WriteLock& operator=(const WriteLock&) = delete;
  ~WriteLock();

 private:
  int fd_;
};

class Store {
 public:
  // Creates a bare repository at `path` (which must not exist or be empty).
  static Result<std::unique_ptr<Store>> Init(const std::string& path);
  static Result<std::unique_ptr<Store>> Open(const std::string& path);
  virtual ~Store() = default;

  virtual const std::string& path() const = 0;

  // Waits up to `wait` for other writers, then fails naming the lock file.
  virtual Result<WriteLock> LockForWriting(std::chrono::milliseconds wait) = 0;

  // A commit from a revision: branch, tag, (short) id, REV~N, REV^.
  virtual Result<Oid> ResolveCommit(const std::string& rev) const = 0;
  // The commit a ref ("refs/heads/dev") points at, if the ref exists.
  virtual Result<std::optional<Oid>> ReadRef(const std::string& ref) const = 0;
  // Compare-and-swap: moves `ref` to `id` only if it still points at `expected` (nullopt: the ref
  // must not exist). A lost race is kNeedsAttention naming the ref.
  virtual Status UpdateRef(const std::string& ref, const Oid& id,
                           const std::optional<Oid>& expected, const std::string& log_message) = 0;
  virtual Status DeleteRef(const std::string& ref) = 0;
  // Points HEAD at the branch when HEAD does not yet name a commit (so `git log` in the store
  // and `git clone` of it show something useful).
  virtual Status AdoptHeadIfUnborn(const std::string& branch) = 0;

  virtual Result<CommitInfo> ReadCommit(const Oid& id) const = 0;
  // Commits reachable from `include` and not from `exclude`, newest first.
  virtual Result<std::vector<CommitInfo>> LogRange(const std::vector<Oid>& include,
                                                   const std::vector<Oid>& exclude) const = 0;
  // The moves of a ref, newest first (the reflog Git keeps for it).
  struct RefMove {
    std::optional<Oid> from, to;
    std::string message;
    Signature who;
  };
  virtual Result<std::vector<RefMove>> Reflog(const std::string& ref) const = 0;
  // Commits reachable from `starts`, newest first, at most `limit` (0: all).
  virtual Result<std::vector<CommitInfo>> Log(const std::vector<Oid>& starts,
                                              size_t limit) const = 0;
  virtual Result<std::vector<RefInfo>> ListRefs(const std::string& prefix) const = 0;
  // An annotated tag refs/tags/NAME on `target`; fails if it exists.
  virtual Status CreateTag(const std::string& name, const Oid& target, const std::string& message,
                           const Signature& tagger) = 0;

  // Snapshot trees. A writer's objects are staged in memory; once FinishTree has returned, the
  // staged tree can be read through this Store (ListTables, ReadBlob, DiffTrees...) like a
  // stored one, until the writer is destroyed. That is how a live database is diffed.
  //
  // `fingerprint_cache` names a memo (one per environment, kept in the store directory) of the
  // rows of that environment's last committed snapshot: an xxHash fingerprint of each row's values
  // and the id of its row file. Rows whose fingerprint is found are not encoded or hashed again.
  // The memo is read when the writer starts, on a thread of its own (a writer with `share`: when
  // its first row needs it), and used from the first row (an environment without one starts from
  // the largest memo of another), and replaced after WriteCommit (on another thread: in place by
  // the time the writer is destroyed), or by FinishTree when the snapshot holds no new object; ""
  // uses none. With `share`, the new writer stages into the same place as that one: either's
  // WriteCommit writes both's objects, and CopyTable can take tables from it.
  virtual Result<std::unique_ptr<SnapshotWriter>> NewSnapshot(
      const std::string& fingerprint_cache = "", const SnapshotWriter* share = nullptr) = 0;
  // Edits snapshot `tree` (see SnapshotEditor).
  virtual Result<std::unique_ptr<SnapshotEditor>> EditSnapshot(const Oid& tree) = 0;
  // The row with these key values (values of schema.key) in a snapshot's table, if any.
  virtual Result<std::optional<Row>> ReadRow(const Oid& tree, const TableSchema& schema,
                                             const Row& key) const = 0;
  // The best common ancestor of two commits, if they have one.
  virtual Result<std::optional<Oid>> MergeBase(const Oid& a, const Oid& b) const = 0;

  // Merges in progress, one per target branch, under refs/cfgit/merge/<target>.
  virtual Result<std::optional<MergeState>> ReadMergeState(const std::string& target) const = 0;
  // Writes `state` and moves the ref from `expected` (nullopt: no merge may be in progress).
  // `state.result` must be stored already (SnapshotEditor::Flush).
  virtual Status WriteMergeState(const MergeState& state, const std::optional<Oid>& expected,
                                 const Signature& author) = 0;
  virtual Status DeleteMergeState(const std::string& target) = 0;
  virtual Result<std::vector<std::string>> ListMergeStates() const = 0;

  // The dialect recorded in the snapshot's snapshot.yaml ("sqlite", "postgresql").
  virtual Result<std::string> SnapshotDialect(const Oid& tree) const = 0;
  virtual Result<std::vector<TableEntry>> ListTables(const Oid& tree) const = 0;
  virtual Result<std::string> ReadBlob(const Oid& id) const = 0;
  // The schema in a schema.yaml blob (TableEntry::schema). Each blob is decoded once per Store
  // handle: a merge reads the same few schemas in each of its diffs.
  virtual Result<TableSchema> ReadSchema(const Oid& blob) const = 0;
  // Every blob path that differs between two trees (either may be absent: the empty tree).
  // Subtrees with equal ids are skipped without being read. `keep` says whose trees are kept
  // by id (up to a budget) for later reads through this Store and its editors: for a walk whose
  // trees are read again, as in a merge (cmd/merging.cc). Where a rows diff of the two trees is
  // kept (DiffAndKeepRowsDiffs), it is replayed instead: no tree is read, so none is kept.
  Status DiffTrees(const std::optional<Oid>& a, const std::optional<Oid>& b,
                   const std::function<Status(const TreeChange&)>& on_change) const {
    return DiffTrees(a, b, KeepTrees::kNone, on_change);
  }
  virtual Status DiffTrees(const std::optional<Oid>& a, const std::optional<Oid>& b, KeepTrees keep,
                           const std::function<Status(const TreeChange&)>& on_change) const = 0;
  // DiffTrees of two snapshots' root trees that also keeps, for each table whose rows changed on
  // both sides, the changes of its rows/ trees (a rows diff): a later DiffTrees of those two
  // trees (a diff or a merge of these snapshots) replays them instead of walking the trees. For
  // a command that has just written `b` and walks it anyway (`cfgit commit`'s diff stat). Best
  // effort: what cannot be kept costs only that speed.
  virtual Status DiffAndKeepRowsDiffs(
      const Oid& a, const Oid& b,
      const std::function<Status(const TreeChange&)>& on_change) const = 0;

  // The author for new commits: CFGIT_AUTHOR_NAME/EMAIL, then cfgit.yaml's `author:`, then the
  // git configuration (user.name, user.email), then the login name. CFGIT_TIME (seconds since the
  // epoch) pins the time, for reproducible commit ids.
  virtual Signature DefaultSignature(const Config& config) const = 0;
};

}  // namespace cfgit
