#include "adapters/sqlite/sqlite_adapter.h"

#include <sqlite3.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <optional>
#include <set>

#include "adapters/internal/sql_text.h"

namespace cfgit {
namespace {

struct DbClose {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
struct StmtFinalize {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using Db = std::unique_ptr<sqlite3, DbClose>;
using Stmt = std::unique_ptr<sqlite3_stmt, StmtFinalize>;

// The one place SQLite result codes become a Status.
Status SqliteError(sqlite3* db, const std::string& what) {
  return Status::Database(what + ": " + (db ? sqlite3_errmsg(db) : "out of memory") +
                          " (SQLite error " +
                          std::to_string(db ? sqlite3_extended_errcode(db) : 0) + ")");
}

std::string ColumnText(sqlite3_stmt* s, int i) {
  const unsigned char* t = sqlite3_column_text(s, i);
  return t ? std::string(reinterpret_cast<const char*>(t),
                         static_cast<size_t>(sqlite3_column_bytes(s, i)))
           : std::string();
}

Value ReadValue(sqlite3_stmt* s, int i) {
  switch (sqlite3_column_type(s, i)) {
    case SQLITE_INTEGER:
      return Value::Integer(sqlite3_column_int64(s, i));
    case SQLITE_FLOAT:
      return Value::Real(sqlite3_column_double(s, i));
    case SQLITE_TEXT:
      return Value::Text(ColumnText(s, i));
    case SQLITE_BLOB: {
      const void* p = sqlite3_column_blob(s, i);
      int n = sqlite3_column_bytes(s, i);
      return Value::Blob(p ? std::string(static_cast<const char*>(p), static_cast<size_t>(n))
                           : std::string());
    }
    default:
      return Value::Null();
  }
}

class SqliteReader final : public RowReader {
 public:
  SqliteReader(sqlite3* db, Stmt stmt, std::string table)
      : db_(db), stmt_(std::move(stmt)), table_(std::move(table)) {}

  Result<bool> Next(Row* row) override {
    int rc = sqlite3_step(stmt_.get());
    if (rc == SQLITE_DONE) return false;
    if (rc != SQLITE_ROW) return SqliteError(db_, "reading table '" + table_ + "'");
    int n = sqlite3_column_count(stmt_.get());
    row->resize(static_cast<size_t>(n));
    for (int i = 0; i < n; ++i) {
      Value& v = (*row)[static_cast<size_t>(i)];
      int type = sqlite3_column_type(stmt_.get(), i);
      if (type == SQLITE_TEXT || type == SQLITE_BLOB) {
        // The bytes first: sqlite3_column_text may convert, and only then is the size right.
        const void* p = type == SQLITE_TEXT
                            ? static_cast<const void*>(sqlite3_column_text(stmt_.get(), i))
                            : sqlite3_column_blob(stmt_.get(), i);
        size_t size = static_cast<size_t>(sqlite3_column_bytes(stmt_.get(), i));
        v.AssignBytes(type == SQLITE_TEXT ? Value::Kind::kText : Value::Kind::kBlob,
                      static_cast<const char*>(p), p ? size : 0);
      } else {
        v = ReadValue(stmt_.get(), i);
      }
    }
    return true;
  }

 private:
  sqlite3* db_;
  Stmt stmt_;
  std::string table_;
};

class SqliteAdapter final : public Adapter {
 public:
  SqliteAdapter(Db db, std::string path) : db_(std::move(db)), path_(std::move(path)) {}
  ~SqliteAdapter() override {
    if (in_write_) {
      sqlite3_exec(db_.get(), "ROLLBACK", nullptr, nullptr, nullptr);
    } else if (in_read_) {
      sqlite3_exec(db_.get(), "COMMIT", nullptr, nullptr, nullptr);
    }
  }

  std::string dialect() const override { return "sqlite"; }

  Status BeginConsistentRead() override {
    if (in_read_ || in_write_) return Status::Ok();
    CFGIT_RETURN_IF_ERROR(Exec("BEGIN"));
    in_read_ = true;
    // A deferred transaction takes its snapshot at the first read.
    return Exec("SELECT count(*) FROM sqlite_schema");
  }

  Result<std::vector<std::string>> ListTables() override {
    // Ordinary tables of the main database only: not virtual tables (FTS...) nor their shadow
    // tables, which SQLite maintains itself, nor its own sqlite_* tables.
    CFGIT_ASSIGN_OR_RETURN(Stmt s,
                           Prepare("SELECT name FROM pragma_table_list WHERE schema = 'main' "
                                   "AND type = 'table' AND name NOT LIKE 'sqlite\\_%' "
                                   "ESCAPE '\\' ORDER BY name"));
    std::vector<std::string> out;
    int rc;
    while ((rc = sqlite3_step(s.get())) == SQLITE_ROW) out.push_back(ColumnText(s.get(), 0));
    if (rc != SQLITE_DONE) return SqliteError(db_.get(), "listing tables of " + path_);
    return out;
  }

