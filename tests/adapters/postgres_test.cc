// The PostgreSQL adapter: its pure rules (COPY text, connection strings, cross-dialect mapping)
// without a server, then introspection, reading and writing against the real server that
// scripts/with-postgres.sh starts (CFGIT_TEST_PG). Each server test uses a fresh database.
#include "tests/support/postgres.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <map>
#include <thread>

#include "adapters/adapter.h"
#include "adapters/postgres/connection_string.h"
#include "adapters/postgres/copy_text.h"
#include "adapters/postgres/pg_types.h"
#include "diff/diff.h"
#include "store/encoding.h"
#include "store/store.h"
#include "tests/support/support.h"

using cfgit::Adapter;
using cfgit::ChangeBatch;
using cfgit::Code;
using cfgit::Column;
using cfgit::Row;
using cfgit::RowUpdate;
using cfgit::TableBatch;
using cfgit::TableSchema;
using cfgit::Value;
using cfgit::test::Shell;
using cfgit::test::TempDir;

namespace pg = cfgit::pg;

namespace {

// ---------------------------------------------------------------------------------------------
// A server and a fresh database per test.

#define SKIP_WITHOUT_PG(server)          \
  const std::string server = PgServer(); \
  if (server.empty()) return

using cfgit::test::PgServer;
using cfgit::test::Psql;
using cfgit::test::ShellQuote;

// A fresh database, plus the ways these tests reach it.
class TestDb : public cfgit::test::PgTestDatabase {
 public:
  using PgTestDatabase::PgTestDatabase;

  // The postgresql:// form, from the PG* variables the test script exports.
  std::string url(const std::string& query = "") const {
    const char* host = std::getenv("PGHOST");
    const char* port = std::getenv("PGPORT");
    const char* user = std::getenv("PGUSER");
    return std::string("postgresql://") + (user ? user : "postgres") + "@" +
           (host ? host : "127.0.0.1") + ":" + (port ? port : "5432") + "/" + name() + query;
  }
  std::string One(const std::string& sql) const {
    auto rows = Rows(sql);
    REQUIRE(rows.size() == 1);
    return rows[0];
  }

