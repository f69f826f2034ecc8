// End to end: cfgit status on real SQLite files: branch head, deployed commit, and drift of the
// live database per environment, as text and JSON; unreadable databases are exit 3.
#include <filesystem>

#include "tests/cli/cli_fixture.h"

namespace cfgit::test {
namespace {

namespace fs = std::filesystem;

size_t ObjectFiles(const Ws& ws) {
  size_t n = 0;
  for (const auto& e : fs::recursive_directory_iterator(ws / ".cfgit/objects")) {
    if (e.is_regular_file()) ++n;
  }
  return n;
}

// dev holding the NocoBase rows, committed once ("first").
struct Committed : Ws {
  std::string head;
  Committed() {
    AddEnv("dev");
    Sqlite(Db("dev"), std::string(kNocoBaseSchema) + kNocoBaseRows);
    head = Commit("dev", "first");
  }
  // The status block of one environment: its lines from the name line to the next name line.
  std::string Block(const std::string& out, const std::string& env) const {
    std::string block;
    bool in = false;
    for (const std::string& line : Lines(out)) {
      bool name_line = !line.empty() && line[0] != ' ';
      if (name_line) in = line == env || line.rfind(env + " (", 0) == 0;
      if (in) block += line + "\n";
    }
    return block;
  }
};

TEST_CASE("status of a clean environment", "[cli][status]") {
  Committed ws;
  size_t objects = ObjectFiles(ws);
  RunResult r = ws.Run("status");
  CFGIT_EXPECT_EXIT(r, 0);
  std::string id = ws.head.substr(0, 10);
  CHECK(r.out ==
        "dev\n"
        "  branch:   " +
            id +
            " first\n"
            "  deployed: " +
            id +
            " first\n"
            "  live:     same as the deployed commit\n");
  CHECK(r.err == "");
  CHECK(ws.Run("status dev --no-color").out == r.out);

  RunResult json = ws.Run("status --format json");
  CFGIT_EXPECT_EXIT(json, 0);
  CHECK(json.out ==
        "{\"environments\":[{\"environment\":\"dev\",\"protected\":false,\"head\":\"" + ws.head +
            "\",\"deployed\":\"" + ws.head +
            "\",\"deployed_by_content\":false,\"compared_with\":\"deployed\","
            "\"drifted\":false,\"drift\":[],\"undeployed_commits\":0,\"merge\":null}]}\n");
  CHECK(ObjectFiles(ws) == objects);
  CHECK(ws.GitOut("rev-parse dev") == ws.head);
}

TEST_CASE("status counts uncommitted changes per table and commits nothing", "[cli][status]") {
  Committed ws;
  std::string refs = ws.GitOut("for-each-ref");
  size_t objects = ObjectFiles(ws);
  Sqlite(ws.Db("dev"),
         "UPDATE roles SET title = 'Members' WHERE name = 'member';"
         "INSERT INTO roles (name, title) VALUES ('guest', 'Guest');"
         "DELETE FROM uiSchemaTreePath WHERE descendant = 'q8xgrid0';"
         "ALTER TABLE collections ADD COLUMN color TEXT;");
  RunResult r = ws.Run("status");
  CFGIT_EXPECT_EXIT(r, 0);
  std::string id = ws.head.substr(0, 10);
  CHECK(r.out ==
        "dev\n"
        "  branch:   " +
            id +
            " first\n"
            "  deployed: " +
            id +
            " first\n"
            "  live:     changed since the deployed commit\n"
            "            collections       schema changed, +0 -0 ~2\n"
            "            roles             +1 -0 ~1\n"
            "            uiSchemaTreePath  +0 -3 ~0\n"
            "            see the rows: cfgit diff dev\n");
  CHECK_THAT(r.out, !Catch::Contains("DRIFT"));  // dev is not protected

  RunResult json = ws.Run("status dev --format json");
  CFGIT_EXPECT_EXIT(json, 0);
  CHECK_THAT(json.out, Catch::StartsWith("{\"environments\":[{\"environment\":\"dev\","
                                         "\"protected\":false,\"head\":\"" +
                                         ws.head + "\",\"deployed\":\"" + ws.head +
                                         "\",\"deployed_by_content\":false,"
                                         "\"compared_with\":\"deployed\",\"drifted\":true,"
                                         "\"drift\":[{\"name\":\"collections\",\"added\":0,"
                                         "\"deleted\":0,\"modified\":2,\"schema_changed\":true,"));
  CHECK_THAT(json.out, Catch::Contains("{\"name\":\"roles\",\"added\":1,\"deleted\":0,"
                                       "\"modified\":1,\"schema_changed\":false,\"table_added\":"
                                       "false,\"table_removed\":false}"));
  CHECK_THAT(json.out,
             Catch::Contains("{\"name\":\"uiSchemaTreePath\",\"added\":0,\"deleted\":3,"));
  CHECK_THAT(json.out, Catch::EndsWith("],\"undeployed_commits\":0,\"merge\":null}]}\n"));

  // The counts agree with diff --stat of the same two sides.
  CHECK(ws.Run("diff dev --stat").out ==
        " collections       schema changed, +0 -0 ~2\n"
        " roles             +1 -0 ~1\n"
        " uiSchemaTreePath  +0 -3 ~0\n");
  // Nothing was written to the store.
  CHECK(ws.GitOut("for-each-ref") == refs);
  CHECK(ObjectFiles(ws) == objects);

  // After a commit, clean again.
  std::string second = ws.Commit("dev", "second");
  RunResult after = ws.Run("status");
  CHECK_THAT(after.out, Catch::Contains("  deployed: " + second.substr(0, 10) + " second\n"));
  CHECK_THAT(after.out, Catch::Contains("  live:     same as the deployed commit\n"));
}

// dev committed, and protected environment staging with a branch made from dev by
// `cfgit branch staging dev` and a database that is a copy of dev.db.
struct WithStaging : Committed {
  WithStaging() {
    RunResult r = Run("env add staging sqlite:staging.db --protected");
    CFGIT_EXPECT_EXIT(r, 0);
    CFGIT_EXPECT_EXIT(Run("branch staging dev"), 0);
    fs::copy_file(Db("dev"), Db("staging"));
  }
};

TEST_CASE("status of a protected environment: clean, then DRIFT", "[cli][status]") {
  WithStaging ws;
  std::string id = ws.head.substr(0, 10);
  RunResult clean = ws.Run("status staging");
  CFGIT_EXPECT_EXIT(clean, 0);
  // No deployed record, but the database equals the branch head: that is what it runs.
  CHECK(clean.out ==
        "staging (protected)\n"
        "  branch:   " +
            id +
            " first\n"
            "  deployed: " +
            id +
            " first (no record yet: the live database equals "
            "this commit)\n"
            "  live:     same as the deployed commit\n");
  RunResult clean_json = ws.Run("status staging --format json");
  CFGIT_EXPECT_EXIT(clean_json, 0);
  CHECK(clean_json.out ==
        "{\"environments\":[{\"environment\":\"staging\",\"protected\":true,\"head\":\"" + ws.head +
            "\",\"deployed\":\"" + ws.head +
            "\",\"deployed_by_content\":true,\"compared_with\":\"deployed\",\"drifted\":false,"
            "\"drift\":[],\"undeployed_commits\":0,\"merge\":null}]}\n");

  // Someone changes the protected database by hand.
  Sqlite(ws.Db("staging"),
         "UPDATE collections SET title = 'Hand edit' WHERE key = 'c2';"
         "DELETE FROM roles WHERE name = 'member';");
  RunResult drift = ws.Run("status");
  CFGIT_EXPECT_EXIT(drift, 0);  // drift is reported, not an error of status
  CHECK(ws.Block(drift.out, "dev") ==
        "dev\n"
        "  branch:   " +
            id +
            " first\n"
            "  deployed: " +
            id +
            " first\n"
            "  live:     same as the deployed commit\n");
  std::string block = ws.Block(drift.out, "staging");
  CHECK(block == std::string("staging (protected)\n"
                             "  branch:   " +
                             id +
                             " first\n"
                             "  deployed: (none)\n"
                             "  live:     DRIFT: the protected database was changed outside "
                             "cfgit\n"
                             "            collections  +0 -0 ~1\n"
                             "            roles        +0 -1 ~0\n"
                             "            see the rows: cfgit diff staging\n"));
  CHECK(CountOf(drift.out, "DRIFT") == 1);
  CHECK(drift.out.find('\033') == std::string::npos);  // not a terminal: no colour

  RunResult json = ws.Run("status --format json");
  CFGIT_EXPECT_EXIT(json, 0);
  CHECK_THAT(json.out, Catch::Contains(
                           "{\"environment\":\"staging\",\"protected\":true,\"head\":\"" + ws.head +
                           "\",\"deployed\":null,\"deployed_by_content\":false,"
                           "\"compared_with\":\"head\","
                           "\"drifted\":true,\"drift\":[{\"name\":\"collections\","
                           "\"added\":0,\"deleted\":0,\"modified\":1,"));
  CHECK_THAT(json.out, Catch::Contains("{\"environment\":\"dev\",\"protected\":false,"));
  CHECK_THAT(json.out, Catch::Contains("\"compared_with\":\"deployed\",\"drifted\":false"));

  // The rows of the drift, as the status suggests.
  RunResult rows = ws.Run("diff staging");
  CFGIT_EXPECT_EXIT(rows, 0);
  CHECK_THAT(rows.out, Catch::Contains("diff staging @staging\n"));
  CHECK_THAT(rows.out, Catch::Contains("  ~ (key='c2') title: 'Posts' -> 'Hand edit'\n"));
  CHECK_THAT(rows.out, Catch::Contains("  - (name='member') title: "));
  // Nothing moved.
  CHECK(ws.GitOut("rev-parse staging") == ws.head);
  CHECK(ws.Git("rev-parse --verify -q refs/cfgit/deployed/staging").exit_code != 0);
}

TEST_CASE("status of a protected database equal to an older commit of its branch",
          "[cli][status]") {
  // An environment cfgit has never written counts its live content as deployed when it equals
  // a commit on its branch's first-parent history. staging's database is the first snapshot;
  // its branch is at the second: no drift, the branch is ahead of what staging runs.
  Committed ws;
  fs::copy_file(ws.Db("dev"), ws.Db("staging"));
  Sqlite(ws.Db("dev"), "UPDATE roles SET title = 'Members' WHERE name = 'member';");
  std::string second = ws.Commit("dev", "second");
  CFGIT_EXPECT_EXIT(ws.Run("env add staging sqlite:staging.db --protected"), 0);
  CFGIT_EXPECT_EXIT(ws.Run("branch staging dev"), 0);
  RunResult r = ws.Run("status staging");
  CFGIT_EXPECT_EXIT(r, 0);
  CHECK(r.out ==
        "staging (protected)\n"
        "  branch:   " +
            second.substr(0, 10) +
            " second\n"
            "  deployed: " +
            ws.head.substr(0, 10) +
            " first (no record yet: the live "
            "database equals this commit)\n"
            "  live:     same as the deployed commit\n");
  RunResult json = ws.Run("status staging --format json");
  CHECK(json.out ==
        "{\"environments\":[{\"environment\":\"staging\",\"protected\":true,\"head\":\"" + second +
            "\",\"deployed\":\"" + ws.head +
            "\",\"deployed_by_content\":true,\"compared_with\":\"deployed\",\"drifted\":false,"
            "\"drift\":[],\"undeployed_commits\":0,\"merge\":null}]}\n");
  // A change that matches no commit of the branch: drift, measured against the head.
  Sqlite(ws.Db("staging"), "DELETE FROM roles WHERE name = 'root';");
  RunResult drift = ws.Run("status staging");
  CHECK(drift.out ==
        "staging (protected)\n"
        "  branch:   " +
            second.substr(0, 10) +
            " second\n"
            "  deployed: (none)\n"
            "  live:     DRIFT: the protected database was changed outside cfgit\n"
            "            roles  +0 -1 ~1\n"
            "            see the rows: cfgit diff staging\n");
  CHECK(ws.Git("rev-parse --verify -q refs/cfgit/deployed/staging").exit_code != 0);
}

TEST_CASE("status of environments never committed", "[cli][status]") {
  Committed ws;
  ws.AddEnv("qa");  // no database file either: it is not read without a commit to compare with
  CFGIT_EXPECT_EXIT(ws.Run("env add prod sqlite:prod.db --protected"), 0);
  RunResult r = ws.Run("status");
  CFGIT_EXPECT_EXIT(r, 0);
  CHECK(ws.Block(r.out, "qa") ==
        "qa\n"
        "  branch:   (none)\n"
        "  deployed: (none)\n"
        "  live:     not committed yet; snapshot it with: cfgit commit qa -m MESSAGE\n");
  CHECK(ws.Block(r.out, "prod") ==
        "prod (protected)\n"
        "  branch:   (none)\n"
        "  deployed: (none)\n"
        "  live:     no branch yet; start one from a snapshot with: cfgit branch prod REV\n");
  // In cfgit.yaml order.
  CHECK(r.out.find("dev\n") < r.out.find("qa\n"));
  CHECK(r.out.find("qa\n") < r.out.find("prod (protected)\n"));
  RunResult json = ws.Run("status qa prod --format json");
  CFGIT_EXPECT_EXIT(json, 0);
  CHECK(json.out ==
        "{\"environments\":[{\"environment\":\"qa\",\"protected\":false,\"head\":null,"
        "\"deployed\":null,\"deployed_by_content\":false,\"compared_with\":null,"
        "\"drifted\":false,\"drift\":[],\"undeployed_commits\":0,\"merge\":null},"
        "{\"environment\":\"prod\",\"protected\":true,\"head\":null,\"deployed\":null,"
        "\"deployed_by_content\":false,\"compared_with\":null,\"drifted\":false,"
        "\"drift\":[],\"undeployed_commits\":0,\"merge\":null}]}\n");

  // An unknown environment is a usage error; no environments at all is said so.
  RunResult unknown = ws.Run("status nosuch");
  CFGIT_EXPECT_EXIT(unknown, 2);
  CHECK_THAT(unknown.err, Catch::Contains("'nosuch'"));
  CHECK(unknown.out == "");
  Ws empty;
  RunResult none = empty.Run("status");
  CFGIT_EXPECT_EXIT(none, 0);
  CHECK_THAT(none.out, Catch::Contains("no environments yet"));
  CHECK(empty.Run("status --format json").out == "{\"environments\":[]}\n");
}

TEST_CASE("status with a database that cannot be read is exit 3 - the others are shown",
          "[cli][status]") {
  Ws ws;
  ws.AddEnv("gone");
  Sqlite(ws.Db("gone"), "CREATE TABLE t (id INTEGER PRIMARY KEY); INSERT INTO t VALUES (1);");
  std::string gone_head = ws.Commit("gone", "gone first");
  ws.AddEnv("dev");
  Sqlite(ws.Db("dev"), "CREATE TABLE t (id INTEGER PRIMARY KEY); INSERT INTO t VALUES (1);");
  std::string dev_head = ws.Commit("dev", "dev first");
  Sqlite(ws.Db("dev"), "INSERT INTO t VALUES (2);");
  fs::remove(ws.Db("gone"));

  RunResult r = ws.Run("status");
  CFGIT_EXPECT_EXIT(r, 3);
  CHECK_THAT(r.out, Catch::StartsWith("gone\n"
                                      "  branch:   " +
                                      gone_head.substr(0, 10) +
                                      " gone first\n"
                                      "  deployed: " +
                                      gone_head.substr(0, 10) +
                                      " gone first\n"
                                      "  live:     cannot read the database: "));
  CHECK_THAT(r.out, Catch::Contains(ws.Db("gone")));
  // dev, after the unreadable one, is still shown with its drift.
  CHECK_THAT(r.out, Catch::Contains("dev\n"
                                    "  branch:   " +
                                    dev_head.substr(0, 10) +
                                    " dev first\n"
                                    "  deployed: " +
                                    dev_head.substr(0, 10) +
                                    " dev first\n"
                                    "  live:     changed since the deployed commit\n"
                                    "            t  +1 -0 ~0\n"));
  CHECK_THAT(r.err, Catch::Contains("gone"));
  CHECK_FALSE(fs::exists(ws.Db("gone")));  // not created by the attempt

  RunResult json = ws.Run("status --format json");
  CFGIT_EXPECT_EXIT(json, 3);
  CHECK_THAT(json.out, Catch::StartsWith("{\"environments\":[{\"environment\":\"gone\","
                                         "\"protected\":false,\"head\":\"" +
                                         gone_head + "\",\"deployed\":\"" + gone_head +
                                         "\",\"deployed_by_content\":false,\"error\":\""));
  CHECK_THAT(json.out, Catch::Contains("{\"environment\":\"dev\",\"protected\":false,\"head\":\"" +
                                       dev_head + "\",\"deployed\":\"" + dev_head +
                                       "\",\"deployed_by_content\":false,"
                                       "\"compared_with\":\"deployed\",\"drifted\":true,"
                                       "\"drift\":[{\"name\":\"t\",\"added\":1,"));

  // Only the readable one: exit 0. A file that is not a database: exit 3 as well.
  CFGIT_EXPECT_EXIT(ws.Run("status dev"), 0);
  WriteFile(ws.Db("gone"), std::string(4096, 'x'));
  RunResult broken = ws.Run("status gone");
  CFGIT_EXPECT_EXIT(broken, 3);
  CHECK_THAT(broken.out, Catch::Contains("cannot read the database: "));
  CHECK(ReadFile(ws.Db("gone")) == std::string(4096, 'x'));
}

}  // namespace
}  // namespace cfgit::test
