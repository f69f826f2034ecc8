// Adapter: the small interface cfgit uses to read an environment's database.
//
// One implementation per database kind (adapters/sqlite/, later adapters/postgres/); each is the
// only place its client library's headers appear. An Adapter owns its connection. Rows come out
// of a RowReader in key order, one at a time, so memory stays bounded whatever the table size.
// Every failure of the database is Code::kDatabase with the database's own message.
#pragma once

#include <memory>
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

struct OpenOptions {
  std::string base_dir = ".";  // relative sqlite: paths are taken from here (the workspace root)
  std::string environment;     // for messages: "environment 'dev'"
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
  // The rows' values of schema.VersionedColumns(), ordered by schema.key (by every versioned
  // column when the table is keyless).
  virtual Result<std::unique_ptr<RowReader>> Scan(const TableSchema& schema) = 0;
};

}  // namespace cfgit
