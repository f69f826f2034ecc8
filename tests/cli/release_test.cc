// End to end: the release commands — apply, promote, rollback, backups, restore — writing real
// SQLite environments. Every guarantee is checked on the files themselves (sqlite3 .dump, the
// file's bytes, SELECTs) and on the store with stock git (refs, backup commits).
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <thread>

#include "tests/cli/cli_fixture.h"

namespace cfgit::test {
namespace {

namespace fs = std::filesystem;

// dev is where configuration is made; staging and production are protected. logs and audit are
// never versioned (skip), users keeps its rows per environment (schema-only), and collections.sort
// is a runtime value (ignored). `users.roleName` references roles.
struct Setup {
  std::string staging;     // extra settings of staging's entry (", variables: [A]")
  std::string production;  // extra settings of production's entry
  std::string tables;      // extra lines under tables:
  std::string top;         // extra top-level lines (backups:)
  std::string dev_sql;     // run on dev.db before v1 is committed
};

const char* kExtraSchema = R"sql(
CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL UNIQUE,
  roleName TEXT REFERENCES roles(name));
CREATE TABLE logs (id INTEGER PRIMARY KEY, msg TEXT);
INSERT INTO users VALUES (1, 'dev@example.com', 'admin');
INSERT INTO logs VALUES (1, 'dev started');
)sql";

std::string ConfigText(const Setup& s) {
  return "environments:\n"
         "  dev: { url: \"sqlite:dev.db\" }\n"
         "  staging: { url: \"sqlite:staging.db\", protected: true" +
         s.staging +
         " }\n"
         "  production: { url: \"sqlite:production.db\", protected: true" +
         s.production +
         " }\n"
         "tables:\n"
         "  \"*\": { rule: merge }\n"
         "  logs: { rule: skip }\n"
         "  audit: { rule: skip }\n"
         "  users: { rule: schema-only }\n"
         "  collections: { ignore: [sort] }\n" +
         s.tables + s.top;
}

// Runs cfgit as Cfgit does, at another pinned time (backup names are UTC time stamps).
RunResult CfgitAt(const std::string& dir, int64_t time, const std::string& args) {
  return Shell(dir, "CFGIT_TIME=" + std::to_string(time) +
                        " CFGIT_AUTHOR_NAME='Test Author' CFGIT_AUTHOR_EMAIL=test@example.com '" +
                        CFGIT_BINARY + "' " + args);
}

// The workspace: dev committed once as "v1", branch staging made from it. staging.db and
// production.db do not exist yet.
struct Release : Ws {
  std::string v1;
  explicit Release(const Setup& setup = {}) {
    WriteFile(*this / "cfgit.yaml", ConfigText(setup));
    Sqlite(Db("dev"), std::string(kNocoBaseSchema) + kNocoBaseRows + kExtraSchema + setup.dev_sql);
    v1 = Commit("dev", "v1");
    CFGIT_EXPECT_EXIT(Run("branch staging dev"), 0);
  }
  void WriteConfig(const Setup& setup) const { WriteFile(*this / "cfgit.yaml", ConfigText(setup)); }
  // `sqlite3 FILE .dump` (stock shell; it also rolls back a hot journal first).
  std::string Dump(const std::string& env) const {
    RunResult r = Shell(path(), "sqlite3 '" + Db(env) + "' .dump");
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    return r.out;
  }
  std::string Bytes(const std::string& env) const { return ReadFile(Db(env)); }
  // Every ref of the store with its target.
  std::string Refs() const { return GitOut("for-each-ref --format='%(refname) %(objectname)'"); }
  // A ref's commit, or "" when it does not exist.
  std::string Rev(const std::string& ref) const {
    RunResult r = Git("rev-parse --verify -q '" + ref + "^{commit}'");
    return r.exit_code == 0 ? Trim(r.out) : "";
  }
  std::vector<std::string> BackupRefs(const std::string& env) const {
    return Lines(GitOut("for-each-ref --format='%(refname)' refs/cfgit/backups/" + env + "/"));
  }
  // The ref named in "backup of the previous state: REF".
  static std::string BackupNamed(const std::string& out) {
    const std::string marker = "backup of the previous state: ";
    size_t p = out.find(marker);
    if (p == std::string::npos) return "";
    p += marker.size();
    return out.substr(p, out.find('\n', p) - p);
  }
  RunResult At(int64_t time, const std::string& args) const { return CfgitAt(path(), time, args); }
};

// A dump with the INSERT lines of each table sorted: the same rows, whatever their rowid order
// (a row deleted and inserted again comes back with a new rowid, so .dump lists it last).
std::string Canonical(const std::string& dump) {
  std::vector<std::string> lines = Lines(dump);
  for (size_t i = 0; i < lines.size();) {
    size_t j = i;
    while (j < lines.size() && lines[j].rfind("INSERT INTO", 0) == 0) ++j;
    std::sort(lines.begin() + static_cast<long>(i), lines.begin() + static_cast<long>(j));
    i = j == i ? i + 1 : j;
  }
  std::string out;
  for (const std::string& l : lines) out += l + "\n";
  return out;
}

const char* kSchemaQuery =
    "SELECT type, name, tbl_name, sql FROM sqlite_master WHERE tbl_name NOT IN ('logs', 'audit') "
    "ORDER BY name";

// The versioned content of the NocoBase tables (collections without its ignored column).
const std::vector<std::string> kContent = {
    "SELECT key, name, title, inherit, hidden, options, description FROM collections ORDER BY key",
    "SELECT * FROM fields ORDER BY key",
    "SELECT * FROM uiSchemas ORDER BY \"x-uid\"",
    "SELECT * FROM roles ORDER BY name",
    "SELECT * FROM uiSchemaTreePath ORDER BY ancestor, descendant, depth",
};

void CheckSameContent(const Ws& ws, const std::string& a, const std::string& b) {
  for (const std::string& q : kContent) {
    INFO(q);
    CHECK(SqliteRows(ws.Db(b), q) == SqliteRows(ws.Db(a), q));
  }
}

// A mix of changes on dev: updates (one in an ignored column only), an insert, a keyless delete.
const char* kV2 =
    "UPDATE roles SET title = 'Members' WHERE name = 'member';"
    "UPDATE collections SET title = 'Articles', description = 'Long reads', sort = 99 "
    "WHERE key = 'c2';"
    "UPDATE collections SET sort = 42 WHERE key = 'c1';"
    "INSERT INTO fields VALUES ('f4', 'body', 'text', 'markdown', 'posts', NULL, NULL, '{}', 2);"
    "DELETE FROM uiSchemaTreePath WHERE ancestor = 'nocobase-admin-menu' "
    "AND descendant = 'q8xgrid0';";

