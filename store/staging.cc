// ObjectStager and the object encodings every store writer shares (see internal/staging.h).
#include "store/internal/staging.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace cfgit {
namespace {

constexpr size_t kFlushBytes = 128u << 20;  // stage at most this much before writing a pack

bool GitOrder(const TreeEntry& a, const TreeEntry& b) {
  std::string ka = a.is_tree ? a.name + "/" : a.name;
  std::string kb = b.is_tree ? b.name + "/" : b.name;
  return ka < kb;
}

std::string SignatureLine(const Signature& s) {
  auto clean = [](std::string v) {
    v.erase(std::remove_if(v.begin(), v.end(),
                           [](char c) { return c == '<' || c == '>' || c == '\n' || c == '\0'; }),
            v.end());
    return v;
  };
  char tz[16];
  int off = s.offset_minutes;
  std::snprintf(tz, sizeof tz, "%c%02d%02d", off < 0 ? '-' : '+', std::abs(off) / 60,
                std::abs(off) % 60);
  return clean(s.name) + " <" + clean(s.email) + "> " + std::to_string(s.time) + " " + tz;
}

}  // namespace

// New objects of a snapshot, held in memory until they are written out as one pack. Shared by
// the writer and by the read-only view the store's object database gets of it.
struct Staging {
  git::Repository repo;  // packbuilder needs a repository; its only backend is the mempack
  git::Odb odb;
  git_odb_backend* mempack = nullptr;  // owned by odb

  static Result<std::shared_ptr<Staging>> Make() {
    auto s = std::make_shared<Staging>();
    git_repository* repo = nullptr;
    if (int rc = git_repository_new(&repo)) return git::Error(rc, "creating an in-memory store");
    s->repo.reset(repo);
    git_odb* odb = nullptr;
    if (int rc = git_odb_new(&odb)) return git::Error(rc, "creating an object database");
    s->odb.reset(odb);
    if (int rc = git_mempack_new(&s->mempack)) return git::Error(rc, "creating an in-memory store");
    if (int rc = git_odb_add_backend(odb, s->mempack, 1)) {
      return git::Error(rc, "creating an in-memory store");
    }
    git_repository_set_odb(repo, odb);
    return s;
  }
};

// An object database backend that reads a Staging (and never writes): added to the store's own
// object database, it makes staged trees readable through the Store interface.
struct StagedView {
  git_odb_backend parent;  // first member: libgit2 passes &parent back to the callbacks
  std::shared_ptr<Staging> staging;

  static Status Make(std::shared_ptr<Staging> staging, git_odb_backend** out) {
    auto view = std::make_unique<StagedView>();
    if (int rc = git_odb_init_backend(&view->parent, GIT_ODB_BACKEND_VERSION)) {
      return git::Error(rc, "opening the store");
    }
    view->staging = std::move(staging);
    view->parent.read = Read;
    view->parent.read_header = ReadHeader;
    view->parent.exists = Exists;
    view->parent.free = Free;
    *out = &view.release()->parent;
    return Status::Ok();
  }

 private:
  static StagedView* Self(git_odb_backend* b) { return reinterpret_cast<StagedView*>(b); }
  static int Read(void** data, size_t* len, git_object_t* type, git_odb_backend* b,
                  const git_oid* id) {
    git_odb_object* obj = nullptr;
    if (int rc = git_odb_read(&obj, Self(b)->staging->odb.get(), id)) return rc;
    *len = git_odb_object_size(obj);
    *type = git_odb_object_type(obj);
    *data = git_odb_backend_data_alloc(b, *len);
    if (*data == nullptr) {
      git_odb_object_free(obj);
      return -1;
    }
    std::memcpy(*data, git_odb_object_data(obj), *len);
    git_odb_object_free(obj);
    return 0;
  }
  static int ReadHeader(size_t* len, git_object_t* type, git_odb_backend* b, const git_oid* id) {
    return git_odb_read_header(len, type, Self(b)->staging->odb.get(), id);
  }
  static int Exists(git_odb_backend* b, const git_oid* id) {
    return git_odb_exists(Self(b)->staging->odb.get(), id);
  }
  static void Free(git_odb_backend* b) { delete Self(b); }
};

const git_oid* Raw(const Oid& id) { return reinterpret_cast<const git_oid*>(id.bytes.data()); }
Oid FromRaw(const git_oid* raw) {
  Oid id;
  std::memcpy(id.bytes.data(), raw->id, id.bytes.size());
  return id;
}

std::string TreeBytes(std::vector<TreeEntry> entries) {
  std::sort(entries.begin(), entries.end(), GitOrder);
  std::string out;
  for (const TreeEntry& e : entries) {
    out += e.is_tree ? "40000 " : "100644 ";
    out += e.name;
    out.push_back('\0');
    out.append(reinterpret_cast<const char*>(e.id.bytes.data()), e.id.bytes.size());
  }
  return out;
}

