// The adapter contract: every adapter passes the same tests against a real database.
// Backends: SQLite (a real file) and PostgreSQL (a fresh database on the server that
// scripts/with-postgres.sh starts; without CFGIT_TEST_PG the PostgreSQL runs are skipped with a
// warning, or fail under CFGIT_REQUIRE_PG=1).
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <cstdlib>

#include "adapters/adapter.h"
#include "diff/diff.h"
#include "tests/support/postgres.h"
#include "tests/support/support.h"

using cfgit::Adapter;
using cfgit::ChangeBatch;
using cfgit::Code;
using cfgit::Row;
using cfgit::RowUpdate;
using cfgit::TableBatch;
using cfgit::TableSchema;
using cfgit::Value;
using cfgit::test::TempDir;

namespace {

// A database of one kind under test, reached through SQL the test runs directly.
class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string name() const = 0;
  virtual void Exec(const std::string& sql) = 0;
  virtual std::string url() const = 0;
  // A column definition for an integer key the database numbers itself.
  virtual std::string AutoIdColumn() const = 0;
};

class SqliteBackend final : public Backend {
 public:
  std::string name() const override { return "sqlite"; }
  void Exec(const std::string& sql) override { cfgit::test::Sqlite(dir_ / "db.sqlite", sql); }
  std::string url() const override { return "sqlite:" + dir_ / "db.sqlite"; }
  std::string AutoIdColumn() const override { return "INTEGER PRIMARY KEY AUTOINCREMENT"; }

 private:
  TempDir dir_;
};

class PostgresBackend final : public Backend {
 public:
  explicit PostgresBackend(std::string server) : db_(std::move(server)) {}
  std::string name() const override { return "postgresql"; }
  void Exec(const std::string& sql) override { db_.Exec(sql); }
  std::string url() const override { return db_.conninfo(); }
  std::string AutoIdColumn() const override { return "SERIAL PRIMARY KEY"; }

 private:
  cfgit::test::PgTestDatabase db_;
};

// The PostgreSQL backend, or nullptr when there is no server (see PgServer).
std::unique_ptr<Backend> MakePostgres() {
  std::string server = cfgit::test::PgServer();
  if (server.empty()) return nullptr;
  return std::make_unique<PostgresBackend>(server);
}

std::unique_ptr<Backend> MakeBackend(const std::string& kind) {
  if (kind == "sqlite") return std::make_unique<SqliteBackend>();
  if (kind == "postgresql") return MakePostgres();
  FAIL("unknown backend " << kind);
  return nullptr;
}

std::unique_ptr<Adapter> Open(Backend& b) {
  auto a = Adapter::Open(b.url(), {.base_dir = "/", .environment = "test"});
  INFO(a.status().message());
  REQUIRE(a.ok());
  return std::move(a).value();
}

std::vector<Row> ReadAll(Adapter& a, const TableSchema& s) {
  auto reader = a.Scan(s);
  REQUIRE(reader.ok());
  std::vector<Row> rows;
  Row row;
  while (true) {
    auto more = (*reader)->Next(&row);
    REQUIRE(more.ok());
    if (!more.value()) break;
    rows.push_back(row);
  }
  // Scan gives rows in no particular order: sorted here, so that tests can name them.
  std::sort(rows.begin(), rows.end(),
            [](const Row& x, const Row& y) { return cfgit::CompareRows(x, y) < 0; });
  return rows;
}

// The catalog part of the NocoBase-shaped schema used below, in portable SQL.
const char* kSchema = R"(
  CREATE TABLE roles (name VARCHAR(255) PRIMARY KEY, title VARCHAR(255), "default" BOOLEAN DEFAULT FALSE);
  CREATE TABLE "rolesResources" (id INTEGER PRIMARY KEY, "roleName" VARCHAR(255) NOT NULL
      REFERENCES roles(name) ON DELETE CASCADE, name VARCHAR(255) NOT NULL,
      UNIQUE ("roleName", name));
  CREATE TABLE "uiSchemaTreePath" (ancestor VARCHAR(255), descendant VARCHAR(255), depth INTEGER);
  CREATE TABLE "odd ""name"".x" ("x-uid" VARCHAR(255) PRIMARY KEY, "a b" TEXT);
)";

}  // namespace

