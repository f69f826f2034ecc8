// Staging new objects: how every writer of the store (snapshot writer, snapshot editor, merge
// state) builds Git objects. Objects are hashed, checked against the store's packs, kept in
// memory (readable through the store's own object database meanwhile) and written as one pack.
// Included only by store/*.cc.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "store/internal/git.h"
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
// A tree object's bytes: entries in Git's order (a tree's name compared as if it ended in '/').
std::string TreeBytes(std::vector<TreeEntry> entries);
// A commit object's bytes (author = committer).
std::string CommitBytes(const Oid& tree, const std::vector<Oid>& parents,
                        const std::string& message, const Signature& author);
// The entries of a tree (stored or staged).
Result<std::vector<TreeEntry>> ReadTree(git_repository* repo, const Oid& tree);

struct Staging;

class ObjectStager {
 public:
  ObjectStager() = default;
  ObjectStager(const ObjectStager&) = delete;
  ObjectStager& operator=(const ObjectStager&) = delete;
  // Drops what was staged and not written.
  ~ObjectStager();

  Status Init(git_repository* repo, const std::string& objects_dir);
  // The object's id; staged unless the store's packs hold it already. Past 128 MiB of staged
  // objects, they are written as a pack and staging goes on.
  Result<Oid> Stage(git_object_t type, const std::string& data);
  Result<Oid> StageTree(const std::vector<TreeEntry>& entries) {
    return Stage(GIT_OBJECT_TREE, TreeBytes(entries));
  }
  // Writes every staged object into the store as one pack (with its index).
  Status Flush();

 private:
  git::Odb store_odb_, pack_odb_;
  std::shared_ptr<Staging> staging_;
  std::vector<git_oid> staged_;  // staged object ids (the mempack does not list them)
  size_t staged_bytes_ = 0;
};

}  // namespace cfgit
