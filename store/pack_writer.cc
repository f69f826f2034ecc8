// PackWriter (see internal/pack_writer.h).
#include "store/internal/pack_writer.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <vector>

namespace cfgit {
namespace {

constexpr size_t kBufferBytes = 1u << 20;

void PutBe32(std::string* out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8)
    out->push_back(static_cast<char>((v >> shift) & 0xff));
}

Status Errno(const std::string& what) {
  return Status::Invalid(what + ": " + std::strerror(errno));
}

Status WriteAll(int fd, const char* data, size_t size, const std::string& path) {
  while (size > 0) {
    ssize_t n = ::write(fd, data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Errno("writing " + path);
    data += n;
    size -= static_cast<size_t>(n);
  }
  return Status::Ok();
}

Status ReadAt(int fd, char* data, size_t size, uint64_t offset, const std::string& path) {
  while (size > 0) {
    ssize_t n = ::pread(fd, data, size, static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Errno("reading " + path);
    data += n;
    size -= static_cast<size_t>(n);
    offset += static_cast<uint64_t>(n);
  }
  return Status::Ok();
}

}  // namespace

Sha1::Sha1() : ctx_(EVP_MD_CTX_new()) { EVP_DigestInit_ex(ctx_, Md(), nullptr); }
Sha1::~Sha1() { EVP_MD_CTX_free(ctx_); }
void Sha1::Update(const void* data, size_t size) { EVP_DigestUpdate(ctx_, data, size); }
std::array<unsigned char, 20> Sha1::Final() {
  std::array<unsigned char, 20> out{};
  unsigned int n = 0;
  EVP_DigestFinal_ex(ctx_, out.data(), &n);
  EVP_DigestInit_ex(ctx_, Md(), nullptr);
  return out;
}
const evp_md_st* Sha1::Md() {
  // Fetched once; OpenSSL's built-in table when the providers cannot be asked.
  static const EVP_MD* md = [] {
    const EVP_MD* fetched = EVP_MD_fetch(nullptr, "SHA1", nullptr);
    return fetched ? fetched : EVP_sha1();
  }();
  return md;
}

PackWriter::PackWriter(std::string pack_dir) : dir_(std::move(pack_dir)) {}

PackWriter::~PackWriter() {
  Discard();
  if (zstore_) deflateEnd(zstore_.get());
  if (zfast_) deflateEnd(zfast_.get());
}

void PackWriter::Discard() {
  if (fd_ >= 0) {
    ::close(fd_);
    ::unlink(tmp_path_.c_str());
  }
  fd_ = -1;
  written_ = 0;
  buffer_.clear();
  objects_.clear();
}

Status PackWriter::Open() {
  std::string templ = dir_ + "/tmp_cfgit_pack_XXXXXX";
  fd_ = ::mkstemp(templ.data());
  if (fd_ < 0) return Errno("creating a pack in " + dir_);
  tmp_path_ = templ;
  // "PACK", version 2, the object count (filled in by Finish).
  std::string header = "PACK";
  PutBe32(&header, 2);
  PutBe32(&header, 0);
  buffer_ = header;
  written_ = header.size();
  return Status::Ok();
}

Status PackWriter::FlushBuffer() {
  Status s = WriteAll(fd_, buffer_.data(), buffer_.size(), tmp_path_);
  buffer_.clear();
  return s;
}

Status PackWriter::WriteOut(const char* data, size_t size) {
  buffer_.append(data, size);
  written_ += size;
  if (buffer_.size() >= kBufferBytes) return FlushBuffer();
  return Status::Ok();
}

Status PackWriter::Add(const git_oid& id, git_object_t type, std::string_view data) {
  if (fd_ < 0) CFGIT_RETURN_IF_ERROR(Open());
  if (data.size() > UINT32_MAX) return Status::Invalid("an object of more than 4 GiB");
  // Entry header: type and size, 4 bits of size in the first byte, then 7 bits per byte.
  std::string entry;
  size_t size = data.size();
  unsigned char byte = static_cast<unsigned char>((static_cast<unsigned>(type) << 4) | (size & 15));
  size >>= 4;
  while (size) {
    entry.push_back(static_cast<char>(byte | 0x80));
    byte = static_cast<unsigned char>(size & 0x7f);
    size >>= 7;
  }
  entry.push_back(static_cast<char>(byte));
  size_t header = entry.size();
  // Fast compression, on one stream per level reset for each object. Stored (level 0): rows under
  // 512 bytes, since zlib's set-up per stream costs about 5 us at level 1, more than such a row
  // saves; and trees, which are mostly ids that do not compress and are read back by every diff
  // and merge, where inflating stored blocks is a copy. Larger rows (JSON) use level 1.
  bool store = data.size() < 512 || type == GIT_OBJECT_TREE;
  std::unique_ptr<z_stream_s>& z = store ? zstore_ : zfast_;
  if (!z) {
    z = std::make_unique<z_stream>();
    if (deflateInit2(z.get(), &z == &zstore_ ? 0 : 1, Z_DEFLATED, 15, 4, Z_DEFAULT_STRATEGY) !=
        Z_OK) {
      z.reset();
      return Status::Invalid("compressing an object: out of memory");
    }
  } else {
    deflateReset(z.get());
  }
  uLong bound = deflateBound(z.get(), static_cast<uLong>(data.size()));
  entry.resize(header + bound);
  z->next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z->avail_in = static_cast<uInt>(data.size());
  z->next_out = reinterpret_cast<Bytef*>(&entry[header]);
  z->avail_out = static_cast<uInt>(bound);
  if (deflate(z.get(), Z_FINISH) != Z_STREAM_END) return Status::Invalid("compressing an object");
  bound = z->total_out;
  entry.resize(header + bound);
  Entry e;
  e.offset = written_;
  e.length = static_cast<uint32_t>(entry.size());
  e.crc32 = static_cast<uint32_t>(
      crc32(0, reinterpret_cast<const Bytef*>(entry.data()), static_cast<uInt>(entry.size())));
  e.size = static_cast<uint32_t>(data.size());
  e.type = static_cast<uint8_t>(type);
  CFGIT_RETURN_IF_ERROR(WriteOut(entry.data(), entry.size()));
  objects_.emplace(Key(id), e);
  return Status::Ok();
}

Result<size_t> PackWriter::ReadHeader(const git_oid& id, git_object_t* type) const {
  auto it = objects_.find(Key(id));
  if (it == objects_.end()) return Status::Invalid("not a staged object");
  *type = static_cast<git_object_t>(it->second.type);
  return static_cast<size_t>(it->second.size);
}

Result<std::string> PackWriter::Read(const git_oid& id, git_object_t* type) {
  auto it = objects_.find(Key(id));
  if (it == objects_.end()) return Status::Invalid("not a staged object");
  const Entry& e = it->second;
  if (!buffer_.empty()) CFGIT_RETURN_IF_ERROR(FlushBuffer());
  std::string raw(e.length, '\0');
  CFGIT_RETURN_IF_ERROR(ReadAt(fd_, raw.data(), raw.size(), e.offset, tmp_path_));
  size_t at = 0;
  while (at < raw.size() && (static_cast<unsigned char>(raw[at]) & 0x80)) ++at;
  ++at;  // past the header's last byte
  std::string out(e.size, '\0');
  uLongf n = e.size;
  int rc = uncompress(reinterpret_cast<Bytef*>(out.data()), &n,
                      reinterpret_cast<const Bytef*>(raw.data() + at),
                      static_cast<uLong>(raw.size() - at));
  if (rc != Z_OK || n != e.size) return Status::Invalid("reading back a staged object");
  *type = static_cast<git_object_t>(e.type);
  return out;
}

Status PackWriter::Finish() {
  if (objects_.empty()) {
    Discard();
    return Status::Ok();
  }
  CFGIT_RETURN_IF_ERROR(FlushBuffer());
  std::string count;
  PutBe32(&count, static_cast<uint32_t>(objects_.size()));
  if (::pwrite(fd_, count.data(), count.size(), 8) != static_cast<ssize_t>(count.size())) {
    return Errno("writing " + tmp_path_);
  }
  // The trailer: SHA-1 of everything before it, read back through a buffer no bigger than the
  // pack, not zeroed (as the memo's write buffer): a command that writes a few objects (a merge
  // of a row or two) spent 1.5 ms of its 30 ms zeroing and faulting in a whole 1 MiB one.
  Sha1 pack_sum;
  const size_t chunk_size = static_cast<size_t>(std::min<uint64_t>(kBufferBytes, written_));
  auto chunk = std::make_unique_for_overwrite<char[]>(chunk_size);
  for (uint64_t at = 0; at < written_;) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(chunk_size, written_ - at));
    CFGIT_RETURN_IF_ERROR(ReadAt(fd_, chunk.get(), n, at, tmp_path_));
    pack_sum.Update(chunk.get(), n);
    at += n;
  }
  std::array<unsigned char, 20> checksum = pack_sum.Final();
  CFGIT_RETURN_IF_ERROR(
      WriteAll(fd_, reinterpret_cast<const char*>(checksum.data()), checksum.size(), tmp_path_));

