#include "store/internal/fingerprints.h"

#include <unistd.h>
#include <xxhash.h>

#include <cstdio>
#include <cstring>
#include <filesystem>

namespace cfgit {
namespace {

constexpr std::string_view kHeader = "cfgit-fingerprints 2\n";
constexpr size_t kRowFixed = 16 + 20 + 2;
constexpr size_t kTreeSize = 16 + 20;

void PutU64(std::string* out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
uint64_t GetU64(const char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}
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
  // serialization.
  thread_local std::string buf;
  buf.clear();
  for (const Value& v : row) {
    buf.push_back(static_cast<char>(v.kind()));
    switch (v.kind()) {
      case Value::Kind::kNull:
        break;
      case Value::Kind::kInteger:
      case Value::Kind::kBool:
        PutU64(&buf, static_cast<uint64_t>(v.integer()));
        break;
      case Value::Kind::kReal: {
        uint64_t bits = 0;
        double d = v.real();
        std::memcpy(&bits, &d, sizeof bits);
        PutU64(&buf, bits);
        break;
      }
      case Value::Kind::kText:
      case Value::Kind::kBlob:
        PutU64(&buf, v.bytes().size());
        buf += v.bytes();
        break;
    }
  }
  XXH128_hash_t h = XXH3_128bits_withSeed(buf.data(), buf.size(), seed);
  return {h.high64, h.low64};
}

struct TreeFingerprint::State {
  XXH3_state_t* xxh = XXH3_createState();
  ~State() { XXH3_freeState(xxh); }
};

TreeFingerprint::TreeFingerprint() : state_(new State) { XXH3_128bits_reset(state_->xxh); }
TreeFingerprint::~TreeFingerprint() { delete state_; }

void TreeFingerprint::Add(std::string_view name, bool is_tree, const Oid& id) {
  // The name's end is unambiguous: names never hold NUL (as in a tree object).
  XXH3_128bits_update(state_->xxh, name.data(), name.size());
  char kind[2] = {'\0', is_tree ? 't' : 'b'};
  XXH3_128bits_update(state_->xxh, kind, sizeof kind);
  XXH3_128bits_update(state_->xxh, id.bytes.data(), id.bytes.size());
}

Fingerprint TreeFingerprint::Take() {
  XXH128_hash_t h = XXH3_128bits_digest(state_->xxh);
  XXH3_128bits_reset(state_->xxh);
  return {h.high64, h.low64};
}

void FingerprintMemo::Table::Build(const std::string& data, const std::vector<uint32_t>& offsets) {
  size_t size = 16;
  while (size < offsets.size() * 2) size *= 2;
  slots.assign(size, Slot{});
  used.assign(size, 0);
  count = 0;
  for (uint32_t off : offsets) {
    Fingerprint fp = GetFingerprint(&data[off]);
    if (Lookup(data, fp) >= 0) continue;  // the same fingerprint twice: the first one holds
    size_t mask = slots.size() - 1;
    size_t at = fp.low & mask;
    while (slots[at].offset) at = (at + 1) & mask;
    slots[at] = {off, static_cast<uint32_t>(fp.high >> 32)};
    ++count;
  }
}

long FingerprintMemo::Table::Lookup(const std::string& data, const Fingerprint& fp) const {
  if (slots.empty()) return -1;
  size_t mask = slots.size() - 1;
  uint32_t tag = static_cast<uint32_t>(fp.high >> 32);
  for (size_t at = fp.low & mask;; at = (at + 1) & mask) {
    const Slot& slot = slots[at];
    if (slot.offset == 0) return -1;
    if (slot.tag == tag && GetFingerprint(&data[slot.offset]) == fp) return static_cast<long>(at);
  }
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

FingerprintMemo FingerprintMemo::Load(const std::string& path) {
  FingerprintMemo memo;
  std::string source = path;
  std::FILE* f = std::fopen(source.c_str(), "rb");
  if (!f) {
    source = LargestBeside(path);
    if (!source.empty()) f = std::fopen(source.c_str(), "rb");
  }
  if (!f) return memo;
  std::string data;
  if (std::fseek(f, 0, SEEK_END) == 0) {
    long size = std::ftell(f);
    if (size > 0 && static_cast<unsigned long>(size) < UINT32_MAX &&
        std::fseek(f, 0, SEEK_SET) == 0) {
      data.resize(static_cast<size_t>(size));
      if (std::fread(data.data(), 1, data.size(), f) != data.size()) data.clear();
    }
  }
  std::fclose(f);
  if (data.compare(0, kHeader.size(), kHeader) != 0) return memo;
  // Row records, then tree records, each section after its count.
  size_t at = kHeader.size();
  std::vector<uint32_t> rows, trees;
  auto count = [&](uint64_t* n) {
    if (data.size() - at < 8) return false;
    *n = GetU64(&data[at]);
    at += 8;
    return true;
  };
  uint64_t n = 0;
  if (!count(&n)) return memo;
  for (uint64_t i = 0; i < n; ++i) {
    if (data.size() - at < kRowFixed || data.size() - at - kRowFixed < NameSize(&data[at])) {
      return memo;
    }
    rows.push_back(static_cast<uint32_t>(at));
    at += kRowFixed + NameSize(&data[at]);
  }
  if (!count(&n) || (data.size() - at) / kTreeSize != n || (data.size() - at) % kTreeSize) {
    return memo;
  }
  for (uint64_t i = 0; i < n; ++i, at += kTreeSize) trees.push_back(static_cast<uint32_t>(at));
  memo.source_ = source;
  memo.data_ = std::move(data);
  memo.rows_.Build(memo.data_, rows);
  memo.trees_.Build(memo.data_, trees);
  return memo;
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

Status FingerprintMemo::Save(const std::string& path) {
  bool same = new_row_count_ == 0 && new_tree_count_ == 0 && rows_.found == rows_.count &&
              trees_.found == trees_.count && source_ == path;
  if (same) return Status::Ok();
  std::error_code ec;
  if (rows_.found + new_row_count_ == 0) {
    // An empty snapshot: no memo, so that the next read (of the rows an apply wrote, say)
    // borrows the largest memo beside rather than starting from nothing.
    std::filesystem::remove(path, ec);
    return Status::Ok();
  }
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
  // A name of its own: `diff @ENV` may save the memo while a commit of ENV does too.
  std::string tmp = path + ".tmp" + std::to_string(::getpid());
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (!f) return Status::Invalid("cannot write " + tmp);
  // Streamed through a 1 MiB buffer: the memo of a 1M-row environment is ~70 MB.
  std::vector<char> buffer(size_t{1} << 20);
  std::setvbuf(f, buffer.data(), _IOFBF, buffer.size());
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
  ok = std::fclose(f) == 0 && ok;
  if (!ok || std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    return Status::Invalid("cannot write " + path);
  }
  return Status::Ok();
}

}  // namespace cfgit