TEST_CASE("apply into a missing database creates the tables with their constraints and fills them",
          "[cli][release]") {
  Release ws({.dev_sql = "CREATE TABLE menus (id INTEGER PRIMARY KEY AUTOINCREMENT, title TEXT);"
                         "INSERT INTO menus VALUES (3, 'Home'), (7, 'Settings');"});
  REQUIRE(!fs::exists(ws.Db("staging")));
  RunResult r = ws.Run("apply staging");
  CFGIT_EXPECT_EXIT(r, 0);
  std::string id = ws.v1.substr(0, 10);
  CHECK_THAT(r.out, Catch::StartsWith("wrote staging (" + id + ") to staging:\n"));
  CHECK_THAT(r.out, Catch::Contains(" roles  create, +3 -0 ~0\n"));
  CHECK_THAT(r.out, Catch::Contains(" uiSchemaTreePath  create, +6 -0 ~0\n"));
  CHECK_THAT(r.out, Catch::Contains(" users  create, +0 -0 ~0\n"));
  REQUIRE(fs::exists(ws.Db("staging")));

  // The same tables, indexes and definitions as dev (logs is skip: not created).
  CHECK(SqliteRows(ws.Db("staging"), kSchemaQuery) == SqliteRows(ws.Db("dev"), kSchemaQuery));
  CHECK(SqliteRows(ws.Db("staging"), "SELECT name FROM sqlite_master WHERE name = 'logs'").empty());
  for (const char* pragma : {"PRAGMA foreign_key_list(fields)", "PRAGMA foreign_key_list(users)",
                             "PRAGMA index_list(fields)", "PRAGMA index_list(collections)",
                             "PRAGMA table_info(roles)"}) {
    INFO(pragma);
    CHECK(SqliteRows(ws.Db("staging"), pragma) == SqliteRows(ws.Db("dev"), pragma));
  }
  // Filled: every versioned row; the ignored column and the schema-only table are left empty.
  CheckSameContent(ws, "dev", "staging");
  CHECK(SqliteRows(ws.Db("staging"), "SELECT * FROM menus ORDER BY id") ==
        std::vector<std::string>{"3|Home", "7|Settings"});
  CHECK(SqliteRows(ws.Db("staging"), "SELECT count(*) FROM collections WHERE sort IS NULL") ==
        std::vector<std::string>{"2"});
  CHECK(SqliteRows(ws.Db("staging"), "SELECT count(*) FROM users") ==
        std::vector<std::string>{"0"});
  CHECK(SqliteRows(ws.Db("staging"), "PRAGMA integrity_check") == std::vector<std::string>{"ok"});

  // The constraints hold: primary key, UNIQUE, FOREIGN KEY (with foreign_keys on), and the
  // autoincrement counter is past the largest id written.
  RunResult pk =
      Shell(ws.path(), "sqlite3 staging.db \"INSERT INTO roles (name) VALUES ('root')\"");
  CHECK(pk.exit_code != 0);
  CHECK_THAT(pk.err, Catch::Contains("UNIQUE constraint failed: roles.name"));
  RunResult unique =
      Shell(ws.path(),
            "sqlite3 staging.db \"INSERT INTO collections (key, name) VALUES ('c9', 'users')\"");
  CHECK(unique.exit_code != 0);
  CHECK_THAT(unique.err, Catch::Contains("UNIQUE constraint failed: collections.name"));
  RunResult fk = Shell(ws.path(),
                       "sqlite3 staging.db \"PRAGMA foreign_keys = ON; INSERT INTO fields (key, "
                       "name, collectionName) VALUES ('f9', 'x', 'nope')\"");
  CHECK(fk.exit_code != 0);
  CHECK_THAT(fk.err, Catch::Contains("FOREIGN KEY constraint failed"));
  Sqlite(ws.Db("staging"), "INSERT INTO menus (title) VALUES ('New');");
  CHECK(SqliteRows(ws.Db("staging"), "SELECT id FROM menus WHERE title = 'New'") ==
        std::vector<std::string>{"8"});

  // Recorded as deployed; the branch did not move; a backup of the (empty) previous state.
  CHECK(ws.Rev("refs/cfgit/deployed/staging") == ws.v1);
  CHECK(ws.Rev("refs/heads/staging") == ws.v1);
  CHECK(ws.BackupRefs("staging") ==
        std::vector<std::string>{"refs/cfgit/backups/staging/20231114T221320Z"});
  CHECK(Release::BackupNamed(r.out) == "refs/cfgit/backups/staging/20231114T221320Z");
}

TEST_CASE("apply twice: the second writes nothing and leaves the file's bytes unchanged",
          "[cli][release]") {
  Release ws;
  CFGIT_EXPECT_EXIT(ws.Run("apply staging"), 0);
  std::string bytes = ws.Bytes("staging");
  std::string refs = ws.Refs();
  std::string id = ws.v1.substr(0, 10);
  RunResult again = ws.Run("apply staging");
  CFGIT_EXPECT_EXIT(again, 0);
  CHECK(again.out == "nothing to write: staging already equals staging (" + id + ")\n");
  CHECK(again.err == "");
  RunResult by_id = ws.Run("apply staging " + ws.v1);
  CFGIT_EXPECT_EXIT(by_id, 0);
  CHECK(by_id.out == "nothing to write: staging already equals " + ws.v1 + " (" + id + ")\n");
  RunResult json = ws.Run("apply staging --format json");
  CFGIT_EXPECT_EXIT(json, 0);
  CHECK(json.out == "{\"environment\":\"staging\",\"revision\":\"" + ws.v1 +
                        "\",\"dry_run\":false,\"changed\":false,\"backup\":null,"
                        "\"drift_overwritten\":[]}\n");
  CHECK(ws.Bytes("staging") == bytes);
  CHECK(ws.Refs() == refs);  // no backup, nothing moved
}

TEST_CASE("apply writes only the difference", "[cli][release]") {
  Release ws;
  CFGIT_EXPECT_EXIT(ws.Run("apply staging"), 0);
  // Live-only state that a rewrite would lose: rowids (not content: the tables have other keys)
  // moved away from what an insert would give, and values of the ignored column.
  Sqlite(ws.Db("staging"),
         "UPDATE roles SET rowid = rowid + 1000; UPDATE uiSchemaTreePath SET rowid = rowid + 1000;"
         "UPDATE collections SET rowid = rowid + 1000;"
         "UPDATE collections SET sort = 11 WHERE key = 'c1';"
         "UPDATE collections SET sort = 22 WHERE key = 'c2';");
  // Every statement that reaches a table is logged into audit (a skip table): each INSERT, each
  // DELETE, and each column named in the SET list of an UPDATE (UPDATE OF fires on that alone).
  struct Audited {
    const char* table;
    const char* row;  // the row's key, from NEW/OLD
  };
  std::string triggers = "CREATE TABLE audit (tbl TEXT, op TEXT, row TEXT);";
  int n = 0;
  for (Audited a : {Audited{"collections", "R.\"key\""},
                    {"fields", "R.\"key\""},
                    {"roles", "R.name"},
                    {"uiSchemas", "R.\"x-uid\""},
                    {"uiSchemaTreePath", "R.ancestor || '>' || R.descendant"}}) {
    auto row = [&](const std::string& r) {
      std::string e = a.row;
      for (size_t p; (p = e.find("R.")) != std::string::npos;) e.replace(p, 2, r + ".");
      return e;
    };
    std::string t = a.table;
    triggers += "CREATE TRIGGER a" + std::to_string(++n) + " AFTER INSERT ON \"" + t +
                "\" BEGIN INSERT INTO audit VALUES ('" + t + "', 'insert', " + row("NEW") +
                "); END;";
    triggers += "CREATE TRIGGER a" + std::to_string(++n) + " AFTER DELETE ON \"" + t +
                "\" BEGIN INSERT INTO audit VALUES ('" + t + "', 'delete', " + row("OLD") +
                "); END;";
    for (const std::string& c :
         SqliteRows(ws.Db("staging"), "SELECT name FROM pragma_table_info('" + t + "')")) {
      triggers += "CREATE TRIGGER a" + std::to_string(++n) + " AFTER UPDATE OF \"" + c +
                  "\" ON \"" + t + "\" BEGIN INSERT INTO audit VALUES ('" + t + "', 'set " + c +
                  "', " + row("NEW") + "); END;";
    }
  }
  Sqlite(ws.Db("staging"), triggers);
  const char* rowids =
      "SELECT 'roles', rowid, name FROM roles UNION ALL "
      "SELECT 'tree', rowid, ancestor || '>' || descendant FROM uiSchemaTreePath UNION ALL "
      "SELECT 'collections', rowid, key FROM collections ORDER BY 1, 2";
  std::vector<std::string> before = SqliteRows(ws.Db("staging"), rowids);

  Sqlite(ws.Db("dev"), kV2);
  std::string v2 = ws.Commit("dev", "v2");
  std::filesystem::remove(ws / ".cfgit/cfgit/fingerprints/staging");
  std::filesystem::remove(ws / ".cfgit/cfgit/fingerprints/staging%40backup");
  RunResult r = ws.Run("apply staging dev");
  CFGIT_EXPECT_EXIT(r, 0);
  CHECK_THAT(r.out, Catch::Contains(" collections  +0 -0 ~1\n"));
  CHECK_THAT(r.out, Catch::Contains(" fields  +1 -0 ~0\n"));
  CHECK_THAT(r.out, Catch::Contains(" roles  +0 -0 ~1\n"));
  CHECK_THAT(r.out, Catch::Contains(" uiSchemaTreePath  +0 -1 ~0\n"));
  CHECK_THAT(r.out, !Catch::Contains(" uiSchemas "));

  // Exactly the difference: the changed columns of the changed rows, one insert, one delete.
  CHECK(SqliteRows(ws.Db("staging"), "SELECT * FROM audit ORDER BY 1, 2, 3") ==
        std::vector<std::string>{"collections|set description|c2", "collections|set title|c2",
                                 "fields|insert|f4", "roles|set title|member",
                                 "uiSchemaTreePath|delete|nocobase-admin-menu>q8xgrid0"});
  // The other rows are the same rows (rowids kept), the ignored column kept its live values.
  std::vector<std::string> after = SqliteRows(ws.Db("staging"), rowids);
  std::vector<std::string> expected;
  for (const std::string& row : before) {
    if (row.rfind("tree|", 0) == 0 && Catch::endsWith(row, "|nocobase-admin-menu>q8xgrid0"))
      continue;
    expected.push_back(row);
  }
  CHECK(expected.size() + 1 == before.size());
  CHECK(after == expected);
  CHECK(SqliteRows(ws.Db("staging"), "SELECT key, title, sort FROM collections ORDER BY key") ==
        std::vector<std::string>{"c1|{{t(\"Users\")}}|11", "c2|Articles|22"});
  CheckSameContent(ws, "dev", "staging");
  CFGIT_EXPECT_EXIT(ws.Run("diff dev @staging --exit-code"), 0);
  CHECK(ws.Rev("refs/cfgit/deployed/staging") == v2);
  CHECK(ws.Rev("refs/heads/staging") == v2);  // an explicit REV moves the branch
  // The read of staging before the write leaves its fingerprint memo (and the backup its own),
  // so the next deploy does not encode unchanged rows again.
  CHECK(std::filesystem::exists(ws / ".cfgit/cfgit/fingerprints/staging"));
  CHECK(std::filesystem::exists(ws / ".cfgit/cfgit/fingerprints/staging%40backup"));
}

