#include "adapters/postgres/postgres_adapter.h"

#include <pqxx/connection>
#include <pqxx/nontransaction>
#include <pqxx/stream_from>
#include <pqxx/transaction>

#include "adapters/postgres/batch_writer.h"
#include "adapters/postgres/catalog.h"
#include "adapters/postgres/connection_string.h"
#include "adapters/postgres/copy_text.h"
#include "adapters/postgres/module.h"
#include "adapters/postgres/pg_error.h"

namespace cfgit {
namespace {

using pg::Guard;
using pg::PgColumn;
using pg::QuoteIdent;
using pg::TypeClass;

using ReadTransaction = pqxx::transaction<pqxx::repeatable_read, pqxx::read_only>;

// The COPY stream of the scan in progress. A connection runs one statement at a time, so the
// adapter ends a scan (reading what is left of it) before anything else it does; the reader then
// sees its stream gone.
struct ScanState {
  std::unique_ptr<pqxx::stream_from> stream;
  bool interrupted = false;
};

// A field's value; its text is moved into a text value (the field is parsed again next row).
Result<Value> Decode(pg::CopyField& field, TypeClass type) {
  if (!field) return Value::Null();
  std::string& text = *field;
  switch (type) {
    case TypeClass::kInteger: {
      CFGIT_ASSIGN_OR_RETURN(int64_t v, pg::ParseInteger(text));
      return Value::Integer(v);
    }
    case TypeClass::kFloat: {
      CFGIT_ASSIGN_OR_RETURN(double v, pg::ParseFloat(text));
      return Value::Real(v);
    }
    case TypeClass::kBool:
      if (text == "t" || text == "f") return Value::Bool(text == "t");
      return Status::Invalid("not a boolean: '" + text + "'");
    case TypeClass::kBytea: {
      CFGIT_ASSIGN_OR_RETURN(std::string bytes, pg::DecodeByteaHex(text));
      return Value::Blob(std::move(bytes));
    }
    default:
      return Value::Text(std::move(text));
  }
}

class PgReader final : public RowReader {
 public:
  PgReader(std::shared_ptr<ScanState> state, const std::vector<const PgColumn*>& columns,
           std::string table)
      : state_(std::move(state)), table_(std::move(table)) {
    for (const PgColumn* c : columns) {
      types_.push_back(c->type_class);
      names_.push_back(c->name);
    }
  }

  Result<bool> Next(Row* row) override {
    if (!state_->stream) {
      if (!state_->interrupted) return false;
      return Status::Database("reading table '" + table_ +
                              "': the scan was ended early by another "
                              "operation on the same connection");
    }
    Result<bool> more = Guard("reading table '" + table_ + "'", [&]() -> Result<bool> {
      if (!state_->stream->get_raw_line(line_)) {
        state_->stream.reset();
        return false;
      }
      return true;
    });
    if (!more.ok()) state_->stream.reset();
    if (!more.ok() || !*more) return more;
    return Parse(row);
  }

 private:
  Result<bool> Parse(Row* row) {
    if (types_.empty()) {
      row->clear();
      return true;
    }
    Status parsed = pg::ParseCopyLine(line_, &fields_);
    if (parsed.ok() && fields_.size() != types_.size())
      parsed = Status::Invalid("wrong number of fields");
    if (!parsed.ok())
      return Status::Database("reading table '" + table_ + "': " + parsed.message());
    row->resize(types_.size());
    for (size_t i = 0; i < types_.size(); ++i) {
      Result<Value> v = Decode(fields_[i], types_[i]);
      if (!v.ok()) {
        return Status::Database("reading table '" + table_ + "', column '" + names_[i] +
                                "': " + v.status().message());
      }
      (*row)[i] = std::move(v).value();
    }
    return true;
  }

  std::shared_ptr<ScanState> state_;
  std::string table_;
  std::vector<TypeClass> types_;
  std::vector<std::string> names_;
  std::string line_;
  std::vector<pg::CopyField> fields_;
};

class PostgresAdapter final : public Adapter {
 public:
  PostgresAdapter(std::unique_ptr<pqxx::connection> conn, pg::Catalog catalog, std::string where)
      : conn_(std::move(conn)), catalog_(std::move(catalog)), where_(std::move(where)) {}

  ~PostgresAdapter() override {
    EndScan();
    tx_.reset();  // a transaction still open is rolled back (pqxx aborts it, never throws)
  }

  std::string dialect() const override { return "postgresql"; }

  Status BeginConsistentRead() override {
    if (tx_) return Status::Ok();
    return Run("starting a read transaction", [&] {
      tx_ = std::make_unique<ReadTransaction>(*conn_);
      return Status::Ok();
    });
  }