  // The index (version 2): fan-out, ids, CRC-32s, offsets (large ones in a table of their own),
  // the pack's checksum, its own checksum.
  std::vector<std::pair<const Oid*, const Entry*>> sorted;
  sorted.reserve(objects_.size());
  for (const auto& [id, e] : objects_) sorted.push_back({&id, &e});
  std::sort(sorted.begin(), sorted.end(),
            [](const auto& a, const auto& b) { return a.first->bytes < b.first->bytes; });
  std::string idx = "\377tOc";
  PutBe32(&idx, 2);
  std::array<uint32_t, 256> fanout{};
  for (const auto& [id, e] : sorted) ++fanout[id->bytes[0]];
  for (size_t i = 1; i < fanout.size(); ++i) fanout[i] += fanout[i - 1];
  for (uint32_t n : fanout) PutBe32(&idx, n);
  for (const auto& [id, e] : sorted)
    idx.append(reinterpret_cast<const char*>(id->bytes.data()), 20);
  for (const auto& [id, e] : sorted) PutBe32(&idx, e->crc32);
  std::string large;
  uint32_t large_count = 0;
  for (const auto& [id, e] : sorted) {
    if (e->offset < 0x80000000u) {
      PutBe32(&idx, static_cast<uint32_t>(e->offset));
    } else {
      PutBe32(&idx, 0x80000000u | large_count++);
      PutBe32(&large, static_cast<uint32_t>(e->offset >> 32));
      PutBe32(&large, static_cast<uint32_t>(e->offset & 0xffffffffu));
    }
  }
  idx += large;
  idx.append(reinterpret_cast<const char*>(checksum.data()), checksum.size());
  Sha1 idx_sum;
  idx_sum.Update(idx);
  std::array<unsigned char, 20> idx_checksum = idx_sum.Final();
  idx.append(reinterpret_cast<const char*>(idx_checksum.data()), idx_checksum.size());

