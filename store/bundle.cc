// Release files: Git bundles (version 2) written and read with libgit2's packbuilder and indexer
// (libgit2 has no bundle API). See store/remote.h and docs/store-format.md, section 11.
#include <stdlib.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>

#include "store/internal/git.h"
#include "store/internal/refs.h"
#include "store/internal/staging.h"
#include "store/remote.h"

namespace cfgit {
namespace {

namespace fs = std::filesystem;

constexpr const char* kBundleV2 = "# v2 git bundle";
constexpr const char* kBundleV3 = "# v3 git bundle";
constexpr size_t kMaxHeaderLine = size_t{64} * 1024;
constexpr size_t kMaxHeaderLines = 100000;

using File = std::unique_ptr<FILE, int (*)(FILE*)>;

// The commit an object (a commit or an annotated tag) leads to.
Result<Oid> PeelToCommit(git_repository* repo, const Oid& id, const std::string& what) {
  git_object* obj = nullptr;
  int rc = git_object_lookup(&obj, repo, Raw(id), GIT_OBJECT_ANY);
  git::Object holder(obj);
  if (rc) return git::Error(rc, "reading " + what);
  git_object* commit = nullptr;
  rc = git_object_peel(&commit, obj, GIT_OBJECT_COMMIT);
  git::Object commit_holder(commit);
  if (rc) return Status::Usage(what + " does not lead to a commit");
  return FromRaw(git_object_id(commit));
}

std::string SubjectOf(git_repository* repo, const Oid& id) {
  git_commit* c = nullptr;
  if (git_commit_lookup(&c, repo, Raw(id)) != 0) return "";
  git::Commit holder(c);
  const char* summary = git_commit_summary(c);
  return summary ? summary : "";
}

int WriteChunk(void* data, size_t size, void* payload) {
  FILE* f = static_cast<FILE*>(payload);
  return std::fwrite(data, 1, size, f) == size ? 0 : -1;
}

// A temporary directory inside the store (same file system as objects/pack), removed with
// whatever is left in it.
class TempDir {
 public:
  static Result<TempDir> Make(const std::string& store_path) {
    std::error_code ec;
    fs::create_directories(store_path + "/cfgit", ec);
    std::string tmpl = store_path + "/cfgit/import-XXXXXX";
    if (!::mkdtemp(tmpl.data())) {
      return Status::Invalid("cannot create a temporary directory in " + store_path + "/cfgit");
    }
    return TempDir(tmpl);
  }
  TempDir(TempDir&& o) noexcept : path_(std::move(o.path_)) { o.path_.clear(); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) fs::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  explicit TempDir(std::string path) : path_(std::move(path)) {}
  std::string path_;
};

// One header line without its newline; false at the end of the file or past kMaxHeaderLine.
bool ReadLine(std::istream& in, std::string* line) {
  line->clear();
  for (int c; (c = in.get()) != EOF;) {
    if (c == '\n') return true;
    if (line->size() >= kMaxHeaderLine) return false;
    line->push_back(static_cast<char>(c));
  }
  return false;
}

bool IsHex40(const std::string& s) {
  if (s.size() != 40) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

struct BundleRef {
  std::string name;
  Oid id;
};
struct BundleHeader {
  std::vector<Oid> prerequisites;
  std::vector<BundleRef> refs;
};

Status Damaged(const std::string& path, const std::string& why) {
  return Status::NeedsAttention(path + " is damaged or incomplete (" + why +
                                "); nothing was imported: copy the file again, or export it again");
}

Result<BundleHeader> ReadHeader(std::istream& in, const std::string& path) {
  std::string line;
  if (!ReadLine(in, &line) || (line != kBundleV2 && line != kBundleV3)) {
    return Status::Usage(path +
                         " is not a release file (a Git bundle made by cfgit export or git "
                         "bundle create); check the file name");
  }
  const bool v3 = line == kBundleV3;
  BundleHeader h;
  for (size_t n = 0;; ++n) {
    if (n > kMaxHeaderLines || !ReadLine(in, &line)) return Damaged(path, "its header ends early");
    if (line.empty()) break;
    if (v3 && line[0] == '@') {
      if (line != "@object-format=sha1") {
        return Status::NeedsAttention(path + " needs a capability cfgit does not have (" + line +
                                      "); nothing was imported");
      }
      continue;
    }
    bool prerequisite = line[0] == '-';
    std::string rest = prerequisite ? line.substr(1) : line;
    std::string hex = rest.substr(0, 40);
    if (!IsHex40(hex)) return Damaged(path, "a header line has no object id");
    Result<Oid> id = Oid::FromHex(hex);
    if (!id.ok()) return Damaged(path, "a header line has no object id");
    if (prerequisite) {
      h.prerequisites.push_back(*id);
      continue;
    }
    if (rest.size() < 42 || rest[40] != ' ') return Damaged(path, "a ref line has no name");
    std::string name = rest.substr(41);
    int valid = 0;
    if (name != "HEAD" && (git_reference_name_is_valid(&valid, name.c_str()) != 0 || !valid)) {
      return Damaged(path, "'" + name + "' is not a valid ref name");
    }
    h.refs.push_back({name, *id});
  }
  if (h.refs.empty()) return Damaged(path, "it lists no refs");
  return h;
}

int CollectId(const git_oid* id, void* payload) {
  static_cast<std::vector<git_oid>*>(payload)->push_back(*id);
  return 0;
}

// Every object that the pack's commits, trees and tags point at is in the pack or in the store
// (`repo` reads both): the check git_indexer's `verify` option makes, done here because that
// option leaks memory in libgit2 1.5.
Status CheckConnected(const std::string& index, git_repository* repo, const std::string& path) {
  git_odb* pack_raw = nullptr;
  git_odb_backend* backend = nullptr;
  if (git_odb_new(&pack_raw) != 0) return Damaged(path, "its pack cannot be opened");
  git::Odb pack(pack_raw);
  if (git_odb_backend_one_pack(&backend, index.c_str()) != 0 ||
      git_odb_add_backend(pack.get(), backend, 1) != 0) {
    return Damaged(path, "its pack cannot be opened");
  }
  std::vector<git_oid> ids;
  if (git_odb_foreach(pack.get(), CollectId, &ids) != 0) {
    return Damaged(path, "its pack cannot be listed");
  }
  git_odb* all_raw = nullptr;
  if (int rc = git_repository_odb(&all_raw, repo)) return git::Error(rc, "reading " + path);
  git::Odb all(all_raw);
  auto has = [&all](const git_oid* id) { return git_odb_exists(all.get(), id) == 1; };
  for (const git_oid& id : ids) {
    git_object* obj = nullptr;
    if (git_object_lookup(&obj, repo, &id, GIT_OBJECT_ANY) != 0) {
      return Damaged(path, "object " + FromRaw(&id).Short() + " cannot be read");
    }
    git::Object holder(obj);
    bool complete = true;
    switch (git_object_type(obj)) {
      case GIT_OBJECT_TREE: {
        auto* tree = reinterpret_cast<git_tree*>(obj);
        for (size_t i = 0; i < git_tree_entrycount(tree) && complete; ++i) {
          const git_tree_entry* e = git_tree_entry_byindex(tree, i);
          complete = git_tree_entry_type(e) == GIT_OBJECT_COMMIT || has(git_tree_entry_id(e));
        }
        break;
      }
      case GIT_OBJECT_COMMIT: {
        auto* commit = reinterpret_cast<git_commit*>(obj);
        complete = has(git_commit_tree_id(commit));
        for (unsigned i = 0; i < git_commit_parentcount(commit) && complete; ++i) {
          complete = has(git_commit_parent_id(commit, i));
        }
        break;
      }
      case GIT_OBJECT_TAG:
        complete = has(git_tag_target_id(reinterpret_cast<git_tag*>(obj)));
        break;
      default:
        break;
    }
    if (!complete) {
      return Damaged(path, "object " + FromRaw(&id).Short() + " points at objects it lacks");
    }
  }
  return Status::Ok();
}

// Where an incoming ref is kept when it is not (or cannot be) a branch or tag of the same name.
std::string ImportsRef(const std::string& ref) {
  if (StartsWith(ref, "refs/cfgit/exports/")) return "refs/cfgit/imports/" + ref.substr(19);
  return "refs/cfgit/imports/" + ref.substr(5);
}

}  // namespace

Result<ExportResult> ExportBundle(Store& store, const ExportRequest& request) {
  CFGIT_ASSIGN_OR_RETURN(git::Repository holder, git::OpenBare(store.path()));
  git_repository* repo = holder.get();
  ExportResult r;
  const std::string& rev = request.rev;
  std::optional<Oid> target;
  if (StartsWith(rev, "refs/") && (target = RefTarget(repo, rev))) {
    r.ref = rev;
  } else {
    std::optional<Oid> branch = RefTarget(repo, "refs/heads/" + rev);
    std::optional<Oid> tag = RefTarget(repo, "refs/tags/" + rev);
    if (branch && tag) {
      return Status::Usage("'" + rev + "' is both a branch and a tag; say refs/heads/" + rev +
                           " or refs/tags/" + rev);
    }
    if (branch || tag) {
      r.ref = (branch ? "refs/heads/" : "refs/tags/") + rev;
      target = branch ? branch : tag;
    }
  }
  if (target) {
    r.object = *target;
    CFGIT_ASSIGN_OR_RETURN(r.commit, PeelToCommit(repo, r.object, r.ref));
  } else {
    CFGIT_ASSIGN_OR_RETURN(r.commit, store.ResolveCommit(rev));
    r.object = r.commit;
    r.ref = "refs/cfgit/exports/" + r.commit.Hex();
  }

  git_revwalk* w = nullptr;
  if (int rc = git_revwalk_new(&w, repo)) return git::Error(rc, "walking history");
  git::Revwalk walk(w);
  git_revwalk_push(w, Raw(r.commit));
  if (!request.since.empty()) {
    CFGIT_ASSIGN_OR_RETURN(Oid since, store.ResolveCommit(request.since));
    git_revwalk_hide(w, Raw(since));
  }
  // The commits the file carries; prerequisites are their parents it does not (as Git has it).
  std::vector<Oid> commits;
  std::set<std::string> included;
  for (git_oid id; git_revwalk_next(&id, w) == 0;) {
    commits.push_back(FromRaw(&id));
    included.insert(commits.back().Hex());
  }
  if (commits.empty()) {
    return Status::Usage("nothing to export: " + request.since + " already contains " + rev);
  }
  r.commits = commits.size();
  std::set<std::string> seen;
  for (const Oid& id : commits) {
    git_commit* c = nullptr;
    if (int rc = git_commit_lookup(&c, repo, Raw(id))) return git::Error(rc, "reading commit");
    git::Commit commit(c);
    for (unsigned i = 0; i < git_commit_parentcount(c); ++i) {
      Oid parent = FromRaw(git_commit_parent_id(c, i));
      if (!included.count(parent.Hex()) && seen.insert(parent.Hex()).second) {
        r.prerequisites.push_back(parent);
      }
    }
  }

  git_packbuilder* pb = nullptr;
  if (int rc = git_packbuilder_new(&pb, repo)) return git::Error(rc, "packing objects");
  git::PackBuilder packer(pb);
  git_revwalk* w2 = nullptr;
  if (int rc = git_revwalk_new(&w2, repo)) return git::Error(rc, "walking history");
  git::Revwalk pack_walk(w2);
  git_revwalk_push(w2, Raw(r.commit));
  for (const Oid& p : r.prerequisites) git_revwalk_hide(w2, Raw(p));
  if (int rc = git_packbuilder_insert_walk(pb, w2)) return git::Error(rc, "packing objects");
  if (!(r.object == r.commit)) {  // the annotated tag object travels too
    if (int rc = git_packbuilder_insert(pb, Raw(r.object), r.ref.c_str())) {
      return git::Error(rc, "packing the tag object");
    }
  }
  r.objects = git_packbuilder_object_count(pb);

  std::string header = std::string(kBundleV2) + "\n";
  for (const Oid& p : r.prerequisites) header += "-" + p.Hex() + " " + SubjectOf(repo, p) + "\n";
  header += r.object.Hex() + " " + r.ref + "\n\n";
  const std::string tmp = request.path + ".tmp";
  File out(std::fopen(tmp.c_str(), "wb"), std::fclose);
  if (!out) {
    return Status::Usage("cannot write " + request.path + ": " + std::strerror(errno) +
                         "; check that its directory exists and is writable");
  }
  bool ok = std::fwrite(header.data(), 1, header.size(), out.get()) == header.size();
  int rc = ok ? git_packbuilder_foreach(pb, WriteChunk, out.get()) : -1;
  ok = rc == 0 && std::fflush(out.get()) == 0 && ::fsync(::fileno(out.get())) == 0;
  FILE* f = out.release();
  ok = std::fclose(f) == 0 && ok;
  std::error_code ec;
  if (!ok) {
    fs::remove(tmp, ec);
    if (rc && rc != -1) return git::Error(rc, "packing objects into " + request.path);
    return Status::Usage("cannot write " + request.path + " (disk full?)");
  }
  fs::rename(tmp, request.path, ec);
  if (ec) {
    fs::remove(tmp, ec);
    return Status::Usage("cannot write " + request.path + ": " + ec.message());
  }
  r.bytes = fs::file_size(request.path, ec);
  return r;
}

Result<ImportResult> ImportBundle(Store& store, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Status::Usage("cannot read " + path + ": " + std::strerror(errno) +
                         "; check the file name");
  }
  CFGIT_ASSIGN_OR_RETURN(BundleHeader header, ReadHeader(in, path));
  CFGIT_ASSIGN_OR_RETURN(git::Repository holder, git::OpenBare(store.path()));
  git_repository* repo = holder.get();
  git_odb* store_odb_raw = nullptr;
  if (int rc = git_repository_odb(&store_odb_raw, repo)) return git::Error(rc, "opening the store");
  git::Odb store_odb(store_odb_raw);