  Result<std::vector<std::string>> ListTables() override {
    return Run("listing tables", [&]() -> Result<std::vector<std::string>> {
      CFGIT_RETURN_IF_ERROR(EnsureTransaction());
      return catalog_.ListTables(*tx_);
    });
  }

  Result<TableSchema> ReadSchema(const std::string& table) override {
    return Run("reading the schema of '" + table + "'", [&]() -> Result<TableSchema> {
      CFGIT_ASSIGN_OR_RETURN(pg::TableRef ref, Find(table));
      return catalog_.ReadSchema(*tx_, ref, table);
    });
  }

  Result<std::unique_ptr<RowReader>> Scan(const TableSchema& schema) override {
    return Run("reading table '" + schema.name + "'", [&]() -> Result<std::unique_ptr<RowReader>> {
      CFGIT_ASSIGN_OR_RETURN(pg::TableRef ref, Find(schema.name));
      scan_columns_ = catalog_.Columns(*tx_, ref);
      std::vector<const PgColumn*> columns;
      for (const std::string& name : schema.VersionedColumns()) {
        const PgColumn* c = FindColumn(name);
        if (!c) {
          return Status::Database("table '" + schema.name + "' has no column '" + name + "' in " +
                                  where_);
        }
        columns.push_back(c);
      }
      auto state = std::make_shared<ScanState>();
      state->stream = std::make_unique<pqxx::stream_from>(*tx_, SelectSql(ref, columns));
      scan_ = state;
      return std::unique_ptr<RowReader>(std::make_unique<PgReader>(state, columns, schema.name));
    });
  }

  Status BeginWrite(const std::vector<std::string>& tables) override {
    if (write_) return Status::Invalid("BeginWrite called twice on " + where_);
    EndScan();
    if (tx_) {
      CFGIT_RETURN_IF_ERROR(Run("ending the read transaction", [&] {
        tx_->commit();
        tx_.reset();
        return Status::Ok();
      }));
    }
    write_failure_.clear();
    return Run("starting the write transaction", [&] {
      tx_ = std::make_unique<pqxx::work>(*conn_);
      write_ = true;
      // Deferrable foreign keys are checked at COMMIT; the others are kept by statement order.
      tx_->exec("SET CONSTRAINTS ALL DEFERRED");
      std::string lock;
      for (const std::string& t : tables) {
        if (std::optional<pg::TableRef> ref = catalog_.Find(*tx_, t)) {
          lock += (lock.empty() ? "" : ", ") + ref->Qualified();
        }
      }
      // Other writers wait until COMMIT; readers go on.
      if (!lock.empty()) tx_->exec("LOCK TABLE " + lock + " IN SHARE ROW EXCLUSIVE MODE");
      return Status::Ok();
    });
  }

  Status Write(const ChangeBatch& batch) override {
    if (!write_) return Status::Invalid("Write called outside BeginWrite/Commit on " + where_);
    EndScan();
    Status s = Guard("writing to " + where_, [&] {
      return pg::WriteBatch(*conn_, *tx_, catalog_, batch, &statement_serial_);
    });
    if (!s.ok()) {
      Discard();  // everything of this transaction is rolled back
      write_failure_ = s.message();
    }
    return s;
  }

  Status Commit() override {
    if (!write_failure_.empty()) {
      return Status::Database("nothing was committed to " + where_ +
                              ": the transaction was rolled "
                              "back after: " +
                              write_failure_);
    }
    if (!write_) return Status::Ok();
    EndScan();
    return Run("committing", [&] {
      tx_->commit();
      tx_.reset();
      write_ = false;
      return Status::Ok();
    });
  }

  Status Rollback() override {
    write_failure_.clear();
    if (!write_) return Status::Ok();
    EndScan();
    return Run("rolling back", [&] {
      tx_->abort();
      tx_.reset();
      write_ = false;
      return Status::Ok();
    });
  }

 private:
  // Runs `f`, turning a pqxx exception into a Status (pg_error.h). A statement that failed
  // leaves the transaction unusable, so it is dropped: rolled back.
  template <typename F>
  auto Run(const std::string& what, F&& f) -> decltype(f()) {
    try {
      return std::forward<F>(f)();
    } catch (...) {
      Status s = pg::CurrentExceptionStatus(what + " (" + where_ + ")");
      Discard();
      return s;
    }
  }

  void Discard() {
    EndScan();
    tx_.reset();
    write_ = false;
  }

