// Trees read from their bytes, kept by id for the life of a store handle (store/tree_reader.cc).
// A merge walks the base's fan-out trees in two diffs and ours' again in the editor; each is
// now read and parsed once. libgit2's git_tree would parse every entry's mode with strtol into
// an array of its own, and keeps no tree over 4 KiB (a fan-out tree is 7.5 KiB) in its cache.
// Included only by store/*.cc.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "store/internal/git.h"
#include "store/internal/pack_reader.h"
#include "store/internal/pack_writer.h"
#include "store/internal/staging.h"

namespace cfgit {

// An object's bytes and what holds them: a buffer read straight from a pack, or libgit2's object.
class ObjectBytes {
 public:
  const char* data() const { return data_; }
  size_t size() const { return size_; }

 private:
  friend class TreeReader;
  PackedBytes packed_;
  git::OdbObject object_;
  const char* data_ = nullptr;
  size_t size_ = 0;
};

// One tree object's entries, pointing into its bytes (held with it).
class RawTree {
 public:
  // Where an entry sits in the tree's bytes: 8 bytes an entry, as a fan-out tree has 256.
  struct Entry {
    uint32_t at;  // its name's offset
    uint16_t name_len;
    bool is_tree;
  };

  std::string_view name(const Entry& e) const { return {data_ + e.at, e.name_len}; }
  const unsigned char* id(const Entry& e) const {
    return reinterpret_cast<const unsigned char*>(data_ + e.at + e.name_len + 1);
  }
  Oid oid(const Entry& e) const;

  // Fails with kInvalid naming the tree when the bytes are not a tree (or over 4 GiB).
  static Result<RawTree> Parse(const Oid& id, ObjectBytes bytes);

  std::span<const Entry> entries() const { return entries_; }
  // The entry named `name` (a tree or a file), if any.
  const Entry* Find(std::string_view name) const;
  std::vector<TreeEntry> ToEntries() const;
  // The tree's bytes, as read.
  std::string_view bytes() const { return {data_, bytes_.size()}; }
  // True when the bytes are what TreeBytes(ToEntries()) writes: files with mode 100644 and
  // directories 40000 (cfgit's trees are; a tree written by another tool may not be). Entries
  // are taken to be in Git's order, as Find takes them (git fsck refuses a tree that is not).
  bool IsCanonical() const;
  // Bytes held: what the cache counts.
  size_t footprint() const;

 private:
  ObjectBytes bytes_;
  const char* data_ = nullptr;  // bytes_.data()
  std::vector<Entry> entries_;
};

// Reads trees (and blobs) straight from the store's packs (ReadPacked: threads read side by
// side), else through the repository's object database (loose and staged objects, deltas), and
// keeps the trees asked to be kept, by id, up to kBudget bytes, then starts over. Thread-safe.
class TreeReader {
 public:
  // `packs`: the store's pack reader, read directly (nullptr: everything through the database).
  static Result<std::shared_ptr<TreeReader>> Open(git_repository* repo, PackReader* packs);

  // The tree, kept for later reads when `keep` (a tree kept already is found either way).
  Result<std::shared_ptr<const RawTree>> Get(const Oid& id, bool keep = true);
  // A blob's bytes, read the same way (never kept).
  Result<std::string> Blob(const Oid& id);
  // The store's pack reader (nullptr: none).
  PackReader* packs() const { return packs_; }
  // Forgets a tree that will not be asked for again (the editor rewrites each tree once).
  void Drop(const Oid& id);
  // The id of the entry at `path` ("rows/3f/a0/42.yaml") below `tree`, if any.
  Result<std::optional<Oid>> Path(const Oid& tree, std::string_view path);

 private:
  static constexpr size_t kBudget = size_t{32} << 20;
  // The object's bytes, from the packs, else through the database; kInvalid naming it as `what`
  // ("tree", "file") when it is of another type.
  Result<ObjectBytes> Read(const Oid& id, git_object_t type, const char* what);
  git::Odb odb_;
  PackReader* packs_ = nullptr;  // owned by odb_
  std::mutex mu_;
  std::unordered_map<Oid, std::shared_ptr<const RawTree>, OidHash> trees_;
  size_t held_ = 0;
};

}  // namespace cfgit