  ImportResult result;
  result.prerequisites = header.prerequisites;
  std::string missing;
  for (const Oid& p : header.prerequisites) {
    if (git_odb_exists(store_odb.get(), Raw(p)) != 1) missing += " " + p.Short();
  }
  if (!missing.empty()) {
    return Status::NeedsAttention(path + " builds on commits this store does not have:" + missing +
                                  "; import the release files before it first (or ask for an "
                                  "export without --since); nothing was imported");
  }

  // Index the pack into a temporary directory: the indexer checks every object and the pack's
  // checksum, and resolves deltas against the store (a thin pack, as git bundle writes).
  CFGIT_ASSIGN_OR_RETURN(TempDir tmp, TempDir::Make(store.path()));
  git_indexer_options opts = GIT_INDEXER_OPTIONS_INIT;  // not opts.verify: leaks in libgit2 1.5
  git_indexer* idx_raw = nullptr;
  if (int rc = git_indexer_new(&idx_raw, tmp.path().c_str(), 0, store_odb.get(), &opts)) {
    return git::Error(rc, "reading " + path);
  }
  git::Indexer indexer(idx_raw);
  git_indexer_progress stats{};
  std::vector<char> buf(1 << 20);
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    size_t n = static_cast<size_t>(in.gcount());
    if (n == 0) break;
    if (git_indexer_append(indexer.get(), buf.data(), n, &stats) != 0) {
      const git_error* e = git_error_last();
      return Damaged(path, e && e->message ? e->message : "its objects cannot be read");
    }
  }
  if (git_indexer_commit(indexer.get(), &stats) != 0) {
    const git_error* e = git_error_last();
    return Damaged(path, e && e->message ? e->message : "its objects cannot be read");
  }
  result.objects = stats.total_objects;
  const std::string pack_name = std::string("pack-") + git_indexer_name(indexer.get());
  indexer.reset();

