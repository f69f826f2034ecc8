// What cfgit reads from a PostgreSQL environment's URL before libpq sees it.
//
// Two forms are accepted, as libpq accepts them: a URL (postgresql://user[:password]@host[:port]/db
// ?param=value&...) and a keyword string (host=... dbname=... with 'single quoted' values).
// cfgit's own parameter `schema` (one schema or a comma list; default public) is taken out; the
// rest is handed to libpq unchanged, so service files, ~/.pgpass and PG* variables work as they do
// for psql. Pure functions, no pqxx.
#pragma once

#include <string>
#include <vector>

#include "store/status.h"

namespace cfgit::pg {

struct ConnectionTarget {
  std::string conninfo;              // for libpq: the URL without cfgit's parameters
  std::vector<std::string> schemas;  // the schemas whose tables are versioned, in the order given
};

// Parses `url` (its ${VAR}s already expanded). A malformed schema list or a keyword string that
// ends inside a quoted value is kInvalid.
Result<ConnectionTarget> ParseConnectionTarget(const std::string& url);

// The URL or keyword string with every password replaced by ***, for messages.
std::string RedactConnection(const std::string& url);

// True for the URLs this adapter opens: postgresql://, postgres:// and libpq keyword strings.
bool IsPostgresUrl(const std::string& url);

}  // namespace cfgit::pg
