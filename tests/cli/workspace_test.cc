// End to end: cfgit init, finding the workspace, env add/list/remove, cfgit.yaml validation.
#include <filesystem>
#include <regex>

#include "tests/cli/cli_fixture.h"

namespace cfgit::test {
namespace {

namespace fs = std::filesystem;

// Every file below `dir` with its contents, for "nothing changed" checks.
std::string TreeFingerprint(const std::string& dir) {
  std::vector<std::string> entries;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    std::string line = e.path().string();
    if (e.is_regular_file()) line += "=" + ReadFile(e.path().string());
    entries.push_back(line);
  }
  std::sort(entries.begin(), entries.end());
  std::string out;
  for (const auto& e : entries) out += e + "\n";
  return out;
}

TEST_CASE("init creates a commented cfgit.yaml and a bare store", "[cli][init]") {
  TempDir dir;
  RunResult r = Cfgit(dir.path(), "init");
  CFGIT_EXPECT_EXIT(r, 0);
  CHECK_THAT(r.out, Catch::Contains("Initialized a cfgit workspace"));

  std::string config = ReadFile(dir / "cfgit.yaml");
  CHECK_THAT(config, Catch::Contains("environments:"));
  CHECK_THAT(config, Catch::Contains("tables:"));
  CHECK_THAT(config, Catch::StartsWith("#"));  // commented
  CHECK(fs::is_directory(dir / ".cfgit"));

  RunResult bare = Shell(dir.path(), "git --git-dir=.cfgit rev-parse --is-bare-repository");
  CFGIT_EXPECT_EXIT(bare, 0);
  CHECK(Trim(bare.out) == "true");
  CFGIT_EXPECT_EXIT(Shell(dir.path(), "git --git-dir=.cfgit fsck --strict"), 0);
  // A fresh workspace lists no environments, no commits.
  RunResult list = Cfgit(dir.path(), "env list");
  CFGIT_EXPECT_EXIT(list, 0);
  CHECK_THAT(list.out, Catch::Contains("No environments yet"));
  RunResult log = Cfgit(dir.path(), "log");
  CFGIT_EXPECT_EXIT(log, 0);
  CHECK_THAT(log.out, Catch::Contains("No commits yet"));
}

TEST_CASE("init twice refuses with exit 2 and changes nothing", "[cli][init]") {
  Ws ws;
  ws.AddEnv("dev");
  Sqlite(ws.Db("dev"),
         "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t VALUES (1, 'a');");
  ws.Commit("dev", "first");
  std::string before = TreeFingerprint(ws.path());

  RunResult r = ws.Run("init");
  CFGIT_EXPECT_EXIT(r, 2);
  CHECK_THAT(r.err, Catch::Contains("already a cfgit workspace"));
  CHECK_THAT(r.err, Catch::Contains("nothing was changed"));
  CHECK(TreeFingerprint(ws.path()) == before);

  SECTION("also when only the store is left") {
    fs::remove(ws / "cfgit.yaml");
    std::string store_before = TreeFingerprint(ws / ".cfgit");
    RunResult again = ws.Run("init");
    CFGIT_EXPECT_EXIT(again, 2);
    CHECK_FALSE(fs::exists(ws / "cfgit.yaml"));
    CHECK(TreeFingerprint(ws / ".cfgit") == store_before);
  }
}

TEST_CASE("commands find the workspace from a subdirectory and with -C", "[cli][init]") {
  Ws ws;
  ws.AddEnv("dev");
  Sqlite(ws.Db("dev"), "CREATE TABLE t (id INTEGER PRIMARY KEY); INSERT INTO t VALUES (1);");
  fs::create_directories(ws / "sub/deeper");

  SECTION("from a subdirectory") {
    RunResult list = Cfgit(ws / "sub/deeper", "env list");
    CFGIT_EXPECT_EXIT(list, 0);
    CHECK_THAT(list.out, Catch::Contains("dev"));
    CHECK_THAT(list.out, Catch::Contains("sqlite:dev.db"));
    // Relative sqlite: paths are taken from the workspace root, not the current directory.
    RunResult commit = Cfgit(ws / "sub/deeper", "commit dev -m from-subdir");
    CFGIT_EXPECT_EXIT(commit, 0);
    CHECK(ws.GitOut("log -1 --format=%s refs/heads/dev") == "from-subdir");
  }
  SECTION("with -C DIR from elsewhere") {
    TempDir elsewhere;
    RunResult commit = Cfgit(elsewhere.path(), "-C '" + ws.path() + "' commit dev -m via-C");
    CFGIT_EXPECT_EXIT(commit, 0);
    CHECK(ws.GitOut("log -1 --format=%s refs/heads/dev") == "via-C");
    RunResult log = Cfgit(elsewhere.path(), "-C '" + (ws / "sub") + "' log");
    CFGIT_EXPECT_EXIT(log, 0);
    CHECK_THAT(log.out, Catch::Contains("via-C"));
  }
  SECTION("init -C DIR creates the workspace there") {
    TempDir other;
    fs::create_directories(other / "w");
    CFGIT_EXPECT_EXIT(Cfgit(other.path(), "-C w init"), 0);
    CHECK(fs::exists(other / "w/cfgit.yaml"));
    CHECK(fs::is_directory(other / "w/.cfgit"));
    CHECK_FALSE(fs::exists(other / "cfgit.yaml"));
  }
}

TEST_CASE("outside a workspace commands exit 2 and point at cfgit init", "[cli][init]") {
  TempDir dir;
  for (const char* args : {"env list", "log", "commit dev -m x", "branch", "tag"}) {
    INFO(args);
    RunResult r = Cfgit(dir.path(), args);
    CFGIT_EXPECT_EXIT(r, 2);
    CHECK_THAT(r.err, Catch::Contains("cfgit init"));
  }
  RunResult r = Cfgit(dir.path(), "-C '" + (dir / "missing") + "' log");
  CFGIT_EXPECT_EXIT(r, 2);
  CHECK_THAT(r.err, Catch::Contains("missing"));
}

TEST_CASE("env add, list (text and json) and remove", "[cli][env]") {
  Ws ws;
  RunResult add = ws.Run("env add dev-alice sqlite:dev-alice.db");
  CFGIT_EXPECT_EXIT(add, 0);
  CHECK_THAT(add.out, Catch::Contains("dev-alice"));
  CFGIT_EXPECT_EXIT(ws.Run("env add staging sqlite:data/staging.db --protected"), 0);

  RunResult list = ws.Run("env list");
  CFGIT_EXPECT_EXIT(list, 0);
  std::vector<std::string> lines = Lines(list.out);
  REQUIRE(lines.size() == 2);
  CHECK_THAT(lines[0], Catch::StartsWith("dev-alice") && Catch::Contains("sqlite:dev-alice.db") &&
                           Catch::Contains("(no commits)"));
  CHECK_THAT(lines[1], Catch::StartsWith("staging") && Catch::Contains("sqlite:data/staging.db") &&
                           Catch::Contains("[protected]"));

  RunResult json = ws.Run("env list --format json");
  CFGIT_EXPECT_EXIT(json, 0);
  CHECK(Trim(json.out) ==
        R"([{"name":"dev-alice","url":"sqlite:dev-alice.db","protected":false,"head":null},)"
        R"({"name":"staging","url":"sqlite:data/staging.db","protected":true,"head":null}])");

  // After a commit the head shows up.
  Sqlite(ws.Db("dev-alice"), "CREATE TABLE t (id INTEGER PRIMARY KEY); INSERT INTO t VALUES (1);");
  std::string head = ws.Commit("dev-alice", "first");
  RunResult json2 = ws.Run("env list --format json");
  CHECK_THAT(json2.out,
             Catch::Contains(
                 R"("name":"dev-alice","url":"sqlite:dev-alice.db","protected":false,"head":")" +
                 head + "\""));
  CHECK_THAT(ws.Run("env list").out, Catch::Contains(head.substr(0, 10)));