  // Every ref's object must be in the file or the store, and lead to a commit whose tree is
  // there: read through an object database of the new pack plus the store's objects.
  std::vector<ImportedRef> planned;
  {
    git_odb* view_raw = nullptr;
    if (int rc = git_odb_new(&view_raw)) return git::Error(rc, "reading " + path);
    git::Odb view(view_raw);
    git_odb_backend* pack = nullptr;
    if (git_odb_backend_one_pack(&pack, (tmp.path() + "/" + pack_name + ".idx").c_str()) != 0 ||
        git_odb_add_backend(view.get(), pack, 2) != 0) {
      return Damaged(path, "its pack cannot be opened");
    }
    if (int rc = git_odb_add_disk_alternate(view.get(), (store.path() + "/objects").c_str())) {
      return git::Error(rc, "opening the store's objects");
    }
    git_repository* both_raw = nullptr;
    if (int rc = git_repository_wrap_odb(&both_raw, view.get())) {
      return git::Error(rc, "reading " + path);
    }
    git::Repository both(both_raw);
    CFGIT_RETURN_IF_ERROR(CheckConnected(tmp.path() + "/" + pack_name + ".idx", both.get(), path));
    for (const BundleRef& ref : header.refs) {
      if (ref.name == "HEAD") continue;
      Result<Oid> commit = PeelToCommit(both.get(), ref.id, ref.name);
      if (!commit.ok()) return Damaged(path, ref.name + " " + ref.id.Short() + " is not in it");
      git_commit* c = nullptr;
      if (git_commit_lookup(&c, both.get(), Raw(*commit)) != 0) {
        return Damaged(path, "commit " + commit->Short() + " is not in it");
      }
      git::Commit commit_holder(c);
      git_tree* tree = nullptr;
      if (git_tree_lookup(&tree, both.get(), git_commit_tree_id(c)) != 0) {
        return Damaged(path, "the tree of commit " + commit->Short() + " is not in it");
      }
      git_tree_free(tree);

      ImportedRef r;
      r.bundle_ref = ref.name;
      r.object = ref.id;
      r.commit = *commit;
      r.ref = StartsWith(ref.name, "refs/heads/") || StartsWith(ref.name, "refs/tags/")
                  ? ref.name
                  : ImportsRef(ref.name);
      const bool branch = StartsWith(r.ref, "refs/heads/");
      const bool tag = StartsWith(r.ref, "refs/tags/");
      r.before = RefTarget(repo, r.ref);
      auto contains = [&both](const Oid& a, const Oid& b) {
        return git_graph_descendant_of(both.get(), Raw(a), Raw(b)) == 1;
      };
      if (r.before && (*r.before == r.object || (branch && contains(*r.before, r.object)))) {
        r.outcome = ImportedRef::Outcome::kUpToDate;
      } else if (!r.before || (!branch && !tag)) {
        r.outcome = ImportedRef::Outcome::kCreated;  // new, or a ref kept aside before (replaced)
      } else if (tag) {
        return Status::NeedsAttention("tag " + r.ref.substr(10) +
                                      " exists here on another commit (" + r.before->Short() +
                                      ") than in " + path + " (" + r.object.Short() +
                                      "); tags never move: delete it with cfgit tag -d " +
                                      r.ref.substr(10) + " and import again; nothing was imported");
      } else if (contains(r.object, *r.before)) {
        r.outcome = ImportedRef::Outcome::kFastForward;
      } else {
        r.outcome = ImportedRef::Outcome::kKeptAside;
        r.ref = ImportsRef(ref.name);
        r.before = RefTarget(repo, r.ref);
      }
      planned.push_back(std::move(r));
    }
  }

