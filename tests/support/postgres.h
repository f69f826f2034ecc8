// Test support for PostgreSQL: the server scripts/with-postgres.sh started, psql as an oracle
// independent of the code under test, and a fresh database per test.
#pragma once

#include <string>
#include <vector>

#include "tests/support/support.h"

namespace cfgit::test {

// CFGIT_TEST_PG, or "" when it is unset: then the calling test fails under CFGIT_REQUIRE_PG=1
// (the test command) and is skipped with a warning otherwise.
std::string PgServer();

std::string ShellQuote(const std::string& s);

// Runs SQL through psql on a libpq connection string (`flags` go to psql).
RunResult Psql(const std::string& conninfo, const std::string& sql, const std::string& flags = "");

// A database created on `server` for one test and dropped at its end.
class PgTestDatabase {
 public:
  explicit PgTestDatabase(std::string server);
  ~PgTestDatabase();
  PgTestDatabase(const PgTestDatabase&) = delete;
  PgTestDatabase& operator=(const PgTestDatabase&) = delete;

  const std::string& name() const { return name_; }
  std::string conninfo() const { return server_ + " dbname=" + name_; }
  // Runs SQL; fails the test on error.
  void Exec(const std::string& sql) const;
  // Rows as "a|b|c" lines; NULL prints as NULL.
  std::vector<std::string> Rows(const std::string& sql) const;

 private:
  std::string server_;
  std::string name_;
};

}  // namespace cfgit::test