  std::string base = dir_ + "/pack-" + Oid{checksum}.Hex();  // the trailer names the pack
  std::string idx_tmp = tmp_path_ + ".idx";
  int idx_fd = ::open(idx_tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0444);
  if (idx_fd < 0) return Errno("creating " + idx_tmp);
  Status wrote = WriteAll(idx_fd, idx.data(), idx.size(), idx_tmp);
  ::close(idx_fd);
  if (!wrote.ok()) {
    ::unlink(idx_tmp.c_str());
    return wrote;
  }
  // The pack first, then its index: a pack without an index is invisible, never half-read.
  ::fchmod(fd_, 0444);
  if (::rename(tmp_path_.c_str(), (base + ".pack").c_str()) != 0) {
    Status s = Errno("writing " + base + ".pack");
    ::unlink(idx_tmp.c_str());
    return s;
  }
  ::close(fd_);
  fd_ = -1;
  if (::rename(idx_tmp.c_str(), (base + ".idx").c_str()) != 0) {
    return Errno("writing " + base + ".idx");
  }
  last_pack_ = base;
  Discard();
  return Status::Ok();
}

namespace {

// The object ids a version-2 pack index lists (gitformat-pack(5)): after the magic, the version
// and the 256 fan-out counts, the sorted ids.
Result<std::vector<git_oid>> IndexedIds(const std::string& idx_path) {
  std::ifstream in(idx_path, std::ios::binary);
  std::string head(8 + 256 * 4, '\0');
  if (!in.read(head.data(), static_cast<std::streamsize>(head.size())) ||
      head.compare(0, 4, "\377tOc") != 0) {
    return Status::Invalid("cannot read the pack index " + idx_path);
  }
  auto be32 = [&](size_t at) {
    return static_cast<uint32_t>(static_cast<unsigned char>(head[at])) << 24 |
           static_cast<uint32_t>(static_cast<unsigned char>(head[at + 1])) << 16 |
           static_cast<uint32_t>(static_cast<unsigned char>(head[at + 2])) << 8 |
           static_cast<uint32_t>(static_cast<unsigned char>(head[at + 3]));
  };
  if (be32(4) != 2) return Status::Invalid("pack index " + idx_path + " is not of version 2");
  std::vector<git_oid> ids(be32(8 + 255 * 4));
  if (!ids.empty() && !in.read(reinterpret_cast<char*>(ids.data()),
                               static_cast<std::streamsize>(ids.size() * sizeof(git_oid)))) {
    return Status::Invalid("cannot read the pack index " + idx_path);
  }
  return ids;
}

}  // namespace