  RunResult remove = ws.Run("env remove staging");
  CFGIT_EXPECT_EXIT(remove, 0);
  RunResult after = ws.Run("env list");
  CHECK_THAT(after.out, !Catch::Contains("staging"));
  CHECK_THAT(after.out, Catch::Contains("dev-alice"));
  CHECK_THAT(ReadFile(ws / "cfgit.yaml"), !Catch::Contains("staging: {"));
  CHECK_THAT(ReadFile(ws / "cfgit.yaml"), !Catch::Contains("sqlite:data/staging.db"));

  // Removing an environment keeps its branch and says how to delete it.
  RunResult remove_dev = ws.Run("env remove dev-alice");
  CFGIT_EXPECT_EXIT(remove_dev, 0);
  CHECK_THAT(remove_dev.out, Catch::Contains("cfgit branch -d dev-alice"));
  CHECK(ws.GitOut("rev-parse refs/heads/dev-alice") == head);
}

TEST_CASE("env add keeps the comments and layout of cfgit.yaml", "[cli][env]") {
  Ws ws;
  std::string original = ReadFile(ws / "cfgit.yaml");
  CFGIT_EXPECT_EXIT(ws.Run("env add dev sqlite:dev.db"), 0);
  CFGIT_EXPECT_EXIT(ws.Run("env add prod sqlite:prod.db --protected"), 0);
  std::string updated = ReadFile(ws / "cfgit.yaml");
  // Every original line is still there, in order.
  size_t at = 0;
  for (const std::string& line : Lines(original)) {
    size_t found = updated.find(line + "\n", at);
    INFO("line missing or moved: " << line << "\n--- file now:\n" << updated);
    REQUIRE(found != std::string::npos);
    at = found + line.size();
  }
  CHECK(updated.size() > original.size());
  CHECK_THAT(updated, Catch::Contains("dev:") && Catch::Contains("sqlite:dev.db"));
  CHECK_THAT(updated, Catch::Contains("prod:") && Catch::Contains("protected: true"));

  // A hand-written file with a comment of its own, and an entry in block style.
  WriteFile(ws / "cfgit.yaml",
            "# my own comment\n"
            "environments:\n"
            "  # the first dev database\n"
            "  dev:\n"
            "    url: sqlite:dev.db   # trailing comment\n"
            "tables:\n"
            "  logs: { rule: skip }  # never\n");
  CFGIT_EXPECT_EXIT(ws.Run("env add qa sqlite:qa.db"), 0);
  std::string hand = ReadFile(ws / "cfgit.yaml");
  CHECK_THAT(hand, Catch::Contains("# my own comment\n"));
  CHECK_THAT(hand, Catch::Contains("  # the first dev database\n"));
  CHECK_THAT(hand, Catch::Contains("    url: sqlite:dev.db   # trailing comment\n"));
  CHECK_THAT(hand, Catch::Contains("  logs: { rule: skip }  # never\n"));
  RunResult list = ws.Run("env list");
  CFGIT_EXPECT_EXIT(list, 0);
  CHECK_THAT(list.out, Catch::Contains("dev") && Catch::Contains("sqlite:qa.db"));
  CFGIT_EXPECT_EXIT(ws.Run("env remove dev"), 0);
  std::string removed = ReadFile(ws / "cfgit.yaml");
  CHECK_THAT(removed, !Catch::Contains("sqlite:dev.db"));
  CHECK_THAT(removed, Catch::Contains("# my own comment\n"));
  CHECK_THAT(removed, Catch::Contains("  logs: { rule: skip }  # never\n"));
  CHECK_THAT(removed, Catch::Contains("sqlite:qa.db"));
}