TEST_CASE("drift in a protected environment is refused untouched - --force backs it up",
          "[cli][release]") {
  Release ws;
  CFGIT_EXPECT_EXIT(ws.Run("apply staging"), 0);
  Sqlite(ws.Db("staging"), "UPDATE collections SET sort = 22 WHERE key = 'c2';");  // not drift
  Sqlite(ws.Db("dev"), "UPDATE roles SET title = 'Administrators' WHERE name = 'admin';");
  std::string v2 = ws.Commit("dev", "v2");
  // Someone edits the protected database by hand.
  Sqlite(ws.Db("staging"),
         "UPDATE collections SET title = 'Hand edit' WHERE key = 'c2';"
         "DELETE FROM roles WHERE name = 'member';");
  std::string bytes = ws.Bytes("staging");
  std::string dump = ws.Dump("staging");
  std::string refs = ws.Refs();

  for (const char* command : {"apply staging dev", "apply staging", "promote dev staging"}) {
    INFO(command);
    RunResult refused = ws.Run(command);
    CFGIT_EXPECT_EXIT(refused, 1);
    CHECK_THAT(refused.err,
               Catch::StartsWith("cfgit: staging is protected and its database has drifted from "
                                 "what cfgit last wrote (" +
                                 ws.v1.substr(0, 10) + "):\n"));
    CHECK_THAT(refused.err, Catch::Contains(" collections  +0 -0 ~1\n"));
    CHECK_THAT(refused.err, Catch::Contains(" roles        +0 -1 ~0\n"));
    CHECK_THAT(refused.err, Catch::Contains("--force backs the drift up and overwrites it"));
    CHECK(refused.out == "");
    CHECK(ws.Bytes("staging") == bytes);
    CHECK(ws.Dump("staging") == dump);
    CHECK(ws.Refs() == refs);  // no branch move, no deployed move, no backup
  }

  RunResult forced = ws.At(1700000060, "apply staging dev --force");
  CFGIT_EXPECT_EXIT(forced, 0);
  CHECK_THAT(forced.out, Catch::StartsWith("overwrote drift in staging (kept in the backup):\n"
                                           " collections  +0 -0 ~1\n"
                                           " roles        +0 -1 ~0\n"
                                           "wrote dev (" +
                                           v2.substr(0, 10) + ") to staging:\n"));
  std::string backup = Release::BackupNamed(forced.out);
  CHECK(backup == "refs/cfgit/backups/staging/20231114T221420Z");
  REQUIRE(ws.Rev(backup) != "");
  // The backup holds the drifted rows, the ignored column too.
  CHECK(ws.GitOut("log -1 --format=%s " + backup) ==
        "backup of staging before apply of dev (" + v2.substr(0, 10) + ")");
  std::string c2 = ws.GitOut("grep -h -e '' " + backup + " -- 'tables/collections/rows/*/c2.yaml'");
  CHECK_THAT(c2, Catch::Contains("title: 'Hand edit'\n"));
  CHECK_THAT(c2, Catch::Contains("sort: 22"));
  CHECK(ws.RowFiles(backup, "roles").size() == 2);  // member was deleted by hand
  // Overwritten: staging holds v2 again; the ignored column is left as it was.
  CheckSameContent(ws, "dev", "staging");
  CFGIT_EXPECT_EXIT(ws.Run("diff dev @staging --exit-code"), 0);
  CHECK(SqliteRows(ws.Db("staging"), "SELECT sort FROM collections WHERE key = 'c2'") ==
        std::vector<std::string>{"22"});
  CHECK(ws.Rev("refs/cfgit/deployed/staging") == v2);
  CHECK(ws.Rev("refs/heads/staging") == v2);
}

TEST_CASE("status of a protected environment shows its deployed commit, pending commits, drift",
          "[cli][release]") {
  Release ws;
  CFGIT_EXPECT_EXIT(ws.Run("apply staging"), 0);
  std::string id = ws.v1.substr(0, 10);
  RunResult clean = ws.Run("status staging");
  CFGIT_EXPECT_EXIT(clean, 0);
  CHECK(clean.out ==
        "staging (protected)\n"
        "  branch:   " +
            id +
            " v1\n"
            "  deployed: " +
            id +
            " v1\n"
            "  live:     same as the deployed commit\n");
  // A merge moves the branch ahead; staging still runs v1.
  Sqlite(ws.Db("dev"), "UPDATE roles SET title = 'Administrators' WHERE name = 'admin';");
  std::string v2 = ws.Commit("dev", "v2");
  CFGIT_EXPECT_EXIT(ws.Run("merge dev --into staging"), 0);
  REQUIRE(ws.Rev("refs/heads/staging") == v2);
  REQUIRE(ws.Rev("refs/cfgit/deployed/staging") == ws.v1);
  Sqlite(ws.Db("staging"), "UPDATE collections SET title = 'Hand edit' WHERE key = 'c2';");
  RunResult drift = ws.Run("status staging");
  CFGIT_EXPECT_EXIT(drift, 0);
  CHECK_THAT(drift.out, Catch::Contains("  branch:   " + v2.substr(0, 10) + " v2\n"));
  CHECK_THAT(drift.out, Catch::Contains("  deployed: " + id + " v1\n"));
  CHECK_THAT(drift.out, Catch::Contains("1 commit") && Catch::Contains("not deployed"));
  CHECK_THAT(drift.out,
             Catch::Contains("  live:     DRIFT: the protected database was changed outside cfgit\n"
                             "            collections  +0 -0 ~1\n"));
  RunResult json = ws.Run("status staging --format json");
  CFGIT_EXPECT_EXIT(json, 0);
  CHECK_THAT(json.out, Catch::Contains("\"head\":\"" + v2 + "\",\"deployed\":\"" + ws.v1 + "\""));
  CHECK_THAT(json.out, Catch::Contains("\"compared_with\":\"deployed\",\"drifted\":true"));
  // apply (the branch head) is refused on that drift.
  CFGIT_EXPECT_EXIT(ws.Run("apply staging"), 1);
}

TEST_CASE("{{$env.NAME}} the target does not define is refused - variables: defines them",
          "[cli][release]") {
  Release ws;
  CFGIT_EXPECT_EXIT(ws.Run("apply staging"), 0);
  Sqlite(ws.Db("dev"),
         "UPDATE collections SET options = '{\"url\":\"{{$env.API_URL}}/users\"}' "
         "WHERE key = 'c1';"
         "INSERT INTO roles (name, title) VALUES ('mailer', 'Mail via {{ $env.SMTP_HOST }}');");
  std::string v2 = ws.Commit("dev", "v2");
  std::string bytes = ws.Bytes("staging");
  std::string refs = ws.Refs();

  RunResult none = ws.Run("apply staging dev");
  CFGIT_EXPECT_EXIT(none, 1);
  CHECK_THAT(none.err, Catch::Contains("use environment variables it does not define:\n"
                                       "  {{$env.API_URL}} (in collections)\n"
                                       "  {{$env.SMTP_HOST}} (in roles)\n"
                                       "nothing was written"));
  CHECK(ws.Bytes("staging") == bytes);
  CHECK(ws.Refs() == refs);

  ws.WriteConfig({.staging = ", variables: [API_URL]"});
  RunResult one = ws.Run("apply staging dev");
  CFGIT_EXPECT_EXIT(one, 1);
  CHECK_THAT(one.err, Catch::Contains("  {{$env.SMTP_HOST}} (in roles)\n"));
  CHECK_THAT(one.err, !Catch::Contains("API_URL"));
  CHECK(ws.Bytes("staging") == bytes);
  CHECK(ws.Refs() == refs);

  ws.WriteConfig({.staging = ", variables: [API_URL, SMTP_HOST]"});
  RunResult both = ws.Run("apply staging dev");
  CFGIT_EXPECT_EXIT(both, 0);
  // The placeholders are written as they are: the application resolves them.
  CHECK(SqliteRows(ws.Db("staging"), "SELECT title FROM roles WHERE name = 'mailer'") ==
        std::vector<std::string>{"Mail via {{ $env.SMTP_HOST }}"});
  CHECK(ws.Rev("refs/cfgit/deployed/staging") == v2);
}

