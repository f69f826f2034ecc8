// RenderScript: a ChangeBatch as one SQL script for SQLite or PostgreSQL (see adapter.h).
//
// The script does what Adapter::Write does, as text a person can read and run: `cfgit diff
// --format sql A B` prints it, and running it on a copy of A's database gives B's content.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>

#include "adapters/adapter.h"
#include "adapters/internal/pg_ddl.h"
#include "adapters/internal/sql_text.h"
#include "adapters/postgres/pg_types.h"

namespace cfgit {
namespace {

std::string Hex(const std::string& bytes) {
  static const char* kDigits = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 15]);
  }
  return out;
}

std::string QuoteText(const std::string& text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\'') out.push_back('\'');
    out.push_back(c);
  }
  return out + "'";
}

// The statements of one dialect. Values are written as literals that the target stores as the
// same Value the snapshot holds.
class Dialect {
 public:
  virtual ~Dialect() = default;
  virtual std::string Literal(const Value& v) const = 0;
  // "col IS 'x'": equality that also matches NULL.
  virtual std::string Match(const Column* column, const std::string& name,
                            const Value& v) const = 0;
  virtual std::string DeleteOne(const TableSchema& s, const std::string& where) const = 0;
};

class SqliteDialect final : public Dialect {
 public:
  std::string Literal(const Value& v) const override {
    switch (v.kind()) {
      case Value::Kind::kNull:
        return "NULL";
      case Value::Kind::kInteger:
        return std::to_string(v.integer());
      case Value::Kind::kBool:
        return v.boolean() ? "1" : "0";
      case Value::Kind::kReal: {
        double d = v.real();
        if (std::isnan(d)) return "NULL";  // SQLite stores NaN as NULL
        if (std::isinf(d)) return d > 0 ? "9e999" : "-9e999";
        char buf[40];
        std::snprintf(buf, sizeof buf, "%.17g", d);
        std::string out = buf;
        if (out.find_first_of(".e") == std::string::npos) out += ".0";
        return out;
      }
      case Value::Kind::kText:
        // NUL cannot be in a literal, and the sqlite3 shell drops a CR before a newline: such
        // text goes as hex bytes.
        if (v.bytes().find_first_of(std::string("\0\r", 2)) != std::string::npos ||
            !IsValidUtf8(v.bytes()))
          return "CAST(X'" + Hex(v.bytes()) + "' AS TEXT)";
        return QuoteText(v.bytes());
      case Value::Kind::kBlob:
        return "X'" + Hex(v.bytes()) + "'";
    }
    return "NULL";
  }
  std::string Match(const Column*, const std::string& name, const Value& v) const override {
    return QuoteIdent(name) + " IS " + Literal(v);
  }
  std::string DeleteOne(const TableSchema& s, const std::string& where) const override {
    std::string t = QuoteIdent(s.name);
    return "DELETE FROM " + t + " WHERE rowid = (SELECT rowid FROM " + t + " WHERE " + where +
           " LIMIT 1)";
  }
};

class PostgresDialect final : public Dialect {
 public:
  std::string Literal(const Value& v) const override {
    if (v.is_null()) return "NULL";
    if (v.kind() == Value::Kind::kInteger) return std::to_string(v.integer());
    // Everything else as the server's text form in a string literal, which the server reads
    // as the column's type (real, boolean, bytea '\x..', numeric, json, timestamps, arrays).
    std::optional<std::string> text = pg::ToServerText(v, pg::PgColumn{});
    return QuoteText(text ? *text : "");
  }
  std::string Match(const Column* column, const std::string& name, const Value& v) const override {
    // json, xml and similar types have no equality operator: compare their text.
    std::string type = column ? AsciiLower(column->type) : "";
    bool as_text = type == "json" || type == "xml" || type.find("point") != std::string::npos;
    std::string lhs = QuoteIdent(name) + (as_text ? "::text" : "");
    if (v.is_null()) return lhs + " IS NULL";
    return lhs + " = " + Literal(v) + (as_text ? "::text" : "");
  }
  std::string DeleteOne(const TableSchema& s, const std::string& where) const override {
    std::string t = QuoteIdent(s.name);
    return "DELETE FROM " + t + " WHERE ctid = (SELECT ctid FROM " + t + " WHERE " + where +
           " LIMIT 1)";
  }
};

std::string Where(const Dialect& d, const TableSchema& s, const std::vector<std::string>& cols,
                  const Row& values) {
  std::string out;
  for (size_t i = 0; i < cols.size() && i < values.size(); ++i)
    out += (i ? " AND " : "") + d.Match(s.FindColumn(cols[i]), cols[i], values[i]);
  return out;
}

std::string Insert(const Dialect& d, const TableSchema& s, const Row& row) {
  std::string values;
  for (size_t i = 0; i < row.size(); ++i) values += (i ? ", " : "") + d.Literal(row[i]);
  return "INSERT INTO " + QuoteIdent(s.name) + " (" + JoinIdents(s.VersionedColumns()) +
         ") VALUES (" + values + ");\n";
}

