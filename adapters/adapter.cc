#include "adapters/adapter.h"

#include "adapters/sqlite/sqlite_adapter.h"

namespace cfgit {

Result<std::unique_ptr<Adapter>> Adapter::Open(const std::string& url, const OpenOptions& options) {
  if (url.rfind("sqlite:", 0) == 0) return OpenSqlite(url.substr(7), options);
  if (url.rfind("postgresql://", 0) == 0 || url.rfind("postgres://", 0) == 0 ||
      url.find('=') != std::string::npos) {
    return Status::Invalid("environment '" + options.environment +
                           "' is a PostgreSQL database, and this build of cfgit reads only SQLite "
                           "environments so far; use a sqlite: URL for it");
  }
  return Status::Invalid("environment '" + options.environment + "': unknown database URL '" +
                         RedactUrl(url) + "'; expected sqlite:PATH");
}

}  // namespace cfgit