TEST_CASE("{{$env.NAME}} defined by variables_from: a table and column of the target database",
          "[cli][release]") {
  Setup setup{.production = ", variables_from: environmentVariables.name",
              .tables = "  environmentVariables: { rule: skip }\n"};
  Release ws(setup);
  Sqlite(ws.Db("dev"),
         "UPDATE collections SET options = '{\"url\":\"{{$env.API_URL}}\"}' WHERE key = 'c1';"
         "UPDATE roles SET description = '{{$env.SMTP_HOST}}' WHERE name = 'admin';");
  std::string v2 = ws.Commit("dev", "v2");
  // production's own variables live in its database (a table cfgit never versions).
  Sqlite(ws.Db("production"),
         "CREATE TABLE environmentVariables (name TEXT PRIMARY KEY, value TEXT);"
         "INSERT INTO environmentVariables VALUES ('API_URL', 'https://api.example.com');");
  std::string bytes = ws.Bytes("production");
  // collections and roles are created in production: their rows are streamed from the store and
  // checked as read, by a dry run (plain or as SQL) as by the write itself.
  for (const char* dry :
       {"apply production dev --dry-run", "apply production dev --dry-run --format sql"}) {
    INFO(dry);
    RunResult plan = ws.Run(dry);
    CFGIT_EXPECT_EXIT(plan, 1);
    CHECK_THAT(plan.err, Catch::Contains("does not define:\n  {{$env.SMTP_HOST}} (in roles)\n"));
    CHECK(ws.Bytes("production") == bytes);
  }
  RunResult missing = ws.Run("apply production dev");
  CFGIT_EXPECT_EXIT(missing, 1);
  CHECK_THAT(missing.err, Catch::Contains("does not define:\n  {{$env.SMTP_HOST}} (in roles)\n"));
  CHECK_THAT(missing.err, !Catch::Contains("API_URL"));
  CHECK_THAT(missing.err, Catch::Contains("nothing was changed"));
  CHECK(ws.Bytes("production") == bytes);
  CHECK(ws.Rev("refs/heads/production") == "");
  CHECK(ws.Rev("refs/cfgit/deployed/production") == "");

  Sqlite(ws.Db("production"),
         "INSERT INTO environmentVariables VALUES ('SMTP_HOST', 'smtp.example.com');");
  RunResult ok = ws.Run("apply production dev");
  CFGIT_EXPECT_EXIT(ok, 0);
  CheckSameContent(ws, "dev", "production");
  CHECK(SqliteRows(ws.Db("production"), "SELECT name FROM environmentVariables ORDER BY name") ==
        std::vector<std::string>{"API_URL", "SMTP_HOST"});
  CHECK(ws.Rev("refs/heads/production") == v2);
  CHECK(ws.Rev("refs/cfgit/deployed/production") == v2);
}

TEST_CASE("skip tables, the rows of schema-only tables and ignored columns are never written",
          "[cli][release]") {
  Release ws;
  CFGIT_EXPECT_EXIT(ws.Run("apply staging"), 0);
  // staging's own rows: users (schema-only), logs (skip, created by hand), collections.sort.
  Sqlite(ws.Db("staging"),
         "INSERT INTO users VALUES (1, 'ops@example.com', 'member'), (5, 'qa@example.com', NULL);"
         "CREATE TABLE logs (id INTEGER PRIMARY KEY, msg TEXT, at TEXT);"
         "INSERT INTO logs VALUES (1, 'staging started', '2024-01-01');"
         "UPDATE collections SET sort = 11 WHERE key = 'c1';");
  const char* untouched =
      "SELECT 'users', * FROM users UNION ALL SELECT 'logs', id, msg, at FROM logs "
      "UNION ALL SELECT 'sort', key, sort, NULL FROM collections ORDER BY 1, 2";
  std::vector<std::string> before = SqliteRows(ws.Db("staging"), untouched);
  // dev changes all three, and one versioned value.
  Sqlite(ws.Db("dev"),
         "UPDATE users SET email = 'root@example.com' WHERE id = 1;"
         "INSERT INTO users VALUES (2, 'dev2@example.com', 'member');"
         "INSERT INTO logs VALUES (2, 'dev again');"
         "UPDATE collections SET sort = 5, title = 'People' WHERE key = 'c1';");
  std::string v2 = ws.Commit("dev", "v2");
  RunResult r = ws.Run("apply staging dev");
  CFGIT_EXPECT_EXIT(r, 0);
  CHECK_THAT(r.out, Catch::Contains(" collections  +0 -0 ~1\n"));
  CHECK_THAT(r.out, !Catch::Contains(" users ") && !Catch::Contains(" logs "));
  CHECK(SqliteRows(ws.Db("staging"), untouched) == before);
  CHECK(SqliteRows(ws.Db("staging"), "SELECT title FROM collections WHERE key = 'c1'") ==
        std::vector<std::string>{"People"});
  CHECK(ws.Rev("refs/cfgit/deployed/staging") == v2);
}

TEST_CASE("a schema change keeps the rows of schema-only tables and the ignored columns",
          "[cli][release]") {
  // SQLite rebuilds a table whose structure changes; the rebuilt table gets the snapshot's rows,
  // which have neither the schema-only table's rows nor the ignored columns' values.
  Release ws;
  CFGIT_EXPECT_EXIT(ws.Run("apply staging"), 0);
  Sqlite(ws.Db("staging"),
         "INSERT INTO users VALUES (1, 'ops@example.com', 'member');"
         "UPDATE collections SET sort = 11 WHERE key = 'c1';"
         "UPDATE collections SET sort = 22 WHERE key = 'c2';");
  Sqlite(ws.Db("dev"),
         "ALTER TABLE users ADD COLUMN nickname TEXT;"
         "ALTER TABLE collections ADD COLUMN icon TEXT;"
         "UPDATE collections SET icon = 'user' WHERE key = 'c1';");
  std::string v2 = ws.Commit("dev", "v2");
  // The printed script does what the apply does (run by the stock shell on a copy).
  fs::copy_file(ws.Db("staging"), ws / "copy.db");
  RunResult sql = ws.Run("apply staging dev --dry-run --format sql");
  CFGIT_EXPECT_EXIT(sql, 0);
  WriteFile(ws / "plan.sql", sql.out);
  CFGIT_EXPECT_EXIT(Shell(ws.path(), "sqlite3 -bail copy.db < plan.sql"), 0);
  RunResult r = ws.Run("apply staging dev");
  CFGIT_EXPECT_EXIT(r, 0);
  CHECK_THAT(r.out, Catch::Contains(" users  rebuild, +0 -0 ~0\n"));
  CHECK_THAT(r.out, Catch::Contains(" collections  rebuild, +2 -0 ~0\n"));
  CHECK(Canonical(ws.Dump("copy")) == Canonical(ws.Dump("staging")));
  CHECK(SqliteRows(ws.Db("staging"), "SELECT * FROM users") ==
        std::vector<std::string>{"1|ops@example.com|member|NULL"});
  CHECK(SqliteRows(ws.Db("staging"), "SELECT key, sort, icon FROM collections ORDER BY key") ==
        std::vector<std::string>{"c1|11|user", "c2|22|NULL"});
  CHECK(SqliteRows(ws.Db("staging"), kSchemaQuery) == SqliteRows(ws.Db("dev"), kSchemaQuery));
}

