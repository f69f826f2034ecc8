// End to end: cfgit diff between snapshots and live databases (@ENV), as text, JSON, counts and
// SQL. The SQL output is run with the stock sqlite3 shell on a copy of A's database, and the copy
// is then diffed against B by cfgit and compared row by row.
#include <filesystem>

#include "tests/cli/cli_fixture.h"

namespace cfgit::test {
namespace {

namespace fs = std::filesystem;

// Files under .cfgit/objects (loose objects, packs and their indexes).
size_t ObjectFiles(const Ws& ws) {
  size_t n = 0;
  for (const auto& e : fs::recursive_directory_iterator(ws / ".cfgit/objects")) {
    if (e.is_regular_file()) ++n;
  }
  return n;
}

// The JSON output's "from" or "to" field, or "?" when it is missing.
std::string JsonField(const std::string& json, const std::string& name) {
  std::string start = "\"" + name + "\":\"";
  size_t p = json.find(start);
  if (p == std::string::npos) return "?";
  p += start.size();
  return json.substr(p, json.find('"', p) - p);
}

// A workspace with environment dev. A test builds revision A in dev.db (CommitA keeps a copy of
// that file as copy.db), then changes dev.db into revision B (CommitB). ApplyScript runs
// `cfgit diff A B --format sql` on copy.db with the sqlite3 shell; CheckCopyIsB proves the copy
// now holds B.
struct SqlCase : Ws {
  std::string a, b;
  SqlCase() { AddEnv("dev"); }
  void CommitA(const std::string& sql) {
    Sqlite(Db("dev"), sql);
    a = Commit("dev", "A");
    fs::copy_file(Db("dev"), Db("copy"));
    AddEnv("copy");
  }
  void CommitB(const std::string& sql) {
    Sqlite(Db("dev"), sql);
    b = Commit("dev", "B");
    REQUIRE(a != b);
  }
  // Runs the script on copy.db (with `shell_options` for sqlite3) and returns it.
  std::string ApplyScript(const std::string& shell_options = "") {
    // Before: the copy is A, not B (so the check afterwards is not vacuous).
    CFGIT_EXPECT_EXIT(Run("diff " + a + " @copy --exit-code"), 0);
    CFGIT_EXPECT_EXIT(Run("diff " + b + " @copy --exit-code"), 1);
    RunResult r = Run("diff " + a + " " + b + " --format sql");
    CFGIT_EXPECT_EXIT(r, 0);
    REQUIRE_THAT(r.out, Catch::StartsWith("-- cfgit diff " + a + " " + b + ": "));
    WriteFile(*this / "script.sql", r.out);
    RunResult applied = Shell(path(), "sqlite3 -bail " + shell_options + " copy.db < script.sql");
    INFO("script:\n" << r.out);
    CFGIT_EXPECT_EXIT(applied, 0);
    CHECK(applied.err == "");
    return r.out;
  }
  // cfgit sees no difference between B and the copy, and `queries` give the same rows on dev.db
  // (which holds B) and on the copy.
  void CheckCopyIsB(const std::vector<std::string>& queries) {
    RunResult same = Run("diff " + b + " @copy --exit-code");
    CFGIT_EXPECT_EXIT(same, 0);
    CHECK(same.out == "");
    RunResult text = Run("diff " + b + " @copy");
    CFGIT_EXPECT_EXIT(text, 0);
    CHECK(text.out == "no differences between " + b + " and @copy\n");
    for (const std::string& q : queries) {
      INFO(q);
      std::vector<std::string> want = SqliteRows(Db("dev"), q);
      CHECK(SqliteRows(Db("copy"), q) == want);
    }
    CHECK(SqliteRows(Db("copy"), "PRAGMA integrity_check") == std::vector<std::string>{"ok"});
    CHECK(
        SqliteRows(Db("copy"), "SELECT name FROM sqlite_master WHERE name LIKE '%cfgit%'").empty());
  }
};

// Tables with their CREATE TABLE text, and indexes by name (the script writes an index's
// CREATE INDEX with quoted names, which SQLite keeps as written).
const char* kSchemaQuery =
    "SELECT type, name, tbl_name, CASE type WHEN 'table' THEN sql END FROM sqlite_master "
    "ORDER BY name";

const std::vector<std::string> kNocoBaseQueries = {
    "SELECT * FROM collections ORDER BY key",
    "SELECT * FROM fields ORDER BY key",
    "SELECT quote(\"x-uid\"), quote(name), quote(schema) FROM uiSchemas ORDER BY 1",
    "SELECT * FROM roles ORDER BY name",
    "SELECT * FROM uiSchemaTreePath ORDER BY ancestor, descendant, depth",
    kSchemaQuery};

TEST_CASE("diff --format sql reproduces B: row inserts, updates and deletes", "[cli][diff][sql]") {
  SqlCase ws;
  ws.CommitA(std::string(kNocoBaseSchema) + kNocoBaseRows);
  ws.CommitB(
      "UPDATE roles SET title = 'Member (renamed)', snippets = '[]' WHERE name = 'member';"
      "INSERT INTO fields VALUES ('f4', 'body', 'text', 'markdown', 'posts', NULL, NULL, '{}', 2);"
      "DELETE FROM uiSchemaTreePath WHERE descendant = 'q8xgrid0';"
      "DELETE FROM uiSchemas WHERE \"x-uid\" = 'q8xgrid0';"
      "UPDATE uiSchemas SET schema = '{\"type\":\"void\",\"x-component\":\"Page\"}' "
      "WHERE \"x-uid\" = 'k3pdfa1b';"
      "INSERT INTO collections VALUES ('c3', 'tags', 'Tags', 0, 0, NULL, '', 3);");
  std::string script = ws.ApplyScript();
  // Minimal DML in one transaction: only the rows that differ, no DDL.
  CHECK(CountOf(script, "DELETE FROM") == 4);
  CHECK(CountOf(script, "UPDATE ") == 2);
  CHECK(CountOf(script, "INSERT INTO") == 2);
  CHECK(CountOf(script, "BEGIN;") == 1);
  CHECK(CountOf(script, "COMMIT;") == 1);
  CHECK_THAT(script, !Catch::Contains("CREATE TABLE") && !Catch::Contains("DROP TABLE") &&
                         !Catch::Contains("legacy_alter_table"));
  // Foreign-key actions never run on the script's exact rows.
  CHECK_THAT(script, Catch::StartsWith("-- cfgit diff") &&
                         Catch::Contains("PRAGMA foreign_keys = OFF;\nBEGIN;"));
  CHECK_THAT(script, Catch::Contains("UPDATE \"roles\" SET"));
  ws.CheckCopyIsB(kNocoBaseQueries);
}

TEST_CASE("diff --format sql reproduces B: text, NULL, integer, real and blob values",
          "[cli][diff][sql]") {
  SqlCase ws;
  // v has no declared type, so SQLite keeps every value exactly as given (-0.0 stays a real).
  const char* values[] = {
      "'it''s \"quoted\" `x` \\ back; DROP TABLE vals; --'",
      "'line1' || char(10) || 'line2' || char(9) || 'tab' || char(13) || 'lone cr'",
      "'héllo — 日本語 🎉 \u00a0'",
      "NULL",
      "''",
      "-9223372036854775808",
      "9223372036854775807",
      "1.5",
      "0.1",
      "1e300",
      "-0.0",
      "0.0",
      "0",
      "X'00ff0041'",
      "X''",
      "CAST(X'610062' AS TEXT)",
      "'NULL'",
      "'0'",
  };
  std::string a_rows, b_sql;
  int id = 1;
  for (const char* v : values) {
    // A: the even rows hold the value, the odd ones a placeholder that B updates to it; B also
    // inserts every value again as a new row (100 + id), into both v and the REAL column r.
    a_rows += "INSERT INTO vals VALUES (" + std::to_string(id) + ", " +
              (id % 2 == 0 ? std::string(v) : "'placeholder'") + ", 1.25);\n";
    b_sql += "UPDATE vals SET v = " + std::string(v) + " WHERE id = " + std::to_string(id) + ";\n";
    b_sql += "INSERT INTO vals VALUES (" + std::to_string(100 + id) + ", " + v + ", " + v + ");\n";
    ++id;
  }
  // NULL and '' swap places (4 and 5 hold them), and a real column gets new reals.
  b_sql +=
      "UPDATE vals SET v = '' WHERE id = 4; UPDATE vals SET v = NULL WHERE id = 5;"
      "UPDATE vals SET r = -0.0 WHERE id = 2; UPDATE vals SET r = 1e-300 WHERE id = 3;";
  ws.CommitA("CREATE TABLE vals (id INTEGER PRIMARY KEY, v, r REAL);" + a_rows);
  ws.CommitB(b_sql);
  // The snapshot holds what the test put in (so the round trip below is not of a lossy value).
  REQUIRE(SqliteRows(ws.Db("dev"), "SELECT typeof(v) FROM vals WHERE id = 111") ==
          std::vector<std::string>{"real"});
  // The snapshot's row files (read by stock git) hold the sign of -0.0.
  std::string rows =
      ws.GitOut("grep -h -A1 -e '^id: 111$' -e '^id: 112$' " + ws.b + " -- tables/vals/rows");
  REQUIRE_THAT(rows, Catch::Contains("id: 111\nv: -0.0\n"));
  REQUIRE_THAT(rows, Catch::Contains("id: 112\nv: 0.0"));
  REQUIRE(SqliteRows(ws.Db("dev"), "SELECT typeof(v), quote(v) FROM vals WHERE id = 106") ==
          std::vector<std::string>{"integer|-9223372036854775808"});
  std::string script = ws.ApplyScript();
  CHECK_THAT(script, Catch::Contains("-9223372036854775808"));
  CHECK_THAT(script, Catch::Contains("X'00ff0041'"));
  ws.CheckCopyIsB(
      {"SELECT id, typeof(v), quote(v), hex(v), typeof(r), quote(r) FROM vals "
       "ORDER BY id",
       "SELECT count(*) FROM vals WHERE v IS NULL", "SELECT id FROM vals WHERE v = '' ORDER BY id",
       "SELECT id, length(CAST(v AS BLOB)) FROM vals ORDER BY id"});
  // -0.0 keeps its sign (SQLite prints it as 0.0; atan2 tells the two zeros apart).
  for (const char* db : {"dev.db", "copy.db"}) {
    INFO(db);
    RunResult sign = Shell(ws.path(), std::string("sqlite3 ") + db +
                                          " 'SELECT id, atan2(v, -1) < 0 FROM vals "
                                          "WHERE id IN (11, 12, 111, 112) ORDER BY id'");
    CFGIT_EXPECT_EXIT(sign, 0);
    CHECK(sign.out == "11|1\n12|0\n111|1\n112|0\n");
  }
}

TEST_CASE("diff --format sql reproduces B: text with CR LF, run by the sqlite3 shell",
          "[cli][diff][sql]") {
  // The sqlite3 shell reads its input by lines and drops the CR of a CR LF line end, also inside
  // a string literal; the script must write such text so that it survives (e.g. char(13)).
  SqlCase ws;
  ws.CommitA(
      "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT);"
      "INSERT INTO notes VALUES (1, 'old');");
  ws.CommitB(
      "UPDATE notes SET body = 'a' || char(13) || char(10) || 'b' WHERE id = 1;"
      "INSERT INTO notes VALUES (2, 'windows' || char(13) || char(10));");
  ws.ApplyScript();
  ws.CheckCopyIsB({"SELECT id, hex(body) FROM notes ORDER BY id"});
}

TEST_CASE("diff --format sql reproduces B: a keyless table loses one of duplicate rows",
          "[cli][diff][sql]") {
  SqlCase ws;
  ws.CommitA(
      "CREATE TABLE tags (name TEXT, n INTEGER);"
      "INSERT INTO tags VALUES ('a', 1), ('a', 1), ('a', 1), ('b', 2), ('b', 2), (NULL, 3);");
  ws.CommitB(
      "DELETE FROM tags WHERE rowid = (SELECT min(rowid) FROM tags WHERE name = 'a');"
      "DELETE FROM tags WHERE name IS NULL;"
      "INSERT INTO tags VALUES ('b', 2), ('c', 4);");

  RunResult text = ws.Run("diff " + ws.a + " " + ws.b);
  CFGIT_EXPECT_EXIT(text, 0);
  CHECK(text.out == "diff " + ws.a + " " + ws.b +
                        "\n"
                        "table tags  +2 -2 ~0\n"
                        "  + name: 'b', n: 2\n"
                        "  + name: 'c', n: 4\n"
                        "  - name: null, n: 3\n"
                        "  - name: 'a', n: 1\n");
  RunResult json = ws.Run("diff " + ws.a + " " + ws.b + " --format json");
  CHECK_THAT(json.out, Catch::Contains("\"deleted\":[{\"key\":{},\"row\":{\"name\":null,\"n\":3}},"
                                       "{\"key\":{},\"row\":{\"name\":\"a\",\"n\":1}}]"));

  std::string script = ws.ApplyScript();
  CHECK(CountOf(script, "DELETE FROM") == 2);
  CHECK(CountOf(script, "INSERT INTO") == 2);
  ws.CheckCopyIsB({"SELECT quote(name), n, count(*) FROM tags GROUP BY name, n ORDER BY 1, 2"});
  CHECK(SqliteRows(ws.Db("copy"), "SELECT count(*) FROM tags WHERE name = 'a'") ==
        std::vector<std::string>{"2"});
}

TEST_CASE("diff --format sql reproduces B: a schema change SQLite rebuilds the table for",
          "[cli][diff][sql]") {
  SqlCase ws;
  ws.CommitA(
      "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT, legacy TEXT);"
      "CREATE TABLE item_notes (id INTEGER PRIMARY KEY, item_id INTEGER REFERENCES items(id), "
      "note TEXT);"
      "INSERT INTO items VALUES (1, 'one', 'x'), (2, 'two', 'y'), (3, 'three', NULL);"
      "INSERT INTO item_notes VALUES (1, 1, 'first'), (2, 2, 'second');");
  ws.CommitB(
      "ALTER TABLE items ADD COLUMN status TEXT NOT NULL DEFAULT 'active';"
      "ALTER TABLE items DROP COLUMN legacy;"
      "CREATE INDEX items_name ON items (name);"
      "UPDATE items SET status = 'off' WHERE id = 2;"
      "INSERT INTO items (id, name) VALUES (4, 'four');"
      "DELETE FROM items WHERE id = 3;");

  RunResult text = ws.Run("diff " + ws.a + " " + ws.b + " --table items");
  CFGIT_EXPECT_EXIT(text, 0);
  CHECK_THAT(text.out, Catch::Contains("table items  +1 -1 ~2, schema changed\n"));
  CHECK_THAT(text.out,
             Catch::Contains("  schema: + column status TEXT NOT NULL DEFAULT 'active'\n"));
  CHECK_THAT(text.out, Catch::Contains("  schema: - column legacy TEXT\n"));
  CHECK_THAT(text.out, Catch::Contains("  schema: + index items_name (name)\n"));
  // A column on one side only: "(no column)" on the other (B's columns first, then A's own).
  CHECK_THAT(text.out, Catch::Contains("  ~ (id=1)\n"
                                       "      status: (no column) -> 'active'\n"
                                       "      legacy: 'x' -> (no column)\n"));
  CHECK_THAT(text.out, Catch::Contains("  ~ (id=2)\n"
                                       "      status: (no column) -> 'off'\n"
                                       "      legacy: 'y' -> (no column)\n"));
  CHECK_THAT(text.out, Catch::Contains("  + (id=4) name: 'four', status: 'active'\n"));
  CHECK_THAT(text.out, Catch::Contains("  - (id=3) name: 'three', legacy: null\n"));
  RunResult json = ws.Run("diff " + ws.a + " " + ws.b + " --table items --format json");
  CHECK_THAT(json.out, Catch::Contains("\"columns_added\":[{\"name\":\"status\",\"type\":\"TEXT\","
                                       "\"not_null\":true,\"default\":\"'active'\"}]"));
  CHECK_THAT(json.out, Catch::Contains("\"columns_removed\":[{\"name\":\"legacy\""));
  CHECK_THAT(json.out, Catch::Contains("{\"key\":{\"id\":1},\"changes\":{\"status\":{\"old\":null,"
                                       "\"new\":\"active\",\"column_added\":true},\"legacy\":{"
                                       "\"old\":\"x\",\"new\":null,\"column_removed\":true}}}"));
  CHECK_THAT(json.out, Catch::Contains("\"indexes_added\":[{\"name\":\"items_name\","
                                       "\"columns\":[\"name\"],\"unique\":false}]"));

  std::string script = ws.ApplyScript("-cmd 'PRAGMA foreign_keys = ON'");
  CHECK_THAT(script, Catch::Contains("CREATE INDEX \"items_name\""));
  CHECK_THAT(script, !Catch::Contains("item_notes"));  // the other table is left alone
  ws.CheckCopyIsB({"SELECT * FROM items ORDER BY id", "SELECT * FROM item_notes ORDER BY id",
                   "SELECT name, type, \"notnull\", dflt_value, pk FROM pragma_table_info('items')",
                   kSchemaQuery});
  // The other table still references items (not the renamed old one).
  CHECK(SqliteRows(ws.Db("copy"), "SELECT \"table\" FROM pragma_foreign_key_list('item_notes')") ==
        std::vector<std::string>{"items"});
  CHECK(SqliteRows(ws.Db("copy"), "PRAGMA foreign_key_check").empty());
}

TEST_CASE("diff --format sql reproduces B: a new table and a dropped table", "[cli][diff][sql]") {
  SqlCase ws;
  ws.CommitA(
      "CREATE TABLE keep (id INTEGER PRIMARY KEY, v TEXT);"
      "CREATE TABLE old_things (id INTEGER PRIMARY KEY, v TEXT);"
      "INSERT INTO keep VALUES (1, 'k');"
      "INSERT INTO old_things VALUES (1, 'o'), (2, 'p');");
  ws.CommitB(
      "DROP TABLE old_things;"
      "CREATE TABLE new_things (code TEXT PRIMARY KEY, label TEXT NOT NULL, n INTEGER UNIQUE);"
      "CREATE INDEX new_things_label ON new_things (label);"
      "INSERT INTO new_things VALUES ('a', 'Alpha', 1), ('b', 'it''s', NULL);");

  RunResult stat = ws.Run("diff " + ws.a + " " + ws.b + " --stat");
  CFGIT_EXPECT_EXIT(stat, 0);
  CHECK(stat.out ==
        " new_things  new table, +2 -0 ~0\n"
        " old_things  table removed, +0 -2 ~0\n");
  RunResult json = ws.Run("diff " + ws.a + " " + ws.b + " --format json");
  CHECK_THAT(json.out, Catch::Contains("{\"name\":\"new_things\",\"schema\":{\"table\":\"added\"},"
                                       "\"added\":[{\"key\":{\"code\":\"a\"},\"row\":{\"code\":"
                                       "\"a\",\"label\":\"Alpha\",\"n\":1}},"));
  CHECK_THAT(json.out, Catch::Contains("{\"name\":\"old_things\",\"schema\":{\"table\":"
                                       "\"removed\"},\"added\":[],\"deleted\":[{\"key\":{\"id\":"
                                       "1},\"row\":{\"id\":1,\"v\":\"o\"}},"));

  std::string script = ws.ApplyScript();
  CHECK(CountOf(script, "DROP TABLE \"old_things\"") == 1);
  ws.CheckCopyIsB({"SELECT * FROM keep", "SELECT * FROM new_things ORDER BY code", kSchemaQuery});
}

TEST_CASE("diff --format sql reproduces B: AUTOINCREMENT counters stay ahead of the ids",
          "[cli][diff][sql]") {
  SqlCase ws;
  ws.CommitA(
      "CREATE TABLE jobs (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT);"
      "INSERT INTO jobs (name) VALUES ('a'), ('b'), ('c');");
  ws.CommitB(
      "INSERT INTO jobs (name) VALUES ('d'), ('e');"
      "INSERT INTO jobs (id, name) VALUES (40, 'far');"
      "DELETE FROM jobs WHERE id = 2;"
      "CREATE TABLE events (id INTEGER PRIMARY KEY AUTOINCREMENT, what TEXT);"
      "INSERT INTO events (what) VALUES ('x'), ('y');");
  ws.ApplyScript();
  ws.CheckCopyIsB({"SELECT * FROM jobs ORDER BY id", "SELECT * FROM events ORDER BY id"});
  for (const char* table : {"jobs", "events"}) {
    INFO(table);
    std::vector<std::string> ok = SqliteRows(
        ws.Db("copy"), std::string("SELECT (SELECT seq FROM sqlite_sequence WHERE name = '") +
                           table + "') >= (SELECT max(id) FROM " + table + ")");
    CHECK(ok == std::vector<std::string>{"1"});
  }
  // The next row the application inserts gets a new id.
  Sqlite(ws.Db("copy"), "INSERT INTO jobs (name) VALUES ('next');");
  CHECK(SqliteRows(ws.Db("copy"), "SELECT id FROM jobs WHERE name = 'next'") ==
        std::vector<std::string>{"41"});
}

TEST_CASE("diff --format sql reproduces B: a parent and its child both changed",
          "[cli][diff][sql]") {
  SqlCase ws;
  ws.CommitA(
      "CREATE TABLE groups (id INTEGER PRIMARY KEY, name TEXT NOT NULL);"
      "CREATE TABLE members (id INTEGER PRIMARY KEY, "
      "group_id INTEGER NOT NULL REFERENCES groups(id), name TEXT);"
      "INSERT INTO groups VALUES (1, 'a'), (2, 'b');"
      "INSERT INTO members VALUES (1, 1, 'x'), (2, 2, 'y'), (3, 2, 'z');");
  // A new parent; a child moved to it, one deleted with its old parent, one added under it.
  ws.CommitB(
      "INSERT INTO groups VALUES (3, 'c');"
      "UPDATE members SET group_id = 3 WHERE id = 2;"
      "DELETE FROM members WHERE id = 3;"
      "DELETE FROM groups WHERE id = 2;"
      "UPDATE groups SET name = 'a2' WHERE id = 1;"
      "INSERT INTO members VALUES (4, 3, 'w');");
  // With foreign keys enforced, as the application's own connection would have them.
  ws.ApplyScript("-cmd 'PRAGMA foreign_keys = ON'");
  ws.CheckCopyIsB({"SELECT * FROM groups ORDER BY id", "SELECT * FROM members ORDER BY id"});
  CHECK(SqliteRows(ws.Db("copy"), "PRAGMA foreign_key_check").empty());
}

TEST_CASE("diff --format sql reproduces B: ON DELETE CASCADE child moved off a deleted parent",
          "[cli][diff][sql]") {
  // NocoBase's fields reference collections ON DELETE CASCADE. The child is moved to a new
  // parent and the old parent deleted; the script must not let the cascade delete the child.
  SqlCase ws;
  ws.CommitA(
      "CREATE TABLE groups (id INTEGER PRIMARY KEY, name TEXT NOT NULL);"
      "CREATE TABLE members (id INTEGER PRIMARY KEY, "
      "group_id INTEGER NOT NULL REFERENCES groups(id) ON DELETE CASCADE, name TEXT);"
      "INSERT INTO groups VALUES (1, 'a'), (2, 'b');"
      "INSERT INTO members VALUES (1, 1, 'x'), (2, 2, 'y');");
  ws.CommitB(
      "PRAGMA foreign_keys = ON;"
      "INSERT INTO groups VALUES (3, 'c');"
      "UPDATE members SET group_id = 3 WHERE id = 2;"
      "DELETE FROM groups WHERE id = 2;");
  REQUIRE(SqliteRows(ws.Db("dev"), "SELECT * FROM members ORDER BY id") ==
          std::vector<std::string>{"1|1|x", "2|3|y"});
  ws.ApplyScript("-cmd 'PRAGMA foreign_keys = ON'");
  ws.CheckCopyIsB({"SELECT * FROM groups ORDER BY id", "SELECT * FROM members ORDER BY id"});
}

TEST_CASE("diff of a snapshot with itself is empty", "[cli][diff]") {
  Ws ws;
  ws.AddEnv("dev");
  Sqlite(ws.Db("dev"), std::string(kNocoBaseSchema) + kNocoBaseRows);
  std::string head = ws.Commit("dev", "first");
  CFGIT_EXPECT_EXIT(ws.Run("tag v1 dev"), 0);

  RunResult text = ws.Run("diff dev dev");
  CFGIT_EXPECT_EXIT(text, 0);
  CHECK(text.out == "no differences between dev and dev\n");
  CHECK(text.err == "");
  RunResult by_id = ws.Run("diff v1 " + head.substr(0, 10));
  CFGIT_EXPECT_EXIT(by_id, 0);
  CHECK(by_id.out == "no differences between v1 and " + head.substr(0, 10) + "\n");

  RunResult json = ws.Run("diff dev v1 --format json");
  CFGIT_EXPECT_EXIT(json, 0);
  CHECK(json.out == "{\"from\":\"" + head + "\",\"to\":\"" + head + "\",\"tables\":[]}\n");

  RunResult exit_code = ws.Run("diff dev dev --exit-code");
  CFGIT_EXPECT_EXIT(exit_code, 0);
  CHECK(exit_code.out == "");
  CHECK(exit_code.err == "");

  RunResult stat = ws.Run("diff dev dev --stat");
  CFGIT_EXPECT_EXIT(stat, 0);
  CHECK(stat.out == "no differences between dev and dev\n");

  RunResult sql = ws.Run("diff dev dev --format sql");
  CFGIT_EXPECT_EXIT(sql, 0);
  CHECK_THAT(sql.out, !Catch::Contains("INSERT") && !Catch::Contains("DELETE") &&
                          !Catch::Contains("UPDATE"));
}

TEST_CASE("a live diff (@ENV) shows uncommitted changes and commits nothing", "[cli][diff]") {
  Ws ws;
  ws.AddEnv("dev");
  Sqlite(ws.Db("dev"), std::string(kNocoBaseSchema) + kNocoBaseRows);
  std::string head = ws.Commit("dev", "first");
  std::string refs = ws.GitOut("for-each-ref");
  size_t objects = ObjectFiles(ws);

  for (const char* args : {"diff dev", "diff @dev", "diff dev @dev"}) {
    INFO(args);
    RunResult r = ws.Run(args);
    CFGIT_EXPECT_EXIT(r, 0);
    CHECK(r.out == "no differences between dev and @dev\n");
  }
  RunResult empty_json = ws.Run("diff dev --format json");
  CFGIT_EXPECT_EXIT(empty_json, 0);
  CHECK(empty_json.out == "{\"from\":\"" + head + "\",\"to\":\"@dev\",\"tables\":[]}\n");
  CFGIT_EXPECT_EXIT(ws.Run("diff dev --exit-code"), 0);

  Sqlite(ws.Db("dev"),
         "UPDATE roles SET title = 'Members' WHERE name = 'member';"
         "INSERT INTO roles (name, title) VALUES ('guest', 'Guest');");
  RunResult r = ws.Run("diff dev --no-color");
  CFGIT_EXPECT_EXIT(r, 0);
  CHECK(r.out ==
        "diff dev @dev\n"
        "table roles  +1 -0 ~1\n"
        "  + (name='guest') title: 'Guest', description: null, strategy: null, default: 0, "
        "hidden: 0, allowConfigure: null, allowNewMenu: null, snippets: '[\"!ui.*\",\"!pm\","
        "\"!pm.*\"]', sort: null\n"
        "  ~ (name='member') title: '{{t(\"Member\")}}' -> 'Members'\n");
  CHECK(ws.Run("diff @dev").out == r.out);
  RunResult json = ws.Run("diff dev --format json");
  CFGIT_EXPECT_EXIT(json, 0);
  CHECK(JsonField(json.out, "from") == head);
  CHECK(JsonField(json.out, "to") == "@dev");
  CHECK_THAT(json.out, Catch::Contains("\"modified\":[{\"key\":{\"name\":\"member\"},\"changes\":"
                                       "{\"title\":{\"old\":\"{{t(\\\"Member\\\")}}\",\"new\":"
                                       "\"Members\"}}}]"));
  RunResult exit_code = ws.Run("diff dev --exit-code");
  CFGIT_EXPECT_EXIT(exit_code, 1);
  CHECK(exit_code.err == "");
  // The reverse direction: live first.
  RunResult reverse = ws.Run("diff @dev dev");
  CFGIT_EXPECT_EXIT(reverse, 0);
  CHECK_THAT(reverse.out, Catch::Contains("  - (name='guest') title: 'Guest'"));
  CHECK_THAT(reverse.out, Catch::Contains("  ~ (name='member') title: 'Members' -> "));

  // Nothing was committed or written to the store.
  CHECK(ws.GitOut("rev-parse dev") == head);
  CHECK(ws.GitOut("for-each-ref") == refs);
  CHECK(ObjectFiles(ws) == objects);
  CHECK(ws.CommitCount("dev") == 1);
  CFGIT_EXPECT_EXIT(ws.Git("fsck --strict"), 0);
}

TEST_CASE("diff with one argument: ENV, @ENV, REV against its first parent, the root commit",
          "[cli][diff]") {
  Ws ws;
  ws.AddEnv("dev");
  Sqlite(ws.Db("dev"),
         "CREATE TABLE settings (name TEXT PRIMARY KEY, value TEXT);"
         "INSERT INTO settings VALUES ('theme', 'light');");
  std::string first = ws.Commit("dev", "first");
  Sqlite(ws.Db("dev"), "UPDATE settings SET value = 'dark';");
  std::string second = ws.Commit("dev", "second");
  Sqlite(ws.Db("dev"), "INSERT INTO settings VALUES ('lang', 'en');");
  std::string third = ws.Commit("dev", "third");
  CFGIT_EXPECT_EXIT(ws.Run("tag v2 dev~1"), 0);
  CFGIT_EXPECT_EXIT(ws.Run("branch feature dev"), 0);
  Sqlite(ws.Db("dev"), "DELETE FROM settings WHERE name = 'theme';");  // uncommitted

  SECTION("ENV and @ENV: the branch head against the live database") {
    std::string want =
        "diff dev @dev\n"
        "table settings  +0 -1 ~0\n"
        "  - (name='theme') value: 'dark'\n";
    CHECK(ws.Run("diff dev").out == want);
    CHECK(ws.Run("diff @dev").out == want);
    CHECK(ws.Run("diff dev @dev").out == want);
    RunResult json = ws.Run("diff @dev --format json");
    CHECK(JsonField(json.out, "from") == third);
    CHECK(JsonField(json.out, "to") == "@dev");
  }
  SECTION("a branch that is no environment's, a tag and an id: first parent to it") {
    std::string third_text =
        "table settings  +1 -0 ~0\n"
        "  + (name='lang') value: 'en'\n";
    CHECK(ws.Run("diff feature").out == "diff feature^ feature\n" + third_text);
    CHECK(ws.Run("diff " + third).out == "diff " + third + "^ " + third + "\n" + third_text);
    CHECK(ws.Run("diff dev~0").out == "diff dev~0^ dev~0\n" + third_text);
    RunResult tag = ws.Run("diff v2");
    CFGIT_EXPECT_EXIT(tag, 0);
    CHECK(tag.out ==
          "diff v2^ v2\n"
          "table settings  +0 -0 ~1\n"
          "  ~ (name='theme') value: 'light' -> 'dark'\n");
    RunResult json = ws.Run("diff v2 --format json");
    CHECK(JsonField(json.out, "from") == first);
    CHECK(JsonField(json.out, "to") == second);
    // The same as naming both sides.
    CHECK(ws.Run("diff " + first + " " + second + " --format json").out == json.out);
  }
  SECTION("the root commit: from the empty snapshot") {
    RunResult root = ws.Run("diff dev~2");
    CFGIT_EXPECT_EXIT(root, 0);
    CHECK(root.out ==
          "diff (empty) dev~2\n"
          "table settings  +1 -0 ~0, new table\n"
          "  + (name='theme') value: 'light'\n");
    RunResult json = ws.Run("diff " + first + " --format json");
    CFGIT_EXPECT_EXIT(json, 0);
    CHECK(JsonField(json.out, "to") == first);
    CHECK(JsonField(json.out, "from") == "");  // the empty snapshot
    CHECK_THAT(json.out, Catch::Contains("\"tables\":[{\"name\":\"settings\",\"schema\":{"
                                         "\"table\":\"added\"},\"added\":[{\"key\":{\"name\":"
                                         "\"theme\"},\"row\":{\"name\":\"theme\",\"value\":"
                                         "\"light\"}}],\"deleted\":[],\"modified\":[]}]"));
    RunResult stat = ws.Run("diff " + first + " --stat");
    CHECK(stat.out == " settings  new table, +1 -0 ~0\n");
  }
  SECTION("an environment never committed: everything is new") {
    ws.AddEnv("qa");
    Sqlite(ws.Db("qa"), "CREATE TABLE t (id INTEGER PRIMARY KEY); INSERT INTO t VALUES (7);");
    RunResult r = ws.Run("diff qa --stat");
    CFGIT_EXPECT_EXIT(r, 0);
    CHECK(r.out == " t  new table, +1 -0 ~0\n");
    CHECK(ws.Git("rev-parse --verify -q refs/heads/qa").exit_code != 0);
  }
  CHECK(ws.GitOut("rev-parse dev") == third);
}

// A workspace whose cfgit.yaml names uiSchemas.schema as JSON text; settings.value is declared
// JSON. Revision A is committed; dev.db is then changed (not committed).
struct JsonColumns : Ws {
  std::string a;
  JsonColumns() {
    AddEnv("dev");
    WriteFile(*this / "cfgit.yaml",
              "environments:\n  dev: { url: \"sqlite:dev.db\" }\n"
              "tables:\n  \"*\": { rule: merge }\n  uiSchemas: { json: [schema] }\n");
    Sqlite(Db("dev"),
           "CREATE TABLE uiSchemas (\"x-uid\" TEXT PRIMARY KEY, name TEXT, schema TEXT);"
           "CREATE TABLE settings (name TEXT PRIMARY KEY, value JSON, note TEXT, n);"
           "INSERT INTO uiSchemas VALUES "
           "('u1', 'page', '{\"type\":\"void\",\"a\":{\"title\":\"A\",\"x\":1},"
           "\"items\":[1,2],\"gone\":true}'),"
           "('u2', 'grid', '{\"x\": 1, \"y\": [1, 2]}'),"
           "('u3', 'text', 'not json');"
           "INSERT INTO settings VALUES "
           "('theme', '{\"color\":\"red\",\"sizes\":{\"s\":1}}', 'n', 1),"
           "('plain', '{\"k\":1}', 'old note', NULL),"
           "('kinds', NULL, NULL, 1);");
    a = Commit("dev", "A");
    Sqlite(Db("dev"),
           "UPDATE uiSchemas SET schema = '{\"type\":\"void\",\"a\":{\"title\":\"B\",\"x\":1},"
           "\"items\":[1,2,3],\"added\":{\"k\":\"v\"}}' WHERE \"x-uid\" = 'u1';"
           "UPDATE uiSchemas SET schema = '{\"y\":[1,2],\"x\":1}' WHERE \"x-uid\" = 'u2';"
           "UPDATE uiSchemas SET schema = 'still not json' WHERE \"x-uid\" = 'u3';"
           "UPDATE settings SET value = '{\"color\":\"blue\",\"sizes\":{\"s\":1,\"m\":2}}' "
           "WHERE name = 'theme';"
           "UPDATE settings SET note = 'new note', n = '' WHERE name = 'plain';"
           "UPDATE settings SET n = 1.0 WHERE name = 'theme';"
           "UPDATE settings SET n = '1' WHERE name = 'kinds';");
  }
};

TEST_CASE("diff shows cells, and JSON columns by path", "[cli][diff][json]") {
  JsonColumns ws;
  SECTION("text") {
    RunResult r = ws.Run("diff dev --no-color");
    CFGIT_EXPECT_EXIT(r, 0);
    CHECK(r.out ==
          "diff dev @dev\n"
          "table settings  +0 -0 ~3\n"
          "  ~ (name='kinds') n: 1 -> '1'\n"
          "  ~ (name='plain')\n"
          "      note: 'old note' -> 'new note'\n"
          "      n: null -> ''\n"
          "  ~ (name='theme')\n"
          "      value.color: \"red\" -> \"blue\"\n"
          "      value.sizes.m: (absent) -> 2\n"
          "      n: 1 -> 1.0\n"
          "table uiSchemas  +0 -0 ~3\n"
          "  ~ (x-uid='u1')\n"
          "      schema.a.title: \"A\" -> \"B\"\n"
          "      schema.items: [1,2] -> [1,2,3]\n"
          "      schema.gone: true -> (absent)\n"
          "      schema.added: (absent) -> {\"k\":\"v\"}\n"
          "  ~ (x-uid='u2') schema: same JSON, formatting only\n"
          "  ~ (x-uid='u3') schema: 'not json' -> 'still not json'\n");
    CHECK(r.out.find('\033') == std::string::npos);
  }
  SECTION("json") {
    RunResult r = ws.Run("diff dev --format json");
    CFGIT_EXPECT_EXIT(r, 0);
    CHECK_THAT(r.out, Catch::StartsWith("{\"from\":\"" + ws.a + "\",\"to\":\"@dev\",\"tables\":["));
    CHECK_THAT(r.out, Catch::EndsWith("]}\n"));
    CHECK(CountOf(r.out, "\n") == 1);
    CHECK_THAT(r.out,
               Catch::Contains(
                   "{\"key\":{\"x-uid\":\"u1\"},\"changes\":{\"schema\":{\"old\":"
                   "\"{\\\"type\\\":\\\"void\\\",\\\"a\\\":{\\\"title\\\":\\\"A\\\",\\\"x\\\":1},"
                   "\\\"items\\\":[1,2],\\\"gone\\\":true}\","));
    CHECK_THAT(r.out, Catch::Contains("\"paths\":[{\"path\":\"a.title\",\"old\":\"A\",\"new\":"
                                      "\"B\"},{\"path\":\"items\",\"old\":[1,2],\"new\":[1,2,3]},"
                                      "{\"path\":\"gone\",\"old\":true,\"new\":null,\"removed\":"
                                      "true},{\"path\":\"added\",\"old\":null,\"new\":{\"k\":"
                                      "\"v\"},\"added\":true}]}}}"));
    // Formatting only: a JSON change with no paths.
    CHECK_THAT(r.out,
               Catch::Contains("{\"key\":{\"x-uid\":\"u2\"},\"changes\":{\"schema\":{\"old\":"
                               "\"{\\\"x\\\": 1, \\\"y\\\": [1, 2]}\",\"new\":"
                               "\"{\\\"y\\\":[1,2],\\\"x\\\":1}\",\"paths\":[]}}}"));
    // Not JSON: a plain cell, without paths.
    CHECK_THAT(r.out, Catch::Contains("{\"key\":{\"x-uid\":\"u3\"},\"changes\":{\"schema\":{"
                                      "\"old\":\"not json\",\"new\":\"still not json\"}}}"));
    // A column declared JSON, and a plain cell next to it.
    CHECK_THAT(r.out, Catch::Contains("\"paths\":[{\"path\":\"color\",\"old\":\"red\",\"new\":"
                                      "\"blue\"},{\"path\":\"sizes.m\",\"old\":null,\"new\":2,"
                                      "\"added\":true}]"));
    CHECK_THAT(r.out, Catch::Contains("{\"key\":{\"name\":\"plain\"},\"changes\":{\"note\":{"
                                      "\"old\":\"old note\",\"new\":\"new note\"},\"n\":{"
                                      "\"old\":null,\"new\":\"\"}}}"));
    CHECK_THAT(r.out, Catch::Contains("{\"key\":{\"name\":\"kinds\"},\"changes\":{\"n\":{"
                                      "\"old\":1,\"new\":\"1\"}}}"));
    CHECK_THAT(r.out, Catch::Contains("\"n\":{\"old\":1,\"new\":1}"));  // 1 -> 1.0
    CHECK_THAT(r.out, Catch::Contains("{\"name\":\"settings\",\"schema\":{},\"added\":[],"
                                      "\"deleted\":[],\"modified\":["));
  }
  SECTION("between two commits, the same") {
    CFGIT_EXPECT_EXIT(ws.Run("commit dev -m B"), 0);
    RunResult live = ws.Run("diff " + ws.a + " dev");
    CFGIT_EXPECT_EXIT(live, 0);
    CHECK_THAT(live.out, Catch::Contains("      schema.a.title: \"A\" -> \"B\"\n"));
    CHECK_THAT(live.out, Catch::Contains("  ~ (x-uid='u2') schema: same JSON, formatting only\n"));
  }
}

// dev with the NocoBase rows committed (A) and a second commit (B) that changes three tables.
struct TwoCommits : Ws {
  std::string a, b;
  TwoCommits() {
    AddEnv("dev");
    Sqlite(Db("dev"), std::string(kNocoBaseSchema) + kNocoBaseRows);
    a = Commit("dev", "A");
    Sqlite(Db("dev"),
           "UPDATE roles SET title = 'Member (renamed)' WHERE name = 'member';"
           "INSERT INTO roles (name, title) VALUES ('guest', 'Guest');"
           "INSERT INTO fields VALUES ('f4', 'body', 'text', 'markdown', 'posts', NULL, NULL, "
           "'{}', 2);"
           "DELETE FROM uiSchemaTreePath WHERE descendant = 'q8xgrid0';");
    b = Commit("dev", "B");
  }
};

TEST_CASE("diff --stat, --table and --exit-code", "[cli][diff]") {
  TwoCommits ws;
  SECTION("--stat counts per table") {
    RunResult r = ws.Run("diff " + ws.a + " " + ws.b + " --stat");
    CFGIT_EXPECT_EXIT(r, 0);
    CHECK(r.out ==
          " fields            +1 -0 ~0\n"
          " roles             +1 -0 ~1\n"
          " uiSchemaTreePath  +0 -3 ~0\n");
    RunResult json = ws.Run("diff " + ws.a + " " + ws.b + " --stat --format json");
    CFGIT_EXPECT_EXIT(json, 0);
    CHECK(json.out == "{\"from\":\"" + ws.a + "\",\"to\":\"" + ws.b +
                          "\",\"tables\":[{\"name\":\"fields\",\"added\":1,\"deleted\":0,"
                          "\"modified\":0,\"schema_changed\":false,\"table_added\":false,"
                          "\"table_removed\":false},{\"name\":\"roles\",\"added\":1,\"deleted\":"
                          "0,\"modified\":1,\"schema_changed\":false,\"table_added\":false,"
                          "\"table_removed\":false},{\"name\":\"uiSchemaTreePath\",\"added\":0,"
                          "\"deleted\":3,\"modified\":0,\"schema_changed\":false,\"table_added\":"
                          "false,\"table_removed\":false}]}\n");
    // Backwards, the counts swap.
    CHECK(ws.Run("diff " + ws.b + " " + ws.a + " --stat").out ==
          " fields            +0 -1 ~0\n"
          " roles             +0 -1 ~1\n"
          " uiSchemaTreePath  +3 -0 ~0\n");
    CFGIT_EXPECT_EXIT(ws.Run("diff " + ws.a + " " + ws.b + " --stat --format sql"), 2);
  }
  SECTION("--table keeps only the tables named") {
    RunResult one = ws.Run("diff " + ws.a + " " + ws.b + " --table roles");
    CFGIT_EXPECT_EXIT(one, 0);
    CHECK_THAT(one.out,
               Catch::StartsWith("diff " + ws.a + " " + ws.b + "\ntable roles  +1 -0 ~1\n"));
    CHECK_THAT(one.out, !Catch::Contains("table fields") && !Catch::Contains("uiSchemaTreePath"));
    CHECK(ws.Run("diff " + ws.a + " " + ws.b + " --table roles --table fields --stat").out ==
          " fields  +1 -0 ~0\n"
          " roles   +1 -0 ~1\n");
    RunResult json = ws.Run("diff " + ws.a + " " + ws.b + " --table fields --format json");
    CHECK(CountOf(json.out, ",\"schema\":") == 1);
    CHECK_THAT(json.out, Catch::Contains("{\"name\":\"fields\",\"schema\":{},\"added\":[{\"key\":"
                                         "{\"key\":\"f4\"},\"row\":{\"key\":\"f4\",\"name\":"
                                         "\"body\","));
    RunResult sql = ws.Run("diff " + ws.a + " " + ws.b + " --table uiSchemaTreePath --format sql");
    CFGIT_EXPECT_EXIT(sql, 0);
    CHECK(CountOf(sql.out, "DELETE FROM \"uiSchemaTreePath\"") == 3);
    CHECK_THAT(sql.out, !Catch::Contains("roles") && !Catch::Contains("fields"));
    // A table that did not change: no differences.
    RunResult none = ws.Run("diff " + ws.a + " " + ws.b + " --table collections");
    CFGIT_EXPECT_EXIT(none, 0);
    CHECK(none.out == "no differences between " + ws.a + " and " + ws.b + "\n");
    CFGIT_EXPECT_EXIT(ws.Run("diff " + ws.a + " " + ws.b + " --table collections --exit-code"), 0);
  }
  SECTION("--exit-code: 1 with differences, 0 without, no message either way") {
    for (const char* format : {"text", "json", "sql"}) {
      INFO(format);
      RunResult differs = ws.Run("diff " + ws.a + " " + ws.b + " --exit-code --format " + format);
      CFGIT_EXPECT_EXIT(differs, 1);
      CHECK(differs.err == "");
      CHECK(!differs.out.empty());
      RunResult same = ws.Run("diff " + ws.b + " dev --exit-code --format " + format);
      CFGIT_EXPECT_EXIT(same, 0);
      CHECK(same.err == "");
    }
    CHECK(ws.Run("diff " + ws.b + " dev --exit-code").out == "");
    CFGIT_EXPECT_EXIT(ws.Run("diff " + ws.a + " " + ws.b + " --exit-code --stat"), 1);
    CFGIT_EXPECT_EXIT(ws.Run("diff dev --exit-code"), 0);
    Sqlite(ws.Db("dev"), "DELETE FROM roles WHERE name = 'guest';");
    CFGIT_EXPECT_EXIT(ws.Run("diff dev --exit-code"), 1);
    CFGIT_EXPECT_EXIT(ws.Run("diff " + ws.a + " @dev --exit-code --table uiSchemaTreePath"), 1);
    CFGIT_EXPECT_EXIT(ws.Run("diff " + ws.a + " @dev --exit-code --table collections"), 0);
  }
}

TEST_CASE("diff errors: unknown revision or environment, unreadable database", "[cli][diff]") {
  TwoCommits ws;
  SECTION("unknown revision") {
    for (const char* args : {"diff nosuch dev", "diff dev nosuch", "diff nosuch", "diff dev~9"}) {
      INFO(args);
      RunResult r = ws.Run(args);
      CFGIT_EXPECT_EXIT(r, 2);
      CHECK(r.out == "");
      std::string arg = std::string(args).find("nosuch") != std::string::npos ? "nosuch" : "dev~9";
      CHECK_THAT(r.err, Catch::Contains(arg));
    }
  }
  SECTION("unknown @ENV") {
    for (const char* args : {"diff @prod", "diff dev @prod", "diff @prod dev --format json"}) {
      INFO(args);
      RunResult r = ws.Run(args);
      CFGIT_EXPECT_EXIT(r, 2);
      CHECK(r.out == "");
      CHECK_THAT(r.err, Catch::Contains("'prod'"));
    }
  }
  SECTION("missing database file") {
    ws.AddEnv("gone");
    RunResult r = ws.Run("diff dev @gone");
    CHECK(r.exit_code != 0);
    CHECK(r.exit_code == 3);
    CHECK(r.out == "");
    CHECK_THAT(r.err, Catch::Contains("gone"));
    CHECK_THAT(r.err, Catch::Contains(ws.Db("gone")));
    CHECK_FALSE(fs::exists(ws.Db("gone")));
    CHECK(ws.Run("diff @gone").exit_code == 3);
  }
  SECTION("not a database") {
    ws.AddEnv("broken");
    WriteFile(ws.Db("broken"), std::string(4096, 'x'));
    RunResult r = ws.Run("diff dev @broken --format json");
    CHECK(r.exit_code != 0);
    CHECK(r.out == "");
    CHECK_THAT(r.err, Catch::Contains("broken"));
    CHECK(ReadFile(ws.Db("broken")) == std::string(4096, 'x'));
  }
  SECTION("bad options") {
    CFGIT_EXPECT_EXIT(ws.Run("diff"), 2);
    CFGIT_EXPECT_EXIT(ws.Run("diff dev dev --format yaml"), 2);
  }
  CHECK(ws.GitOut("rev-parse dev") == ws.b);
}

}  // namespace
}  // namespace cfgit::test