TEST_CASE("adapter contract", "[adapter]") {
  const std::string kind = GENERATE(as<std::string>{}, "sqlite", "postgresql");
  INFO("backend: " << kind);
  auto backend = MakeBackend(kind);
  if (!backend) return;
  backend->Exec(kSchema);
  backend->Exec(R"(
    INSERT INTO roles VALUES ('member', 'Member', TRUE), ('admin', 'Admin', FALSE);
    INSERT INTO "rolesResources" VALUES (2, 'member', 'posts'), (1, 'admin', 'users'), (3, 'admin', 'posts');
    INSERT INTO "uiSchemaTreePath" VALUES ('b', 'b', 0), ('a', 'b', 1), ('a', 'a', 0), ('a', 'b', 1);
    INSERT INTO "odd ""name"".x" VALUES ('u/1', 'x');
  )");
  auto db = Open(*backend);
  REQUIRE(db->BeginConsistentRead().ok());

  SECTION("lists the user tables, sorted") {
    auto tables = db->ListTables();
    REQUIRE(tables.ok());
    CHECK(tables.value() == std::vector<std::string>{"odd \"name\".x", "roles", "rolesResources",
                                                     "uiSchemaTreePath"});
  }

  SECTION("reads columns, keys, unique indexes and foreign keys") {
    auto s = db->ReadSchema("rolesResources");
    REQUIRE(s.ok());
    REQUIRE(s->columns.size() == 3);
    CHECK(s->columns[1].name == "roleName");
    CHECK(s->columns[1].not_null);
    CHECK_THAT(s->columns[1].type, Catch::Contains("VARCHAR", Catch::CaseSensitive::No) ||
                                       Catch::Equals("character varying(255)"));
    CHECK(s->primary_key == std::vector<std::string>{"id"});
    REQUIRE(s->foreign_keys.size() == 1);
    CHECK(s->foreign_keys[0].columns == std::vector<std::string>{"roleName"});
    CHECK(s->foreign_keys[0].ref_table == "roles");
    CHECK(s->foreign_keys[0].ref_columns == std::vector<std::string>{"name"});
    CHECK(s->foreign_keys[0].on_delete == "CASCADE");
    bool has_unique = false;
    for (const auto& i : s->indexes) {
      has_unique =
          has_unique || (i.unique && i.columns == std::vector<std::string>{"roleName", "name"});
    }
    CHECK(has_unique);

    auto roles = db->ReadSchema("roles");
    REQUIRE(roles.ok());
    REQUIRE(roles->columns.size() == 3);
    REQUIRE(roles->columns[2].default_sql.has_value());
    CHECK_THAT(*roles->columns[2].default_sql, Catch::Contains("false", Catch::CaseSensitive::No));
    CHECK_FALSE(roles->columns[1].default_sql.has_value());

    auto keyless = db->ReadSchema("uiSchemaTreePath");
    REQUIRE(keyless.ok());
    CHECK(keyless->primary_key.empty());
  }

  SECTION("streams every row, in any order") {
    auto s = db->ReadSchema("rolesResources");
    REQUIRE(s.ok());
    s->key = {"roleName", "name"};
    auto rows = ReadAll(*db, *s);
    REQUIRE(rows.size() == 3);
    std::sort(rows.begin(), rows.end(),
              [](const Row& a, const Row& b) { return a[0].integer() < b[0].integer(); });
    CHECK(rows[0][0] == Value::Integer(1));
    CHECK(rows[1][0] == Value::Integer(2));
    CHECK(rows[2] == Row{Value::Integer(3), Value::Text("admin"), Value::Text("posts")});
  }

  SECTION("keyless tables stream every row, duplicates included") {
    auto s = db->ReadSchema("uiSchemaTreePath");
    REQUIRE(s.ok());
    auto rows = ReadAll(*db, *s);
    REQUIRE(rows.size() == 4);
    size_t copies = 0;
    for (const Row& r : rows) copies += std::count(rows.begin(), rows.end(), r);
    CHECK(copies == 6);  // one row twice (2 x 2), two rows once
  }

  SECTION("ignored columns are not read") {
    auto s = db->ReadSchema("roles");
    REQUIRE(s.ok());
    s->key = s->primary_key;
    s->ignore = {"title"};
    auto rows = ReadAll(*db, *s);
    REQUIRE(rows.size() == 2);
    CHECK(rows[0].size() == 2);
    CHECK(rows[0][0] == Value::Text("admin"));
  }

  SECTION("quotes every identifier") {
    auto s = db->ReadSchema("odd \"name\".x");
    REQUIRE(s.ok());
    CHECK(s->columns[1].name == "a b");
    s->key = s->primary_key;
    auto rows = ReadAll(*db, *s);
    REQUIRE(rows.size() == 1);
    CHECK(rows[0] == Row{Value::Text("u/1"), Value::Text("x")});
  }

  SECTION("a missing table is a database error") {
    CHECK(db->ReadSchema("nope").status().code() == Code::kDatabase);
  }
}

