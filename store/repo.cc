// Store: the bare Git repository behind a workspace (see store/store.h).
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>
#include <xxhash.h>

#include <algorithm>
#include <atomic>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <future>
#include <map>
#include <mutex>
#include <string>
#include <system_error>
#include <thread>
#include <unordered_map>
#include <vector>

#include "store/internal/edit.h"
#include "store/internal/fingerprints.h"
#include "store/internal/git.h"
#include "store/internal/memory.h"
#include "store/internal/pack_reader.h"
#include "store/internal/rows_diffs.h"
#include "store/internal/staging.h"
#include "store/internal/tree_reader.h"
#include "store/store.h"

namespace cfgit {

namespace git {

Status Error(int code, const std::string& what) {
  const git_error* e = git_error_last();
  std::string detail = e && e->message ? e->message : "libgit2 error " + std::to_string(code);
  return Status::Invalid(what + ": " + detail);
}

}  // namespace git

namespace {

// libgit2 1.5 built with mbedTLS (Debian's) parses the system's certificate authorities as it
// starts (/etc/ssl/certs/ca-certificates.crt, 220 KB of PEM): 7 ms of every command on this
// machine, mbedTLS decoding base64 in constant time, for https alone. cfgit sets the authorities
// itself before it connects anywhere (PrepareNetwork, store/remote.cc), so that first parse is
// never used. It is skipped: the linker sends libgit2's calls to mbedTLS's file loader here
// (--wrap, CMakeLists.txt), which lets the call made while git_libgit2_init runs go, and passes
// every other call on to mbedTLS's own. The file let off is kept: where the authorities cfgit
// asks for cannot be loaded, it is (git::LoadCertificateAuthorities), as libgit2's start would
// have. Only a default file is deferred: a libgit2 built with a default directory has mbedTLS
// load it through its directory loader, whose calls stay inside mbedTLS, and starts as slowly
// as before.
std::atomic<bool> starting_libgit2{false};
std::vector<std::string> deferred_certificates;  // written only while git_libgit2_init runs

}  // namespace

extern "C" int __real_mbedtls_x509_crt_parse_file(void* chain, const char* path);
extern "C" int __wrap_mbedtls_x509_crt_parse_file(void* chain, const char* path) {
  if (starting_libgit2.load()) {
    deferred_certificates.emplace_back(path ? path : "");
    return 0;  // the chain stays empty until PrepareNetwork sets one
  }
  return __real_mbedtls_x509_crt_parse_file(chain, path);
}

namespace git {

size_t CertificateLoadsDeferred() { return deferred_certificates.size(); }

bool LoadCertificateAuthorities(const char* file, const char* dir) {
  if ((file || dir) && git_libgit2_opts(GIT_OPT_SET_SSL_CERT_LOCATIONS, file, dir) == 0)
    return true;
  if (deferred_certificates.empty()) return false;
  // What libgit2's start asked for: its default file.
  return git_libgit2_opts(GIT_OPT_SET_SSL_CERT_LOCATIONS, deferred_certificates.front().c_str(),
                          nullptr) == 0;
}

}  // namespace git

namespace {

struct LibGit2 {
  LibGit2() {
    PrepareHeap();
    starting_libgit2.store(true);
    git_libgit2_init();
    starting_libgit2.store(false);
    // No cache of parsed objects: cfgit walks trees holding the handles it needs (DiffTrees
    // reads each tree once), and the cache's growing heap cost a page fault a page: a 1000-row
    // diff ran 0.13 s with it and 0.08 s without (faults 6400 -> 2200), a merge 0.50 -> 0.42 s.
    git_libgit2_opts(GIT_OPT_ENABLE_CACHING, 0);
    // Packs are read through mapped windows of 64 MiB, at most 192 MiB of them at once (libgit2
    // maps up to 1 GiB per window and 8 GiB in all by default): the pages of a 1M-row store's
    // packs otherwise stayed mapped and counted in the process's memory (an apply of 1% peaked at
    // 492 MB RSS, 372 MB with these limits, for some 0.1 s more).
    git_libgit2_opts(GIT_OPT_SET_MWINDOW_SIZE, static_cast<size_t>(64) << 20);
    git_libgit2_opts(GIT_OPT_SET_MWINDOW_MAPPED_LIMIT, static_cast<size_t>(192) << 20);
    // Objects read from the store's own packs are not hashed again (git does not either; pack
    // checksums and `git fsck` cover corruption): SHA-1 of every tree and row read was 10-25% of
    // a diff or merge.
    git_libgit2_opts(GIT_OPT_ENABLE_STRICT_HASH_VERIFICATION, 0);
  }
  ~LibGit2() { git_libgit2_shutdown(); }
};
void EnsureLibGit2() { static LibGit2 instance; }

class GitSnapshotWriter final : public SnapshotWriter {
 public:
  GitSnapshotWriter(git_repository* repo, const std::string& objects_dir, std::string memo_path,
                    PackReader* packs)
      : repo_(repo), objects_dir_(objects_dir), memo_path_(std::move(memo_path)), packs_(packs) {}
  ~GitSnapshotWriter() override {
    WaitForTable().ok();  // its status is nobody's now
    WaitForMemo();        // a memo being saved is saved
    if (memo_loading_.valid()) memo_loading_.wait();
  }

  // Stages into `shared` (another writer's staging) when given: see Store::NewSnapshot.
  Status Init(std::shared_ptr<ObjectStager> shared) {
    if (shared) {
      // A deploy's backup: its memo is used only for tables with ignored columns (the others
      // are copied from the live snapshot), so it is loaded when first needed.
      stager_ = std::move(shared);
      return Status::Ok();
    }
    stager_ = std::make_shared<ObjectStager>();
    CFGIT_RETURN_IF_ERROR(stager_->Init(repo_, objects_dir_, packs_));
    StartLoadingMemo();
    return Status::Ok();
  }
  const std::shared_ptr<ObjectStager>& stager() const { return stager_; }

  Result<TableWriteStats> CopyTable(const SnapshotWriter& from) override {
    const auto* other = dynamic_cast<const GitSnapshotWriter*>(&from);
    CFGIT_RETURN_IF_ERROR(WaitForTable());
    if (other) CFGIT_RETURN_IF_ERROR(other->WaitForTable());
    if (!other || other->stager_ != stager_ || other->tables_.empty()) {
      return Status::Invalid("CopyTable: the other writer shares no staging or wrote no table");
    }
    tables_.push_back(other->tables_.back());
    return other->last_stats_;
  }

  Status BeginTable(const TableSchema& schema) override {
    schema_ = schema;
    current_.Clear();
    keyless_seen_.clear();
    null_keys_.clear();
    key_index_.clear();
    std::vector<std::string> cols = schema.VersionedColumns();
    for (const std::string& k : schema.key) {
      auto it = std::find(cols.begin(), cols.end(), k);
      if (it == cols.end()) {
        return Status::Invalid("key column '" + k + "' of table '" + schema.name +
                               "' is not versioned");
      }
      key_index_.push_back(static_cast<size_t>(it - cols.begin()));
    }
    columns_ = std::move(cols);
    seed_ = LayoutSeed(columns_, key_index_);
    rows_ = 0;
    return Status::Ok();
  }

  using SnapshotWriter::AddRow;

