#include "store/workspace.h"

#include <filesystem>
#include <system_error>

namespace cfgit {

Result<Workspace> FindWorkspace(const std::string& start) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::path dir = fs::absolute(start, ec);
  if (ec || !fs::is_directory(dir, ec)) {
    return Status::Usage("'" + start + "' is not a directory");
  }
  dir = fs::weakly_canonical(dir, ec);
  for (fs::path d = dir;; d = d.parent_path()) {
    bool has_config = fs::exists(d / kConfigFile, ec);
    bool has_store = fs::is_directory(d / kStoreDir, ec);
    if (has_config && has_store) {
      return Workspace{d.string(), (d / kConfigFile).string(), (d / kStoreDir).string()};
    }
    if (has_store && !has_config) {
      return Status::Invalid((d / kConfigFile).string() + " is missing beside the store " +
                             (d / kStoreDir).string() +
                             "; restore it, or write a new one with "
                             "the environments (see docs/config.md)");
    }
    if (has_config && !has_store) {
      return Status::Invalid("the store " + (d / kStoreDir).string() + " is missing beside " +
                             (d / kConfigFile).string() +
                             "; restore it from a backup or a "
                             "clone, or run cfgit init in a new directory");
    }
    if (d == d.root_path() || d.parent_path() == d) break;
  }
  return Status::Usage("not in a cfgit workspace (no cfgit.yaml in " + dir.string() +
                       " or any parent directory); run cfgit init first, or pass -C DIR");
}

}  // namespace cfgit
