// The SQLite adapter's write side: one transaction, minimal DML, foreign keys at commit,
// autoincrement counters, keyless rows, and nothing changed on failure.
#include <catch2/catch.hpp>
#include <functional>

#include "adapters/adapter.h"
#include "tests/support/support.h"

using cfgit::Adapter;
using cfgit::ChangeBatch;
using cfgit::Code;
using cfgit::Row;
using cfgit::TableBatch;
using cfgit::TableSchema;
using cfgit::Value;
using cfgit::test::Sqlite;
using cfgit::test::SqliteRows;
using cfgit::test::TempDir;

namespace {

const char* kSchema = R"(
  PRAGMA foreign_keys = ON;
  CREATE TABLE roles (name TEXT PRIMARY KEY, title TEXT);
  CREATE TABLE rolesResources (id INTEGER PRIMARY KEY AUTOINCREMENT,
    roleName TEXT NOT NULL REFERENCES roles(name), name TEXT NOT NULL, UNIQUE (roleName, name));
  CREATE TABLE paths (ancestor TEXT, descendant TEXT, depth INTEGER);
  INSERT INTO roles VALUES ('admin', 'Admin'), ('member', 'Member');
  INSERT INTO rolesResources (roleName, name) VALUES ('admin', 'users'), ('member', 'posts');
  INSERT INTO paths VALUES ('a', 'b', 1), ('a', 'b', 1), ('a', 'a', 0);
)";

std::unique_ptr<Adapter> Open(const TempDir& dir) {
  auto a = Adapter::Open("sqlite:db.sqlite", {.base_dir = dir.path(), .environment = "staging"});
  REQUIRE(a.ok());
  return std::move(a).value();
}

TableSchema Schema(Adapter& db, const std::string& table, std::vector<std::string> key = {}) {
  auto s = db.ReadSchema(table);
  REQUIRE(s.ok());
  s->key = key.empty() ? s->primary_key : std::move(key);
  return s.value();
}

std::vector<std::string> Dump(const TempDir& dir) {
  std::vector<std::string> all;
  for (const char* q :
       {"SELECT * FROM roles ORDER BY name", "SELECT * FROM rolesResources ORDER BY id",
        "SELECT * FROM paths ORDER BY 1, 2, 3"}) {
    for (auto& r : SqliteRows(dir / "db.sqlite", q)) all.push_back(r);
    all.push_back("--");
  }
  return all;
}

}  // namespace

TEST_CASE("sqlite writes a batch in one transaction with foreign keys checked at commit",
          "[adapter][sqlite][write]") {
  TempDir dir;
  Sqlite(dir / "db.sqlite", kSchema);
  auto db = Open(dir);
  REQUIRE(db->BeginWrite({"roles", "rolesResources"}).ok());
  ChangeBatch batch{.source_dialect = "sqlite"};
  // Children first in the batch, parents last: the order must not matter.
  batch.tables.push_back(
      {.schema = Schema(*db, "rolesResources"),
       .inserts = {{Value::Integer(10), Value::Text("editor"), Value::Text("posts")}}});
  batch.tables.push_back(
      {.schema = Schema(*db, "roles"),
       .deletes = {{Value::Text("member")}},
       .updates = {{{Value::Text("admin")}, {"title"}, {Value::Text("Administrator")}}},
       .inserts = {{Value::Text("editor"), Value::Text("Editor")}}});
  batch.tables[0].deletes = {{Value::Integer(2)}};
  REQUIRE(db->Write(batch).ok());
  REQUIRE(db->Commit().ok());
  CHECK(SqliteRows(dir / "db.sqlite", "SELECT * FROM roles ORDER BY name") ==
        std::vector<std::string>{"admin|Administrator", "editor|Editor"});
  CHECK(SqliteRows(dir / "db.sqlite", "SELECT * FROM rolesResources ORDER BY id") ==
        std::vector<std::string>{"1|admin|users", "10|editor|posts"});
  // The autoincrement counter is past the explicit id: the next row gets 11.
  Sqlite(dir / "db.sqlite", "INSERT INTO rolesResources (roleName, name) VALUES ('admin', 'x')");
  CHECK(SqliteRows(dir / "db.sqlite", "SELECT max(id) FROM rolesResources") ==
        std::vector<std::string>{"11"});
}