  Result<TableSchema> ReadSchema(const std::string& table) override {
    TableSchema schema;
    schema.name = table;
    std::string q = QuoteIdent(table);
    {
      CFGIT_ASSIGN_OR_RETURN(Stmt s, Prepare("SELECT sql FROM sqlite_schema WHERE type = 'table' "
                                             "AND name = ?1"));
      sqlite3_bind_text(s.get(), 1, table.c_str(), -1, SQLITE_TRANSIENT);
      if (sqlite3_step(s.get()) != SQLITE_ROW) {
        return Status::Database("table '" + table + "' does not exist in " + path_);
      }
      schema.sql = ColumnText(s.get(), 0);
    }
    std::map<int, std::string> pk;
    {
      CFGIT_ASSIGN_OR_RETURN(Stmt s, Prepare("PRAGMA table_info(" + q + ")"));
      int rc;
      while ((rc = sqlite3_step(s.get())) == SQLITE_ROW) {
        Column c;
        c.name = ColumnText(s.get(), 1);
        c.type = ColumnText(s.get(), 2);
        c.not_null = sqlite3_column_int(s.get(), 3) != 0;
        if (sqlite3_column_type(s.get(), 4) != SQLITE_NULL) c.default_sql = ColumnText(s.get(), 4);
        if (int p = sqlite3_column_int(s.get(), 5); p > 0) pk[p] = c.name;
        schema.columns.push_back(std::move(c));
      }
      if (rc != SQLITE_DONE)
        return SqliteError(db_.get(), "reading the columns of '" + table + "'");
    }
    for (const auto& [pos, name] : pk) schema.primary_key.push_back(name);
    CFGIT_RETURN_IF_ERROR(ReadIndexes(q, &schema));
    CFGIT_RETURN_IF_ERROR(ReadForeignKeys(q, &schema));
    return schema;
  }

  Result<std::unique_ptr<RowReader>> Scan(const TableSchema& schema) override {
    std::vector<std::string> cols = schema.VersionedColumns();
    std::string sql = "SELECT ";
    for (size_t i = 0; i < cols.size(); ++i) sql += (i ? ", " : "") + QuoteIdent(cols[i]);
    if (cols.empty()) sql += "NULL";
    // In storage order: sorting by the key would walk its index and seek every row.
    sql += " FROM " + QuoteIdent(schema.name);
    CFGIT_ASSIGN_OR_RETURN(Stmt s, Prepare(sql));
    return std::unique_ptr<RowReader>(
        std::make_unique<SqliteReader>(db_.get(), std::move(s), schema.name));
  }

  Status BeginWrite(const std::vector<std::string>& /*tables*/) override {
    // SQLite locks the whole file: BEGIN IMMEDIATE keeps every other writer out until COMMIT.
    if (in_read_) {
      CFGIT_RETURN_IF_ERROR(Exec("COMMIT"));
      in_read_ = false;
    }
    // Foreign-key actions stay off while the batch is written (it holds the snapshot's exact
    // rows: an ON DELETE CASCADE must not remove a child the batch moves to another parent);
    // the keys are checked as a whole before COMMIT instead (Commit), so the order of the
    // statements does not matter. The pragma only works outside a transaction.
    CFGIT_RETURN_IF_ERROR(Exec("PRAGMA foreign_keys = OFF"));
    // A page cache of 16 MiB (SQLite's default is 2 MiB) for this connection: rows come in
    // the store's order, not the key's, so their inserts touch index pages all over the file,
    // and with the default cache the pages spilled and were read back (a 1M-row apply into an
    // empty database: 25.4 s, 21.4 s with this cache; 64 MiB gained nothing more).
    CFGIT_RETURN_IF_ERROR(Exec("PRAGMA cache_size = -16384"));
    CFGIT_RETURN_IF_ERROR(Exec("BEGIN IMMEDIATE"));
    in_write_ = true;
    return Status::Ok();
  }

  Status Write(const ChangeBatch& batch) override {
    if (!in_write_) return Status::Invalid("Write called outside BeginWrite/Commit");
    for (const TableBatch& t : batch.tables) written_.Record(t);
    CFGIT_RETURN_IF_ERROR(RecordParents(batch));
    for (const TableBatch& t : batch.tables) {
      if (t.alter_from && !t.rebuild) {
        return Status::Invalid("table '" + t.schema.name +
                               "': a changed structure is written to SQLite by rebuilding the "
                               "table (TableBatch::rebuild)");
      }
      if (t.rebuild) CFGIT_RETURN_IF_ERROR(Rebuild(t, batch.source_dialect));
      if (t.create) CFGIT_RETURN_IF_ERROR(CreateTable(t.schema, batch.source_dialect));
    }
    for (const TableBatch& t : batch.tables) CFGIT_RETURN_IF_ERROR(WriteDeletes(t));
    for (const TableBatch& t : batch.tables) CFGIT_RETURN_IF_ERROR(WriteUpdates(t));
    for (const TableBatch& t : batch.tables) CFGIT_RETURN_IF_ERROR(WriteInserts(t));
    for (const TableBatch& t : batch.tables) {
      if (t.rebuild) CFGIT_RETURN_IF_ERROR(FinishRebuild(t));
    }
    for (const TableBatch& t : batch.tables) {
      if (t.drop) CFGIT_RETURN_IF_ERROR(Exec("DROP TABLE " + QuoteIdent(t.schema.name)));
    }
    return Status::Ok();
  }

  Status Commit() override {
    if (!in_write_) return Status::Ok();
    Status fk = CheckForeignKeys();
    written_ = {};
    if (!fk.ok()) {
      Exec("ROLLBACK").ok();
      in_write_ = false;
      return fk;
    }
    Status s = Exec("COMMIT");
    if (!s.ok()) {
      Exec("ROLLBACK").ok();
      in_write_ = false;
      return s;
    }
    in_write_ = false;
    return Status::Ok();
  }

  Status Rollback() override {
    written_ = {};
    if (!in_write_) return Status::Ok();
    in_write_ = false;
    return Exec("ROLLBACK");
  }