TEST_CASE("env add and remove edit cfgit.yaml as docs/config.md shows", "[cli][env]") {
  Ws ws;
  WriteFile(ws / "cfgit.yaml",
            "environments:\n"
            "  dev: { url: \"sqlite:dev.db\" }   # Ada's database\n"
            "  # shared staging server\n"
            "  staging:\n"
            "    url: \"sqlite:staging.db\"\n"
            "    protected: true\n"
            "\n"
            "tables:\n"
            "  logs: { rule: skip }\n");
  CFGIT_EXPECT_EXIT(
      ws.Run("env add prod 'postgresql://cfg@db.internal/app?password=${PROD_DB_PASSWORD}' "
             "--protected"),
      0);
  CFGIT_EXPECT_EXIT(ws.Run("env remove staging"), 0);
  CHECK(ReadFile(ws / "cfgit.yaml") ==
        "environments:\n"
        "  dev: { url: \"sqlite:dev.db\" }   # Ada's database\n"
        "  # shared staging server\n"
        "  prod: { url: \"postgresql://cfg@db.internal/app?password=${PROD_DB_PASSWORD}\", "
        "protected: true }\n"
        "\n"
        "tables:\n"
        "  logs: { rule: skip }\n");
  // Written whole and renamed: no temporary file is left beside it.
  for (const auto& e : fs::directory_iterator(ws.path())) {
    CHECK(e.path().filename().string().rfind("cfgit.yaml.tmp", 0) == std::string::npos);
  }

  SECTION("environments: ~ gets its first entry below it") {
    WriteFile(ws / "cfgit.yaml",
              "# top\nenvironments: ~   # none yet\ntables:\n  logs: { rule: skip }\n");
    CFGIT_EXPECT_EXIT(ws.Run("env add dev sqlite:dev.db"), 0);
    CHECK(ReadFile(ws / "cfgit.yaml") ==
          "# top\nenvironments:\n  dev: { url: \"sqlite:dev.db\" }\ntables:\n  logs: { rule: skip "
          "}\n");
  }
  SECTION("no environments: key at all") {
    WriteFile(ws / "cfgit.yaml", "tables:\n  logs: { rule: skip }\n");
    CFGIT_EXPECT_EXIT(ws.Run("env add dev sqlite:dev.db"), 0);
    CHECK(ReadFile(ws / "cfgit.yaml") ==
          "tables:\n  logs: { rule: skip }\nenvironments:\n  dev: { url: \"sqlite:dev.db\" }\n");
  }
  SECTION("an empty file is a valid configuration") {
    WriteFile(ws / "cfgit.yaml", "");
    RunResult list = ws.Run("env list");
    CFGIT_EXPECT_EXIT(list, 0);
    CHECK_THAT(list.out, Catch::Contains("No environments yet"));
  }
  SECTION("a one-line flow mapping is refused with exit 4, unchanged") {
    std::string flow = "environments: { dev: { url: \"sqlite:dev.db\" } }\n";
    WriteFile(ws / "cfgit.yaml", flow);
    CFGIT_EXPECT_EXIT(ws.Run("env list"), 0);
    RunResult add = ws.Run("env add qa sqlite:qa.db");
    CFGIT_EXPECT_EXIT(add, 4);
    CHECK_THAT(add.err, Catch::Contains("flow mapping"));
    RunResult remove = ws.Run("env remove dev");
    CFGIT_EXPECT_EXIT(remove, 4);
    CHECK(ReadFile(ws / "cfgit.yaml") == flow);
  }
}

