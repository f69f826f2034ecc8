// RowsDiffs (see internal/rows_diffs.h).
//
// A file: "cfgit-rows-diff 1\n", tree a's id and tree b's id (20 bytes each), the number of
// changes (8 bytes, little-endian, as every integer here), then each change: a byte of flags (1:
// it has a before id, 2: an after id), those ids, the path's length (2 bytes) and the path;
// last, XXH3-64 of all the bytes before it (8 bytes).
#include "store/internal/rows_diffs.h"

#include <xxhash.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "store/internal/files.h"

namespace cfgit {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kMagic = "cfgit-rows-diff 1\n";
constexpr size_t kId = 20;

void PutId(std::string* out, const Oid& id) {
  out->append(reinterpret_cast<const char*>(id.bytes.data()), id.bytes.size());
}

Oid GetId(const char* p) {
  Oid id;
  std::memcpy(id.bytes.data(), p, id.bytes.size());
  return id;
}

// The file's bytes, when it is there and no bigger than RowsDiffs::kMaxFileBytes.
std::optional<std::string> ReadSmallFile(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return std::nullopt;
  std::string data;
  bool ok = std::fseek(f, 0, SEEK_END) == 0;
  long size = ok ? std::ftell(f) : -1;
  ok = size >= 0 && static_cast<uint64_t>(size) <= RowsDiffs::kMaxFileBytes &&
       std::fseek(f, 0, SEEK_SET) == 0;
  if (ok) {
    data.resize(static_cast<size_t>(size));
    ok = std::fread(data.data(), 1, data.size(), f) == data.size();
  }
  std::fclose(f);
  if (!ok) return std::nullopt;
  return data;
}

}  // namespace

std::string RowsDiffs::PathOf(const Oid& a, const Oid& b) const {
  return dir_ + "/" + a.Hex() + "-" + b.Hex();
}

std::optional<std::vector<TreeChange>> RowsDiffs::Find(const Oid& a, const Oid& b) const {
  std::optional<std::string> read = ReadSmallFile(PathOf(a, b));
  if (!read) return std::nullopt;
  const std::string& data = *read;
  const size_t head = kMagic.size() + 2 * kId + 8;
  if (data.size() < head + 8 || data.compare(0, kMagic.size(), kMagic) != 0) return std::nullopt;
  const size_t body = data.size() - 8;
  if (XXH3_64bits(data.data(), body) != GetU64(data.data() + body)) return std::nullopt;
  const char* p = data.data() + kMagic.size();
  if (!(GetId(p) == a) || !(GetId(p + kId) == b)) return std::nullopt;
  const uint64_t count = GetU64(p + 2 * kId);
  // A change takes 24 bytes at least (flags, one id, the length, a byte of path).
  if (count > kMaxChanges || count > (body - head) / 24) return std::nullopt;
  std::vector<TreeChange> out;
  out.reserve(count);
  size_t at = head;
  for (uint64_t i = 0; i < count; ++i) {
    if (at + 1 > body) return std::nullopt;
    const unsigned flags = static_cast<unsigned char>(data[at++]);
    if (flags == 0 || flags > 3) return std::nullopt;
    TreeChange change;
    for (unsigned bit : {1u, 2u}) {
      if (!(flags & bit)) continue;
      if (at + kId > body) return std::nullopt;
      (bit == 1 ? change.before : change.after) = GetId(data.data() + at);
      at += kId;
    }
    if (at + 2 > body) return std::nullopt;
    const size_t len = static_cast<unsigned char>(data[at]) |
                       size_t{static_cast<unsigned char>(data[at + 1])} << 8;
    at += 2;
    if (len == 0 || at + len > body) return std::nullopt;
    change.path.assign(data, at, len);
    at += len;
    out.push_back(std::move(change));
  }
  if (at != body) return std::nullopt;
  return out;
}

Status RowsDiffs::Keep(const Oid& a, const Oid& b, const std::vector<TreeChange>& changes) const {
  const std::string path = PathOf(a, b);
  if (changes.size() > kMaxChanges) {
    return Status::Invalid("too many changes to keep in " + path);
  }
  std::string data(kMagic);
  PutId(&data, a);
  PutId(&data, b);
  PutU64(&data, changes.size());
  for (const TreeChange& c : changes) {
    if (c.path.empty() || c.path.size() > UINT16_MAX || (!c.before && !c.after)) {
      return Status::Invalid("a change to keep in " + path + " has no path or no id");
    }
    data.push_back(static_cast<char>((c.before ? 1 : 0) | (c.after ? 2 : 0)));
    if (c.before) PutId(&data, *c.before);
    if (c.after) PutId(&data, *c.after);
    data.push_back(static_cast<char>(c.path.size() & 0xff));
    data.push_back(static_cast<char>(c.path.size() >> 8));
    data += c.path;
  }
  PutU64(&data, XXH3_64bits(data.data(), data.size()));
  if (data.size() > kMaxFileBytes) return Status::Invalid("too many changes to keep in " + path);
  return WriteFileAtomically(path, data);
}

void RowsDiffs::Prune() const {
  std::error_code ec;
  struct File {
    fs::file_time_type time;
    uint64_t size;
    fs::path path;
  };
  std::vector<File> files;
  uint64_t bytes = 0;
  const fs::file_time_type an_hour_ago = fs::file_time_type::clock::now() - std::chrono::hours(1);
  for (const fs::directory_entry& e : fs::directory_iterator(dir_, ec)) {
    std::error_code file_ec;
    File f{e.last_write_time(file_ec), 0, e.path()};
    if (!file_ec) f.size = e.file_size(file_ec);
    if (file_ec) continue;
    // Another command's file being written (TempBeside) is left to it; one an hour old was
    // left by a command that stopped, and goes with the oldest.
    if (f.path.filename().string().find(".tmp") != std::string::npos && f.time > an_hour_ago) {
      continue;
    }
    bytes += f.size;
    files.push_back(std::move(f));
  }
  if (files.size() <= kMaxFiles && bytes <= kMaxBytes) return;
  // Down to three quarters of both limits, so that pruning is not done at every commit.
  std::sort(files.begin(), files.end(),
            [](const File& x, const File& y) { return x.time < y.time; });
  size_t left = files.size();
  for (const File& f : files) {
    if (left <= kMaxFiles * 3 / 4 && bytes <= kMaxBytes / 4 * 3) break;
    if (fs::remove(f.path, ec)) {
      --left;
      bytes -= f.size;
    }
  }
}

}  // namespace cfgit