  std::unique_ptr<Adapter> Open(const std::string& query = "") const {
    auto a = Adapter::Open(query.empty() ? conninfo() : url(query),
                           {.base_dir = "/", .environment = "test"});
    INFO(a.status().message());
    REQUIRE(a.ok());
    return std::move(a).value();
  }
};

std::vector<Row> ReadAll(Adapter& a, const TableSchema& s) {
  auto reader = a.Scan(s);
  INFO(reader.status().message());
  REQUIRE(reader.ok());
  std::vector<Row> rows;
  Row row;
  while (true) {
    auto more = (*reader)->Next(&row);
    INFO(more.status().message());
    REQUIRE(more.ok());
    if (!more.value()) break;
    rows.push_back(row);
  }
  // Scan gives rows in no particular order: sorted here, so that tests can name them.
  std::sort(rows.begin(), rows.end(),
            [](const Row& x, const Row& y) { return cfgit::CompareRows(x, y) < 0; });
  return rows;
}

TableSchema Schema(Adapter& a, const std::string& table) {
  auto s = a.ReadSchema(table);
  INFO(s.status().message());
  REQUIRE(s.ok());
  s->key = s->primary_key;
  return std::move(s).value();
}

Value I(int64_t v) { return Value::Integer(v); }
Value T(const std::string& v) { return Value::Text(v); }

// Applies one batch in its own write transaction and commits.
cfgit::Status Apply(Adapter& a, const ChangeBatch& batch) {
  std::vector<std::string> tables;
  for (const auto& t : batch.tables) tables.push_back(t.schema.name);
  cfgit::Status s = a.BeginWrite(tables);
  if (!s.ok()) return s;
  s = a.Write(batch);
  if (!s.ok()) return s;
  return a.Commit();
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Pure rules: no server needed.

TEST_CASE("postgres: COPY text lines are split and unescaped", "[postgres][unit]") {
  std::vector<pg::CopyField> f;
  REQUIRE(pg::ParseCopyLine("1\ta\\tb\\nc\\\\d\t\\N\t\t\\x41\\101\\b\\f\\r\\v\\q\n", &f).ok());
  REQUIRE(f.size() == 5);
  CHECK(f[0] == std::optional<std::string>("1"));
  CHECK(f[1] == std::optional<std::string>("a\tb\nc\\d"));
  CHECK_FALSE(f[2].has_value());
  CHECK(f[3] == std::optional<std::string>(""));
  CHECK(f[4] == std::optional<std::string>("AA\b\f\r\vq"));

  REQUIRE(pg::ParseCopyLine("\\\\N\t\\\\x00", &f).ok());  // an escaped backslash is not NULL
  CHECK(f[0] == std::optional<std::string>("\\N"));
  CHECK(f[1] == std::optional<std::string>("\\x00"));
  CHECK(pg::ParseCopyLine("abc\\", &f).code() == Code::kInvalid);
  CHECK(pg::ParseCopyLine("ok\tab\\x4", &f).ok());  // \x with one hex digit
  CHECK(f.back() == std::optional<std::string>("ab\x04"));

  // The vector is reused from line to line: fields are assigned over what the last line left,
  // NULLs and values trade places, and the vector is cut to the new line's fields.
  REQUIRE(pg::ParseCopyLine("long value one\t\\N\tthree\tfour", &f).ok());
  REQUIRE(pg::ParseCopyLine("\\N\tx\\\\y", &f).ok());
  REQUIRE(f.size() == 2);
  CHECK_FALSE(f[0].has_value());
  CHECK(f[1] == std::optional<std::string>("x\\y"));
  REQUIRE(pg::ParseCopyLine("a\\tb\\\\\t\\101z\t\t", &f).ok());
  REQUIRE(f.size() == 4);
  CHECK(f[0] == std::optional<std::string>("a\tb\\"));
  CHECK(f[1] == std::optional<std::string>("Az"));
  CHECK(f[2] == std::optional<std::string>(""));
  CHECK(f[3] == std::optional<std::string>(""));

  std::string line;
  const std::string nasty = "tab\there\nnew\\back\rcr é日本";
  pg::AppendCopyField(nasty, &line);
  line.push_back('\t');
  pg::AppendCopyField(std::nullopt, &line);
  line.push_back('\t');
  pg::AppendCopyField(std::string("\\N"), &line);
  CHECK(line.find('\n') == std::string::npos);
  REQUIRE(pg::ParseCopyLine(line, &f).ok());
  REQUIRE(f.size() == 3);
  CHECK(f[0] == std::optional<std::string>(nasty));
  CHECK_FALSE(f[1].has_value());
  CHECK(f[2] == std::optional<std::string>("\\N"));
}

TEST_CASE("postgres: bytea, float and integer text forms", "[postgres][unit]") {
  CHECK(pg::EncodeByteaHex(std::string("\0\xff\x10", 3)) == "\\x00ff10");
  CHECK(pg::DecodeByteaHex("\\x00FF10").value() == std::string("\0\xff\x10", 3));
  CHECK(pg::DecodeByteaHex("\\x").value().empty());
  CHECK_FALSE(pg::DecodeByteaHex("\\x0").ok());
  CHECK_FALSE(pg::DecodeByteaHex("\\000").ok());

  CHECK(std::isnan(pg::ParseFloat("NaN").value()));
  CHECK(pg::ParseFloat("Infinity").value() == std::numeric_limits<double>::infinity());
  CHECK(pg::ParseFloat("-Infinity").value() == -std::numeric_limits<double>::infinity());
  CHECK(std::signbit(pg::ParseFloat("-0").value()));
  CHECK(pg::ParseFloat("1e+100").value() == 1e100);
  CHECK_FALSE(pg::ParseFloat("1.5x").ok());
  CHECK(pg::FormatFloat(0.1) == "0.1");
  CHECK(pg::FormatFloat(-0.0) == "-0");
  CHECK(pg::FormatFloat(std::nan("")) == "NaN");
  CHECK(pg::FormatFloat(-std::numeric_limits<double>::infinity()) == "-Infinity");
  CHECK(pg::ParseFloat(pg::FormatFloat(5e-324)).value() == 5e-324);
  CHECK(pg::ParseInteger("-9223372036854775808").value() == INT64_MIN);
  CHECK_FALSE(pg::ParseInteger("9223372036854775808").ok());
}

TEST_CASE("postgres: URLs lose cfgit's schema parameter, keep the rest", "[postgres][unit]") {
  auto t = pg::ParseConnectionTarget("postgresql://cfg:pw@db:5433/app?sslmode=require&schema=cfg");
  REQUIRE(t.ok());
  CHECK(t->conninfo == "postgresql://cfg:pw@db:5433/app?sslmode=require");
  CHECK(t->schemas == std::vector<std::string>{"cfg"});

  t = pg::ParseConnectionTarget("postgres://db/app?schema=a,my%20b");
  REQUIRE(t.ok());
  CHECK(t->conninfo == "postgres://db/app");
  CHECK(t->schemas == std::vector<std::string>{"a", "my b"});

  t = pg::ParseConnectionTarget("postgresql://db/app");
  REQUIRE(t.ok());
  CHECK(t->schemas == std::vector<std::string>{"public"});
  CHECK(pg::ParseConnectionTarget("postgresql://db/app?schema=a,,b").status().code() ==
        Code::kInvalid);

  t = pg::ParseConnectionTarget("host=db schema = 'my schema' dbname=app");
  REQUIRE(t.ok());
  CHECK(t->conninfo == "host=db  dbname=app");
  CHECK(t->schemas == std::vector<std::string>{"my schema"});
  t = pg::ParseConnectionTarget("service=prod");
  REQUIRE(t.ok());
  CHECK(t->conninfo == "service=prod");
  CHECK(pg::ParseConnectionTarget("host='db").status().code() == Code::kInvalid);

  CHECK(pg::IsPostgresUrl("postgresql://x/y"));
  CHECK(pg::IsPostgresUrl("postgres://x/y"));
  CHECK(pg::IsPostgresUrl("host=x dbname=y"));
  CHECK_FALSE(pg::IsPostgresUrl("mysql://x/y?a=b"));
}

TEST_CASE("postgres: passwords never show in messages", "[postgres][unit]") {
  CHECK(pg::RedactConnection("postgresql://cfg:s3cret@db/app") == "postgresql://cfg:***@db/app");
  CHECK(pg::RedactConnection("postgresql://cfg@db/app?password=s3cret&x=1") ==
        "postgresql://cfg@db/app?password=***&x=1");
  CHECK(pg::RedactConnection("host=db password=s3cret dbname=app") ==
        "host=db password=*** dbname=app");
  std::string quoted = pg::RedactConnection("host=db password = 'a s3cret \\' b' dbname=app");
  CHECK(quoted == "host=db password = *** dbname=app");
  CHECK(pg::RedactConnection("host=db password='s3cret").find("s3cret") == std::string::npos);
}

TEST_CASE("postgres: which values a column takes without conversion", "[postgres][unit]") {
  auto column = [](const std::string& type, const std::string& base) {
    pg::PgColumn c;
    c.type = type;
    c.base_type = base;
    c.type_class = pg::ClassifyBaseType(base, false);
    return c;
  };
  pg::PgColumn int4 = column("integer", "int4"), int2 = column("smallint", "int2"),
               boolean = column("boolean", "bool"), text = column("text", "text"),
               bytea = column("bytea", "bytea"), numeric = column("numeric", "numeric"),
               jsonb = column("jsonb", "jsonb"), f8 = column("double precision", "float8"),
               ts = column("timestamp with time zone", "timestamptz");
  auto ok = [](const Value& v, const pg::PgColumn& c, const char* dialect = "sqlite") {
    return pg::RefuseReason(v, c, dialect).empty();
  };
  CHECK(ok(I(5), int4));
  CHECK_FALSE(ok(I(int64_t{1} << 40), int4));
  CHECK_FALSE(ok(I(40000), int2));
  CHECK(ok(I(1), boolean));
  CHECK(ok(I(0), boolean));
  CHECK_FALSE(ok(I(2), boolean));
  CHECK_FALSE(ok(I(1), boolean, "postgresql"));
  CHECK(ok(Value::Bool(true), boolean));
  CHECK_FALSE(ok(T("true"), boolean));
  CHECK_FALSE(ok(T("abc"), int4));
  CHECK_FALSE(ok(T("5"), int4));
  CHECK_FALSE(ok(Value::Real(1.0), int4));
  CHECK_FALSE(ok(Value::Blob("x"), text));
  CHECK_FALSE(ok(I(5), text));
  CHECK(ok(Value::Blob(std::string("\0", 1)), bytea));
  CHECK_FALSE(ok(T("\\x00"), bytea));
  CHECK(ok(I(5), numeric));
  CHECK(ok(Value::Real(1.5), numeric));
  CHECK(ok(T("1.10"), numeric));
  CHECK_FALSE(ok(T("abc"), numeric));
  CHECK(ok(T("{\"a\":1}"), jsonb));
  CHECK(ok(I(5), jsonb));
  CHECK_FALSE(ok(Value::Real(std::nan("")), jsonb));
  CHECK(ok(Value::Real(std::nan("")), f8));
  CHECK(ok(I(3), f8));
  CHECK(ok(T("2024-01-01 00:00:00+00"), ts));
  CHECK_FALSE(ok(T(std::string("a\0b", 3)), text));
  CHECK_FALSE(ok(T("\xff\xfe"), text));
  CHECK(ok(Value::Null(), int4));
  CHECK_THAT(pg::RefuseReason(Value::Blob("x"), text, "sqlite"), Catch::Contains("blob"));

  CHECK(pg::ToServerText(I(1), boolean) == std::optional<std::string>("true"));
  CHECK(pg::ToServerText(Value::Bool(false), boolean) == std::optional<std::string>("false"));
  CHECK(pg::ToServerText(Value::Blob("\x01"), bytea) == std::optional<std::string>("\\x01"));
  CHECK_FALSE(pg::ToServerText(Value::Null(), text).has_value());
}

TEST_CASE("postgres: SQLite column definitions map to PostgreSQL types", "[postgres][unit]") {
  auto map = [](const std::string& type, std::optional<std::string> def = std::nullopt,
                bool rowid = false) {
    return pg::SqliteColumnDefinition(Column{.name = "c", .type = type, .default_sql = def}, rowid);
  };
  CHECK(map("INTEGER").value() == "bigint");
  CHECK(map("INTEGER", std::nullopt, true).value() == "bigint GENERATED BY DEFAULT AS IDENTITY");
  CHECK(map("int").value() == "bigint");
  CHECK(map("TEXT").value() == "text");
  CHECK(map("VARCHAR(255)").value() == "character varying(255)");
  CHECK(map("varchar ( 20 )").value() == "character varying(20)");
  CHECK(map("CHAR(3)").value() == "character varying(3)");
  CHECK(map("REAL").value() == "double precision");
  CHECK(map("DOUBLE PRECISION").value() == "double precision");
  CHECK(map("FLOAT").value() == "double precision");
  CHECK(map("BLOB").value() == "bytea");
  CHECK(map("BOOLEAN", "0").value() == "boolean DEFAULT false");
  CHECK(map("BOOLEAN", "TRUE").value() == "boolean DEFAULT true");
  CHECK(map("NUMERIC").value() == "numeric");
  CHECK(map("DECIMAL(10,2)").value() == "numeric(10,2)");
  CHECK(map("JSON").value() == "jsonb");
  CHECK(map("DATETIME").value() == "text");
  CHECK(map("TEXT", "'it''s'").value() == "text DEFAULT 'it''s'");
  CHECK(map("INTEGER", "-5").value() == "bigint DEFAULT -5");
  CHECK(map("GEOMETRY").status().code() == Code::kInvalid);
  CHECK(map("").status().code() == Code::kInvalid);
  CHECK(map("BOOLEAN", "2").status().code() == Code::kInvalid);
  CHECK(map("DATETIME", "CURRENT_TIMESTAMP").status().code() == Code::kInvalid);
  CHECK_THAT(map("GEOMETRY").status().message(),
             Catch::Contains("'c'") && Catch::Contains("GEOMETRY"));
}

// ---------------------------------------------------------------------------------------------
// Against the server.

namespace {

// A NocoBase-shaped schema with the PostgreSQL features introspection must see.
const char* kNocoBase = R"(
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE DOMAIN posint AS integer CHECK (VALUE > 0);
CREATE TABLE roles (name varchar(255) PRIMARY KEY, title varchar(255), "default" boolean DEFAULT false);
CREATE TABLE "rolesResources" (
  id serial PRIMARY KEY,
  "roleName" varchar(255) NOT NULL REFERENCES roles(name) ON UPDATE CASCADE ON DELETE CASCADE,
  name varchar(255) NOT NULL,
  "usingActionsConfig" boolean DEFAULT false,
  UNIQUE ("roleName", name));
CREATE TABLE "uiSchemas" ("x-uid" varchar(255) PRIMARY KEY, name varchar(255), schema json);
CREATE TABLE "uiSchemaTreePath" (ancestor varchar(255) REFERENCES "uiSchemas"("x-uid")
    DEFERRABLE INITIALLY DEFERRED, descendant varchar(255), depth integer, async boolean, type varchar(255), sort integer);
CREATE TABLE collections (
  key uuid PRIMARY KEY, name varchar(255) NOT NULL, options jsonb DEFAULT '{}'::jsonb,
  tags text[] DEFAULT '{}', mood mood, size posint, price numeric(10,2), ratio real,
  "createdAt" timestamp with time zone DEFAULT now(), "at" timestamp(3) without time zone,
  icon bytea, seq bigint GENERATED ALWAYS AS IDENTITY, twice integer GENERATED ALWAYS AS (size * 2) STORED,
  "sortBy" integer GENERATED BY DEFAULT AS IDENTITY);
CREATE UNIQUE INDEX collections_lower_name ON collections (lower(name));
CREATE UNIQUE INDEX collections_active_name ON collections (name) WHERE mood <> 'sad';
CREATE INDEX collections_by_mood ON collections (mood, price);
CREATE VIEW active_roles AS SELECT * FROM roles;
CREATE TABLE logs (id bigint, at date) PARTITION BY RANGE (at);
CREATE TABLE logs_2024 PARTITION OF logs FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE SCHEMA other;
CREATE TABLE other.hidden (id int PRIMARY KEY);
)";

const Column* Col(const TableSchema& s, const std::string& name) {
  const Column* c = s.FindColumn(name);
  INFO("column " << name);
  REQUIRE(c != nullptr);
  return c;
}

}  // namespace

TEST_CASE("postgres: introspects a NocoBase-shaped schema from pg_catalog", "[postgres]") {
  SKIP_WITHOUT_PG(server);
  TestDb db(server);
  db.Exec(kNocoBase);
  auto a = db.Open();
  REQUIRE(a->dialect() == "postgresql");
  REQUIRE(a->BeginConsistentRead().ok());

  auto tables = a->ListTables();
  REQUIRE(tables.ok());
  // Tables of schema public only; no views; a partitioned table once, without its partitions.
  CHECK(tables.value() == std::vector<std::string>{"collections", "logs", "roles", "rolesResources",
                                                   "uiSchemaTreePath", "uiSchemas"});

  TableSchema rr = Schema(*a, "rolesResources");
  REQUIRE(rr.columns.size() == 4);
  CHECK(rr.columns[0].name == "id");
  CHECK(rr.columns[0].type == "integer");
  CHECK(rr.columns[0].not_null);
  CHECK(rr.columns[0].default_sql ==
        std::optional<std::string>("nextval('\"rolesResources_id_seq\"'::regclass)"));
  CHECK(rr.columns[1].type == "character varying(255)");
  CHECK(rr.columns[3].default_sql == std::optional<std::string>("false"));
  CHECK(rr.primary_key == std::vector<std::string>{"id"});
  REQUIRE(rr.indexes.size() == 1);
  CHECK(rr.indexes[0].name == "rolesResources_roleName_name_key");
  CHECK(rr.indexes[0].unique);
  CHECK(rr.indexes[0].columns == std::vector<std::string>{"roleName", "name"});
  REQUIRE(rr.foreign_keys.size() == 1);
  CHECK(rr.foreign_keys[0].columns == std::vector<std::string>{"roleName"});
  CHECK(rr.foreign_keys[0].ref_table == "roles");
  CHECK(rr.foreign_keys[0].ref_columns == std::vector<std::string>{"name"});
  CHECK(rr.foreign_keys[0].on_update == "CASCADE");
  CHECK(rr.foreign_keys[0].on_delete == "CASCADE");
  CHECK_FALSE(rr.foreign_keys[0].deferrable);
  CHECK(rr.sql.empty());

  TableSchema tree = Schema(*a, "uiSchemaTreePath");
  CHECK(tree.primary_key.empty());  // keyless
  REQUIRE(tree.foreign_keys.size() == 1);
  CHECK(tree.foreign_keys[0].ref_table == "uiSchemas");
  CHECK(tree.foreign_keys[0].on_delete == "NO ACTION");
  CHECK(tree.foreign_keys[0].deferrable);
  CHECK(tree.foreign_keys[0].initially_deferred);

  TableSchema c = Schema(*a, "collections");
  CHECK(Col(c, "key")->type == "uuid");
  CHECK(Col(c, "options")->type == "jsonb");
  CHECK(Col(c, "options")->default_sql == std::optional<std::string>("'{}'::jsonb"));
  CHECK(Col(c, "tags")->type == "text[]");
  CHECK(Col(c, "mood")->type == "mood");
  CHECK(Col(c, "size")->type == "posint");
  CHECK(Col(c, "price")->type == "numeric(10,2)");
  CHECK(Col(c, "ratio")->type == "real");
  CHECK(Col(c, "createdAt")->type == "timestamp with time zone");
  CHECK(Col(c, "createdAt")->default_sql == std::optional<std::string>("now()"));
  CHECK(Col(c, "at")->type == "timestamp(3) without time zone");
  CHECK(Col(c, "icon")->type == "bytea");
  CHECK(Col(c, "name")->not_null);
  CHECK_FALSE(Col(c, "mood")->not_null);
  CHECK(Col(c, "seq")->default_sql == std::optional<std::string>("GENERATED ALWAYS AS IDENTITY"));
  CHECK(Col(c, "sortBy")->default_sql ==
        std::optional<std::string>("GENERATED BY DEFAULT AS IDENTITY"));
  CHECK(Col(c, "twice")->default_sql ==
        std::optional<std::string>("GENERATED ALWAYS AS (((size)::integer * 2)) STORED"));
  REQUIRE(c.indexes.size() == 3);  // sorted by name
  CHECK(c.indexes[0].name == "collections_active_name");
  CHECK_FALSE(c.indexes[0].unique);  // partial: recorded as a plain index
  CHECK(c.indexes[1].name == "collections_by_mood");
  CHECK(c.indexes[1].columns == std::vector<std::string>{"mood", "price"});
  CHECK_FALSE(c.indexes[1].unique);
  CHECK(c.indexes[2].columns == std::vector<std::string>{"<expression>"});
  CHECK(c.indexes[2].unique);

  auto missing = a->ReadSchema("active_roles");  // a view is not a table
  CHECK(missing.status().code() == Code::kDatabase);
  CHECK_THAT(missing.status().message(),
             Catch::Contains("active_roles") && Catch::Contains("public"));
  // The transaction survives a missing table.
  CHECK(a->ReadSchema("roles").ok());
}

TEST_CASE("postgres: COPY reading keeps every type's exact value", "[postgres]") {
  SKIP_WITHOUT_PG(server);
  TestDb db(server);
  db.Exec(R"(
    CREATE TYPE mood AS ENUM ('sad', 'happy');
    CREATE DOMAIN posint AS integer CHECK (VALUE > 0);
    CREATE DOMAIN label AS text;
    CREATE TABLE t (id int PRIMARY KEY, i2 smallint, i8 bigint, f4 real, f8 double precision,
      n numeric, b boolean, tx text, by bytea, tz timestamptz, ts timestamp, d date, iv interval,
      u uuid, j json, jb jsonb, ai int[], at text[], m mood, p posint, l label, vc varchar(10));
    INSERT INTO t VALUES
      (1, -32768, 9223372036854775807, 3.4028235e38, 'NaN', 1.10, true, '', '\x', '2024-02-29 23:59:59.999999-08',
       '2024-01-01 00:00:00', '2024-12-31', '1 year 2 mons 3 days 04:05:06.7', 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11',
       '{ "a" : [1, {"b": null}],  "c": "x\ny" }', '{"z": 1, "a": {"y": [true, null]}}', '{}', '{"a b",NULL,"c,d","q\"x"}',
       'happy', 7, 'lbl', 'ten chars!'),
      (2, 32767, -9223372036854775808, 'Infinity', '-Infinity', -0.000, false, E'a\tb\nc\\d\r é日本🎉', E'\\x00ff0000',
       'infinity', '-infinity', '0001-01-01 BC', '-1 days', '00000000-0000-0000-0000-000000000000',
       '[]', '[]', '{{1,2},{3,4}}', '{}', 'sad', 1, '', ''),
      (3, NULL, NULL, '-0', 0.1, 'NaN', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
      (4, 0, 0, 1.5, 1e-300, 12345678901234567890.12345678901234567890, NULL, E'\\N', E'\\x5c4e', NULL, NULL, NULL, NULL, NULL,
       '"just a string"', 'null', NULL, NULL, NULL, NULL, NULL, NULL);
  )");
  auto a = db.Open();
  REQUIRE(a->BeginConsistentRead().ok());
  auto rows = ReadAll(*a, Schema(*a, "t"));
  REQUIRE(rows.size() == 4);
  const Row& r1 = rows[0];
  CHECK(r1[0] == I(1));
  CHECK(r1[1] == I(-32768));
  CHECK(r1[2] == I(INT64_MAX));
  // real's shortest text, read as a double; it writes back to the same real.
  CHECK(r1[3] == Value::Real(3.4028235e38));
  CHECK(std::isnan(r1[4].real()));
  CHECK(r1[4].kind() == Value::Kind::kReal);
  CHECK(r1[5] == T("1.10"));  // numeric keeps its trailing zero
  CHECK(r1[6] == Value::Bool(true));
  CHECK(r1[7] == T(""));  // empty text, not NULL
  CHECK(r1[8] == Value::Blob(""));
  CHECK(r1[9] == T("2024-03-01 07:59:59.999999+00"));  // timestamptz in UTC
  CHECK(r1[10] == T("2024-01-01 00:00:00"));
  CHECK(r1[11] == T("2024-12-31"));
  CHECK(r1[12] == T("1 year 2 mons 3 days 04:05:06.7"));
  CHECK(r1[13] == T("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"));
  CHECK(r1[14] == T("{ \"a\" : [1, {\"b\": null}],  \"c\": \"x\\ny\" }"));  // json: exact text
  CHECK(r1[15] == T("{\"a\": {\"y\": [true, null]}, \"z\": 1}"));           // jsonb: normalized
  CHECK(r1[16] == T("{}"));
  CHECK(r1[17] == T("{\"a b\",NULL,\"c,d\",\"q\\\"x\"}"));
  CHECK(r1[18] == T("happy"));
  CHECK(r1[19] == I(7));  // a domain over integer reads as an integer
  CHECK(r1[20] == T("lbl"));
  CHECK(r1[21] == T("ten chars!"));

  const Row& r2 = rows[1];
  CHECK(r2[1] == I(32767));
  CHECK(r2[2] == I(INT64_MIN));
  CHECK(r2[3] == Value::Real(std::numeric_limits<double>::infinity()));
  CHECK(r2[4] == Value::Real(-std::numeric_limits<double>::infinity()));
  CHECK(r2[5] == T("0.000"));
  CHECK(r2[6] == Value::Bool(false));
  CHECK(r2[7] == T("a\tb\nc\\d\r é日本🎉"));
  CHECK(r2[8] == Value::Blob(std::string("\0\xff\0\0", 4)));
  CHECK(r2[9] == T("infinity"));
  CHECK(r2[11] == T("0001-01-01 BC"));
  CHECK(r2[16] == T("{{1,2},{3,4}}"));
  CHECK(r2[20] == T(""));

  const Row& r3 = rows[2];
  CHECK(r3[3] == Value::Real(-0.0));  // -0 stays -0
  CHECK(r3[4] == Value::Real(0.1));
  CHECK(r3[5] == T("NaN"));
  for (size_t i = 6; i < r3.size(); ++i) CHECK(r3[i].is_null());

  const Row& r4 = rows[3];
  CHECK(r4[3] == Value::Real(1.5));
  CHECK(r4[4] == Value::Real(1e-300));
  CHECK(r4[5] == T("12345678901234567890.12345678901234567890"));
  CHECK(r4[7] == T("\\N"));  // the text \N is not NULL
  CHECK(r4[8] == Value::Blob("\\N"));
  CHECK(r4[14] == T("\"just a string\""));
  CHECK(r4[15] == T("null"));  // JSON null is not SQL NULL
}

TEST_CASE("postgres: every row streams, whatever the collation or the column types", "[postgres]") {
  SKIP_WITHOUT_PG(server);
  TestDb db(server);
  db.Exec(R"(
    CREATE TABLE t (k text COLLATE "und-x-icu" PRIMARY KEY, v int);
    INSERT INTO t VALUES ('b', 1), ('B', 2), ('a', 3), ('_', 4), ('é', 5), ('Z', 6);
    CREATE TABLE keyless (j json, n int);
    INSERT INTO keyless VALUES ('{"b":1}', 1), ('{"a":1}', 2), ('{"a":1}', 2), (NULL, 3);
  )");
  auto a = db.Open();
  auto rows = ReadAll(*a, Schema(*a, "t"));
  std::vector<std::string> keys;
  for (const Row& r : rows) keys.push_back(r[0].bytes());
  CHECK(keys == std::vector<std::string>{"B", "Z", "_", "a", "b", "é"});  // sorted by ReadAll

  // A json column (no ordering in PostgreSQL) in a keyless table: duplicates included.
  auto k = ReadAll(*a, Schema(*a, "keyless"));
  REQUIRE(k.size() == 4);
  CHECK(std::count(k.begin(), k.end(), Row{T("{\"a\":1}"), I(2)}) == 2);
  CHECK(std::count(k.begin(), k.end(), Row{T("{\"b\":1}"), I(1)}) == 1);
  CHECK(std::count(k.begin(), k.end(), Row{Value::Null(), I(3)}) == 1);
}

TEST_CASE("postgres: identifiers with capitals, spaces, quotes and dots", "[postgres]") {
  SKIP_WITHOUT_PG(server);
  TestDb db(server);
  db.Exec(R"(
    CREATE SCHEMA "My ""Odd"".Schema";
    CREATE TABLE "My ""Odd"".Schema"."Odd ""T"".x" ("x-uid" varchar(20) PRIMARY KEY, "a""b c" text,
      "Select" int);
    INSERT INTO "My ""Odd"".Schema"."Odd ""T"".x" VALUES ('u/1', 'one', 1), ('u.2', 'two', 2);
  )");
  // schema= takes the name percent-encoded in a URL.
  auto a = db.Open("?schema=My%20%22Odd%22.Schema");
  auto tables = a->ListTables();
  REQUIRE(tables.ok());
  CHECK(tables.value() == std::vector<std::string>{"Odd \"T\".x"});
  TableSchema s = Schema(*a, "Odd \"T\".x");
  CHECK(s.columns[1].name == "a\"b c");
  CHECK(s.primary_key == std::vector<std::string>{"x-uid"});
  auto rows = ReadAll(*a, s);
  REQUIRE(rows.size() == 2);
  CHECK(rows[0] == Row{T("u.2"), T("two"), I(2)});

  TableBatch t{.schema = s};
  t.updates.push_back(
      RowUpdate{.key = {T("u/1")}, .columns = {"a\"b c", "Select"}, .values = {T("uno"), I(10)}});
  t.deletes.push_back({T("u.2")});
  t.inserts.push_back({T("u\"3"), T("three"), I(3)});
  REQUIRE(Apply(*a, {.source_dialect = "postgresql", .tables = {t}}).ok());
  CHECK(db.Rows("SELECT * FROM \"My \"\"Odd\"\".Schema\".\"Odd \"\"T\"\".x\" ORDER BY 1") ==
        std::vector<std::string>{"u\"3|three|3", "u/1|uno|10"});
}

TEST_CASE("postgres: several schemas name their tables schema.table", "[postgres]") {
  SKIP_WITHOUT_PG(server);
  TestDb db(server);
  db.Exec(R"(
    CREATE SCHEMA app; CREATE SCHEMA "app.x";
    CREATE TABLE app.roles (name text PRIMARY KEY);
    CREATE TABLE "app.x".items (id int PRIMARY KEY, role text REFERENCES app.roles(name));
    CREATE TABLE public.ignored (id int);
    INSERT INTO app.roles VALUES ('admin'); INSERT INTO "app.x".items VALUES (1, 'admin');
  )");
  auto a = db.Open("?schema=app,app.x");
  auto tables = a->ListTables();
  REQUIRE(tables.ok());
  CHECK(tables.value() == std::vector<std::string>{"app.roles", "app.x.items"});
  TableSchema items = Schema(*a, "app.x.items");
  REQUIRE(items.foreign_keys.size() == 1);
  CHECK(items.foreign_keys[0].ref_table == "app.roles");
  CHECK(ReadAll(*a, items) == std::vector<Row>{{I(1), T("admin")}});
}

TEST_CASE("postgres: opening names the environment and hides the password", "[postgres]") {
  SKIP_WITHOUT_PG(server);
  TestDb db(server);
  cfgit::OpenOptions o{.base_dir = "/", .environment = "prod"};

  // The URL form, the keyword form, and PG* variables filling in what the string leaves out.
  CHECK(Adapter::Open(db.url(), o).ok());
  CHECK(Adapter::Open(db.conninfo(), o).ok());
  CHECK(Adapter::Open("dbname=" + db.name(), o).ok());

  auto refused = Adapter::Open("postgresql://cfg:s3cret@127.0.0.1:1/app", o);
  CHECK(refused.status().code() == Code::kDatabase);
  CHECK_THAT(refused.status().message(),
             Catch::Contains("environment 'prod'") &&
                 Catch::Contains("postgresql://cfg:***@127.0.0.1:1/app"));
  CHECK(refused.status().message().find("s3cret") == std::string::npos);

  auto keyword = Adapter::Open("host=127.0.0.1 port=1 password='s3 cret' dbname=app", o);
  CHECK(keyword.status().code() == Code::kDatabase);
  CHECK(keyword.status().message().find("s3") == std::string::npos);

  auto no_db = Adapter::Open(db.conninfo() + "_nope", o);
  CHECK(no_db.status().code() == Code::kDatabase);
  CHECK_THAT(no_db.status().message(), Catch::Contains(db.name() + "_nope"));

  auto no_schema = Adapter::Open(db.url("?schema=nope"), o);
  CHECK(no_schema.status().code() == Code::kDatabase);
  CHECK_THAT(no_schema.status().message(), Catch::Contains("schema 'nope' does not exist"));

  // A service file: libpq reads it when the string names the service.
  TempDir dir;
  const char* host = std::getenv("PGHOST");
  const char* port = std::getenv("PGPORT");
  const char* user = std::getenv("PGUSER");
  if (host && port && user) {
    cfgit::test::WriteFile(dir / "pg_service.conf", "[cfgit_test]\nhost=" + std::string(host) +
                                                        "\nport=" + port + "\nuser=" + user +
                                                        "\ndbname=" + db.name() + "\n");
    ::setenv("PGSERVICEFILE", (dir / "pg_service.conf").c_str(), 1);
    auto service = Adapter::Open("service=cfgit_test", o);
    ::unsetenv("PGSERVICEFILE");
    INFO(service.status().message());
    CHECK(service.ok());
  }
}

namespace {

const char* kWriteSchema = R"(
  CREATE TABLE parent (id int PRIMARY KEY, name text UNIQUE);
  CREATE TABLE child (id int PRIMARY KEY, parent_id int NOT NULL REFERENCES parent(id), note text);
  CREATE TABLE grandchild (id int PRIMARY KEY, child_id int REFERENCES child(id));
)";

}  // namespace

TEST_CASE("postgres: writes follow foreign keys with non-deferrable constraints", "[postgres]") {
  SKIP_WITHOUT_PG(server);
  TestDb db(server);
  db.Exec(kWriteSchema);
  db.Exec(
      "INSERT INTO parent VALUES (1, 'old'); INSERT INTO child VALUES (1, 1, 'x');"
      "INSERT INTO grandchild VALUES (1, 1);");
  auto a = db.Open();
  TableSchema parent = Schema(*a, "parent"), child = Schema(*a, "child"),
              grand = Schema(*a, "grandchild");

  // Listed children first: the adapter inserts parents first...
  ChangeBatch add{.source_dialect = "postgresql"};
  add.tables.push_back({.schema = grand, .inserts = {{I(2), I(2)}}});
  add.tables.push_back({.schema = child, .inserts = {{I(2), I(2), T("y")}}});
  add.tables.push_back({.schema = parent, .inserts = {{I(2), T("new")}}});
  auto s = Apply(*a, add);
  INFO(s.message());
  REQUIRE(s.ok());
  CHECK(db.One("SELECT count(*) FROM grandchild") == "2");

  // ... and deletes children first, whatever the order of the batch.
  ChangeBatch remove{.source_dialect = "postgresql"};
  remove.tables.push_back({.schema = parent, .deletes = {{I(1)}}});
  remove.tables.push_back({.schema = child, .deletes = {{I(1)}}});
  remove.tables.push_back({.schema = grand, .deletes = {{I(1)}}});
  s = Apply(*a, remove);
  INFO(s.message());
  REQUIRE(s.ok());
  CHECK(db.Rows("SELECT id, name FROM parent") == std::vector<std::string>{"2|new"});

  // A unique value freed by a delete can be taken by an insert of the same batch.
  ChangeBatch swap{.source_dialect = "postgresql"};
  swap.tables.push_back({.schema = parent, .inserts = {{I(3), T("new")}}});
  swap.tables.back().deletes = {{I(2)}};
  swap.tables.push_back({.schema = child, .deletes = {{I(2)}}});
  swap.tables.push_back({.schema = grand, .deletes = {{I(2)}}});
  s = Apply(*a, swap);
  INFO(s.message());
  REQUIRE(s.ok());
  CHECK(db.Rows("SELECT id, name FROM parent") == std::vector<std::string>{"3|new"});
}

TEST_CASE("postgres: large batches go through COPY into a temporary table", "[postgres]") {
  SKIP_WITHOUT_PG(server);
  TestDb db(server);
  db.Exec(R"(
    CREATE TABLE big (id int PRIMARY KEY, name text, data bytea, f float8, tags text[], j json);
    INSERT INTO big SELECT g, 'old ' || g, NULL, g, NULL, NULL FROM generate_series(1, 3000) g;
    CREATE TABLE pairs (a text, b int, v text, PRIMARY KEY (a, b));
  )");
  auto a = db.Open();
  TableSchema big = Schema(*a, "big");
  TableBatch t{.schema = big};
  for (int i = 1; i <= 1200; ++i) t.deletes.push_back({I(i)});
  for (int i = 1201; i <= 2500; ++i) {
    t.updates.push_back({.key = {I(i)},
                         .columns = {"name", "data"},
                         .values = {T("new\t" + std::to_string(i) + "\n\\"),
                                    Value::Blob(std::string("\0\x01", 2))}});
  }
  for (int i = 2501; i <= 2510; ++i) {  // a small group of another shape: prepared statements
    t.updates.push_back({.key = {I(i)}, .columns = {"f"}, .values = {Value::Real(std::nan(""))}});
  }
  for (int i = 5001; i <= 6500; ++i) {
    t.inserts.push_back({I(i), i % 2 ? Value::Null() : T(""), Value::Blob("\\x"), Value::Real(-0.0),
                         T("{\"a\tb\",NULL}"), T("{ \"k\" : 1 }")});
  }
  TableBatch p{.schema = Schema(*a, "pairs")};
  for (int i = 0; i < 1100; ++i) p.inserts.push_back({T(i % 2 ? "x" : "y"), I(i), T("v")});
  auto s = Apply(*a, {.source_dialect = "postgresql", .tables = {t, p}});
  INFO(s.message());
  REQUIRE(s.ok());

  CHECK(db.One("SELECT count(*), min(id), max(id) FROM big") == "3300|1201|6500");
  CHECK(db.One("SELECT count(*) FROM big WHERE name = E'new\\t' || id || E'\\n\\\\' AND data = "
               "'\\x0001'") == "1300");
  CHECK(db.One("SELECT count(*) FROM big WHERE f = 'NaN'") == "10");
  CHECK(db.One("SELECT count(*) FROM big WHERE id > 5000 AND (name IS NULL OR name = '') AND "
               "data = '\\x5c78' AND f = 0 AND tags = '{\"a\tb\",NULL}' AND j::text = '{ \"k\" : 1 "
               "}'") == "1500");
  CHECK(db.One("SELECT count(*) FROM big WHERE id > 5000 AND name IS NULL") == "750");
  CHECK(db.One("SELECT count(*) FROM pairs") == "1100");
  // No temporary table is left behind for the rest of the session.
  auto rows = ReadAll(*a, big);
  CHECK(rows.size() == 3300);
}

// Rows to insert streamed rather than held: i from `first` to `last`, each row made as read;
// `refuse_at` yields a blob in the text column there (a value PostgreSQL cannot take).
std::function<cfgit::Status(const std::function<cfgit::Status(const Row&)>&)> Stream(
    int first, int last, int* calls, int refuse_at = -1) {
  return [=](const std::function<cfgit::Status(const Row&)>& each) {
    ++*calls;
    for (int i = first; i <= last; ++i) {
      Value name = i == refuse_at ? Value::Blob("x") : T("n" + std::to_string(i));
      CFGIT_RETURN_IF_ERROR(each({I(i), name}));
    }
    return cfgit::Status::Ok();
  };
}

TEST_CASE("postgres: streamed inserts are copied as read, checked as they come", "[postgres]") {
  SKIP_WITHOUT_PG(server);
  TestDb db(server);
  db.Exec("CREATE TABLE s (id int PRIMARY KEY, name text); INSERT INTO s VALUES (1, 'held');");
  auto a = db.Open();
  TableSchema schema = Schema(*a, "s");
  int calls = 0;
  // Held rows and a stream in one table (few rows: still one COPY, since a stream has no size).
  TableBatch t{.schema = schema, .inserts = {{I(2), T("also held")}}};
  t.stream = Stream(10, 2009, &calls);
  t.streamed_rows = 2000;
  auto ok = Apply(*a, {.source_dialect = "postgresql", .tables = {t}});
  INFO(ok.message());
  REQUIRE(ok.ok());
  CHECK(calls == 1);
  CHECK(db.One("SELECT count(*), min(id), max(id) FROM s") == "2002|1|2009");
  CHECK(db.One("SELECT name FROM s WHERE id = 1500") == "n1500");

  // A refused value deep in the stream fails the write, naming it; nothing is written.
  TableBatch bad{.schema = schema};
  bad.stream = Stream(3000, 3999, &calls, 3500);
  bad.streamed_rows = 1000;
  auto refused = Apply(*a, {.source_dialect = "sqlite", .tables = {bad}});
  CHECK(refused.code() == Code::kInvalid);
  CHECK_THAT(refused.message(), Catch::Contains("table 's', column 'name', row (id=3500)"));
  CHECK(a->Rollback().ok());
  CHECK(db.One("SELECT count(*) FROM s") == "2002");

  // The stream's own failure (a store that cannot be read) ends the write the same way.
  TableBatch broken{.schema = schema};
  broken.stream = [](const std::function<cfgit::Status(const Row&)>& each) {
    CFGIT_RETURN_IF_ERROR(each({I(5000), T("first")}));
    return cfgit::Status::Invalid("reading row 5001 of the snapshot");
  };
  auto failed = Apply(*a, {.source_dialect = "postgresql", .tables = {broken}});
  CHECK(failed.code() == Code::kInvalid);
  CHECK_THAT(failed.message(), Catch::Contains("row 5001"));
  CHECK(a->Rollback().ok());
  CHECK(db.One("SELECT count(*) FROM s WHERE id >= 3000") == "0");
}

TEST_CASE("postgres: a keyless delete removes one copy of the row", "[postgres]") {
  SKIP_WITHOUT_PG(server);
  TestDb db(server);
  db.Exec(R"(
    CREATE TABLE "uiSchemaTreePath" (ancestor text, descendant text, depth int, meta json, w real);
    INSERT INTO "uiSchemaTreePath" VALUES ('a', 'b', 1, '{"x": 1}', 0.1), ('a', 'b', 1, '{"x": 1}', 0.1),
      ('a', 'b', 1, '{"x": 1}', 0.1), ('a', NULL, NULL, NULL, 'NaN'), ('a', NULL, NULL, NULL, 'NaN');
  )");
  auto a = db.Open();
  TableSchema s = Schema(*a, "uiSchemaTreePath");
  REQUIRE(s.key.empty());
  TableBatch t{.schema = s};
  t.deletes.push_back(
      {T("a"), T("b"), I(1), T("{\"x\": 1}"), Value::Real(static_cast<double>(0.1f))});
  t.deletes.push_back(
      {T("a"), Value::Null(), Value::Null(), Value::Null(), Value::Real(std::nan(""))});
  auto st = Apply(*a, {.source_dialect = "postgresql", .tables = {t}});
  INFO(st.message());
  REQUIRE(st.ok());
  CHECK(db.Rows("SELECT descendant, count(*) FROM \"uiSchemaTreePath\" GROUP BY 1 ORDER BY 1") ==
        std::vector<std::string>{"b|2", "NULL|1"});
}

TEST_CASE("postgres: sequences and identity counters are raised after inserts", "[postgres]") {
  SKIP_WITHOUT_PG(server);
  TestDb db(server);
  db.Exec(R"(
    CREATE TABLE "rolesResources" (id serial PRIMARY KEY, name text);
    CREATE TABLE ident (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name text);
    CREATE TABLE ahead (id bigint GENERATED BY DEFAULT AS IDENTITY (START WITH 1000) PRIMARY KEY, name text);
    CREATE TABLE bulk (id serial PRIMARY KEY, name text);
    INSERT INTO "rolesResources" (name) VALUES ('a');
  )");
  auto a = db.Open();
  ChangeBatch b{.source_dialect = "postgresql"};
  b.tables.push_back(
      {.schema = Schema(*a, "rolesResources"), .inserts = {{I(50), T("x")}, {I(7), T("y")}}});
  b.tables.push_back({.schema = Schema(*a, "ident"), .inserts = {{I(20), T("x")}}});
  b.tables.push_back({.schema = Schema(*a, "ahead"), .inserts = {{I(5), T("x")}}});
  TableBatch bulk{.schema = Schema(*a, "bulk")};
  for (int i = 1; i <= 1500; ++i) bulk.inserts.push_back({I(i * 2), T("b")});
  b.tables.push_back(bulk);
  auto s = Apply(*a, b);
  INFO(s.message());
  REQUIRE(s.ok());
  db.Exec(R"(
    INSERT INTO "rolesResources" (name) VALUES ('app');
    INSERT INTO ident (name) VALUES ('app');
    INSERT INTO ahead (name) VALUES ('app');
    INSERT INTO bulk (name) VALUES ('app');
  )");
  CHECK(db.One("SELECT id FROM \"rolesResources\" WHERE name = 'app'") == "51");
  CHECK(db.One("SELECT id FROM ident WHERE name = 'app'") == "21");
  CHECK(db.One("SELECT id FROM ahead WHERE name = 'app'") == "1000");  // never lowered
  CHECK(db.One("SELECT id FROM bulk WHERE name = 'app'") == "3001");
}

TEST_CASE("postgres: a failing statement rolls everything back with its SQLSTATE", "[postgres]") {
  SKIP_WITHOUT_PG(server);
  TestDb db(server);
  db.Exec(kWriteSchema);
  db.Exec("INSERT INTO parent VALUES (1, 'one');");
  auto a = db.Open();
  ChangeBatch b{.source_dialect = "postgresql"};
  b.tables.push_back({.schema = Schema(*a, "parent"),
                      .updates = {{.key = {I(1)}, .columns = {"name"}, .values = {T("changed")}}},
                      .inserts = {{I(2), T("two")}, {I(3), T("two")}}});  // name is unique
  REQUIRE(a->BeginWrite({"parent"}).ok());
  auto s = a->Write(b);
  CHECK(s.code() == Code::kDatabase);
  CHECK_THAT(s.message(), Catch::Contains("SQLSTATE 23505") && Catch::Contains("parent_name_key"));
  CHECK(a->Commit().code() == Code::kDatabase);  // nothing to commit: it was rolled back
  CHECK(a->Rollback().ok());
  CHECK(db.Rows("SELECT * FROM parent") == std::vector<std::string>{"1|one"});

  // A violated foreign key (non-deferrable) and a value the column refuses on the server.
  ChangeBatch orphan{.source_dialect = "postgresql"};
  orphan.tables.push_back({.schema = Schema(*a, "child"), .inserts = {{I(1), I(99), T("x")}}});
  s = Apply(*a, orphan);
  CHECK(s.code() == Code::kDatabase);
  CHECK_THAT(s.message(), Catch::Contains("SQLSTATE 23503"));
  ChangeBatch null_key{.source_dialect = "postgresql"};
  null_key.tables.push_back(
      {.schema = Schema(*a, "child"), .inserts = {{I(1), Value::Null(), T("x")}}});
  CHECK_THAT(Apply(*a, null_key).message(), Catch::Contains("SQLSTATE 23502"));

  // The adapter starts over cleanly afterwards.
  ChangeBatch good{.source_dialect = "postgresql"};
  good.tables.push_back({.schema = Schema(*a, "parent"), .inserts = {{I(2), T("two")}}});
  REQUIRE(Apply(*a, good).ok());
  CHECK(db.One("SELECT count(*) FROM parent") == "2");

  // A lost connection: the server ends the session in the middle of the transaction.
  TableSchema parent = Schema(*a, "parent");
  REQUIRE(a->BeginWrite({"parent"}).ok());
  db.Exec(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() "
      "AND pid <> pg_backend_pid()");
  ChangeBatch lost{.source_dialect = "postgresql"};
  lost.tables.push_back({.schema = parent, .inserts = {{I(9), T("nine")}}});
  s = a->Write(lost);
  CHECK(s.code() == Code::kDatabase);
  CHECK_THAT(s.message(), Catch::Contains("writing to environment 'test'"));
  CHECK(db.One("SELECT count(*) FROM parent") == "2");
}

TEST_CASE("postgres: written tables are locked against other writers until Commit", "[postgres]") {
  using namespace std::chrono_literals;
  SKIP_WITHOUT_PG(server);
  TestDb db(server);
  db.Exec("CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t VALUES (1, 'a');");
  auto a = db.Open();
  TableSchema s = Schema(*a, "t");
  REQUIRE(a->BeginWrite({"t", "not_there"}).ok());
  CHECK(ReadAll(*a, s) == std::vector<Row>{{I(1), T("a")}});  // the backup read, under the lock

  // Readers go on; writers wait (with a lock timeout, they give up).
  CHECK(db.One("SELECT v FROM t") == "a");
  auto blocked =
      Psql(db.conninfo(), "SET lock_timeout = '200ms'; UPDATE t SET v = 'other' WHERE id = 1;");
  CHECK(blocked.exit_code != 0);
  CHECK_THAT(blocked.err, Catch::Contains("lock timeout"));

  // A writer without a timeout waits until Commit, then runs after it.
  TempDir dir;
  Shell(dir.path(), "(psql -X -q -d " + ShellQuote(db.conninfo()) +
                        " -c \"UPDATE t SET v = v || '+other' WHERE id = 1\"; echo $? > done) "
                        ">/dev/null 2>&1 &");
  bool waiting = false;
  for (int i = 0; i < 200 && !waiting; ++i) {
    waiting = db.One(
                  "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                  "AND wait_event_type = 'Lock'") == "1";
    if (!waiting) std::this_thread::sleep_for(25ms);
  }
  CHECK(waiting);
  TableBatch t{.schema = s, .updates = {{.key = {I(1)}, .columns = {"v"}, .values = {T("mine")}}}};
  REQUIRE(a->Write({.source_dialect = "postgresql", .tables = {t}}).ok());
  std::this_thread::sleep_for(100ms);
  CHECK_FALSE(std::filesystem::exists(dir / "done"));
  REQUIRE(a->Commit().ok());
  for (int i = 0; i < 400 && cfgit::test::ReadFile(dir / "done").empty(); ++i)
    std::this_thread::sleep_for(25ms);
  CHECK(cfgit::test::ReadFile(dir / "done") == "0\n");
  CHECK(db.One("SELECT v FROM t") == "mine+other");
}

TEST_CASE("postgres: destroying the adapter with a write open rolls it back", "[postgres]") {
  SKIP_WITHOUT_PG(server);
  TestDb db(server);
  db.Exec("CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t VALUES (1);");
  {
    auto a = db.Open();
    TableBatch t{.schema = Schema(*a, "t"), .inserts = {{I(2)}}};
    REQUIRE(a->BeginWrite({"t"}).ok());
    REQUIRE(a->Write({.source_dialect = "postgresql", .tables = {t}}).ok());
    auto reader = a->Scan(t.schema);  // a scan left open is ended too
    REQUIRE(reader.ok());
  }
  CHECK(db.One("SELECT count(*) FROM t") == "1");
}

namespace {

// Reads every table of a SQLite file with the SQLite adapter, as a snapshot would hold them.
std::vector<TableBatch> SqliteTables(const std::string& path,
                                     const std::vector<std::string>& names) {
  auto lite = Adapter::Open("sqlite:" + path, {.base_dir = "/", .environment = "dev"});
  REQUIRE(lite.ok());
  std::vector<TableBatch> out;
  for (const std::string& name : names) {
    TableBatch t{.schema = Schema(**lite, name), .create = true};
    t.inserts = ReadAll(**lite, t.schema);
    out.push_back(std::move(t));
  }
  return out;
}

}  // namespace

TEST_CASE("postgres: a SQLite snapshot applies to PostgreSQL for portable types",
          "[postgres][cross-dialect]") {
  SKIP_WITHOUT_PG(server);
  TestDb db(server);
  TempDir dir;
  cfgit::test::Sqlite(dir / "dev.db", R"(
    CREATE TABLE settings (id INTEGER PRIMARY KEY, name VARCHAR(255) NOT NULL UNIQUE,
      enabled BOOLEAN DEFAULT 0, ratio REAL, amount NUMERIC, price DECIMAL(10,2), options JSON,
      icon BLOB, note TEXT DEFAULT 'none', "createdAt" DATETIME, "count" BIGINT DEFAULT 0);
    CREATE INDEX settings_by_ratio ON settings (ratio);
    CREATE TABLE items (id INTEGER PRIMARY KEY, setting_id INTEGER REFERENCES settings(id) ON DELETE CASCADE,
      label TEXT);
    INSERT INTO settings VALUES
      (1, 'a', 1, 1.5, 10, 12.5, '{"k": [1, 2]}', x'00ff', 'line1' || char(10) || 'é', '2024-01-01 10:00:00.000 +00:00', 5),
      (2, 'b', 0, -0.25, 3, NULL, '{}', NULL, '', NULL, 9223372036854775807),
      (3, 'c', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
    INSERT INTO items VALUES (1, 1, 'x'), (2, 1, 'y');
  )");
  auto batch_tables = SqliteTables(dir / "dev.db", {"items", "settings"});
  REQUIRE(batch_tables[1].inserts[0][2] == I(1));  // SQLite's boolean is the integer 1
  auto a = db.Open();
  auto s = Apply(*a, {.source_dialect = "sqlite", .tables = batch_tables});
  INFO(s.message());
  REQUIRE(s.ok());

  CHECK(db.Rows("SELECT attname, format_type(atttypid, atttypmod), attnotnull FROM pg_attribute "
                "WHERE attrelid = 'settings'::regclass AND attnum > 0 ORDER BY attnum") ==
        std::vector<std::string>{"id|bigint|t", "name|character varying(255)|t",
                                 "enabled|boolean|f", "ratio|double precision|f",
                                 "amount|numeric|f", "price|numeric(10,2)|f", "options|jsonb|f",
                                 "icon|bytea|f", "note|text|f", "createdAt|text|f",
                                 "count|bigint|f"});
  CHECK(
      db.Rows("SELECT conname, contype FROM pg_constraint WHERE conrelid IN ('settings'::regclass, "
              "'items'::regclass) ORDER BY 1") ==
      std::vector<std::string>{"items_pkey|p", "items_setting_id_fkey|f", "settings_name_key|u",
                               "settings_pkey|p"});
  CHECK(db.One("SELECT count(*) FROM pg_indexes WHERE indexname = 'settings_by_ratio'") == "1");
  CHECK(db.Rows("SELECT id, name, enabled, ratio, amount, price, options, icon, note, "
                "\"createdAt\", count "
                "FROM settings ORDER BY id") ==
        std::vector<std::string>{"1|a|t|1.5|10|12.50|{\"k\": [1, 2]}|\\x00ff|line1",
                                 "é|2024-01-01 10:00:00.000 +00:00|5",
                                 "2|b|f|-0.25|3|NULL|{}|NULL||NULL|9223372036854775807",
                                 "3|c|NULL|NULL|NULL|NULL|NULL|NULL|NULL|NULL|NULL"});

  // Read back through the adapter: PostgreSQL's own classes now.
  auto rows = ReadAll(*a, Schema(*a, "settings"));
  REQUIRE(rows.size() == 3);
  CHECK(rows[0][2] == Value::Bool(true));
  CHECK(rows[0][3] == Value::Real(1.5));
  CHECK(rows[0][4] == T("10"));
  CHECK(rows[0][7] == Value::Blob(std::string("\x00\xff", 2)));
  CHECK(rows[1][2] == Value::Bool(false));

  // The INTEGER PRIMARY KEY became an identity column, raised past the ids written.
  db.Exec("INSERT INTO settings (name) VALUES ('app'); INSERT INTO items (label) VALUES ('app');");
  CHECK(db.One("SELECT id, enabled, note, count FROM settings WHERE name = 'app'") == "4|f|none|0");
  CHECK(db.One("SELECT id FROM items WHERE label = 'app'") == "3");

  // Into existing PostgreSQL tables of the usual types.
  db.Exec(R"(CREATE TABLE typed (id int PRIMARY KEY, big bigint, n numeric, t text, vc varchar(10),
      j json, jb jsonb, r real, d double precision, b boolean, by bytea))");
  a = db.Open();  // the first one's read snapshot predates the table
  TableBatch typed{.schema = Schema(*a, "typed")};
  typed.inserts = {{I(1), I(INT64_MIN), I(42), T("x"), T("short"), T("[1]"), I(7), Value::Real(0.5),
                    I(3), I(0), Value::Blob(std::string("\0", 1))}};
  s = Apply(*a, {.source_dialect = "sqlite", .tables = {typed}});
  INFO(s.message());
  REQUIRE(s.ok());
  CHECK(db.One("SELECT * FROM typed") == "1|-9223372036854775808|42|x|short|[1]|7|0.5|3|f|\\x00");
}

TEST_CASE("postgres: values that cannot map are refused before anything is written",
          "[postgres][cross-dialect]") {
  SKIP_WITHOUT_PG(server);
  TestDb db(server);
  db.Exec(R"(
    CREATE TABLE other (id int PRIMARY KEY);
    CREATE TABLE typed (id int PRIMARY KEY, t text, n int, b boolean, by bytea, small smallint);
    INSERT INTO typed VALUES (1, 'keep', 1, true, '\x00', 1);
  )");
  auto a = db.Open();
  TableSchema other = Schema(*a, "other"), typed = Schema(*a, "typed");
  struct Case {
    const char* what;
    Row row;
    const char* column;
  };
  const Case cases[] = {
      {"a blob into a text column",
       {I(2), Value::Blob("x"), I(1), Value::Null(), Value::Null(), I(1)},
       "t"},
      {"text into an integer column",
       {I(2), T("x"), T("abc"), Value::Null(), Value::Null(), I(1)},
       "n"},
      {"an integer 2 into a boolean", {I(2), T("x"), I(1), I(2), Value::Null(), I(1)}, "b"},
      {"text into a boolean", {I(2), T("x"), I(1), T("true"), Value::Null(), I(1)}, "b"},
      {"text into bytea", {I(2), T("x"), I(1), Value::Null(), T("\\x00"), I(1)}, "by"},
      {"a real into an integer",
       {I(2), T("x"), Value::Real(1.0), Value::Null(), Value::Null(), I(1)},
       "n"},
      {"an integer out of range",
       {I(2), T("x"), I(1), Value::Null(), Value::Null(), I(70000)},
       "small"},
      {"text with a NUL byte",
       {I(2), T(std::string("a\0b", 3)), I(1), Value::Null(), Value::Null(), I(1)},
       "t"},
  };
  for (const Case& c : cases) {
    INFO(c.what);
    ChangeBatch b{.source_dialect = "sqlite"};
    b.tables.push_back({.schema = other, .inserts = {{I(1)}}});  // fine, and first: yet not written
    b.tables.push_back({.schema = typed, .inserts = {c.row}});
    auto s = Apply(*a, b);
    CHECK(s.code() == Code::kInvalid);
    CHECK_THAT(s.message(), Catch::Contains("table 'typed'") &&
                                Catch::Contains(std::string("column '") + c.column + "'") &&
                                Catch::Contains("(id=2)"));
    CHECK(a->Rollback().ok());
    CHECK(db.One("SELECT count(*) FROM other") == "0");
    CHECK(db.One("SELECT count(*) FROM typed") == "1");
  }

  // In an update, the message names the row by its key.
  ChangeBatch update{.source_dialect = "sqlite"};
  update.tables.push_back(
      {.schema = typed,
       .updates = {{.key = {I(1)}, .columns = {"t"}, .values = {Value::Blob("x")}}}});
  CHECK_THAT(Apply(*a, update).message(), Catch::Contains("column 't', row (id=1)"));
  CHECK(db.One("SELECT t FROM typed") == "keep");

  // A table whose SQLite type has no PostgreSQL equivalent is not created, nor anything else.
  TempDir dir;
  cfgit::test::Sqlite(dir / "dev.db",
                      "CREATE TABLE shapes (id INTEGER PRIMARY KEY, g GEOMETRY);"
                      "CREATE TABLE fine (id INTEGER PRIMARY KEY);");
  auto tables = SqliteTables(dir / "dev.db", {"fine", "shapes"});
  auto s = Apply(*a, {.source_dialect = "sqlite", .tables = tables});
  CHECK(s.code() == Code::kInvalid);
  CHECK_THAT(s.message(), Catch::Contains("table 'shapes'") && Catch::Contains("column 'g'") &&
                              Catch::Contains("GEOMETRY"));
  CHECK(db.One("SELECT count(*) FROM pg_class WHERE relname IN ('shapes', 'fine')") == "0");
}

// ---------------------------------------------------------------------------------------------
// Fidelity: live -> store -> empty database, compared with pg_dump.

namespace {

const char* kFidelitySchema = R"(
  CREATE TYPE mood AS ENUM ('sad', 'happy');
  CREATE DOMAIN posint AS integer CHECK (VALUE > 0);
)";

const char* kFidelityTables = R"(
  CREATE TABLE every (id serial PRIMARY KEY, i2 smallint, i4 integer, i8 bigint, f4 real,
    f8 double precision, n numeric, n2 numeric(10,2), b boolean, t text, vc varchar(20), c char(5),
    by bytea, d date, ts timestamp, tstz timestamptz, tm time, iv interval, u uuid, j json, jb jsonb,
    ai int[], at text[], m mood, p posint, inet inet, pt point);
  CREATE TABLE "uiSchemaTreePath" (ancestor text, descendant text, depth int);
  CREATE TABLE child (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    every_id int REFERENCES every(id) DEFERRABLE, note text);
)";

const char* kFidelityRows = R"(
  INSERT INTO every (i2) VALUES (NULL);
  INSERT INTO every (t, vc, c, by, j, jb, ai, at) VALUES ('', '', '', '\x', '""', '""', '{}', '{}');
  INSERT INTO every (i2, i4, i8, f4, f8, n, n2, b, t, vc, c, by, d, ts, tstz, tm, iv, u, j, jb, ai, at, m, p, inet, pt)
    VALUES (-32768, -2147483648, -9223372036854775808, 'NaN', 'NaN', 1.10, 1.1, false,
      E'line1\nline2\ttab\\back\r\u00e9\u65e5\U0001F389 \\N', 'x', 'ab', E'\\x0000ff00', '2024-02-29',
      '2024-01-01 00:00:00.000001', '2024-06-30 23:59:59.5+05:30', '24:00:00', '-1 year 2 days -03:00:00',
      'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', E'{ "a" : [1, {"b": null}], "nested": {"deep": {"x": "y\\nz"}} }',
      '{"z": [1, 2.50, {"k": "v"}], "a": {}}', '{{1,NULL},{3,4}}', '{"a b",NULL,"q\"x","c,d",""}', 'sad', 1,
      '192.168.0.1/24', '(1.5,-2)');
  INSERT INTO every (i2, i4, i8, f4, f8, n, n2, b, t, tstz, j, jb)
    VALUES (32767, 2147483647, 9223372036854775807, 'Infinity', '-Infinity', 'NaN', -0.00, true,
      repeat('long ', 2000), 'infinity', '[]', '[]');
  INSERT INTO every (f4, f8, n) VALUES (-0, 1e-300, 12345678901234567890.123456789012345678900);
  INSERT INTO every (f4, f8, n) VALUES (3.4028235e38, 0.1, '-Infinity');
  INSERT INTO "uiSchemaTreePath" VALUES ('', '', 0), ('a', 'b', 1), ('a', 'b', 1), ('a', NULL, NULL);
  INSERT INTO child (every_id, note) VALUES (1, 'x'), (3, NULL), (3, '');
)";