// Regression test: store/config.cc:380-391 (AddEnvironment, at commit aa4a556) takes a document
// that is empty or only comments for "environments: with no entries" and looks for that line: on an
// empty file it indexes lines[0] of an empty vector (abort/segfault), on a first line shorter than
// 13 characters substr(13) throws std::out_of_range (abort), and otherwise it overwrites the first
// line (a comment the user wrote) with "environments:".
TEST_CASE("env add into an empty or comment-only cfgit.yaml", "[cli][env]") {
  Ws ws;
  for (const std::string& text : {std::string(""), std::string("# short\n"),
                                  std::string("# a longer comment line\n\n# another\n")}) {
    INFO("cfgit.yaml was: '" << text << "'");
    WriteFile(ws / "cfgit.yaml", text);
    RunResult r = ws.Run("env add dev sqlite:dev.db");
    INFO("exit " << r.exit_code << "\n" << r.err);
    CHECK(r.exit_code == 0);
    CHECK(ReadFile(ws / "cfgit.yaml") ==
          text + "environments:\n  dev: { url: \"sqlite:dev.db\" }\n");
  }
}

// Regression test: store/config.cc:332-340 (CheckEnvironmentName, at aa4a556) accepts "HEAD", which
// stock git refuses as a branch name: `cfgit env add HEAD …` + commit makes refs/heads/HEAD, the
// store's HEAD becomes "ref: refs/heads/HEAD", and every stock git command warns "refname 'HEAD' is
// ambiguous". `cfgit branch HEAD REV` (cmd/branch.cc uses the same check) creates it too.
TEST_CASE("HEAD is not a valid environment or branch name", "[cli][env]") {
  Ws ws;
  RunResult env = ws.Run("env add HEAD sqlite:head.db");
  CHECK(env.exit_code == 2);
  ws.AddEnv("dev");
  Sqlite(ws.Db("dev"), "CREATE TABLE t (id INTEGER PRIMARY KEY); INSERT INTO t VALUES (1);");
  ws.Commit("dev", "first");
  RunResult branch = ws.Run("branch HEAD dev");
  CHECK(branch.exit_code == 2);
  CHECK(ws.Git("rev-parse -q --verify refs/heads/HEAD").exit_code != 0);
}