Status RowStatements(const Dialect& d, const TableBatch& t, std::string* deletes,
                     std::string* updates, std::string* inserts) {
  const TableSchema& s = t.schema;
  bool keyless = s.key.empty();
  std::vector<std::string> match = keyless ? s.VersionedColumns() : s.key;
  const TableSchema& old = t.alter_from ? *t.alter_from : s;
  for (const Row& row : t.deletes) {
    std::string where = Where(d, old, match, row);
    *deletes += (keyless ? d.DeleteOne(s, where)
                         : "DELETE FROM " + QuoteIdent(s.name) + " WHERE " + where) +
                ";\n";
  }
  for (const RowUpdate& u : t.updates) {
    std::string set;
    for (size_t i = 0; i < u.columns.size(); ++i)
      set += (i ? ", " : "") + QuoteIdent(u.columns[i]) + " = " + d.Literal(u.values[i]);
    *updates += "UPDATE " + QuoteIdent(s.name) + " SET " + set + " WHERE " +
                Where(d, s, s.key, u.key) + ";\n";
  }
  return ForEachInsert(t, [&](const Row& row) {
    *inserts += Insert(d, s, row);
    return Status::Ok();
  });
}

bool DialectIs(const ChangeBatch& b, const char* dialect) { return b.source_dialect == dialect; }

Status RefuseCrossDialect(const TableSchema& s, const std::string& what, const ChangeBatch& b,
                          const std::string& target) {
  return Status::Invalid("table '" + s.name + "': " + what + " comes from a " + b.source_dialect +
                         " snapshot and cannot be written as " + target +
                         " DDL; apply the revision instead (cfgit apply), which creates tables "
                         "across dialects, or diff two snapshots of one dialect");
}

std::string SqliteIndexes(const TableSchema& s) {
  std::string out;
  for (const Index& index : s.indexes) {
    if (index.name.rfind("sqlite_autoindex_", 0) == 0) continue;  // made by CREATE TABLE
    out += std::string("CREATE ") + (index.unique ? "UNIQUE " : "") + "INDEX " +
           QuoteIdent(index.name) + " ON " + QuoteIdent(s.name) + " (" + JoinIdents(index.columns) +
           ");\n";
  }
  return out;
}

bool HasAutoincrement(const TableSchema& s) {
  return AsciiLower(s.sql).find("autoincrement") != std::string::npos;
}

Result<std::string> SqliteScript(const ChangeBatch& batch) {
  SqliteDialect d;
  std::string ddl, deletes, updates, inserts, rebuilt, drops, counters;
  bool structural = false;
  for (const TableBatch& t : batch.tables) {
    const TableSchema& s = t.schema;
    if (t.drop) {
      structural = true;
      drops += "DROP TABLE " + QuoteIdent(s.name) + ";\n";
      continue;
    }
    if (t.create || t.rebuild) {
      if (!DialectIs(batch, "sqlite") || s.sql.empty())
        return RefuseCrossDialect(s, "the table's definition", batch, "SQLite");
      structural = true;
      if (t.rebuild) {
        std::string old = QuoteIdent(RebuildOldName(s.name));
        for (const Index& index : t.alter_from->indexes) {  // their names are needed again
          if (index.name.rfind("sqlite_autoindex_", 0) == 0) continue;
          ddl += "DROP INDEX " + QuoteIdent(index.name) + ";\n";
        }
        ddl += "ALTER TABLE " + QuoteIdent(s.name) + " RENAME TO " + old + ";\n";
        rebuilt += SqliteCarryOver(*t.alter_from, s) + "DROP TABLE " + old + ";\n";
      }
      ddl += s.sql + ";\n";
      ddl += SqliteIndexes(s);
    } else if (t.alter_from) {
      return Status::Invalid("table '" + s.name +
                             "': its structure changed; SQLite needs the table rebuilt "
                             "(TableBatch::rebuild)");
    }
    CFGIT_RETURN_IF_ERROR(RowStatements(d, t, &deletes, &updates, &inserts));
    if (InsertCount(t) > 0 && HasAutoincrement(s)) {
      counters +=
          "UPDATE sqlite_sequence SET seq = max(seq, (SELECT coalesce(max(rowid), 0) FROM " +
          QuoteIdent(s.name) + ")) WHERE name = " + QuoteText(s.name) + ";\n";
    }
  }
  // Foreign keys off: the script writes B's exact rows, so ON DELETE CASCADE and the like must
  // not act on them (a child moved off a deleted parent would be deleted with it). Rebuilding a
  // table renames it; with the legacy rename, other tables' REFERENCES keep naming the table,
  // which then exists again under its own name.
  std::string out = "PRAGMA foreign_keys = OFF;\n";
  if (structural) out += "PRAGMA legacy_alter_table = ON;\n";
  out += "BEGIN;\n";
  out += ddl + deletes + updates + inserts + rebuilt + drops + counters;
  out += "COMMIT;\n";
  return out;
}

// --- PostgreSQL ---

// A nextval('name'::regclass) default's sequence, or "".
std::string SequenceOf(const std::optional<std::string>& default_sql) {
  if (!default_sql) return "";
  const std::string& d = *default_sql;
  size_t start = d.find("nextval('");
  if (start == std::string::npos) return "";
  start += 9;
  size_t end = d.find("'::regclass", start);
  return end == std::string::npos ? "" : d.substr(start, end - start);
}

