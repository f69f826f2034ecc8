#include "adapters/adapter.h"

#include "adapters/postgres/postgres_adapter.h"
#include "adapters/sqlite/sqlite_adapter.h"

namespace cfgit {

Result<std::unique_ptr<Adapter>> Adapter::Open(const std::string& url, const OpenOptions& options) {
  if (url.rfind("sqlite:", 0) == 0) return OpenSqlite(url.substr(7), options);
  if (IsPostgresUrl(url)) return OpenPostgres(url, options);
  return Status::Invalid("environment '" + options.environment + "': unknown database URL '" +
                         RedactUrl(url) +
                         "'; expected sqlite:PATH, postgresql://USER@HOST[:PORT]/DB or "
                         "'host=... dbname=...'");
}

}  // namespace cfgit
