#include "adapters/postgres/batch_writer.h"

#include <algorithm>
#include <functional>
#include <map>
#include <pqxx/prepared_statement>
#include <pqxx/result>
#include <pqxx/tablewriter>
#include <set>

#include "adapters/internal/pg_ddl.h"
#include "adapters/postgres/copy_text.h"
#include "store/encoding.h"

namespace cfgit::pg {
namespace {

using Params = std::vector<std::optional<std::string>>;

const char* kTemp = "pg_temp.cfgit_batch";

// One table of the batch, matched with the live table it goes to.
struct Target {
  const TableBatch* batch = nullptr;
  TableRef ref;
  std::vector<PgColumn> columns;           // the live columns (after creation)
  std::vector<const PgColumn*> versioned;  // one per batch->schema.VersionedColumns()
  std::vector<size_t> key;                 // positions in a versioned row of the key columns
  std::vector<std::string> parents;        // batch tables it references (non-deferrable FKs)

  const std::string& name() const { return batch->schema.name; }
  bool keyless() const { return batch->schema.key.empty(); }
  const PgColumn* Find(const std::string& column) const {
    for (const PgColumn& c : columns) {
      if (c.name == column) return &c;
    }
    return nullptr;
  }
};

// "x"."k" = b."c0", or their text forms for types without an equality operator.
std::string Equal(const std::string& lhs, const std::string& rhs, const PgColumn& column,
                  bool null_safe) {
  std::string op = null_safe ? " IS NOT DISTINCT FROM " : " = ";
  if (Comparable(column)) return lhs + op + rhs;
  return lhs + "::text" + op + rhs + "::text";
}

// A row's identity for messages: (id=3) or, keyless, every value.
std::string DescribeRow(const std::vector<std::string>& names, const Row& values) {
  std::string out = "(";
  for (size_t i = 0; i < names.size() && i < values.size(); ++i) {
    std::string v = EncodeValue(values[i]);
    if (v.size() > 60) v = v.substr(0, 57) + "...";
    out += (i ? ", " : "") + names[i] + "=" + v;
  }
  return out + ")";
}

class Writer {
 public:
  Writer(pqxx::connection_base& conn, pqxx::transaction_base& tx, const Catalog& catalog,
         const ChangeBatch& batch, int* serial)
      : conn_(conn), tx_(tx), catalog_(catalog), batch_(batch), serial_(serial) {}

  Status Run() {
    CFGIT_RETURN_IF_ERROR(Locate());
    std::vector<std::string> create, after;
    std::string early, late;  // ALTER TABLE around the rows (PgAlter)
    PgNamer name = [this](const std::string& table) {
      TableRef ref = catalog_.Locate(table);
      return PgName{ref.Qualified(), QuoteIdent(ref.schema) + "."};
    };
    for (Target& t : targets_) {
      if (t.batch->create) CFGIT_RETURN_IF_ERROR(CreateStatements(t, &create, &after));
      if (t.batch->alter_from) {
        if (batch_.source_dialect != "postgresql") {
          return Status::Invalid("table '" + t.name() + "' has a different structure in the " +
                                 batch_.source_dialect +
                                 " snapshot than in the database; cfgit alters PostgreSQL "
                                 "tables only from PostgreSQL snapshots: change it by hand, "
                                 "then apply again; nothing was written");
        }
        Status altered = PgAlter(name, *t.batch->alter_from, t.batch->schema, &early, &late);
        if (!altered.ok()) return altered.Wrap("nothing was written: ");
      }
    }
    for (const std::string& sql : create) tx_.exec(sql);
    if (!early.empty()) tx_.exec(early);
    std::vector<std::string> deferred = DeferSelfReferences();
    CFGIT_RETURN_IF_ERROR(LoadColumns());
    CFGIT_RETURN_IF_ERROR(Validate());
    std::vector<Target*> order = ParentsFirst();
    for (auto it = order.rbegin(); it != order.rend(); ++it) CFGIT_RETURN_IF_ERROR(Deletes(**it));
    for (auto it = order.rbegin(); it != order.rend(); ++it) {  // children first
      if ((*it)->batch->drop) tx_.exec("DROP TABLE " + (*it)->ref.Qualified());
    }
    for (Target* t : order) CFGIT_RETURN_IF_ERROR(Updates(*t));
    for (Target* t : order) CFGIT_RETURN_IF_ERROR(Inserts(*t));
    if (!late.empty()) tx_.exec(late);
    for (const std::string& sql : after) tx_.exec(sql);
    for (const Target& t : targets_) {
      if (!t.batch->drop) FixSequences(t);
    }
    if (!deferred.empty()) {
      tx_.exec("SET CONSTRAINTS ALL IMMEDIATE");  // checked here; then as they were
      for (const std::string& constraint : deferred) tx_.exec(constraint + " NOT DEFERRABLE");
    }
    return Status::Ok();
  }

