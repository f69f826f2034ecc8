// End to end: cfgit commit on real SQLite files, checked with stock git reading the store.
#include <algorithm>
#include <filesystem>
#include <regex>
#include <set>

#include "tests/cli/cli_fixture.h"

namespace cfgit::test {
namespace {

namespace fs = std::filesystem;

// A workspace with environment `dev` holding the NocoBase-shaped database.
struct NocoBase : Ws {
  NocoBase() {
    AddEnv("dev");
    Sqlite(Db("dev"), std::string(kNocoBaseSchema) + kNocoBaseRows);
  }
};

// The line of FormatStatsText output for `table`, or "" when there is none.
std::string StatLine(const std::string& out, const std::string& table) {
  for (const std::string& line : Lines(out)) {
    std::smatch m;
    if (std::regex_match(line, m, std::regex(" (\\S+) +(.*)")) && m[1] == table) return m[2];
  }
  return "";
}

std::string Sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  std::string out;
  for (const auto& s : v) out += s + "\n---\n";
  return out;
}

TEST_CASE("commit of a NocoBase-shaped database", "[cli][commit]") {
  NocoBase ws;
  RunResult r = ws.Run("commit dev -m 'first snapshot'");
  CFGIT_EXPECT_EXIT(r, 0);
  std::string head = ws.GitOut("rev-parse refs/heads/dev");
  REQUIRE(IsHexId(head));
  // Prints the commit id and the subject.
  CHECK_THAT(r.out, Catch::StartsWith("[dev " + head.substr(0, 10) + "] first snapshot\n"));
  CHECK(StatLine(r.out, "collections") == "new table, +2 -0 ~0");
  CHECK(StatLine(r.out, "fields") == "new table, +3 -0 ~0");
  CHECK(StatLine(r.out, "uiSchemas") == "new table, +3 -0 ~0");
  CHECK(StatLine(r.out, "roles") == "new table, +3 -0 ~0");
  CHECK(StatLine(r.out, "uiSchemaTreePath") == "new table, +6 -0 ~0");
  CHECK_THAT(r.out, Catch::Contains(" 5 tables, 17 rows in the snapshot\n"));
  // The keyless table is noted once, with the way out.
  CHECK(CountOf(r.out, "note:") == 1);
  CHECK(CountOf(r.out, "uiSchemaTreePath has no primary key") == 1);
  CHECK_THAT(r.out, Catch::Contains("key:"));
  CHECK(ws.CommitCount("dev") == 1);

  // The tree, as stock git sees it.
  CHECK(ws.GitOut("show dev:snapshot.yaml") == "format: 1\ndialect: sqlite");
  CHECK(ws.GitOut("ls-tree --name-only dev:tables") ==
        "collections\nfields\nroles\nuiSchemaTreePath\nuiSchemas");
  for (const char* t : {"collections", "fields", "roles", "uiSchemaTreePath", "uiSchemas"}) {
    INFO(t);
    CHECK(ws.GitOut(std::string("ls-tree --name-only dev:tables/") + t) == "rows\nschema.yaml");
  }
  std::string fields = ws.GitOut("show dev:tables/fields/schema.yaml");
  CHECK_THAT(fields, Catch::Contains("primary_key: [key]"));
  CHECK_THAT(fields, Catch::Contains("foreign_keys:\n  - columns: [collectionName]\n"
                                     "    table: 'collections'\n    references: [name]\n"
                                     "    on_update: 'NO ACTION'\n    on_delete: 'CASCADE'\n"));
  CHECK_THAT(fields, Catch::Contains("    unique: true\n    columns: [collectionName, name]\n"));
  std::string tree_path = ws.GitOut("show dev:tables/uiSchemaTreePath/schema.yaml");
  CHECK_THAT(tree_path, Catch::Contains("primary_key: []\nkey: []\n"));

  // A column named "x-uid" and JSON text survive as they are.
  std::string ui = Sorted(ws.RowTexts("dev", "uiSchemas"));
  CHECK_THAT(ui, Catch::Contains(
                     "x-uid: 'k3pdfa1b'\nname: 'page'\n"
                     "schema: '{\"type\":\"void\",\"x-component\":\"Page\",\"x-async\":false}'"));
  std::vector<std::string> files = ws.RowFiles("dev", "uiSchemas");
  CHECK(std::count_if(files.begin(), files.end(), [](const std::string& f) {
          return f.size() > 14 && f.substr(f.size() - 14) == "/k3pdfa1b.yaml";
        }) == 1);
  // Row files are fanned out two levels deep: rows/XX/YY/NAME.yaml.
  for (const std::string& f : files) {
    CHECK(std::regex_match(f, std::regex("[0-9a-f]{2}/[0-9a-f]{2}/[^/]+\\.yaml")));
  }
  std::string roles = Sorted(ws.RowTexts("dev", "roles"));
  CHECK_THAT(roles,
             Catch::Contains("name: 'member'\ntitle: '{{t(\"Member\")}}'\ndescription: null\n"
                             "strategy: '{\"actions\":[\"view\",\"update:own\"]}'\n"
                             "default: 1\n"));
  CFGIT_EXPECT_EXIT(ws.Git("fsck --strict"), 0);
}

TEST_CASE("committing unchanged content makes no commit", "[cli][commit]") {
  NocoBase ws;
  std::string first = ws.Commit("dev", "first");
  RunResult again = ws.Run("commit dev -m again");
  CFGIT_EXPECT_EXIT(again, 0);
  CHECK_THAT(again.out, Catch::StartsWith("nothing to commit"));
  CHECK_THAT(again.out, Catch::Contains(first.substr(0, 10)));
  CHECK(ws.CommitCount("dev") == 1);
  CHECK(ws.GitOut("rev-parse dev") == first);

  RunResult json = ws.Run("commit dev -m again --format json");
  CFGIT_EXPECT_EXIT(json, 0);
  CHECK(Trim(json.out) == "{\"environment\":\"dev\",\"commit\":\"" + first +
                              "\",\"changed\":false,\"tables\":5,\"rows\":17,"
                              "\"keyless\":[\"uiSchemaTreePath\"],\"changes\":[]}");
  CHECK(ws.CommitCount("dev") == 1);

  // Rewriting rows with the same values is no change either.
  Sqlite(ws.Db("dev"),
         "UPDATE roles SET title = title; DELETE FROM uiSchemaTreePath WHERE depth = 2;"
         "INSERT INTO uiSchemaTreePath VALUES ('nocobase-admin-menu', 'q8xgrid0', 2, 1, "
         "'properties', 1);"
         "VACUUM;");
  RunResult third = ws.Run("commit dev -m third");
  CFGIT_EXPECT_EXIT(third, 0);
  CHECK_THAT(third.out, Catch::StartsWith("nothing to commit"));
  CHECK(ws.CommitCount("dev") == 1);
}

TEST_CASE("a change shows as +/-/~ counts in commit and show", "[cli][commit]") {
  NocoBase ws;
  std::string first = ws.Commit("dev", "first");
  Sqlite(
      ws.Db("dev"),
      "UPDATE roles SET title = 'Member (renamed)' WHERE name = 'member';"
      "INSERT INTO fields VALUES ('f4', 'body', 'text', 'markdown', 'posts', NULL, NULL, '{}', 2);"
      "DELETE FROM uiSchemaTreePath WHERE descendant = 'q8xgrid0';"
      "DELETE FROM uiSchemas WHERE \"x-uid\" = 'q8xgrid0';");
  RunResult r = ws.Run("commit dev -m 'second: rename member'");
  CFGIT_EXPECT_EXIT(r, 0);
  std::string second = ws.GitOut("rev-parse dev");
  CHECK(second != first);
  CHECK(ws.GitOut("rev-parse dev^") == first);
  CHECK_THAT(r.out,
             Catch::StartsWith("[dev " + second.substr(0, 10) + "] second: rename member\n"));
  CHECK(StatLine(r.out, "fields") == "+1 -0 ~0");
  CHECK(StatLine(r.out, "roles") == "+0 -0 ~1");
  CHECK(StatLine(r.out, "uiSchemas") == "+0 -1 ~0");
  CHECK(StatLine(r.out, "uiSchemaTreePath") == "+0 -3 ~0");
  CHECK(StatLine(r.out, "collections") == "");  // unchanged tables are not listed
  CHECK_THAT(r.out, Catch::Contains(" 5 tables, 14 rows in the snapshot\n"));

  RunResult show = ws.Run("show dev");
  CFGIT_EXPECT_EXIT(show, 0);
  CHECK_THAT(show.out, Catch::StartsWith("commit " + second + "\n"));
  CHECK_THAT(show.out, Catch::Contains("Author: Test Author <test@example.com>\n"));
  CHECK_THAT(show.out, Catch::Contains("    second: rename member\n"));
  CHECK_THAT(show.out, Catch::Contains(" changes against " + first.substr(0, 10) + ":\n"));
  CHECK(StatLine(show.out, "fields") == "+1 -0 ~0");
  CHECK(StatLine(show.out, "roles") == "+0 -0 ~1");
  CHECK(StatLine(show.out, "uiSchemas") == "+0 -1 ~0");
  CHECK(StatLine(show.out, "uiSchemaTreePath") == "+0 -3 ~0");
  CHECK_THAT(show.out, Catch::Contains(" 5 tables in the snapshot\n"));

  RunResult json = ws.Run("show dev --format json");
  CFGIT_EXPECT_EXIT(json, 0);
  CHECK_THAT(json.out, Catch::Contains("\"parents\":[\"" + first + "\"]"));
  CHECK_THAT(
      json.out,
      Catch::Contains("{\"name\":\"roles\",\"added\":0,\"deleted\":0,\"modified\":1,"
                      "\"schema_changed\":false,\"table_added\":false,\"table_removed\":false}"));

  // The first commit, shown on its own, is the first snapshot.
  RunResult show_first = ws.Run("show dev^");
  CFGIT_EXPECT_EXIT(show_first, 0);
  CHECK_THAT(show_first.out, Catch::Contains(" first snapshot:\n"));
  CHECK(StatLine(show_first.out, "roles") == "new table, +3 -0 ~0");

  // A schema change and a dropped table.
  Sqlite(ws.Db("dev"), "ALTER TABLE roles ADD COLUMN color TEXT; DROP TABLE uiSchemaTreePath;");
  RunResult third = ws.Run("commit dev -m third");
  CFGIT_EXPECT_EXIT(third, 0);
  CHECK_THAT(StatLine(third.out, "roles"), Catch::StartsWith("schema changed, "));
  CHECK(StatLine(third.out, "roles") == "schema changed, +0 -0 ~3");  // every row gains color: null
  CHECK(StatLine(third.out, "uiSchemaTreePath") == "table removed, +0 -3 ~0");
  CHECK(ws.Git("cat-file -e dev:tables/uiSchemaTreePath").exit_code != 0);
  CHECK_THAT(third.out, !Catch::Contains("note:"));  // no keyless table left
}

TEST_CASE("commit refuses a protected environment and leaves no branch", "[cli][commit]") {
  Ws ws;
  ws.AddEnv("staging", "--protected");
  Sqlite(ws.Db("staging"), std::string(kNocoBaseSchema) + kNocoBaseRows);
  RunResult r = ws.Run("commit staging -m nope");
  CFGIT_EXPECT_EXIT(r, 1);
  CHECK_THAT(r.err, Catch::Contains("'staging' is protected"));
  CHECK_THAT(r.err,
             Catch::Contains("apply") && Catch::Contains("promote") && Catch::Contains("rollback"));
  CHECK(r.out.empty());
  CHECK(ws.Git("rev-parse --verify -q refs/heads/staging").exit_code != 0);
  CHECK(ws.Git("rev-parse --verify -q refs/cfgit/deployed/staging").exit_code != 0);
  CHECK(ws.GitOut("for-each-ref") == "");
}

TEST_CASE("commit of an unknown environment is exit 2", "[cli][commit]") {
  Ws ws;
  ws.AddEnv("dev");
  RunResult r = ws.Run("commit prod -m x");
  CFGIT_EXPECT_EXIT(r, 2);
  CHECK_THAT(r.err, Catch::Contains("unknown environment 'prod'"));
  CHECK_THAT(r.err, Catch::Contains("known: dev"));
  CHECK_THAT(r.err, Catch::Contains("cfgit env add prod"));
  // Missing arguments are usage errors too.
  CFGIT_EXPECT_EXIT(ws.Run("commit dev"), 2);
  CFGIT_EXPECT_EXIT(ws.Run("commit"), 2);
}

TEST_CASE("a missing or broken database file is exit 3 and changes nothing", "[cli][commit]") {
  Ws ws;
  ws.AddEnv("dev");
  SECTION("missing file") {
    RunResult r = ws.Run("commit dev -m x");
    CFGIT_EXPECT_EXIT(r, 3);
    CHECK_THAT(r.err, Catch::Contains(ws.Db("dev")));
    CHECK_THAT(r.err, Catch::Contains("does not exist"));
    CHECK_THAT(r.err, Catch::Contains("'dev'"));
    CHECK_FALSE(fs::exists(ws.Db("dev")));  // not created by the attempt
  }
  SECTION("not a database") {
    WriteFile(ws.Db("dev"), std::string(4096, 'x'));
    RunResult r = ws.Run("commit dev -m x");
    CFGIT_EXPECT_EXIT(r, 3);
    CHECK_THAT(r.err, Catch::Contains(ws.Db("dev")));
    CHECK_THAT(r.err, Catch::Contains("not a database"));
    CHECK(ReadFile(ws.Db("dev")) == std::string(4096, 'x'));
  }
  CHECK(ws.GitOut("for-each-ref") == "");
  CHECK(ws.GitOut("count-objects") == "0 objects, 0 kilobytes");
}

// Rewrites cfgit.yaml with environment dev and the given `tables:` entries.
void WriteConfig(const Ws& ws, const std::string& tables) {
  WriteFile(ws / "cfgit.yaml",
            "environments:\n  dev: { url: \"sqlite:dev.db\" }\n"
            "tables:\n  \"*\": { rule: merge }\n" +
                tables);
}

TEST_CASE("key: columns must identify rows: duplicates and NULLs are exit 1", "[cli][commit]") {
  NocoBase ws;
  SECTION("duplicated values") {
    WriteConfig(ws, "  roles: { key: [snippets] }\n");
    RunResult r = ws.Run("commit dev -m x");
    CFGIT_EXPECT_EXIT(r, 1);
    CHECK_THAT(r.err, Catch::Contains("table 'roles'"));
    CHECK_THAT(r.err, Catch::Contains("(snippets) is not unique"));
    CHECK_THAT(r.err, Catch::Contains("('[\"ui.*\",\"pm\",\"pm.*\"]')"));  // the duplicated value
    CHECK_THAT(r.err, !Catch::Contains("!ui.*"));  // the unique one is not listed
  }
  SECTION("duplicated composite values") {
    WriteConfig(ws, "  uiSchemaTreePath: { key: [descendant, async] }\n");
    RunResult r = ws.Run("commit dev -m x");
    CFGIT_EXPECT_EXIT(r, 1);
    CHECK_THAT(r.err, Catch::Contains("table 'uiSchemaTreePath'"));
    CHECK_THAT(r.err, Catch::Contains("(descendant, async) is not unique"));
    CHECK_THAT(r.err, Catch::Contains("('k3pdfa1b', 0)"));
    CHECK_THAT(r.err, Catch::Contains("('q8xgrid0', 1)"));
    CHECK_THAT(r.err, !Catch::Contains("('q8xgrid0', 0)"));
  }
  SECTION("NULL values") {
    WriteConfig(ws, "  roles: { key: [description] }\n");
    RunResult r = ws.Run("commit dev -m x");
    CFGIT_EXPECT_EXIT(r, 1);
    CHECK_THAT(r.err, Catch::Contains("table 'roles'"));
    CHECK_THAT(r.err, Catch::Contains("(description) is NULL"));
    CHECK_THAT(r.err, Catch::Contains("name: 'admin'"));
  }
  SECTION("NULL in a text primary key (SQLite allows it)") {
    Sqlite(ws.Db("dev"), "INSERT INTO collections (key, name) VALUES (NULL, 'orphans');");
    RunResult r = ws.Run("commit dev -m x");
    CFGIT_EXPECT_EXIT(r, 1);
    CHECK_THAT(r.err, Catch::Contains("table 'collections'"));
    CHECK_THAT(r.err, Catch::Contains("(key) is NULL"));
    CHECK_THAT(r.err, Catch::Contains("'orphans'"));
  }
  // Nothing was written: no branch, no objects.
  CHECK(ws.GitOut("for-each-ref") == "");
  CHECK(ws.GitOut("count-objects") == "0 objects, 0 kilobytes");
  CHECK(ws.Git("count-objects -v").out.find("packs: 0") != std::string::npos);
}

TEST_CASE("a natural key makes row files named by it", "[cli][commit]") {
  NocoBase ws;
  WriteConfig(ws, "  uiSchemaTreePath: { key: [ancestor, descendant] }\n  roles: { key: title }\n");
  RunResult r = ws.Run("commit dev -m x");
  CFGIT_EXPECT_EXIT(r, 0);
  CHECK_THAT(r.out, !Catch::Contains("note:"));  // no keyless table any more
  std::vector<std::string> files = ws.RowFiles("dev", "uiSchemaTreePath");
  REQUIRE(files.size() == 6);
  CHECK(std::count_if(files.begin(), files.end(), [](const std::string& f) {
          return f.find("/nocobase-admin-menu,k3pdfa1b.yaml") != std::string::npos;
        }) == 1);
  CHECK_THAT(ws.GitOut("show dev:tables/uiSchemaTreePath/schema.yaml"),
             Catch::Contains("key: [ancestor, descendant]\n"));
  CHECK_THAT(ws.GitOut("show dev:tables/roles/schema.yaml"),
             Catch::Contains("primary_key: [name]\nkey: [title]\n"));
}

TEST_CASE("a setting naming a column the table lacks is exit 4 naming table and column",
          "[cli][commit]") {
  NocoBase ws;
  for (const char* setting : {"key: [nope]", "ignore: [nope]", "json: [nope]"}) {
    INFO(setting);
    WriteConfig(ws, std::string("  roles: { ") + setting + " }\n");
    RunResult r = ws.Run("commit dev -m x");
    CFGIT_EXPECT_EXIT(r, 4);
    CHECK_THAT(r.err, Catch::Contains("table 'roles' has no column 'nope'"));
    CHECK_THAT(r.err, Catch::Contains("cfgit.yaml:5:3"));
  }
  WriteConfig(ws, "  roles: { key: [name], ignore: [name] }\n");
  RunResult r = ws.Run("commit dev -m x");
  CFGIT_EXPECT_EXIT(r, 4);
  CHECK_THAT(r.err, Catch::Contains("column 'name' of table 'roles'"));
  CHECK(ws.GitOut("for-each-ref") == "");
}

TEST_CASE("skip, schema-only and ignore: shape what is versioned", "[cli][commit]") {
  NocoBase ws;
  Sqlite(
      ws.Db("dev"),
      "CREATE TABLE logs (id INTEGER PRIMARY KEY, msg TEXT); INSERT INTO logs VALUES (1, 'boot');"
      "CREATE TABLE logs_archive (id INTEGER PRIMARY KEY); INSERT INTO logs_archive VALUES (1);"
      "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT UNIQUE); INSERT INTO users VALUES "
      "(1, 'a@x');"
      "CREATE TABLE workflows (id INTEGER PRIMARY KEY, title TEXT, executed INTEGER, allExecuted "
      "INTEGER);"
      "INSERT INTO workflows VALUES (1, 'notify', 5, 7), (2, 'sync', 0, 0);");
  WriteConfig(ws,
              "  logs: { rule: skip }\n"
              "  \"logs_*\": { rule: skip }\n"
              "  users: { rule: schema-only }\n"
              "  workflows: { ignore: [executed, allExecuted] }\n");
  std::string first = ws.Commit("dev", "first");

  std::string tables = ws.GitOut("ls-tree --name-only dev:tables");
  CHECK_THAT(tables, !Catch::Contains("logs"));
  CHECK_THAT(tables, Catch::Contains("users") && Catch::Contains("workflows"));
  CHECK(ws.GitOut("ls-tree --name-only dev:tables/users") == "schema.yaml");
  std::string users = ws.GitOut("show dev:tables/users/schema.yaml");
  CHECK_THAT(users, Catch::Contains("rows: schema-only"));
  CHECK_THAT(users, Catch::Contains("name: 'email'"));
  std::string wf_schema = ws.GitOut("show dev:tables/workflows/schema.yaml");
  CHECK_THAT(wf_schema, Catch::Contains("ignore: [executed, allExecuted]"));
  std::string wf = Sorted(ws.RowTexts("dev", "workflows"));
  CHECK(wf == "id: 1\ntitle: 'notify'\n---\nid: 2\ntitle: 'sync'\n---\n");

  // Changes where nothing is versioned make no commit.
  Sqlite(ws.Db("dev"),
         "INSERT INTO logs VALUES (2, 'again'); UPDATE workflows SET executed = executed + 1;"
         "INSERT INTO users VALUES (2, 'b@x'); DELETE FROM logs_archive;");
  RunResult r = ws.Run("commit dev -m second");
  CFGIT_EXPECT_EXIT(r, 0);
  CHECK_THAT(r.out, Catch::StartsWith("nothing to commit"));
  CHECK(ws.GitOut("rev-parse dev") == first);

  // A schema change of a schema-only table is versioned.
  Sqlite(ws.Db("dev"), "ALTER TABLE users ADD COLUMN nickname TEXT;");
  RunResult r2 = ws.Run("commit dev -m third");
  CFGIT_EXPECT_EXIT(r2, 0);
  CHECK(StatLine(r2.out, "users") == "schema changed, +0 -0 ~0");
}

TEST_CASE("skip tables are not read at all", "[cli][commit]") {
  Ws ws;
  ws.AddEnv("dev");
  // A NULL in a primary key stops a commit of the table; once skipped, the table is not read.
  Sqlite(ws.Db("dev"),
         "CREATE TABLE t (id INTEGER PRIMARY KEY); INSERT INTO t VALUES (1);"
         "CREATE TABLE cache (k TEXT PRIMARY KEY, v TEXT); INSERT INTO cache VALUES (NULL, 'x');");
  RunResult unskipped = ws.Run("commit dev -m x");
  CFGIT_EXPECT_EXIT(unskipped, 1);
  CHECK_THAT(unskipped.err, Catch::Contains("table 'cache'"));
  WriteConfig(ws, "  cache: { rule: skip }\n");
  RunResult r = ws.Run("commit dev -m x");
  CFGIT_EXPECT_EXIT(r, 0);
  CHECK(ws.GitOut("ls-tree --name-only dev:tables") == "t");
  CHECK_THAT(r.out, !Catch::Contains("cache"));

  // Skipping a table that was versioned records it as removed.
  WriteConfig(ws, "  cache: { rule: skip }\n  t: { rule: skip }\n");
  RunResult removed = ws.Run("commit dev -m 'skip t'");
  CFGIT_EXPECT_EXIT(removed, 0);
  CHECK(StatLine(removed.out, "t") == "table removed, +0 -1 ~0");
  CHECK(ws.Git("cat-file -e dev:tables").exit_code != 0);  // no tables at all
  CHECK(ws.GitOut("show dev:snapshot.yaml") == "format: 1\ndialect: sqlite");
}

TEST_CASE("virtual tables and their shadow tables are not versioned", "[cli][commit]") {
  Ws ws;
  ws.AddEnv("dev");
  Sqlite(ws.Db("dev"),
         "CREATE TABLE t (id INTEGER PRIMARY KEY); INSERT INTO t VALUES (1);"
         "CREATE VIRTUAL TABLE docs USING fts5(body); INSERT INTO docs VALUES ('hello world');"
         "PRAGMA writable_schema = ON;"
         "INSERT INTO sqlite_master (type, name, tbl_name, rootpage, sql) VALUES "
         "('table', 'broken', 'broken', 0, 'CREATE VIRTUAL TABLE broken USING nosuchmodule()');"
         "PRAGMA writable_schema = OFF;");
  RunResult r = ws.Run("commit dev -m x");
  CFGIT_EXPECT_EXIT(r, 0);
  CHECK(ws.GitOut("ls-tree --name-only dev:tables") == "t");
}

TEST_CASE("changing cfgit.yaml settings changes schema.yaml and makes a commit", "[cli][commit]") {
  NocoBase ws;
  std::string first = ws.Commit("dev", "first");
  WriteConfig(ws, "  roles: { ignore: [sort] }\n");
  RunResult r = ws.Run("commit dev -m 'ignore sort'");
  CFGIT_EXPECT_EXIT(r, 0);
  CHECK(StatLine(r.out, "roles") == "schema changed, +0 -0 ~3");
  CHECK_THAT(ws.GitOut("show dev:tables/roles/schema.yaml"), Catch::Contains("ignore: [sort]"));
  WriteConfig(ws, "  roles: { ignore: [sort], rule: schema-only }\n");
  RunResult r2 = ws.Run("commit dev -m 'schema only'");
  CFGIT_EXPECT_EXIT(r2, 0);
  CHECK(StatLine(r2.out, "roles") == "schema changed, +0 -3 ~0");
  CHECK(ws.CommitCount("dev") == 3);
}

TEST_CASE("glob settings apply only where the columns exist", "[cli][commit]") {
  NocoBase ws;
  SECTION("a glob key applies to tables that have all its columns") {
    WriteConfig(ws, "  \"*\": { key: [name, title] }\n");
    RunResult r = ws.Run("commit dev -m x");
    CFGIT_EXPECT_EXIT(r, 0);
    CHECK_THAT(ws.GitOut("show dev:tables/roles/schema.yaml"),
               Catch::Contains("key: [name, title]"));
    CHECK_THAT(ws.GitOut("show dev:tables/collections/schema.yaml"),
               Catch::Contains("key: [name, title]"));
    CHECK_THAT(ws.GitOut("show dev:tables/fields/schema.yaml"), Catch::Contains("key: [key]"));
  }
  SECTION("a glob ignore that hits a key column is exit 4") {
    WriteConfig(ws, "  \"*\": { ignore: [key] }\n");
    RunResult r = ws.Run("commit dev -m x");
    CFGIT_EXPECT_EXIT(r, 4);
    CHECK_THAT(r.err, Catch::Contains("column 'key' of table 'collections' identifies rows"));
  }
  SECTION("a glob ignore trims to the columns a table has") {
    WriteConfig(ws, "  \"*\": { ignore: [sort, options] }\n  roles: { key: [title] }\n");
    RunResult r = ws.Run("commit dev -m x");
    CFGIT_EXPECT_EXIT(r, 0);
    CHECK_THAT(ws.GitOut("show dev:tables/roles/schema.yaml"),
               Catch::Contains("key: [title]\nignore: [sort]\n"));
    CHECK_THAT(ws.GitOut("show dev:tables/uiSchemas/schema.yaml"), Catch::Contains("ignore: []\n"));
    for (const std::string& row : ws.RowTexts("dev", "fields")) {
      CHECK_THAT(row, !Catch::Contains("options:") && !Catch::Contains("sort:"));
    }
  }
}

TEST_CASE("${VAR} in a URL is expanded when the database is opened", "[cli][commit]") {
  Ws ws;
  fs::create_directories(ws / "data");
  Sqlite(ws / "data/dev.db", "CREATE TABLE t (id INTEGER PRIMARY KEY); INSERT INTO t VALUES (1);");
  CFGIT_EXPECT_EXIT(ws.Run("env add dev 'sqlite:${DATA_DIR}/dev.db'"), 0);
  CHECK_THAT(ReadFile(ws / "cfgit.yaml"), Catch::Contains("sqlite:${DATA_DIR}/dev.db"));
  RunResult unset = ws.Run("commit dev -m x");
  CFGIT_EXPECT_EXIT(unset, 1);
  CHECK_THAT(unset.err, Catch::Contains("DATA_DIR"));
  CHECK_THAT(unset.err, Catch::Contains("not set"));
  RunResult set =
      Shell(ws.path(), "DATA_DIR=data CFGIT_TIME=1700000000 '" CFGIT_BINARY "' commit dev -m x");
  CFGIT_EXPECT_EXIT(set, 0);
  CHECK(ws.GitOut("ls-tree --name-only dev:tables") == "t");
}

TEST_CASE("an unreachable PostgreSQL environment is exit 3 and never shows its password",
          "[cli][commit]") {
  Ws ws;
  CFGIT_EXPECT_EXIT(
      ws.Run("env add pg 'postgresql://cfg:s3cret@127.0.0.1:1/app?connect_timeout=2'"), 0);
  RunResult r = ws.Run("commit pg -m x");
  CFGIT_EXPECT_EXIT(r, 3);
  CHECK_THAT(r.err, Catch::Contains("'pg'"));
  CHECK_THAT(r.out + r.err, !Catch::Contains("s3cret"));
  CHECK(ws.GitOut("for-each-ref") == "");
}

TEST_CASE("the worked example of docs/store-format.md gives its commit id",
          "[cli][commit][canonical]") {
  Ws ws;
  ws.AddEnv("dev");
  std::string config = ReadFile(ws / "cfgit.yaml");
  size_t at = config.find("#  logs:");
  REQUIRE(at != std::string::npos);
  config.erase(at, 1);  // uncomment `logs: { rule: skip }`
  WriteFile(ws / "cfgit.yaml", config);
  const char* sql = R"sql(
CREATE TABLE settings (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, value TEXT, ratio REAL DEFAULT 1.5, icon BLOB);
INSERT INTO settings VALUES (1, 'site.title', 'Acme Admin', 1.5, NULL);
INSERT INTO settings VALUES (2, 'site.footer', 'Line one
Line two', 100.0, x'89504e47');
INSERT INTO settings VALUES (3, 'motd', 'It''s fine', NULL, NULL);
CREATE TABLE rolesResources (roleName TEXT NOT NULL, name TEXT NOT NULL, actions TEXT, PRIMARY KEY (roleName, name));
INSERT INTO rolesResources VALUES ('admin', 'users', 'create,update'), ('member', 'users', 'view');
CREATE TABLE logs (at TEXT, msg TEXT);
INSERT INTO logs VALUES ('2026-01-01', 'started');
CREATE TABLE tags (label TEXT);
INSERT INTO tags VALUES ('beta'), ('beta'), ('new');
)sql";
  Sqlite(ws.Db("dev"), sql);
  RunResult r =
      Shell(ws.path(),
            "CFGIT_AUTHOR_NAME='Ada Lovelace' CFGIT_AUTHOR_EMAIL=ada@example.com "
            "CFGIT_TIME=1767225600 '" CFGIT_BINARY "' commit dev -m 'First snapshot of dev'");
  CFGIT_EXPECT_EXIT(r, 0);
  CHECK(r.out ==
        "[dev 073aa3aee9] First snapshot of dev\n"
        " rolesResources  new table, +2 -0 ~0\n"
        " settings        new table, +3 -0 ~0\n"
        " tags            new table, +3 -0 ~0\n"
        " 3 tables, 8 rows in the snapshot\n"
        "note: tags has no primary key and no key: setting, so a row is identified by its whole "
        "content (duplicates counted); name a key with key: [COLUMN, ...] under tables: in "
        "cfgit.yaml\n");
  CHECK(ws.GitOut("rev-parse dev") == "073aa3aee95767ded98e8979e7690f2dfed9341c");
  CHECK(ws.GitOut("rev-parse 'dev^{tree}'") == "0d178d5207b5ac8b16095f10bda923a93f8e44c9");
  CHECK(ws.GitOut("show dev:tables/settings/rows/fb/95/2.yaml") ==
        "id: 2\nname: 'site.footer'\nvalue: \"Line one\\nLine two\"\nratio: 100.0\nicon: !!binary "
        "iVBORw==");
  CHECK(
      ws.GitOut("rev-parse dev:tables/tags/rows/48/4e/~h0d22e7a78b187f1b228caba5375fda52.yaml") ==
      ws.GitOut("rev-parse dev:tables/tags/rows/ac/9d/~h0d22e7a78b187f1b228caba5375fda52~2.yaml"));

  // The same content in another row order: the same tree, nothing to commit.
  Sqlite(ws.Db("dev"),
         "CREATE TABLE tags2 AS SELECT * FROM tags ORDER BY label DESC; DELETE FROM tags;"
         "INSERT INTO tags SELECT * FROM tags2; DROP TABLE tags2; VACUUM;");
  RunResult again = ws.Run("commit dev -m again");
  CFGIT_EXPECT_EXIT(again, 0);
  CHECK(again.out == "nothing to commit: dev is the same as branch dev (073aa3aee9)\n");
}

TEST_CASE("the same content commits to the same tree, whatever the row order and history",
          "[cli][commit][canonical]") {
  Ws ws;
  ws.AddEnv("a");
  ws.AddEnv("b");
  Sqlite(ws.Db("a"), std::string(kNocoBaseSchema) + kNocoBaseRows);
  // b: the same schema, rows inserted in reverse order, with detours through other values.
  Sqlite(ws.Db("b"), std::string(kNocoBaseSchema) + R"sql(
    INSERT INTO uiSchemaTreePath VALUES
      ('nocobase-admin-menu', 'q8xgrid0', 2, 1, 'properties', 1),
      ('q8xgrid0', 'q8xgrid0', 0, 0, NULL, NULL),
      ('k3pdfa1b', 'q8xgrid0', 1, 1, 'properties', 1),
      ('zzz', 'zzz', 9, 9, NULL, NULL),
      ('k3pdfa1b', 'k3pdfa1b', 0, 0, NULL, NULL),
      ('nocobase-admin-menu', 'k3pdfa1b', 1, 0, 'properties', 1),
      ('nocobase-admin-menu', 'nocobase-admin-menu', 0, 0, NULL, NULL);
    DELETE FROM uiSchemaTreePath WHERE ancestor = 'zzz';
    INSERT INTO roles VALUES
      ('member', 'Old title', NULL, '{"actions":["view","update:own"]}', 1, 0, NULL, 1, '["!ui.*","!pm","!pm.*"]', 2),
      ('admin', '{{t("Admin")}}', NULL, '{"actions":["create","view","update","destroy"]}', 0, 0, 1, 1, '["ui.*","pm","pm.*"]', 1),
      ('root', '{{t("Root")}}', NULL, NULL, 0, 1, NULL, NULL, '["ui.*","pm","pm.*"]', 0);
    UPDATE roles SET title = '{{t("Member")}}' WHERE name = 'member';
    INSERT INTO uiSchemas VALUES
      ('q8xgrid0', 'grid', '{"type":"void","x-component":"Grid"}'),
      ('k3pdfa1b', 'page', '{"type":"void","x-component":"Page","x-async":false}'),
      ('nocobase-admin-menu', 'menu', '{"type":"void","x-component":"Menu","properties":{}}');
    INSERT INTO collections VALUES
      ('c2', 'posts', 'Posts', 0, 0, '{"sortable":true}', 'Blog posts', 2),
      ('c1', 'users', '{{t("Users")}}', 0, 0, '{"sortable":"sort","logging":true}', NULL, 1);
    INSERT INTO fields VALUES
      ('f3', 'title', 'string', 'input', 'posts', NULL, NULL, '{}', 1),
      ('f9', 'gone', 'string', 'input', 'posts', NULL, NULL, '{}', 9),
      ('f2', 'nickname', 'string', 'input', 'users', NULL, NULL, '{"uiSchema":{"type":"string"}}', 2),
      ('f1', 'id', 'bigInt', 'id', 'users', NULL, NULL, '{"autoIncrement":true,"primaryKey":true}', 1);
    DELETE FROM fields WHERE key = 'f9';
    VACUUM;
  )sql");
  // The two databases hold the same rows, stored in different orders.
  CHECK(SqliteRows(ws.Db("a"), "SELECT key FROM fields ORDER BY rowid") !=
        SqliteRows(ws.Db("b"), "SELECT key FROM fields ORDER BY rowid"));
  CHECK(SqliteRows(ws.Db("a"), "SELECT name FROM roles ORDER BY rowid") !=
        SqliteRows(ws.Db("b"), "SELECT name FROM roles ORDER BY rowid"));
  ws.Commit("a", "from a");
  ws.Commit("b", "from b");
  std::string tree_a = ws.GitOut("rev-parse 'a^{tree}'");
  std::string tree_b = ws.GitOut("rev-parse 'b^{tree}'");
  CHECK(IsHexId(tree_a));
  CHECK(tree_a == tree_b);
  CHECK(ws.GitOut("rev-parse a") != ws.GitOut("rev-parse b"));

  // Another workspace, another history on the way: still the same tree.
  Ws other;
  other.AddEnv("dev");
  Sqlite(other.Db("dev"), std::string(kNocoBaseSchema) + kNocoBaseRows +
                              "UPDATE roles SET title = 'x'; DELETE FROM uiSchemaTreePath;");
  other.Commit("dev", "detour");
  Sqlite(other.Db("dev"),
         "UPDATE roles SET title = '{{t(\"Root\")}}' WHERE name = 'root';"
         "UPDATE roles SET title = '{{t(\"Admin\")}}' WHERE name = 'admin';"
         "UPDATE roles SET title = '{{t(\"Member\")}}' WHERE name = 'member';" +
             std::string(kNocoBaseRows)
                 .substr(std::string(kNocoBaseRows).find("INSERT INTO uiSchemaTreePath")));
  other.Commit("dev", "back");
  CHECK(other.GitOut("rev-parse 'dev^{tree}'") == tree_a);
  CHECK(other.CommitCount("dev") == 2);
}

TEST_CASE("SQLite storage classes stay distinct", "[cli][commit][values]") {
  Ws ws;
  ws.AddEnv("dev");
  Sqlite(ws.Db("dev"),
         "CREATE TABLE vals (v);"  // keyless, no affinity: every row is identified by its value
         "INSERT INTO vals VALUES (1), (1.0), ('1'), (x'31'), (''), (NULL), (x'');"
         "CREATE TABLE typed (id INTEGER PRIMARY KEY, v);"
         "INSERT INTO typed VALUES (1, 1), (2, 1.0), (3, '1'), (4, x'31'), (5, ''), (6, NULL);"
         "CREATE TABLE keys (k PRIMARY KEY, note TEXT);"
         "INSERT INTO keys VALUES (1, 'int'), (1.5, 'real'), ('1', 'text'), (x'31', 'blob'), ('', "
         "'empty');");
  RunResult r = ws.Run("commit dev -m classes");
  CFGIT_EXPECT_EXIT(r, 0);
  CHECK_THAT(r.out, Catch::Contains("note: vals has no primary key"));

  std::vector<std::string> vals = ws.RowTexts("dev", "vals");
  CHECK(vals.size() == 7);
  CHECK(std::set<std::string>(vals.begin(), vals.end()) ==
        std::set<std::string>{"v: 1", "v: 1.0", "v: '1'", "v: !!binary MQ==", "v: ''", "v: null",
                              "v: !!binary"});

  for (auto [id, expect] : std::vector<std::pair<int, std::string>>{{1, "v: 1"},
                                                                    {2, "v: 1.0"},
                                                                    {3, "v: '1'"},
                                                                    {4, "v: !!binary MQ=="},
                                                                    {5, "v: ''"},
                                                                    {6, "v: null"}}) {
    std::vector<std::string> files = ws.RowFiles("dev", "typed");
    auto it = std::find_if(files.begin(), files.end(), [&](const std::string& f) {
      return f.substr(f.rfind('/') + 1) == std::to_string(id) + ".yaml";
    });
    REQUIRE(it != files.end());
    CHECK(ws.GitOut("show dev:tables/typed/rows/" + *it) ==
          "id: " + std::to_string(id) + "\n" + expect);
  }

  // Keys of five storage classes: five row files with reversible names.
  std::vector<std::string> key_files = ws.RowFiles("dev", "keys");
  std::set<std::string> names;
  for (const auto& f : key_files) names.insert(f.substr(f.rfind('/') + 1));
  CHECK(names == std::set<std::string>{"1.yaml", "~r1.5.yaml", "%31.yaml", "~x31.yaml", "~s.yaml"});
  CHECK(Sorted(ws.RowTexts("dev", "keys")) ==
        Sorted({"k: 1\nnote: 'int'", "k: 1.5\nnote: 'real'", "k: '1'\nnote: 'text'",
                "k: !!binary MQ==\nnote: 'blob'", "k: ''\nnote: 'empty'"}));

  // Changing only the storage class is a modification.
  Sqlite(ws.Db("dev"),
         "UPDATE typed SET v = 1.0 WHERE id = 1; UPDATE typed SET v = NULL WHERE id = 5;");
  RunResult r2 = ws.Run("commit dev -m reclass");
  CFGIT_EXPECT_EXIT(r2, 0);
  CHECK(StatLine(r2.out, "typed") == "+0 -0 ~2");
}

TEST_CASE("integers at the int64 limits, reals, and tricky text round-trip into row files",
          "[cli][commit][values]") {
  Ws ws;
  ws.AddEnv("dev");
  Sqlite(ws.Db("dev"),
         "CREATE TABLE v (id INTEGER PRIMARY KEY, x);"
         "INSERT INTO v VALUES (1, 9223372036854775807), (2, -9223372036854775808), (3, 0),"
         " (4, 0.1), (5, -2.5e-300), (6, 1e300), (7, -0.0),"
         " (8, 'line1' || char(10) || 'line2' || char(9) || 'tab' || char(13) || 'cr'),"
         " (9, 'é 日本語 😀'), (10, 'it''s \"quoted\" \\ back'), (11, '  padded  '),"
         " (12, 'null'), (13, 'true'), (14, '~'), (15, '123'), (16, CAST(x'610062' AS TEXT)),"
         " (17, CAST(x'ff00fe' AS TEXT)), (18, '- item: [a, b] # not a comment'),"
         " (19, 100.0), (20, 1e16), (21, 1e17), (22, 1.5e-7), (23, 5e-324), (24, x''),"
         " (-9223372036854775808, 'min key'), (9223372036854775807, 'max key');");
  ws.Commit("dev", "values");
  std::map<std::string, std::string> by_file;
  for (const std::string& f : ws.RowFiles("dev", "v")) {
    by_file[f.substr(f.rfind('/') + 1)] = ws.GitOut("show 'dev:tables/v/rows/" + f + "'");
  }
  REQUIRE(by_file.size() == 26);
  CHECK(by_file["1.yaml"] == "id: 1\nx: 9223372036854775807");
  CHECK(by_file["2.yaml"] == "id: 2\nx: -9223372036854775808");
  CHECK(by_file["3.yaml"] == "id: 3\nx: 0");
  CHECK(by_file["4.yaml"] == "id: 4\nx: 0.1");
  CHECK(by_file["5.yaml"] == "id: 5\nx: -2.5e-300");
  CHECK(by_file["6.yaml"] == "id: 6\nx: 1.0e+300");
  CHECK(by_file["7.yaml"] == "id: 7\nx: -0.0");
  CHECK(by_file["8.yaml"] == "id: 8\nx: \"line1\\nline2\\ttab\\rcr\"");
  CHECK(by_file["9.yaml"] == "id: 9\nx: 'é 日本語 😀'");
  CHECK(by_file["10.yaml"] == "id: 10\nx: 'it''s \"quoted\" \\ back'");
  CHECK(by_file["11.yaml"] == "id: 11\nx: '  padded  '");
  CHECK(by_file["12.yaml"] == "id: 12\nx: 'null'");
  CHECK(by_file["13.yaml"] == "id: 13\nx: 'true'");
  CHECK(by_file["14.yaml"] == "id: 14\nx: '~'");
  CHECK(by_file["15.yaml"] == "id: 15\nx: '123'");
  CHECK(by_file["16.yaml"] == "id: 16\nx: \"a\\0b\"");        // an embedded NUL is kept
  CHECK(by_file["17.yaml"] == "id: 17\nx: !textbytes /wD+");  // not UTF-8: the bytes, as text
  CHECK(by_file["18.yaml"] == "id: 18\nx: '- item: [a, b] # not a comment'");
  CHECK(by_file["19.yaml"] == "id: 19\nx: 100.0");
  CHECK(by_file["20.yaml"] == "id: 20\nx: 10000000000000000.0");
  CHECK(by_file["21.yaml"] == "id: 21\nx: 1.0e+17");
  CHECK(by_file["22.yaml"] == "id: 22\nx: 1.5e-07");
  CHECK(by_file["23.yaml"] == "id: 23\nx: 5.0e-324");
  CHECK(by_file["24.yaml"] == "id: 24\nx: !!binary");  // an empty blob (the line ends in a space)
  CHECK(by_file["-9223372036854775808.yaml"] == "id: -9223372036854775808\nx: 'min key'");
  CHECK(by_file["9223372036854775807.yaml"] == "id: 9223372036854775807\nx: 'max key'");

  // A change past the 15th significant digit is a change.
  Sqlite(ws.Db("dev"), "UPDATE v SET x = 9223372036854775806 WHERE id = 1;");
  RunResult r = ws.Run("commit dev -m off-by-one");
  CFGIT_EXPECT_EXIT(r, 0);
  CHECK(StatLine(r.out, "v") == "+0 -0 ~1");
  for (const std::string& f : ws.RowFiles("dev", "v")) {
    if (f.substr(f.rfind('/') + 1) == "1.yaml") {
      CHECK(ws.GitOut("show dev:tables/v/rows/" + f) == "id: 1\nx: 9223372036854775806");
    }
  }
}

TEST_CASE("keys with slashes, dots, unicode and great length make safe file names",
          "[cli][commit][values]") {
  Ws ws;
  ws.AddEnv("dev");
  std::string long_key(500, 'k');
  Sqlite(ws.Db("dev"),
         "CREATE TABLE \"odd/table.name\" (k TEXT PRIMARY KEY, v INTEGER);"
         "INSERT INTO \"odd/table.name\" VALUES ('a/b', 1), ('..', 2), ('.hidden', 3), ('日本', 4),"
         " ('a,b', 5), ('~x31', 6), ('" +
             long_key + "', 7), ('" + long_key +
             "x', 8), ('%2F', 9);"
             "CREATE TABLE comp (a TEXT, b INTEGER, c TEXT, PRIMARY KEY (a, b, c)) WITHOUT ROWID;"
             "INSERT INTO comp VALUES ('x', 1, 'y'), ('x,1', 1, ''), ('x', 11, 'y');");
  RunResult r = ws.Run("commit dev -m odd");
  CFGIT_EXPECT_EXIT(r, 0);
  CFGIT_EXPECT_EXIT(ws.Git("fsck --strict"), 0);
  std::string tables = ws.GitOut("ls-tree --name-only dev:tables");
  CHECK(tables == "comp\nodd%2Ftable.name");
  CHECK(StatLine(r.out, "odd/table.name") == "new table, +9 -0 ~0");
  std::set<std::string> names;
  for (const auto& f : ws.RowFiles("dev", "odd%2Ftable.name")) {
    std::string name = f.substr(f.rfind('/') + 1);
    CHECK(name.size() <= 200);
    names.insert(name);
  }
  CHECK(names.size() == 9);
  CHECK(names.count("a%2Fb.yaml") == 1);
  CHECK(names.count("%2E..yaml") == 1);
  CHECK(names.count("%2Ehidden.yaml") == 1);
  CHECK(names.count("a%2Cb.yaml") == 1);
  CHECK(names.count("%7Ex31.yaml") == 1);
  CHECK(names.count("%252F.yaml") == 1);
  // Long stems keep their first 140 bytes (fewer when an escape would be cut) plus a hash.
  std::regex shortened(std::string(140, 'k') + "~~[0-9a-f]{32}\\.yaml");
  CHECK(std::count_if(names.begin(), names.end(),
                      [&](const std::string& n) { return std::regex_match(n, shortened); }) == 2);
  CHECK(ws.RowFiles("dev", "comp").size() == 3);
  std::string texts = Sorted(ws.RowTexts("dev", "odd%2Ftable.name"));
  CHECK_THAT(texts, Catch::Contains("k: '" + long_key + "'\nv: 7"));
  CHECK_THAT(texts, Catch::Contains("k: '" + long_key + "x'\nv: 8"));
}

TEST_CASE("a long key never cuts a percent escape", "[cli][commit][values]") {
  Ws ws;
  ws.AddEnv("dev");
  std::string e_acute;
  for (int i = 0; i < 40; ++i) e_acute += "é";  // "%C3%A9" each: byte 140 falls inside one
  Sqlite(ws.Db("dev"),
         "CREATE TABLE t (k TEXT PRIMARY KEY); INSERT INTO t VALUES ('" + e_acute + "');");
  ws.Commit("dev", "long");
  std::vector<std::string> files = ws.RowFiles("dev", "t");
  REQUIRE(files.size() == 1);
  std::string name = files[0].substr(files[0].rfind('/') + 1);
  std::string kept;
  for (int i = 0; i < 23; ++i) kept += "%C3%A9";  // 138 bytes
  CHECK(std::regex_match(name, std::regex(kept + "~~[0-9a-f]{32}\\.yaml")));
  CHECK(ws.GitOut("show dev:tables/t/rows/" + files[0]) == "k: '" + e_acute + "'");
}

TEST_CASE("a database locked by another program is exit 3", "[cli][commit]") {
  Ws ws;
  ws.AddEnv("dev");
  Sqlite(ws.Db("dev"), "CREATE TABLE t (id INTEGER PRIMARY KEY); INSERT INTO t VALUES (1);");
  // sqlite3 holds an exclusive lock for longer than cfgit's 5-second busy timeout.
  RunResult r =
      Shell(ws.path(),
            "( echo 'BEGIN EXCLUSIVE; UPDATE t SET id = id;'; sleep 6.5; echo 'COMMIT;' ) "
            "| sqlite3 dev.db & sleep 0.5; CFGIT_TIME=1700000000 '" CFGIT_BINARY
            "' commit dev -m locked; echo rc=$?; wait");
  INFO(r.out << r.err);
  CHECK_THAT(r.out, Catch::Contains("rc=3"));
  CHECK_THAT(r.err, Catch::Contains("locked"));
  CHECK_THAT(r.err, Catch::Contains(ws.Db("dev")));
  CHECK(ws.GitOut("for-each-ref") == "");
  CFGIT_EXPECT_EXIT(ws.Run("commit dev -m unlocked"), 0);
}

TEST_CASE("keyless tables count duplicates", "[cli][commit][keyless]") {
  Ws ws;
  ws.AddEnv("dev");
  Sqlite(ws.Db("dev"),
         "CREATE TABLE rolesUsers (roleName TEXT, userId INTEGER);"
         "INSERT INTO rolesUsers VALUES ('admin', 1), ('admin', 1), ('member', 2);"
         "CREATE TABLE paths (a TEXT, b TEXT);"
         "INSERT INTO paths VALUES ('x', 'y');"
         "CREATE TABLE keyed (id INTEGER PRIMARY KEY);");
  RunResult r = ws.Run("commit dev -m first");
  CFGIT_EXPECT_EXIT(r, 0);
  CHECK(StatLine(r.out, "rolesUsers") == "new table, +3 -0 ~0");
  CHECK(CountOf(r.out, "note:") == 1);
  CHECK(CountOf(r.out, "rolesUsers") == 2);  // its stat line, and the note once
  CHECK_THAT(r.out, Catch::Contains("note: paths, rolesUsers have no primary key"));
  std::vector<std::string> files = ws.RowFiles("dev", "rolesUsers");
  REQUIRE(files.size() == 3);
  std::vector<std::string> texts = ws.RowTexts("dev", "rolesUsers");
  CHECK(std::count(texts.begin(), texts.end(), "roleName: 'admin'\nuserId: 1") == 2);
  CHECK(std::count(texts.begin(), texts.end(), "roleName: 'member'\nuserId: 2") == 1);

  // Deleting one of the duplicates is one deleted row.
  Sqlite(ws.Db("dev"),
         "DELETE FROM rolesUsers WHERE rowid = (SELECT min(rowid) FROM rolesUsers "
         "WHERE roleName = 'admin');");
  RunResult r2 = ws.Run("commit dev -m dedup");
  CFGIT_EXPECT_EXIT(r2, 0);
  CHECK(StatLine(r2.out, "rolesUsers") == "+0 -1 ~0");
  CHECK(StatLine(r2.out, "paths") == "");
  CHECK(ws.RowFiles("dev", "rolesUsers").size() == 2);
  RunResult show = ws.Run("show dev");
  CHECK(StatLine(show.out, "rolesUsers") == "+0 -1 ~0");

  // A third copy is one added row; an edit is a delete plus an add.
  Sqlite(ws.Db("dev"),
         "INSERT INTO rolesUsers VALUES ('admin', 1), ('admin', 1);"
         "UPDATE rolesUsers SET userId = 3 WHERE roleName = 'member';");
  RunResult r3 = ws.Run("commit dev -m more");
  CFGIT_EXPECT_EXIT(r3, 0);
  CHECK(StatLine(r3.out, "rolesUsers") == "+3 -1 ~0");
  CHECK(ws.RowFiles("dev", "rolesUsers").size() == 4);
}

}  // namespace
}  // namespace cfgit::test