// Commits every table of `a` into a new store, as cfgit commit does; returns the tree.
cfgit::Oid CommitLive(cfgit::Store& store, Adapter& a) {
  auto writer = store.NewSnapshot();
  REQUIRE(writer.ok());
  REQUIRE(a.BeginConsistentRead().ok());
  auto tables = a.ListTables();
  REQUIRE(tables.ok());
  for (const std::string& name : *tables) {
    TableSchema s = Schema(a, name);
    REQUIRE((*writer)->BeginTable(s).ok());
    for (const Row& row : ReadAll(a, s)) REQUIRE((*writer)->AddRow(row).ok());
    auto stats = (*writer)->EndTable();
    INFO(stats.status().message());
    REQUIRE(stats.ok());
  }
  auto tree = (*writer)->FinishTree(a.dialect());
  REQUIRE(tree.ok());
  auto commit = (*writer)->WriteCommit({}, "fidelity", {"T", "t@example.com", 1700000000, 0});
  INFO(commit.status().message());
  REQUIRE(commit.ok());
  return tree.value();
}

// The snapshot's tables as a batch that creates them, rows read back from the store's blobs.
ChangeBatch BatchFromStore(const cfgit::Store& store, const cfgit::Oid& tree) {
  auto entries = store.ListTables(tree);
  REQUIRE(entries.ok());
  ChangeBatch batch{.source_dialect = "postgresql"};
  std::map<std::string, size_t> by_dir;
  for (const cfgit::TableEntry& e : *entries) {
    auto text = store.ReadBlob(e.schema);
    REQUIRE(text.ok());
    auto schema = cfgit::DecodeSchema(*text);
    INFO(schema.status().message());
    REQUIRE(schema.ok());
    by_dir["tables/" + cfgit::EncodePathComponent(e.name) + "/rows/"] = batch.tables.size();
    batch.tables.push_back({.schema = *schema, .create = true});
  }
  REQUIRE(store
              .DiffTrees(std::nullopt, tree,
                         [&](const cfgit::TreeChange& c) -> cfgit::Status {
                           for (const auto& [prefix, index] : by_dir) {
                             if (c.path.rfind(prefix, 0) != 0) continue;
                             TableBatch& t = batch.tables[index];
                             auto text = store.ReadBlob(*c.after);
                             if (!text.ok()) return text.status();
                             auto row = cfgit::DecodeRow(t.schema.VersionedColumns(), *text);
                             if (!row.ok()) return row.status();
                             t.inserts.push_back(*row);
                           }
                           return cfgit::Status::Ok();
                         })
              .ok());
  // In the order the rows were inserted into the source (key order; keyless: every column,
  // NULL last), so that pg_dump lists them alike.
  for (TableBatch& t : batch.tables) {
    std::vector<size_t> order;
    std::vector<std::string> columns = t.schema.VersionedColumns();
    for (const std::string& k : t.schema.key.empty() ? columns : t.schema.key) {
      order.push_back(
          static_cast<size_t>(std::find(columns.begin(), columns.end(), k) - columns.begin()));
    }
    std::sort(t.inserts.begin(), t.inserts.end(), [&](const Row& x, const Row& y) {
      for (size_t i : order) {
        if (x[i] == y[i]) continue;
        if (x[i].is_null() || y[i].is_null()) return y[i].is_null();
        if (x[i].kind() == Value::Kind::kInteger) return x[i].integer() < y[i].integer();
        return x[i].bytes() < y[i].bytes();
      }
      return false;
    });
  }
  return batch;
}