 private:
  // A table whose foreign key references itself (a tree, a chain of workflow nodes) can need a
  // row updated to point at a row inserted after it, or a parent deleted before its child: no
  // statement order helps. Such keys, when not deferrable, are made deferrable for this
  // transaction (ALTER CONSTRAINT is transactional; it locks the table until COMMIT) and put
  // back once checked. Returns the "ALTER TABLE t ALTER CONSTRAINT c" prefixes to put back.
  std::vector<std::string> DeferSelfReferences() {
    std::string oids;
    for (const Target& t : targets_) {
      if (t.ref.oid == 0 || t.batch->drop) continue;
      if (t.batch->deletes.empty() && t.batch->updates.empty() && InsertCount(*t.batch) == 0 &&
          !t.batch->stream) {
        continue;
      }
      oids += (oids.empty() ? "" : ",") + std::to_string(t.ref.oid);
    }
    std::vector<std::string> out;
    if (oids.empty()) return out;
    pqxx::result r = tx_.exec(
        "SELECT conrelid::regclass::text, quote_ident(conname) FROM pg_constraint WHERE contype = "
        "'f' AND NOT condeferrable AND conrelid = confrelid AND conrelid IN (" +
        oids + ") ORDER BY 1, 2");
    for (const auto& row : r) {
      std::string alter = "ALTER TABLE " + row[0].as<std::string>() + " ALTER CONSTRAINT " +
                          row[1].as<std::string>();
      tx_.exec(alter + " DEFERRABLE INITIALLY DEFERRED");
      out.push_back(alter);
    }
    return out;
  }

  // --- planning (nothing written) ---

  Status Locate() {
    std::set<std::string> seen;
    for (const TableBatch& b : batch_.tables) {
      if (!seen.insert(b.schema.name).second) {
        return Status::Invalid("table '" + b.schema.name + "' appears twice in one change batch");
      }
      Target t;
      t.batch = &b;
      std::optional<TableRef> ref = catalog_.Find(tx_, b.schema.name);
      if (b.create && ref) {
        return Status::Invalid("table '" + b.schema.name +
                               "' is to be created, but it exists "
                               "already in schema " +
                               ref->schema + "; nothing was written");
      }
      if (!b.create && !ref) {
        return Status::Database("table '" + b.schema.name +
                                "' does not exist in the database; "
                                "nothing was written");
      }
      t.ref = ref ? *ref : catalog_.Locate(b.schema.name);
      targets_.push_back(std::move(t));
    }
    return Status::Ok();
  }

