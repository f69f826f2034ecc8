// PackReader: the store's packs read with pread(2), as an object database backend placed before
// libgit2's own. libgit2 maps each pack and binary-searches its mapped index, so every object a
// command reads costs page faults in a file of hundreds of megabytes and a dozen cache and TLB
// misses in the index; on this project's virtual machines those were a third of a merge's time.
// This reader maps each version-2 index (gitformat-pack(5)) and finds an id by interpolation
// (SHA-1 ids are uniform: a page or two of the index touched), after a bit test in the packs
// small enough for a filter (most ids a pack lacks are turned away), reads the entry with pread,
// and inflates it with one zlib stream per thread, reset per object; a small pack (up to 16 MiB:
// the packs of the last commits) is mapped in whole once a command has read 64 of its objects,
// and read from memory. Threads read side by side:
// finding an object takes a shared lock, reading and inflating none.
// Only whole objects of the store's packs are read here, those written after the store was
// opened too (libgit2 asks the reader to refresh after a pack is written, and when an object is
// found nowhere); deltas (a pack `git gc` wrote) and loose objects pass on to libgit2's
// backends. So does a pack once a command has read more than 16,384 of its objects and one per
// 16 KiB of it (a full apply reads them all): a pread per object then costs more than mapping
// the pack.
// Included only by store/*.cc (and the store's tests).
#pragma once

#include <memory>
#include <string>

#include "store/internal/git.h"
#include "store/store.h"

namespace cfgit {

struct PackReader;

// Adds the reader of the packs in `objects_dir`/pack to `odb`, ahead of its other backends, and
// returns it (`odb` owns it). A pack whose index cannot be read is left to libgit2.
Result<PackReader*> AddPackReader(git_odb* odb, const std::string& objects_dir);

// Frees what the reader allocated.
struct PackedFree {
  git_odb_backend* backend = nullptr;
  void operator()(char* p) const;
};
// An object's bytes as the reader read them.
struct PackedBytes {
  std::unique_ptr<char, PackedFree> data;
  size_t size = 0;
  git_object_t type = GIT_OBJECT_INVALID;
};
// Reads `id` straight from the reader's packs. libgit2 holds its object database's lock while a
// backend reads, so reads through git_odb_read never overlap; these do (TreeReader's). Returns
// 0, or GIT_ENOTFOUND / GIT_PASSTHROUGH when the object is to be read through the database (not
// in these packs, a delta, damaged), or another libgit2 error code.
int ReadPacked(PackReader* reader, const git_oid& id, PackedBytes* out);

// Whether the reader's packs hold `id`, for a writer deciding whether to write an object. It
// cannot tell when a pack still in the directory is not searched here (one it left to libgit2,
// one handed over after a bulk read, every pack when the directory could not be listed). A pack
// missing from the directory's last listing (git_odb_refresh) counts for nothing: stock git may
// have pruned objects with it. Searched as reads search (filters, interpolation in the mapped
// index); libgit2's pack backend would search its own mapping of each index by bisection, faulting
// its pages in again.
enum class Holding { kNo, kYes, kCannotTell };
Holding PackedHolds(PackReader* reader, const git_oid& id);

// How many packs have had their filter built, how many were handed over to libgit2 after a bulk
// read, and how many were mapped in whole, in this process (for the store's tests).
size_t PackFiltersBuilt();
size_t PacksHandedOver();
size_t PacksMapped();

}  // namespace cfgit