std::string DumpData(const TestDb& db, const std::string& table) {
  TempDir dir;
  auto r = Shell(dir.path(), "pg_dump --data-only --table=" + ShellQuote(table) + " -d " +
                                 ShellQuote(db.conninfo()));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  // pg_dump 15.18+ fences its output with \restrict KEY / \unrestrict KEY, a random key per run.
  std::string out;
  size_t start = 0;
  while (start < r.out.size()) {
    size_t nl = r.out.find('\n', start);
    std::string line =
        r.out.substr(start, nl == std::string::npos ? std::string::npos : nl - start + 1);
    if (line.rfind("\\restrict ", 0) != 0 && line.rfind("\\unrestrict ", 0) != 0) out += line;
    if (nl == std::string::npos) break;
    start = nl + 1;
  }
  return out;
}

}  // namespace

TEST_CASE("postgres: fidelity: commit, then apply to an empty database, gives the same dump",
          "[postgres][fidelity]") {
  SKIP_WITHOUT_PG(server);
  TestDb source(server), target(server);
  source.Exec(std::string(kFidelitySchema) + kFidelityTables + kFidelityRows);
  target.Exec(kFidelitySchema);  // types are not versioned: the target has them already
  TempDir dir;
  auto store = cfgit::Store::Init(dir / ".cfgit");
  REQUIRE(store.ok());

  auto live = source.Open();
  cfgit::Oid tree = CommitLive(**store, *live);
  ChangeBatch batch = BatchFromStore(**store, tree);
  REQUIRE(batch.tables.size() == 3);
  auto empty = target.Open();
  // Children listed first: the adapter orders them.
  std::reverse(batch.tables.begin(), batch.tables.end());
  auto s = Apply(*empty, batch);
  INFO(s.message());
  REQUIRE(s.ok());

  for (const char* table : {"public.every", "public.\"uiSchemaTreePath\"", "public.child"}) {
    INFO(table);
    std::string want = DumpData(source, table);
    CHECK(want.find("COPY") != std::string::npos);
    CHECK(DumpData(target, table) == want);
  }
  // The recreated database snapshots to the very same tree.
  auto store2 = cfgit::Store::Init(dir / "second");
  REQUIRE(store2.ok());
  auto again = target.Open();
  CHECK(CommitLive(**store2, *again) == tree);
}