namespace {

// The rows of `table` as a fresh connection sees them (so only committed changes show).
std::vector<Row> Committed(Backend& b, const std::string& table) {
  auto db = Open(b);
  auto s = db->ReadSchema(table);
  REQUIRE(s.ok());
  s->key = s->primary_key;
  return ReadAll(*db, *s);
}

TableSchema Keyed(Adapter& db, const std::string& table) {
  auto s = db.ReadSchema(table);
  INFO(s.status().message());
  REQUIRE(s.ok());
  s->key = s->primary_key;
  return std::move(s).value();
}

Value T(const char* text) { return Value::Text(text); }
Value I(int64_t v) { return Value::Integer(v); }

}  // namespace

TEST_CASE("adapter contract: writing", "[adapter][write]") {
  const std::string kind = GENERATE(as<std::string>{}, "sqlite", "postgresql");
  INFO("backend: " << kind);
  auto backend = MakeBackend(kind);
  if (!backend) return;
  backend->Exec(kSchema);
  backend->Exec(
      "CREATE TABLE \"roleTags\" (id INTEGER PRIMARY KEY, role VARCHAR(255) NOT NULL "
      "REFERENCES roles(name), tag TEXT);"
      "CREATE TABLE counters (id " +
      backend->AutoIdColumn() + ", name TEXT);");
  backend->Exec(R"(
    INSERT INTO roles VALUES ('member', 'Member', TRUE), ('admin', 'Admin', FALSE);
    INSERT INTO "rolesResources" VALUES (2, 'member', 'posts'), (1, 'admin', 'users'), (3, 'admin', 'posts');
    INSERT INTO "uiSchemaTreePath" VALUES ('b', 'b', 0), ('a', 'b', 1), ('a', 'a', 0), ('a', 'b', 1);
    INSERT INTO "odd ""name"".x" VALUES ('u/1', 'x');
  )");
  auto db = Open(*backend);
  TableSchema rr = Keyed(*db, "rolesResources");
  TableSchema roles = Keyed(*db, "roles");
  const std::vector<Row> rr_before = Committed(*backend, "rolesResources");
  const std::string dialect = db->dialect();

  SECTION("deletes, updates and inserts land together at Commit") {
    ChangeBatch b{.source_dialect = dialect};
    b.tables.push_back(
        {.schema = rr,
         .deletes = {{I(3)}},
         .updates = {RowUpdate{.key = {I(2)}, .columns = {"name"}, .values = {T("comments")}}},
         .inserts = {{I(4), T("member"), T("users")}}});
    REQUIRE(db->BeginWrite({"rolesResources"}).ok());
    auto s = db->Write(b);
    INFO(s.message());
    REQUIRE(s.ok());
    CHECK(Committed(*backend, "rolesResources") == rr_before);  // not yet visible to others
    REQUIRE(db->Commit().ok());
    CHECK(Committed(*backend, "rolesResources") ==
          std::vector<Row>{{I(1), T("admin"), T("users")},
                           {I(2), T("member"), T("comments")},
                           {I(4), T("member"), T("users")}});
  }

  SECTION("scans inside the write transaction see the locked state and its own writes") {
    REQUIRE(db->BeginWrite({"rolesResources", "roles"}).ok());
    CHECK(ReadAll(*db, rr) == rr_before);
    ChangeBatch b{.source_dialect = dialect};
    b.tables.push_back({.schema = rr, .deletes = {{I(1)}}});
    REQUIRE(db->Write(b).ok());
    CHECK(ReadAll(*db, rr).size() == 2);
    REQUIRE(db->Rollback().ok());
    CHECK(Committed(*backend, "rolesResources") == rr_before);
  }

  SECTION("an adapter destroyed with a write open rolls it back") {
    REQUIRE(db->BeginWrite({"rolesResources"}).ok());
    ChangeBatch b{.source_dialect = dialect};
    b.tables.push_back({.schema = rr, .deletes = {{I(1)}, {I(2)}, {I(3)}}});
    REQUIRE(db->Write(b).ok());
    db.reset();
    CHECK(Committed(*backend, "rolesResources") == rr_before);
  }

  SECTION("parents are inserted first and children deleted first, whatever the batch order") {
    TableSchema tags = Keyed(*db, "roleTags");
    ChangeBatch add{.source_dialect = dialect};
    add.tables.push_back({.schema = tags, .inserts = {{I(1), T("guest"), T("new")}}});
    add.tables.push_back({.schema = roles, .inserts = {{T("guest"), T("Guest"), Value::Null()}}});
    REQUIRE(db->BeginWrite({"roleTags", "roles"}).ok());
    auto s = db->Write(add);
    INFO(s.message());
    REQUIRE(s.ok());
    REQUIRE(db->Commit().ok());
    CHECK(Committed(*backend, "roleTags").size() == 1);

    ChangeBatch remove{.source_dialect = dialect};
    remove.tables.push_back({.schema = roles, .deletes = {{T("guest")}}});
    remove.tables.push_back({.schema = tags, .deletes = {{I(1)}}});
    REQUIRE(db->BeginWrite({"roles", "roleTags"}).ok());
    s = db->Write(remove);
    INFO(s.message());
    REQUIRE(s.ok());
    REQUIRE(db->Commit().ok());
    CHECK(Committed(*backend, "roleTags").empty());
    CHECK(Committed(*backend, "roles").size() == 2);
  }

  SECTION("a keyless delete removes one copy of the row") {
    auto tree = db->ReadSchema("uiSchemaTreePath");
    REQUIRE(tree.ok());
    ChangeBatch b{.source_dialect = dialect};
    b.tables.push_back({.schema = *tree, .deletes = {{T("a"), T("b"), I(1)}}});
    REQUIRE(db->BeginWrite({"uiSchemaTreePath"}).ok());
    REQUIRE(db->Write(b).ok());
    REQUIRE(db->Commit().ok());
    auto rows = Committed(*backend, "uiSchemaTreePath");
    CHECK(rows.size() == 3);
    CHECK(std::count(rows.begin(), rows.end(), Row{T("a"), T("b"), I(1)}) == 1);
  }

  SECTION("counters are raised past the ids written") {
    ChangeBatch b{.source_dialect = dialect};
    b.tables.push_back({.schema = Keyed(*db, "counters"), .inserts = {{I(10), T("cfgit")}}});
    REQUIRE(db->BeginWrite({"counters"}).ok());
    REQUIRE(db->Write(b).ok());
    REQUIRE(db->Commit().ok());
    backend->Exec("INSERT INTO counters (name) VALUES ('app')");
    CHECK(Committed(*backend, "counters") ==
          std::vector<Row>{{I(10), T("cfgit")}, {I(11), T("app")}});
  }

  SECTION("a failing statement is a database error and changes nothing") {
    ChangeBatch b{.source_dialect = dialect};
    b.tables.push_back({.schema = roles, .inserts = {{T("guest"), T("Guest"), Value::Null()}}});
    b.tables.push_back({.schema = rr, .inserts = {{I(1), T("admin"), T("again")}}});  // id 1 exists
    REQUIRE(db->BeginWrite({"roles", "rolesResources"}).ok());
    auto s = db->Write(b);
    CHECK(s.code() == Code::kDatabase);
    CHECK_FALSE(s.message().empty());
    CHECK(db->Rollback().ok());
    CHECK(Committed(*backend, "rolesResources") == rr_before);
    CHECK(Committed(*backend, "roles").size() == 2);
  }

  SECTION("a table missing from the database is created from its own schema") {
    TableSchema odd = Keyed(*db, "odd \"name\".x");
    std::vector<Row> rows = ReadAll(*db, odd);
    db.reset();
    backend->Exec("DROP TABLE \"odd \"\"name\"\".x\"");
    db = Open(*backend);
    ChangeBatch b{.source_dialect = dialect};
    b.tables.push_back({.schema = odd, .create = true, .inserts = rows});
    REQUIRE(db->BeginWrite({odd.name}).ok());
    auto s = db->Write(b);
    INFO(s.message());
    REQUIRE(s.ok());
    REQUIRE(db->Commit().ok());
    auto again = Open(*backend);
    CHECK(Keyed(*again, odd.name) == odd);
    CHECK(Committed(*backend, odd.name) == rows);
  }
}