  // On the reading thread (SnapshotWriter::PrepareRows): the memo's lookups only mark what they
  // find, and AddRow below only adds records, so the two threads touch different parts of it.
  void PrepareRows(std::span<const Row> rows, PreparedRow* out) override {
    for (size_t i = 0; i < rows.size(); ++i) out[i].known = false;
    if (!schema_.rows_versioned || rows.empty()) return;
    thread_local std::vector<Fingerprint> fps;
    thread_local std::vector<std::optional<FingerprintMemo::Hit>> hits;
    fps.resize(rows.size());
    hits.resize(rows.size());
    for (size_t i = 0; i < rows.size(); ++i) fps[i] = RowFingerprint(seed_, rows[i]);
    Memo().FindMany(fps.data(), rows.size(), hits.data());
    for (size_t i = 0; i < rows.size(); ++i) {
      out[i].fingerprint[0] = fps[i].high;
      out[i].fingerprint[1] = fps[i].low;
      if (hits[i]) {
        out[i].known = true;
        out[i].blob = hits[i]->blob;
        out[i].name = hits[i]->name;
      }
    }
  }

  Status AddRow(const Row& row, const PreparedRow& prepared) override {
    if (!schema_.rows_versioned) return Status::Ok();
    if (row.size() != columns_.size()) {
      return Status::Invalid("table '" + schema_.name + "': a row has " +
                             std::to_string(row.size()) + " values for " +
                             std::to_string(columns_.size()) + " versioned columns");
    }
    if (rows_++ == 0) current_.Reserve(Memo().row_records());
    Fingerprint fp{prepared.fingerprint[0], prepared.fingerprint[1]};
    std::optional<FingerprintMemo::Hit> hit;
    if (prepared.known) hit = FingerprintMemo::Hit{prepared.blob, prepared.name};
    Oid blob;
    int occurrence = 1;
    if (hit && key_index_.empty()) occurrence = ++keyless_seen_[std::string(hit->name)];
    if (hit && occurrence == 1) {
      // The same values as a row already stored: the same file under the same name.
      current_.Add(hit->name, hit->blob);
      return Status::Ok();
    }
    std::string yaml = EncodeRow(columns_, row);
    std::string stem, base;  // base: the name the memo keeps (keyless rows: the first copy's)
    if (key_index_.empty()) {
      base = hit ? std::string(hit->name) : KeylessName(yaml, 1);
      if (!hit) occurrence = ++keyless_seen_[base];
      stem = occurrence == 1 ? base : KeylessName(yaml, occurrence);
    } else {
      Row key;
      for (size_t i : key_index_) key.push_back(row[i]);
      for (const Value& v : key) {
        if (v.is_null() && null_keys_.size() < 5) null_keys_.push_back(yaml);
      }
      stem = EncodeKey(key);
      base = stem;
    }
    CFGIT_ASSIGN_OR_RETURN(blob, Stage(GIT_OBJECT_BLOB, yaml));
    if (occurrence == 1) Memo().Add(fp, blob, base);
    current_.Add(stem, blob);
    return Status::Ok();
  }

  // Checks the key for NULLs and returns; the table's rows are sorted, checked for duplicate
  // keys and built into its tree on a thread of its own (BuildTable) while the next table is
  // read. What that finds is reported by the next EndTable, CopyTable or FinishTree.
  Result<TableWriteStats> EndTable() override {
    CFGIT_RETURN_IF_ERROR(WaitForTable());
    std::string key_desc;
    for (const auto& k : schema_.key) key_desc += (key_desc.empty() ? "" : ", ") + k;
    if (!null_keys_.empty()) {
      std::string rows;
      for (const auto& r : null_keys_) rows += "\n  - " + Flatten(r);
      return Status::NeedsAttention("table '" + schema_.name + "': the key (" + key_desc +
                                    ") is NULL in these rows:" + rows +
                                    "\nfix the rows, or name a key that is never NULL under "
                                    "key: in cfgit.yaml");
    }
    CFGIT_ASSIGN_OR_RETURN(Oid schema_blob, Stage(GIT_OBJECT_BLOB, EncodeSchema(schema_)));
    // The building thread uses memo_ as it is now: loaded by the table's first AddRow (a table
    // without rows needs none, and loads none).
    // The last table's buffers (its thread is done) take the next table's rows: kept, as
    // growing them again costs a page fault a page, more than the rows.
    std::swap(current_, ending_);
    current_.Clear();
    size_t index = tables_.size();  // its id is set by BuildTable
    tables_.push_back({EncodePathComponent(schema_.name), true, Oid{}});
    last_stats_ = TableWriteStats{schema_.name, rows_, schema_.key.empty()};
    auto build = [this, index, schema_blob, name = schema_.name, key_desc] {
      try {
        built_ = BuildTable(name, key_desc, schema_blob, index);
      } catch (const std::exception& e) {
        built_ = Status::Invalid("building table '" + name + "': " + e.what());
      }
    };
    try {
      building_ = std::jthread(build);
    } catch (const std::system_error&) {
      build();  // no thread to be had: built here
    }
    return last_stats_;
  }

  Result<Oid> FinishTree(const std::string& dialect) override {
    CFGIT_RETURN_IF_ERROR(WaitForTable());
    // No table comes after: the tables' buffers (tens of MB at 1M rows) go before the commit's
    // pack and diff need memory.
    current_ = TableRows();
    ending_ = TableRows();
    std::vector<RowEntry>().swap(sort_buffer_);
    std::vector<TreeEntry> root;
    std::string meta = "format: 1\ndialect: " + dialect + "\n";
    CFGIT_ASSIGN_OR_RETURN(Oid meta_blob, Stage(GIT_OBJECT_BLOB, meta));
    root.push_back({"snapshot.yaml", false, meta_blob});
    if (!tables_.empty()) {
      CFGIT_ASSIGN_OR_RETURN(Oid tables, StageTree(tables_));
      root.push_back({"tables", true, tables});
    }
    CFGIT_ASSIGN_OR_RETURN(tree_, StageTree(root));
    // Nothing new to write (an unchanged environment): every object of this snapshot is in the
    // store already, so the memo may point at them now.
    KeepMemo();
    return tree_;
  }

  void KeepMemo() override {
    // A memo that cannot be written only costs speed next time; a table that failed is
    // reported by FinishTree.
    if (!WaitForTable().ok()) return;
    // Nothing to write, so no Flush checked that the packs the memo counts on are still there.
    if (stager_->empty() && stager_->PacksKept().ok()) SaveMemo();
  }

  Result<Oid> WriteCommit(const std::vector<Oid>& parents, const std::string& message,
                          const Signature& author) override {
    CFGIT_RETURN_IF_ERROR(WaitForTable());
    CFGIT_ASSIGN_OR_RETURN(Oid commit,
                           Stage(GIT_OBJECT_COMMIT, CommitBytes(tree_, parents, message, author)));
    CFGIT_RETURN_IF_ERROR(stager_->Flush());
    // Every row file is in the store now: the memo may point at them. A memo that cannot be
    // written only costs speed next time, so it does not fail the commit.
    SaveMemo(/*in_background=*/true);
    return commit;
  }

 private:
  // A row file of a table: its fan-out directories as one number (the first two bytes of the
  // stem's XXH3, store-format.md) and its file name, kept in TableRows::names.
  struct RowEntry {
    uint32_t bucket;
    uint32_t name_size;
    size_t name_offset;
    Oid blob;
  };

  // The row files of one table, in the order added until sorted.
  struct TableRows {
    std::vector<RowEntry> entries;
    std::string names;