 private:
  // What the writes of a transaction did that foreign keys care about (Write records it, Commit
  // checks it): the keys a COMMIT with foreign_keys on would check are those of the rows written
  // and of the rows that pointed at rows deleted, not the whole database.
  struct Written {
    std::set<std::string> whole;  // tables checked whole: created, rebuilt, or not resolvable
    std::set<std::string> replaced;  // created, rebuilt or dropped: their children checked whole
    std::map<std::string, std::vector<ForeignKey>> keys;  // of the tables below, as written
    // Child side: per table and foreign key (its index), the values of its columns in the rows
    // inserted or updated (rows with a NULL among them are not checked, as SQLite does).
    std::map<std::pair<std::string, size_t>, std::vector<Row>> rows;
    // Parent side: per parent table and referenced columns, the values the writes may remove
    // (of rows deleted, or updated in those columns), read before the writes; by encoding.
    std::map<std::pair<std::string, std::vector<std::string>>, std::map<std::string, Row>> gone;
    // Every foreign key of the database, by parent table: (child table, key).
    std::map<std::string, std::vector<std::pair<std::string, ForeignKey>>> children;

    void Record(const TableBatch& t) {
      const std::string& name = t.schema.name;
      if (t.drop || t.create || t.rebuild || t.stream) {
        if (!t.drop) whole.insert(name);
        replaced.insert(name);
        return;
      }
      std::vector<std::string> cols = t.schema.VersionedColumns();
      keys[name] = t.schema.foreign_keys;
      for (size_t f = 0; f < t.schema.foreign_keys.size(); ++f) {
        const ForeignKey& fk = t.schema.foreign_keys[f];
        std::vector<Row>& out = rows[{name, f}];
        auto add = [&out](Row values) {
          if (!AnyNull(values)) out.push_back(std::move(values));
        };
        for (const Row& row : t.inserts) {
          Row values;
          for (const std::string& c : fk.columns) {
            size_t at = Position(cols, c);
            if (at == cols.size()) return (void)whole.insert(name);  // an ignored column
            values.push_back(row[at]);
          }
          add(std::move(values));
        }
        for (const RowUpdate& u : t.updates) {
          bool touched = std::any_of(fk.columns.begin(), fk.columns.end(), [&](const auto& c) {
            return Position(u.columns, c) < u.columns.size();
          });
          if (!touched) continue;
          Row values;
          for (const std::string& c : fk.columns) {
            if (size_t at = Position(u.columns, c); at < u.columns.size()) {
              values.push_back(u.values[at]);
            } else if (size_t k = Position(t.schema.key, c); k < t.schema.key.size()) {
              values.push_back(u.key[k]);
            } else {
              return (void)whole.insert(name);  // a value the batch does not hold
            }
          }
          add(std::move(values));
        }
      }
    }
  };

  static size_t Position(const std::vector<std::string>& in, const std::string& c) {
    return static_cast<size_t>(std::find(in.begin(), in.end(), c) - in.begin());
  }
  static bool AnyNull(const Row& values) {
    return std::any_of(values.begin(), values.end(), [](const Value& v) { return v.is_null(); });
  }

  // Before the writes: the values of referenced columns that rows deleted, or updated in those
  // columns, hold now (Written::gone); read from the database when the batch's row identity is
  // not the referenced key.
  Status RecordParents(const ChangeBatch& batch) {
    bool any = std::any_of(batch.tables.begin(), batch.tables.end(), [](const TableBatch& t) {
      return !t.deletes.empty() || !t.updates.empty() || t.drop || t.create || t.rebuild ||
             t.stream;
    });
    if (!any) return Status::Ok();
    CFGIT_ASSIGN_OR_RETURN(std::vector<std::string> tables, ListTables());
    for (const std::string& t : tables) {
      TableSchema s;
      CFGIT_RETURN_IF_ERROR(ReadForeignKeys(QuoteIdent(t), &s));
      for (ForeignKey& fk : s.foreign_keys) {
        written_.children[fk.ref_table].push_back({t, std::move(fk)});
      }
    }
    for (const TableBatch& t : batch.tables) {
      if (t.drop || t.create || t.rebuild || (t.deletes.empty() && t.updates.empty())) continue;
      std::vector<std::string> row_id = t.schema.key.empty() ? t.schema.VersionedColumns()
                                                             : t.schema.key;
      std::set<std::vector<std::string>> referenced;
      for (const auto& [child, fk] : written_.children[t.schema.name]) {
        if (fk.ref_columns.size() == fk.columns.size()) {
          referenced.insert(fk.ref_columns);
        } else {
          written_.whole.insert(child);  // a key SQLite could not resolve either: its own check
        }
      }
      for (const std::vector<std::string>& ref : referenced) {
        std::map<std::string, Row>& gone = written_.gone[{t.schema.name, ref}];
        auto keep = [&gone](Row values) {
          if (!AnyNull(values)) gone.emplace(EncodeKey(values), std::move(values));
        };
        std::vector<size_t> pick;
        for (const std::string& c : ref) pick.push_back(Position(row_id, c));
        bool in_row_id = std::all_of(pick.begin(), pick.end(),
                                     [&](size_t i) { return i < row_id.size(); });
        std::vector<const Row*> read;  // row identities whose referenced values must be read
        for (const Row& row : t.deletes) {
          if (!in_row_id) {
            read.push_back(&row);
            continue;
          }
          Row values;
          for (size_t i : pick) values.push_back(row[i]);
          keep(std::move(values));
        }
        for (const RowUpdate& u : t.updates) {
          bool changes = std::any_of(ref.begin(), ref.end(), [&](const std::string& c) {
            return Position(u.columns, c) < u.columns.size();
          });
          if (changes) read.push_back(&u.key);
        }
        if (read.empty()) continue;
        std::string sql = "SELECT ";
        for (size_t i = 0; i < ref.size(); ++i) sql += (i ? ", " : "") + QuoteIdent(ref[i]);
        sql += " FROM " + QuoteIdent(t.schema.name) + " WHERE " + Match(row_id, 1);
        CFGIT_ASSIGN_OR_RETURN(Stmt s, Prepare(sql));
        for (const Row* id : read) {
          for (size_t i = 0; i < id->size(); ++i) {
            CFGIT_RETURN_IF_ERROR(Bind(s.get(), static_cast<int>(i) + 1, (*id)[i]));
          }
          int rc;
          while ((rc = sqlite3_step(s.get())) == SQLITE_ROW) {
            Row values;
            for (size_t i = 0; i < ref.size(); ++i) {
              values.push_back(ReadValue(s.get(), static_cast<int>(i)));
            }
            keep(std::move(values));
          }
          sqlite3_reset(s.get());
          sqlite3_clear_bindings(s.get());
          if (rc != SQLITE_DONE) return SqliteError(db_.get(), "reading " + path_);
        }
      }
    }
    return Status::Ok();
  }