TEST_CASE("init inside a workspace makes a nested one", "[cli][init]") {
  Ws outer;
  outer.AddEnv("outer-env");
  fs::create_directories(outer / "inner");
  CFGIT_EXPECT_EXIT(Cfgit(outer / "inner", "init"), 0);
  RunResult list = Cfgit(outer / "inner", "env list");
  CFGIT_EXPECT_EXIT(list, 0);
  CHECK_THAT(list.out, Catch::Contains("No environments yet"));
  CHECK_THAT(outer.Run("env list").out, Catch::Contains("outer-env"));
}

TEST_CASE("help, version and argument errors", "[cli]") {
  TempDir dir;
  RunResult version = Cfgit(dir.path(), "--version");
  CFGIT_EXPECT_EXIT(version, 0);
  CHECK(Trim(version.out) == "cfgit 0.1.0");
  RunResult help = Cfgit(dir.path(), "--help");
  CFGIT_EXPECT_EXIT(help, 0);
  CHECK_THAT(help.out,
             Catch::Contains("commit") && Catch::Contains("init") && Catch::Contains("tag"));
  CFGIT_EXPECT_EXIT(Cfgit(dir.path(), "commit --help"), 0);
  CFGIT_EXPECT_EXIT(Cfgit(dir.path(), ""), 2);
  CFGIT_EXPECT_EXIT(Cfgit(dir.path(), "frobnicate"), 2);
  CFGIT_EXPECT_EXIT(Cfgit(dir.path(), "log --bogus"), 2);
  Ws ws;
  RunResult format = ws.Run("env list --format yaml");
  CFGIT_EXPECT_EXIT(format, 2);
  CHECK(format.out.empty());
}