    std::string_view Name(const RowEntry& e) const {
      return std::string_view(names).substr(e.name_offset, e.name_size);
    }
    // Sorted entries point all over `names` (tens of MB at 1M rows): their names are asked for
    // from memory this many entries ahead, so the fetches overlap instead of following one
    // another.
    static constexpr size_t kPrefetchAhead = 16;
    void PrefetchName(size_t i) const {
      if (i < entries.size()) __builtin_prefetch(names.data() + entries[i].name_offset);
    }
    // Room for `rows` rows (as many as the last snapshot had in all): only the pages used are
    // touched, and the growth of a big table (copies, a page fault a page, twice) is avoided.
    void Reserve(size_t rows) {
      if (entries.capacity() >= rows) return;
      ReserveHuge(&entries, rows);
      names.reserve(rows * 32);
      AdviseHugePages(names.data(), names.capacity());
    }
    void Add(std::string_view stem, const Oid& blob) {
      RowEntry e{FanoutBucket(stem), static_cast<uint32_t>(stem.size() + 5), names.size(), blob};
      names += stem;
      names += ".yaml";
      entries.push_back(e);
    }
    void Clear() {
      entries.clear();
      names.clear();
    }
    // Into Git's order: by directory, then by file name (all blobs, so plain byte order).
    // `buffer`: where the entries are moved to (the two vectors then trade places).
    void Sort(std::vector<RowEntry>* buffer) {
      std::vector<RowEntry>& sorted = *buffer;
      std::vector<uint32_t> start(65537, 0);
      for (const RowEntry& e : entries) ++start[e.bucket + 1];
      for (size_t b = 1; b < start.size(); ++b) start[b] += start[b - 1];
      ReserveHuge(&sorted, entries.capacity());
      sorted.resize(entries.size());
      std::vector<uint32_t> next(start.begin(), start.end() - 1);
      for (const RowEntry& e : entries) sorted[next[e.bucket]++] = e;
      entries.swap(sorted);
      auto by_name = [this](const RowEntry& a, const RowEntry& b) { return Name(a) < Name(b); };
      size_t fetched = 0;  // names asked for: those of the entries before it
      for (size_t b = 0; b + 1 < start.size(); ++b) {
        for (; fetched < entries.size() && fetched < start[b + 1] + kPrefetchAhead; ++fetched) {
          PrefetchName(fetched);
        }
        std::sort(entries.begin() + start[b], entries.begin() + start[b + 1], by_name);
      }
    }
  };

  // On the building thread: the ended table's rows (ending_) sorted, checked for duplicate keys
  // and built into its tree, whose id goes into tables_[index]. It touches nothing the reading
  // of the next table does but the staging (locked) and the memo's tree records (the rows read
  // use its row records).
  Status BuildTable(const std::string& name, const std::string& key_desc, const Oid& schema_blob,
                    size_t index) {
    TableRows& t = ending_;
    t.Sort(&sort_buffer_);
    std::vector<std::string> dups;
    for (size_t i = 1; i < t.entries.size(); ++i) {
      t.PrefetchName(i + TableRows::kPrefetchAhead);
      if (t.entries[i].bucket == t.entries[i - 1].bucket &&
          t.Name(t.entries[i]) == t.Name(t.entries[i - 1]) &&
          (dups.empty() || dups.back() != t.Name(t.entries[i]))) {
        dups.emplace_back(t.Name(t.entries[i]));
      }
    }
    if (!dups.empty()) {
      std::string list;
      for (size_t i = 0; i < dups.size() && i < 5; ++i) {
        Result<Row> key = DecodeKey(dups[i].substr(0, dups[i].size() - 5));
        std::string shown;
        if (key.ok()) {
          for (const Value& v : *key) shown += (shown.empty() ? "" : ", ") + EncodeValue(v);
        } else {
          shown = dups[i];
        }
        list += "\n  - (" + shown + ")";
      }
      if (dups.size() > 5) list += "\n  ... and " + std::to_string(dups.size() - 5) + " more";
      return Status::NeedsAttention(
          "table '" + name + "': the key (" + key_desc +
          ") is not unique; these values identify more than one row:" + list +
          "\nfix the rows, or name a unique key under key: in cfgit.yaml");
    }
    std::vector<TreeEntry> table_entries;
    table_entries.push_back({"schema.yaml", false, schema_blob});
    if (!t.entries.empty()) {
      CFGIT_ASSIGN_OR_RETURN(Oid rows, BuildRowsTree(t));
      table_entries.push_back({"rows", true, rows});
    }
    CFGIT_ASSIGN_OR_RETURN(tables_[index].id, StageTree(table_entries));
    return Status::Ok();
  }

  // The status of the table being built, once it is built (kept until the next one).
  Status WaitForTable() const {
    if (building_.joinable()) building_.join();
    return built_;
  }

  static std::string Flatten(const std::string& yaml) {
    std::string out;
    for (char c : yaml) out += c == '\n' ? std::string(", ") : std::string(1, c);
    if (out.size() >= 2) out.resize(out.size() - 2);
    return out.size() > 200 ? out.substr(0, 200) + "..." : out;
  }

  // rows/XX/YY/<file>: leaf and middle trees whose entries were in the last snapshot are taken
  // from the memo, not built and hashed again.
  // On the building thread: the memo is used as EndTable loaded it (not through Memo()).
  Result<Oid> BuildRowsTree(const TableRows& t) {
    std::vector<TreeEntry> top, mid;
    TreeFingerprint leaf_fp, mid_fp;
    auto hex = [](uint32_t byte) {
      constexpr char kDigits[] = "0123456789abcdef";
      return std::string{kDigits[(byte >> 4) & 0xf], kDigits[byte & 0xf]};
    };
    auto close_mid = [&](uint32_t top_byte) -> Status {
      if (mid.empty()) return Status::Ok();
      Fingerprint fp = mid_fp.Take();
      std::optional<Oid> id = memo_.FindTree(fp);
      if (!id) {
        CFGIT_ASSIGN_OR_RETURN(id, StageTree(mid));
        memo_.AddTree(fp, *id);
      }
      top.push_back({hex(top_byte), true, *id});
      mid.clear();
      return Status::Ok();
    };
    size_t i = 0;
    while (i < t.entries.size()) {
      uint32_t bucket = t.entries[i].bucket;
      size_t end = i;
      while (end < t.entries.size() && t.entries[end].bucket == bucket) {
        t.PrefetchName(end + TableRows::kPrefetchAhead);
        leaf_fp.Add(t.Name(t.entries[end]), false, t.entries[end].blob);
        ++end;
      }
      Fingerprint fp = leaf_fp.Take();
      std::optional<Oid> leaf = memo_.FindTree(fp);
      if (!leaf) {
        std::vector<TreeEntry> files;
        for (size_t j = i; j < end; ++j) {
          files.push_back({std::string(t.Name(t.entries[j])), false, t.entries[j].blob});
        }
        CFGIT_ASSIGN_OR_RETURN(leaf, StageTree(files));
        memo_.AddTree(fp, *leaf);
      }
      std::string name = hex(bucket & 0xff);
      mid_fp.Add(name, true, *leaf);
      mid.push_back({std::move(name), true, *leaf});
      i = end;
      if (i == t.entries.size() || t.entries[i].bucket >> 8 != bucket >> 8) {
        CFGIT_RETURN_IF_ERROR(close_mid(bucket >> 8));
      }
    }
    return StageTree(top);
  }

  Result<Oid> StageTree(const std::vector<TreeEntry>& entries) {
    return Stage(GIT_OBJECT_TREE, TreeBytes(entries));
  }

  Result<Oid> Stage(git_object_t type, const std::string& data) {
    return stager_->Stage(type, data);
  }

  git_repository* repo_;
  std::string objects_dir_;
  std::shared_ptr<ObjectStager> stager_;