  Status CreateStatements(const Target& t, std::vector<std::string>* create,
                          std::vector<std::string>* after) {
    const TableSchema& s = t.batch->schema;
    const std::string& dialect = batch_.source_dialect;
    if (dialect != "postgresql" && dialect != "sqlite") {
      return Status::Invalid("table '" + s.name + "' comes from a " + dialect +
                             " snapshot, which "
                             "cfgit cannot create in PostgreSQL; create it there first");
    }
    const std::string table = t.ref.Qualified();
    std::string sql = "CREATE TABLE " + table + " (";
    for (size_t i = 0; i < s.columns.size(); ++i) {
      const Column& c = s.columns[i];
      std::string definition;
      if (dialect == "sqlite") {
        bool rowid_alias = s.primary_key == std::vector<std::string>{c.name};
        Result<std::string> d = SqliteColumnDefinition(c, rowid_alias);
        if (!d.ok()) {
          return Status::Invalid("cannot create table '" + s.name +
                                 "' from a SQLite snapshot: " + d.status().message() +
                                 "; create it in PostgreSQL first, then "
                                 "apply again; nothing was written");
        }
        definition = *d;
      } else {
        definition = PostgresColumnDefinition(c, table, create, after);
      }
      sql +=
          (i ? ", " : "") + QuoteIdent(c.name) + " " + definition + (c.not_null ? " NOT NULL" : "");
    }
    if (!s.primary_key.empty()) sql += ", PRIMARY KEY (" + JoinIdents(s.primary_key) + ")";
    std::vector<std::string> indexes;
    for (const Index& index : s.indexes) {
      if (std::count(index.columns.begin(), index.columns.end(), "<expression>")) continue;
      if (index.name.rfind("sqlite_autoindex_", 0) == 0) {
        sql += ", UNIQUE (" + JoinIdents(index.columns) + ")";  // SQLite's UNIQUE constraint
        continue;
      }
      indexes.push_back(std::string("CREATE ") + (index.unique ? "UNIQUE " : "") + "INDEX " +
                        QuoteIdent(index.name) + " ON " + table + " (" + JoinIdents(index.columns) +
                        ")");
    }
    create->push_back(sql + ")");
    create->insert(create->end(), indexes.begin(), indexes.end());
    for (const ForeignKey& fk : s.foreign_keys) {
      after->push_back("ALTER TABLE " + table + " ADD FOREIGN KEY (" + JoinIdents(fk.columns) +
                       ") REFERENCES " + catalog_.Locate(fk.ref_table).Qualified() + " (" +
                       JoinIdents(fk.ref_columns) + ") ON UPDATE " + fk.on_update + " ON DELETE " +
                       fk.on_delete + (fk.deferrable ? " DEFERRABLE" : "") +
                       (fk.initially_deferred ? " INITIALLY DEFERRED" : ""));
    }
    return Status::Ok();
  }

  // A column of a PostgreSQL snapshot: its type and default as read, the markers of pg_types.h
  // turned back into clauses, and a serial column's sequence created before the table.
  std::string PostgresColumnDefinition(const Column& c, const std::string& table,
                                       std::vector<std::string>* create,
                                       std::vector<std::string>* after) {
    std::string out = c.type;
    if (!c.default_sql) return out;
    const std::string& d = *c.default_sql;
    if (d == kIdentityAlways || d == kIdentityByDefault || d.rfind(kGeneratedPrefix, 0) == 0) {
      return out + " " + d;
    }
    if (std::string seq = SequenceOfDefault(d); !seq.empty()) {
      bool integer = c.type == "smallint" || c.type == "integer" || c.type == "bigint";
      create->insert(create->begin(), "CREATE SEQUENCE IF NOT EXISTS " + seq +
                                          (integer ? " AS " + c.type : std::string()));
      after->push_back("ALTER SEQUENCE " + seq + " OWNED BY " + table + "." + QuoteIdent(c.name));
    }
    return out + " DEFAULT " + d;
  }

  Status LoadColumns() {
    for (Target& t : targets_) {
      if (t.batch->create) {
        std::optional<TableRef> ref = catalog_.Find(tx_, t.name());
        if (!ref) return Status::Database("table '" + t.name() + "' was not created");
        t.ref = *ref;
      }
      t.columns = catalog_.Columns(tx_, t.ref);
      const TableSchema& s = t.batch->schema;
      std::vector<std::string> names = s.VersionedColumns();
      for (const std::string& name : names) {
        const PgColumn* c = t.Find(name);
        if (!c) {
          return Status::Invalid("table '" + t.name() + "' has no column '" + name +
                                 "', which the "
                                 "snapshot has; add the column to the database first; nothing was "
                                 "written");
        }
        t.versioned.push_back(c);
      }
      for (const std::string& k : s.key) {
        auto it = std::find(names.begin(), names.end(), k);
        if (it == names.end()) {
          return Status::Invalid("table '" + t.name() + "': key column '" + k +
                                 "' is not versioned");
        }
        t.key.push_back(static_cast<size_t>(it - names.begin()));
      }
      if (!t.batch->create) {
        for (const ForeignKey& fk : catalog_.ReadSchema(tx_, t.ref, t.name()).foreign_keys) {
          if (!fk.deferrable && fk.ref_table != t.name()) t.parents.push_back(fk.ref_table);
        }
      }
    }
    return Status::Ok();
  }

