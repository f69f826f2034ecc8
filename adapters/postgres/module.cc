// LoadPostgresModule (see module.h). Part of cfgit itself, not of the module.
#include "adapters/postgres/module.h"

#include <dlfcn.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>

namespace cfgit {
namespace {

constexpr const char* kNext =
    "; it is built with cfgit (cmake --build BUILD_DIR builds both) and must sit beside the cfgit "
    "executable, or be named by CFGIT_POSTGRES_MODULE";

Result<std::string> ModulePath() {
  if (const char* path = std::getenv("CFGIT_POSTGRES_MODULE"); path && *path)
    return std::string(path);
  std::error_code ec;
  std::filesystem::path exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) {  // never the current directory: it may be anyone's
    return Status::Database(
        "the PostgreSQL adapter cannot be found: the cfgit executable's "
        "directory is unknown (/proc/self/exe: " +
        ec.message() + ")" + kNext);
  }
  return (exe.parent_path() / "cfgit-postgres.so").string();
}

Result<const PostgresModule*> Load() {
  CFGIT_ASSIGN_OR_RETURN(const std::string path, ModulePath());
  // RTLD_NOW: a symbol the module lacks fails here, not in the middle of a write.
  void* handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char* why = ::dlerror();
    return Status::Database(
        "the PostgreSQL adapter cannot be loaded: " + std::string(why ? why : path) + kNext);
  }
  auto* module = static_cast<const PostgresModule*>(::dlsym(handle, kPostgresModuleSymbol));
  if (!module || module->abi != kPostgresModuleAbi || !module->build ||
      std::strcmp(module->build, CFGIT_BUILD_ID) != 0 || !module->open) {
    ::dlclose(handle);
    return Status::Database("the PostgreSQL adapter " + path +
                            " comes from another build of cfgit" + kNext);
  }
  return module;  // loaded for the rest of the process
}

}  // namespace

Result<const PostgresModule*> LoadPostgresModule() {
  static const Result<const PostgresModule*> loaded = Load();
  return loaded;
}

}  // namespace cfgit

#if defined(__SANITIZE_ADDRESS__)
// libpqxx 6.4 leaks the PGresult of a statement that fails because the connection is gone
// (make_result asks for the client encoding, which throws "not connected", before it owns the
// result). That is a bug of the library, not of cfgit, and it happens only on a lost connection:
// LeakSanitizer is told to ignore leaks allocated under libpqxx, in debug builds only. The hook
// is cfgit's (LeakSanitizer asks the program, not the modules it loads).
extern "C" const char* __lsan_default_suppressions() { return "leak:libpqxx-6.4.so\n"; }
#endif