  struct Broken {
    std::string table, row, parent;  // "rowid 7", or the key values of a row written
  };

  // The foreign keys the transaction's writes could have broken (Written), checked before COMMIT
  // as SQLite would check every key with foreign_keys on: a row written must find its parent, and
  // no row may point at values its parent no longer has. Costs the rows written (and one scan of
  // a child table whose key columns have no index, for the parent values removed), not the whole
  // database. A table created or rebuilt, and the children of one, are checked whole.
  Status CheckForeignKeys() {
    std::map<std::string, Stmt> lookups;  // prepared parent lookups, by SQL
    std::vector<Broken> broken;
    std::set<std::string> whole = written_.whole;
    std::set<std::string> tables;
    {
      CFGIT_ASSIGN_OR_RETURN(std::vector<std::string> all, ListTables());
      tables.insert(all.begin(), all.end());
    }
    for (const std::string& parent : written_.replaced) {
      for (const auto& [child, fk] : written_.children[parent]) whole.insert(child);
    }
    auto exists_in = [&](const std::string& table, const std::vector<std::string>& columns,
                         const Row& values) -> Result<bool> {
      std::string sql = "SELECT 1 FROM " + QuoteIdent(table) + " WHERE ";
      for (size_t i = 0; i < columns.size(); ++i) {
        sql += (i ? " AND " : "") + QuoteIdent(columns[i]) + " = ?" + std::to_string(i + 1);
      }
      auto [it, fresh] = lookups.try_emplace(sql);
      if (fresh) {
        CFGIT_ASSIGN_OR_RETURN(it->second, Prepare(sql + " LIMIT 1"));
      }
      sqlite3_stmt* s = it->second.get();
      for (size_t i = 0; i < values.size(); ++i) {
        CFGIT_RETURN_IF_ERROR(Bind(s, static_cast<int>(i) + 1, values[i]));
      }
      int rc = sqlite3_step(s);
      sqlite3_reset(s);
      if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        return SqliteError(db_.get(), "checking foreign keys of " + path_);
      }
      return rc == SQLITE_ROW;
    };

    // Child side: each row written finds its parent.
    for (const auto& [at, rows] : written_.rows) {
      const auto& [table, f] = at;
      if (whole.count(table) || rows.empty()) continue;
      const ForeignKey& fk = written_.keys[table][f];
      if (!tables.count(fk.ref_table) || fk.ref_columns.size() != fk.columns.size()) {
        whole.insert(table);
        continue;
      }
      for (const Row& values : rows) {
        CFGIT_ASSIGN_OR_RETURN(bool found, exists_in(fk.ref_table, fk.ref_columns, values));
        if (found) continue;
        std::string shown;
        for (const Value& v : values) shown += (shown.empty() ? "" : ", ") + EncodeValue(v);
        std::string names;
        for (const std::string& c : fk.columns) names += (names.empty() ? "" : ", ") + c;
        broken.push_back({table, "(" + shown + ") in " + names, fk.ref_table});
      }
    }
    // Parent side: no row points at values its parent no longer has (a row deleted and written
    // again has them).
    for (const auto& [at, values] : written_.gone) {
      const auto& [parent, ref] = at;
      std::map<std::string, Row> vanished;
      for (const auto& [encoded, v] : values) {
        CFGIT_ASSIGN_OR_RETURN(bool still, exists_in(parent, ref, v));
        if (!still) vanished.emplace(encoded, v);
      }
      if (vanished.empty()) continue;
      for (const auto& [child, fk] : written_.children[parent]) {
        if (fk.ref_columns != ref || whole.count(child) || !tables.count(child)) continue;
        CFGIT_ASSIGN_OR_RETURN(bool checked, PointingAt(child, fk, vanished, &broken));
        if (!checked) whole.insert(child);
      }
    }
    // The rest whole, as SQLite's own check does it.
    for (const std::string& table : whole) {
      if (!tables.count(table)) continue;
      CFGIT_ASSIGN_OR_RETURN(Stmt s,
                             Prepare("PRAGMA foreign_key_check(" + QuoteIdent(table) + ")"));
      int rc;
      while ((rc = sqlite3_step(s.get())) == SQLITE_ROW) {
        broken.push_back({ColumnText(s.get(), 0), RowidText(s.get(), 1), ColumnText(s.get(), 2)});
      }
      if (rc != SQLITE_DONE) return SqliteError(db_.get(), "checking foreign keys of " + path_);
    }
    if (broken.empty()) return Status::Ok();
    std::string found;
    for (size_t i = 0; i < broken.size() && i < 5; ++i) {
      found += "\n  - table '" + broken[i].table + "', " + broken[i].row +
               ": no matching row in '" + broken[i].parent + "'";
    }
    return Status::Database("FOREIGN KEY constraint failed in " + path_ + " (" +
                            std::to_string(broken.size()) + " rows):" + found +
                            "\nnothing was written; fix the rows in the snapshot or the database");
  }

  // "rowid 7", or "a row" for a table WITHOUT ROWID (SQLite reports NULL).
  static std::string RowidText(sqlite3_stmt* s, int i) {
    return sqlite3_column_type(s, i) == SQLITE_NULL ? "a row" : "rowid " + ColumnText(s, i);
  }