TEST_CASE("the PostgreSQL adapter is a module loaded only for PostgreSQL environments",
          "[cli][env]") {
  // cfgit does not link libpq: commands that open no PostgreSQL environment never load it.
  RunResult linked = Shell(".", "ldd '" CFGIT_BINARY "'");
  CFGIT_EXPECT_EXIT(linked, 0);
  CHECK_THAT(linked.out, !Catch::Contains("libpq"));
  RunResult module = Shell(".", "ldd '" CFGIT_POSTGRES_MODULE "'");
  CFGIT_EXPECT_EXIT(module, 0);
  CHECK_THAT(module.out, Catch::Contains("libpqxx") && Catch::Contains("libpq.so"));

  Ws ws;
  ws.AddEnv("dev");
  Sqlite(ws.Db("dev"), "CREATE TABLE t (id INTEGER PRIMARY KEY); INSERT INTO t VALUES (1);");
  CFGIT_EXPECT_EXIT(ws.Run("env add prod postgresql://cfg@127.0.0.1:1/app"), 0);
  auto with_module = [&](const std::string& path, const std::string& args) {
    return Shell(ws.path(), "CFGIT_POSTGRES_MODULE='" + path + "' '" CFGIT_BINARY "' " + args);
  };
  // Without the module, a SQLite environment commits as ever ...
  const std::string missing = ws / "nowhere/cfgit-postgres.so";
  CFGIT_EXPECT_EXIT(with_module(missing, "commit dev -m first"), 0);
  // ... and a PostgreSQL one fails with exit 3 naming the file and where it belongs.
  const std::string before = TreeFingerprint(ws.path());
  RunResult gone = with_module(missing, "diff @prod");
  CFGIT_EXPECT_EXIT(gone, 3);
  CHECK_THAT(gone.err, Catch::Contains("environment 'prod'") &&
                           Catch::Contains("the PostgreSQL adapter cannot be loaded") &&
                           Catch::Contains(missing) &&
                           Catch::Contains("beside the cfgit executable"));
  // A file that is not this build's module is refused, not called: a library that is no module,
  // and this build's module with another build's id.
  RunResult libstdcxx =
      Shell(".", "ldd '" CFGIT_BINARY "' | awk '/libstdc[+][+][.]so/ {print $3}'");
  REQUIRE_FALSE(Trim(libstdcxx.out).empty());
  RunResult foreign = with_module(Trim(libstdcxx.out), "diff @prod");
  CFGIT_EXPECT_EXIT(foreign, 3);
  CHECK_THAT(foreign.err, Catch::Contains("comes from another build of cfgit"));
  std::string bytes = ReadFile(CFGIT_POSTGRES_MODULE);
  std::smatch id;
  REQUIRE(std::regex_search(bytes, id, std::regex("[0-9]{8}T[0-9]{6}-[A-Za-z0-9]{12}")));
  bytes[static_cast<size_t>(id.position(0))] =
      '1' + (bytes[static_cast<size_t>(id.position(0))] == '1');
  TempDir elsewhere;
  const std::string other = elsewhere / "cfgit-postgres.so";
  WriteFile(other, bytes);
  RunResult other_build = with_module(other, "diff @prod");
  CFGIT_EXPECT_EXIT(other_build, 3);
  CHECK_THAT(other_build.err, Catch::Contains("comes from another build of cfgit"));
  CHECK(TreeFingerprint(ws.path()) == before);
  // cfgit finds the module beside itself (Cfgit runs it without the variable): it loads and
  // tries the server, which refuses.
  RunResult beside = ws.Run("diff @prod");
  CFGIT_EXPECT_EXIT(beside, 3);
  CHECK_THAT(beside.err, Catch::Contains("cannot connect") && !Catch::Contains("cannot be loaded"));
}

TEST_CASE("cfgit links its C libraries from their archives and exports none of their symbols",
          "[cli][env]") {
  // Each shared library costs every command its loading and symbol binding (CMakeLists.txt).
  RunResult linked = Shell(".", "ldd '" CFGIT_BINARY "'");
  CFGIT_EXPECT_EXIT(linked, 0);
  CHECK_THAT(linked.out, Catch::Contains("libc.so") && Catch::Contains("libstdc++.so"));
  for (const char* archived : {"libgit2", "libsqlite3", "libyaml-cpp", "libcrypto", "libz.so",
                               "libxxhash", "libmbed", "libssh2", "libpcre2", "libhttp_parser"}) {
    INFO(archived);
    CHECK_THAT(linked.out, !Catch::Contains(archived));
  }
  // GSSAPI and Kerberos are opened when libgit2 first calls them (store/gssapi.cc).
  for (const char* deferred : {"libgssapi", "libkrb5", "libk5crypto", "libcom_err"}) {
    INFO(deferred);
    CHECK_THAT(linked.out, !Catch::Contains(deferred));
  }
  // cfgit exports its own symbols for the PostgreSQL module (every cfgit symbol the module
  // binds to), and not the archives': libpq binds to its own libcrypto, not to the one inside
  // cfgit.
  RunResult exported = Shell(".", "nm -D --defined-only '" CFGIT_BINARY "'");
  CFGIT_EXPECT_EXIT(exported, 0);
  RunResult imported = Shell(".", "nm -D --undefined-only '" CFGIT_POSTGRES_MODULE
                                  "' | awk '$2 ~ /^_ZN5cfgit/ {print $2}'");
  CFGIT_EXPECT_EXIT(imported, 0);
  std::istringstream wanted(imported.out);
  size_t checked = 0;
  for (std::string symbol; std::getline(wanted, symbol); ++checked) {
    INFO(symbol);
    CHECK_THAT(exported.out, Catch::Contains(" " + symbol + "\n"));
  }
  CHECK(checked > 10);
  for (const char* hidden :
       {" git_libgit2_init\n", " sqlite3_open_v2\n", " SHA1_Update\n", " inflate\n",
        " XXH3_64bits\n", " mbedtls_ssl_init\n", " gss_", " GSS_C_"}) {
    INFO(hidden);
    CHECK_THAT(exported.out, !Catch::Contains(hidden));
  }
}

