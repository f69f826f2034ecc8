#include "tests/support/postgres.h"

#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <cstdlib>

namespace cfgit::test {

std::string PgServer() {
  const char* server = std::getenv("CFGIT_TEST_PG");
  if (server && *server) return server;
  const char* require = std::getenv("CFGIT_REQUIRE_PG");
  if (require && std::string(require) == "1") {
    FAIL(
        "CFGIT_TEST_PG is not set but CFGIT_REQUIRE_PG=1: run the tests through "
        "scripts/with-postgres.sh");
  }
  WARN(
      "CFGIT_TEST_PG is not set: PostgreSQL test skipped (run it through "
      "scripts/with-postgres.sh)");
  return "";
}

std::string ShellQuote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out.push_back(c);
    }
  }
  return out + "'";
}

RunResult Psql(const std::string& conninfo, const std::string& sql, const std::string& flags) {
  TempDir dir;
  WriteFile(dir / "q.sql", sql);
  return Shell(dir.path(), "psql -X -q -v ON_ERROR_STOP=1 " + flags + " -d " +
                               ShellQuote(conninfo) + " -f q.sql");
}

PgTestDatabase::PgTestDatabase(std::string server) : server_(std::move(server)) {
  static std::atomic<int> counter{0};
  name_ = "cfgit_t" + std::to_string(::getpid()) + "_" + std::to_string(++counter);
  auto r = Psql(server_, "CREATE DATABASE " + name_ + " TEMPLATE template0 ENCODING 'UTF8'");
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
}

PgTestDatabase::~PgTestDatabase() {
  Psql(server_, "DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
}

void PgTestDatabase::Exec(const std::string& sql) const {
  auto r = Psql(conninfo(), sql);
  INFO(sql << "\n" << r.err);
  REQUIRE(r.exit_code == 0);
}

std::vector<std::string> PgTestDatabase::Rows(const std::string& sql) const {
  auto r = Psql(conninfo(), sql, "-A -t -F '|' -P null=NULL");
  INFO(sql << "\n" << r.err);
  REQUIRE(r.exit_code == 0);
  std::vector<std::string> out;
  size_t start = 0;
  while (start < r.out.size()) {
    size_t nl = r.out.find('\n', start);
    out.push_back(r.out.substr(start, nl - start));
    if (nl == std::string::npos) break;
    start = nl + 1;
  }
  return out;
}

}  // namespace cfgit::test