  std::vector<std::string> KeyNames(const Target& t) const {
    return t.keyless() ? t.batch->schema.VersionedColumns() : t.batch->schema.key;
  }

  Status Check(const Target& t, const PgColumn& column, const Value& v,
               const std::function<std::string()>& row) const {
    if (column.generated) return Status::Ok();  // computed by the server, never written
    std::string why = RefuseReason(v, column, batch_.source_dialect);
    if (why.empty()) return Status::Ok();
    return Status::Invalid("table '" + t.name() + "', column '" + column.name + "', row " + row() +
                           ": " + why + "; nothing was written");
  }

  Status Validate() const {
    for (const Target& t : targets_) {
      const TableBatch& b = *t.batch;
      std::vector<std::string> key_names = KeyNames(t);
      std::vector<const PgColumn*> key_columns = KeyColumns(t);
      for (const Row& key : b.deletes) {
        if (key.size() != key_columns.size()) return WrongWidth(t, "a deleted row");
        for (size_t i = 0; i < key.size(); ++i) {
          CFGIT_RETURN_IF_ERROR(
              Check(t, *key_columns[i], key[i], [&] { return DescribeRow(key_names, key); }));
        }
      }
      for (const RowUpdate& u : b.updates) {
        if (t.keyless()) {
          return Status::Invalid("table '" + t.name() +
                                 "' is keyless: its rows change by delete "
                                 "and insert, not by update");
        }
        if (u.key.size() != t.key.size() || u.columns.size() != u.values.size()) {
          return WrongWidth(t, "an updated row");
        }
        auto describe = [&] { return DescribeRow(key_names, u.key); };
        for (size_t i = 0; i < u.key.size(); ++i)
          CFGIT_RETURN_IF_ERROR(Check(t, *key_columns[i], u.key[i], describe));
        for (size_t i = 0; i < u.columns.size(); ++i) {
          const PgColumn* c = t.Find(u.columns[i]);
          if (!c) {
            return Status::Invalid("table '" + t.name() + "' has no column '" + u.columns[i] +
                                   "'; nothing was written");
          }
          CFGIT_RETURN_IF_ERROR(Check(t, *c, u.values[i], describe));
        }
      }
      for (const Row& row : b.inserts) CFGIT_RETURN_IF_ERROR(CheckInsert(t, key_names, row));
    }
    return Status::Ok();
  }

  Status CheckInsert(const Target& t, const std::vector<std::string>& key_names,
                     const Row& row) const {
    if (row.size() != t.versioned.size()) return WrongWidth(t, "an inserted row");
    auto describe = [&] { return DescribeRow(key_names, KeyOf(t, row)); };
    for (size_t i = 0; i < row.size(); ++i)
      CFGIT_RETURN_IF_ERROR(Check(t, *t.versioned[i], row[i], describe));
    return Status::Ok();
  }

  static Status WrongWidth(const Target& t, const char* what) {
    return Status::Invalid("table '" + t.name() + "': " + what +
                           " of the change batch does not "
                           "have one value per column of the snapshot");
  }

  static Row KeyOf(const Target& t, const Row& row) {
    if (t.keyless()) return row;
    Row key;
    for (size_t i : t.key) key.push_back(row[i]);
    return key;
  }

  static std::vector<const PgColumn*> KeyColumns(const Target& t) {
    if (t.keyless()) return t.versioned;
    std::vector<const PgColumn*> out;
    for (size_t i : t.key) out.push_back(t.versioned[i]);
    return out;
  }

