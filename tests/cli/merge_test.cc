// End to end: cfgit merge, conflicts, resolve and status on SQLite environments, as the team of
// issue 5 uses them: two developers (dev-alice, dev-bob) with their own databases and branches
// made from one base commit with `cfgit branch`, and a protected staging whose branch starts at
// dev-alice's base commit. Results are read back with stock git (rev-parse, row files, fsck).
#include <filesystem>

#include "store/internal/rows_diffs.h"
#include "tests/cli/cli_fixture.h"

namespace cfgit::test {
namespace {

namespace fs = std::filesystem;

// Loose object files of the store (outside objects/pack and objects/info).
size_t LooseObjects(const Ws& ws) {
  size_t n = 0;
  for (const auto& e : fs::recursive_directory_iterator(ws / ".cfgit/objects")) {
    std::string p = e.path().string();
    if (!e.is_regular_file() || p.find("/objects/pack/") != std::string::npos ||
        p.find("/objects/info/") != std::string::npos) {
      continue;
    }
    ++n;
  }
  return n;
}

// The workspace of the team: dev-alice, dev-bob and staging (protected). `base_sql` builds
// dev-alice.db, which is committed as the base; dev-bob.db and staging.db start as copies of it,
// and the branches dev-bob and staging are made from the base commit with `cfgit branch`.
// `table_rules` are extra lines under `tables:` in cfgit.yaml.
struct Team : Ws {
  std::string base;
  size_t loose_before = 0;

  explicit Team(const std::string& base_sql, const std::string& table_rules = "") {
    AddEnv("dev-alice");
    AddEnv("dev-bob");
    AddEnv("staging", "--protected");
    if (!table_rules.empty()) {
      std::string yaml = ReadFile(*this / "cfgit.yaml");
      const std::string star = "  \"*\": { rule: merge }\n";
      size_t at = yaml.find(star);
      REQUIRE(at != std::string::npos);
      yaml.insert(at + star.size(), table_rules);
      WriteFile(*this / "cfgit.yaml", yaml);
    }
    Sqlite(Db("dev-alice"), base_sql);
    base = Commit("dev-alice", "base");
    fs::copy_file(Db("dev-alice"), Db("dev-bob"));
    fs::copy_file(Db("dev-alice"), Db("staging"));
    CFGIT_EXPECT_EXIT(Run("branch dev-bob " + base), 0);
    CFGIT_EXPECT_EXIT(Run("branch staging dev-alice"), 0);
    REQUIRE(Head("dev-bob") == base);
    REQUIRE(Head("staging") == base);
    loose_before = LooseObjects(*this);
  }