  std::string memo_path_;
  PackReader* packs_;  // the store's, asked first whether an object is there (ObjectStager)
  // Loaded on a thread of its own from the writer's start (StartLoadingMemo; a backup's writer,
  // which shares another's staging, loads it here), and taken when first needed: reading an
  // empty database (a new environment) uses none.
  // Called by the main and the reading thread: written only while one thread uses the writer.
  FingerprintMemo& Memo() {
    if (!memo_loaded_) {
      WaitForMemo();
      if (memo_loading_.valid()) {
        memo_ = memo_loading_.get();
      } else if (!memo_path_.empty() && stager_->memos_usable()) {
        memo_ = FingerprintMemo::Load(memo_path_);
      }
      memo_loaded_ = true;
    }
    return memo_;
  }
  // At 1M rows a load takes ~0.1 s (mapping ~70 MB, building its hash tables) and the first rows
  // read wait for it; begun when the writer is made (ReadLive makes it before it opens the
  // database), it overlaps the connection, the tables' list and schemas and the start of the
  // first table's scan. Without a thread to be had, Memo() loads it.
  void StartLoadingMemo() {
    if (memo_path_.empty() || !stager_->memos_usable()) return;
    try {
      // Only a cache: a load that throws (out of memory, a directory that cannot be listed)
      // leaves the memo empty rather than failing the snapshot.
      memo_loading_ = std::async(std::launch::async, [this] {
        try {
          return FingerprintMemo::Load(memo_path_);
        } catch (const std::exception&) {
          return FingerprintMemo();
        }
      });
    } catch (const std::system_error&) {
    }
  }
  // Never loaded: the snapshot had no row, and the empty memo saved is no file at all.
  // `in_background`: on a thread of its own, as a commit's save is (a 1M-row memo is ~70 MB, and
  // the command prints its diff stat meanwhile). The memo is not touched until that save is done:
  // its next use, the next save and the writer's end wait for it. A memo that cannot be written
  // only costs speed next time, so its status is dropped.
  void SaveMemo(bool in_background = false) {
    WaitForMemo();
    memo_loaded_ = true;
    if (memo_path_.empty() || !stager_->memos_usable()) return;
    if (in_background) {
      try {
        // A save that throws (out of memory) on its thread would end the process: dropped, as
        // a save that fails is.
        memo_saving_ = std::jthread([this] {
          try {
            memo_.Save(memo_path_).ok();
          } catch (const std::exception&) {
          }
        });
        return;
      } catch (const std::system_error&) {
        // no thread to be had: saved here
      }
    }
    memo_.Save(memo_path_).ok();
  }
  void WaitForMemo() {
    if (memo_saving_.joinable()) memo_saving_.join();
  }
  FingerprintMemo memo_;
  bool memo_loaded_ = false;
  std::jthread memo_saving_;
  std::future<FingerprintMemo> memo_loading_;  // StartLoadingMemo's, taken by Memo()
  // BuildTable's thread and what it found. Mutable: waiting for it changes nothing a reader of
  // the writer sees (CopyTable waits for the other writer's).
  mutable std::jthread building_;
  Status built_ = Status::Ok();
  uint64_t seed_ = 0;

  TableSchema schema_;
  std::vector<std::string> columns_;
  std::vector<size_t> key_index_;
  TableRows current_;  // the table being read
  TableRows ending_;   // the table being built (BuildTable), then the next one's buffers
  std::vector<RowEntry> sort_buffer_;  // BuildTable's
  std::unordered_map<std::string, int> keyless_seen_;
  std::vector<std::string> null_keys_;
  size_t rows_ = 0;
  std::vector<TreeEntry> tables_;
  TableWriteStats last_stats_;
  Oid tree_;
};

class GitStore final : public Store {
 public:
  GitStore(git::Repository repo, std::string path, std::shared_ptr<TreeReader> trees)
      : repo_(std::move(repo)),
        path_(std::move(path)),
        trees_(std::move(trees)),
        rows_diffs_(path_ + "/cfgit/rows-diffs") {}

  const std::string& path() const override { return path_; }

