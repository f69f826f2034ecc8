#include "store/internal/fingerprints.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>
#include <xxhash.h>

#include <algorithm>
#include <bit>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <set>

#include "store/internal/files.h"
#include "store/internal/memory.h"

namespace cfgit {
namespace {

constexpr std::string_view kHeader = "cfgit-fingerprints 3\n";
constexpr size_t kRowFixed = 16 + 20 + 2;
constexpr size_t kTreeSize = 16 + 20;

void PutFingerprint(std::string* out, const Fingerprint& fp) {
  PutU64(out, fp.high);
  PutU64(out, fp.low);
}
Fingerprint GetFingerprint(const char* p) { return {GetU64(p), GetU64(p + 8)}; }
size_t NameSize(const char* record) {
  return static_cast<unsigned char>(record[36]) |
         (static_cast<size_t>(static_cast<unsigned char>(record[37])) << 8);
}
Oid GetOid(const char* p) {
  Oid id;
  std::memcpy(id.bytes.data(), p, id.bytes.size());
  return id;
}

}  // namespace

uint64_t LayoutSeed(const std::vector<std::string>& columns, const std::vector<size_t>& key_index) {
  std::string layout;
  for (const std::string& c : columns) {
    PutU64(&layout, c.size());
    layout += c;
  }
  for (size_t k : key_index) PutU64(&layout, k);
  return XXH3_64bits(layout.data(), layout.size());
}

Fingerprint RowFingerprint(uint64_t seed, const Row& row) {
  // Kind, then the value's bytes; text and blobs with their length, so no two rows share a
  // serialization. Written into a buffer sized first: appending value by value cost as much as
  // the hash.
  auto bytes_of = [](const Value& v) {
    return v.kind() == Value::Kind::kText || v.kind() == Value::Kind::kBlob;
  };
  size_t size = 0;
  for (const Value& v : row) size += 9 + (bytes_of(v) ? v.bytes().size() : 0);
  thread_local std::string buf;
  if (buf.size() < size) buf.resize(std::max(size, 2 * buf.size()));
  char* p = buf.data();
  for (const Value& v : row) {
    *p++ = static_cast<char>(v.kind());
    switch (v.kind()) {
      case Value::Kind::kNull:
        break;
      case Value::Kind::kInteger:
      case Value::Kind::kBool:
        StoreU64(p, static_cast<uint64_t>(v.integer()));
        p += 8;
        break;
      case Value::Kind::kReal: {
        uint64_t bits = 0;
        double d = v.real();
        std::memcpy(&bits, &d, sizeof bits);
        StoreU64(p, bits);
        p += 8;
        break;
      }
      case Value::Kind::kText:
      case Value::Kind::kBlob:
        StoreU64(p, v.bytes().size());
        p += 8;
        std::memcpy(p, v.bytes().data(), v.bytes().size());
        p += v.bytes().size();
        break;
    }
  }
  XXH128_hash_t h = XXH3_128bits_withSeed(buf.data(), static_cast<size_t>(p - buf.data()), seed);
  return {h.high64, h.low64};
}

void TreeFingerprint::Add(std::string_view name, bool is_tree, const Oid& id) {
  // The name's end is unambiguous: names never hold NUL (as in a tree object). The entries are
  // hashed in one call at Take: XXH3 of the concatenation, fed piecewise, cost more than the
  // copy.
  entries_.append(name);
  entries_.push_back('\0');
  entries_.push_back(is_tree ? 't' : 'b');
  entries_.append(reinterpret_cast<const char*>(id.bytes.data()), id.bytes.size());
}

Fingerprint TreeFingerprint::Take() {
  XXH128_hash_t h = XXH3_128bits(entries_.data(), entries_.size());
  entries_.clear();
  return {h.high64, h.low64};
}

void FingerprintMemo::Table::Build(std::string_view data, const std::vector<uint32_t>& offsets) {
  size_t size = 16;
  while (size < offsets.size() * 2) size *= 2;
  ReserveHuge(&slots, size);
  ReserveHuge(&used, size);
  slots.assign(size, Slot{});
  used.assign(size, 0);
  count = 0;
  size_t mask = slots.size() - 1;
  // The slots are written in file order, that is at random: each one is fetched a few records
  // ahead so that the misses overlap.
  constexpr size_t kAhead = 16;
  for (size_t i = 0; i < offsets.size() && i < kAhead; ++i) {
    __builtin_prefetch(&slots[GetU64(&data[offsets[i] + 8]) & mask], 1);
  }
  for (size_t i = 0; i < offsets.size(); ++i) {
    if (i + kAhead < offsets.size()) {
      __builtin_prefetch(&slots[GetU64(&data[offsets[i + kAhead] + 8]) & mask], 1);
    }
    uint32_t off = offsets[i];
    Fingerprint fp = GetFingerprint(&data[off]);
    size_t at = Probe(data, fp);
    if (slots[at].offset) continue;  // the same fingerprint twice: the first one holds
    slots[at] = {off, static_cast<uint32_t>(fp.high >> 32)};
    ++count;
  }
}

size_t FingerprintMemo::Table::Probe(std::string_view data, const Fingerprint& fp) const {
  size_t mask = slots.size() - 1;
  uint32_t tag = static_cast<uint32_t>(fp.high >> 32);
  size_t at = fp.low & mask;
  while (slots[at].offset &&
         !(slots[at].tag == tag && GetFingerprint(&data[slots[at].offset]) == fp)) {
    at = (at + 1) & mask;
  }
  return at;
}

long FingerprintMemo::Table::Lookup(std::string_view data, const Fingerprint& fp) const {
  if (slots.empty()) return -1;
  size_t at = Probe(data, fp);
  return slots[at].offset ? static_cast<long>(at) : -1;
}

namespace {

// The largest memo beside `path` of the same kind: rows are found by their values, whichever
// environment they were read from, so an environment read for the first time (a new stage that is
// a copy of dev) finds most of its rows in the memo of the environment with the most rows. A
// backup's memo (`ENV@backup`) only borrows another backup's: a backup copies the rows of tables
// without ignored columns from the live snapshot, and its other rows (all columns) are never in an
// environment's memo, so borrowing one would only load it for nothing.
std::string LargestBeside(const std::string& path) {
  namespace fs = std::filesystem;
  constexpr std::string_view kBackup = "%40backup";
  auto is_backup = [&](const std::string& name) {
    return name.size() >= kBackup.size() &&
           name.compare(name.size() - kBackup.size(), kBackup.size(), kBackup) == 0;
  };
  bool backup = is_backup(fs::path(path).filename().string());
  std::error_code ec;
  std::string best;
  uintmax_t best_size = 0;
  for (const fs::directory_entry& e : fs::directory_iterator(fs::path(path).parent_path(), ec)) {
    std::string name = e.path().filename().string();
    if (!e.is_regular_file(ec) || name.find(".tmp") != std::string::npos ||
        is_backup(name) != backup) {
      continue;
    }
    uintmax_t size = e.file_size(ec);
    if (!ec && size > best_size) {
      best = e.path().string();
      best_size = size;
    }
  }
  return best;
}

}  // namespace

struct FingerprintMemo::Mapping {
  void* addr = MAP_FAILED;
  size_t size = 0;
  int fd = -1;  // the file mapped, kept open: a borrowed memo is copied from it (Write)
  ~Mapping() {
    if (addr != MAP_FAILED) ::munmap(addr, size);
    if (fd >= 0) ::close(fd);
  }
};

FingerprintMemo FingerprintMemo::Load(const std::string& path) {
  FingerprintMemo memo;
  std::string source = path;
  int fd = ::open(source.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    source = LargestBeside(path);
    if (!source.empty()) fd = ::open(source.c_str(), O_RDONLY | O_CLOEXEC);
  }
  if (fd < 0) return memo;
  auto mapping = std::make_shared<Mapping>();
  struct stat st {};
  if (::fstat(fd, &st) == 0 && st.st_size > 0 && static_cast<uint64_t>(st.st_size) < UINT32_MAX) {
    mapping->size = static_cast<size_t>(st.st_size);
    // Advised huge pages (AdviseHugeFile: records are looked up at random), then populated at
    // once: every page is read anyway, and one call costs less than a fault a page. A kernel
    // older than 5.14 refuses MADV_POPULATE_READ: the pages then fault in as they are read.
    mapping->addr = ::mmap(nullptr, mapping->size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (mapping->addr != MAP_FAILED) {
      AdviseHugeFile(mapping->addr, mapping->size);
#ifdef MADV_POPULATE_READ
      ::madvise(mapping->addr, mapping->size, MADV_POPULATE_READ);
#endif
    }
  }
  if (mapping->addr == MAP_FAILED) {
    ::close(fd);
    return memo;
  }
  mapping->fd = fd;
  std::string_view data(static_cast<const char*>(mapping->addr), mapping->size);
  if (data.substr(0, kHeader.size()) != kHeader) return memo;
  // Blocks, each: row records, then tree records, each section after its count. A block cut
  // short (a process killed while appending it) ends the memo: what precedes it is whole.
  size_t at = kHeader.size(), whole = at;
  std::vector<uint32_t> rows, trees;
  ReserveHuge(&rows, data.size() / kRowFixed);
  size_t rows_whole = 0, trees_whole = 0;
  auto count = [&](uint64_t* n) {
    if (data.size() - at < 8) return false;
    *n = GetU64(&data[at]);
    at += 8;
    return true;
  };
  auto block = [&] {
    uint64_t n = 0;
    if (!count(&n)) return false;
    for (uint64_t i = 0; i < n; ++i) {
      if (data.size() - at < kRowFixed || data.size() - at - kRowFixed < NameSize(&data[at])) {
        return false;
      }
      rows.push_back(static_cast<uint32_t>(at));
      at += kRowFixed + NameSize(&data[at]);
    }
    if (!count(&n) || (data.size() - at) / kTreeSize < n) return false;
    for (uint64_t i = 0; i < n; ++i, at += kTreeSize) trees.push_back(static_cast<uint32_t>(at));
    return true;
  };
  while (at < data.size() && block()) {
    whole = at;
    rows_whole = rows.size();
    trees_whole = trees.size();
  }
  rows.resize(rows_whole);
  trees.resize(trees_whole);
  if (whole == kHeader.size()) return memo;
  memo.mapping_ = std::move(mapping);
  memo.source_ = source;
  memo.data_ = data.substr(0, whole);
  memo.rows_.Build(memo.data_, rows);
  memo.trees_.Build(memo.data_, trees);
  return memo;
}

void FingerprintMemo::FindMany(const Fingerprint* fps, size_t n, std::optional<Hit>* hits) {
  if (rows_.slots.empty()) {
    for (size_t i = 0; i < n; ++i) hits[i].reset();
    return;
  }
  size_t mask = rows_.slots.size() - 1;
  for (size_t i = 0; i < n; ++i) __builtin_prefetch(&rows_.slots[fps[i].low & mask]);
  // The first slot whose tag matches, most often the record itself: its record is fetched next.
  thread_local std::vector<size_t> first;
  first.resize(n);
  for (size_t i = 0; i < n; ++i) {
    uint32_t tag = static_cast<uint32_t>(fps[i].high >> 32);
    size_t at = fps[i].low & mask;
    while (rows_.slots[at].offset && rows_.slots[at].tag != tag) at = (at + 1) & mask;
    first[i] = at;
    if (rows_.slots[at].offset) __builtin_prefetch(&data_[rows_.slots[at].offset]);
  }
  // Find probes again, on what is in the cache now (and settles a tag two fingerprints share).
  for (size_t i = 0; i < n; ++i) {
    hits[i] = rows_.slots[first[i]].offset ? Find(fps[i]) : std::nullopt;
  }
}

std::optional<FingerprintMemo::Hit> FingerprintMemo::Find(const Fingerprint& fp) {
  long slot = rows_.Lookup(data_, fp);
  if (slot < 0) return std::nullopt;
  if (!rows_.used[static_cast<size_t>(slot)]) {
    rows_.used[static_cast<size_t>(slot)] = 1;
    ++rows_.found;
  }
  const char* record = &data_[rows_.slots[static_cast<size_t>(slot)].offset];
  return Hit{GetOid(record + 16), std::string_view(record + kRowFixed, NameSize(record))};
}

std::optional<Oid> FingerprintMemo::FindTree(const Fingerprint& fp) {
  long slot = trees_.Lookup(data_, fp);
  if (slot < 0) return std::nullopt;
  if (!trees_.used[static_cast<size_t>(slot)]) {
    trees_.used[static_cast<size_t>(slot)] = 1;
    ++trees_.found;
  }
  return GetOid(&data_[trees_.slots[static_cast<size_t>(slot)].offset + 16]);
}

void FingerprintMemo::Add(const Fingerprint& fp, const Oid& blob, std::string_view name) {
  if (name.size() > UINT16_MAX) return;  // names are at most ~200 bytes; never happens
  PutFingerprint(&new_rows_, fp);
  new_rows_.append(reinterpret_cast<const char*>(blob.bytes.data()), blob.bytes.size());
  new_rows_.push_back(static_cast<char>(name.size() & 0xff));
  new_rows_.push_back(static_cast<char>(name.size() >> 8));
  new_rows_ += name;
  ++new_row_count_;
}

void FingerprintMemo::AddTree(const Fingerprint& fp, const Oid& tree) {
  PutFingerprint(&new_trees_, fp);
  new_trees_.append(reinterpret_cast<const char*>(tree.bytes.data()), tree.bytes.size());
  ++new_tree_count_;
}

bool FingerprintMemo::WriteBlock(int fd) const {
  std::string row_count, tree_count;
  PutU64(&row_count, new_row_count_);
  PutU64(&tree_count, new_tree_count_);
  // One block in one call: appends of two processes do not interleave.
  iovec parts[4] = {{row_count.data(), row_count.size()},
                    {const_cast<char*>(new_rows_.data()), new_rows_.size()},
                    {tree_count.data(), tree_count.size()},
                    {const_cast<char*>(new_trees_.data()), new_trees_.size()}};
  size_t total = row_count.size() + new_rows_.size() + tree_count.size() + new_trees_.size();
  return ::writev(fd, parts, 4) == static_cast<ssize_t>(total);
}

bool FingerprintMemo::Append(const std::string& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
  if (fd < 0) return false;
  // Only onto the bytes loaded: a file another process replaced or appended to meanwhile, or
  // one with a block cut short at its end, is written whole instead.
  struct stat st {};
  bool ok = ::fstat(fd, &st) == 0 && static_cast<size_t>(st.st_size) == data_.size();
  ok = ok && WriteBlock(fd);
  return ::close(fd) == 0 && ok;
}

bool FingerprintMemo::CopyAndAppend(const std::string& path) {
  if (!mapping_ || mapping_->fd < 0) return false;
  // Not a file deleted or replaced since it was loaded: KeepMemosToPacks deletes every memo when
  // a pack they count on is gone (this command's Flush, or another command, may have done so
  // since), and of the records copied some this snapshot did not use, whose objects may have
  // gone with that pack. Written anew, the memo holds only records of this snapshot.
  struct stat st {};
  if (::fstat(mapping_->fd, &st) != 0 || st.st_nlink == 0) return false;
  // The whole blocks loaded, from the file mapped, copied by the kernel: no page of them passes
  // through this process. Nothing goes through the stream's buffer, so its descriptor is written
  // to directly.
  auto copy = [this](std::FILE* f) {
    const int fd = ::fileno(f);
    loff_t from = 0;
    while (static_cast<size_t>(from) < data_.size()) {
      ssize_t n = ::copy_file_range(mapping_->fd, &from, fd, nullptr,
                                    data_.size() - static_cast<size_t>(from), 0);
      if (n <= 0) return false;
    }
    return new_row_count_ + new_tree_count_ == 0 || WriteBlock(fd);
  };
  return ReplaceFile(path, copy).ok();
}

FingerprintMemo::Saved FingerprintMemo::State(const std::string& path) const {
  return {path, rows_.found, trees_.found, new_row_count_, new_tree_count_};
}

Status FingerprintMemo::Save(const std::string& path) {
  if (saved_ == State(path)) return Status::Ok();  // written already, and nothing since
  Status status = Write(path);
  if (status.ok()) saved_ = State(path);
  return status;
}

Status FingerprintMemo::Write(const std::string& path) {
  if (rows_.found + new_row_count_ == 0) {
    // An empty snapshot: no memo, so that the next read (of the rows an apply wrote, say)
    // borrows the largest memo beside rather than starting from nothing.
    std::error_code ec;
    std::filesystem::remove(path, ec);
    return Status::Ok();
  }
  // The memo's own file, with few records this snapshot no longer has: the records added are
  // appended as a block (a 1%-changed commit of 1M rows writes ~1 MB, not the whole ~70 MB), and
  // nothing is written when there are none. Records of rows and trees that are gone do no harm
  // (their objects are in the store); when they are over a quarter of the file it is rewritten
  // with only this snapshot's.
  size_t loaded = rows_.count + trees_.count;
  size_t gone = loaded - rows_.found - trees_.found;
  size_t added = new_row_count_ + new_tree_count_;
  if (source_ == path && gone * 4 <= loaded + added) {
    if (added == 0 || Append(path)) return Status::Ok();
  }
  // Borrowed (a new environment's first snapshot): the same rule, and the file is a copy of the
  // one borrowed with the records added as one block. Writing ~70 MB record by record cost
  // 0.16-0.34 s at 1M rows, a copy by the kernel 12-39 ms. The copy is cached in small pages,
  // not the 2 MiB ones a write 2 MiB at a time gets (below): its next load maps it with 4 KiB
  // entries (populating a 70 MB memo took 2.0 ms instead of 0.2). When the copy cannot be made
  // (a file system without copy_file_range), the memo is written anew below.
  if (!source_.empty() && source_ != path && gone * 4 <= loaded + added && CopyAndAppend(path)) {
    return Status::Ok();
  }
  // Streamed through a buffer of 2 MiB (the memo of a 1M-row environment is ~70 MB), or of the
  // memo's size when it is smaller, not zeroed. stdio writes a full buffer at a time, and a
  // record or block bigger than what is left of it in whole buffers, so the file is written 2
  // MiB at a time at multiples of 2 MiB: on Linux 6.18 with ext4 it is then cached in 2 MiB
  // folios, which Load maps with 2 MiB entries (AdviseHugeFile); written 1 MiB at a time, it
  // was cached in smaller ones. The buffer outlives the stream (closed by ReplaceFile).
  const size_t bound = kHeader.size() + 16 + data_.size() + new_rows_.size() + new_trees_.size();
  const size_t buffer_size = std::min(size_t{2} << 20, bound);
  auto buffer = std::make_unique_for_overwrite<char[]>(buffer_size);
  return ReplaceFile(path, [&](std::FILE* f) {
    std::setvbuf(f, buffer.get(), _IOFBF, buffer_size);
    bool ok = true;
    auto put = [&](const void* data, size_t size) {
      ok = ok && std::fwrite(data, 1, size, f) == size;
    };
    std::string head(kHeader);
    PutU64(&head, rows_.found + new_row_count_);
    put(head.data(), head.size());
    for (size_t s = 0; s < rows_.slots.size(); ++s) {
      if (!rows_.used[s]) continue;
      const char* record = &data_[rows_.slots[s].offset];
      put(record, kRowFixed + NameSize(record));
    }
    put(new_rows_.data(), new_rows_.size());
    head.clear();
    PutU64(&head, trees_.found + new_tree_count_);
    put(head.data(), head.size());
    for (size_t s = 0; s < trees_.slots.size(); ++s) {
      if (trees_.used[s]) put(&data_[trees_.slots[s].offset], kTreeSize);
    }
    put(new_trees_.data(), new_trees_.size());
    return ok;
  });
}

Status KeepMemosToPacks(const std::string& memo_dir, const std::vector<std::string>& packs,
                        const std::vector<std::string>& consolidated) {
  namespace fs = std::filesystem;
  const std::string list_path = memo_dir + ".packs";
  std::set<std::string> now(packs.begin(), packs.end()), listed;
  bool kept = false;
  if (std::FILE* f = std::fopen(list_path.c_str(), "rb")) {
    kept = true;
    char line[512];
    while (std::fgets(line, sizeof line, f)) {
      std::string name(line, ::strcspn(line, "\n"));
      if (name.empty()) continue;
      listed.insert(name);
      if (now.count(name) == 0 &&
          std::find(consolidated.begin(), consolidated.end(), name) == consolidated.end()) {
        kept = false;  // deleted by someone else: objects may have gone with it
      }
    }
    kept = !std::ferror(f) && kept;
    std::fclose(f);
  }
  if (!kept) {
    // Everything that can be deleted is; the list is not written while anything is left.
    Status left = Status::Ok();
    std::error_code ec;
    for (fs::directory_iterator it(memo_dir, ec), end; !ec && it != end; it.increment(ec)) {
      std::error_code removing;
      if (!fs::remove(it->path(), removing) && removing && left.ok()) {
        left = Status::Invalid("cannot delete " + it->path().string() +
                               " (a pack the fingerprint memos count on was deleted): " +
                               removing.message() + "; delete it by hand, it is only a cache");
      }
    }
    if (ec && ec != std::errc::no_such_file_or_directory) {
      return Status::Invalid("cannot list the fingerprint memos in " + memo_dir + " (a pack they " +
                             "count on was deleted): " + ec.message() +
                             "; delete the directory by hand, it is only a cache");
    }
    CFGIT_RETURN_IF_ERROR(left);
  } else if (listed == now) {
    return Status::Ok();
  }
  std::string text;
  for (const std::string& name : now) text += name + "\n";
  // Then renamed: two commands may check at once. A list not written is the old one, or none:
  // the next check deletes the memos again (only speed is lost), or misses a pack of this
  // listing deleted alone.
  WriteFileAtomically(list_path, text).ok();
  return Status::Ok();
}

}  // namespace cfgit