Result<std::vector<PackFile>> ListPacks(const std::string& pack_dir) {
  namespace fs = std::filesystem;
  std::vector<PackFile> packs;
  std::error_code ec;
  fs::directory_iterator it(pack_dir, ec), end;
  if (ec == std::errc::no_such_file_or_directory) return packs;
  for (; !ec && it != end; it.increment(ec)) {
    const fs::path& path = it->path();
    if (path.filename().string().rfind("pack-", 0) != 0 || path.extension() != ".idx") continue;
    std::string base = (path.parent_path() / path.stem()).string();
    std::error_code size_ec;
    uintmax_t size = fs::file_size(base + ".pack", size_ec);
    if (!size_ec) packs.push_back({std::move(base), size});
  }
  if (ec) {
    return Status::Invalid("cannot list the store's packs in " + pack_dir + ": " + ec.message() +
                           "; check that it is a readable directory");
  }
  std::sort(packs.begin(), packs.end(), [](const PackFile& a, const PackFile& b) {
    return a.size != b.size ? a.size < b.size : a.base < b.base;
  });
  return packs;
}

Result<std::vector<std::string>> ConsolidatePacks(const std::string& pack_dir, git_odb* odb,
                                                  size_t max_packs) {
  namespace fs = std::filesystem;
  std::error_code ec;
  CFGIT_ASSIGN_OR_RETURN(std::vector<PackFile> packs, ListPacks(pack_dir));
  packs.erase(std::remove_if(packs.begin(), packs.end(),
                             [&](const PackFile& p) { return fs::exists(p.base + ".keep", ec); }),
              packs.end());
  std::vector<std::string> deleted;
  if (packs.size() <= max_packs) return deleted;
  // Everything below the last pack smaller than twice all those before it is merged.
  size_t merge = 0;
  uintmax_t below = packs[0].size;
  for (size_t i = 1; i < packs.size(); ++i) {
    if (packs[i].size < 2 * below) merge = i + 1;
    below += packs[i].size;
  }
  if (merge < 2) merge = packs.size() - max_packs + 1;  // a strict progression: the smallest
  PackWriter writer(pack_dir);
  for (size_t p = 0; p < merge; ++p) {
    CFGIT_ASSIGN_OR_RETURN(std::vector<git_oid> ids, IndexedIds(packs[p].base + ".idx"));
    for (const git_oid& id : ids) {
      if (writer.Contains(id)) continue;
      git_odb_object* object = nullptr;
      if (int rc = git_odb_read(&object, odb, &id)) {
        writer.Discard();
        return git::Error(
            rc, "consolidating the store's packs: reading " + std::string(git_oid_tostr_s(&id)));
      }
      Status added =
          writer.Add(id, git_odb_object_type(object),
                     std::string_view(static_cast<const char*>(git_odb_object_data(object)),
                                      git_odb_object_size(object)));
      git_odb_object_free(object);
      if (!added.ok()) {
        writer.Discard();
        return added.Wrap("consolidating the store's packs: ");
      }
    }
  }
  CFGIT_RETURN_IF_ERROR(writer.Finish());
  const std::string& written = writer.last_pack();
  for (size_t p = 0; p < merge; ++p) {
    if (packs[p].base == written) continue;  // the same objects: the same pack
    // The index first: a pack without one is not read.
    for (const char* ext : {".idx", ".pack", ".rev", ".bitmap", ".promisor"}) {
      fs::remove(packs[p].base + ext, ec);
    }
    deleted.push_back(fs::path(packs[p].base).filename().string());
  }
  fs::remove(pack_dir + "/multi-pack-index", ec);
  return deleted;
}

}  // namespace cfgit