std::string CommitBytes(const Oid& tree, const std::vector<Oid>& parents,
                        const std::string& message, const Signature& author) {
  std::string body = "tree " + tree.Hex() + "\n";
  for (const Oid& p : parents) body += "parent " + p.Hex() + "\n";
  body += "author " + SignatureLine(author) + "\n";
  body += "committer " + SignatureLine(author) + "\n\n";
  body += message;
  if (body.back() != '\n') body.push_back('\n');
  return body;
}

Result<std::vector<TreeEntry>> ReadTree(git_repository* repo, const Oid& id) {
  git_tree* t = nullptr;
  if (int rc = git_tree_lookup(&t, repo, Raw(id)))
    return git::Error(rc, "reading tree " + id.Short());
  git::Tree holder(t);
  std::vector<TreeEntry> out;
  for (size_t i = 0; i < git_tree_entrycount(t); ++i) {
    const git_tree_entry* e = git_tree_entry_byindex(t, i);
    out.push_back({git_tree_entry_name(e), git_tree_entry_type(e) == GIT_OBJECT_TREE,
                   FromRaw(git_tree_entry_id(e))});
  }
  return out;
}

ObjectStager::~ObjectStager() {
  // Staged objects that were never written (a live snapshot for diff, a failed commit) are
  // dropped; the store's reads stop seeing them.
  if (staging_) git_mempack_reset(staging_->mempack);
}

Status ObjectStager::Init(git_repository* repo, const std::string& objects_dir) {
  git_odb* odb = nullptr;
  if (int rc = git_repository_odb(&odb, repo)) return git::Error(rc, "opening the store");
  store_odb_.reset(odb);
  // Existence checks go to the packs only: stat()ing a loose path per row is what makes
  // git_odb_write slow at scale. An object that exists only loose is packed again: harmless.
  git_odb_backend* packs = nullptr;
  if (int rc = git_odb_new(&odb)) return git::Error(rc, "creating an object database");
  pack_odb_.reset(odb);
  if (int rc = git_odb_backend_pack(&packs, objects_dir.c_str())) {
    return git::Error(rc, "opening the store's packs");
  }
  if (int rc = git_odb_add_backend(pack_odb_.get(), packs, 1)) {
    return git::Error(rc, "opening the store's packs");
  }
  CFGIT_ASSIGN_OR_RETURN(staging_, Staging::Make());
  // The store reads staged objects too (last, after its packs and loose objects), so a tree
  // that is built but not yet written can be read like any other.
  git_odb_backend* view = nullptr;
  CFGIT_RETURN_IF_ERROR(StagedView::Make(staging_, &view));
  if (int rc = git_odb_add_backend(store_odb_.get(), view, 0)) {
    view->free(view);
    return git::Error(rc, "opening the store");
  }
  return Status::Ok();
}

Result<Oid> ObjectStager::Stage(git_object_t type, const std::string& data) {
  git_oid raw;
  if (int rc = git_odb_hash(&raw, data.data(), data.size(), type)) {
    return git::Error(rc, "hashing an object");
  }
  if (!git_odb_exists_ext(pack_odb_.get(), &raw, GIT_ODB_LOOKUP_NO_REFRESH)) {
    git_oid written;
    if (int rc = git_odb_write(&written, staging_->odb.get(), data.data(), data.size(), type)) {
      return git::Error(rc, "staging an object");
    }
    staged_.push_back(raw);
    staged_bytes_ += data.size();
    if (staged_bytes_ > kFlushBytes) CFGIT_RETURN_IF_ERROR(Flush());
  }
  return FromRaw(&raw);
}

// The pack holds exactly the staged objects: git_mempack_dump would add everything reachable.
Status ObjectStager::Flush() {
  if (staged_.empty()) return Status::Ok();
  git_packbuilder* pb = nullptr;
  if (int rc = git_packbuilder_new(&pb, staging_->repo.get()))
    return git::Error(rc, "packing new objects");
  git::PackBuilder holder(pb);
  git_packbuilder_set_threads(pb, 0);
  for (const git_oid& id : staged_) {
    if (int rc = git_packbuilder_insert(pb, &id, nullptr))
      return git::Error(rc, "packing new objects");
  }
  git_buf buf = GIT_BUF_INIT;
  int rc = git_packbuilder_write_buf(&buf, pb);
  git_odb_writepack* wp = nullptr;
  git_indexer_progress stats{};
  if (rc == 0) rc = git_odb_write_pack(&wp, store_odb_.get(), nullptr, nullptr);
  if (rc == 0) rc = wp->append(wp, buf.ptr, buf.size, &stats);
  if (rc == 0) rc = wp->commit(wp, &stats);
  if (wp) wp->free(wp);
  git_buf_dispose(&buf);
  if (rc) return git::Error(rc, "writing a pack into the store");
  git_mempack_reset(staging_->mempack);
  staged_.clear();
  staged_bytes_ = 0;
  git_odb_refresh(pack_odb_.get());
  git_odb_refresh(store_odb_.get());
  return Status::Ok();
}

}  // namespace cfgit