  Result<WriteLock> LockForWriting(std::chrono::milliseconds wait) override {
    std::string lock_path = path_ + "/cfgit.lock";
    int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
      return Status::Invalid("cannot open the lock file " + lock_path + ": " +
                             std::strerror(errno));
    }
    auto deadline = std::chrono::steady_clock::now() + wait;
    while (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      if (std::chrono::steady_clock::now() >= deadline) {
        char pid[32] = {0};
        ssize_t n = ::pread(fd, pid, sizeof pid - 1, 0);
        ::close(fd);
        std::string holder =
            n > 0 ? " (held by process " + std::string(pid, static_cast<size_t>(n)) + ")" : "";
        return Status::NeedsAttention(
            "another cfgit command is writing to this workspace: " + lock_path + " is locked" +
            holder + "; wait for it to finish, then run the command again");
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    std::string pid = std::to_string(::getpid());
    if (::ftruncate(fd, 0) == 0) {
      [[maybe_unused]] ssize_t n = ::pwrite(fd, pid.data(), pid.size(), 0);
    }
    return WriteLock(fd);
  }

  Result<Oid> ResolveCommit(const std::string& rev) const override {
    // A name that is both a branch and a tag would silently mean the tag (libgit2 tries
    // refs/tags/ first); make the user say which.
    std::string name = rev.substr(0, rev.find_first_of("~^@:"));
    if (RefExists("refs/heads/" + name) && RefExists("refs/tags/" + name)) {
      return Status::Usage("'" + name + "' is both a branch and a tag; say heads/" + name +
                           " or tags/" + name);
    }
    git_object* obj = nullptr;
    int rc = git_revparse_single(&obj, repo_.get(), rev.c_str());
    git::Object holder(obj);
    if (rc == GIT_ENOTFOUND || rc == GIT_EINVALIDSPEC || rc == GIT_EAMBIGUOUS) {
      std::string why = rc == GIT_EAMBIGUOUS ? "is ambiguous; give more digits of the id"
                                             : "is not a branch, tag or commit id of this store";
      return Status::Usage("revision '" + rev + "' " + why +
                           " (cfgit branch, cfgit tag and cfgit log list them)");
    }
    if (rc) return git::Error(rc, "resolving revision '" + rev + "'");
    git_object* peeled = nullptr;
    rc = git_object_peel(&peeled, obj, GIT_OBJECT_COMMIT);
    git::Object peeled_holder(peeled);
    if (rc) return Status::Usage("revision '" + rev + "' does not name a commit");
    return FromRaw(git_object_id(peeled));
  }

  Result<std::optional<Oid>> ReadRef(const std::string& ref) const override {
    git_oid raw;
    int rc = git_reference_name_to_id(&raw, repo_.get(), ref.c_str());
    if (rc == GIT_ENOTFOUND) return std::optional<Oid>();
    if (rc) return git::Error(rc, "reading " + ref);
    return std::optional<Oid>(FromRaw(&raw));
  }

  Status UpdateRef(const std::string& ref, const Oid& id, const std::optional<Oid>& expected,
                   const std::string& log_message) override {
    git_reference* out = nullptr;
    int rc = expected ? git_reference_create_matching(&out, repo_.get(), ref.c_str(), Raw(id), 1,
                                                      Raw(*expected), log_message.c_str())
                      : git_reference_create(&out, repo_.get(), ref.c_str(), Raw(id), 0,
                                             log_message.c_str());
    git::Reference holder(out);
    if (rc == GIT_ELOCKED) return RefLocked(ref, "nothing was overwritten");
    if (rc == GIT_EMODIFIED || rc == GIT_EEXISTS) {
      return Status::NeedsAttention(ref +
                                    " was changed by another command while this one ran; "
                                    "nothing was overwritten: run the command again");
    }
    if (rc) return git::Error(rc, "updating " + ref);
    return Status::Ok();
  }

  Status DeleteRef(const std::string& ref) override {
    git_reference* r = nullptr;
    int rc = git_reference_lookup(&r, repo_.get(), ref.c_str());
    git::Reference holder(r);
    if (rc == GIT_ENOTFOUND) return Status::Usage(ref + " does not exist");
    if (rc == 0) rc = git_reference_delete(r);
    if (rc == GIT_ELOCKED) return RefLocked(ref, "it was not deleted");
    if (rc) return git::Error(rc, "deleting " + ref);
    return Status::Ok();
  }

  // A ref whose lock file exists: another git process is writing it, or a command was stopped
  // while it did (git's own tools leave such files the same way). cfgit's writers hold the
  // workspace lock, so with no stock git running the file is stale; it is never removed
  // automatically, since a git process outside cfgit's lock may own it.
  Status RefLocked(const std::string& ref, const std::string& outcome) const {
    return Status::NeedsAttention(ref + " is locked by " + path_ + "/" + ref + ".lock; " + outcome +
                                  ". Another git process is updating it, or a command was stopped "
                                  "while it did: if none is running, delete that file and run "
                                  "the command again");
  }

  Status AdoptHeadIfUnborn(const std::string& branch) override {
    if (git_repository_head_unborn(repo_.get()) != 1) return Status::Ok();
    git_reference* head = nullptr;
    int rc = git_reference_lookup(&head, repo_.get(), "HEAD");
    git::Reference holder(head);
    if (rc == 0 && git_reference_type(head) == GIT_REFERENCE_SYMBOLIC) {
      git_oid raw;
      if (git_reference_name_to_id(&raw, repo_.get(), git_reference_symbolic_target(head)) == 0) {
        return Status::Ok();
      }
    }
    rc = git_repository_set_head(repo_.get(), ("refs/heads/" + branch).c_str());
    if (rc) return git::Error(rc, "pointing HEAD at " + branch);
    return Status::Ok();
  }

  Result<CommitInfo> ReadCommit(const Oid& id) const override {
    git_commit* c = nullptr;
    int rc = git_commit_lookup(&c, repo_.get(), Raw(id));
    git::Commit holder(c);
    if (rc) return git::Error(rc, "reading commit " + id.Short());
    CommitInfo info;
    info.id = id;
    info.tree = FromRaw(git_commit_tree_id(c));
    for (unsigned i = 0; i < git_commit_parentcount(c); ++i) {
      info.parents.push_back(FromRaw(git_commit_parent_id(c, i)));
    }
    const char* msg = git_commit_message(c);
    info.message = msg ? msg : "";
    const git_signature* a = git_commit_author(c);
    info.author = {a->name, a->email, static_cast<int64_t>(a->when.time), a->when.offset};
    return info;
  }

  Result<std::vector<CommitInfo>> Log(const std::vector<Oid>& starts, size_t limit) const override {
    git_revwalk* w = nullptr;
    if (int rc = git_revwalk_new(&w, repo_.get())) return git::Error(rc, "walking history");
    git::Revwalk walk(w);
    git_revwalk_sorting(w, GIT_SORT_TOPOLOGICAL | GIT_SORT_TIME);
    for (const Oid& s : starts) {
      if (int rc = git_revwalk_push(w, Raw(s))) return git::Error(rc, "walking history");
    }
    std::vector<CommitInfo> out;
    git_oid raw;
    while ((limit == 0 || out.size() < limit) && git_revwalk_next(&raw, w) == 0) {
      CFGIT_ASSIGN_OR_RETURN(CommitInfo info, ReadCommit(FromRaw(&raw)));
      out.push_back(std::move(info));
    }
    return out;
  }

  Result<std::vector<CommitInfo>> LogRange(const std::vector<Oid>& include,
                                           const std::vector<Oid>& exclude) const override {
    git_revwalk* w = nullptr;
    if (int rc = git_revwalk_new(&w, repo_.get())) return git::Error(rc, "walking history");
    git::Revwalk walk(w);
    git_revwalk_sorting(w, GIT_SORT_TOPOLOGICAL | GIT_SORT_TIME);
    for (const Oid& s : include) {
      if (int rc = git_revwalk_push(w, Raw(s))) return git::Error(rc, "walking history");
    }
    for (const Oid& s : exclude) {
      if (int rc = git_revwalk_hide(w, Raw(s))) return git::Error(rc, "walking history");
    }
    std::vector<CommitInfo> out;
    git_oid raw;
    while (git_revwalk_next(&raw, w) == 0) {
      CFGIT_ASSIGN_OR_RETURN(CommitInfo info, ReadCommit(FromRaw(&raw)));
      out.push_back(std::move(info));
    }
    return out;
  }

  Result<std::vector<RefMove>> Reflog(const std::string& ref) const override {
    git_reflog* log = nullptr;
    if (int rc = git_reflog_read(&log, repo_.get(), ref.c_str())) {
      return git::Error(rc, "reading the history of " + ref);
    }
    std::unique_ptr<git_reflog, void (*)(git_reflog*)> holder(log, git_reflog_free);
    std::vector<RefMove> out;
    for (size_t i = 0; i < git_reflog_entrycount(log); ++i) {
      const git_reflog_entry* e = git_reflog_entry_byindex(log, i);  // 0: the newest
      RefMove m;
      Oid from = FromRaw(git_reflog_entry_id_old(e)), to = FromRaw(git_reflog_entry_id_new(e));
      if (!from.IsZero()) m.from = from;
      if (!to.IsZero()) m.to = to;
      const char* msg = git_reflog_entry_message(e);
      m.message = msg ? msg : "";
      const git_signature* who = git_reflog_entry_committer(e);
      m.who = {who->name, who->email, static_cast<int64_t>(who->when.time), who->when.offset};
      out.push_back(std::move(m));
    }
    return out;
  }

  Result<std::vector<RefInfo>> ListRefs(const std::string& prefix) const override {
    git_reference_iterator* it = nullptr;
    if (int rc = git_reference_iterator_glob_new(&it, repo_.get(), (prefix + "*").c_str())) {
      return git::Error(rc, "listing " + prefix);
    }
    git::RefIterator holder(it);
    std::vector<RefInfo> out;
    git_reference* ref = nullptr;
    while (git_reference_next(&ref, it) == 0) {
      git::Reference ref_holder(ref);
      RefInfo info;
      info.name = std::string(git_reference_name(ref)).substr(prefix.size());
      git_object* tag_object = nullptr;
      if (git_reference_peel(&tag_object, ref, GIT_OBJECT_TAG) == 0) {  // annotated tags only
        git::Object tag_holder(tag_object);
        const char* message = git_tag_message(reinterpret_cast<git_tag*>(tag_object));
        info.message = message ? message : "";
      }
      git_object* commit = nullptr;
      if (git_reference_peel(&commit, ref, GIT_OBJECT_COMMIT) != 0) continue;
      git::Object commit_holder(commit);
      info.target = FromRaw(git_object_id(commit));
      out.push_back(std::move(info));
    }
    std::sort(out.begin(), out.end(),
              [](const RefInfo& a, const RefInfo& b) { return a.name < b.name; });
    return out;
  }

  Status CreateTag(const std::string& name, const Oid& target, const std::string& message,
                   const Signature& tagger) override {
    if (git_reference_is_valid_name(("refs/tags/" + name).c_str()) != 1 || name == "HEAD") {
      return Status::Usage("'" + name + "' is not a valid tag name");
    }
    if (RefExists("refs/heads/" + name)) {
      return Status::Usage("there is a branch named '" + name +
                           "'; a tag of the same name would hide it, so pick another name");
    }
    git_object* obj = nullptr;
    int rc = git_object_lookup(&obj, repo_.get(), Raw(target), GIT_OBJECT_COMMIT);
    git::Object holder(obj);
    if (rc) return git::Error(rc, "reading commit " + target.Short());
    git_signature* sig = nullptr;
    rc = git_signature_new(&sig, tagger.name.c_str(), tagger.email.c_str(), tagger.time,
                           tagger.offset_minutes);
    git::Signature sig_holder(sig);
    if (rc) return git::Error(rc, "making the tagger signature");
    git_oid out;
    std::string msg = message.empty() || message.back() == '\n' ? message : message + "\n";
    rc = git_tag_create(&out, repo_.get(), name.c_str(), obj, sig, msg.c_str(), 0);
    if (rc == GIT_EEXISTS) {
      return Status::Usage("tag '" + name +
                           "' already exists; pick another name or delete it "
                           "with: cfgit tag -d " +
                           name);
    }
    if (rc) return git::Error(rc, "creating tag " + name);
    return Status::Ok();
  }

  Result<std::unique_ptr<SnapshotWriter>> NewSnapshot(const std::string& fingerprint_cache,
                                                      const SnapshotWriter* share) override {
    std::string memo = fingerprint_cache.empty() ? std::string()
                                                 : path_ + "/cfgit/fingerprints/" +
                                                       EncodePathComponent(fingerprint_cache);
    auto writer =
        std::make_unique<GitSnapshotWriter>(repo_.get(), path_ + "/objects", memo, trees_->packs());
    std::shared_ptr<ObjectStager> shared;
    if (share) {
      const auto* other = dynamic_cast<const GitSnapshotWriter*>(share);
      if (!other) return Status::Invalid("NewSnapshot: cannot share another store's staging");
      shared = other->stager();
    }
    CFGIT_RETURN_IF_ERROR(writer->Init(std::move(shared)));
    return std::unique_ptr<SnapshotWriter>(std::move(writer));
  }

  Result<std::unique_ptr<SnapshotEditor>> EditSnapshot(const Oid& tree) override {
    return NewSnapshotEditor(repo_.get(), trees_, path_ + "/objects", tree);
  }

  Result<std::optional<Row>> ReadRow(const Oid& tree, const TableSchema& schema,
                                     const Row& key) const override {
    return ReadRowAt(*trees_, tree, schema, key);
  }

  Result<std::optional<Oid>> MergeBase(const Oid& a, const Oid& b) const override {
    git_oid out;
    int rc = git_merge_base(&out, repo_.get(), Raw(a), Raw(b));
    if (rc == GIT_ENOTFOUND) return std::optional<Oid>();
    if (rc) return git::Error(rc, "finding the merge base of " + a.Short() + " and " + b.Short());
    return std::optional<Oid>(FromRaw(&out));
  }

  Result<std::optional<MergeState>> ReadMergeState(const std::string& target) const override {
    return ReadMergeStateAt(repo_.get(), *trees_, "refs/cfgit/merge/" + target);
  }

  Status WriteMergeState(const MergeState& state, const std::optional<Oid>& expected,
                         const Signature& author) override {
    CFGIT_ASSIGN_OR_RETURN(Oid id, WriteMergeStateCommit(repo_.get(), path_ + "/objects",
                                                         trees_->packs(), state, author));
    return UpdateRef("refs/cfgit/merge/" + state.target, id, expected,
                     "merge: " + state.source + " into " + state.target);
  }

  Status DeleteMergeState(const std::string& target) override {
    return DeleteRef("refs/cfgit/merge/" + target);
  }

  Result<std::vector<std::string>> ListMergeStates() const override {
    CFGIT_ASSIGN_OR_RETURN(std::vector<RefInfo> refs, ListRefs("refs/cfgit/merge/"));
    std::vector<std::string> out;
    for (const RefInfo& r : refs) out.push_back(r.name);
    return out;
  }

  Result<std::string> SnapshotDialect(const Oid& tree_id) const override {
    CFGIT_ASSIGN_OR_RETURN(std::shared_ptr<const RawTree> root, trees_->Get(tree_id));
    const RawTree::Entry* meta = root->Find("snapshot.yaml");
    if (!meta) return Status::Invalid("tree " + tree_id.Short() + " has no snapshot.yaml");
    CFGIT_ASSIGN_OR_RETURN(std::string text, ReadBlob(root->oid(*meta)));
    size_t at = text.find("\ndialect: ");
    if (at == std::string::npos) {
      return Status::Invalid("snapshot.yaml of tree " + tree_id.Short() + " names no dialect");
    }
    at += 10;
    return text.substr(at, text.find('\n', at) - at);
  }

  Result<std::vector<TableEntry>> ListTables(const Oid& tree_id) const override {
    CFGIT_ASSIGN_OR_RETURN(std::shared_ptr<const RawTree> root, trees_->Get(tree_id));
    std::vector<TableEntry> out;
    const RawTree::Entry* tables = root->Find("tables");
    if (!tables) return out;
    CFGIT_ASSIGN_OR_RETURN(std::shared_ptr<const RawTree> dir, trees_->Get(root->oid(*tables)));
    for (const RawTree::Entry& e : dir->entries()) {
      TableEntry t;
      CFGIT_ASSIGN_OR_RETURN(t.name, DecodePathComponent(std::string(dir->name(e))));
      CFGIT_ASSIGN_OR_RETURN(std::shared_ptr<const RawTree> table, trees_->Get(dir->oid(e)));
      const RawTree::Entry* schema = table->Find("schema.yaml");
      if (!schema)
        return Status::Invalid("table '" + t.name + "' has no schema.yaml in tree " +
                               tree_id.Short());
      t.schema = table->oid(*schema);
      if (const RawTree::Entry* rows = table->Find("rows")) t.rows = table->oid(*rows);
      out.push_back(std::move(t));
    }
    return out;
  }

  Result<std::string> ReadBlob(const Oid& id) const override { return trees_->Blob(id); }

  Result<TableSchema> ReadSchema(const Oid& blob) const override {
    {
      std::lock_guard<std::mutex> hold(schemas_mu_);
      if (auto it = schemas_.find(blob); it != schemas_.end()) return it->second;
    }
    CFGIT_ASSIGN_OR_RETURN(std::string text, ReadBlob(blob));
    Result<TableSchema> schema = DecodeSchema(text);
    if (!schema.ok()) return schema.status().Wrap("schema " + blob.Short() + ": ");
    std::lock_guard<std::mutex> hold(schemas_mu_);
    schemas_.emplace(blob, *schema);
    return schema;
  }

  using Store::DiffTrees;
  Status DiffTrees(const std::optional<Oid>& a, const std::optional<Oid>& b, KeepTrees keep,
                   const std::function<Status(const TreeChange&)>& on_change) const override {
    if (a && b && *a == *b) return Status::Ok();
    if (a && b) {
      if (std::optional<std::vector<TreeChange>> kept = rows_diffs_.Find(*a, *b)) {
        for (const TreeChange& change : *kept) CFGIT_RETURN_IF_ERROR(on_change(change));
        return Status::Ok();
      }
    }
    std::shared_ptr<const RawTree> ta, tb;
    if (a) {
      CFGIT_ASSIGN_OR_RETURN(ta, trees_->Get(*a, keep != KeepTrees::kNone));
    }
    if (b) {
      CFGIT_ASSIGN_OR_RETURN(tb, trees_->Get(*b, keep == KeepTrees::kBoth));
    }
    return DiffTreeObjects(ta.get(), tb.get(), "", keep, on_change);
  }

  Status DiffAndKeepRowsDiffs(
      const Oid& a, const Oid& b,
      const std::function<Status(const TreeChange&)>& on_change) const override {
    // A table's changes under tables/<dir>/rows/ come one after another in the walk: each
    // table's are kept when the next table's begin, so one table's are held at a time.
    std::string dir;                  // the table directory `changes` are of
    std::vector<TreeChange> changes;  // paths relative to rows/
    bool too_many = false;
    auto keep = [&] {
      if (!dir.empty() && !too_many) KeepRowsDiff(a, b, dir, changes);
      dir.clear();
      changes.clear();
      too_many = false;
    };
    auto walked = [&](const TreeChange& change) -> Status {
      CFGIT_RETURN_IF_ERROR(on_change(change));
      std::string_view p = change.path;
      size_t slash = p.starts_with("tables/") ? p.find('/', 7) : std::string_view::npos;
      if (slash == std::string_view::npos || !p.substr(slash + 1).starts_with("rows/")) {
        return Status::Ok();
      }
      std::string_view this_dir = p.substr(7, slash - 7);
      if (this_dir != dir) {
        keep();
        dir = this_dir;
      }
      if (changes.size() == RowsDiffs::kMaxChanges) {
        too_many = true;
        changes.clear();
      }
      if (!too_many)
        changes.push_back({std::string(p.substr(slash + 6)), change.before, change.after});
      return Status::Ok();
    };
    CFGIT_RETURN_IF_ERROR(DiffTrees(a, b, walked));
    keep();
    rows_diffs_.Prune();
    return Status::Ok();
  }

  Signature DefaultSignature(const Config& config) const override {
    Signature s;
    const char* env_name = std::getenv("CFGIT_AUTHOR_NAME");
    const char* env_email = std::getenv("CFGIT_AUTHOR_EMAIL");
    std::string git_name, git_email;
    git_config* cfg = nullptr;
    if (git_config_open_default(&cfg) == 0) {
      git::Config holder(cfg);
      git_buf buf = GIT_BUF_INIT;
      if (git_config_get_string_buf(&buf, cfg, "user.name") == 0) git_name = buf.ptr;
      git_buf_dispose(&buf);
      if (git_config_get_string_buf(&buf, cfg, "user.email") == 0) git_email = buf.ptr;
      git_buf_dispose(&buf);
    }
    const char* user = std::getenv("USER");
    char host[256] = "localhost";
    gethostname(host, sizeof host - 1);
    s.name = env_name             ? env_name
             : config.author_name ? *config.author_name
             : !git_name.empty()  ? git_name
                                  : (user ? user : "cfgit");
    s.email = env_email             ? env_email
              : config.author_email ? *config.author_email
              : !git_email.empty()  ? git_email
                                    : std::string(user ? user : "cfgit") + "@" + host;
    if (const char* t = std::getenv("CFGIT_TIME")) {
      s.time = std::strtoll(t, nullptr, 10);
      s.offset_minutes = 0;
    } else {
      std::time_t now = std::time(nullptr);
      std::tm local{};
      localtime_r(&now, &local);
      s.time = static_cast<int64_t>(now);
      s.offset_minutes = static_cast<int>(local.tm_gmtoff / 60);
    }
    return s;
  }

 private:
  // The id of snapshot `root`'s tables/<dir>/rows tree; nullopt when there is none, or it cannot
  // be read (the diff was walked all the same).
  std::optional<Oid> RowsTreeOf(const Oid& root, const std::string& dir) const {
    Result<std::optional<Oid>> table = trees_->Path(root, "tables/" + dir);
    if (!table.ok() || !*table) return std::nullopt;
    Result<std::shared_ptr<const RawTree>> t = trees_->Get(**table);
    if (!t.ok()) return std::nullopt;
    const RawTree::Entry* rows = (*t)->Find("rows");
    if (rows == nullptr || !rows->is_tree) return std::nullopt;
    return (*t)->oid(*rows);
  }

  // Keeps the changes of table directory `dir`'s rows trees from snapshot `a` to `b`, as a walk
  // of the two snapshots reported them. Best effort: the commit is made, and a diff without
  // them walks the trees. A table whose rows appear or go is diffed against nothing, which is
  // not looked up.
  void KeepRowsDiff(const Oid& a, const Oid& b, const std::string& dir,
                    const std::vector<TreeChange>& changes) const {
    std::optional<Oid> from = RowsTreeOf(a, dir), to = RowsTreeOf(b, dir);
    if (from && to) rows_diffs_.Keep(*from, *to, changes).ok();
  }

  bool RefExists(const std::string& ref) const {
    git_oid raw;
    return git_reference_name_to_id(&raw, repo_.get(), ref.c_str()) == 0;
  }

  // Walks both trees' sorted entries side by side and descends only into subtrees whose ids
  // differ. Changes are reported in path order.
  //
  // Where both trees are wide (a table's `rows/`, 256 fan-out directories) and many of their
  // subtrees differ, the second half of those is walked on a second thread, its changes kept
  // and reported after the first half's: a diff is mostly tree reads, which the store's pack
  // reader serves side by side (ReadPacked). Only once per walk (`may_split`), only where both
  // sides have the subtrees (a first snapshot's diff against nothing is not held in memory).
  Status DiffTreeObjects(const RawTree* a, const RawTree* b, const std::string& prefix,
                         KeepTrees keep, const std::function<Status(const TreeChange&)>& on_change,
                         bool may_split = true) const {
    using Entry = RawTree::Entry;
    auto visit = [&](const Entry* ea, const Entry* eb,
                     const std::function<Status(const TreeChange&)>& sink,
                     bool split_below) -> Status {
      if (ea && eb && std::memcmp(a->id(*ea), b->id(*eb), 20) == 0) return Status::Ok();
      std::string path = prefix;
      path += ea ? a->name(*ea) : b->name(*eb);
      bool a_tree = ea && ea->is_tree;
      bool b_tree = eb && eb->is_tree;
      if (a_tree || b_tree) {
        std::shared_ptr<const RawTree> sa, sb;
        if (a_tree) {
          CFGIT_ASSIGN_OR_RETURN(sa, trees_->Get(a->oid(*ea), keep != KeepTrees::kNone));
        }
        if (b_tree) {
          CFGIT_ASSIGN_OR_RETURN(sb, trees_->Get(b->oid(*eb), keep == KeepTrees::kBoth));
        }
        CFGIT_RETURN_IF_ERROR(
            DiffTreeObjects(sa.get(), sb.get(), path + "/", keep, sink, split_below));
        if (a_tree && b_tree) return Status::Ok();
      }
      TreeChange change{std::move(path), std::nullopt, std::nullopt};
      if (ea && !a_tree) change.before = a->oid(*ea);
      if (eb && !b_tree) change.after = b->oid(*eb);
      if (!change.before && !change.after) return Status::Ok();
      return sink(change);
    };
    // The entries of both, paired by name in Git's order (one side absent: nullptr).
    std::span<const Entry> ea = a ? a->entries() : std::span<const Entry>();
    std::span<const Entry> eb = b ? b->entries() : std::span<const Entry>();
    auto for_each_pair = [&](auto&& f) -> Status {
      size_t i = 0, j = 0;
      while (i < ea.size() || j < eb.size()) {
        int c = i == ea.size() ? 1
                : j == eb.size()
                    ? -1
                    : CompareEntries(a->name(ea[i]), ea[i].is_tree, b->name(eb[j]), eb[j].is_tree);
        if (c < 0) {
          CFGIT_RETURN_IF_ERROR(f(&ea[i++], nullptr));
        } else if (c > 0) {
          CFGIT_RETURN_IF_ERROR(f(nullptr, &eb[j++]));
        } else {
          CFGIT_RETURN_IF_ERROR(f(&ea[i++], &eb[j++]));
        }
      }
      return Status::Ok();
    };
    constexpr size_t kWide = 64, kSplitAt = 16;  // entries each side; differing subtree pairs
    if (!may_split || ea.size() < kWide || eb.size() < kWide) {
      return for_each_pair(
          [&](const Entry* x, const Entry* y) { return visit(x, y, on_change, may_split); });
    }
    std::vector<std::pair<const Entry*, const Entry*>> pairs;
    size_t subtrees = 0;
    CFGIT_RETURN_IF_ERROR(for_each_pair([&](const Entry* x, const Entry* y) {
      if (x && y && std::memcmp(a->id(*x), b->id(*y), 20) == 0) return Status::Ok();
      pairs.emplace_back(x, y);
      if (x && y && x->is_tree && y->is_tree) ++subtrees;
      return Status::Ok();
    }));
    size_t mid = pairs.size();
    if (subtrees >= kSplitAt) {
      for (size_t k = 0, seen = 0; k < pairs.size(); ++k) {
        const auto& [x, y] = pairs[k];
        if (x && y && x->is_tree && y->is_tree && ++seen > subtrees / 2) {
          mid = k;
          break;
        }
      }
    }
    // The second thread stops at the first error of either half, and once it holds kMaxKept
    // changes (a diff where every row changed): the rest of its half is then walked here, after
    // its changes are reported, so memory stays bounded.
    constexpr size_t kMaxKept = size_t{1} << 16;
    std::vector<TreeChange> later;
    Status later_status;
    std::atomic<bool> stop{false};
    size_t resume = pairs.size();  // the first pair the second thread left unwalked
    std::jthread helper;
    if (mid < pairs.size()) {
      try {
        helper = std::jthread([&] {
          PrepareThreadHeap();
          auto keep_change = [&](const TreeChange& c) {
            if (stop.load(std::memory_order_relaxed)) return Status::Invalid("stopped");
            later.push_back(c);
            return Status::Ok();
          };
          try {
            for (size_t k = mid; k < pairs.size() && later_status.ok(); ++k) {
              if (stop.load(std::memory_order_relaxed) || later.size() >= kMaxKept) {
                resume = k;
                return;
              }
              later_status = visit(pairs[k].first, pairs[k].second, keep_change, false);
            }
          } catch (const std::exception& e) {
            later_status = Status::Invalid(std::string("walking trees: ") + e.what());
          }
        });
      } catch (const std::system_error&) {
        mid = pairs.size();  // no second thread: the whole walk here
      }
    }
    Status first;
    for (size_t k = 0; k < mid && first.ok(); ++k) {
      first = visit(pairs[k].first, pairs[k].second, on_change, false);
    }
    if (!first.ok()) stop = true;
    if (helper.joinable()) helper.join();
    CFGIT_RETURN_IF_ERROR(first);
    CFGIT_RETURN_IF_ERROR(later_status);
    for (const TreeChange& c : later) CFGIT_RETURN_IF_ERROR(on_change(c));
    for (size_t k = resume; k < pairs.size(); ++k) {
      CFGIT_RETURN_IF_ERROR(visit(pairs[k].first, pairs[k].second, on_change, false));
    }
    return Status::Ok();
  }

  git::Repository repo_;
  std::string path_;
  std::shared_ptr<TreeReader> trees_;  // shared with the editors
  RowsDiffs rows_diffs_;               // kept by DiffAndKeepRowsDiffs, read by DiffTrees
  mutable std::mutex schemas_mu_;
  mutable std::unordered_map<Oid, TableSchema, OidHash> schemas_;  // ReadSchema's, by blob
};

}  // namespace

std::string Oid::Hex() const {
  char buf[GIT_OID_HEXSZ + 1];
  git_oid_tostr(buf, sizeof buf, Raw(*this));
  return buf;
}

bool Oid::IsZero() const {
  return std::all_of(bytes.begin(), bytes.end(), [](unsigned char c) { return c == 0; });
}

Result<Oid> Oid::FromHex(const std::string& hex) {
  git_oid raw;
  if (hex.size() != GIT_OID_HEXSZ || git_oid_fromstr(&raw, hex.c_str()) != 0) {
    return Status::Invalid("'" + hex + "' is not a full object id");
  }
  return FromRaw(&raw);
}

WriteLock::~WriteLock() {
  if (fd_ >= 0) ::close(fd_);  // closing releases the flock
}

namespace {

// A store handle on an open repository: its packs read by a PackReader (those written later
// too), its trees through a TreeReader.
Result<std::unique_ptr<Store>> Handle(git::Repository repo, const std::string& path) {
  git_odb* odb = nullptr;
  if (int rc = git_repository_odb(&odb, repo.get())) return git::Error(rc, "opening the store");
  git::Odb odb_holder(odb);
  CFGIT_ASSIGN_OR_RETURN(
      PackReader * packs,
      AddPackReader(odb, std::string(git_repository_path(repo.get())) + "objects"));
  CFGIT_ASSIGN_OR_RETURN(std::shared_ptr<TreeReader> trees, TreeReader::Open(repo.get(), packs));
  return std::unique_ptr<Store>(
      std::make_unique<GitStore>(std::move(repo), path, std::move(trees)));
}

}  // namespace

Result<std::unique_ptr<Store>> Store::Init(const std::string& path) {
  EnsureLibGit2();
  git_repository_init_options opts = GIT_REPOSITORY_INIT_OPTIONS_INIT;
  opts.flags =
      GIT_REPOSITORY_INIT_BARE | GIT_REPOSITORY_INIT_MKPATH | GIT_REPOSITORY_INIT_NO_REINIT;
  opts.description = "cfgit store: environment snapshots of database configuration";
  git_repository* repo = nullptr;
  int rc = git_repository_init_ext(&repo, path.c_str(), &opts);
  git::Repository holder(repo);
  if (rc == GIT_EEXISTS) return Status::Usage(path + " already holds a store");
  if (rc) return git::Error(rc, "creating the store at " + path);
  git_config* cfg = nullptr;
  if ((rc = git_repository_config(&cfg, repo)) != 0) return git::Error(rc, "configuring the store");
  git::Config cfg_holder(cfg);
  // Reflogs in a bare repository record every branch move (the deployment history).
  if ((rc = git_config_set_string(cfg, "core.logAllRefUpdates", "always")) != 0) {
    return git::Error(rc, "configuring the store");
  }
  return Handle(std::move(holder), path);
}

Result<std::unique_ptr<Store>> Store::Open(const std::string& path) {
  EnsureLibGit2();
  git_repository* repo = nullptr;
  int rc = git_repository_open_ext(
      &repo, path.c_str(), GIT_REPOSITORY_OPEN_NO_SEARCH | GIT_REPOSITORY_OPEN_BARE, nullptr);
  git::Repository holder(repo);
  if (rc) {
    return Status::Invalid(
        path + " is not a valid cfgit store (" +
        std::string(git_error_last() ? git_error_last()->message : "unreadable") +
        "); run cfgit init in a new directory, or restore .cfgit from a backup");
  }
  return Handle(std::move(holder), path);
}

}  // namespace cfgit
