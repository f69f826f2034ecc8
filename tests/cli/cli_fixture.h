// Shared set-up for the end-to-end tests of the cfgit binary: a workspace in a temporary
// directory, a NocoBase-shaped SQLite database, and stock git reading the store.
#pragma once

#include <catch2/catch.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "tests/support/support.h"

namespace cfgit::test {

// Fails the test, showing the command's output, unless it exited with `code`.
#define CFGIT_EXPECT_EXIT(result, code)                  \
  do {                                                   \
    const ::cfgit::test::RunResult& cfgit_r_ = (result); \
    INFO("exit " << cfgit_r_.exit_code << "\nstdout:\n"  \
                 << cfgit_r_.out << "\nstderr:\n"        \
                 << cfgit_r_.err);                       \
    REQUIRE(cfgit_r_.exit_code == (code));               \
  } while (0)

inline std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  size_t i = 0;
  while (i < s.size() && s[i] == ' ') ++i;
  return s.substr(i);
}

inline std::vector<std::string> Lines(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string line;
  while (std::getline(ss, line)) out.push_back(line);
  return out;
}

inline size_t CountOf(const std::string& haystack, const std::string& needle) {
  size_t n = 0;
  for (size_t p = haystack.find(needle); p != std::string::npos; p = haystack.find(needle, p + 1))
    ++n;
  return n;
}

inline bool IsHexId(const std::string& s) {
  if (s.size() != 40) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

// A NocoBase-shaped configuration database: collections, fields (FK + UNIQUE), uiSchemas with
// JSON text and a column named "x-uid", roles, and the keyless uiSchemaTreePath.
inline const char* kNocoBaseSchema = R"sql(
CREATE TABLE collections (
  key TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, title TEXT, inherit INTEGER DEFAULT 0,
  hidden INTEGER NOT NULL DEFAULT 0, options TEXT, description TEXT, sort INTEGER);
CREATE TABLE fields (
  key TEXT PRIMARY KEY, name TEXT NOT NULL, type TEXT, interface TEXT,
  collectionName TEXT REFERENCES collections(name) ON DELETE CASCADE,
  parentKey TEXT, reverseKey TEXT, options TEXT, sort INTEGER,
  UNIQUE (collectionName, name));
CREATE TABLE uiSchemas ("x-uid" TEXT PRIMARY KEY, name TEXT, schema TEXT);
CREATE TABLE roles (
  name TEXT PRIMARY KEY, title TEXT, description TEXT, strategy TEXT, "default" INTEGER DEFAULT 0,
  hidden INTEGER DEFAULT 0, allowConfigure INTEGER, allowNewMenu INTEGER,
  snippets TEXT DEFAULT '["!ui.*","!pm","!pm.*"]', sort INTEGER);
CREATE TABLE uiSchemaTreePath (ancestor TEXT NOT NULL, descendant TEXT NOT NULL, depth INTEGER,
  async INTEGER, type TEXT, sort INTEGER);
)sql";

inline const char* kNocoBaseRows = R"sql(
INSERT INTO collections VALUES
  ('c1', 'users', '{{t("Users")}}', 0, 0, '{"sortable":"sort","logging":true}', NULL, 1),
  ('c2', 'posts', 'Posts', 0, 0, '{"sortable":true}', 'Blog posts', 2);
INSERT INTO fields VALUES
  ('f1', 'id', 'bigInt', 'id', 'users', NULL, NULL, '{"autoIncrement":true,"primaryKey":true}', 1),
  ('f2', 'nickname', 'string', 'input', 'users', NULL, NULL, '{"uiSchema":{"type":"string"}}', 2),
  ('f3', 'title', 'string', 'input', 'posts', NULL, NULL, '{}', 1);
INSERT INTO uiSchemas VALUES
  ('nocobase-admin-menu', 'menu', '{"type":"void","x-component":"Menu","properties":{}}'),
  ('k3pdfa1b', 'page', '{"type":"void","x-component":"Page","x-async":false}'),
  ('q8xgrid0', 'grid', '{"type":"void","x-component":"Grid"}');