  std::string Alice(const std::string& sql, const std::string& message = "alice") const {
    Sqlite(Db("dev-alice"), sql);
    return Commit("dev-alice", message);
  }
  std::string Bob(const std::string& sql, const std::string& message = "bob") const {
    Sqlite(Db("dev-bob"), sql);
    return Commit("dev-bob", message);
  }
  std::string Head(const std::string& branch) const {
    return GitOut("rev-parse refs/heads/" + branch);
  }
  bool HasMergeState() const {
    return Git("rev-parse -q --verify refs/cfgit/merge/staging").exit_code == 0;
  }
  // The row file of TABLE at REV whose first line is `first` ("name: 'theme'"); "" if none.
  std::string RowAt(const std::string& rev, const std::string& table,
                    const std::string& first) const {
    std::string found;
    for (const std::string& text : RowTexts(rev, table)) {
      if (text == first || text.rfind(first + "\n", 0) == 0) {
        CHECK(found.empty());  // one row per key
        found = text;
      }
    }
    return found;
  }
  // Stock git finds the store sound, and no merge wrote loose objects.
  void CheckStore() const {
    RunResult fsck = Git("fsck --strict");
    CFGIT_EXPECT_EXIT(fsck, 0);
    CHECK(fsck.err.find("error") == std::string::npos);
    CHECK(LooseObjects(*this) == loose_before);
  }
  // Fast-forwards staging to dev-alice (the first developer's work reaches staging).
  void FastForwardAlice() const {
    RunResult r = Run("merge dev-alice --into staging");
    CFGIT_EXPECT_EXIT(r, 0);
    REQUIRE_THAT(r.out, Catch::StartsWith("fast-forward staging "));
    REQUIRE(Head("staging") == Head("dev-alice"));
  }
};

const char* kSettings =
    "CREATE TABLE settings (name TEXT PRIMARY KEY, value TEXT, note TEXT);"
    "INSERT INTO settings VALUES ('theme', 'light', 'ui'), ('lang', 'en', 'i18n'),"
    "  ('tz', 'UTC', 'time');";

TEST_CASE("merge fast-forwards staging - --no-ff makes a merge commit - again: up to date",
          "[cli][merge]") {
  Team ws(kSettings);
  std::string alice = ws.Alice(
      "UPDATE settings SET value = 'dark' WHERE name = 'theme';"
      "INSERT INTO settings VALUES ('currency', 'EUR', NULL);");
  SECTION("fast-forward") {
    RunResult r = ws.Run("merge dev-alice --into staging");
    CFGIT_EXPECT_EXIT(r, 0);
    CHECK(r.out == "fast-forward staging " + ws.base.substr(0, 10) + " -> " + alice.substr(0, 10) +
                       " (dev-alice)\n settings  +1 -0 ~1\n");
    CHECK(ws.Head("staging") == alice);
    CHECK(ws.CommitCount("staging") == 2);
    CHECK(ws.RowAt("staging", "settings", "name: 'theme'") ==
          "name: 'theme'\nvalue: 'dark'\nnote: 'ui'");
  }
  SECTION("--no-ff: a merge commit with two parents and the same content") {
    RunResult r = ws.Run("merge dev-alice --into staging --no-ff -m 'Release 1'");
    CFGIT_EXPECT_EXIT(r, 0);
    std::string merge = ws.Head("staging");
    CHECK(merge != alice);
    CHECK_THAT(r.out, Catch::StartsWith("[staging " + merge.substr(0, 10) + "] Release 1\n"));
    CHECK(ws.GitOut("log -1 --format=%P staging") == ws.base + " " + alice);
    CHECK(ws.GitOut("rev-parse staging^1") == ws.base);
    CHECK(ws.GitOut("rev-parse staging^2") == alice);
    CHECK(ws.GitOut("rev-parse 'staging^{tree}'") == ws.GitOut("rev-parse 'dev-alice^{tree}'"));
    CHECK(ws.GitOut("log -1 --format=%s staging") == "Release 1");
    CHECK_THAT(ws.GitOut("log -1 --format=%B staging"), Catch::Contains("settings"));
  }
  // Merging again changes nothing, with or without --no-ff, as text or JSON.
  std::string head = ws.Head("staging");
  RunResult again = ws.Run("merge dev-alice --into staging");
  CFGIT_EXPECT_EXIT(again, 0);
  CHECK(again.out ==
        "already up to date: staging contains dev-alice (" + alice.substr(0, 10) + ")\n");
  CFGIT_EXPECT_EXIT(ws.Run("merge dev-alice --into staging --no-ff"), 0);
  RunResult json = ws.Run("merge dev-alice --into staging --format json");
  CFGIT_EXPECT_EXIT(json, 0);
  CHECK_THAT(json.out, Catch::Contains("\"result\":\"up-to-date\""));
  // The base (an ancestor of both) is in staging too.
  CFGIT_EXPECT_EXIT(ws.Run("merge " + ws.base + " --into staging"), 0);
  CHECK(ws.Head("staging") == head);
  CHECK_FALSE(ws.HasMergeState());
  ws.CheckStore();
}

TEST_CASE("disjoint changes of both developers merge cell by cell into one merge commit",
          "[cli][merge]") {
  Team ws(std::string(kSettings) +
          "INSERT INTO settings VALUES ('old', 'x', 'gone soon');"
          "CREATE TABLE pages (id INTEGER PRIMARY KEY, title TEXT, schema JSON);"
          "INSERT INTO pages VALUES"
          " (1, 'Home', '{\"type\":\"void\",\"props\":{\"a\":1,\"b\":2},\"items\":[1]}'),"
          " (2, 'About', '{\"type\":\"void\"}');"
          "CREATE TABLE roles (name TEXT PRIMARY KEY, title TEXT);"
          "INSERT INTO roles VALUES ('root', 'Root');");
  std::string alice = ws.Alice(
      "UPDATE settings SET value = 'dark' WHERE name = 'theme';"
      "UPDATE pages SET schema = '{\"type\":\"void\",\"props\":{\"a\":10,\"b\":2},\"items\":[1]}'"
      " WHERE id = 1;"
      "INSERT INTO roles VALUES ('editor', 'Editor');"
      "DELETE FROM settings WHERE name = 'tz';");
  std::string bob = ws.Bob(
      // Another column of the row alice changed.
      "UPDATE settings SET note = 'user interface' WHERE name = 'theme';"
      // A JSON member alice did not touch (written with spaces: not compact).
      "UPDATE pages SET schema = '{\"type\": \"void\", \"props\": {\"a\": 1, \"b\": 2, \"c\": 3},"
      " \"items\": [1]}' WHERE id = 1;"
      // A JSON cell only bob changed: taken whole, with its exact text.
      "UPDATE pages SET schema = '{ \"type\" : \"void\", \"x\": [ 1 ] }' WHERE id = 2;"
      // The same row as alice: converges; and one more.
      "INSERT INTO roles VALUES ('editor', 'Editor'), ('viewer', 'Viewer');"
      // Deleted by bob, untouched by alice; deleted by both; set to NULL (a change).
      "DELETE FROM settings WHERE name = 'old';"
      "DELETE FROM settings WHERE name = 'tz';"
      "UPDATE settings SET note = NULL WHERE name = 'lang';");
  ws.FastForwardAlice();

  RunResult r = ws.Run("merge dev-bob --into staging");
  CFGIT_EXPECT_EXIT(r, 0);
  std::string merge = ws.Head("staging");
  CHECK(merge != alice);
  CHECK(merge != bob);
  CHECK_THAT(r.out, Catch::StartsWith("[staging " + merge.substr(0, 10) +
                                      "] Merge dev-bob into staging\n"));
  CHECK_THAT(r.out,
             Catch::Contains(" roles: 0 rows kept from ours, 1 row from theirs, 1 converged\n"));
  // Two parents: the old staging head, then the source.
  CHECK(ws.GitOut("log -1 --format=%P staging") == alice + " " + bob);
  CHECK(ws.CommitCount("staging") == 4);
  // The message lists the tables merged.
  std::string message = ws.GitOut("log -1 --format=%B staging");
  CHECK_THAT(message, Catch::StartsWith("Merge dev-bob into staging\n"));
  CHECK_THAT(message, Catch::Contains(" pages: ") && Catch::Contains(" roles: ") &&
                          Catch::Contains(" settings: "));

  // Both cells of the row land (alice's value, bob's note).
  CHECK(ws.RowAt("staging", "settings", "name: 'theme'") ==
        "name: 'theme'\nvalue: 'dark'\nnote: 'user interface'");
  CHECK(ws.RowAt("staging", "settings", "name: 'lang'") == "name: 'lang'\nvalue: 'en'\nnote: null");
  CHECK(ws.RowAt("staging", "settings", "name: 'old'").empty());
  CHECK(ws.RowAt("staging", "settings", "name: 'tz'").empty());
  CHECK(ws.RowFiles("staging", "settings").size() == 2);
  // JSON members of both sides, written compact.
  CHECK(ws.RowAt("staging", "pages", "id: 1") ==
        "id: 1\ntitle: 'Home'\n"
        "schema: '{\"type\":\"void\",\"props\":{\"a\":10,\"b\":2,\"c\":3},\"items\":[1]}'");
  CHECK(ws.RowAt("staging", "pages", "id: 2") ==
        "id: 2\ntitle: 'About'\nschema: '{ \"type\" : \"void\", \"x\": [ 1 ] }'");
  // Added by both with the same content: one row.
  CHECK(ws.RowAt("staging", "roles", "name: 'editor'") == "name: 'editor'\ntitle: 'Editor'");
  CHECK(ws.RowAt("staging", "roles", "name: 'viewer'") == "name: 'viewer'\ntitle: 'Viewer'");
  CHECK(ws.RowFiles("staging", "roles").size() == 3);

  // What bob brought is exactly what staging gained over alice's head.
  RunResult stat = ws.Run("diff " + alice + " staging --stat");
  CFGIT_EXPECT_EXIT(stat, 0);
  CHECK(stat.out ==
        " pages     +0 -0 ~2\n"
        " roles     +1 -0 ~0\n"
        " settings  +0 -1 ~2\n");
  CFGIT_EXPECT_EXIT(ws.Run("merge dev-bob --into staging"), 0);  // already up to date
  CHECK(ws.Head("staging") == merge);
  ws.CheckStore();
}

// Staging at alice's head (fast-forwarded) and a merge of dev-bob into it stopped on three
// conflicts in settings: modify/modify of theme's value (bob's change of its note still merges),
// modify/delete of lang, add/add of new (value differs, note agrees). tz: bob's note, clean.
struct Conflicted : Team {
  std::string alice, bob;
  RunResult stopped;
  Conflicted() : Team(kSettings) {
    alice = Alice(
        "UPDATE settings SET value = 'dark' WHERE name = 'theme';"
        "UPDATE settings SET value = 'fr' WHERE name = 'lang';"
        "INSERT INTO settings VALUES ('new', 'a', 'shared');");
    bob =
        Bob("UPDATE settings SET value = 'blue', note = 'look' WHERE name = 'theme';"
            "DELETE FROM settings WHERE name = 'lang';"
            "INSERT INTO settings VALUES ('new', 'b', 'shared');"
            "UPDATE settings SET note = 'zone' WHERE name = 'tz';");
    FastForwardAlice();
    stopped = Run("merge dev-bob --into staging");
  }
  // The number of conflicts `cfgit conflicts staging --format json` lists.
  size_t ConflictCount() const {
    RunResult r = Run("conflicts staging --format json");
    CFGIT_EXPECT_EXIT(r, 0);
    return CountOf(r.out, "\"kind\":");
  }
  void Continue() const {
    RunResult r = Run("merge --continue staging");
    CFGIT_EXPECT_EXIT(r, 0);
    std::string merge = Head("staging");
    CHECK(r.out == "[staging " + merge.substr(0, 10) + "] Merge dev-bob into staging\n");
    CHECK(GitOut("log -1 --format=%P staging") == alice + " " + bob);
    CHECK_FALSE(HasMergeState());
    CHECK(RowAt("staging", "settings", "name: 'tz'") == "name: 'tz'\nvalue: 'UTC'\nnote: 'zone'");
  }
};

TEST_CASE("conflicts stop the merge - staging does not move - status and conflicts show them",
          "[cli][merge]") {
  Conflicted ws;
  CFGIT_EXPECT_EXIT(ws.stopped, 1);
  CHECK_THAT(ws.stopped.out,
             Catch::StartsWith("merge of dev-bob into staging stopped: 3 conflicts; staging has "
                               "not moved\n"));
  CHECK_THAT(ws.stopped.err, Catch::Contains("  settings: 3 conflicts\n"));
  CHECK_THAT(ws.stopped.err, Catch::Contains("cfgit conflicts staging"));
  CHECK_THAT(ws.stopped.err, Catch::Contains("cfgit resolve staging"));
  CHECK_THAT(ws.stopped.err, Catch::Contains("cfgit merge --continue staging"));
  CHECK(ws.Head("staging") == ws.alice);
  CHECK(ws.HasMergeState());

  RunResult status = ws.Run("status staging --no-color");
  CFGIT_EXPECT_EXIT(status, 0);
  CHECK_THAT(status.out, Catch::Contains("  branch:   " + ws.alice.substr(0, 10) + " alice\n"));
  CHECK_THAT(status.out,
             Catch::Contains("  merge:    in progress: dev-bob into staging, 3 conflicts"));
  RunResult status_json = ws.Run("status --format json");
  CFGIT_EXPECT_EXIT(status_json, 0);
  CHECK_THAT(status_json.out,
             Catch::Contains("{\"environment\":\"staging\",\"protected\":true,\"head\":\"" +
                             ws.alice + "\""));
  CHECK_THAT(status_json.out,
             Catch::Contains("\"merge\":{\"source\":\"dev-bob\",\"conflicts\":3}"));
  CHECK(CountOf(status_json.out, "\"merge\":null") == 2);  // the developers

  RunResult text = ws.Run("conflicts staging");
  CFGIT_EXPECT_EXIT(text, 0);
  CHECK_THAT(text.out, Catch::StartsWith("merge of dev-bob into staging: 3 conflicts\n"));
  CHECK_THAT(text.out, Catch::Contains("modify/modify in settings --key theme (value)\n"
                                       "  base:   value: 'light'\n"
                                       "  ours:   value: 'dark'\n"
                                       "  theirs: value: 'blue'\n"));
  CHECK_THAT(text.out, Catch::Contains("modify/delete in settings --key lang\n"));
  CHECK_THAT(text.out, Catch::Contains("  base:   name: 'lang', value: 'en', note: 'i18n'\n"
                                       "  ours:   name: 'lang', value: 'fr', note: 'i18n'\n"
                                       "  theirs: (deleted / none)\n"));
  CHECK_THAT(text.out, Catch::Contains("add/add in settings --key new (value)\n"));
  CHECK_THAT(text.out, Catch::Contains("  ours:   value: 'a'\n"
                                       "  theirs: value: 'b'\n"));
  CHECK_THAT(text.out, !Catch::Contains("tz"));  // merged cleanly

  RunResult json = ws.Run("conflicts staging --format json");
  CFGIT_EXPECT_EXIT(json, 0);
  CHECK_THAT(json.out, Catch::StartsWith("{\"target\":\"staging\",\"source\":\"dev-bob\","
                                         "\"conflicts\":[{"));
  CHECK_THAT(json.out, Catch::EndsWith("}]}\n"));
  CHECK(CountOf(json.out, "\"kind\":") == 3);
  CHECK_THAT(json.out, Catch::Contains("{\"table\":\"settings\",\"key\":{\"name\":\"theme\"},"
                                       "\"kind\":\"modify/modify\",\"columns\":[\"value\"],"
                                       "\"base\":{\"value\":\"light\"},\"ours\":{\"value\":"
                                       "\"dark\"},\"theirs\":{\"value\":\"blue\"},\"detail\":"));
  CHECK_THAT(json.out, Catch::Contains("{\"table\":\"settings\",\"key\":{\"name\":\"lang\"},"
                                       "\"kind\":\"modify/delete\",\"columns\":[],"
                                       "\"base\":{\"name\":\"lang\",\"value\":\"en\",\"note\":"
                                       "\"i18n\"},\"ours\":{\"name\":\"lang\",\"value\":\"fr\","
                                       "\"note\":\"i18n\"},\"theirs\":null,\"detail\":"));
  CHECK_THAT(json.out, Catch::Contains("{\"table\":\"settings\",\"key\":{\"name\":\"new\"},"
                                       "\"kind\":\"add/add\",\"columns\":[\"value\"],"
                                       "\"base\":null,\"ours\":{\"value\":\"a\"},\"theirs\":{"
                                       "\"value\":\"b\"},\"detail\":"));

  // One merge per target at a time: a second one is refused and changes nothing.
  std::string state = ws.GitOut("rev-parse refs/cfgit/merge/staging");
  for (const char* args : {"merge dev-bob --into staging", "merge dev-alice --into staging --no-ff",
                           "merge dev-bob --into staging --format json"}) {
    INFO(args);
    RunResult again = ws.Run(args);
    CFGIT_EXPECT_EXIT(again, 1);
    CHECK_THAT(again.err, Catch::Contains("already in progress"));
  }
  CHECK(ws.GitOut("rev-parse refs/cfgit/merge/staging") == state);
  CHECK(ws.Head("staging") == ws.alice);
  CHECK(ws.ConflictCount() == 3);
  ws.CheckStore();
}

TEST_CASE("resolve --ours, --theirs and --set, narrowed by --table and --key - --continue",
          "[cli][merge]") {
  Conflicted ws;
  CFGIT_EXPECT_EXIT(ws.stopped, 1);
  SECTION("one at a time; --continue refuses while conflicts remain") {
    RunResult theme = ws.Run("resolve staging --table settings --key theme --theirs");
    CFGIT_EXPECT_EXIT(theme, 0);
    CHECK_THAT(theme.out, Catch::StartsWith("settled 1 conflict of the merge into staging"));
    CHECK_THAT(theme.out, Catch::Contains("2 remain"));
    CHECK(ws.ConflictCount() == 2);
    CHECK_THAT(ws.Run("conflicts staging").out, !Catch::Contains("--key theme"));

    RunResult early = ws.Run("merge --continue staging");
    CFGIT_EXPECT_EXIT(early, 1);
    CHECK_THAT(early.err, Catch::Contains("2 conflicts"));
    CHECK_THAT(early.err, Catch::Contains("settings: 2 conflicts"));
    CHECK(ws.Head("staging") == ws.alice);
    CHECK(ws.HasMergeState());

    CFGIT_EXPECT_EXIT(ws.Run("resolve staging --key lang --ours"), 0);
    CHECK(ws.ConflictCount() == 1);
    RunResult set = ws.Run("resolve staging --table settings --key new --set \"value='custom'\"");
    CFGIT_EXPECT_EXIT(set, 0);
    CHECK_THAT(set.out, Catch::Contains("0 remain"));
    CHECK_THAT(set.out, Catch::Contains("cfgit merge --continue staging"));
    CHECK(ws.Head("staging") == ws.alice);  // still: resolving moves nothing
    ws.Continue();
    CHECK(ws.RowAt("staging", "settings", "name: 'theme'") ==
          "name: 'theme'\nvalue: 'blue'\nnote: 'look'");
    CHECK(ws.RowAt("staging", "settings", "name: 'lang'") ==
          "name: 'lang'\nvalue: 'fr'\nnote: 'i18n'");
    CHECK(ws.RowAt("staging", "settings", "name: 'new'") ==
          "name: 'new'\nvalue: 'custom'\nnote: 'shared'");
    CHECK(ws.RowFiles("staging", "settings").size() == 4);
  }
  SECTION("all --theirs") {
    RunResult r = ws.Run("resolve staging --theirs");
    CFGIT_EXPECT_EXIT(r, 0);
    CHECK_THAT(r.out, Catch::StartsWith("settled 3 conflicts"));
    ws.Continue();
    CHECK(ws.RowAt("staging", "settings", "name: 'theme'") ==
          "name: 'theme'\nvalue: 'blue'\nnote: 'look'");
    CHECK(ws.RowAt("staging", "settings", "name: 'lang'").empty());
    CHECK(ws.RowAt("staging", "settings", "name: 'new'") ==
          "name: 'new'\nvalue: 'b'\nnote: 'shared'");
    CHECK(ws.RowFiles("staging", "settings").size() == 3);
  }
  SECTION("all --ours: theirs' other cells of a conflicted row still land") {
    CFGIT_EXPECT_EXIT(ws.Run("resolve staging --table settings --ours"), 0);
    ws.Continue();
    CHECK(ws.RowAt("staging", "settings", "name: 'theme'") ==
          "name: 'theme'\nvalue: 'dark'\nnote: 'look'");
    CHECK(ws.RowAt("staging", "settings", "name: 'lang'") ==
          "name: 'lang'\nvalue: 'fr'\nnote: 'i18n'");
    CHECK(ws.RowAt("staging", "settings", "name: 'new'") ==
          "name: 'new'\nvalue: 'a'\nnote: 'shared'");
  }
  SECTION("--set of several cells: null and a number") {
    CFGIT_EXPECT_EXIT(ws.Run("resolve staging --key theme --set value=null --set note=42"), 0);
    CFGIT_EXPECT_EXIT(ws.Run("resolve staging --ours"), 0);
    ws.Continue();
    CHECK(ws.RowAt("staging", "settings", "name: 'theme'") ==
          "name: 'theme'\nvalue: null\nnote: 42");
  }
  SECTION("nothing matching, unknown targets: exit 2, nothing settled") {
    for (const char* args :
         {"resolve staging --table nosuch --ours", "resolve staging --key nosuch --theirs",
          "resolve staging --table settings --key zzz --set value=1",
          "resolve staging --table roles --key theme --ours"}) {
      INFO(args);
      RunResult r = ws.Run(args);
      CFGIT_EXPECT_EXIT(r, 2);
      CHECK_THAT(r.err, Catch::Contains("cfgit conflicts staging"));
    }
    for (const char* args :
         {"merge dev-bob --into nosuch", "conflicts nosuch", "resolve nosuch --ours",
          "merge --continue nosuch", "merge --abort nosuch", "status nosuch"}) {
      INFO(args);
      RunResult r = ws.Run(args);
      CFGIT_EXPECT_EXIT(r, 2);
      CHECK_THAT(r.err, Catch::Contains("nosuch"));
    }
    CHECK(ws.ConflictCount() == 3);
    CHECK(ws.Head("staging") == ws.alice);
  }
  SECTION("--abort forgets the merge; staging stays") {
    RunResult r = ws.Run("merge --abort staging");
    CFGIT_EXPECT_EXIT(r, 0);
    CHECK_THAT(r.out, Catch::Contains("staging stays at " + ws.alice.substr(0, 10)));
    CHECK(ws.Head("staging") == ws.alice);
    CHECK_FALSE(ws.HasMergeState());
    CHECK_THAT(ws.Run("status staging").out, !Catch::Contains("merge:"));
    CHECK_THAT(ws.Run("status staging --format json").out, Catch::Contains("\"merge\":null"));
    CFGIT_EXPECT_EXIT(ws.Run("conflicts staging"), 2);
    CFGIT_EXPECT_EXIT(ws.Run("merge --continue staging"), 2);
    CFGIT_EXPECT_EXIT(ws.Run("merge --abort staging"), 2);
    // The same merge can start again.
    RunResult again = ws.Run("merge dev-bob --into staging --format json");
    CFGIT_EXPECT_EXIT(again, 1);
    CHECK_THAT(again.out, Catch::StartsWith("{\"target\":\"staging\",\"source\":\"dev-bob\","
                                            "\"result\":\"conflicts\",\"commit\":null,"));
    CHECK_THAT(again.out, Catch::EndsWith(",\"conflicts\":3}\n"));
    CHECK(ws.ConflictCount() == 3);
    CHECK(ws.Head("staging") == ws.alice);
  }
  ws.CheckStore();
}

TEST_CASE("rules from cfgit.yaml: overwrite lists what it overwrote, insert-only only adds",
          "[cli][merge]") {
  Team ws(
      "CREATE TABLE logs (id INTEGER PRIMARY KEY, msg TEXT);"
      "INSERT INTO logs VALUES (1, 'a'), (2, 'b'), (4, 'd');"
      "CREATE TABLE perms (id INTEGER PRIMARY KEY, role TEXT, action TEXT);"
      "INSERT INTO perms VALUES (1, 'admin', 'all'), (4, 'old', 'none');",
      "  logs: { rule: overwrite }\n  perms: { rule: insert-only }\n");
  std::string alice = ws.Alice(
      "UPDATE logs SET msg = 'alice' WHERE id = 1; INSERT INTO logs VALUES (3, 'alice3');"
      "INSERT INTO perms VALUES (2, 'member', 'view');"
      "UPDATE perms SET action = 'most' WHERE id = 1;");
  std::string bob = ws.Bob(
      "UPDATE logs SET msg = 'bob' WHERE id = 1; UPDATE logs SET msg = 'bob2' WHERE id = 2;"
      "INSERT INTO perms VALUES (2, 'member', 'edit'), (3, 'guest', 'none');"
      "UPDATE perms SET action = 'bobs' WHERE id = 1; DELETE FROM perms WHERE id = 4;");
  ws.FastForwardAlice();
  SECTION("text") {
    RunResult r = ws.Run("merge dev-bob --into staging");
    CFGIT_EXPECT_EXIT(r, 0);
    // Rows 1 (changed by alice) and 3 (added by alice) are replaced; 4 alice never touched.
    CHECK_THAT(
        r.out,
        Catch::Contains(
            " logs: 0 rows kept from ours, 2 rows from theirs, 2 of ours overwritten: 1 3\n"));
  }
  SECTION("json") {
    RunResult r = ws.Run("merge dev-bob --into staging --format json");
    CFGIT_EXPECT_EXIT(r, 0);
    CHECK_THAT(r.out, Catch::StartsWith("{\"target\":\"staging\",\"source\":\"dev-bob\","
                                        "\"result\":\"merged\",\"commit\":\"" +
                                        ws.Head("staging") + "\","));
    CHECK_THAT(r.out, Catch::Contains(
                          "{\"name\":\"logs\",\"from_ours\":0,\"from_theirs\":2,\"converged\":0,"
                          "\"overwritten\":[\"1\",\"3\"],"));
    CHECK_THAT(r.out, Catch::Contains(
                          "{\"name\":\"perms\",\"from_ours\":0,\"from_theirs\":1,\"converged\":0,"
                          "\"overwritten\":[],"));
    CHECK_THAT(r.out, Catch::EndsWith(",\"conflicts\":0}\n"));
  }
  CHECK(ws.GitOut("log -1 --format=%P staging") == alice + " " + bob);
  // logs: exactly bob's table.
  CHECK(ws.RowTexts("staging", "logs") == ws.RowTexts(bob, "logs"));
  CHECK(ws.RowAt("staging", "logs", "id: 1") == "id: 1\nmsg: 'bob'");
  CHECK(ws.RowAt("staging", "logs", "id: 3").empty());
  // perms: alice's rows as they were, plus the row only bob added.
  CHECK(ws.RowAt("staging", "perms", "id: 1") == "id: 1\nrole: 'admin'\naction: 'most'");
  CHECK(ws.RowAt("staging", "perms", "id: 2") == "id: 2\nrole: 'member'\naction: 'view'");
  CHECK(ws.RowAt("staging", "perms", "id: 3") == "id: 3\nrole: 'guest'\naction: 'none'");
  CHECK(ws.RowAt("staging", "perms", "id: 4") == "id: 4\nrole: 'old'\naction: 'none'");
  CHECK(ws.RowFiles("staging", "perms").size() == 4);
  ws.CheckStore();
}

// Regression test (issue 5, "JSON": objects merge key by key; "Cells": only what both sides changed
// differently conflicts, the rest still merges): bob's members b and a.y do not collide with
// anything alice did, yet the conflict on a.x keeps alice's whole document in the merge result,
// so after `resolve --ours` they are lost silently (like Dolt's whole-row conflicts, one level
// down). Expected: the conflicted cell holds the member-by-member merge with ours' a.x.
TEST_CASE("a JSON cell with one conflicting member still merges the other members",
          "[cli][merge]") {
  Team ws(
      "CREATE TABLE pages (id INTEGER PRIMARY KEY, title TEXT, schema JSON);"
      "INSERT INTO pages VALUES (1, 'Home', '{\"a\":{\"x\":1,\"y\":2},\"b\":1}');");
  std::string alice = ws.Alice("UPDATE pages SET schema = '{\"a\":{\"x\":5,\"y\":2},\"b\":1}';");
  ws.Bob("UPDATE pages SET schema = '{\"a\":{\"x\":6,\"y\":3},\"b\":2}';");
  ws.FastForwardAlice();
  RunResult merge = ws.Run("merge dev-bob --into staging");
  CFGIT_EXPECT_EXIT(merge, 1);
  CHECK_THAT(merge.out, Catch::Contains("stopped: 1 conflict; staging has not moved"));
  CHECK(ws.Head("staging") == alice);
  RunResult early = ws.Run("merge --continue staging");
  CFGIT_EXPECT_EXIT(early, 1);
  CHECK_THAT(early.err, Catch::Contains("still has 1 conflict:"));
  RunResult json = ws.Run("conflicts staging --format json");
  CFGIT_EXPECT_EXIT(json, 0);
  CHECK(CountOf(json.out, "\"kind\":") == 1);
  CHECK_THAT(json.out, Catch::Contains("schema.a.x"));
  CFGIT_EXPECT_EXIT(ws.Run("resolve staging --ours"), 0);
  CFGIT_EXPECT_EXIT(ws.Run("merge --continue staging"), 0);
  CHECK(ws.RowAt("staging", "pages", "id: 1") ==
        "id: 1\ntitle: 'Home'\nschema: '{\"a\":{\"x\":5,\"y\":3},\"b\":2}'");
  ws.CheckStore();
}

// The merged snapshot's SQL (`cfgit diff OLD staging --format sql`), run by the sqlite3 shell on a
// copy of what staging's database holds at OLD, reproduces the merged snapshot.
void CheckSqlReproducesStaging(Team& ws, const std::string& old_staging) {
  fs::copy_file(ws.Db("dev-alice"), ws.Db("staging"), fs::copy_options::overwrite_existing);
  fs::copy_file(ws.Db("staging"), ws.Db("copy"));
  ws.AddEnv("copy");
  CFGIT_EXPECT_EXIT(ws.Run("diff " + old_staging + " @copy --exit-code"), 0);
  CFGIT_EXPECT_EXIT(ws.Run("diff staging @copy --exit-code"), 1);
  RunResult sql = ws.Run("diff " + old_staging + " staging --format sql");
  CFGIT_EXPECT_EXIT(sql, 0);
  WriteFile(ws / "merge.sql", sql.out);
  INFO("script:\n" << sql.out);
  RunResult applied = Shell(ws.path(), "sqlite3 -bail copy.db < merge.sql");
  CFGIT_EXPECT_EXIT(applied, 0);
  CHECK(applied.err == "");
  RunResult same = ws.Run("diff staging @copy --exit-code");
  CFGIT_EXPECT_EXIT(same, 0);
  CHECK(same.out == "");
  CHECK(SqliteRows(ws.Db("copy"), "PRAGMA integrity_check") == std::vector<std::string>{"ok"});
}

TEST_CASE("schema: a column added on one side gets its default on the other side's rows",
          "[cli][merge]") {
  Team ws(
      "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT);"
      "INSERT INTO items VALUES (1, 'one'), (2, 'two');");
  SECTION("added by theirs") {
    std::string alice = ws.Alice(
        "INSERT INTO items VALUES (3, 'three'); UPDATE items SET name = 'TWO' WHERE id = 2;");
    ws.Bob(
        "ALTER TABLE items ADD COLUMN status TEXT NOT NULL DEFAULT 'active';"
        "UPDATE items SET status = 'off' WHERE id = 1;");
    ws.FastForwardAlice();
    RunResult r = ws.Run("merge dev-bob --into staging");
    CFGIT_EXPECT_EXIT(r, 0);
    CHECK_THAT(r.out, Catch::Contains(" items: ") && Catch::Contains("schema merged"));
    CHECK_THAT(ws.GitOut("show staging:tables/items/schema.yaml"),
               Catch::Contains("  - name: 'status'\n    type: 'TEXT'\n    not_null: true\n"));
    CHECK(ws.RowAt("staging", "items", "id: 1") == "id: 1\nname: 'one'\nstatus: 'off'");
    CHECK(ws.RowAt("staging", "items", "id: 2") == "id: 2\nname: 'TWO'\nstatus: 'active'");
    CHECK(ws.RowAt("staging", "items", "id: 3") == "id: 3\nname: 'three'\nstatus: 'active'");
    CheckSqlReproducesStaging(ws, alice);
    CHECK(SqliteRows(ws.Db("copy"), "SELECT id, name, status FROM items ORDER BY id") ==
          std::vector<std::string>{"1|one|off", "2|TWO|active", "3|three|active"});
  }
  SECTION("added by ours (with and without a default)") {
    std::string alice = ws.Alice(
        "ALTER TABLE items ADD COLUMN status TEXT NOT NULL DEFAULT 'active';"
        "ALTER TABLE items ADD COLUMN rank INTEGER;"
        "UPDATE items SET status = 'off', rank = 5 WHERE id = 1;");
    ws.Bob("INSERT INTO items VALUES (3, 'three'); UPDATE items SET name = 'TWO' WHERE id = 2;");
    ws.FastForwardAlice();
    CFGIT_EXPECT_EXIT(ws.Run("merge dev-bob --into staging"), 0);
    CHECK(ws.RowAt("staging", "items", "id: 1") == "id: 1\nname: 'one'\nstatus: 'off'\nrank: 5");
    CHECK(ws.RowAt("staging", "items", "id: 2") ==
          "id: 2\nname: 'TWO'\nstatus: 'active'\nrank: null");
    CHECK(ws.RowAt("staging", "items", "id: 3") ==
          "id: 3\nname: 'three'\nstatus: 'active'\nrank: null");
    CheckSqlReproducesStaging(ws, alice);
    CHECK(
        SqliteRows(ws.Db("copy"), "SELECT id, name, status, quote(rank) FROM items ORDER BY id") ==
        std::vector<std::string>{"1|one|off|5", "2|TWO|active|NULL", "3|three|active|NULL"});
  }
  ws.CheckStore();
}

TEST_CASE("unique and foreign-key violations of the merged result are conflicts", "[cli][merge]") {
  Team ws(
      "CREATE TABLE groups (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);"
      "INSERT INTO groups VALUES (1, 'admins'), (2, 'staff');"
      "CREATE TABLE members (id INTEGER PRIMARY KEY, group_id INTEGER REFERENCES groups(id),"
      "  name TEXT);"
      "INSERT INTO members VALUES (1, 1, 'ann');");
  std::string alice =
      ws.Alice("INSERT INTO groups VALUES (3, 'ops'); INSERT INTO members VALUES (2, 2, 'al');");
  ws.Bob("INSERT INTO groups VALUES (4, 'ops'); DELETE FROM groups WHERE id = 2;");
  ws.FastForwardAlice();
  RunResult r = ws.Run("merge dev-bob --into staging");
  CFGIT_EXPECT_EXIT(r, 1);
  CHECK_THAT(r.err,
             Catch::Contains("groups: 1 conflict") && Catch::Contains("members: 1 conflict"));
  CHECK(ws.Head("staging") == alice);

  RunResult json = ws.Run("conflicts staging --format json");
  CFGIT_EXPECT_EXIT(json, 0);
  CHECK(CountOf(json.out, "\"kind\":") == 2);
  CHECK_THAT(json.out, Catch::Contains("{\"table\":\"groups\",\"key\":{\"id\":4},\"kind\":"
                                       "\"unique\",\"columns\":[\"name\"],"));
  CHECK_THAT(json.out,
             Catch::Contains("\"ours\":{\"name\":\"ops\"},\"theirs\":{\"name\":\"ops\"}"));
  CHECK_THAT(json.out, Catch::Contains("{\"table\":\"members\",\"key\":{\"id\":2},\"kind\":"
                                       "\"foreign-key\",\"columns\":[\"group_id\"],"));
  RunResult text = ws.Run("conflicts staging");
  CHECK_THAT(text.out, Catch::Contains("unique in groups --key 4 (name)\n"));
  CHECK_THAT(text.out, Catch::Contains("foreign-key in members --key 2 (group_id)\n"));

  // Settled: bob's group renamed, the orphan child dropped (theirs: no such row).
  CFGIT_EXPECT_EXIT(ws.Run("resolve staging --table groups --set \"name='ops-bob'\""), 0);
  CFGIT_EXPECT_EXIT(ws.Run("resolve staging --table members --key 2 --theirs"), 0);
  CFGIT_EXPECT_EXIT(ws.Run("merge --continue staging"), 0);
  CHECK(ws.RowAt("staging", "groups", "id: 3") == "id: 3\nname: 'ops'");
  CHECK(ws.RowAt("staging", "groups", "id: 4") == "id: 4\nname: 'ops-bob'");
  CHECK(ws.RowAt("staging", "groups", "id: 2").empty());
  CHECK(ws.RowAt("staging", "members", "id: 2").empty());
  CHECK(ws.RowFiles("staging", "members").size() == 1);
  ws.CheckStore();
}

TEST_CASE("foreign keys are checked where the merge could break them", "[cli][merge]") {
  // The base already holds a dangling reference (SQLite enforces foreign keys only when asked):
  // member 3 refers to group 9, which no database has.
  Team ws(
      "CREATE TABLE groups (id INTEGER PRIMARY KEY, name TEXT NOT NULL);"
      "INSERT INTO groups VALUES (1, 'admins'), (2, 'staff');"
      "CREATE TABLE members (id INTEGER PRIMARY KEY, group_id INTEGER REFERENCES groups(id),"
      "  name TEXT, note TEXT);"
      "INSERT INTO members VALUES (1, 1, 'ann', NULL), (3, 9, 'cy', NULL);");
  // Rows each side has as it is, whose parents no side changed: bob's own database held them
  // together with their parents, or (member 3) without, before the merge; the merge cannot
  // have broken them, so they are not reported.
  ws.Alice("INSERT INTO members VALUES (2, 2, 'al', NULL);");
  ws.Bob(
      "UPDATE members SET name = 'ANN' WHERE id = 1; UPDATE members SET name = 'CY' WHERE id = 3;"
      "UPDATE groups SET name = 'STAFF' WHERE id = 2;");
  ws.FastForwardAlice();
  CFGIT_EXPECT_EXIT(ws.Run("merge dev-bob --into staging"), 0);
  CHECK(ws.RowAt("staging", "members", "id: 3") == "id: 3\ngroup_id: 9\nname: 'CY'\nnote: null");
  CHECK(ws.RowAt("staging", "groups", "id: 2") == "id: 2\nname: 'STAFF'");

  // A row whose cells come from both sides is one neither database held: it is checked against
  // the merged result (member 3: ours' note, theirs' name; group 9 is missing), and so is a row
  // whose parent the other side deleted (member 2, group 2).
  ws.Alice("UPDATE members SET note = 'a' WHERE id = 3;");
  ws.Bob("DELETE FROM groups WHERE id = 2;");
  RunResult r = ws.Run("merge dev-bob --into dev-alice");
  CFGIT_EXPECT_EXIT(r, 1);
  CHECK_THAT(r.err, Catch::Contains("members: 2 conflicts"));
  RunResult json = ws.Run("conflicts dev-alice --format json");
  CFGIT_EXPECT_EXIT(json, 0);
  CHECK(CountOf(json.out, "\"kind\":") == 2);
  for (const char* key : {"2", "3"}) {
    CHECK_THAT(json.out,
               Catch::Contains(std::string("{\"table\":\"members\",\"key\":{\"id\":") + key +
                               "},\"kind\":\"foreign-key\",\"columns\":[\"group_id\"],"));
  }
  CFGIT_EXPECT_EXIT(ws.Run("merge --abort dev-alice"), 0);
  ws.CheckStore();
}

TEST_CASE("a foreign key only one side has is checked on the other side's rows", "[cli][merge]") {
  Team ws(
      "CREATE TABLE groups (id INTEGER PRIMARY KEY, name TEXT NOT NULL);"
      "INSERT INTO groups VALUES (1, 'admins');"
      "CREATE TABLE members (id INTEGER PRIMARY KEY, group_id INTEGER REFERENCES groups(id),"
      "  name TEXT);"
      "INSERT INTO members VALUES (1, 1, 'ann');"
      "CREATE TABLE tags (id INTEGER PRIMARY KEY, group_id INTEGER);"
      "INSERT INTO tags VALUES (1, 1);");
  // Alice gives tags a foreign key (SQLite: by rebuilding the table).
  ws.Alice(
      "INSERT INTO members VALUES (2, 1, 'al');"
      "CREATE TABLE tags_new (id INTEGER PRIMARY KEY, group_id INTEGER REFERENCES groups(id));"
      "INSERT INTO tags_new SELECT * FROM tags; DROP TABLE tags;"
      "ALTER TABLE tags_new RENAME TO tags;");
  // Bob's rows refer to group 9, which no one has. members' key was bob's too, and no side
  // changed groups: that reference is bob's own database's, not reported. tags had no key in
  // bob's database: the merged key is checked there.
  ws.Bob("INSERT INTO members VALUES (3, 9, 'cy'); INSERT INTO tags VALUES (7, 9);");
  ws.FastForwardAlice();
  RunResult r = ws.Run("merge dev-bob --into staging");
  CFGIT_EXPECT_EXIT(r, 1);
  RunResult json = ws.Run("conflicts staging --format json");
  CFGIT_EXPECT_EXIT(json, 0);
  CHECK(CountOf(json.out, "\"kind\":") == 1);
  CHECK_THAT(json.out, Catch::Contains("{\"table\":\"tags\",\"key\":{\"id\":7},\"kind\":"
                                       "\"foreign-key\",\"columns\":[\"group_id\"],"));
  ws.CheckStore();
}

TEST_CASE("a row file that cannot be read stops the merge, whichever diff reads it",
          "[cli][merge]") {
  // The two diffs (base -> ours, base -> theirs): an error in either stops the merge before
  // anything is written.
  for (const std::string side : {"ours", "theirs"}) {
    DYNAMIC_SECTION(side) {
      Team ws(
          "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT);"
          "INSERT INTO items VALUES (1, 'one'), (2, 'two');");
      ws.Alice("UPDATE items SET name = 'ONE' WHERE id = 1;");
      ws.Bob("UPDATE items SET name = 'TWO' WHERE id = 2;");
      ws.FastForwardAlice();
      // The side's changed row file is replaced, by stock git, with one that is not a row.
      const std::string branch = side == "ours" ? "staging" : "dev-bob";
      const std::string first = side == "ours" ? "id: 1\n" : "id: 2\n";
      std::string path;
      for (const std::string& f : ws.RowFiles(branch, "items")) {
        std::string text = ws.GitOut("show '" + branch + ":tables/items/rows/" + f + "'");
        if (text.rfind(first, 0) == 0) path = "tables/items/rows/" + f;
      }
      REQUIRE(!path.empty());
      RunResult damaged =
          Shell(ws.path(),
                "export GIT_DIR=.cfgit GIT_INDEX_FILE=.cfgit/damage-index && "
                "blob=$(printf 'id: [\\n' | git hash-object -w --stdin) && "
                "git read-tree " +
                    branch + " && git update-index --cacheinfo 100644,$blob,'" + path +
                    "' && tree=$(git write-tree) && rm -f $GIT_INDEX_FILE && "
                    "git update-ref refs/heads/" +
                    branch + " $(git commit-tree $tree -p " + branch + " -m damaged)");
      REQUIRE(damaged.exit_code == 0);
      const std::string before = ws.Head("staging");

      RunResult r = ws.Run("merge dev-bob --into staging");
      CFGIT_EXPECT_EXIT(r, 4);
      CHECK_THAT(r.err, Catch::Contains("table 'items', row "));
      CHECK(ws.Head("staging") == before);
      CHECK(!ws.HasMergeState());
    }
  }
}

// Runs `cfgit ARGS` and kills it (SIGKILL) after `seconds`, wherever it is. (`; true` keeps
// the shell's "Killed" notice in the captured stderr.)
RunResult KilledAfter(const Ws& ws, const std::string& seconds, const std::string& args) {
  return Shell(ws.path(),
               "CFGIT_TIME=1700000000 CFGIT_AUTHOR_NAME='Test Author' "
               "CFGIT_AUTHOR_EMAIL=test@example.com timeout -s KILL " +
                   seconds + " '" CFGIT_BINARY "' " + args + "; true");
}

TEST_CASE("a crash between merge and --continue leaves staging where it was", "[cli][merge]") {
  Conflicted ws;
  CFGIT_EXPECT_EXIT(ws.stopped, 1);
  // The merge command ended: the merge lives on in the store, readable by stock git.
  REQUIRE(ws.HasMergeState());
  CHECK(ws.Head("staging") == ws.alice);
  RunResult log = ws.Git("log --format=%H refs/cfgit/merge/staging");
  CFGIT_EXPECT_EXIT(log, 0);
  CHECK_THAT(log.out, Catch::Contains(ws.alice + "\n") && Catch::Contains(ws.bob + "\n") &&
                          Catch::Contains(ws.base + "\n"));
  CHECK_THAT(ws.GitOut("ls-tree --name-only refs/cfgit/merge/staging"),
             Catch::Contains("merge.yaml") && Catch::Contains("result"));
  ws.CheckStore();

  // A kill can land while the state's ref is being written and leave its lock file, as git's
  // own tools do: the next command that writes the ref stops, naming the file; once it is
  // deleted (nothing else runs), the commands work again.
  auto clear_stale_lock = [&](const std::string& command) {
    fs::path lock = ws / ".cfgit/refs/cfgit/merge/staging.lock";
    if (!fs::exists(lock)) return;
    RunResult blocked = ws.Run(command);
    CFGIT_EXPECT_EXIT(blocked, 1);
    CHECK_THAT(blocked.err, Catch::Contains("refs/cfgit/merge/staging.lock") &&
                                Catch::Contains("delete that file and run the command again"));
    fs::remove(lock);
  };
  // Killed while resolving, at any moment: staging never moves; the merge stays readable.
  for (const char* seconds : {"0.02", "0.06", "0.1", "0.15", "0.25"}) {
    INFO("resolve killed after " << seconds << " s");
    KilledAfter(ws, seconds, "resolve staging --key theme --theirs");
    CHECK(ws.Head("staging") == ws.alice);
    REQUIRE(ws.HasMergeState());
    size_t n = ws.ConflictCount();
    CHECK((n == 2 || n == 3));
    CFGIT_EXPECT_EXIT(ws.Git("fsck --strict"), 0);
  }
  // Killed while merging (after an abort): staging never moves either.
  for (const char* seconds : {"0.02", "0.06", "0.1", "0.15", "0.25"}) {
    INFO("merge killed after " << seconds << " s");
    if (ws.HasMergeState()) {
      clear_stale_lock("merge --abort staging");
      CFGIT_EXPECT_EXIT(ws.Run("merge --abort staging"), 0);
    }
    clear_stale_lock("merge dev-bob --into staging");
    KilledAfter(ws, seconds, "merge dev-bob --into staging");
    CHECK(ws.Head("staging") == ws.alice);
    if (ws.HasMergeState()) CHECK(ws.ConflictCount() == 3);
    CFGIT_EXPECT_EXIT(ws.Git("fsck --strict"), 0);
  }
  clear_stale_lock(ws.HasMergeState() ? "resolve staging --theirs"
                                      : "merge dev-bob --into staging");
  if (!ws.HasMergeState()) CFGIT_EXPECT_EXIT(ws.Run("merge dev-bob --into staging"), 1);
  CFGIT_EXPECT_EXIT(ws.Run("resolve staging --theirs"), 0);

  // --continue fails to move the branch (a crashed writer left its lock): nothing moves, the
  // merge is kept, and a later --continue commits it.
  WriteFile(ws / ".cfgit/refs/heads/staging.lock", "");
  RunResult locked = ws.Run("merge --continue staging");
  CFGIT_EXPECT_EXIT(locked, 1);
  CHECK_THAT(locked.err, Catch::Contains("refs/heads/staging is locked by ") &&
                             Catch::Contains(".cfgit/refs/heads/staging.lock") &&
                             Catch::Contains("if none is running, delete that file"));
  CHECK(ws.Head("staging") == ws.alice);
  CHECK(ws.HasMergeState());
  fs::remove(ws / ".cfgit/refs/heads/staging.lock");
  // The same when the state itself cannot be deleted (--abort): the state stays as it was.
  WriteFile(ws / ".cfgit/refs/cfgit/merge/staging.lock", "");
  RunResult abort_locked = ws.Run("merge --abort staging");
  CFGIT_EXPECT_EXIT(abort_locked, 1);
  CHECK_THAT(abort_locked.err, Catch::Contains("refs/cfgit/merge/staging is locked by ") &&
                                   Catch::Contains("it was not deleted"));
  CHECK(ws.HasMergeState());
  fs::remove(ws / ".cfgit/refs/cfgit/merge/staging.lock");
  ws.Continue();
  CHECK(ws.RowAt("staging", "settings", "name: 'theme'") ==
        "name: 'theme'\nvalue: 'blue'\nnote: 'look'");
  ws.CheckStore();
}

TEST_CASE("a commit keeps its rows diffs - diffs and merges replay them and agree with a walk",
          "[cli][merge][rows-diffs]") {
  Team ws(std::string(kSettings) +
          "CREATE TABLE roles (name TEXT PRIMARY KEY, title TEXT);"
          "INSERT INTO roles VALUES ('root', 'Root'), ('guest', 'Guest');"
          // A table whose directory name is encoded (a leading dot), and one that goes.
          "CREATE TABLE \".hidden\" (id INTEGER PRIMARY KEY, v TEXT);"
          "INSERT INTO \".hidden\" VALUES (1, 'a');"
          "CREATE TABLE gone (id INTEGER PRIMARY KEY);"
          "INSERT INTO gone VALUES (1);");
  const fs::path diffs = ws / ".cfgit/cfgit/rows-diffs";
  // The base commit had no parent: nothing to keep.
  CHECK(!fs::exists(diffs));
  std::string alice = ws.Alice(
      "UPDATE settings SET value = 'dark' WHERE name = 'theme';"
      "INSERT INTO roles VALUES ('editor', 'Editor');"
      "UPDATE \".hidden\" SET v = 'b' WHERE id = 1;"
      "DROP TABLE gone;"
      "CREATE TABLE fresh (id INTEGER PRIMARY KEY); INSERT INTO fresh VALUES (1);");
  std::string bob = ws.Bob(
      "UPDATE settings SET note = 'zone' WHERE name = 'tz';"
      "DELETE FROM roles WHERE name = 'guest';");
  // One file per table whose rows changed on both sides, named by the two rows trees: none for
  // a table that went or came.
  auto rows_of = [&](const std::string& rev, const std::string& dir) {
    return ws.GitOut("rev-parse " + rev + ":tables/" + dir + "/rows");
  };
  auto kept_for = [&](const std::string& parent, const std::string& rev, const std::string& dir) {
    return diffs / (rows_of(parent, dir) + "-" + rows_of(rev, dir));
  };
  for (const char* dir : {"settings", "roles", "%2Ehidden"}) {
    INFO(dir);
    CHECK(fs::exists(kept_for(ws.base, alice, dir)));
  }
  for (const char* dir : {"settings", "roles"}) {
    INFO(dir);
    CHECK(fs::exists(kept_for(ws.base, bob, dir)));
  }
  size_t files = 0;
  for (const auto& e : fs::directory_iterator(diffs)) files += e.is_regular_file() ? 1 : 0;
  CHECK(files == 5);

  // A diff says what a walk of the trees says, with the files, with them damaged (a byte changed
  // in each: not used), and without them.
  const std::string diff = "diff " + ws.base + " " + alice + " --format json";
  RunResult with = ws.Run(diff);
  CFGIT_EXPECT_EXIT(with, 0);
  CHECK_THAT(with.out, Catch::Contains("dark") && Catch::Contains("editor"));
  ws.FastForwardAlice();
  RunResult merged = ws.Run("merge dev-bob --into staging");
  CFGIT_EXPECT_EXIT(merged, 0);
  const std::string tree = ws.GitOut("rev-parse staging^{tree}");

  // Replayed, not walked: bob's settings change kept under alice's pair shows in alice's diff.
  const auto hex = [](const std::string& h) { return Oid::FromHex(h).value(); };
  RowsDiffs kept(diffs.string());
  auto bobs = kept.Find(hex(rows_of(ws.base, "settings")), hex(rows_of(bob, "settings")));
  REQUIRE(bobs.has_value());
  auto alices_settings =
      kept.Find(hex(rows_of(ws.base, "settings")), hex(rows_of(alice, "settings")));
  REQUIRE(alices_settings.has_value());
  const fs::path alices = kept_for(ws.base, alice, "settings");
  const std::string sound = ReadFile(alices);
  REQUIRE(
      kept.Keep(hex(rows_of(ws.base, "settings")), hex(rows_of(alice, "settings")), *bobs).ok());
  RunResult planted = ws.Run(diff);
  CFGIT_EXPECT_EXIT(planted, 0);
  CHECK_THAT(planted.out, Catch::Contains("zone") && !Catch::Contains("dark"));
  WriteFile(alices, sound);

  for (const auto& e : fs::directory_iterator(diffs)) {
    std::string bytes = ReadFile(e.path());
    REQUIRE(bytes.size() > 60);
    bytes[bytes.size() / 2] ^= 0x5a;
    WriteFile(e.path(), bytes);
  }
  RunResult damaged = ws.Run(diff);
  CFGIT_EXPECT_EXIT(damaged, 0);
  CHECK(damaged.out == with.out);

  // Without them: the same diff, and the same merge (made again from the same heads).
  fs::remove_all(diffs);
  RunResult walked = ws.Run(diff);
  CFGIT_EXPECT_EXIT(walked, 0);
  CHECK(walked.out == with.out);
  CFGIT_EXPECT_EXIT(ws.Git("update-ref refs/heads/staging " + alice), 0);
  CFGIT_EXPECT_EXIT(ws.Run("merge dev-bob --into staging"), 0);
  CHECK(ws.GitOut("rev-parse staging^{tree}") == tree);
  ws.CheckStore();

  // The merge replays them too: with alice's settings diff planted as bob's (theirs), the merge
  // takes alice's change from both sides and bob's tz note is not merged.
  REQUIRE(
      kept.Keep(hex(rows_of(ws.base, "settings")), hex(rows_of(bob, "settings")), *alices_settings)
          .ok());
  CFGIT_EXPECT_EXIT(ws.Git("update-ref refs/heads/staging " + alice), 0);
  CFGIT_EXPECT_EXIT(ws.Run("merge dev-bob --into staging"), 0);
  CHECK(ws.GitOut("rev-parse staging^{tree}") != tree);
  CHECK(ws.GitOut("rev-parse staging:tables/settings/rows") == rows_of(alice, "settings"));
  fs::remove_all(diffs);

  // Where they cannot be kept (a file in the way of the directory), the commit is made all the
  // same.
  WriteFile(diffs, "in the way");
  std::string later = ws.Bob("UPDATE settings SET note = 'later' WHERE name = 'lang';", "later");
  CHECK(ws.GitOut("log -1 --format=%P dev-bob") == bob);
  CHECK(ws.GitOut("log -1 --format=%s dev-bob") == "later");
  CHECK(ReadFile(diffs) == "in the way");
}

}  // namespace
}  // namespace cfgit::test
