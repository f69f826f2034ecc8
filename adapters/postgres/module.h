// The PostgreSQL adapter is a module, cfgit-postgres.so, loaded the first time a PostgreSQL
// environment is opened: a command that opens none does not load libpq, libpqxx and the TLS,
// Kerberos and LDAP libraries libpq brings (7 ms of every command's start). The module is built
// with cfgit, from the same sources, and placed beside the cfgit executable.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "adapters/adapter.h"

namespace cfgit {

// What the module exports, under the name kPostgresModuleSymbol.
struct PostgresModule {
  uint64_t abi;       // kPostgresModuleAbi of the build that made the module: this struct's form
  const char* build;  // CFGIT_BUILD_ID of that build (set when CMake configures the build tree)
  Result<std::unique_ptr<Adapter>> (*open)(const std::string& url, const OpenOptions& options);
};
inline constexpr const char* kPostgresModuleSymbol = "cfgit_postgres_module";
// The interface's version and the sizes of the types that cross it. With the build's id, a
// module from another build of cfgit is refused rather than called.
inline constexpr uint64_t kPostgresModuleAbi = uint64_t{2} << 56 | uint64_t{sizeof(Value)} << 40 |
                                               uint64_t{sizeof(TableSchema)} << 20 |
                                               uint64_t{sizeof(OpenOptions)};

// The module, loaded once for the process (a failure too): from the path in
// CFGIT_POSTGRES_MODULE when that is set, else cfgit-postgres.so in the directory of the running
// executable. Every symbol it needs is bound when it loads. A module that cannot be loaded, or
// comes from another build, is kDatabase, naming the file and what to do.
Result<const PostgresModule*> LoadPostgresModule();

}  // namespace cfgit
