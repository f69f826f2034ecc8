// Staging new objects: how every writer of the store (snapshot writer, snapshot editor, merge
// state) builds Git objects. Objects are hashed, checked against the store's packs, streamed into
// a new pack file (readable through the store's own object database meanwhile) and moved into
// the store as one pack with its index.
// Included only by store/*.cc.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "store/internal/git.h"
#include "store/internal/pack_writer.h"
#include "store/store.h"

namespace cfgit {

const git_oid* Raw(const Oid& id);
Oid FromRaw(const git_oid* raw);

// One entry of a tree object.
struct TreeEntry {
  std::string name;
  bool is_tree;
  Oid id;
};
// Git's entry order: names compared bytewise, a tree's name as if it ended in '/'.
int CompareEntries(std::string_view a, bool a_tree, std::string_view b, bool b_tree);
inline bool GitOrder(const TreeEntry& a, const TreeEntry& b) {
  return CompareEntries(a.name, a.is_tree, b.name, b.is_tree) < 0;
}
// A tree object's bytes: entries in Git's order (a tree's name compared as if it ended in '/'),
// whatever their order in `entries`.
std::string TreeBytes(const std::vector<TreeEntry>& entries);
// A commit object's bytes (author = committer).
std::string CommitBytes(const Oid& tree, const std::vector<Oid>& parents,
                        const std::string& message, const Signature& author);

struct Staging;
struct PackReader;

// Thread-safe.
class ObjectStager {
 public:
  ObjectStager() = default;
  ObjectStager(const ObjectStager&) = delete;
  ObjectStager& operator=(const ObjectStager&) = delete;
  // Drops what was staged and not written.
  ~ObjectStager();

  // `packs`: the store's pack reader (nullptr: none), asked first whether the store holds an
  // object.
  Status Init(git_repository* repo, const std::string& objects_dir, PackReader* packs);
  // The object's id; staged (appended to a new pack, readable through the store meanwhile)
  // unless the store's packs or this staging hold it already.
  Result<Oid> Stage(git_object_t type, const std::string& data);
  Result<Oid> StageTree(const std::vector<TreeEntry>& entries) {
    return Stage(GIT_OBJECT_TREE, TreeBytes(entries));
  }
  // True when every object staged so far is in the store (none waits for Flush).
  bool empty() const;
  // Moves the pack of staged objects, with its index, into the store.
  Status Flush();

 private:
  git::Odb store_odb_, pack_odb_;
  PackReader* packs_ = nullptr;  // owned by store_odb_
  std::string memo_dir_;         // the fingerprint memos (KeepMemosToPacks)
  std::shared_ptr<Staging> staging_;
  Sha1 sha_;
  // Stage, empty and Flush take it: a snapshot writer stages a table's trees on one thread
  // while it stages the next table's rows on another.
  mutable std::mutex mu_;
};

}  // namespace cfgit