// A script names tables as the snapshot does (the target's search_path finds them).
PgName ScriptName(const std::string& table) { return {QuoteIdent(table), ""}; }

Status PgCreate(const TableSchema& s, std::string* before, std::string* create,
                std::string* after) {
  std::string sql = "CREATE TABLE " + QuoteIdent(s.name) + " (";
  for (size_t i = 0; i < s.columns.size(); ++i) {
    const Column& c = s.columns[i];
    sql += (i ? ", " : "") + PgColumnDefinition(c) + (c.not_null ? " NOT NULL" : "");
    if (std::string seq = SequenceOf(c.default_sql); !seq.empty())
      *before += "CREATE SEQUENCE IF NOT EXISTS " + seq + ";\n";
  }
  if (!s.primary_key.empty()) sql += ", PRIMARY KEY (" + JoinIdents(s.primary_key) + ")";
  *create += sql + ");\n";
  for (const Index& index : s.indexes) {
    if (IsPrimaryKeyIndex(s, index)) continue;
    if (std::count(index.columns.begin(), index.columns.end(), "<expression>")) {
      return Status::Invalid("table '" + s.name + "': index '" + index.name +
                             "' is on an expression, which the snapshot does not record; "
                             "create the table by hand, or apply the revision");
    }
    *create += PgIndex(ScriptName, s, index);
  }
  for (const ForeignKey& f : s.foreign_keys) *after += PgForeignKey(ScriptName, s, f);
  return Status::Ok();
}

// Raises the serial/identity sequence of each integer column to its largest value.
std::string PgCounters(const TableSchema& s) {
  std::string out;
  for (const Column& c : s.columns) {
    bool generated = c.default_sql && (*c.default_sql == pg::kIdentityAlways ||
                                       *c.default_sql == pg::kIdentityByDefault ||
                                       !SequenceOf(c.default_sql).empty());
    if (!generated) continue;
    out += "SELECT setval(pg_get_serial_sequence(" + QuoteText(QuoteIdent(s.name)) + ", " +
           QuoteText(c.name) + "), coalesce(max(" + QuoteIdent(c.name) + "), 1), max(" +
           QuoteIdent(c.name) + ") IS NOT NULL) FROM " + QuoteIdent(s.name) + ";\n";
  }
  return out;
}

Result<std::string> PostgresScript(const ChangeBatch& batch) {
  PostgresDialect d;
  std::string before, create, early, late, after, drops, counters;
  std::vector<const TableSchema*> schemas;
  for (const TableBatch& t : batch.tables) schemas.push_back(&t.schema);
  std::vector<size_t> order = ParentsFirst(schemas);
  std::vector<std::string> deletes(batch.tables.size()), updates(batch.tables.size()),
      inserts(batch.tables.size());
  for (size_t i = 0; i < batch.tables.size(); ++i) {
    const TableBatch& t = batch.tables[i];
    if (t.drop) {
      drops += "DROP TABLE " + QuoteIdent(t.schema.name) + ";\n";
      continue;
    }
    if (t.create || t.alter_from) {
      if (!DialectIs(batch, "postgresql"))
        return RefuseCrossDialect(t.schema, "the table's definition", batch, "PostgreSQL");
    }
    if (t.create) CFGIT_RETURN_IF_ERROR(PgCreate(t.schema, &before, &create, &after));
    if (t.alter_from) {
      CFGIT_RETURN_IF_ERROR(PgAlter(ScriptName, *t.alter_from, t.schema, &early, &late));
    }
    CFGIT_RETURN_IF_ERROR(RowStatements(d, t, &deletes[i], &updates[i], &inserts[i]));
    if (InsertCount(t) > 0) counters += PgCounters(t.schema);
  }
  std::string out = "BEGIN;\nSET CONSTRAINTS ALL DEFERRED;\n" + before + create + early;
  for (auto it = order.rbegin(); it != order.rend(); ++it) out += deletes[*it];
  for (size_t i : order) out += updates[i];
  for (size_t i : order) out += inserts[i];
  out += late + after + drops + counters + "COMMIT;\n";
  return out;
}

}  // namespace

bool NeedsRebuild(const std::string& target_dialect, const TableSchema& from,
                  const TableSchema& to) {
  // SQLite alters little in place; recreating the table from the snapshot's own CREATE TABLE
  // gives exactly its definition. PostgreSQL alters columns and indexes in place.
  return target_dialect == "sqlite" &&
         (from.columns != to.columns || from.primary_key != to.primary_key ||
          from.indexes != to.indexes || from.foreign_keys != to.foreign_keys || from.sql != to.sql);
}

Result<std::string> RenderScript(const std::string& target_dialect, const ChangeBatch& batch) {
  if (target_dialect == "sqlite") return SqliteScript(batch);
  if (target_dialect == "postgresql") return PostgresScript(batch);
  return Status::Invalid("cannot write SQL for a " + target_dialect + " database");
}

}  // namespace cfgit