TEST_CASE("env add and remove reject bad input with exit 2 and change nothing", "[cli][env]") {
  Ws ws;
  ws.AddEnv("dev");
  std::string before = ReadFile(ws / "cfgit.yaml");

  SECTION("duplicate name") {
    RunResult r = ws.Run("env add dev sqlite:other.db");
    CFGIT_EXPECT_EXIT(r, 2);
    CHECK_THAT(r.err, Catch::Contains("'dev' already exists"));
  }
  SECTION("bad names") {
    for (const char* name :
         {"'a b'", "-- -dev", ".dev", "a/b", "a..b", "dev.lock", "'x$y'", "'é'"}) {
      INFO(name);
      RunResult r = ws.Run(std::string("env add ") + name + " sqlite:x.db");
      CFGIT_EXPECT_EXIT(r, 2);
      CHECK_THAT(r.err, Catch::Contains("not a valid environment name"));
    }
  }
  SECTION("malformed URLs") {
    for (const char* url :
         {"sqlite:", "dev.db", "mysql://x/y", "postgresql://", "http://example.com"}) {
      INFO(url);
      RunResult r = ws.Run(std::string("env add qa '") + url + "'");
      CFGIT_EXPECT_EXIT(r, 2);
      CHECK_THAT(r.err, Catch::Contains("malformed URL"));
    }
  }
  SECTION("remove an unknown environment") {
    RunResult r = ws.Run("env remove nope");
    CFGIT_EXPECT_EXIT(r, 2);
    CHECK_THAT(r.err, Catch::Contains("no environment 'nope'"));
    CHECK_THAT(r.err, Catch::Contains("cfgit env list"));
  }
  CHECK(ReadFile(ws / "cfgit.yaml") == before);
}

TEST_CASE("env add never writes a password into output", "[cli][env]") {
  Ws ws;
  RunResult r = ws.Run("env add prod 'postgresql://cfg:s3cret@db.internal/app' --protected");
  CFGIT_EXPECT_EXIT(r, 0);
  CHECK_THAT(r.out + r.err, !Catch::Contains("s3cret"));
  RunResult list = ws.Run("env list");
  CFGIT_EXPECT_EXIT(list, 0);
  CHECK_THAT(list.out, !Catch::Contains("s3cret"));
  CHECK_THAT(list.out, Catch::Contains("postgresql://cfg:***@db.internal/app"));
  RunResult json = ws.Run("env list --format json");
  CHECK_THAT(json.out, !Catch::Contains("s3cret"));
}

// Writes `text` as cfgit.yaml and expects every command to fail with exit 4 and `expect` in the
// message (which must name cfgit.yaml).
void ExpectInvalidConfig(const Ws& ws, const std::string& text, const std::string& expect) {
  WriteFile(ws / "cfgit.yaml", text);
  for (const char* args : {"env list", "log", "commit dev -m x", "env add qa sqlite:qa.db"}) {
    INFO(args << "\n--- cfgit.yaml:\n" << text);
    RunResult r = ws.Run(args);
    CFGIT_EXPECT_EXIT(r, 4);
    CHECK_THAT(r.err, Catch::Contains(expect));
  }
  CHECK(ReadFile(ws / "cfgit.yaml") == text);  // env add did not touch it
}

