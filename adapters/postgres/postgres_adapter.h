// The PostgreSQL adapter: environments at postgresql://... URLs and libpq keyword strings, on
// libpqxx 6.4. Reads the tables of the configured schemas (schema=, default public) through
// COPY in one REPEATABLE READ snapshot and keeps every value's exact text form
// (docs/postgresql.md).
#pragma once

#include <memory>
#include <string>

#include "adapters/adapter.h"

namespace cfgit {

// True for the URLs OpenPostgres takes: postgresql://, postgres:// and "host=... dbname=...".
bool IsPostgresUrl(const std::string& url);

// Connects and prepares the session (UTC, ISO dates, exact floats, hex bytea, UTF-8). A server
// that cannot be reached, or a configured schema that does not exist, is kDatabase naming the
// environment and the URL with its password hidden.
Result<std::unique_ptr<Adapter>> OpenPostgres(const std::string& url, const OpenOptions& options);

}  // namespace cfgit