  // Tables in an order where every table comes after the batch tables it references; cycles
  // (possible only through deferrable constraints, or across several tables) keep batch order.
  std::vector<Target*> ParentsFirst() {
    std::vector<Target*> order;
    std::set<std::string> placed;
    std::set<std::string> in_batch;
    for (const Target& t : targets_) in_batch.insert(t.name());
    while (order.size() < targets_.size()) {
      bool progress = false;
      for (Target& t : targets_) {
        if (placed.count(t.name())) continue;
        bool ready = std::all_of(t.parents.begin(), t.parents.end(), [&](const std::string& p) {
          return placed.count(p) || !in_batch.count(p);
        });
        if (!ready) continue;
        order.push_back(&t);
        placed.insert(t.name());
        progress = true;
      }
      if (progress) continue;
      for (Target& t : targets_) {  // a cycle: take the first table left
        if (!placed.count(t.name())) {
          order.push_back(&t);
          placed.insert(t.name());
          break;
        }
      }
    }
    return order;
  }

  // --- writing ---

  Status Deletes(const Target& t) {
    const std::vector<Row>& rows = t.batch->deletes;
    if (rows.empty()) return Status::Ok();
    std::vector<const PgColumn*> key = KeyColumns(t);
    const std::string table = t.ref.Qualified();
    if (t.keyless()) {
      // One copy of the row: the first one found, by its physical address.
      std::string match;
      for (size_t i = 0; i < key.size(); ++i) {
        match += (i ? " AND " : "") +
                 Equal(QuoteIdent(key[i]->name), "$" + std::to_string(i + 1), *key[i], true);
      }
      std::string name =
          Prepare("WITH victim AS (SELECT tableoid AS o, ctid AS c FROM " + table +
                  (match.empty() ? "" : " WHERE " + match) + " LIMIT 1) DELETE FROM " + table +
                  " AS x USING victim WHERE x.tableoid = victim.o AND x.ctid = victim.c");
      for (const Row& row : rows) ExecPrepared(name, ServerTexts(key, row));
      return Status::Ok();
    }
    if (rows.size() > kBulkRows) {
      CFGIT_RETURN_IF_ERROR(FillTemp(table, key, AllOf(rows)));
      tx_.exec("DELETE FROM " + table + " AS x USING " + kTemp + " AS b WHERE " +
               JoinMatch(key, 0));
      tx_.exec(std::string("DROP TABLE ") + kTemp);
      return Status::Ok();
    }
    std::string name = Prepare("DELETE FROM " + table + " WHERE " + ParamMatch(key, 1));
    for (const Row& row : rows) ExecPrepared(name, ServerTexts(key, row));
    return Status::Ok();
  }

  Status Updates(const Target& t) {
    // One statement per set of changed columns.
    std::vector<std::vector<const RowUpdate*>> groups;
    std::map<std::vector<std::string>, size_t> group_of;
    for (const RowUpdate& u : t.batch->updates) {
      auto [it, added] = group_of.emplace(u.columns, groups.size());
      if (added) groups.emplace_back();
      groups[it->second].push_back(&u);
    }
    for (const auto& group : groups) CFGIT_RETURN_IF_ERROR(UpdateGroup(t, group));
    return Status::Ok();
  }

  Status UpdateGroup(const Target& t, const std::vector<const RowUpdate*>& group) {
    std::vector<const PgColumn*> key = KeyColumns(t);
    std::vector<const PgColumn*> set;
    std::vector<size_t> positions;  // of the written columns in RowUpdate::columns
    for (size_t i = 0; i < group[0]->columns.size(); ++i) {
      const PgColumn* c = t.Find(group[0]->columns[i]);
      if (c->generated) continue;
      set.push_back(c);
      positions.push_back(i);
    }
    if (set.empty()) return Status::Ok();
    const std::string table = t.ref.Qualified();
    if (group.size() > kBulkRows) {
      std::vector<const PgColumn*> columns = key;
      columns.insert(columns.end(), set.begin(), set.end());
      std::vector<Row> rows;
      for (const RowUpdate* u : group) {
        Row r = u->key;
        for (size_t p : positions) r.push_back(u->values[p]);
        rows.push_back(std::move(r));
      }
      CFGIT_RETURN_IF_ERROR(FillTemp(table, columns, AllOf(rows)));
      std::string assign;
      for (size_t i = 0; i < set.size(); ++i) {
        assign +=
            (i ? ", " : "") + QuoteIdent(set[i]->name) + " = b.c" + std::to_string(key.size() + i);
      }
      tx_.exec("UPDATE " + table + " AS x SET " + assign + " FROM " + kTemp + " AS b WHERE " +
               JoinMatch(key, 0));
      tx_.exec(std::string("DROP TABLE ") + kTemp);
      return Status::Ok();
    }
    std::string assign;
    for (size_t i = 0; i < set.size(); ++i) {
      assign += (i ? ", " : "") + QuoteIdent(set[i]->name) + " = $" + std::to_string(i + 1);
    }
    std::string name = Prepare("UPDATE " + table + " SET " + assign + " WHERE " +
                               ParamMatch(key, static_cast<int>(set.size()) + 1));
    for (const RowUpdate* u : group) {
      Params params;
      for (size_t i = 0; i < set.size(); ++i)
        params.push_back(ToServerText(u->values[positions[i]], *set[i]));
      Params k = ServerTexts(key, u->key);
      params.insert(params.end(), k.begin(), k.end());
      ExecPrepared(name, params);
    }
    return Status::Ok();
  }