namespace {

// The rows of every given table of a PostgreSQL database, as a batch that creates them.
ChangeBatch PgBatch(Adapter& pg, const std::vector<std::string>& tables) {
  ChangeBatch batch{.source_dialect = "postgresql"};
  for (const std::string& t : tables) {
    TableSchema s = Schema(pg, t);
    batch.tables.push_back({.schema = s, .create = true, .inserts = ReadAll(pg, s)});
  }
  return batch;
}

}  // namespace

TEST_CASE("postgres: a PostgreSQL snapshot applies to SQLite for portable types",
          "[postgres][cross-dialect]") {
  SKIP_WITHOUT_PG(server);
  TestDb db(server);
  db.Exec(R"(
    CREATE TABLE roles (name varchar(255) PRIMARY KEY, title text DEFAULT 'x'::text,
      "default" boolean DEFAULT false);
    CREATE TABLE "rolesResources" (id bigserial PRIMARY KEY, "roleName" varchar(255) NOT NULL
      REFERENCES roles(name) ON DELETE CASCADE, name varchar(255) NOT NULL, amount numeric(10,2),
      options jsonb, tags text[], at timestamptz, icon bytea, ratio double precision,
      UNIQUE ("roleName", name));
    INSERT INTO roles VALUES ('admin', 'Admin', true), ('member', NULL, false);
    INSERT INTO "rolesResources" ("roleName", name, amount, options, tags, at, icon, ratio) VALUES
      ('admin', 'users', 1.10, '{"a": [1, 2]}', '{x,"y z"}', '2026-01-01 10:00:00+02', '\x00ff', 0.1),
      ('member', 'posts', NULL, NULL, '{}', NULL, NULL, NULL);
  )");
  auto pg = db.Open();
  REQUIRE(pg->BeginConsistentRead().ok());
  ChangeBatch batch = PgBatch(*pg, {"rolesResources", "roles"});

  TempDir dir;
  cfgit::test::Sqlite(dir / "prod.db", "PRAGMA user_version = 1");
  auto sqlite = Adapter::Open("sqlite:prod.db", {.base_dir = dir.path(), .environment = "prod"});
  REQUIRE(sqlite.ok());
  cfgit::Status s = Apply(**sqlite, batch);
  INFO(s.message());
  REQUIRE(s.ok());

  CHECK(cfgit::test::SqliteRows(dir / "prod.db",
                                "SELECT name, title, \"default\" FROM roles ORDER BY name") ==
        std::vector<std::string>{"admin|Admin|1", "member|NULL|0"});
  CHECK(cfgit::test::SqliteRows(dir / "prod.db",
                                "SELECT id, roleName, amount, typeof(amount), options, tags, at, "
                                "hex(icon), ratio FROM rolesResources ORDER BY id") ==
        std::vector<std::string>{
            "1|admin|1.10|text|{\"a\": [1, 2]}|{x,\"y z\"}|2026-01-01 08:00:00+00|00FF|0.1",
            "2|member|NULL|null|NULL|{}|NULL||NULL"});
  // Keys, unique and foreign-key constraints came along; the default too; ids keep counting.
  auto created = (*sqlite)->ReadSchema("rolesResources");
  REQUIRE(created.ok());
  CHECK(created->primary_key == std::vector<std::string>{"id"});
  REQUIRE(created->foreign_keys.size() == 1);
  CHECK(created->foreign_keys[0].on_delete == "CASCADE");
  cfgit::test::Sqlite(dir / "prod.db", "INSERT INTO roles (name) VALUES ('new')");
  CHECK(cfgit::test::SqliteRows(dir / "prod.db", "SELECT title FROM roles WHERE name = 'new'") ==
        std::vector<std::string>{"x"});
  cfgit::test::Sqlite(dir / "prod.db",
                      "INSERT INTO rolesResources (roleName, name) VALUES ('admin', 'more')");
  CHECK(cfgit::test::SqliteRows(dir / "prod.db", "SELECT max(id) FROM rolesResources") ==
        std::vector<std::string>{"3"});
}

TEST_CASE("postgres: a PostgreSQL type SQLite cannot hold is refused, naming it",
          "[postgres][cross-dialect]") {
  SKIP_WITHOUT_PG(server);
  TestDb db(server);
  db.Exec(R"(
    CREATE TYPE mood AS ENUM ('happy', 'sad');
    CREATE TABLE people (id integer PRIMARY KEY, feeling mood);
    INSERT INTO people VALUES (1, 'happy');
  )");
  auto pg = db.Open();
  ChangeBatch batch = PgBatch(*pg, {"people"});
  TempDir dir;
  cfgit::test::Sqlite(dir / "prod.db", "PRAGMA user_version = 1");
  auto sqlite = Adapter::Open("sqlite:prod.db", {.base_dir = dir.path(), .environment = "prod"});
  REQUIRE(sqlite.ok());
  cfgit::Status s = Apply(**sqlite, batch);
  CHECK(s.code() == Code::kInvalid);
  CHECK_THAT(s.message(), Catch::Contains("'people'") && Catch::Contains("'feeling'") &&
                              Catch::Contains("mood"));
  CHECK(cfgit::test::SqliteRows(dir / "prod.db", "SELECT count(*) FROM sqlite_schema") ==
        std::vector<std::string>{"0"});
}
