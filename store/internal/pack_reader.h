// PackReader: the store's packs read with pread(2), as an object database backend placed before
// libgit2's own. libgit2 maps each pack and binary-searches its mapped index, so every object a
// command reads costs page faults in a file of hundreds of megabytes and a dozen cache and TLB
// misses in the index; on this project's virtual machines those were a third of a merge's time.
// This reader maps each version-2 index (gitformat-pack(5)) and finds an id by interpolation
// (SHA-1 ids are uniform: a page or two of the index touched), reads the entry with pread, and
// inflates it with one zlib stream reset per object.
// Only whole objects in the packs present when the store was opened are read here; deltas (a
// pack `git gc` wrote), packs written later and loose objects pass on to libgit2's backends. So
// does a pack once a command has read more than 16,384 of its objects and one per 16 KiB of it
// (a full apply reads them all): a pread per object then costs more than mapping the pack.
// Included only by store/*.cc.
#pragma once

#include <string>

#include "store/internal/git.h"
#include "store/store.h"

namespace cfgit {

// Adds the reader of the packs in `objects_dir`/pack to `odb`, ahead of its other backends.
// A pack whose index cannot be read is left to libgit2.
Status AddPackReader(git_odb* odb, const std::string& objects_dir);

}  // namespace cfgit
