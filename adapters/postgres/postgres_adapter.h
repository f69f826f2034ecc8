// The PostgreSQL adapter: environments at postgresql://... URLs and libpq keyword strings, on
// libpqxx 6.4. Reads the tables of the configured schemas (schema=, default public) through COPY
// in one REPEATABLE READ snapshot and keeps every value's exact text form (docs/postgresql.md).
// Built as the module cfgit-postgres.so, which exports OpenPostgres (module.h).
#pragma once

#include <memory>
#include <string>

#include "adapters/adapter.h"

namespace cfgit {

// Connects and prepares the session (UTC, ISO dates, exact floats, hex bytea, UTF-8). A server
// that cannot be reached, or a configured schema that does not exist, is kDatabase naming the
// environment and the URL with its password hidden.
Result<std::unique_ptr<Adapter>> OpenPostgres(const std::string& url, const OpenOptions& options);

}  // namespace cfgit
