// ObjectStager and the object encodings every store writer shares (see internal/staging.h).
#include "store/internal/staging.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "store/internal/fingerprints.h"
#include "store/internal/pack_reader.h"

namespace cfgit {
namespace {

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

// Packs in the store beyond which the small ones are merged (an object lookup searches each).
constexpr size_t kMaxPacks = 8;

// The file names (without extension) of the packs in `pack_dir` now.
Result<std::vector<std::string>> PackNames(const std::string& pack_dir) {
  CFGIT_ASSIGN_OR_RETURN(std::vector<PackFile> listed, ListPacks(pack_dir));
  std::vector<std::string> names;
  for (const PackFile& p : listed) names.push_back(std::filesystem::path(p.base).filename());
  return names;
}

bool Contains(const std::vector<std::string>& names, const std::string& name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

}  // namespace

// New objects of a snapshot, streamed into a pack file as they are staged (PackWriter) and
// moved into the store by Flush. Shared by the writer and by the read-only view the store's
// object database gets of it.
struct Staging {
  explicit Staging(std::string pack_dir) : pack(std::move(pack_dir)) {}
  PackWriter pack;
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
    PackWriter& pack = Self(b)->staging->pack;
    if (!pack.Contains(*id)) return GIT_ENOTFOUND;
    Result<std::string> bytes = pack.Read(*id, type);
    if (!bytes.ok()) {
      git_error_set_str(GIT_ERROR_ODB, bytes.status().message().c_str());
      return -1;
    }
    *len = bytes->size();
    *data = git_odb_backend_data_alloc(b, *len);
    if (*data == nullptr) return -1;
    std::memcpy(*data, bytes->data(), *len);
    return 0;
  }
  static int ReadHeader(size_t* len, git_object_t* type, git_odb_backend* b, const git_oid* id) {
    PackWriter& pack = Self(b)->staging->pack;
    if (!pack.Contains(*id)) return GIT_ENOTFOUND;
    Result<size_t> size = pack.ReadHeader(*id, type);
    if (!size.ok()) return -1;
    *len = *size;
    return 0;
  }
  static int Exists(git_odb_backend* b, const git_oid* id) {
    return Self(b)->staging->pack.Contains(*id) ? 1 : 0;
  }
  static void Free(git_odb_backend* b) { delete Self(b); }
};

int CompareEntries(std::string_view a, bool a_tree, std::string_view b, bool b_tree) {
  size_t n = std::min(a.size(), b.size());
  if (int c = std::memcmp(a.data(), b.data(), n)) return c;
  auto next = [n](std::string_view name, bool tree) {
    return name.size() > n ? static_cast<unsigned char>(name[n])
                           : static_cast<unsigned char>(tree ? '/' : 0);
  };
  unsigned char ca = next(a, a_tree), cb = next(b, b_tree);
  return ca < cb ? -1 : ca > cb ? 1 : 0;
}

const git_oid* Raw(const Oid& id) { return reinterpret_cast<const git_oid*>(id.bytes.data()); }
Oid FromRaw(const git_oid* raw) {
  Oid id;
  std::memcpy(id.bytes.data(), raw->id, id.bytes.size());
  return id;
}

std::string TreeBytes(const std::vector<TreeEntry>& entries) {
  // Writers mostly hand entries over in order already; only the others are sorted, on a list
  // of pointers.
  std::vector<const TreeEntry*> order;
  bool sorted = std::is_sorted(entries.begin(), entries.end(), GitOrder);
  if (!sorted) {
    order.reserve(entries.size());
    for (const TreeEntry& e : entries) order.push_back(&e);
    std::sort(order.begin(), order.end(),
              [](const TreeEntry* a, const TreeEntry* b) { return GitOrder(*a, *b); });
  }
  size_t size = 0;
  for (const TreeEntry& e : entries) size += 7 + e.name.size() + 1 + e.id.bytes.size();
  std::string out;
  out.reserve(size);
  for (size_t i = 0; i < entries.size(); ++i) {
    const TreeEntry& e = sorted ? entries[i] : *order[i];
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

ObjectStager::~ObjectStager() {
  // Staged objects that were never written (a live snapshot for diff, a failed commit) are
  // dropped with their unfinished pack; the store's reads stop seeing them.
  if (staging_) staging_->pack.Discard();
}

Status ObjectStager::Init(git_repository* repo, const std::string& objects_dir, PackReader* packs) {
  packs_ = packs;
  git_odb* odb = nullptr;
  if (int rc = git_repository_odb(&odb, repo)) return git::Error(rc, "opening the store");
  store_odb_.reset(odb);
  // The packs this writer starts from. Listed before the reader's listing below: a pack deleted
  // in between is one Flush finds gone (PacksKept).
  memo_dir_ = std::string(git_repository_path(repo)) + "cfgit/fingerprints";
  pack_dir_ = objects_dir + "/pack";
  CFGIT_ASSIGN_OR_RETURN(counted_, PackNames(pack_dir_));
  // The store's packs as they are now: one stock git deleted since the store was opened (`git
  // repack -a -d`, `git gc --prune=now`) may have taken objects with it, so the reader no longer
  // counts on it (PackedHolds). libgit2's pack backends only ever add packs when they refresh;
  // the one made below for the reader's "cannot tell" lists the directory after this.
  if (int rc = git_odb_refresh(store_odb_.get())) {
    return git::Error(rc, "listing the store's packs");
  }
  // Likewise, the fingerprint memos are kept only while the packs they count on are there. One
  // that cannot be deleted is not used by this writer (it is only a cache); the next tries again.
  memos_usable_ = KeepMemosToPacks(memo_dir_, counted_, {}).ok();
  // Existence checks the reader cannot answer go to libgit2's packs only: stat()ing a loose path
  // per row is what makes git_odb_write slow at scale. An object that exists only loose is packed
  // again: harmless.
  git_odb_backend* libgit2_packs = nullptr;
  if (int rc = git_odb_new(&odb)) return git::Error(rc, "creating an object database");
  pack_odb_.reset(odb);
  if (int rc = git_odb_backend_pack(&libgit2_packs, objects_dir.c_str())) {
    return git::Error(rc, "opening the store's packs");
  }
  if (int rc = git_odb_add_backend(pack_odb_.get(), libgit2_packs, 1)) {
    return git::Error(rc, "opening the store's packs");
  }
  staging_ = std::make_shared<Staging>(objects_dir + "/pack");
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
  std::lock_guard<std::mutex> hold(mu_);
  // The object's id: SHA-1 of "<type> <size>\0" and the bytes, as git_odb_hash computes it.
  char header[32];
  int n = std::snprintf(header, sizeof header, "%s %zu", git_object_type2string(type), data.size());
  sha_.Update(header, static_cast<size_t>(n) + 1);
  sha_.Update(data);
  std::array<unsigned char, 20> digest = sha_.Final();
  git_oid raw;
  std::memcpy(raw.id, digest.data(), digest.size());
  // The store's reader tells for the packs it reads (their filters turn most new ids away at
  // the cost of a bit); where it cannot, libgit2's pack backend searches all the packs. A merge
  // of 1000 against 1000 rows at 1M rows spent a twentieth of its time in libgit2's searches for
  // the ~1,640 trees it staged (339 of them new).
  Holding held = Holding::kCannotTell;
  if (staging_->pack.Contains(raw)) {
    held = Holding::kYes;
  } else if (packs_) {
    held = PackedHolds(packs_, raw);
  }
  if (held == Holding::kCannotTell) {
    held = git_odb_exists_ext(pack_odb_.get(), &raw, GIT_ODB_LOOKUP_NO_REFRESH) == 1 ? Holding::kYes
                                                                                     : Holding::kNo;
  }
  if (held == Holding::kNo) {
    Status added = staging_->pack.Add(raw, type, data);
    if (!added.ok()) return added.Wrap("staging an object: ");
  }
  return FromRaw(&raw);
}

bool ObjectStager::empty() const {
  std::lock_guard<std::mutex> hold(mu_);
  return staging_ == nullptr || staging_->pack.count() == 0;
}

Status ObjectStager::Flush() {
  std::lock_guard<std::mutex> hold(mu_);
  if (staging_ == nullptr) return Status::Ok();
  // Nothing new (every object found in the packs): they must still be there.
  if (staging_->pack.count() == 0) return CheckPacksKept();
  Status done = staging_->pack.Finish();
  if (!done.ok()) return done.Wrap("writing a pack into the store: ");
  git_odb_refresh(pack_odb_.get());
  // Now and then, the small packs into one (see ConsolidatePacks). Its failure loses nothing:
  // the packs stay as they are, and the next command tries again.
  Result<std::vector<std::string>> merged =
      ConsolidatePacks(staging_->pack.dir(), pack_odb_.get(), kMaxPacks);
  if (merged.ok() && !merged->empty()) {
    git_odb_refresh(pack_odb_.get());
    consolidated_.insert(consolidated_.end(), merged->begin(), merged->end());
  }
  git_odb_refresh(store_odb_.get());
  return CheckPacksKept();
}

Status ObjectStager::PacksKept() {
  std::lock_guard<std::mutex> hold(mu_);
  return CheckPacksKept();
}

Status ObjectStager::CheckPacksKept() {
  CFGIT_ASSIGN_OR_RETURN(std::vector<std::string> now, PackNames(pack_dir_));
  for (const std::string& name : counted_) {
    if (!Contains(now, name) && !Contains(consolidated_, name)) {
      return Status::NeedsAttention(
          name + " was deleted from " + pack_dir_ +
          " while this command ran (by git gc or git repack?); objects the command counted on "
          "may have gone with it, so it changed nothing: run it again");
    }
  }
  // The memos may count on the pack just written; the packs consolidated are no loss to them.
  // Should this fail, the next writer's start checks again.
  if (memos_usable_) KeepMemosToPacks(memo_dir_, now, consolidated_).ok();
  return Status::Ok();
}

}  // namespace cfgit
