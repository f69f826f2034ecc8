#include "store/internal/fingerprints.h"

#include <xxhash.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

namespace cfgit {
namespace {

constexpr std::string_view kHeader = "cfgit-fingerprints 1\n";
constexpr size_t kFixed = 16 + 20 + 2;

void PutU64(std::string* out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
uint64_t GetU64(const char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
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

FingerprintMemo FingerprintMemo::Load(const std::string& path) {
  FingerprintMemo memo;
  std::ifstream in(path, std::ios::binary);
  if (!in) return memo;
  std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (data.compare(0, kHeader.size(), kHeader) != 0) return memo;
  size_t at = kHeader.size();
  while (at < data.size()) {
    if (data.size() - at < kFixed) return FingerprintMemo();
    Record r;
    r.fp = {GetU64(&data[at]), GetU64(&data[at + 8])};
    std::memcpy(r.blob.bytes.data(), &data[at + 16], 20);
    r.name_size = static_cast<uint16_t>(static_cast<unsigned char>(data[at + 36]) |
                                        (static_cast<unsigned char>(data[at + 37]) << 8));
    at += kFixed;
    if (data.size() - at < r.name_size) return FingerprintMemo();
    r.name_offset = static_cast<uint32_t>(memo.old_names_.size());
    memo.old_names_.append(data, at, r.name_size);
    at += r.name_size;
    if (!memo.old_.empty() && !(memo.old_.back().fp < r.fp)) return FingerprintMemo();  // unsorted
    memo.old_.push_back(r);
  }
  return memo;
}

std::optional<FingerprintMemo::Hit> FingerprintMemo::Find(const Fingerprint& fp) const {
  auto it = std::lower_bound(old_.begin(), old_.end(), fp,
                             [](const Record& r, const Fingerprint& f) { return r.fp < f; });
  if (it == old_.end() || !(it->fp == fp)) return std::nullopt;
  return Hit{it->blob, std::string_view(old_names_).substr(it->name_offset, it->name_size)};
}

void FingerprintMemo::Add(const Fingerprint& fp, const Oid& blob, const std::string& name) {
  if (name.size() > UINT16_MAX) return;  // names are at most ~200 bytes; never happens
  new_.push_back(
      {fp, blob, static_cast<uint32_t>(new_names_.size()), static_cast<uint16_t>(name.size())});
  new_names_ += name;
}

Status FingerprintMemo::Save(const std::string& path) {
  std::sort(new_.begin(), new_.end(), [](const Record& a, const Record& b) { return a.fp < b.fp; });
  std::string out(kHeader);
  out.reserve(kHeader.size() + new_.size() * (kFixed + 12));
  for (size_t i = 0; i < new_.size(); ++i) {
    const Record& r = new_[i];
    if (i && new_[i - 1].fp == r.fp) continue;  // the same row twice (keyless duplicates)
    PutU64(&out, r.fp.high);
    PutU64(&out, r.fp.low);
    out.append(reinterpret_cast<const char*>(r.blob.bytes.data()), 20);
    out.push_back(static_cast<char>(r.name_size & 0xff));
    out.push_back(static_cast<char>(r.name_size >> 8));
    out.append(new_names_, r.name_offset, r.name_size);
  }
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
  std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    f.write(out.data(), static_cast<std::streamsize>(out.size()));
    if (!f) return Status::Invalid("cannot write " + tmp);
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) return Status::Invalid("cannot write " + path);
  return Status::Ok();
}

}  // namespace cfgit
