#include "tests/support/support.h"

#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace cfgit::test {

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string tmpl = std::string(base ? base : "/tmp") + "/cfgit-test-XXXXXX";
  char* made = mkdtemp(tmpl.data());
  REQUIRE(made != nullptr);
  path_ = made;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

void Sqlite(const std::string& db_path, const std::string& sql) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(db_path.c_str(), &db) == SQLITE_OK);
  char* err = nullptr;
  int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
  std::string message = err ? err : "";
  sqlite3_free(err);
  sqlite3_close(db);
  INFO(sql);
  REQUIRE(message == "");
  REQUIRE(rc == SQLITE_OK);
}

std::vector<std::string> SqliteRows(const std::string& db_path, const std::string& sql) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(db_path.c_str(), &db) == SQLITE_OK);
  sqlite3_stmt* s = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, sql.c_str(), -1, &s, nullptr) == SQLITE_OK);
  std::vector<std::string> rows;
  while (sqlite3_step(s) == SQLITE_ROW) {
    std::string line;
    for (int i = 0; i < sqlite3_column_count(s); ++i) {
      const unsigned char* t = sqlite3_column_text(s, i);
      line += (i ? "|" : "") + (t ? std::string(reinterpret_cast<const char*>(t)) : "NULL");
    }
    rows.push_back(line);
  }
  sqlite3_finalize(s);
  sqlite3_close(db);
  return rows;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  REQUIRE(out.good());
}

RunResult Shell(const std::string& dir, const std::string& command_line) {
  TempDir capture;
  std::string full = "cd '" + dir + "' && ( " + command_line + " ) >'" + capture / "out" + "' 2>'" +
                     capture / "err" + "' </dev/null";
  int status = std::system(full.c_str());
  RunResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = ReadFile(capture / "out");
  r.err = ReadFile(capture / "err");
  return r;
}

RunResult Cfgit(const std::string& dir, const std::string& args) {
  // cfgit finds its PostgreSQL module beside itself, as it does installed (main.cc sets this).
  return Shell(dir,
               "env -u CFGIT_POSTGRES_MODULE CFGIT_TIME=1700000000 CFGIT_AUTHOR_NAME='Test Author' "
               "CFGIT_AUTHOR_EMAIL=test@example.com '" CFGIT_BINARY "' " +
                   args);
}

}  // namespace cfgit::test