  // The rows of `child` whose key `fk` holds one of `keys` (parent keys deleted), through a
  // temporary table: SQLite looks them up by an index of the key's columns when there is one,
  // and otherwise scans the child table once. False when `child` has no rowid to name them by
  // (WITHOUT ROWID): the caller checks it whole then.
  Result<bool> PointingAt(const std::string& child, const ForeignKey& fk,
                          const std::map<std::string, Row>& keys, std::vector<Broken>* broken) {
    std::string cols, params, names;
    for (size_t i = 0; i < fk.columns.size(); ++i) {
      cols += (i ? ", c" : "c") + std::to_string(i);
      params += (i ? ", ?" : "?") + std::to_string(i + 1);
      names += (i ? ", " : "") + QuoteIdent(fk.columns[i]);
    }
    CFGIT_RETURN_IF_ERROR(Exec("DROP TABLE IF EXISTS temp.cfgit_parent_keys"));
    CFGIT_RETURN_IF_ERROR(Exec("CREATE TEMP TABLE cfgit_parent_keys (" + cols + ")"));
    Status status = Status::Ok();
    bool by_rowid = true;
    {
      Result<Stmt> insert = Prepare("INSERT INTO temp.cfgit_parent_keys VALUES (" + params + ")");
      status = insert.status();
      for (auto it = keys.begin(); status.ok() && it != keys.end(); ++it) {
        for (size_t i = 0; status.ok() && i < it->second.size(); ++i) {
          status = Bind(insert->get(), static_cast<int>(i) + 1, it->second[i]);
        }
        if (status.ok()) status = Run(insert->get(), "checking foreign keys of " + path_);
      }
      std::string lhs = fk.columns.size() == 1 ? names : "(" + names + ")";
      Result<Stmt> find = Prepare("SELECT rowid FROM " + QuoteIdent(child) + " WHERE " + lhs +
                                  " IN (SELECT " + cols + " FROM temp.cfgit_parent_keys) LIMIT 6");
      by_rowid = find.ok();
      int rc = SQLITE_DONE;
      while (status.ok() && by_rowid && (rc = sqlite3_step(find->get())) == SQLITE_ROW) {
        broken->push_back({child, "rowid " + ColumnText(find->get(), 0), fk.ref_table});
      }
      if (status.ok() && rc != SQLITE_DONE) {
        status = SqliteError(db_.get(), "checking foreign keys of " + path_);
      }
    }
    Status dropped = Exec("DROP TABLE temp.cfgit_parent_keys");
    if (!status.ok()) return status;
    if (!dropped.ok()) return dropped;
    return by_rowid;
  }

  // The table created again from the snapshot's definition, its old self renamed aside (its
  // rows come as inserts; FinishRebuild carries over what the snapshot does not hold and drops
  // it). With the legacy rename, other tables' REFERENCES keep naming the table (foreign keys
  // are off during the write and checked before COMMIT).
  Status Rebuild(const TableBatch& t, const std::string& source_dialect) {
    for (const Index& index : t.alter_from->indexes) {  // their names are needed again
      if (index.name.rfind("sqlite_autoindex_", 0) == 0) continue;
      CFGIT_RETURN_IF_ERROR(Exec("DROP INDEX " + QuoteIdent(index.name)));
    }
    CFGIT_RETURN_IF_ERROR(Exec("PRAGMA legacy_alter_table = ON"));
    CFGIT_RETURN_IF_ERROR(Exec("ALTER TABLE " + QuoteIdent(t.schema.name) + " RENAME TO " +
                               QuoteIdent(RebuildOldName(t.schema.name))));
    CFGIT_RETURN_IF_ERROR(Exec("PRAGMA legacy_alter_table = OFF"));
    return CreateTable(t.schema, source_dialect);
  }

  Status FinishRebuild(const TableBatch& t) {
    std::string carry = SqliteCarryOver(*t.alter_from, t.schema);
    if (!carry.empty()) CFGIT_RETURN_IF_ERROR(Exec(carry));
    return Exec("DROP TABLE " + QuoteIdent(RebuildOldName(t.schema.name)));
  }

  Status CreateTable(const TableSchema& schema, const std::string& source_dialect) {
    if (source_dialect == "postgresql") {
      CFGIT_ASSIGN_OR_RETURN(std::string ddl, CreateFromPostgres(schema));
      CFGIT_RETURN_IF_ERROR(Exec(ddl));
    } else if (source_dialect != "sqlite" || schema.sql.empty()) {
      return Status::Invalid("table '" + schema.name + "' comes from a " + source_dialect +
                             " snapshot; creating it in SQLite needs its SQLite definition: "
                             "create the table in " +
                             path_ + " first, then apply again");
    } else {
      CFGIT_RETURN_IF_ERROR(Exec(schema.sql));
    }
    for (const Index& index : schema.indexes) {
      if (index.name.rfind("sqlite_autoindex_", 0) == 0) continue;  // made by CREATE TABLE
      if (source_dialect == "postgresql" &&
          (index.unique || std::find(index.columns.begin(), index.columns.end(), "<expression>") !=
                               index.columns.end())) {
        continue;  // unique ones are constraints of the CREATE TABLE; expressions do not carry
      }
      std::string sql = std::string("CREATE ") + (index.unique ? "UNIQUE " : "") + "INDEX " +
                        QuoteIdent(index.name) + " ON " + QuoteIdent(schema.name) + " (";
      for (size_t i = 0; i < index.columns.size(); ++i)
        sql += (i ? ", " : "") + QuoteIdent(index.columns[i]);
      CFGIT_RETURN_IF_ERROR(Exec(sql + ")"));
    }
    return Status::Ok();
  }

