// The SQLite adapter: environments at sqlite:PATH. Keeps each value's storage class exactly.
#pragma once

#include <memory>
#include <string>

#include "adapters/adapter.h"

namespace cfgit {

Result<std::unique_ptr<Adapter>> OpenSqlite(const std::string& path, const OpenOptions& options);

}  // namespace cfgit
