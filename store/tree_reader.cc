// RawTree and TreeReader (see internal/tree_reader.h).
#include "store/internal/tree_reader.h"

#include <algorithm>
#include <cstring>

namespace cfgit {

Oid RawTree::oid(const Entry& e) const {
  Oid out;
  std::memcpy(out.bytes.data(), id(e), out.bytes.size());
  return out;
}

Result<RawTree> RawTree::Parse(const Oid& id, ObjectBytes bytes) {
  RawTree tree;
  tree.bytes_ = std::move(bytes);
  tree.data_ = tree.bytes_.data();
  const char* start = tree.data_;
  size_t size = tree.bytes_.size();
  const char* end = start + size;
  auto damaged = [&id](const char* what) {
    return Status::Invalid("tree " + id.Short() + " is damaged: " + what +
                           " (`git --git-dir=.cfgit fsck` checks the whole store)");
  };
  if (size > UINT32_MAX) return damaged("it is over 4 GiB");
  // Entries are "<octal mode> <name>\0<20-byte id>"; a fan-out tree holds 256.
  tree.entries_.reserve(size / 28 + 1);
  for (const char* at = start; at < end;) {
    const char* space =
        static_cast<const char*>(std::memchr(at, ' ', static_cast<size_t>(end - at)));
    if (!space || space == at) return damaged("an entry has no mode");
    // The mode, in octal as Git reads it (a writer may pad it: "040000"); its file-type bits
    // tell a directory.
    uint32_t mode = 0;
    for (const char* c = at; c < space; ++c) {
      if (*c < '0' || *c > '7' || mode > 0177777) return damaged("an entry's mode is not octal");
      mode = mode * 8 + static_cast<uint32_t>(*c - '0');
    }
    const char* name = space + 1;
    const char* nul =
        static_cast<const char*>(std::memchr(name, 0, static_cast<size_t>(end - name)));
    if (!nul || nul == name) return damaged("an entry has no name");
    if (nul - name > UINT16_MAX) return damaged("an entry's name is too long");
    if (end - nul - 1 < 20) return damaged("an entry's id is cut short");
    tree.entries_.push_back({static_cast<uint32_t>(name - start), static_cast<uint16_t>(nul - name),
                             (mode & 0170000) == 040000});
    at = nul + 21;
  }
  return tree;
}

const RawTree::Entry* RawTree::Find(std::string_view name) const {
  // Sorted in Git's order, where the entry's kind matters only when one name is a prefix of
  // another: look for a file, then for a tree.
  for (bool as_tree : {false, true}) {
    auto it = std::lower_bound(entries_.begin(), entries_.end(), name,
                               [&](const Entry& e, std::string_view n) {
                                 return CompareEntries(this->name(e), e.is_tree, n, as_tree) < 0;
                               });
    if (it != entries_.end() && this->name(*it) == name) return &*it;
  }
  return nullptr;
}

std::vector<TreeEntry> RawTree::ToEntries() const {
  std::vector<TreeEntry> out;
  out.reserve(entries_.size());
  for (const Entry& e : entries_) out.push_back({std::string(name(e)), e.is_tree, oid(e)});
  return out;
}

bool RawTree::IsCanonical() const {
  size_t from = 0;  // where the entry's mode starts: after the entry before it
  for (const Entry& e : entries_) {
    std::string_view mode(data_ + from, e.at - from);
    if (mode != (e.is_tree ? std::string_view("40000 ") : std::string_view("100644 "))) {
      return false;
    }
    from = e.at + e.name_len + 21u;
  }
  return true;
}

size_t RawTree::footprint() const {
  return bytes_.size() + entries_.capacity() * sizeof(Entry) + 64;
}

Result<std::shared_ptr<TreeReader>> TreeReader::Open(git_repository* repo, PackReader* packs) {
  auto reader = std::make_shared<TreeReader>();
  reader->packs_ = packs;
  git_odb* odb = nullptr;
  if (int rc = git_repository_odb(&odb, repo)) return git::Error(rc, "opening the store");
  reader->odb_.reset(odb);
  reader->trees_.reserve(8192);
  return reader;
}

Result<std::shared_ptr<const RawTree>> TreeReader::Get(const Oid& id, bool keep) {
  {
    std::lock_guard<std::mutex> hold(mu_);
    if (auto it = trees_.find(id); it != trees_.end()) return it->second;
  }
  CFGIT_ASSIGN_OR_RETURN(ObjectBytes bytes, Read(id, GIT_OBJECT_TREE, "tree"));
  CFGIT_ASSIGN_OR_RETURN(RawTree parsed, RawTree::Parse(id, std::move(bytes)));
  auto tree = std::make_shared<const RawTree>(std::move(parsed));
  if (!keep) return tree;
  std::lock_guard<std::mutex> hold(mu_);
  if (held_ + tree->footprint() > kBudget) {
    trees_.clear();
    held_ = 0;
  }
  if (trees_.emplace(id, tree).second) held_ += tree->footprint();
  return tree;
}

Result<std::string> TreeReader::Blob(const Oid& id) {
  CFGIT_ASSIGN_OR_RETURN(ObjectBytes bytes, Read(id, GIT_OBJECT_BLOB, "file"));
  return std::string(bytes.data(), bytes.size());
}

Result<ObjectBytes> TreeReader::Read(const Oid& id, git_object_t type, const char* what) {
  const std::string reading = type == GIT_OBJECT_TREE ? "reading tree " : "reading object ";
  ObjectBytes out;
  int rc = packs_ ? ReadPacked(packs_, *Raw(id), &out.packed_) : GIT_ENOTFOUND;
  git_object_t got = out.packed_.type;
  if (rc == 0) {
    out.data_ = out.packed_.data.get();
    out.size_ = out.packed_.size;
  } else if (rc != GIT_ENOTFOUND && rc != GIT_PASSTHROUGH) {
    return git::Error(rc, reading + id.Short());
  } else {
    // Not in the reader's packs: staged, loose, a delta, or damage libgit2 reports.
    git_odb_object* object = nullptr;
    if (int odb_rc = git_odb_read(&object, odb_.get(), Raw(id))) {
      return git::Error(odb_rc, reading + id.Short());
    }
    out.object_.reset(object);
    out.data_ = static_cast<const char*>(git_odb_object_data(object));
    out.size_ = git_odb_object_size(object);
    got = git_odb_object_type(object);
  }
  if (got != type) return Status::Invalid("object " + id.Short() + " is not a " + what);
  return out;
}

void TreeReader::Drop(const Oid& id) {
  std::lock_guard<std::mutex> hold(mu_);
  if (auto it = trees_.find(id); it != trees_.end()) {
    held_ -= it->second->footprint();
    trees_.erase(it);
  }
}

Result<std::optional<Oid>> TreeReader::Path(const Oid& tree, std::string_view path) {
  Oid at = tree;
  while (true) {
    size_t slash = path.find('/');
    CFGIT_ASSIGN_OR_RETURN(std::shared_ptr<const RawTree> t, Get(at));
    const RawTree::Entry* e = t->Find(path.substr(0, slash));
    if (!e) return std::optional<Oid>();
    at = t->oid(*e);
    if (slash == std::string_view::npos) return std::optional<Oid>(at);
    if (!e->is_tree) return std::optional<Oid>();
    path.remove_prefix(slash + 1);
  }
}

}  // namespace cfgit