TEST_CASE("sqlite rolls the whole batch back when a foreign key breaks",
          "[adapter][sqlite][write]") {
  TempDir dir;
  Sqlite(dir / "db.sqlite", kSchema);
  auto before = Dump(dir);
  auto db = Open(dir);
  REQUIRE(db->BeginWrite({"roles"}).ok());
  ChangeBatch batch{.source_dialect = "sqlite"};
  batch.tables.push_back(
      {.schema = Schema(*db, "roles"), .inserts = {{Value::Text("x"), Value::Null()}}});
  batch.tables.push_back(
      {.schema = Schema(*db, "rolesResources"),
       .inserts = {{Value::Integer(5), Value::Text("nobody"), Value::Text("posts")}}});
  REQUIRE(db->Write(batch).ok());  // checked at commit
  cfgit::Status commit = db->Commit();
  CHECK(commit.code() == Code::kDatabase);
  CHECK_THAT(commit.message(), Catch::Contains("FOREIGN KEY"));
  CHECK(Dump(dir) == before);
}

// The foreign keys a commit checks are those of the rows written and of the rows that pointed at
// rows deleted (as SQLite counts them with foreign_keys on), whichever way the check goes: a
// lookup of the parent, an index of the child's key columns, or a scan of a child without one.
TEST_CASE("sqlite checks the foreign keys the batch could break, and only those",
          "[adapter][sqlite][write]") {
  const char* schema = R"(
    CREATE TABLE p (id INTEGER PRIMARY KEY, code TEXT UNIQUE, a TEXT, b INTEGER, UNIQUE (a, b));
    CREATE TABLE indexed (id INTEGER PRIMARY KEY, pid INTEGER REFERENCES p(id));
    CREATE INDEX indexed_pid ON indexed (pid);
    CREATE TABLE unindexed (id INTEGER PRIMARY KEY, pcode TEXT REFERENCES p(code));
    CREATE TABLE pair (id INTEGER PRIMARY KEY, a TEXT, b INTEGER, FOREIGN KEY (a, b)
      REFERENCES p(a, b));
    CREATE TABLE tree (id INTEGER PRIMARY KEY, parent INTEGER REFERENCES tree(id));
    CREATE TABLE bare (k TEXT PRIMARY KEY, pid INTEGER REFERENCES p(id)) WITHOUT ROWID;
    INSERT INTO p VALUES (1, 'one', 'x', 1), (2, 'two', 'x', 2), (3, 'three', 'y', 1);
    INSERT INTO indexed VALUES (10, 1), (11, NULL);
    INSERT INTO unindexed VALUES (20, 'two');
    INSERT INTO pair VALUES (30, 'y', 1);
    INSERT INTO tree VALUES (40, NULL), (41, 40);
    INSERT INTO bare VALUES ('k', 3);
    -- broken before the write, in a table it does not touch: not its business
    CREATE TABLE old (id INTEGER PRIMARY KEY, pid INTEGER REFERENCES p(id));
    INSERT INTO old VALUES (50, 99);
  )";
  auto I = [](int64_t v) { return Value::Integer(v); };
  auto T = [](const char* v) { return Value::Text(v); };
  struct Case {
    const char* name;
    std::function<void(Adapter&, ChangeBatch*)> batch;
    const char* broken;  // "" when the commit must succeed; else what the message names
  };
  std::vector<Case> cases = {
      {"a row inserted with its parent",
       [&](Adapter& db, ChangeBatch* b) {
         b->tables.push_back({.schema = Schema(db, "indexed"), .inserts = {{I(12), I(2)}}});
       },
       ""},
      {"a row inserted without its parent",
       [&](Adapter& db, ChangeBatch* b) {
         b->tables.push_back({.schema = Schema(db, "indexed"), .inserts = {{I(12), I(7)}}});
       },
       "table 'indexed', (7) in pid: no matching row in 'p'"},
      {"a key updated to a missing parent",
       [&](Adapter& db, ChangeBatch* b) {
         b->tables.push_back(
             {.schema = Schema(db, "unindexed"), .updates = {{{I(20)}, {"pcode"}, {T("nine")}}}});
       },
       "no matching row in 'p'"},
      {"another column updated: not checked",
       [&](Adapter& db, ChangeBatch* b) {
         b->tables.push_back({.schema = Schema(db, "p"), .updates = {{{I(3)}, {"b"}, {I(1)}}}});
       },
       ""},
      {"a parent deleted that an indexed child points at",
       [&](Adapter& db, ChangeBatch* b) {
         b->tables.push_back({.schema = Schema(db, "p"), .deletes = {{I(1)}}});
       },
       "table 'indexed', rowid 10: no matching row in 'p'"},
      {"a parent deleted that a child without an index points at",
       [&](Adapter& db, ChangeBatch* b) {
         b->tables.push_back({.schema = Schema(db, "p", {"code"}), .deletes = {{T("two")}}});
       },
       "table 'unindexed', rowid 20: no matching row in 'p'"},
      {"a parent deleted by a key that is not the one referenced",
       [&](Adapter& db, ChangeBatch* b) {
         b->tables.push_back({.schema = Schema(db, "p", {"code"}), .deletes = {{T("one")}}});
       },
       "table 'indexed', rowid 10: no matching row in 'p'"},
      {"a parent of a two-column key deleted",
       [&](Adapter& db, ChangeBatch* b) {
         b->tables.push_back({.schema = Schema(db, "p", {"a", "b"}), .deletes = {{T("y"), I(1)}}});
       },
       "table 'pair', rowid 30: no matching row in 'p'"},
      {"a parent deleted with the child that pointed at it",
       [&](Adapter& db, ChangeBatch* b) {
         b->tables.push_back({.schema = Schema(db, "p", {"code"}), .deletes = {{T("two")}}});
         b->tables.push_back({.schema = Schema(db, "unindexed"), .deletes = {{I(20)}}});
       },
       ""},
      {"a parent deleted and written again",
       [&](Adapter& db, ChangeBatch* b) {
         b->tables.push_back({.schema = Schema(db, "p"),
                              .deletes = {{I(1)}},
                              .inserts = {{I(1), T("uno"), T("z"), I(9)}}});
       },
       ""},
      {"a parent deleted that nothing points at",
       [&](Adapter& db, ChangeBatch* b) {
         b->tables.push_back({.schema = Schema(db, "indexed"), .deletes = {{I(11)}}});
       },
       ""},
      {"a node of a tree deleted under a child",
       [&](Adapter& db, ChangeBatch* b) {
         b->tables.push_back({.schema = Schema(db, "tree"), .deletes = {{I(40)}}});
       },
       "table 'tree', rowid 41: no matching row in 'tree'"},
      {"a parent deleted that a table WITHOUT ROWID points at",
       [&](Adapter& db, ChangeBatch* b) {
         b->tables.push_back({.schema = Schema(db, "p"), .deletes = {{I(3)}}});
         b->tables.push_back({.schema = Schema(db, "pair"), .deletes = {{I(30)}}});
       },
       "table 'bare'"},
      {"a referenced column of a parent updated",
       [&](Adapter& db, ChangeBatch* b) {
         b->tables.push_back(
             {.schema = Schema(db, "p"), .updates = {{{I(2)}, {"code"}, {T("deux")}}}});
       },
       "table 'unindexed', rowid 20: no matching row in 'p'"},
  };
  for (const Case& c : cases) {
    DYNAMIC_SECTION(c.name) {
      TempDir dir;
      Sqlite(dir / "db.sqlite", schema);
      const char* dump = "SELECT 'p', id, code FROM p UNION ALL SELECT 'i', id, pid FROM indexed";
      std::vector<std::string> before = SqliteRows(dir / "db.sqlite", dump);
      auto db = Open(dir);
      REQUIRE(db->BeginWrite({}).ok());
      ChangeBatch batch{.source_dialect = "sqlite"};
      c.batch(*db, &batch);
      REQUIRE(db->Write(batch).ok());
      cfgit::Status commit = db->Commit();
      INFO(commit.message());
      if (std::string(c.broken).empty()) {
        CHECK(commit.ok());
      } else {
        CHECK(commit.code() == Code::kDatabase);
        CHECK_THAT(commit.message(), Catch::Contains("FOREIGN KEY constraint failed"));
        CHECK_THAT(commit.message(), Catch::Contains(c.broken));
        CHECK_FALSE(Catch::Contains("table 'old'").match(commit.message()));
        CHECK(SqliteRows(dir / "db.sqlite", dump) == before);
      }
    }
  }
}

