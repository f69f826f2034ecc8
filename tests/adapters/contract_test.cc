// The adapter contract: every adapter passes the same tests against a real database.
// Backends: SQLite (a real file). PostgreSQL joins when its adapter lands.
#include <catch2/catch.hpp>

#include "adapters/adapter.h"
#include "tests/support/support.h"

using cfgit::Adapter;
using cfgit::Code;
using cfgit::Row;
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
};

class SqliteBackend final : public Backend {
 public:
  std::string name() const override { return "sqlite"; }
  void Exec(const std::string& sql) override { cfgit::test::Sqlite(dir_ / "db.sqlite", sql); }
  std::string url() const override { return "sqlite:" + dir_ / "db.sqlite"; }

 private:
  TempDir dir_;
};

std::unique_ptr<Backend> MakeBackend(const std::string& kind) {
  if (kind == "sqlite") return std::make_unique<SqliteBackend>();
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
  const std::string kind = GENERATE(as<std::string>{}, "sqlite");
  INFO("backend: " << kind);
  auto backend = MakeBackend(kind);
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
    CHECK(tables.value() ==
          std::vector<std::string>{"odd \"name\".x", "roles", "rolesResources", "uiSchemaTreePath"});
  }

  SECTION("reads columns, keys, unique indexes and foreign keys") {
    auto s = db->ReadSchema("rolesResources");
    REQUIRE(s.ok());
    REQUIRE(s->columns.size() == 3);
    CHECK(s->columns[1].name == "roleName");
    CHECK(s->columns[1].not_null);
    CHECK_THAT(s->columns[1].type, Catch::Contains("VARCHAR", Catch::CaseSensitive::No));
    CHECK(s->primary_key == std::vector<std::string>{"id"});
    REQUIRE(s->foreign_keys.size() == 1);
    CHECK(s->foreign_keys[0].columns == std::vector<std::string>{"roleName"});
    CHECK(s->foreign_keys[0].ref_table == "roles");
    CHECK(s->foreign_keys[0].ref_columns == std::vector<std::string>{"name"});
    CHECK(s->foreign_keys[0].on_delete == "CASCADE");
    bool has_unique = false;
    for (const auto& i : s->indexes) {
      has_unique = has_unique || (i.unique && i.columns == std::vector<std::string>{"roleName", "name"});
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

  SECTION("streams rows in key order") {
    auto s = db->ReadSchema("rolesResources");
    REQUIRE(s.ok());
    s->key = s->primary_key;
    auto rows = ReadAll(*db, *s);
    REQUIRE(rows.size() == 3);
    CHECK(rows[0][0] == Value::Integer(1));
    CHECK(rows[1][0] == Value::Integer(2));
    CHECK(rows[2] == Row{Value::Integer(3), Value::Text("admin"), Value::Text("posts")});

    s->key = {"roleName", "name"};
    rows = ReadAll(*db, *s);
    CHECK(rows[0][2] == Value::Text("posts"));
    CHECK(rows[1][2] == Value::Text("users"));
    CHECK(rows[2][1] == Value::Text("member"));
  }

  SECTION("keyless tables stream every row, duplicates included") {
    auto s = db->ReadSchema("uiSchemaTreePath");
    REQUIRE(s.ok());
    auto rows = ReadAll(*db, *s);
    REQUIRE(rows.size() == 4);
    CHECK(rows[1] == rows[2]);  // ordered by every column: duplicates are adjacent
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
