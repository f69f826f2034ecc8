// Test support: temporary directories, real SQLite files, and running the built cfgit binary.
#pragma once

#include <string>
#include <vector>

namespace cfgit::test {

// A fresh directory under $TMPDIR, removed (with its contents) on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// Runs SQL statements on a SQLite file (created if missing); fails the test on error.
void Sqlite(const std::string& db_path, const std::string& sql);
// The rows of a query as text lines ("a|b|c"), for comparing database content.
std::vector<std::string> SqliteRows(const std::string& db_path, const std::string& sql);

struct RunResult {
  int exit_code = -1;
  std::string out;  // stdout
  std::string err;  // stderr
};
// Runs a shell command line in `dir`; stdout and stderr are captured separately.
RunResult Shell(const std::string& dir, const std::string& command_line);
// Runs the cfgit binary under test with `args` (a shell-quoted argument string) in `dir`.
// CFGIT_TIME, CFGIT_AUTHOR_NAME and CFGIT_AUTHOR_EMAIL are pinned so commit ids are stable.
RunResult Cfgit(const std::string& dir, const std::string& args);

std::string ReadFile(const std::string& path);
void WriteFile(const std::string& path, const std::string& text);

}  // namespace cfgit::test