  // The SQLite column type for a PostgreSQL type (as format_type spells it). Types whose values
  // cfgit keeps as exact text (numeric, date/time, uuid, json, arrays...) become TEXT, so SQLite's
  // affinity never turns '1.10' into 1.1; types it does not know (enums, domains) are refused.
  static std::optional<std::string> SqliteType(const std::string& pg) {
    static const std::map<std::string, std::string> kExact = {{"smallint", "INTEGER"},
                                                              {"integer", "INTEGER"},
                                                              {"bigint", "INTEGER"},
                                                              {"real", "REAL"},
                                                              {"double precision", "REAL"},
                                                              {"boolean", "BOOLEAN"},
                                                              {"text", "TEXT"},
                                                              {"bytea", "BLOB"},
                                                              {"uuid", "TEXT"},
                                                              {"json", "TEXT"},
                                                              {"jsonb", "TEXT"},
                                                              {"date", "TEXT"},
                                                              {"interval", "TEXT"},
                                                              {"inet", "TEXT"},
                                                              {"cidr", "TEXT"},
                                                              {"money", "TEXT"},
                                                              {"xml", "TEXT"}};
    if (auto it = kExact.find(pg); it != kExact.end()) return it->second;
    if (pg.size() > 2 && pg.compare(pg.size() - 2, 2, "[]") == 0) return "TEXT";  // arrays
    if (pg.rfind("character varying", 0) == 0) return "VARCHAR" + pg.substr(17);
    if (pg.rfind("character", 0) == 0) return "CHAR" + pg.substr(9);
    for (const char* prefix : {"numeric", "timestamp", "time", "bit"}) {
      if (pg.rfind(prefix, 0) == 0) return "TEXT";
    }
    return std::nullopt;
  }

  // A PostgreSQL default as SQLite SQL: literals only ('x'::text -> 'x', true -> 1).
  static std::optional<std::string> SqliteDefault(const std::string& pg) {
    std::string d = pg;
    if (d.front() == '\'') {
      size_t end = 1;
      while (end < d.size() && !(d[end] == '\'' && (end + 1 == d.size() || d[end + 1] != '\''))) {
        end += d[end] == '\'' ? 2 : 1;
      }
      return end < d.size() ? std::optional<std::string>(d.substr(0, end + 1)) : std::nullopt;
    }
    if (d == "true") return "1";
    if (d == "false") return "0";
    if (d.find("::") != std::string::npos) d = d.substr(0, d.find("::"));
    if (d.size() > 2 && d.front() == '(' && d.back() == ')') d = d.substr(1, d.size() - 2);
    char* end = nullptr;
    std::strtod(d.c_str(), &end);
    if (!d.empty() && *end == '\0') return d;
    return std::nullopt;
  }

  // CREATE TABLE for a table of a PostgreSQL snapshot: columns with mapped types, primary key,
  // unique indexes and foreign keys. A single integer primary key whose values the server
  // generated (serial, identity) becomes SQLite's INTEGER PRIMARY KEY, which generates them too.
  Result<std::string> CreateFromPostgres(const TableSchema& schema) {
    auto refuse = [&](const std::string& column, const std::string& why) {
      return Status::Invalid("table '" + schema.name + "', column '" + column + "': " + why +
                             "; create the table in " + path_ + " by hand, then apply again");
    };
    bool rowid_pk = schema.primary_key.size() == 1;
    std::string sql = "CREATE TABLE " + QuoteIdent(schema.name) + " (";
    for (size_t i = 0; i < schema.columns.size(); ++i) {
      const Column& c = schema.columns[i];
      std::optional<std::string> type = SqliteType(c.type);
      if (!type) return refuse(c.name, "PostgreSQL type '" + c.type + "' has no SQLite equivalent");
      bool is_pk = rowid_pk && c.name == schema.primary_key[0];
      sql += (i ? ", " : "") + QuoteIdent(c.name) + " " + *type;
      if (is_pk && *type == "INTEGER") {
        sql += " PRIMARY KEY";
        continue;  // generated ids: SQLite's rowid does the same
      }
      if (c.not_null) sql += " NOT NULL";
      if (c.default_sql) {
        std::optional<std::string> d = SqliteDefault(*c.default_sql);
        if (!d) return refuse(c.name, "the default '" + *c.default_sql + "' is not a literal");
        sql += " DEFAULT " + *d;
      }
    }
    bool pk_inline = rowid_pk && schema.FindColumn(schema.primary_key[0]) &&
                     SqliteType(schema.FindColumn(schema.primary_key[0])->type) == "INTEGER";
    auto list = [](const std::vector<std::string>& cols) {
      std::string out;
      for (size_t i = 0; i < cols.size(); ++i) out += (i ? ", " : "") + QuoteIdent(cols[i]);
      return out;
    };
    if (!schema.primary_key.empty() && !pk_inline)
      sql += ", PRIMARY KEY (" + list(schema.primary_key) + ")";
    for (const Index& index : schema.indexes) {
      if (index.unique && index.columns != schema.primary_key)
        sql += ", UNIQUE (" + list(index.columns) + ")";
    }
    for (const ForeignKey& f : schema.foreign_keys) {
      sql += ", FOREIGN KEY (" + list(f.columns) + ") REFERENCES " + QuoteIdent(f.ref_table) +
             " (" + list(f.ref_columns) + ") ON UPDATE " + f.on_update + " ON DELETE " +
             f.on_delete;
      if (f.deferrable)
        sql += f.initially_deferred ? " DEFERRABLE INITIALLY DEFERRED" : " DEFERRABLE";
    }
    return sql + ")";
  }

