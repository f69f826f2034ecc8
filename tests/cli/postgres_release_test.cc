// End to end on a real PostgreSQL server: releases between two databases, including changes of
// an existing table's structure, which PostgreSQL alters in place (ALTER TABLE). psql is the
// oracle: it reads both databases independently of cfgit.
#include <cstdlib>

#include "tests/cli/cli_fixture.h"
#include "tests/support/postgres.h"

namespace cfgit::test {
namespace {

// A fresh database that cfgit reaches through a postgresql:// URL.
class Db : public PgTestDatabase {
 public:
  using PgTestDatabase::PgTestDatabase;
  std::string url() const {
    const char* host = std::getenv("PGHOST");
    const char* port = std::getenv("PGPORT");
    const char* user = std::getenv("PGUSER");
    return std::string("postgresql://") + (user ? user : "postgres") + "@" +
           (host ? host : "127.0.0.1") + ":" + (port ? port : "5432") + "/" + name();
  }
};

const char* kSchema = R"sql(
CREATE TABLE roles (name text PRIMARY KEY, title text, sort integer);
CREATE TABLE fields (id bigserial PRIMARY KEY, role text REFERENCES roles(name),
  label text NOT NULL, options jsonb, hits integer DEFAULT 0);
CREATE TABLE users (id serial PRIMARY KEY, email text UNIQUE);
INSERT INTO roles VALUES ('admin', 'Admin', 1), ('member', 'Member', 2);
INSERT INTO fields (role, label, options) VALUES ('admin', 'Name', '{"a": 1}'),
  ('member', 'Email', '{"b": [1, 2]}');
INSERT INTO users (email) VALUES ('dev@example.com');
CREATE TABLE tags (name text PRIMARY KEY, color text);
INSERT INTO tags VALUES ('new', 'red');
)sql";

// The structure of a table as psql reads it: columns with type, default and nullability, then
// the indexes' definitions and the constraints.
std::vector<std::string> Structure(const Db& db, const std::string& table) {
  std::vector<std::string> out = db.Rows(
      "SELECT column_name || ' ' || data_type || ' ' || coalesce(column_default, '-') || ' ' || "
      "is_nullable FROM information_schema.columns WHERE table_name = '" +
      table + "' ORDER BY column_name");
  for (const std::string& s :
       db.Rows("SELECT indexdef FROM pg_indexes WHERE tablename = '" + table + "' ORDER BY 1")) {
    out.push_back(s);
  }
  // (cfgit creates a UNIQUE constraint as a unique index: the index lines compare those.)
  for (const std::string& s : db.Rows("SELECT pg_get_constraintdef(oid) FROM pg_constraint "
                                      "WHERE conrelid = '" + table +
                                      "'::regclass AND contype <> 'u' ORDER BY 1")) {
    out.push_back(s);
  }
  return out;
}

TEST_CASE("postgres release: structure changes of existing tables are altered in place",
          "[cli][release][postgres]") {
  const std::string server = PgServer();
  if (server.empty()) return;
  Db dev(server), staging(server);
  dev.Exec(kSchema);
  Ws ws;
  WriteFile(ws / "cfgit.yaml", "environments:\n"
                               "  dev: { url: \"" + dev.url() + "\" }\n"
                               "  staging: { url: \"" + staging.url() + "\", protected: true }\n"
                               "tables:\n"
                               "  users: { rule: schema-only }\n"
                               "  fields: { ignore: [hits] }\n");
  ws.Commit("dev", "v1");
  CFGIT_EXPECT_EXIT(ws.Run("branch staging dev"), 0);
  CFGIT_EXPECT_EXIT(ws.Run("apply staging"), 0);  // creates the tables
  // staging's own state: a user, and runtime counters in the ignored column.
  staging.Exec("INSERT INTO users (email) VALUES ('ops@example.com');"
               "UPDATE fields SET hits = 7 WHERE label = 'Name';");

  // dev changes the structure: a column added (NOT NULL, filled), one dropped, a default and a
  // type changed, an index and a foreign key added.
  dev.Exec("ALTER TABLE roles ADD COLUMN icon text;"
           "UPDATE roles SET icon = 'crown' WHERE name = 'admin';"
           "ALTER TABLE roles ADD COLUMN code text; UPDATE roles SET code = upper(name);"
           "ALTER TABLE roles ALTER COLUMN code SET NOT NULL;"
           "ALTER TABLE roles ALTER COLUMN sort TYPE bigint;"
           "ALTER TABLE roles ALTER COLUMN title SET DEFAULT 'untitled';"
           "ALTER TABLE fields DROP COLUMN options;"
           "CREATE INDEX fields_label ON fields (label);"
           "ALTER TABLE fields ADD COLUMN owner text REFERENCES roles(name);"
           "UPDATE fields SET owner = 'admin';"
           "ALTER TABLE users ADD COLUMN nickname text;"
           "INSERT INTO roles VALUES ('guest', 'Guest', 3, NULL, 'GUEST');");
  std::string v2 = ws.Commit("dev", "v2");

  // The dry run prints the ALTER statements; running them is the apply's job.
  RunResult plan = ws.Run("apply staging dev --dry-run --format sql");
  CFGIT_EXPECT_EXIT(plan, 0);
  CHECK_THAT(plan.out, Catch::Contains("ALTER TABLE \"roles\" ADD COLUMN \"icon\" text;"));
  CHECK_THAT(plan.out, Catch::Contains("ALTER TABLE \"fields\" DROP COLUMN \"options\";"));

  RunResult r = ws.Run("apply staging dev");
  CFGIT_EXPECT_EXIT(r, 0);
  for (const char* table : {"roles", "fields", "users"}) {
    INFO(table);
    CHECK(Structure(staging, table) == Structure(dev, table));
  }
  CHECK(staging.Rows("SELECT name, title, sort, icon, code FROM roles ORDER BY name") ==
        dev.Rows("SELECT name, title, sort, icon, code FROM roles ORDER BY name"));
  CHECK(staging.Rows("SELECT id, role, label, owner FROM fields ORDER BY id") ==
        dev.Rows("SELECT id, role, label, owner FROM fields ORDER BY id"));
  // What cfgit does not version stayed: the schema-only table's rows, the ignored column.
  CHECK(staging.Rows("SELECT email, nickname FROM users ORDER BY id") ==
        std::vector<std::string>{"ops@example.com|NULL"});
  CHECK(staging.Rows("SELECT label, hits FROM fields ORDER BY id") ==
        std::vector<std::string>{"Name|7", "Email|0"});
  CFGIT_EXPECT_EXIT(ws.Run("diff dev @staging --exit-code"), 0);
  CFGIT_EXPECT_EXIT(ws.Run("status staging"), 0);

  // A primary key change is refused before anything is written.
  dev.Exec("ALTER TABLE tags DROP CONSTRAINT tags_pkey;"
           "ALTER TABLE tags ADD PRIMARY KEY (name, color);");
  ws.Commit("dev", "v3");
  std::vector<std::string> before = Structure(staging, "tags");
  RunResult refused = ws.Run("apply staging dev");
  CHECK(refused.exit_code != 0);
  CHECK_THAT(refused.err, Catch::Contains("table 'tags': the primary key change"));
  CHECK_THAT(refused.err, Catch::Contains("nothing was written"));
  CHECK(Structure(staging, "tags") == before);
  CHECK(ws.GitOut("rev-parse refs/cfgit/deployed/staging") == v2);
}

TEST_CASE("postgres release: a chain whose foreign keys reference their own table",
          "[cli][release][postgres]") {
  // Workflow nodes linked both ways with non-deferrable keys (as NocoBase declares them):
  // appending a node updates the old tail to point at a row inserted in the same apply, and
  // removing one deletes a row others pointed at.
  const std::string server = PgServer();
  if (server.empty()) return;
  Db dev(server), staging(server);
  dev.Exec("CREATE TABLE nodes (id bigint PRIMARY KEY, title text,"
           "  upstream bigint REFERENCES nodes(id), downstream bigint REFERENCES nodes(id));"
           "INSERT INTO nodes VALUES (1, 'start', NULL, NULL), (2, 'mail', 1, NULL);"
           "UPDATE nodes SET downstream = 2 WHERE id = 1;");
  Ws ws;
  WriteFile(ws / "cfgit.yaml", "environments:\n"
                               "  dev: { url: \"" + dev.url() + "\" }\n"
                               "  staging: { url: \"" + staging.url() + "\", protected: true }\n");
  ws.Commit("dev", "v1");
  CFGIT_EXPECT_EXIT(ws.Run("apply staging dev"), 0);
  const std::string all = "SELECT * FROM nodes ORDER BY id";
  auto deferrable = [&](const Db& db) {
    return db.Rows("SELECT conname, condeferrable FROM pg_constraint WHERE conrelid = "
                   "'nodes'::regclass AND contype = 'f' ORDER BY 1");
  };
  std::vector<std::string> constraints = deferrable(staging);
  REQUIRE(constraints.size() == 2);

  dev.Exec("INSERT INTO nodes VALUES (3, 'approve', 2, NULL);"
           "UPDATE nodes SET downstream = 3 WHERE id = 2;");
  ws.Commit("dev", "v2: a node appended");
  CFGIT_EXPECT_EXIT(ws.Run("apply staging dev"), 0);
  CHECK(staging.Rows(all) == dev.Rows(all));

  dev.Exec("UPDATE nodes SET upstream = 1 WHERE id = 3; UPDATE nodes SET downstream = 3 "
           "WHERE id = 1; DELETE FROM nodes WHERE id = 2;");
  ws.Commit("dev", "v3: the middle node removed");
  CFGIT_EXPECT_EXIT(ws.Run("apply staging dev"), 0);
  CHECK(staging.Rows(all) == dev.Rows(all));
  CHECK(deferrable(staging) == constraints);  // the keys are as they were: not deferrable

  // A key still holds: a row of a table cfgit skips points at a node dev removes. The apply
  // fails with the database's message and writes nothing.
  WriteFile(ws / "cfgit.yaml", "environments:\n"
                               "  dev: { url: \"" + dev.url() + "\" }\n"
                               "  staging: { url: \"" + staging.url() + "\", protected: true }\n"
                               "tables:\n  runs: { rule: skip }\n");
  staging.Exec("CREATE TABLE runs (id int PRIMARY KEY, node bigint REFERENCES nodes(id));"
               "INSERT INTO runs VALUES (1, 3);");
  dev.Exec("UPDATE nodes SET downstream = NULL WHERE id = 1; DELETE FROM nodes WHERE id = 3;");
  ws.Commit("dev", "v4: the last node removed");
  std::vector<std::string> before = staging.Rows(all);
  RunResult r = ws.Run("apply staging dev");
  CFGIT_EXPECT_EXIT(r, 3);
  CHECK_THAT(r.err, Catch::Contains("runs_node_fkey"));
  CHECK(staging.Rows(all) == before);
  CHECK(deferrable(staging) == constraints);
}

}  // namespace
}  // namespace cfgit::test