INSERT INTO roles VALUES
  ('root', '{{t("Root")}}', NULL, NULL, 0, 1, NULL, NULL, '["ui.*","pm","pm.*"]', 0),
  ('admin', '{{t("Admin")}}', NULL, '{"actions":["create","view","update","destroy"]}', 0, 0, 1, 1, '["ui.*","pm","pm.*"]', 1),
  ('member', '{{t("Member")}}', NULL, '{"actions":["view","update:own"]}', 1, 0, NULL, 1, '["!ui.*","!pm","!pm.*"]', 2);
INSERT INTO uiSchemaTreePath VALUES
  ('nocobase-admin-menu', 'nocobase-admin-menu', 0, 0, NULL, NULL),
  ('nocobase-admin-menu', 'k3pdfa1b', 1, 0, 'properties', 1),
  ('k3pdfa1b', 'k3pdfa1b', 0, 0, NULL, NULL),
  ('k3pdfa1b', 'q8xgrid0', 1, 1, 'properties', 1),
  ('q8xgrid0', 'q8xgrid0', 0, 0, NULL, NULL),
  ('nocobase-admin-menu', 'q8xgrid0', 2, 1, 'properties', 1);
)sql";

// A temporary directory with `cfgit init` run in it.
class Ws {
 public:
  Ws() {
    RunResult r = Cfgit(dir_.path(), "init");
    CFGIT_EXPECT_EXIT(r, 0);
  }
  // An empty temporary directory, for a command that makes the workspace (cfgit clone URL .).
  struct Empty {};
  explicit Ws(Empty) {}
  const std::string& path() const { return dir_.path(); }
  std::string operator/(const std::string& name) const { return dir_ / name; }

  RunResult Run(const std::string& args) const { return Cfgit(dir_.path(), args); }
  // `git --git-dir=.cfgit ARGS` (stock git reading the store).
  RunResult Git(const std::string& args) const {
    return Shell(dir_.path(), "git --git-dir=.cfgit " + args);
  }
  // The trimmed stdout of a git command that must succeed.
  std::string GitOut(const std::string& args) const {
    RunResult r = Git(args);
    INFO("git " << args << "\n" << r.err);
    REQUIRE(r.exit_code == 0);
    return Trim(r.out);
  }
  // Adds environment NAME backed by sqlite:NAME.db.
  void AddEnv(const std::string& name, const std::string& extra = "") const {
    RunResult r = Run("env add " + name + " sqlite:" + name + ".db " + extra);
    CFGIT_EXPECT_EXIT(r, 0);
  }
  std::string Db(const std::string& env) const { return dir_ / (env + ".db"); }
  // Commits ENV and returns the new branch head (full id, read by stock git).
  std::string Commit(const std::string& env, const std::string& message) const {
    RunResult r = Run("commit " + env + " -m '" + message + "'");
    CFGIT_EXPECT_EXIT(r, 0);
    return GitOut("rev-parse refs/heads/" + env);
  }
  int CommitCount(const std::string& rev) const {
    return std::stoi(GitOut("rev-list --count " + rev));
  }
  // Row files of a table at REV (paths below tables/T/rows/).
  std::vector<std::string> RowFiles(const std::string& rev, const std::string& table) const {
    RunResult r = Git("ls-tree -r --name-only '" + rev + ":tables/" + table + "/rows'");
    if (r.exit_code != 0) return {};
    return Lines(r.out);
  }
  // The contents of every row file of a table at REV.
  std::vector<std::string> RowTexts(const std::string& rev, const std::string& table) const {
    std::vector<std::string> out;
    for (const std::string& f : RowFiles(rev, table)) {
      out.push_back(GitOut("show '" + rev + ":tables/" + table + "/rows/" + f + "'"));
    }
    return out;
  }

 private:
  TempDir dir_;
};

}  // namespace cfgit::test