TEST_CASE("an invalid cfgit.yaml is exit 4 naming file, line and column", "[cli][config]") {
  Ws ws;
  SECTION("unknown top-level key") {
    ExpectInvalidConfig(ws,
                        "environments:\n"
                        "  dev: { url: \"sqlite:dev.db\" }\n"
                        "tabels:\n"
                        "  logs: { rule: skip }\n",
                        "cfgit.yaml:3:1: unknown key 'tabels'");
  }
  SECTION("unknown key in an environment") {
    ExpectInvalidConfig(ws,
                        "environments:\n"
                        "  dev: { url: \"sqlite:dev.db\", protect: true }\n",
                        "cfgit.yaml:2:32: unknown key 'protect'");
  }
  SECTION("unknown key in a table entry") {
    ExpectInvalidConfig(ws,
                        "environments:\n"
                        "  dev: { url: \"sqlite:dev.db\" }\n"
                        "tables:\n"
                        "  logs:\n"
                        "    rule: skip\n"
                        "    keys: [id]\n",
                        "cfgit.yaml:6:5: unknown key 'keys'");
  }
  SECTION("bad rule name") {
    ExpectInvalidConfig(ws,
                        "environments:\n"
                        "  dev: { url: \"sqlite:dev.db\" }\n"
                        "tables:\n"
                        "  \"*\": { rule: merge }\n"
                        "  logs: { rule: skipp }\n",
                        "cfgit.yaml:5:17: unknown rule 'skipp'");
  }
  SECTION("malformed URL") {
    ExpectInvalidConfig(ws,
                        "environments:\n"
                        "  dev: { url: \"sqlite:dev.db\" }\n"
                        "  qa:\n"
                        "    url: \"mysql://db/app\"\n",
                        "cfgit.yaml:4:10: malformed URL");
  }
  SECTION("bad environment name") {
    ExpectInvalidConfig(ws,
                        "environments:\n"
                        "  \"dev alice\": { url: \"sqlite:dev.db\" }\n",
                        "cfgit.yaml:2:3:");
  }
  SECTION("invalid YAML") {
    ExpectInvalidConfig(ws,
                        "environments:\n"
                        "  dev: { url: \"sqlite:dev.db\"\n"
                        "tables: [\n",
                        "cfgit.yaml:");
    RunResult r = ws.Run("env list");
    // The message gives a line and a column.
    CHECK_THAT(r.err, Catch::Matches("cfgit: [^\\n]*/cfgit\\.yaml:[0-9]+:[0-9]+: [^\\n]+\\n"));
  }
  SECTION("a mapping where a list of columns belongs") {
    ExpectInvalidConfig(ws,
                        "environments:\n"
                        "  dev: { url: \"sqlite:dev.db\" }\n"
                        "tables:\n"
                        "  roles: { key: { a: b } }\n",
                        "cfgit.yaml:4:17: key must be a list of column names");
  }
}

TEST_CASE("a missing cfgit.yaml beside the store is exit 4", "[cli][config]") {
  Ws ws;
  fs::remove(ws / "cfgit.yaml");
  for (const char* args : {"env list", "log", "commit dev -m x"}) {
    INFO(args);
    RunResult r = ws.Run(args);
    CFGIT_EXPECT_EXIT(r, 4);
    CHECK_THAT(r.err, Catch::Contains("cfgit.yaml is missing"));
  }
}

// Regression test: store/config.cc:188 (ReadFile, at commit aa4a556) opens a directory with
// std::ifstream, which succeeds on Linux; reading it fails silently and the empty text parses as an
// empty configuration (exit 0).
TEST_CASE("a directory in place of cfgit.yaml is exit 4", "[cli][config]") {
  Ws ws;
  ws.AddEnv("dev");
  fs::remove(ws / "cfgit.yaml");
  fs::create_directory(ws / "cfgit.yaml");
  RunResult r = ws.Run("env list");
  CFGIT_EXPECT_EXIT(r, 4);
  CHECK_THAT(r.err, Catch::Contains("cfgit.yaml"));
}

TEST_CASE("a store that is not a repository is exit 4", "[cli][config]") {
  Ws ws;
  fs::remove_all(ws / ".cfgit");
  fs::create_directory(ws / ".cfgit");
  RunResult r = ws.Run("log");
  CFGIT_EXPECT_EXIT(r, 4);
  CHECK_THAT(r.err, Catch::Contains(".cfgit"));
  CHECK_THAT(r.err, Catch::Contains("not a valid cfgit store"));
}

}  // namespace
}  // namespace cfgit::test