TEST_CASE("sqlite rolls back a failed statement and on destruction", "[adapter][sqlite][write]") {
  TempDir dir;
  Sqlite(dir / "db.sqlite", kSchema);
  auto before = Dump(dir);
  {
    auto db = Open(dir);
    REQUIRE(db->BeginWrite({"roles"}).ok());
    ChangeBatch batch{.source_dialect = "sqlite"};
    batch.tables.push_back(
        {.schema = Schema(*db, "roles"),
         .updates = {{{Value::Text("admin")}, {"title"}, {Value::Text("changed")}}},
         .inserts = {{Value::Text("member"), Value::Text("duplicate key")}}});
    cfgit::Status s = db->Write(batch);
    CHECK(s.code() == Code::kDatabase);
    CHECK_THAT(s.message(), Catch::Contains("roles"));
    CHECK_THAT(s.message(), Catch::Contains("UNIQUE"));
  }  // destroyed without Commit: rolled back
  CHECK(Dump(dir) == before);
  {
    auto db = Open(dir);
    REQUIRE(db->BeginWrite({"roles"}).ok());
    ChangeBatch batch{.source_dialect = "sqlite"};
    batch.tables.push_back({.schema = Schema(*db, "roles"), .deletes = {{Value::Text("admin")}}});
    batch.tables[0].schema.name = "roles";
    REQUIRE(db->Write(batch).ok());
    REQUIRE(db->Rollback().ok());
  }
  CHECK(Dump(dir) == before);
}

