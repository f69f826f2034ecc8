// Adapter: the small interface cfgit uses to read an environment's database.
//
// One implementation per database kind (adapters/sqlite/, adapters/postgres/); each is the only
// place its client library's headers appear. An Adapter owns its connection. Rows come out of a
// RowReader one at a time, so memory stays bounded whatever the table size.
// Writes go in one transaction: BeginWrite locks the tables, Scan then reads the locked state
// (the backup), Write applies a ChangeBatch, Commit or Rollback ends it; destroying an adapter
// with a transaction open rolls it back. Every failure of the database is Code::kDatabase with
// the database's own message (and SQLSTATE where there is one); nothing is then changed.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "store/store.h"

namespace cfgit {

class RowReader {
 public:
  virtual ~RowReader() = default;
  // Fills `row` with the next row and returns true, or returns false at the end.
  virtual Result<bool> Next(Row* row) = 0;
};

// Calls `each` for every row of `reader`, reading ahead on a second thread (in batches of a few
// hundred rows, at most a few batches ahead) so that the database's decoding and the caller's
// work overlap. Stops at the first failure of either and returns it. The reader is used only by
// the second thread until this returns.
Status ForEachRow(RowReader& reader, const std::function<Status(const Row&)>& each);
// The same, and `prepare` is called on the reading thread for every batch of rows read, in
// order, before `each` gets each row with what was prepared for it: how a snapshot writer's
// PrepareRows (fingerprints, memo lookups) runs beside its AddRow of earlier rows.
Status ForEachRow(RowReader& reader,
                  const std::function<void(std::span<const Row>, PreparedRow*)>& prepare,
                  const std::function<Status(const Row&, const PreparedRow&)>& each);

// One row changed in place: the key, and new values for some of the versioned columns.
struct RowUpdate {
  Row key;  // values of schema.key
  std::vector<std::string> columns;
  Row values;  // one per entry of `columns`
};

// What to write to one table. Rows are given in the snapshot's terms: values of
// schema.VersionedColumns(), keys in schema.key order (keyless tables: the whole row, and one
// delete removes one copy).
struct TableBatch {
  TableSchema schema;   // the table as the snapshot has it (for `drop`: as the target has it)
  bool create = false;  // the target lacks the table: create it with its keys and constraints
  bool drop = false;    // the snapshot lacks the table: drop it (no rows are given)
  // Set when the table's structure differs: the table as the target has it now. The adapter
  // alters it into `schema`; with `rebuild`, `inserts` holds every row of the snapshot's table
  // and the table is recreated from `schema` (see RenderScript).
  std::optional<TableSchema> alter_from;
  bool rebuild = false;
  std::vector<Row> deletes;
  std::vector<RowUpdate> updates;
  std::vector<Row> inserts;
  // More rows to insert, read as they are written rather than held: a created or rebuilt
  // table's rows, streamed from the store (a million rows are never in memory at once). Calls
  // `each` for every row, in no particular order; may be called again and yields the same rows.
  // `streamed_rows` is how many it yields. Adapters check these rows as they write them: a
  // refused one fails the Write, and the caller rolls the transaction back.
  std::function<Status(const std::function<Status(const Row&)>&)> stream;
  size_t streamed_rows = 0;
};

// The rows `t` inserts: `inserts`, then those of `stream`.
Status ForEachInsert(const TableBatch& t, const std::function<Status(const Row&)>& each);
inline size_t InsertCount(const TableBatch& t) { return t.inserts.size() + t.streamed_rows; }

// A whole apply. Tables may come in any order: the adapter orders the statements so that
// foreign keys hold (parents inserted first, children deleted first) or defers the checks.
struct ChangeBatch {
  std::string source_dialect;  // dialect of the snapshot ("sqlite", "postgresql")
  std::vector<TableBatch> tables;
};

// The SQL script that makes a database of `target_dialect` go through `batch`: one transaction,
// statements in foreign-key-safe order, identifiers and literals quoted for that dialect. Schema
// changes the dialect cannot express from the snapshot's definitions are kInvalid, naming the
// table and the change. Whether a table with `alter_from` needs `rebuild` (all rows) is
// NeedsRebuild's answer for the target dialect.
Result<std::string> RenderScript(const std::string& target_dialect, const ChangeBatch& batch);
bool NeedsRebuild(const std::string& target_dialect, const TableSchema& from,
                  const TableSchema& to);

struct OpenOptions {
  std::string base_dir = ".";  // relative sqlite: paths are taken from here (the workspace root)
  std::string environment;     // for messages: "environment 'dev'"
  // What to do when a SQLite database file does not exist: refuse; create it (a write into a new
  // environment); or read an empty database in its place and create nothing (a dry run's plan).
  enum class Missing { kRefuse, kCreate, kEmpty };
  Missing missing = Missing::kRefuse;
};

class Adapter {
 public:
  // `url` has its ${VAR}s expanded already. A database that cannot be opened is kDatabase; an
  // unknown scheme is kInvalid.
  static Result<std::unique_ptr<Adapter>> Open(const std::string& url, const OpenOptions& options);
  virtual ~Adapter() = default;

  virtual std::string dialect() const = 0;  // "sqlite", "postgresql"
  // Starts a read-only transaction so that every table is read at one moment.
  virtual Status BeginConsistentRead() = 0;
  // Names of the user tables, sorted.
  virtual Result<std::vector<std::string>> ListTables() = 0;
  // Columns, primary key, indexes and foreign keys; key/ignore are left for the caller to fill.
  virtual Result<TableSchema> ReadSchema(const std::string& table) = 0;
  // The rows' values of schema.VersionedColumns(), in no particular order (the order the database
  // stores them: the snapshot writer sorts by file name anyway, and sorting 1M rows by key costs
  // more than reading them).
  virtual Result<std::unique_ptr<RowReader>> Scan(const TableSchema& schema) = 0;

  // Starts the write transaction and locks `tables` (those that exist) against other writers.
  virtual Status BeginWrite(const std::vector<std::string>& tables) = 0;
  // Applies the batch inside the transaction; afterwards every sequence or autoincrement counter
  // of a written table is at least the largest id in it. Values that cannot be stored without
  // conversion (a blob into a text column, text into an integer column...) are refused (kInvalid),
  // naming table, column and row: held rows before anything is written, streamed rows when they
  // come (the caller then rolls back, so nothing is changed either way).
  virtual Status Write(const ChangeBatch& batch) = 0;
  virtual Status Commit() = 0;
  virtual Status Rollback() = 0;
};

}  // namespace cfgit
