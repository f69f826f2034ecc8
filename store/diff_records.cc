// DiffRecords (see internal/diff_records.h).
//
// A record file: "cfgit-diff 1\n", tree a's id, tree b's id (20 bytes each), the number of
// changes (4 bytes, little-endian), then each change: a byte of flags (1: it has a before id, 2:
// an after id), those ids, the path's length (2 bytes) and the path; last, XXH3-64 of all the
// bytes before it (8 bytes, little-endian).
#include "store/internal/diff_records.h"

#include <xxhash.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

namespace cfgit {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kMagic = "cfgit-diff 1\n";

void PutLe(std::string* out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

uint64_t GetLe(const char* p, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v |= uint64_t{static_cast<unsigned char>(p[i])} << (8 * i);
  return v;
}

void PutId(std::string* out, const Oid& id) {
  out->append(reinterpret_cast<const char*>(id.bytes.data()), id.bytes.size());
}

Oid GetId(const char* p) {
  Oid id;
  std::memcpy(id.bytes.data(), p, id.bytes.size());
  return id;
}

}  // namespace

std::string DiffRecords::PathOf(const Oid& a, const Oid& b) const {
  return dir_ + "/" + a.Hex() + "-" + b.Hex();
}

std::optional<std::vector<TreeChange>> DiffRecords::Find(const Oid& a, const Oid& b) const {
  std::ifstream in(PathOf(a, b), std::ios::binary);
  if (!in) return std::nullopt;
  std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  constexpr size_t kId = 20;
  const size_t head = kMagic.size() + 2 * kId + 4;
  if (data.size() < head + 8 || data.compare(0, kMagic.size(), kMagic) != 0) return std::nullopt;
  const size_t body = data.size() - 8;
  if (XXH3_64bits(data.data(), body) != GetLe(data.data() + body, 8)) return std::nullopt;
  const char* p = data.data() + kMagic.size();
  if (!(GetId(p) == a) || !(GetId(p + kId) == b)) return std::nullopt;
  const uint64_t count = GetLe(p + 2 * kId, 4);
  if (count > kMaxChanges) return std::nullopt;
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
    const size_t len = static_cast<size_t>(GetLe(data.data() + at, 2));
    at += 2;
    if (len == 0 || at + len > body) return std::nullopt;
    change.path.assign(data, at, len);
    at += len;
    out.push_back(std::move(change));
  }
  if (at != body) return std::nullopt;
  return out;
}

Status DiffRecords::Keep(const Oid& a, const Oid& b, const std::vector<TreeChange>& changes) const {
  if (changes.size() > kMaxChanges) return Status::Ok();
  std::string data(kMagic);
  PutId(&data, a);
  PutId(&data, b);
  PutLe(&data, changes.size(), 4);
  for (const TreeChange& c : changes) {
    if (c.path.empty() || c.path.size() > UINT16_MAX || (!c.before && !c.after)) {
      return Status::Invalid("a change to keep in " + PathOf(a, b) + " has no path or no id");
    }
    data.push_back(static_cast<char>((c.before ? 1 : 0) | (c.after ? 2 : 0)));
    if (c.before) PutId(&data, *c.before);
    if (c.after) PutId(&data, *c.after);
    PutLe(&data, c.path.size(), 2);
    data += c.path;
  }
  PutLe(&data, XXH3_64bits(data.data(), data.size()), 8);

  std::error_code ec;
  fs::create_directories(dir_, ec);
  const std::string path = PathOf(a, b);
  const std::string tmp = path + ".tmp";
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  bool ok = f != nullptr && std::fwrite(data.data(), 1, data.size(), f) == data.size();
  if (f != nullptr) ok = std::fclose(f) == 0 && ok;
  if (!ok || std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    return Status::Invalid("cannot write " + path + " (a record of a diff; without it the diff " +
                           "walks both trees)");
  }
  Prune();
  return Status::Ok();
}

void DiffRecords::Prune() const {
  std::error_code ec;
  std::vector<std::pair<fs::file_time_type, fs::path>> files;
  for (const fs::directory_entry& e : fs::directory_iterator(dir_, ec)) {
    std::error_code time_ec;
    fs::file_time_type t = e.last_write_time(time_ec);
    if (!time_ec) files.emplace_back(t, e.path());
  }
  if (files.size() <= kMaxFiles) return;
  // The oldest go, down to three quarters of the limit: pruning is then not done at every write.
  std::sort(files.begin(), files.end());
  for (size_t i = 0; i + kMaxFiles * 3 / 4 < files.size(); ++i) fs::remove(files[i].second, ec);
}

}  // namespace cfgit