  // "a IS ?1 AND b IS ?2": IS also matches NULLs (keyless rows may hold them).
  static std::string Match(const std::vector<std::string>& columns, int first_param) {
    std::string sql;
    for (size_t i = 0; i < columns.size(); ++i) {
      sql += (i ? " AND " : "") + QuoteIdent(columns[i]) + " IS ?" +
             std::to_string(first_param + static_cast<int>(i));
    }
    return sql;
  }

  Status Bind(sqlite3_stmt* s, int index, const Value& v) {
    int rc = SQLITE_OK;
    switch (v.kind()) {
      case Value::Kind::kNull:
        rc = sqlite3_bind_null(s, index);
        break;
      case Value::Kind::kInteger:
        rc = sqlite3_bind_int64(s, index, v.integer());
        break;
      case Value::Kind::kBool:
        rc = sqlite3_bind_int64(s, index, v.boolean() ? 1 : 0);
        break;
      case Value::Kind::kReal:
        rc = sqlite3_bind_double(s, index, v.real());
        break;
      case Value::Kind::kText:
        rc = sqlite3_bind_text64(s, index, v.bytes().data(), v.bytes().size(), SQLITE_TRANSIENT,
                                 SQLITE_UTF8);
        break;
      case Value::Kind::kBlob:
        rc = sqlite3_bind_blob64(s, index, v.bytes().data(), v.bytes().size(), SQLITE_TRANSIENT);
        break;
    }
    if (rc != SQLITE_OK) return SqliteError(db_.get(), "binding a value");
    return Status::Ok();
  }

  Status Run(sqlite3_stmt* s, const std::string& what) {
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    if (rc != SQLITE_DONE) return SqliteError(db_.get(), what);
    return Status::Ok();
  }

  Status WriteDeletes(const TableBatch& t) {
    if (t.deletes.empty()) return Status::Ok();
    bool keyless = t.schema.key.empty();
    std::vector<std::string> match = keyless ? t.schema.VersionedColumns() : t.schema.key;
    std::string table = QuoteIdent(t.schema.name);
    std::string sql = keyless ? "DELETE FROM " + table + " WHERE rowid = (SELECT rowid FROM " +
                                    table + " WHERE " + Match(match, 1) + " LIMIT 1)"
                              : "DELETE FROM " + table + " WHERE " + Match(match, 1);
    CFGIT_ASSIGN_OR_RETURN(Stmt s, Prepare(sql));
    for (const Row& row : t.deletes) {
      for (size_t i = 0; i < row.size(); ++i)
        CFGIT_RETURN_IF_ERROR(Bind(s.get(), static_cast<int>(i) + 1, row[i]));
      CFGIT_RETURN_IF_ERROR(Run(s.get(), "deleting from '" + t.schema.name + "'"));
    }
    return Status::Ok();
  }

  Status WriteUpdates(const TableBatch& t) {
    std::map<std::vector<std::string>, Stmt> statements;  // one per set of changed columns
    for (const RowUpdate& u : t.updates) {
      auto it = statements.find(u.columns);
      if (it == statements.end()) {
        std::string sql = "UPDATE " + QuoteIdent(t.schema.name) + " SET ";
        for (size_t i = 0; i < u.columns.size(); ++i) {
          sql += (i ? ", " : "") + QuoteIdent(u.columns[i]) + " = ?" + std::to_string(i + 1);
        }
        sql += " WHERE " + Match(t.schema.key, static_cast<int>(u.columns.size()) + 1);
        CFGIT_ASSIGN_OR_RETURN(Stmt s, Prepare(sql));
        it = statements.emplace(u.columns, std::move(s)).first;
      }
      int n = 1;
      for (const Value& v : u.values) CFGIT_RETURN_IF_ERROR(Bind(it->second.get(), n++, v));
      for (const Value& v : u.key) CFGIT_RETURN_IF_ERROR(Bind(it->second.get(), n++, v));
      CFGIT_RETURN_IF_ERROR(Run(it->second.get(), "updating '" + t.schema.name + "'"));
    }
    return Status::Ok();
  }

  Status WriteInserts(const TableBatch& t) {
    if (t.inserts.empty() && !t.stream) return Status::Ok();
    std::vector<std::string> cols = t.schema.VersionedColumns();
    std::string sql = "INSERT INTO " + QuoteIdent(t.schema.name) + " (";
    std::string params;
    for (size_t i = 0; i < cols.size(); ++i) {
      sql += (i ? ", " : "") + QuoteIdent(cols[i]);
      params += (i ? ", ?" : "?") + std::to_string(i + 1);
    }
    CFGIT_ASSIGN_OR_RETURN(Stmt s, Prepare(sql + ") VALUES (" + params + ")"));
    auto insert = [&](const Row& row) -> Status {
      if (row.size() != cols.size()) {
        return Status::Invalid("table '" + t.schema.name +
                               "': an inserted row does not have one value per column of the "
                               "snapshot");
      }
      for (size_t i = 0; i < row.size(); ++i)
        CFGIT_RETURN_IF_ERROR(Bind(s.get(), static_cast<int>(i) + 1, row[i]));
      return Run(s.get(), "inserting into '" + t.schema.name + "'");
    };
    CFGIT_RETURN_IF_ERROR(ForEachInsert(t, insert));
    // AUTOINCREMENT tables keep their counter in sqlite_sequence; bring it up to the largest id.
    CFGIT_ASSIGN_OR_RETURN(Stmt seq,
                           Prepare("SELECT 1 FROM sqlite_schema WHERE name = 'sqlite_sequence'"));
    if (sqlite3_step(seq.get()) == SQLITE_ROW) {
      CFGIT_ASSIGN_OR_RETURN(
          Stmt fix,
          Prepare(
              "UPDATE sqlite_sequence SET seq = max(seq, (SELECT coalesce(max(rowid), 0) FROM " +
              QuoteIdent(t.schema.name) + ")) WHERE name = ?1"));
      CFGIT_RETURN_IF_ERROR(Bind(fix.get(), 1, Value::Text(t.schema.name)));
      CFGIT_RETURN_IF_ERROR(
          Run(fix.get(), "updating the autoincrement counter of '" + t.schema.name + "'"));
    }
    return Status::Ok();
  }