  void EndScan() {
    if (!scan_) return;
    if (scan_->stream) {
      scan_->interrupted = true;
      scan_->stream.reset();  // reads what is left; never throws
    }
    scan_.reset();
  }

  Status EnsureTransaction() {
    EndScan();
    if (!tx_) tx_ = std::make_unique<ReadTransaction>(*conn_);
    return Status::Ok();
  }

  Result<pg::TableRef> Find(const std::string& table) {
    CFGIT_RETURN_IF_ERROR(EnsureTransaction());
    std::optional<pg::TableRef> ref = catalog_.Find(*tx_, table);
    if (!ref) {
      pg::TableRef where = catalog_.Locate(table);
      return Status::Database("table '" + table + "' does not exist in schema " + where.schema +
                              " of " + where_);
    }
    return *ref;
  }

  const PgColumn* FindColumn(const std::string& name) const {
    for (const PgColumn& c : scan_columns_) {
      if (c.name == name) return &c;
    }
    return nullptr;
  }

  // (SELECT "a", "b" FROM "s"."t"): COPY streams a query's rows as well as a table's. No ORDER
  // BY: the snapshot writer sorts by file name, and a server-side sort of 1M rows costs more than
  // streaming them.
  static std::string SelectSql(const pg::TableRef& ref,
                               const std::vector<const PgColumn*>& columns) {
    std::string sql = "(SELECT ";
    for (size_t i = 0; i < columns.size(); ++i)
      sql += (i ? ", " : "") + QuoteIdent(columns[i]->name);
    sql += " FROM " + ref.Qualified();
    return sql + ")";
  }

  // Members are destroyed in reverse order: the scan, then the transaction, then the connection.
  std::unique_ptr<pqxx::connection> conn_;
  pg::Catalog catalog_;
  std::string where_;  // "environment 'dev' (postgresql://cfg:***@db/app)"
  std::unique_ptr<pqxx::dbtransaction> tx_;
  std::shared_ptr<ScanState> scan_;
  std::vector<PgColumn> scan_columns_;
  bool write_ = false;
  std::string write_failure_;  // why the last Write rolled the transaction back
  int statement_serial_ = 0;
};

// Settings that make every text form canonical and exact, whatever the server's defaults.
void PrepareSession(pqxx::connection& conn, const std::vector<std::string>& schemas) {
  conn.set_client_encoding("UTF8");
  conn.set_variable("extra_float_digits", "3");
  conn.set_variable("DateStyle", "'ISO, YMD'");
  conn.set_variable("IntervalStyle", "postgres");
  conn.set_variable("TimeZone", "'UTC'");
  conn.set_variable("bytea_output", "hex");
  // Types, sequences and defaults of the configured schemas print unqualified, and unqualified
  // names in a snapshot's DDL land in the first configured schema.
  std::string path;
  for (const std::string& s : schemas) path += (path.empty() ? "" : ", ") + QuoteIdent(s);
  conn.set_variable("search_path", path);
}

Status CheckSchemas(pqxx::connection& conn, const std::vector<std::string>& schemas,
                    const std::string& where) {
  pqxx::nontransaction tx(conn);
  for (const std::string& s : schemas) {
    if (tx.exec_params("SELECT 1 FROM pg_namespace WHERE nspname = $1", s).empty()) {
      return Status::Database(where + ": schema '" + s +
                              "' does not exist; check schema= in the "
                              "environment's url (cfgit env list)");
    }
  }
  return Status::Ok();
}

}  // namespace

Result<std::unique_ptr<Adapter>> OpenPostgres(const std::string& url, const OpenOptions& options) {
  const std::string where =
      "environment '" + options.environment + "' (" + pg::RedactConnection(url) + ")";
  Result<pg::ConnectionTarget> target = pg::ParseConnectionTarget(url);
  if (!target.ok()) return target.status().Wrap(where + ": ");
  return Guard(where + ": cannot connect", [&]() -> Result<std::unique_ptr<Adapter>> {
    auto conn = std::make_unique<pqxx::connection>(target->conninfo);
    PrepareSession(*conn, target->schemas);
    CFGIT_RETURN_IF_ERROR(CheckSchemas(*conn, target->schemas, where));
    pg::Catalog catalog(target->schemas);
    return std::unique_ptr<Adapter>(
        std::make_unique<PostgresAdapter>(std::move(conn), std::move(catalog), where));
  });
}

}  // namespace cfgit

// The module's entry point (module.h).
extern "C" __attribute__((visibility("default")))
const cfgit::PostgresModule cfgit_postgres_module = {cfgit::kPostgresModuleAbi, CFGIT_BUILD_ID,
                                                     &cfgit::OpenPostgres};
