// PackWriter: new objects streamed straight into a pack file as they are staged (zlib, no delta
// search), readable back while the pack is being written, and finished with Git's version-2
// index built from what is at hand. Memory is a few dozen bytes per object, whatever their size.
// Formats: Git's gitformat-pack(5). Included only by store/*.cc.
#pragma once

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "store/internal/git.h"
#include "store/store.h"

struct z_stream_s;

namespace cfgit {

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
  struct OidHash {
    size_t operator()(const Oid& id) const {
      size_t h;
      std::memcpy(&h, id.bytes.data(), sizeof h);  // SHA-1 bytes are uniform already
      return h;
    }
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
  int fd_ = -1;
  uint64_t written_ = 0;                     // bytes in the file and the buffer
  std::string buffer_;  // the last bytes written, not yet in the file
  std::unordered_map<Oid, Entry, OidHash> objects_;
  std::unique_ptr<z_stream_s> zstore_, zfast_;  // deflate streams, reset for each object
};

}  // namespace cfgit
