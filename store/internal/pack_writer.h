// PackWriter: new objects streamed straight into a pack file as they are staged (zlib, no delta
// search), readable back while the pack is being written, and finished with Git's version-2
// index built from what is at hand. Memory is a few dozen bytes per object, whatever their size.
// Formats: Git's gitformat-pack(5). Included only by store/*.cc.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "store/internal/git.h"
#include "store/store.h"

struct z_stream_s;
struct evp_md_ctx_st;
struct evp_md_st;

namespace cfgit {

// SHA-1 through OpenSSL, which uses the CPU's SHA instructions where it has them: object ids and
// pack checksums (libgit2's git_odb_hash, a collision-detecting SHA-1, took three times as long:
// 1.1 against 0.3 us for a 300-byte row, 11.8 against 4.3 us for a 7.5 KB tree, on this machine).
// Final returns the digest and starts over.
class Sha1 {
 public:
  Sha1();
  ~Sha1();
  Sha1(const Sha1&) = delete;
  Sha1& operator=(const Sha1&) = delete;
  void Update(const void* data, size_t size);
  void Update(std::string_view s) { Update(s.data(), s.size()); }
  std::array<unsigned char, 20> Final();

 private:
  static const evp_md_st* Md();
  evp_md_ctx_st* ctx_;
};

// Hash of an object id for unordered containers: its first bytes (SHA-1 bytes are uniform).
struct OidHash {
  size_t operator()(const Oid& id) const {
    size_t h;
    std::memcpy(&h, id.bytes.data(), sizeof h);
    return h;
  }
};

class PackWriter {
 public:
  explicit PackWriter(std::string pack_dir);
  PackWriter(const PackWriter&) = delete;
  PackWriter& operator=(const PackWriter&) = delete;
  // Deletes an unfinished pack: objects never written to the store leave nothing behind.
  ~PackWriter();

  bool Contains(const git_oid& id) const { return objects_.count(Key(id)) != 0; }
  size_t count() const { return objects_.size(); }
  // Appends the object (its id already computed by the caller).
  Status Add(const git_oid& id, git_object_t type, std::string_view data);
  // An object added and not yet finished into the store.
  Result<std::string> Read(const git_oid& id, git_object_t* type);
  Result<size_t> ReadHeader(const git_oid& id, git_object_t* type) const;
  // Writes the trailer and the index, and moves both into the pack directory; the writer is then
  // empty and may be used again.
  Status Finish();
  const std::string& dir() const { return dir_; }
  // The pack the last Finish wrote: its path without ".pack" / ".idx".
  const std::string& last_pack() const { return last_pack_; }
  // Deletes the unfinished pack and forgets its objects.
  void Discard();

 private:
  struct Entry {
    uint64_t offset;  // of the entry's header in the pack
    uint32_t length;  // header and compressed data
    uint32_t crc32;   // of those bytes, for the index
    uint32_t size;    // of the object
    uint8_t type;
  };
  static Oid Key(const git_oid& id) {
    Oid key;
    std::memcpy(key.bytes.data(), id.id, key.bytes.size());
    return key;
  }
  Status Open();
  Status WriteOut(const char* data, size_t size);
  Status FlushBuffer();

  std::string dir_;
  std::string tmp_path_;
  std::string last_pack_;
  int fd_ = -1;
  uint64_t written_ = 0;  // bytes in the file and the buffer
  std::string buffer_;    // the last bytes written, not yet in the file
  std::unordered_map<Oid, Entry, OidHash> objects_;
  std::unique_ptr<z_stream_s> zstore_, zfast_;  // deflate streams, reset for each object
};

// The packs in `pack_dir` that have an index, smallest first (none when there is no such
// directory); an error when the directory cannot be read to its end.
struct PackFile {
  std::string base;  // ".../pack-<id>", without ".pack" / ".idx"
  uintmax_t size;    // of the .pack file
};
Result<std::vector<PackFile>> ListPacks(const std::string& pack_dir);

// Every command that writes adds one pack, and every object lookup searches the packs one by one,
// so they are consolidated now and then, as `git repack --geometric=2` does: when `pack_dir` holds
// more than `max_packs` packs, the smallest ones are rewritten into one, so that the packs left
// (by size) at least double from one to the next. The big first snapshot's pack is seldom
// touched; the cost per object written stays logarithmic. Objects are read through `odb` (the
// store's packs) and written as PackWriter writes them; the new pack is in place before the old
// ones are deleted, so every object is always in some pack. Packs with a `.keep` file are left
// alone, and a multi-pack-index naming a deleted pack is deleted (git writes it again). Returns
// the packs deleted (their file names, without extension; none: nothing merged).
Result<std::vector<std::string>> ConsolidatePacks(const std::string& pack_dir, git_odb* odb,
                                                  size_t max_packs);

}  // namespace cfgit