  // Checked: the pack joins the store (.pack before .idx, so no reader sees an index without
  // its pack), then the refs move.
  const std::string pack_dir = store.path() + "/objects/pack/";
  std::error_code ec;
  if (!fs::exists(pack_dir + pack_name + ".idx", ec)) {
    for (const char* ext : {".pack", ".idx"}) {
      fs::rename(tmp.path() + "/" + pack_name + ext, pack_dir + pack_name + ext, ec);
      if (ec) {
        return Status::Invalid("cannot move the imported objects into " + pack_dir + ": " +
                               ec.message());
      }
    }
  }
  git_odb_refresh(store_odb.get());
  const std::string log = "import: " + fs::path(path).filename().string();
  std::string first_branch;
  for (ImportedRef& r : planned) {
    if (r.outcome == ImportedRef::Outcome::kUpToDate) continue;
    git_reference* out = nullptr;
    int rc;
    if (r.before && StartsWith(r.ref, "refs/heads/")) {  // fast-forward: compare-and-swap
      rc = git_reference_create_matching(&out, repo, r.ref.c_str(), Raw(r.object), 1,
                                         Raw(*r.before), log.c_str());
    } else {
      rc = git_reference_create(&out, repo, r.ref.c_str(), Raw(r.object),
                                StartsWith(r.ref, "refs/cfgit/imports/") ? 1 : 0, log.c_str());
    }
    git_reference_free(out);
    if (rc == GIT_EMODIFIED || rc == GIT_EEXISTS) {
      return Status::NeedsAttention(r.ref +
                                    " was changed by another command while importing; run "
                                    "cfgit import again");
    }
    if (rc) return git::Error(rc, "updating " + r.ref);
    if (first_branch.empty() && StartsWith(r.ref, "refs/heads/")) first_branch = r.ref;
  }
  if (!first_branch.empty() && git_repository_head_unborn(repo) == 1) {
    git_repository_set_head(repo, first_branch.c_str());
  }
  result.refs = std::move(planned);
  return result;
}

}  // namespace cfgit