TEST_CASE("foreign keys: parents and children inserted, moved and deleted in one apply",
          "[cli][release]") {
  Release ws;
  CFGIT_EXPECT_EXIT(ws.Run("apply staging"), 0);
  // dev, with foreign keys enforced: a new collection with fields, a field moved to it, and the
  // collection it left deleted (ON DELETE CASCADE would take the moved field along if the
  // delete ran first with foreign keys on).
  Sqlite(ws.Db("dev"),
         "PRAGMA foreign_keys = ON;"
         "INSERT INTO collections VALUES ('c3', 'tags', 'Tags', 0, 0, NULL, NULL, 3);"
         "INSERT INTO fields VALUES ('f5', 'label', 'string', 'input', 'tags', NULL, NULL, "
         "'{}', 2);"
         "UPDATE fields SET collectionName = 'tags' WHERE key = 'f3';"
         "DELETE FROM collections WHERE key = 'c2';");
  REQUIRE(SqliteRows(ws.Db("dev"), "PRAGMA foreign_key_check").empty());
  std::string v2 = ws.Commit("dev", "v2");
  RunResult r = ws.Run("apply staging dev");
  CFGIT_EXPECT_EXIT(r, 0);
  CHECK_THAT(r.out, Catch::Contains(" collections  +1 -1 ~0\n"));
  CHECK_THAT(r.out, Catch::Contains(" fields  +1 -0 ~1\n"));
  CheckSameContent(ws, "dev", "staging");
  auto fk_check = [&] {
    RunResult c = Shell(ws.path(),
                        "sqlite3 staging.db 'PRAGMA foreign_keys = ON; PRAGMA foreign_key_check; "
                        "PRAGMA integrity_check;'");
    CFGIT_EXPECT_EXIT(c, 0);
    CHECK(c.out == "ok\n");
  };
  fk_check();
  CHECK(SqliteRows(ws.Db("staging"),
                   "SELECT key FROM fields WHERE collectionName = 'tags' "
                   "ORDER BY key") == std::vector<std::string>{"f3", "f5"});

  // Parent and children deleted together, another parent and child inserted together.
  Sqlite(ws.Db("dev"),
         "PRAGMA foreign_keys = ON;"
         "DELETE FROM fields WHERE collectionName = 'tags'; DELETE FROM collections WHERE "
         "key = 'c3';"
         "INSERT INTO collections VALUES ('c4', 'files', 'Files', 0, 0, NULL, NULL, 4);"
         "INSERT INTO fields VALUES ('f6', 'path', 'string', 'input', 'files', NULL, NULL, "
         "'{}', 1);");
  std::string v3 = ws.Commit("dev", "v3");
  RunResult r3 = ws.Run("apply staging dev");
  CFGIT_EXPECT_EXIT(r3, 0);
  CHECK_THAT(r3.out, Catch::Contains(" collections  +1 -1 ~0\n"));
  CHECK_THAT(r3.out, Catch::Contains(" fields  +1 -2 ~0\n"));
  CheckSameContent(ws, "dev", "staging");
  fk_check();
  CHECK(ws.Rev("refs/cfgit/deployed/staging") == v3);

  // And back to v1 in one apply (parents re-inserted, children moved back).
  CFGIT_EXPECT_EXIT(ws.Run("apply staging " + ws.v1), 0);
  fk_check();
  CFGIT_EXPECT_EXIT(ws.Run("diff " + ws.v1 + " @staging --exit-code"), 0);
}

TEST_CASE("an apply that fails writes nothing and moves no ref", "[cli][release]") {
  Release ws;
  CFGIT_EXPECT_EXIT(ws.Run("apply staging"), 0);
  std::string before_backups = ws.GitOut("for-each-ref refs/cfgit/backups/");

  SECTION("a foreign key of the target's own rows (schema-only users) would break") {
    Sqlite(ws.Db("staging"), "INSERT INTO users VALUES (1, 'ops@example.com', 'member');");
    Sqlite(ws.Db("dev"),
           "UPDATE roles SET title = 'Administrators' WHERE name = 'admin';"
           "DELETE FROM roles WHERE name = 'member';");
    ws.Commit("dev", "v2");
    std::string dump = ws.Dump("staging");
    std::string bytes = ws.Bytes("staging");
    RunResult r = ws.Run("apply staging dev");
    CFGIT_EXPECT_EXIT(r, 3);
    CHECK_THAT(r.err, Catch::Contains("FOREIGN KEY constraint failed"));
    CHECK_THAT(r.err, Catch::Contains("table 'users'"));
    CHECK(ws.Dump("staging") == dump);
    CHECK(ws.Bytes("staging") == bytes);
    CHECK(ws.Rev("refs/cfgit/deployed/staging") == ws.v1);
    CHECK(ws.Rev("refs/heads/staging") == ws.v1);

    // promote moves the branch first; it goes back, and no tag is made.
    RunResult p = ws.Run("promote dev staging --tag v2");
    CFGIT_EXPECT_EXIT(p, 3);
    CHECK(ws.Dump("staging") == dump);
    CHECK(ws.Rev("refs/heads/staging") == ws.v1);
    CHECK(ws.Rev("refs/cfgit/deployed/staging") == ws.v1);
    CHECK(ws.Rev("refs/tags/v2") == "");
  }
  SECTION("a statement in the middle of the batch fails (a trigger of the target refuses it)") {
    Sqlite(ws.Db("staging"),
           "CREATE TRIGGER refuse_f4 BEFORE INSERT ON fields WHEN NEW.key = 'f4' "
           "BEGIN SELECT RAISE(ABORT, 'f4 refused by a trigger'); END;");
    Sqlite(ws.Db("dev"), kV2);
    ws.Commit("dev", "v2");
    std::string dump = ws.Dump("staging");
    std::string bytes = ws.Bytes("staging");
    RunResult r = ws.Run("apply staging dev");
    CFGIT_EXPECT_EXIT(r, 3);
    CHECK_THAT(r.err, Catch::Contains("f4 refused by a trigger"));
    CHECK_THAT(r.err, Catch::Contains("nothing was changed"));
    CHECK(ws.Dump("staging") == dump);
    CHECK(ws.Bytes("staging") == bytes);
    CHECK(ws.Rev("refs/cfgit/deployed/staging") == ws.v1);
    CHECK(ws.Rev("refs/heads/staging") == ws.v1);
    // Once the obstacle is gone the same apply goes through.
    Sqlite(ws.Db("staging"), "DROP TRIGGER refuse_f4;");
    CFGIT_EXPECT_EXIT(ws.Run("apply staging dev"), 0);
    CheckSameContent(ws, "dev", "staging");
  }
}