TEST_CASE("sqlite writes streamed inserts as read - a failing stream changes nothing",
          "[adapter][sqlite][write]") {
  TempDir dir;
  Sqlite(dir / "db.sqlite", kSchema);
  auto before = Dump(dir);
  int calls = 0;
  auto stream = [&](int fail_at) {
    return [&calls, fail_at](const std::function<cfgit::Status(const Row&)>& each) {
      ++calls;
      for (int i = 0; i < 1000; ++i) {
        if (i == fail_at) return cfgit::Status::Invalid("reading row " + std::to_string(i));
        CFGIT_RETURN_IF_ERROR(
            each({Value::Text("p" + std::to_string(i)), Value::Text("d"), Value::Integer(i)}));
      }
      return cfgit::Status::Ok();
    };
  };
  {
    auto db = Open(dir);
    REQUIRE(db->BeginWrite({"paths"}).ok());
    ChangeBatch batch{.source_dialect = "sqlite"};
    TableBatch t{.schema = Schema(*db, "paths"),
                 .inserts = {{Value::Text("held"), Value::Text("x"), Value::Integer(9)}}};
    t.stream = stream(700);
    t.streamed_rows = 1000;
    batch.tables.push_back(std::move(t));
    cfgit::Status s = db->Write(batch);
    CHECK(s.code() == Code::kInvalid);
    CHECK_THAT(s.message(), Catch::Contains("reading row 700"));
    REQUIRE(db->Rollback().ok());
  }
  CHECK(Dump(dir) == before);
  {
    auto db = Open(dir);
    REQUIRE(db->BeginWrite({"paths"}).ok());
    ChangeBatch batch{.source_dialect = "sqlite"};
    TableBatch t{.schema = Schema(*db, "paths")};
    t.stream = stream(-1);
    t.streamed_rows = 1000;
    batch.tables.push_back(std::move(t));
    REQUIRE(db->Write(batch).ok());
    REQUIRE(db->Commit().ok());
  }
  CHECK(calls == 2);
  CHECK(SqliteRows(dir / "db.sqlite", "SELECT count(*), sum(depth) FROM paths") ==
        std::vector<std::string>{"1003|499502"});
}

TEST_CASE("sqlite keyless deletes remove one copy of a row", "[adapter][sqlite][write]") {
  TempDir dir;
  Sqlite(dir / "db.sqlite", kSchema);
  auto db = Open(dir);
  REQUIRE(db->BeginWrite({"paths"}).ok());
  ChangeBatch batch{.source_dialect = "sqlite"};
  TableSchema paths = Schema(*db, "paths");
  REQUIRE(paths.key.empty());
  batch.tables.push_back({.schema = paths,
                          .deletes = {{Value::Text("a"), Value::Text("b"), Value::Integer(1)}},
                          .inserts = {{Value::Text("b"), Value::Null(), Value::Integer(2)}}});
  REQUIRE(db->Write(batch).ok());
  REQUIRE(db->Commit().ok());
  CHECK(SqliteRows(dir / "db.sqlite", "SELECT * FROM paths ORDER BY 1, 2, 3") ==
        std::vector<std::string>{"a|a|0", "a|b|1", "b|NULL|2"});
}