  // Held rows were validated with the others; streamed rows are checked here, as they come.
  Status Inserts(const Target& t) {
    const TableBatch& b = *t.batch;
    if (b.inserts.empty() && !b.stream) return Status::Ok();
    std::vector<const PgColumn*> columns;
    std::vector<size_t> positions;
    for (size_t i = 0; i < t.versioned.size(); ++i) {
      if (t.versioned[i]->generated) continue;
      columns.push_back(t.versioned[i]);
      positions.push_back(i);
    }
    std::string names;
    for (const PgColumn* c : columns) names += (names.empty() ? "" : ", ") + QuoteIdent(c->name);
    const std::string table = t.ref.Qualified();
    // Explicit values win over identity columns, GENERATED ALWAYS ones included.
    const std::string insert = "INSERT INTO " + table + " (" + names + ") OVERRIDING SYSTEM VALUE ";
    std::vector<std::string> key_names = KeyNames(t);
    Row projected;
    auto project = [&](const Row& row) -> const Row& {
      projected.clear();
      for (size_t p : positions) projected.push_back(row[p]);
      return projected;
    };
    if (b.stream || b.inserts.size() > kBulkRows) {
      size_t held = b.inserts.size(), seen = 0;
      auto rows = [&](const RowSink& sink) {
        return ForEachInsert(b, [&](const Row& row) -> Status {
          if (seen++ >= held) CFGIT_RETURN_IF_ERROR(CheckInsert(t, key_names, row));
          return sink(project(row));
        });
      };
      CFGIT_RETURN_IF_ERROR(FillTemp(table, columns, rows));
      std::string select;
      for (size_t i = 0; i < columns.size(); ++i) select += (i ? ", c" : "c") + std::to_string(i);
      tx_.exec(insert + "SELECT " + select + " FROM " + kTemp);
      tx_.exec(std::string("DROP TABLE ") + kTemp);
      return Status::Ok();
    }
    std::string values;
    for (size_t i = 0; i < columns.size(); ++i) values += (i ? ", $" : "$") + std::to_string(i + 1);
    std::string name = Prepare(insert + "VALUES (" + values + ")");
    for (const Row& row : b.inserts) ExecPrepared(name, ServerTexts(columns, project(row)));
    return Status::Ok();
  }

  // Serial and identity sequences: at least the largest value now in the table, so that the
  // application's next INSERT without an id does not collide with an id cfgit wrote.
  void FixSequences(const Target& t) {
    if (InsertCount(*t.batch) == 0 && !t.batch->stream && t.batch->updates.empty()) return;
    for (const PgColumn& c : t.columns) {
      if (c.sequence.empty() || c.type_class != TypeClass::kInteger) continue;
      tx_.exec("SELECT setval(s.seq, m.v) FROM (SELECT " + tx_.quote(c.sequence) +
               "::regclass AS seq) s, (SELECT max(" + QuoteIdent(c.name) + ") AS v FROM " +
               t.ref.Qualified() +
               ") m WHERE m.v IS NOT NULL AND m.v > coalesce("
               "pg_sequence_last_value(s.seq), (SELECT p.seqstart - 1 FROM pg_sequence p "
               "WHERE p.seqrelid = s.seq))");
    }
  }

