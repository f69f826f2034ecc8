// End to end: log, show, tag and branch; stock git on the store; bulk commits; concurrency.
#include <filesystem>
#include <regex>

#include "tests/cli/cli_fixture.h"

namespace cfgit::test {
namespace {

namespace fs = std::filesystem;

// dev with three commits: "first", "second", "third" (returned oldest first).
struct ThreeCommits : Ws {
  std::vector<std::string> ids;
  ThreeCommits() {
    AddEnv("dev");
    Sqlite(Db("dev"),
           "CREATE TABLE settings (name TEXT PRIMARY KEY, value TEXT);"
           "INSERT INTO settings VALUES ('theme', 'light');");
    ids.push_back(Commit("dev", "first"));
    Sqlite(Db("dev"), "UPDATE settings SET value = 'dark';");
    ids.push_back(Commit("dev", "second"));
    Sqlite(Db("dev"), "INSERT INTO settings VALUES ('lang', 'en');");
    ids.push_back(Commit("dev", "third"));
  }
};

// The commit ids `cfgit log ARGS` prints, in order.
std::vector<std::string> LoggedIds(const Ws& ws, const std::string& args) {
  RunResult r = ws.Run("log " + args);
  CFGIT_EXPECT_EXIT(r, 0);
  std::vector<std::string> ids;
  for (const std::string& line : Lines(r.out)) {
    if (line.rfind("commit ", 0) == 0) ids.push_back(line.substr(7, 40));
  }
  return ids;
}

TEST_CASE("log follows revisions: -n, REV~N, REV^, short ids", "[cli][log]") {
  ThreeCommits ws;
  const auto& c = ws.ids;
  REQUIRE(c.size() == 3);
  CHECK(LoggedIds(ws, "") == std::vector<std::string>{c[2], c[1], c[0]});
  CHECK(LoggedIds(ws, "dev") == std::vector<std::string>{c[2], c[1], c[0]});
  CHECK(LoggedIds(ws, "dev -n 2") == std::vector<std::string>{c[2], c[1]});
  CHECK(LoggedIds(ws, "-n 1 dev") == std::vector<std::string>{c[2]});
  CHECK(LoggedIds(ws, "dev~1") == std::vector<std::string>{c[1], c[0]});
  CHECK(LoggedIds(ws, "dev^") == std::vector<std::string>{c[1], c[0]});
  CHECK(LoggedIds(ws, "dev~2") == std::vector<std::string>{c[0]});
  CHECK(LoggedIds(ws, "dev^^") == std::vector<std::string>{c[0]});
  CHECK(LoggedIds(ws, c[1].substr(0, 7)) == std::vector<std::string>{c[1], c[0]});
  CHECK(LoggedIds(ws, c[2].substr(0, 7) + "~2") == std::vector<std::string>{c[0]});
  CHECK(LoggedIds(ws, c[0]) == std::vector<std::string>{c[0]});
  CHECK(LoggedIds(ws, c[2].substr(0, 4)) == std::vector<std::string>{c[2], c[1], c[0]});
  CHECK(LoggedIds(ws, "HEAD~1") == std::vector<std::string>{c[1], c[0]});
  CHECK(LoggedIds(ws, "refs/heads/dev^") == std::vector<std::string>{c[1], c[0]});
  CHECK(LoggedIds(ws, "refs/cfgit/deployed/dev") == std::vector<std::string>{c[2], c[1], c[0]});
  CHECK(LoggedIds(ws, "'dev@{1}'") == std::vector<std::string>{c[1], c[0]});
  CHECK(LoggedIds(ws, "dev -n 0") ==
        std::vector<std::string>{c[2], c[1], c[0]});  // documented: all

  RunResult text = ws.Run("log dev -n 1");
  CHECK(text.out == "commit " + c[2] +
                        " (dev)\n"
                        "Author: Test Author <test@example.com>\n"
                        "Date:   2023-11-14T22:13:20+00:00\n\n"
                        "    third\n\n");

  RunResult show = ws.Run("show " + c[1].substr(0, 8));
  CFGIT_EXPECT_EXIT(show, 0);
  CHECK_THAT(show.out, Catch::StartsWith("commit " + c[1] + "\n"));
  CHECK_THAT(show.out, Catch::Contains(" settings  +0 -0 ~1\n"));
}

TEST_CASE("log --format json has the documented shape", "[cli][log]") {
  ThreeCommits ws;
  const auto& c = ws.ids;
  RunResult r = ws.Run("log dev -n 2 --format json");
  CFGIT_EXPECT_EXIT(r, 0);
  std::regex shape(
      R"re(\[\{"id":"([0-9a-f]{40})","parents":\["([0-9a-f]{40})"\],"message":"third(\\n)?",)re"
      R"re("author":"Test Author <test@example.com>","time":"2023-11-14T22:13:20\+00:00"\},)re"
      R"re(\{"id":"([0-9a-f]{40})","parents":\["([0-9a-f]{40})"\],"message":"second(\\n)?",)re"
      R"re("author":"Test Author <test@example.com>","time":"2023-11-14T22:13:20\+00:00"\}\]\n)re");
  std::smatch m;
  INFO(r.out);
  REQUIRE(std::regex_match(r.out, m, shape));
  CHECK(m[1] == c[2]);
  CHECK(m[2] == c[1]);
  CHECK(m[4] == c[1]);
  CHECK(m[5] == c[0]);

  RunResult root = ws.Run("log dev~2 --format json");
  CFGIT_EXPECT_EXIT(root, 0);
  CHECK_THAT(root.out,
             Catch::StartsWith("[{\"id\":\"" + c[0] + "\",\"parents\":[],\"message\":\"first"));

  // Quotes, backslashes and newlines in a message are escaped.
  Sqlite(ws.Db("dev"), "DELETE FROM settings WHERE name = 'lang';");
  RunResult commit = ws.Run("commit dev -m 'say \"hi\" \\ now\nsecond line'");
  CFGIT_EXPECT_EXIT(commit, 0);
  RunResult escaped = ws.Run("log -n 1 --format json");
  CHECK_THAT(escaped.out, Catch::Contains("\"message\":\"say \\\"hi\\\" \\\\ now\\nsecond line"));

  RunResult empty_store = Ws().Run("log --format json");
  CFGIT_EXPECT_EXIT(empty_store, 0);
  CHECK(empty_store.out == "[]\n");
}

TEST_CASE("log without a revision shows every branch", "[cli][log]") {
  ThreeCommits ws;
  ws.AddEnv("qa");
  Sqlite(ws.Db("qa"), "CREATE TABLE q (id INTEGER PRIMARY KEY);");
  std::string qa = ws.Commit("qa", "qa first");
  std::vector<std::string> ids = LoggedIds(ws, "");
  CHECK(ids.size() == 4);
  CHECK(std::count(ids.begin(), ids.end(), qa) == 1);
  CHECK(std::count(ids.begin(), ids.end(), ws.ids[0]) == 1);
  RunResult r = ws.Run("log");
  CHECK_THAT(r.out, Catch::Contains("commit " + qa + " (qa)\n"));
  CHECK_THAT(r.out, Catch::Contains("commit " + ws.ids[2] + " (dev)\n"));
}

TEST_CASE("unknown revisions are exit 2", "[cli][log]") {
  ThreeCommits ws;
  for (const char* args : {"log nope", "log dev~5", "show nope", "show dev~3", "log 'dev@{'",
                           "branch feature nope", "tag v1 nope", "show 0000000"}) {
    INFO(args);
    RunResult r = ws.Run(args);
    CFGIT_EXPECT_EXIT(r, 2);
    CHECK_THAT(r.err, Catch::Contains("revision"));
    CHECK(r.out.empty());
  }
  CHECK(ws.GitOut("for-each-ref --format='%(refname)' refs/heads refs/tags") == "refs/heads/dev");

  RunResult short_id = ws.Run("show abc");  // fewer than 4 digits: always ambiguous
  CFGIT_EXPECT_EXIT(short_id, 2);
  CHECK_THAT(short_id.err, Catch::Contains("ambiguous"));
  RunResult tree = ws.Run("show 'dev^{tree}'");
  CFGIT_EXPECT_EXIT(tree, 2);
  CHECK_THAT(tree.err, Catch::Contains("does not name a commit"));
}

TEST_CASE("branch and tag need a commit for HEAD in a store without commits", "[cli][branch]") {
  Ws ws;
  for (const char* args : {"branch feature", "tag v1", "show HEAD", "log HEAD"}) {
    INFO(args);
    RunResult r = ws.Run(args);
    CFGIT_EXPECT_EXIT(r, 2);
    CHECK_THAT(r.err, Catch::Contains("HEAD"));
  }
  RunResult branches = ws.Run("branch");
  CFGIT_EXPECT_EXIT(branches, 0);
  CHECK_THAT(branches.out, Catch::Contains("No branches yet"));
  CHECK(ws.Run("branch --format json").out == "[]\n");
  RunResult tags = ws.Run("tag");
  CFGIT_EXPECT_EXIT(tags, 0);
  CHECK_THAT(tags.out, Catch::Contains("No tags yet"));
  CHECK(ws.Run("tag --format json").out == "[]\n");
}

TEST_CASE("tag NAME REV -m MSG makes an annotated tag that log decorates", "[cli][tag]") {
  ThreeCommits ws;
  const auto& c = ws.ids;
  RunResult r = ws.Run("tag v1 dev~1 -m 'Release 1'");
  CFGIT_EXPECT_EXIT(r, 0);
  CHECK_THAT(r.out, Catch::Contains(c[1].substr(0, 10)) && Catch::Contains("v1"));
  CHECK(ws.GitOut("cat-file -t refs/tags/v1") == "tag");
  CHECK(ws.GitOut("rev-parse 'v1^{commit}'") == c[1]);
  std::string tag = ws.GitOut("cat-file -p refs/tags/v1");
  CHECK_THAT(
      tag, Catch::Contains("object " + c[1] +
                           "\ntype commit\ntag v1\n"
                           "tagger Test Author <test@example.com> 1700000000 +0000\n\nRelease 1"));
  CFGIT_EXPECT_EXIT(ws.Git("fsck --strict"), 0);

  RunResult log = ws.Run("log");
  CHECK_THAT(log.out, Catch::Contains("commit " + c[1] + " (tag: v1)\n"));
  CHECK_THAT(log.out, Catch::Contains("commit " + c[2] + " (dev)\n"));
  CHECK(LoggedIds(ws, "v1") == std::vector<std::string>{c[1], c[0]});
  CHECK(LoggedIds(ws, "v1~1") == std::vector<std::string>{c[0]});

  // The tag list, text and json.
  RunResult list = ws.Run("tag");
  CFGIT_EXPECT_EXIT(list, 0);
  CHECK(list.out == "v1  " + c[1].substr(0, 10) + "  Release 1\n");
  RunResult json = ws.Run("tag --format json");
  CHECK_THAT(json.out, Catch::StartsWith("[{\"name\":\"v1\",\"commit\":\"" + c[1] +
                                         "\",\"message\":\"Release 1"));

  // Tagging twice is refused and leaves the tag alone.
  std::string tag_id = ws.GitOut("rev-parse refs/tags/v1");
  RunResult twice = ws.Run("tag v1 dev -m again");
  CFGIT_EXPECT_EXIT(twice, 2);
  CHECK_THAT(twice.err, Catch::Contains("tag 'v1' already exists"));
  CHECK(ws.GitOut("rev-parse refs/tags/v1") == tag_id);

  // Without REV: the store's HEAD (the first environment committed); without -m: a default.
  CFGIT_EXPECT_EXIT(ws.Run("tag v2"), 0);
  CHECK(ws.GitOut("rev-parse 'v2^{commit}'") == c[2]);
  CHECK(ws.GitOut("cat-file -t v2") == "tag");
  CHECK_THAT(ws.GitOut("cat-file -p v2"), Catch::EndsWith("Release v2"));

  // Bad names, deletion.
  RunResult bad = ws.Run("tag 'bad name' dev");
  CFGIT_EXPECT_EXIT(bad, 2);
  CHECK_THAT(bad.err, Catch::Contains("not a valid tag name"));
  CFGIT_EXPECT_EXIT(ws.Run("tag -d v2"), 0);
  CHECK(ws.Git("rev-parse --verify -q refs/tags/v2").exit_code != 0);
  CFGIT_EXPECT_EXIT(ws.Run("tag -d v2"), 2);
}

// Regression test: `cfgit tag dev REV` is accepted although an environment's branch is called
// dev; from then on `cfgit log dev` and `cfgit show dev` silently mean the tag (libgit2's revparse
// tries refs/tags/ before refs/heads/), so they no longer show the environment's branch. Stock git
// at least warns "refname 'dev' is ambiguous". store/repo.cc CreateTag (and cmd/branch.cc for the
// reverse case) should refuse a name that is already a branch (tag), or ResolveCommit should
// refuse an ambiguous name.
TEST_CASE("a tag cannot hide an environment's branch", "[cli][tag]") {
  ThreeCommits ws;
  RunResult tag = ws.Run("tag dev dev~2");
  if (tag.exit_code == 2) {
    SUCCEED("refused");
  } else {
    RunResult show = ws.Run("show dev");
    CHECK_THAT(show.out, Catch::StartsWith("commit " + ws.ids[2] + "\n"));
  }
}

TEST_CASE("deleting the branch HEAD names leaves HEAD unborn until the next commit",
          "[cli][branch]") {
  ThreeCommits ws;
  CHECK(ws.GitOut("symbolic-ref HEAD") == "refs/heads/dev");
  CFGIT_EXPECT_EXIT(ws.Run("env remove dev"), 0);
  CFGIT_EXPECT_EXIT(ws.Run("branch -d dev"), 0);
  RunResult tag = ws.Run("tag v1");
  CFGIT_EXPECT_EXIT(tag, 2);
  CHECK_THAT(tag.err, Catch::Contains("HEAD"));
  ws.AddEnv("qa");
  Sqlite(ws.Db("qa"), "CREATE TABLE q (id INTEGER PRIMARY KEY);");
  std::string qa = ws.Commit("qa", "qa first");
  CHECK(ws.GitOut("symbolic-ref HEAD") == "refs/heads/qa");
  CFGIT_EXPECT_EXIT(ws.Run("tag v1"), 0);
  CHECK(ws.GitOut("rev-parse 'v1^{commit}'") == qa);
  CFGIT_EXPECT_EXIT(ws.Git("fsck --strict --no-dangling"), 0);
}

TEST_CASE("branch create, list and delete", "[cli][branch]") {
  ThreeCommits ws;
  const auto& c = ws.ids;
  RunResult create = ws.Run("branch feature dev~1");
  CFGIT_EXPECT_EXIT(create, 0);
  CHECK_THAT(create.out, Catch::Contains(c[1].substr(0, 10)));
  CHECK(ws.GitOut("rev-parse refs/heads/feature") == c[1]);
  CFGIT_EXPECT_EXIT(ws.Run("branch from-short " + c[0].substr(0, 7)), 0);
  CHECK(ws.GitOut("rev-parse refs/heads/from-short") == c[0]);
  CFGIT_EXPECT_EXIT(ws.Run("branch at-head"), 0);  // default: the store's HEAD
  CHECK(ws.GitOut("rev-parse refs/heads/at-head") == c[2]);

  RunResult list = ws.Run("branch");
  CFGIT_EXPECT_EXIT(list, 0);
  CHECK(list.out == "at-head     " + c[2].substr(0, 10) +
                        "  third\n"
                        "dev         " +
                        c[2].substr(0, 10) +
                        "  third\n"
                        "feature     " +
                        c[1].substr(0, 10) +
                        "  second\n"
                        "from-short  " +
                        c[0].substr(0, 10) + "  first\n");
  RunResult json = ws.Run("branch --format json");
  CHECK_THAT(json.out,
             Catch::Contains("{\"name\":\"dev\",\"head\":\"" + c[2] + "\",\"environment\":true}"));
  CHECK_THAT(json.out, Catch::Contains("{\"name\":\"feature\",\"head\":\"" + c[1] +
                                       "\",\"environment\":false}"));
  CHECK_THAT(ws.Run("log").out, Catch::Contains("commit " + c[1] + " (feature)\n"));

  RunResult exists = ws.Run("branch feature dev");
  CFGIT_EXPECT_EXIT(exists, 2);
  CHECK_THAT(exists.err, Catch::Contains("already exists"));
  CHECK(ws.GitOut("rev-parse refs/heads/feature") == c[1]);
  CFGIT_EXPECT_EXIT(ws.Run("branch 'bad name' dev"), 2);
  CFGIT_EXPECT_EXIT(ws.Run("branch bad..name dev"), 2);

  RunResult del = ws.Run("branch -d feature");
  CFGIT_EXPECT_EXIT(del, 0);
  CHECK_THAT(del.out, Catch::Contains(c[1].substr(0, 10)));
  CHECK(ws.Git("rev-parse --verify -q refs/heads/feature").exit_code != 0);
  RunResult gone = ws.Run("branch -d feature");
  CFGIT_EXPECT_EXIT(gone, 2);
  CHECK_THAT(gone.err, Catch::Contains("no branch 'feature'"));

  // An environment's branch cannot be deleted while the environment exists.
  RunResult env_branch = ws.Run("branch -d dev");
  CFGIT_EXPECT_EXIT(env_branch, 2);
  CHECK_THAT(env_branch.err, Catch::Contains("cfgit env remove dev"));
  CHECK(ws.GitOut("rev-parse refs/heads/dev") == c[2]);
  CFGIT_EXPECT_EXIT(ws.Run("env remove dev"), 0);
  CFGIT_EXPECT_EXIT(ws.Run("branch -d dev"), 0);
  CHECK(ws.Git("rev-parse --verify -q refs/heads/dev").exit_code != 0);
}

TEST_CASE("stock git reads the store: fsck, log, show, clone", "[cli][git]") {
  ThreeCommits ws;
  CFGIT_EXPECT_EXIT(ws.Git("fsck --strict --no-dangling"), 0);
  RunResult fsck = ws.Git("fsck --strict");
  CHECK(fsck.err.find("error") == std::string::npos);
  CHECK(ws.GitOut("log --format=%s dev") == "third\nsecond\nfirst");
  CHECK(ws.GitOut("log --format=%H dev") == ws.ids[2] + "\n" + ws.ids[1] + "\n" + ws.ids[0]);
  CHECK(ws.GitOut("log -1 --format='%an <%ae> %at' dev") ==
        "Test Author <test@example.com> 1700000000");
  CHECK(ws.GitOut("log --format=%s") == "third\nsecond\nfirst");  // HEAD is dev
  CHECK(ws.GitOut("show dev~1:tables/settings/rows/$(git --git-dir=.cfgit ls-tree -r --name-only "
                  "dev:tables/settings/rows | grep theme)") == "name: 'theme'\nvalue: 'dark'");
  // The reflog records every move of the branch.
  CHECK(Lines(ws.GitOut("reflog show --format=%H refs/heads/dev")).size() == 3);

  // A clone checks out the snapshot as readable files.
  RunResult clone = Shell(ws.path(), "git clone -q .cfgit checkout && ls checkout/tables/settings");
  CFGIT_EXPECT_EXIT(clone, 0);
  CHECK(clone.out == "rows\nschema.yaml\n");
}

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

TEST_CASE("a 100k-row commit is written as a pack, not as loose objects", "[cli][scale]") {
  Ws ws;
  ws.AddEnv("dev");
  Sqlite(ws.Db("dev"),
         "CREATE TABLE big (id INTEGER PRIMARY KEY, name TEXT NOT NULL, n INTEGER);"
         "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 100000) "
         "INSERT INTO big SELECT i, 'row ' || i, i * 7 FROM c;");
  RunResult r = ws.Run("commit dev -m bulk");
  CFGIT_EXPECT_EXIT(r, 0);
  CHECK_THAT(r.out, Catch::Contains(" big  new table, +100000 -0 ~0\n"));
  CHECK_THAT(r.out, Catch::Contains(" 1 tables, 100000 rows in the snapshot\n"));
  CHECK(LooseObjects(ws) <= 5);
  CHECK(ws.GitOut("ls-tree -r --name-only dev:tables/big/rows | wc -l") == "100000");
  // Fan-out keeps every tree small.
  CHECK(std::stoi(ws.GitOut("ls-tree dev:tables/big/rows | wc -l")) <= 256);
  CHECK(std::stoi(ws.GitOut("ls-tree -r -t dev:tables/big/rows | awk '$2 == \"tree\"' | wc -l")) >
        256);
  std::string sample = ws.GitOut("ls-tree -r --name-only dev:tables/big/rows | grep '/4242.yaml$'");
  CHECK(ws.GitOut("show dev:tables/big/rows/" + sample) ==
        "id: 4242\nname: 'row 4242'\n'n': 29694");  // YAML 1.1 reads a bare n as false

  // One changed row: a small pack, still no loose objects.
  Sqlite(ws.Db("dev"), "UPDATE big SET name = 'changed' WHERE id = 4242;");
  RunResult r2 = ws.Run("commit dev -m one-row");
  CFGIT_EXPECT_EXIT(r2, 0);
  CHECK_THAT(r2.out, Catch::Contains(" big  +0 -0 ~1\n"));
  CHECK(LooseObjects(ws) <= 5);
  CHECK(ws.GitOut("diff --name-only dev~1 dev") == "tables/big/rows/" + sample);
  CFGIT_EXPECT_EXIT(ws.Git("fsck --strict --no-dangling"), 0);
}

// Starts `cfgit ARGS_A` and `cfgit ARGS_B` at the same moment; returns both results.
std::pair<RunResult, RunResult> RunTogether(const Ws& ws, const std::string& a,
                                            const std::string& b) {
  std::string env =
      "CFGIT_TIME=1700000000 CFGIT_AUTHOR_NAME='Test Author' "
      "CFGIT_AUTHOR_EMAIL=test@example.com '" CFGIT_BINARY "' ";
  TempDir out;
  std::string cmd = "( " + env + a + " >'" + (out / "a.out") + "' 2>'" + (out / "a.err") +
                    "'; echo $? >'" + (out / "a.rc") + "' ) & ( " + env + b + " >'" +
                    (out / "b.out") + "' 2>'" + (out / "b.err") + "'; echo $? >'" + (out / "b.rc") +
                    "' ) & wait";
  RunResult both = Shell(ws.path(), cmd);
  REQUIRE(both.exit_code == 0);
  RunResult ra{std::stoi(ReadFile(out / "a.rc")), ReadFile(out / "a.out"), ReadFile(out / "a.err")};
  RunResult rb{std::stoi(ReadFile(out / "b.rc")), ReadFile(out / "b.out"), ReadFile(out / "b.err")};
  return {ra, rb};
}

// Either succeeded, or failed cleanly on the lock.
void ExpectCleanOutcome(const RunResult& r) {
  INFO("exit " << r.exit_code << "\nstdout:\n" << r.out << "\nstderr:\n" << r.err);
  if (r.exit_code == 0) return;
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.err, Catch::Contains("another cfgit command is writing to this workspace"));
}

TEST_CASE("two commits at once on one workspace never corrupt the store", "[cli][concurrency]") {
  Ws ws;
  ws.AddEnv("dev-alice");
  ws.AddEnv("dev-bob");
  for (const char* env : {"dev-alice", "dev-bob"}) {
    Sqlite(ws.Db(env),
           std::string(kNocoBaseSchema) + kNocoBaseRows +
               "CREATE TABLE bulk (id INTEGER PRIMARY KEY, v TEXT);"
               "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 5000) "
               "INSERT INTO bulk SELECT i, '" +
               env + " ' || i FROM c;");
  }
  for (int round = 0; round < 3; ++round) {
    INFO("round " << round);
    std::string a0 = Trim(ws.Git("rev-parse -q --verify refs/heads/dev-alice").out);
    std::string b0 = Trim(ws.Git("rev-parse -q --verify refs/heads/dev-bob").out);
    auto [ra, rb] = RunTogether(ws, "commit dev-alice -m 'alice " + std::to_string(round) + "'",
                                "commit dev-bob -m 'bob " + std::to_string(round) + "'");
    ExpectCleanOutcome(ra);
    ExpectCleanOutcome(rb);
    // Each branch moved exactly when its commit succeeded.
    std::string a1 = Trim(ws.Git("rev-parse -q --verify refs/heads/dev-alice").out);
    std::string b1 = Trim(ws.Git("rev-parse -q --verify refs/heads/dev-bob").out);
    CHECK((a1 != a0) == (ra.exit_code == 0));
    CHECK((b1 != b0) == (rb.exit_code == 0));
    CFGIT_EXPECT_EXIT(ws.Git("fsck --strict --no-dangling"), 0);
    if (ra.exit_code == 0)
      CHECK(ws.GitOut("log -1 --format=%s dev-alice") == "alice " + std::to_string(round));
    if (rb.exit_code == 0)
      CHECK(ws.GitOut("log -1 --format=%s dev-bob") == "bob " + std::to_string(round));
    Sqlite(ws.Db("dev-alice"), "UPDATE bulk SET v = v || 'a' WHERE id % 100 = 0;");
    Sqlite(ws.Db("dev-bob"), "UPDATE bulk SET v = v || 'b' WHERE id % 100 = 1;");
  }
  // Whatever happened, the stores' snapshots are complete.
  for (const char* env : {"dev-alice", "dev-bob"}) {
    if (ws.Git(std::string("rev-parse -q --verify refs/heads/") + env).exit_code != 0) continue;
    CHECK(ws.GitOut(std::string("ls-tree -r --name-only ") + env + ":tables/bulk/rows | wc -l") ==
          "5000");
  }
  CHECK(LooseObjects(ws) <= 5);
}

TEST_CASE("two commits at once of one environment make one commit", "[cli][concurrency]") {
  Ws ws;
  ws.AddEnv("dev");
  Sqlite(ws.Db("dev"),
         std::string(kNocoBaseSchema) + kNocoBaseRows +
             "CREATE TABLE bulk (id INTEGER PRIMARY KEY, v TEXT);"
             "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 5000) "
             "INSERT INTO bulk SELECT i, 'v ' || i FROM c;");
  auto [ra, rb] = RunTogether(ws, "commit dev -m one", "commit dev -m two");
  ExpectCleanOutcome(ra);
  ExpectCleanOutcome(rb);
  REQUIRE((ra.exit_code == 0 || rb.exit_code == 0));
  // The same content: one commit, and the other command found nothing to commit.
  CHECK(ws.CommitCount("dev") == 1);
  if (ra.exit_code == 0 && rb.exit_code == 0) {
    CHECK(CountOf(ra.out + rb.out, "nothing to commit") == 1);
  }
  CFGIT_EXPECT_EXIT(ws.Git("fsck --strict --no-dangling"), 0);
}

TEST_CASE("a writer waits for the lock, then fails with a clear message", "[cli][concurrency]") {
  ThreeCommits ws;
  // Hold the workspace lock with flock(1) for longer than `cfgit branch` waits (5 s).
  RunResult held = Shell(ws.path(),
                         "flock .cfgit/cfgit.lock sleep 6.5 & sleep 0.5; "
                         "'" CFGIT_BINARY "' branch feature dev; echo rc=$?; wait");
  INFO(held.out << held.err);
  CHECK_THAT(held.out, Catch::Contains("rc=1"));
  CHECK_THAT(held.err, Catch::Contains("another cfgit command is writing to this workspace"));
  CHECK_THAT(held.err, Catch::Contains(".cfgit/cfgit.lock is locked"));
  CHECK(ws.Git("rev-parse -q --verify refs/heads/feature").exit_code != 0);
  // A writer that waits less than the holder keeps the lock goes through; readers never wait.
  RunResult waited = Shell(ws.path(),
                           "flock .cfgit/cfgit.lock sleep 1 & sleep 0.3; "
                           "'" CFGIT_BINARY
                           "' log -n 1 >/dev/null; echo log=$?; "
                           "'" CFGIT_BINARY "' branch feature dev; echo rc=$?; wait");
  INFO(waited.out << waited.err);
  CHECK_THAT(waited.out, Catch::Contains("log=0"));
  CHECK_THAT(waited.out, Catch::Contains("rc=0"));
  CHECK(ws.GitOut("rev-parse refs/heads/feature") == ws.ids[2]);
}

}  // namespace
}  // namespace cfgit::test