TEST_CASE("sqlite creates missing tables from their SQLite definition",
          "[adapter][sqlite][write]") {
  TempDir source, target;
  Sqlite(source / "db.sqlite", kSchema);
  Sqlite(source / "db.sqlite", "CREATE INDEX rr_name ON rolesResources(name)");
  Sqlite(target / "db.sqlite", "PRAGMA user_version = 1");
  auto src = Open(source);
  auto dst = Open(target);
  REQUIRE(dst->BeginWrite({}).ok());
  ChangeBatch batch{.source_dialect = "sqlite"};
  batch.tables.push_back(
      {.schema = Schema(*src, "rolesResources"),
       .create = true,
       .inserts = {{Value::Integer(3), Value::Text("admin"), Value::Text("users")}}});
  batch.tables.push_back({.schema = Schema(*src, "roles"),
                          .create = true,
                          .inserts = {{Value::Text("admin"), Value::Text("Admin")}}});
  REQUIRE(dst->Write(batch).ok());
  REQUIRE(dst->Commit().ok());
  auto schema = Schema(*dst, "rolesResources");
  CHECK(schema == Schema(*src, "rolesResources"));
  CHECK(SqliteRows(target / "db.sqlite", "SELECT * FROM rolesResources") ==
        std::vector<std::string>{"3|admin|users"});

  REQUIRE(dst->BeginWrite({}).ok());
  ChangeBatch foreign{.source_dialect = "postgresql"};
  TableSchema pg = Schema(*src, "roles");
  pg.name = "pg_roles";
  foreign.tables.push_back({.schema = pg, .create = true});
  cfgit::Status s = dst->Write(foreign);
  CHECK(s.code() == Code::kInvalid);
  CHECK_THAT(s.message(), Catch::Contains("pg_roles"));
  REQUIRE(dst->Rollback().ok());
}

TEST_CASE("a write lock keeps other writers out until commit", "[adapter][sqlite][write]") {
  TempDir dir;
  Sqlite(dir / "db.sqlite", kSchema);
  auto first = Open(dir);
  REQUIRE(first->BeginWrite({"roles"}).ok());
  auto second = Open(dir);
  auto start = std::chrono::steady_clock::now();
  cfgit::Status blocked = second->BeginWrite({"roles"});  // waits for the busy timeout, then fails
  CHECK(blocked.code() == Code::kDatabase);
  CHECK(std::chrono::steady_clock::now() - start >= std::chrono::seconds(1));
  REQUIRE(first->Commit().ok());
  CHECK(second->BeginWrite({"roles"}).ok());
  CHECK(second->Rollback().ok());
}

TEST_CASE("sqlite writes exact rows: ON DELETE CASCADE does not remove a child moved away",
          "[adapter][sqlite][write]") {
  TempDir dir;
  Sqlite(dir / "db.sqlite", R"(
    CREATE TABLE groups (id INTEGER PRIMARY KEY, name TEXT);
    CREATE TABLE members (id INTEGER PRIMARY KEY,
      group_id INTEGER REFERENCES groups(id) ON DELETE CASCADE, name TEXT);
    INSERT INTO groups VALUES (1, 'a'), (2, 'b');
    INSERT INTO members VALUES (1, 1, 'x'), (2, 2, 'y');
  )");
  auto db = Open(dir);
  REQUIRE(db->BeginWrite({"groups", "members"}).ok());
  ChangeBatch batch{.source_dialect = "sqlite"};
  batch.tables.push_back({.schema = Schema(*db, "groups"),
                          .deletes = {{Value::Integer(2)}},
                          .inserts = {{Value::Integer(3), Value::Text("c")}}});
  cfgit::RowUpdate move{{Value::Integer(2)}, {"group_id"}, {Value::Integer(3)}};
  batch.tables.push_back({.schema = Schema(*db, "members"), .updates = {move}});
  REQUIRE(db->Write(batch).ok());
  REQUIRE(db->Commit().ok());
  CHECK(SqliteRows(dir / "db.sqlite", "SELECT * FROM members ORDER BY id") ==
        std::vector<std::string>{"1|1|x", "2|3|y"});
  CHECK(SqliteRows(dir / "db.sqlite", "SELECT * FROM groups ORDER BY id") ==
        std::vector<std::string>{"1|a", "3|c"});
}