  // --- helpers ---

  // "k1" = $first AND "k2" = $first+1 ...
  static std::string ParamMatch(const std::vector<const PgColumn*>& key, int first) {
    std::string out;
    for (size_t i = 0; i < key.size(); ++i) {
      out += (i ? " AND " : "") + Equal(QuoteIdent(key[i]->name),
                                        "$" + std::to_string(first + static_cast<int>(i)), *key[i],
                                        false);
    }
    return out;
  }

  // x."k1" = b.c0 AND ...
  static std::string JoinMatch(const std::vector<const PgColumn*>& key, size_t first) {
    std::string out;
    for (size_t i = 0; i < key.size(); ++i) {
      out += (i ? " AND " : "") + Equal("x." + QuoteIdent(key[i]->name),
                                        "b.c" + std::to_string(first + i), *key[i], false);
    }
    return out;
  }

  static Params ServerTexts(const std::vector<const PgColumn*>& columns, const Row& row) {
    Params out;
    for (size_t i = 0; i < columns.size(); ++i) out.push_back(ToServerText(row[i], *columns[i]));
    return out;
  }

  // A temporary table with the types of `columns` (named c0, c1, ...), filled with `rows` by COPY.
  using RowSink = std::function<Status(const Row&)>;
  using RowSource = std::function<Status(const RowSink&)>;

  static RowSource AllOf(const std::vector<Row>& rows) {
    return [&rows](const RowSink& sink) -> Status {
      for (const Row& row : rows) CFGIT_RETURN_IF_ERROR(sink(row));
      return Status::Ok();
    };
  }

  // A temporary table kTemp with `columns` (as c0, c1...) filled by COPY with the rows `rows`
  // gives, one at a time. A failure of `rows` is returned with the COPY left unfinished: the
  // caller fails the write and the transaction is rolled back.
  Status FillTemp(const std::string& table, const std::vector<const PgColumn*>& columns,
                  const RowSource& rows) {
    std::string select;
    for (size_t i = 0; i < columns.size(); ++i) {
      select += (i ? ", x." : "x.") + QuoteIdent(columns[i]->name) + " AS c" + std::to_string(i);
    }
    tx_.exec(std::string("CREATE TEMP TABLE cfgit_batch ON COMMIT DROP AS SELECT ") + select +
             " FROM " + table + " AS x WITH NO DATA");
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
    // tablewriter: 6.4's stream_to cannot write a line of a run-time number of fields.
    pqxx::tablewriter copy(tx_, kTemp);
#pragma GCC diagnostic pop
    std::string line;
    CFGIT_RETURN_IF_ERROR(rows([&](const Row& row) {
      line.clear();
      for (size_t i = 0; i < columns.size(); ++i) {
        if (i) line.push_back('\t');
        AppendCopyField(ToServerText(row[i], *columns[i]), &line);
      }
      copy.write_raw_line(line);
      return Status::Ok();
    }));
    copy.complete();
    return Status::Ok();
  }

  std::string Prepare(const std::string& sql) {
    std::string name = "cfgit_" + std::to_string(++*serial_);
    conn_.prepare(name, sql);
    return name;
  }

  void ExecPrepared(const std::string& name, const Params& params) {
    std::vector<const char*> values;
    for (const auto& p : params) values.push_back(p ? p->c_str() : nullptr);
    tx_.exec_prepared(name, pqxx::prepare::make_dynamic_params(values));
  }

  pqxx::connection_base& conn_;
  pqxx::transaction_base& tx_;
  const Catalog& catalog_;
  const ChangeBatch& batch_;
  int* serial_;
  std::vector<Target> targets_;
};

}  // namespace

Status WriteBatch(pqxx::connection_base& conn, pqxx::transaction_base& tx, const Catalog& catalog,
                  const ChangeBatch& batch, int* statement_serial) {
  return Writer(conn, tx, catalog, batch, statement_serial).Run();
}

}  // namespace cfgit::pg
