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
  // Moves the pack of staged objects, with its index, into the store. Fails, after the pack is
  // in place, when a pack the store had at Init was deleted since by someone else (PacksKept).
  Status Flush();
  // Whether every pack of the store at Init is still there, or was merged by this stager's
  // consolidations: otherwise stock git deleted it meanwhile, and objects this stager took to be
  // stored (found in it, or through a fingerprint memo) may be gone, so what it built must not be
  // referenced. When they are, the memos' list of packs is brought up to date (KeepMemosToPacks).
  Status PacksKept();
  // False when the fingerprint memos had to be deleted at Init and could not be: then a writer
  // neither loads nor saves one.
  bool memos_usable() const { return memos_usable_; }

 private:
  Status CheckPacksKept();  // PacksKept, with mu_ held

  git::Odb store_odb_, pack_odb_;
  PackReader* packs_ = nullptr;  // owned by store_odb_
  std::string memo_dir_;         // the fingerprint memos (KeepMemosToPacks)
  std::string pack_dir_;
  std::vector<std::string> counted_;       // the packs in pack_dir_ at Init
  std::vector<std::string> consolidated_;  // packs Flush merged and deleted
  bool memos_usable_ = true;
  std::shared_ptr<Staging> staging_;
  Sha1 sha_;
  // Stage, empty and Flush take it: a snapshot writer stages a table's trees on one thread
  // while it stages the next table's rows on another.
  mutable std::mutex mu_;
};

}  // namespace cfgit
