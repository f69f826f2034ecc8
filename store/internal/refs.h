// Ref helpers shared by the files that move refs through a second repository handle
// (store/remote.cc, store/bundle.cc). Included only by store/*.cc.
#pragma once

#include <map>
#include <optional>
#include <string>

#include "store/internal/git.h"
#include "store/store.h"

namespace cfgit {

inline bool StartsWith(const std::string& s, const std::string& prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}
// What `ref` points at directly (an annotated tag's object, not its commit), if it exists.
std::optional<Oid> RefTarget(git_repository* repo, const std::string& ref);
// Every direct ref whose name starts with `prefix`, by name.
Result<std::map<std::string, Oid>> RefsUnder(git_repository* repo, const std::string& prefix);
// Creates or (with `force`) moves `ref`; without `force` an existing ref is an error.
Status SetRef(git_repository* repo, const std::string& ref, const Oid& id, bool force,
              const std::string& log);

}  // namespace cfgit