TEST_CASE("sqlite keeps each value's storage class", "[adapter][sqlite]") {
  TempDir dir;
  cfgit::test::Sqlite(dir / "db.sqlite", R"(
    CREATE TABLE t (id INTEGER PRIMARY KEY, v);
    INSERT INTO t VALUES (1, 1), (2, 1.0), (3, '1'), (4, x'31'), (5, ''), (6, NULL),
      (7, 9223372036854775807), (8, -9223372036854775808), (9, 'a' || char(10) || 'b' || char(9) || 'ü'),
      (10, x'00ff00');
  )");
  auto db = Adapter::Open("sqlite:db.sqlite", {.base_dir = dir.path(), .environment = "dev"});
  REQUIRE(db.ok());
  auto s = (*db)->ReadSchema("t");
  REQUIRE(s.ok());
  s->key = s->primary_key;
  auto rows = ReadAll(**db, *s);
  REQUIRE(rows.size() == 10);
  CHECK(rows[0][1] == Value::Integer(1));
  CHECK(rows[1][1] == Value::Real(1.0));
  CHECK(rows[2][1] == Value::Text("1"));
  CHECK(rows[3][1] == Value::Blob("1"));
  CHECK(rows[4][1] == Value::Text(""));
  CHECK(rows[5][1].is_null());
  CHECK(rows[6][1] == Value::Integer(INT64_MAX));
  CHECK(rows[7][1] == Value::Integer(INT64_MIN));
  CHECK(rows[8][1] == Value::Text("a\nb\tü"));
  CHECK(rows[9][1] == Value::Blob(std::string("\0\xff\0", 3)));
}

TEST_CASE("sqlite open failures are database errors naming the file", "[adapter][sqlite]") {
  TempDir dir;
  auto missing = Adapter::Open("sqlite:nope.db", {.base_dir = dir.path(), .environment = "dev"});
  CHECK(missing.status().code() == Code::kDatabase);
  CHECK_THAT(missing.status().message(), Catch::Contains("nope.db"));
  CHECK_THAT(missing.status().message(), Catch::Contains("environment 'dev'"));

  cfgit::test::WriteFile(dir / "garbage.db", std::string(4096, 'x'));
  auto garbage = Adapter::Open("sqlite:garbage.db", {.base_dir = dir.path(), .environment = "dev"});
  CHECK(garbage.status().code() == Code::kDatabase);
  CHECK_THAT(garbage.status().message(), Catch::Contains("garbage.db"));

  auto unknown = Adapter::Open("mysql://x", {.base_dir = dir.path(), .environment = "dev"});
  CHECK(unknown.status().code() == Code::kInvalid);
}
