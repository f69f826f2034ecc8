// A workspace: a directory holding cfgit.yaml and the store .cfgit/ beside it.
#pragma once

#include <string>

#include "store/status.h"

namespace cfgit {

struct Workspace {
  std::string root;         // absolute directory
  std::string config_path;  // root + "/cfgit.yaml"
  std::string store_path;   // root + "/.cfgit"
};

constexpr const char* kConfigFile = "cfgit.yaml";
constexpr const char* kStoreDir = ".cfgit";

// The workspace at `start` or the nearest parent directory that has one. kUsage when there is
// none; kInvalid when cfgit.yaml is there but its store is not (or the other way round).
Result<Workspace> FindWorkspace(const std::string& start);

}  // namespace cfgit