// Starts cfgit in the background in `dir` (the pid is cfgit's own: sh execs it).
pid_t Start(const std::string& dir, const std::string& args) {
  std::string line = "cd '" + dir +
                     "' && exec env CFGIT_TIME=1700000000 CFGIT_AUTHOR_NAME='Test Author' "
                     "CFGIT_AUTHOR_EMAIL=test@example.com '" CFGIT_BINARY "' " +
                     args + " >bg.out 2>bg.err </dev/null";
  pid_t pid = fork();
  if (pid == 0) {
    execl("/bin/sh", "sh", "-c", line.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  return pid;
}

TEST_CASE("an apply killed with SIGKILL in the middle of its write leaves the database as it was",
          "[cli][release]") {
  Release ws;
  Sqlite(ws.Db("dev"),
         "CREATE TABLE big (id INTEGER PRIMARY KEY, name TEXT NOT NULL, payload TEXT);"
         "INSERT INTO big VALUES (1, 'one', 'small'), (2, 'two', 'small');");
  std::string small = ws.Commit("dev", "small");
  CFGIT_EXPECT_EXIT(ws.Run("apply staging dev"), 0);
  // A change large enough that the write transaction spills pages into the database file
  // before it commits: 10 MB of new rows (5 times SQLite's default 2 MB page cache), plus an
  // update and a delete. Few wide rows rather than many narrow ones: under ASan, commit and
  // apply cost about 0.5 ms per row, whatever its width.
  Sqlite(ws.Db("dev"),
         "WITH RECURSIVE n(i) AS (SELECT 3 UNION ALL SELECT i + 1 FROM n WHERE i < 5002) "
         "INSERT INTO big SELECT i, 'row ' || i, printf('%02000d', i) FROM n;"
         "UPDATE big SET payload = 'changed' WHERE id = 1; DELETE FROM big WHERE id = 2;"
         "UPDATE roles SET title = 'Administrators' WHERE name = 'admin';");
  std::string large = ws.Commit("dev", "large");
  const std::string journal = ws.Db("staging") + "-journal";
  const std::string dump = ws.Dump("staging");
  const std::string bytes = ws.Bytes("staging");
  const auto size = fs::file_size(ws.Db("staging"));
  REQUIRE(!fs::exists(journal));

  // Kill cfgit well inside its write transaction: the journal exists and SQLite has already
  // written 2 MB (a fifth of the change) into the database file itself. Should the apply finish
  // first, it is undone and tried again; only a kill that left a hot journal behind counts.
  bool killed_mid_write = false;
  for (int attempt = 0; attempt < 5 && !killed_mid_write; ++attempt) {
    pid_t pid = Start(ws.path(), "apply staging dev");
    REQUIRE(pid > 0);
    int status = 0;
    bool exited = false;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
    while (true) {
      std::error_code ec;
      if (fs::exists(journal, ec) && fs::file_size(ws.Db("staging"), ec) > size + (2 << 20)) {
        ::kill(pid, SIGKILL);
        break;
      }
      if (::waitpid(pid, &status, WNOHANG) == pid) {
        exited = true;
        break;
      }
      if (std::chrono::steady_clock::now() > deadline) {
        ::kill(pid, SIGKILL);
        ::waitpid(pid, &status, 0);
        FAIL("apply neither wrote nor finished within 120 s");
      }
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    if (!exited) REQUIRE(::waitpid(pid, &status, 0) == pid);
    killed_mid_write = WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL && fs::exists(journal);
    if (!killed_mid_write) {
      // It finished (or committed just before the kill): put the old state back, try again.
      INFO("attempt " << attempt << ": " << ReadFile(ws / "bg.out") << ReadFile(ws / "bg.err"));
      fs::remove(journal);
      WriteFile(ws.Db("staging"), bytes);
      CFGIT_EXPECT_EXIT(ws.Git("update-ref refs/cfgit/deployed/staging " + small), 0);
      CFGIT_EXPECT_EXIT(ws.Git("update-ref refs/heads/staging " + small), 0);
    }
  }
  REQUIRE(killed_mid_write);
  CHECK(ReadFile(ws / "bg.out") == "");

  // The stock shell rolls the hot journal back: the database is exactly the old one.
  CHECK(SqliteRows(ws.Db("staging"), "PRAGMA integrity_check") == std::vector<std::string>{"ok"});
  CHECK(!fs::exists(journal));
  CHECK(ws.Bytes("staging") == bytes);
  CHECK(ws.Dump("staging") == dump);
  CHECK(SqliteRows(ws.Db("staging"), "SELECT count(*) FROM big") == std::vector<std::string>{"2"});
  CHECK(ws.Rev("refs/cfgit/deployed/staging") == small);
  CHECK(ws.Rev("refs/heads/staging") == small);
  CFGIT_EXPECT_EXIT(ws.Run("diff " + small + " @staging --exit-code"), 0);
  // Nothing is left locked: the same apply now goes through.
  RunResult again = ws.Run("apply staging dev");
  CFGIT_EXPECT_EXIT(again, 0);
  CHECK(SqliteRows(ws.Db("staging"), "SELECT count(*), max(id) FROM big") ==
        std::vector<std::string>{"5001|5002"});
  CHECK(ws.Rev("refs/cfgit/deployed/staging") == large);
}

TEST_CASE("promote fast-forwards, writes the target and tags the release", "[cli][release]") {
  Release ws;
  CFGIT_EXPECT_EXIT(ws.Run("apply staging"), 0);
  std::string id1 = ws.v1.substr(0, 10);
  RunResult p1 = ws.Run("promote staging production --tag v1");
  CFGIT_EXPECT_EXIT(p1, 0);
  CHECK_THAT(p1.out, Catch::StartsWith("wrote staging (" + id1 + ") to production:\n"));
  CHECK_THAT(p1.out, Catch::EndsWith("tagged " + id1 + " as v1\n"));
  CHECK(ws.Rev("refs/heads/production") == ws.v1);
  CHECK(ws.Rev("refs/cfgit/deployed/production") == ws.v1);
  CHECK(ws.Rev("refs/tags/v1") == ws.v1);
  CHECK(ws.GitOut("cat-file -t refs/tags/v1") == "tag");
  CheckSameContent(ws, "staging", "production");

  Sqlite(ws.Db("dev"), kV2);
  std::string v2 = ws.Commit("dev", "v2");
  CFGIT_EXPECT_EXIT(ws.Run("apply staging dev"), 0);
  RunResult p2 = ws.Run("promote staging production --tag v2 --format json");
  CFGIT_EXPECT_EXIT(p2, 0);
  CHECK_THAT(p2.out, Catch::StartsWith("{\"environment\":\"production\",\"revision\":\"" + v2 +
                                       "\",\"dry_run\":false,\"changed\":true,\"backup\":\"refs/"
                                       "cfgit/backups/production/"));
  CHECK_THAT(p2.out, Catch::EndsWith(",\"tag\":\"v2\"}\n"));
  CHECK(ws.Rev("refs/heads/production") == v2);
  CHECK(ws.Rev("refs/cfgit/deployed/production") == v2);
  CHECK(ws.Rev("refs/tags/v2") == v2);
  CheckSameContent(ws, "dev", "production");
  CFGIT_EXPECT_EXIT(ws.Run("diff staging @production --exit-code"), 0);
  // A tag name that exists is refused before anything is written.
  std::string refs = ws.Refs();
  CFGIT_EXPECT_EXIT(ws.Run("promote staging production --tag v1"), 2);
  CHECK(ws.Refs() == refs);
}

TEST_CASE("promote refuses a target that has diverged, listing its commits", "[cli][release]") {
  Release ws;
  CFGIT_EXPECT_EXIT(ws.Run("apply staging"), 0);
  CFGIT_EXPECT_EXIT(ws.Run("promote staging production"), 0);
  fs::copy_file(ws.Db("dev"), ws / "alice.db");
  // A hotfix goes straight to production (apply with a revision moves its branch)...
  Sqlite(ws.Db("dev"), "UPDATE roles SET title = 'Hotfix' WHERE name = 'admin';");
  std::string hotfix = ws.Commit("dev", "hotfix in production");
  CFGIT_EXPECT_EXIT(ws.Run("apply production dev"), 0);
  // ...while staging moves on from v1 along another line (alice's work).
  CFGIT_EXPECT_EXIT(ws.Run("env add alice sqlite:alice.db"), 0);
  CFGIT_EXPECT_EXIT(ws.Run("branch alice " + ws.v1), 0);
  Sqlite(ws / "alice.db", "UPDATE roles SET title = 'Members' WHERE name = 'member';");
  std::string feature = ws.Commit("alice", "alice feature");
  CFGIT_EXPECT_EXIT(ws.Run("apply staging alice"), 0);
  REQUIRE(ws.Rev("refs/heads/staging") == feature);

  std::string bytes = ws.Bytes("production");
  std::string refs = ws.Refs();
  RunResult r = ws.Run("promote staging production --tag v2");
  CFGIT_EXPECT_EXIT(r, 1);
  CHECK_THAT(r.err, Catch::Contains("cannot promote staging to production: it is not a "
                                    "fast-forward; production has commits that staging lacks:\n"
                                    "  " +
                                    hotfix.substr(0, 10) + " hotfix in production\n"));
  CHECK(CountOf(r.err, "\n  ") == 1);  // only the diverging commit is listed
  CHECK(ws.Bytes("production") == bytes);
  CHECK(ws.Refs() == refs);
  CHECK(ws.Rev("refs/heads/production") == hotfix);
  CHECK(ws.Rev("refs/tags/v2") == "");
  // A dry run is refused just the same.
  CFGIT_EXPECT_EXIT(ws.Run("promote staging production --dry-run"), 1);
  CHECK(ws.Refs() == refs);
}

TEST_CASE("rollback restores the exact earlier content - the old head stays reachable",
          "[cli][release]") {
  Release ws;
  CFGIT_EXPECT_EXIT(ws.Run("apply staging"), 0);
  CFGIT_EXPECT_EXIT(ws.Run("promote staging production --tag v1"), 0);
  std::string dump_v1 = ws.Dump("production");
  Sqlite(ws.Db("dev"), std::string(kV2) +
                           "DELETE FROM uiSchemas WHERE \"x-uid\" = 'q8xgrid0';"
                           "INSERT INTO roles (name, title, sort) VALUES ('editor', 'Editor', 3);");
  std::string v2 = ws.Commit("dev", "v2");
  CFGIT_EXPECT_EXIT(ws.Run("apply staging dev"), 0);
  CFGIT_EXPECT_EXIT(ws.At(1700000060, "promote staging production --tag v2"), 0);
  REQUIRE(ws.Dump("production") != dump_v1);

  RunResult r = ws.At(1700000120, "rollback production --to v1");
  CFGIT_EXPECT_EXIT(r, 0);
  CHECK_THAT(r.out, Catch::StartsWith("wrote v1 (" + ws.v1.substr(0, 10) + ") to production:\n"));
  // The old head is kept under refs/cfgit/rollbacks/production/ (the name is the command's).
  const std::string moved = "branch production moved " + v2.substr(0, 10) + " -> " +
                            ws.v1.substr(0, 10) + "; the old head is kept as ";
  size_t at = r.out.find(moved);
  REQUIRE(at != std::string::npos);
  std::string kept = Trim(r.out.substr(at + moved.size()));
  CHECK_THAT(kept, Catch::StartsWith("refs/cfgit/rollbacks/production/"));
  // Exactly the content right after v1 was deployed (rows re-inserted by the rollback get new
  // rowids, so INSERT lines are compared per table in sorted order).
  CHECK(Canonical(ws.Dump("production")) == Canonical(dump_v1));
  CHECK(ws.Rev("refs/heads/production") == ws.v1);
  CHECK(ws.Rev("refs/cfgit/deployed/production") == ws.v1);
  CHECK(ws.GitOut("for-each-ref --format='%(refname) %(objectname)' refs/cfgit/rollbacks/") ==
        kept + " " + v2);
  CHECK(ws.Rev("refs/tags/v2") == v2);

  // Rolling back to where it is: nothing happens.
  std::string bytes = ws.Bytes("production");
  std::string refs = ws.Refs();
  RunResult again = ws.At(1700000180, "rollback production --to v1");
  CFGIT_EXPECT_EXIT(again, 0);
  CHECK(again.out ==
        "production is already at v1 (" + ws.v1.substr(0, 10) + "): nothing to roll back\n");
  CHECK(ws.Bytes("production") == bytes);
  CHECK(ws.Refs() == refs);
  // Forward again to v2.
  CFGIT_EXPECT_EXIT(ws.At(1700000240, "rollback production --to v2"), 0);
  CheckSameContent(ws, "dev", "production");
}

TEST_CASE("a rollback refused on drift changes nothing", "[cli][release]") {
  Release ws;
  CFGIT_EXPECT_EXIT(ws.Run("apply staging"), 0);
  Sqlite(ws.Db("dev"), "UPDATE roles SET title = 'Administrators' WHERE name = 'admin';");
  ws.Commit("dev", "v2");
  CFGIT_EXPECT_EXIT(ws.Run("apply staging dev"), 0);
  Sqlite(ws.Db("staging"), "UPDATE collections SET title = 'Hand edit' WHERE key = 'c2';");
  std::string bytes = ws.Bytes("staging");
  std::string refs = ws.Refs();
  // The branch is not even moved and moved back: its reflog (the deployment history) is as it was.
  std::string reflog = ws.GitOut("reflog show refs/heads/staging");
  RunResult r = ws.Run("rollback staging --to " + ws.v1);
  CFGIT_EXPECT_EXIT(r, 1);
  CHECK_THAT(r.err, Catch::Contains("has drifted"));
  CHECK(ws.Bytes("staging") == bytes);
  CHECK(ws.Refs() == refs);  // no branch move, and no rollback ref for a rollback not made
  CHECK(ws.GitOut("reflog show refs/heads/staging") == reflog);

  // A promote refused on drift of its target, the same.
  CFGIT_EXPECT_EXIT(ws.Run("promote staging production"), 0);
  Sqlite(ws.Db("dev"), "UPDATE roles SET title = 'Admins' WHERE name = 'admin';");
  ws.Commit("dev", "v3");
  CFGIT_EXPECT_EXIT(ws.Run("merge dev --into staging"), 0);
  Sqlite(ws.Db("production"), "UPDATE collections SET title = 'Hand edit' WHERE key = 'c2';");
  std::string prod = ws.Bytes("production");
  refs = ws.Refs();
  reflog = ws.GitOut("reflog show refs/heads/production");
  RunResult p = ws.Run("promote staging production --tag v3");
  CFGIT_EXPECT_EXIT(p, 1);
  CHECK_THAT(p.err, Catch::Contains("has drifted"));
  CHECK(ws.Bytes("production") == prod);
  CHECK(ws.Refs() == refs);  // no branch move and no tag
  CHECK(ws.GitOut("reflog show refs/heads/production") == reflog);
}

TEST_CASE("backups are listed, restored (ignored columns too, backed up first) and pruned",
          "[cli][release]") {
  Release ws({.top = "backups: { keep: 2 }\n"});
  CFGIT_EXPECT_EXIT(ws.At(1700000000, "apply staging"), 0);
  Sqlite(ws.Db("staging"),
         "UPDATE collections SET sort = 11 WHERE key = 'c1';"
         "UPDATE collections SET sort = 22 WHERE key = 'c2';");
  std::string dump_v1 = ws.Dump("staging");
  Sqlite(ws.Db("dev"), kV2);
  std::string v2 = ws.Commit("dev", "v2");
  RunResult a2 = ws.At(1700000060, "apply staging dev");
  CFGIT_EXPECT_EXIT(a2, 0);
  const std::string b1 = "refs/cfgit/backups/staging/20231114T221320Z";
  const std::string b2 = "refs/cfgit/backups/staging/20231114T221420Z";
  const std::string b3 = "refs/cfgit/backups/staging/20231114T221520Z";
  CHECK(Release::BackupNamed(a2.out) == b2);
  CHECK(ws.BackupRefs("staging") == std::vector<std::string>{b1, b2});
  Sqlite(ws.Db("staging"), "UPDATE collections SET sort = 99 WHERE key = 'c1';");
  std::string dump_v2 = ws.Dump("staging");

  // Listed newest first, as text and JSON.
  std::string short_v1 = ws.v1.substr(0, 10), short_v2 = v2.substr(0, 10);
  RunResult text = ws.Run("backups staging");
  CFGIT_EXPECT_EXIT(text, 0);
  std::vector<std::string> lines = Lines(text.out);
  REQUIRE(lines.size() == 2);
  CHECK_THAT(lines[0], Catch::StartsWith("20231114T221420Z  2023-11-14T22:14:20+00:00  backup of "
                                         "staging before apply of dev (" +
                                         short_v2 + ") ("));
  CHECK_THAT(lines[0], Catch::EndsWith(" rows)"));
  CHECK_THAT(lines[1], Catch::StartsWith("20231114T221320Z  2023-11-14T22:13:20+00:00  backup of "
                                         "staging before apply of staging (" +
                                         short_v1 + ") ("));
  RunResult json = ws.Run("backups staging --format json");
  CFGIT_EXPECT_EXIT(json, 0);
  CHECK_THAT(json.out,
             Catch::StartsWith("[{\"name\":\"20231114T221420Z\",\"commit\":\"" + ws.Rev(b2) +
                               "\",\"time\":\"2023-11-14T22:14:20+00:00\",\"reason\":\"backup of "
                               "staging before apply of dev (" +
                               short_v2 + ")\",\"counts\":\""));
  CHECK_THAT(json.out,
             Catch::Contains("},{\"name\":\"20231114T221320Z\",\"commit\":\"" + ws.Rev(b1) + "\""));
  CHECK_THAT(json.out, Catch::EndsWith("}]\n"));
  // The backup holds every column: the ignored one too.
  CHECK_THAT(ws.GitOut("grep -h -e '^sort:' " + b2 + " -- tables/collections"),
             Catch::Contains("sort: 11") && Catch::Contains("sort: 22"));

  // Restore b2 (staging as it was before v2): every column comes back.
  RunResult restored = ws.At(1700000120, "restore staging 20231114T221420Z");
  CFGIT_EXPECT_EXIT(restored, 0);
  CHECK(Release::BackupNamed(restored.out) == b3);
  CHECK(Canonical(ws.Dump("staging")) == Canonical(dump_v1));
  CHECK(SqliteRows(ws.Db("staging"), "SELECT key, sort FROM collections ORDER BY key") ==
        std::vector<std::string>{"c1|11", "c2|22"});
  // The state it replaced is backed up first (v2, with sort 99); keep: 2 pruned the oldest.
  CHECK(ws.BackupRefs("staging") == std::vector<std::string>{b2, b3});
  CHECK(ws.GitOut("log -1 --format=%s " + b3) ==
        "backup of staging before restore of backup 20231114T221420Z");
  CHECK_THAT(ws.GitOut("grep -h -e '^sort:' " + b3 + " -- tables/collections"),
             Catch::Contains("sort: 99"));
  CHECK_THAT(ws.GitOut("grep -h -e '^title:' " + b3 + " -- tables/collections"),
             Catch::Contains("Articles"));
  CHECK(ws.Rev("refs/cfgit/deployed/staging^") == ws.Rev(b2));  // a commit on top of the backup
  CHECK(ws.Rev("refs/heads/staging") == v2);                    // the branch does not move
  // And back: restoring b3 gives the state the restore replaced (--force: see the test below).
  CFGIT_EXPECT_EXIT(ws.At(1700000180, "restore staging 20231114T221520Z --force"), 0);
  CHECK(Canonical(ws.Dump("staging")) == Canonical(dump_v2));
  CHECK(ws.BackupRefs("staging").size() == 2);
  // A name that is not a backup.
  CFGIT_EXPECT_EXIT(ws.Run("restore staging 20990101T000000Z"), 2);
}

TEST_CASE("after a restore, the restored state is what cfgit last wrote: no drift",
          "[cli][release]") {
  // restore records the backup commit (which holds the ignored columns) as deployed; drift is then
  // measured between that commit and the live database without its ignored columns.
  Release ws;
  CFGIT_EXPECT_EXIT(ws.At(1700000000, "apply staging"), 0);
  Sqlite(ws.Db("staging"), "UPDATE collections SET sort = 11 WHERE key = 'c1';");
  Sqlite(ws.Db("dev"), kV2);
  ws.Commit("dev", "v2");
  CFGIT_EXPECT_EXIT(ws.At(1700000060, "apply staging dev"), 0);
  std::string backup = ws.Rev("refs/cfgit/backups/staging/20231114T221420Z");
  REQUIRE(backup != "");
  CFGIT_EXPECT_EXIT(ws.At(1700000120, "restore staging 20231114T221420Z"), 0);
  // Deployed: a commit of the restored state's versioned columns, on top of the backup.
  CHECK(ws.Rev("refs/cfgit/deployed/staging^") == backup);
  CFGIT_EXPECT_EXIT(ws.Run("diff refs/cfgit/deployed/staging @staging --exit-code"), 0);
  RunResult status = ws.Run("status staging");
  CFGIT_EXPECT_EXIT(status, 0);
  CHECK_THAT(status.out, !Catch::Contains("DRIFT"));
  // Going forward to the branch head again needs no --force.
  RunResult forward = ws.At(1700000180, "apply staging");
  CFGIT_EXPECT_EXIT(forward, 0);
  CheckSameContent(ws, "dev", "staging");
}

TEST_CASE("retention keeps the newest backups, also when several are taken in one second",
          "[cli][release]") {
  // Backups taken in the same second are named STAMP, STAMP-2, STAMP-3...; the newest must be
  // the ones kept, and each apply's own backup must exist after it.
  Release ws({.top = "backups: { keep: 2 }\n"});
  Sqlite(ws.Db("dev"), "UPDATE roles SET title = 'Administrators' WHERE name = 'admin';");
  std::string v2 = ws.Commit("dev", "v2");
  std::vector<std::string> taken;
  for (int i = 0; i < 5; ++i) {
    INFO("apply " << i);
    RunResult r = ws.Run("apply staging " + (i % 2 == 0 ? ws.v1 : v2));
    CFGIT_EXPECT_EXIT(r, 0);
    std::string b = Release::BackupNamed(r.out);
    REQUIRE(b != "");
    CHECK(ws.Rev(b) != "");  // the backup this apply just reported is kept
    taken.push_back(b);
    std::vector<std::string> kept = ws.BackupRefs("staging");
    CHECK(kept.size() == std::min<size_t>(2, taken.size()));
  }
  // The newest is listed first.
  RunResult text = ws.Run("backups staging");
  CHECK_THAT(text.out, Catch::StartsWith(taken.back().substr(taken.back().rfind('/') + 1) + "  "));
}

TEST_CASE("dry runs change nothing, and --format sql prints the statements", "[cli][release]") {
  Release ws;
  CFGIT_EXPECT_EXIT(ws.Run("apply staging"), 0);
  CFGIT_EXPECT_EXIT(ws.Run("promote staging production"), 0);
  Sqlite(ws.Db("dev"), kV2);
  std::string v2 = ws.Commit("dev", "v2");
  fs::copy_file(ws.Db("staging"), ws / "copy.db");
  std::string bytes = ws.Bytes("staging");
  std::string prod_bytes = ws.Bytes("production");
  std::string refs = ws.Refs();

  RunResult plan = ws.Run("apply staging dev --dry-run");
  CFGIT_EXPECT_EXIT(plan, 0);
  CHECK(plan.out == "would write to staging (dev, " + v2.substr(0, 10) +
                        "), nothing changed:\n"
                        " collections  +0 -0 ~1\n"
                        " fields  +1 -0 ~0\n"
                        " roles  +0 -0 ~1\n"
                        " uiSchemaTreePath  +0 -1 ~0\n");
  RunResult sql = ws.Run("apply staging dev --dry-run --format sql");
  CFGIT_EXPECT_EXIT(sql, 0);
  CHECK(CountOf(sql.out, "UPDATE \"roles\" SET") == 1);
  CHECK(CountOf(sql.out, "UPDATE \"collections\" SET") == 1);
  CHECK(CountOf(sql.out, "INSERT INTO \"fields\"") == 1);
  CHECK(CountOf(sql.out, "DELETE FROM \"uiSchemaTreePath\"") == 1);
  // Only the changed columns; the ignored one (collections.sort) is not written.
  CHECK_THAT(sql.out, Catch::Contains("UPDATE \"collections\" SET \"title\" = 'Articles', "
                                      "\"description\" = 'Long reads' WHERE \"key\" IS 'c2';\n"));
  CHECK(CountOf(sql.out, "BEGIN;") == 1);
  CHECK(CountOf(sql.out, "COMMIT;") == 1);
  for (const char* command :
       {"promote dev production --dry-run", "promote dev production --dry-run --format sql",
        "rollback staging --to dev --dry-run", "restore staging 20231114T221320Z --dry-run",
        "apply production dev --dry-run --format json"}) {
    INFO(command);
    RunResult r = ws.Run(command);
    CFGIT_EXPECT_EXIT(r, 0);
  }
  CHECK(ws.Bytes("staging") == bytes);
  CHECK(ws.Bytes("production") == prod_bytes);
  CHECK(ws.Refs() == refs);
  CFGIT_EXPECT_EXIT(ws.Run("apply staging dev --format sql"), 2);  // sql only with --dry-run
  CHECK(ws.Refs() == refs);

  // The printed statements are the apply: run by the stock shell on a copy, it gives v2.
  WriteFile(ws / "plan.sql", sql.out);
  RunResult ran = Shell(ws.path(), "sqlite3 -bail copy.db < plan.sql");
  CFGIT_EXPECT_EXIT(ran, 0);
  CheckSameContent(ws, "dev", "copy");
  CHECK(SqliteRows(ws / "copy.db", "SELECT key, sort FROM collections ORDER BY key") ==
        SqliteRows(ws.Db("staging"), "SELECT key, sort FROM collections ORDER BY key"));
}

TEST_CASE("a dry run into an environment whose database does not exist yet prints the plan",
          "[cli][release]") {
  Release ws;
  std::string refs = ws.Refs();
  RunResult r = ws.Run("apply staging --dry-run");
  CFGIT_EXPECT_EXIT(r, 0);
  CHECK_THAT(r.out, Catch::StartsWith("would write to staging (staging, " + ws.v1.substr(0, 10) +
                                      "), nothing changed:\n"));
  CHECK_THAT(r.out, Catch::Contains(" roles  create, +3 -0 ~0\n"));
  RunResult p = ws.Run("promote dev production --dry-run");
  CFGIT_EXPECT_EXIT(p, 0);
  CHECK(!fs::exists(ws.Db("staging")));
  CHECK(!fs::exists(ws.Db("production")));
  CHECK(ws.Refs() == refs);
}

}  // namespace
}  // namespace cfgit::test