  Status Exec(const std::string& sql) {
    char* err = nullptr;
    if (sqlite3_exec(db_.get(), sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
      sqlite3_free(err);
      return SqliteError(db_.get(), "running '" + sql + "' on " + path_);
    }
    return Status::Ok();
  }

  Result<Stmt> Prepare(const std::string& sql) {
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v2(db_.get(), sql.c_str(), -1, &s, nullptr) != SQLITE_OK) {
      return SqliteError(db_.get(), "reading " + path_);
    }
    return Stmt(s);
  }

  Status ReadIndexes(const std::string& q, TableSchema* schema) {
    CFGIT_ASSIGN_OR_RETURN(Stmt list, Prepare("PRAGMA index_list(" + q + ")"));
    while (sqlite3_step(list.get()) == SQLITE_ROW) {
      if (ColumnText(list.get(), 3) == "pk") continue;  // the primary key is recorded as such
      Index index{.name = ColumnText(list.get(), 1),
                  .unique = sqlite3_column_int(list.get(), 2) != 0};
      CFGIT_ASSIGN_OR_RETURN(Stmt info,
                             Prepare("PRAGMA index_info(" + QuoteIdent(index.name) + ")"));
      while (sqlite3_step(info.get()) == SQLITE_ROW) {
        index.columns.push_back(sqlite3_column_type(info.get(), 2) == SQLITE_NULL
                                    ? "<expression>"
                                    : ColumnText(info.get(), 2));
      }
      schema->indexes.push_back(std::move(index));
    }
    std::sort(schema->indexes.begin(), schema->indexes.end(),
              [](const Index& a, const Index& b) { return a.name < b.name; });
    return Status::Ok();
  }

  Status ReadForeignKeys(const std::string& q, TableSchema* schema) {
    CFGIT_ASSIGN_OR_RETURN(Stmt s, Prepare("PRAGMA foreign_key_list(" + q + ")"));
    std::map<int, ForeignKey> by_id;
    std::map<int, bool> to_null;
    while (sqlite3_step(s.get()) == SQLITE_ROW) {
      int id = sqlite3_column_int(s.get(), 0);
      ForeignKey& fk = by_id[id];
      fk.ref_table = ColumnText(s.get(), 2);
      fk.columns.push_back(ColumnText(s.get(), 3));
      if (sqlite3_column_type(s.get(), 4) == SQLITE_NULL) {
        to_null[id] = true;
      } else {
        fk.ref_columns.push_back(ColumnText(s.get(), 4));
      }
      fk.on_update = ColumnText(s.get(), 5);
      fk.on_delete = ColumnText(s.get(), 6);
    }
    for (auto& [id, fk] : by_id) {
      if (to_null[id]) {  // REFERENCES parent without columns: the parent's primary key
        Result<TableSchema> parent = ReadSchemaColumnsOnly(fk.ref_table);
        if (parent.ok()) fk.ref_columns = parent->primary_key;
      }
      // SQLite lists constraints last-declared first; keep declaration order.
      schema->foreign_keys.insert(schema->foreign_keys.begin(), std::move(fk));
    }
    return Status::Ok();
  }

  Result<TableSchema> ReadSchemaColumnsOnly(const std::string& table) {
    TableSchema t;
    CFGIT_ASSIGN_OR_RETURN(Stmt s, Prepare("PRAGMA table_info(" + QuoteIdent(table) + ")"));
    std::map<int, std::string> pk;
    while (sqlite3_step(s.get()) == SQLITE_ROW) {
      if (int p = sqlite3_column_int(s.get(), 5); p > 0) pk[p] = ColumnText(s.get(), 1);
    }
    for (const auto& [pos, name] : pk) t.primary_key.push_back(name);
    return t;
  }

  Db db_;
  std::string path_;
  bool in_read_ = false;
  bool in_write_ = false;
  Written written_;
};

}  // namespace

Result<std::unique_ptr<Adapter>> OpenSqlite(const std::string& path, const OpenOptions& options) {
  namespace fs = std::filesystem;
  fs::path p(path);
  if (p.is_relative()) p = fs::path(options.base_dir) / p;
  std::error_code ec;
  bool exists = fs::exists(p, ec);
  bool create = !exists && options.missing == OpenOptions::Missing::kCreate &&
                fs::is_directory(p.parent_path(), ec);
  bool empty = !exists && options.missing == OpenOptions::Missing::kEmpty;
  if (!exists && !create && !empty) {
    return Status::Database("environment '" + options.environment + "': database file " +
                            p.string() +
                            " does not exist; check its url in cfgit.yaml "
                            "(cfgit env list)");
  }
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(
      empty ? ":memory:" : p.c_str(), &raw,
      SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (create || empty ? SQLITE_OPEN_CREATE : 0),
      nullptr);
  Db db(raw);
  if (rc != SQLITE_OK)
    return SqliteError(raw, "environment '" + options.environment + "': opening " + p.string());
  sqlite3_busy_timeout(raw, 5000);
  // Fails early, and clearly, on a file that is not a database.
  if (sqlite3_exec(raw, "SELECT count(*) FROM sqlite_schema", nullptr, nullptr, nullptr) !=
      SQLITE_OK) {
    return SqliteError(raw, "environment '" + options.environment + "': reading " + p.string());
  }
  return std::unique_ptr<Adapter>(std::make_unique<SqliteAdapter>(std::move(db), p.string()));
}

}  // namespace cfgit
