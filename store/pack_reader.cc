// PackReader (see internal/pack_reader.h).
#include "store/internal/pack_reader.h"

#include <fcntl.h>
#include <git2/sys/odb_backend.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <shared_mutex>
#include <vector>

#include "store/internal/memory.h"
#include "store/internal/pack_writer.h"

namespace cfgit {
namespace {

constexpr uint64_t kIdsAt = 8 + 256 * 4;  // after the magic, the version and the fan-out
constexpr int kGuesses = 4;               // proportional guesses of where an id is in an index
constexpr uint32_t kBisect = 8;           // ids left to bisect: a guess is then no better
constexpr uint32_t kPopulateAfter = 64;   // lookups in an index before it is mapped in whole
constexpr uint32_t kFilterMax = 1 << 18;  // objects of a pack that gets a filter (Pack::MayHold)
constexpr uint64_t kMapMax = uint64_t{16} << 20;    // bytes of a pack mapped in whole (MapIn)
constexpr uint64_t kMapTotal = uint64_t{32} << 20;  // bytes of all the packs mapped in whole

std::atomic<size_t> filters_built{0};   // in this process (PackFiltersBuilt)
std::atomic<size_t> handed_over{0};     // in this process (PacksHandedOver)
std::atomic<size_t> mapped_in{0};       // in this process (PacksMapped)
std::atomic<uint64_t> mapped_bytes{0};  // of the packs mapped in whole, in this process

uint32_t Be32(const unsigned char* p) {
  return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | uint32_t{p[3]};
}
uint64_t Be64(const unsigned char* p) { return uint64_t{Be32(p)} << 32 | Be32(p + 4); }

// Reads up to `size` bytes at `at`; how many were read (fewer only at the end of the file).
size_t ReadAt(int fd, void* into, size_t size, uint64_t at) {
  size_t done = 0;
  while (done < size) {
    ssize_t n =
        ::pread(fd, static_cast<char*>(into) + done, size - done, static_cast<off_t>(at + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  return done;
}

// One pack and its version-2 index, open for reading: the index mapped (a lookup touches a page
// or two of it), the pack read with pread.
class Pack {
 public:
  ~Pack() {
    if (const unsigned char* m = mapped()) {
      ::munmap(const_cast<unsigned char*>(m), pack_size_);
      mapped_bytes.fetch_sub(pack_size_);
    }
    if (idx_ != MAP_FAILED) ::munmap(idx_, idx_size_);
    if (pack_ >= 0) ::close(pack_);
  }

  // nullptr: not a pack this reader reads (libgit2 then does).
  static std::unique_ptr<Pack> Open(const std::string& base) {
    auto p = std::make_unique<Pack>();
    p->base_ = base;
    std::error_code ec;
    p->idx_size_ = std::filesystem::file_size(base + ".idx", ec);
    if (ec || p->idx_size_ < kIdsAt + 40) return nullptr;
    int fd = ::open((base + ".idx").c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return nullptr;
    p->idx_ = ::mmap(nullptr, p->idx_size_, PROT_READ, MAP_PRIVATE, fd, 0);
    ::close(fd);
    if (p->idx_ == MAP_FAILED) return nullptr;
    AdviseHugeFile(p->idx_, p->idx_size_);  // before the first page is read through it
    const unsigned char* head = p->bytes();
    if (std::memcmp(head, "\377tOc", 4) != 0 || Be32(head + 4) != 2) return nullptr;
    for (size_t i = 0; i < 256; ++i) {
      p->fanout_[i] = Be32(head + 8 + 4 * i);
      if (i > 0 && p->fanout_[i] < p->fanout_[i - 1]) return nullptr;  // damaged: keep in bounds
    }
    p->count_ = p->fanout_[255];
    // The ids, CRCs and offsets must fit (large offsets are checked when used).
    if (kIdsAt + uint64_t{p->count_} * 28 + 40 > p->idx_size_) return nullptr;
    p->pack_ = ::open((base + ".pack").c_str(), O_RDONLY | O_CLOEXEC);
    if (p->pack_ < 0) return nullptr;
    // The size of the file opened (the listing's may be of another file by that name): a
    // mapping must not reach past its end (MapIn).
    struct stat st;
    if (::fstat(p->pack_, &st) != 0) return nullptr;
    p->pack_size_ = static_cast<uint64_t>(st.st_size);
    return p;
  }

  int pack_fd() const { return pack_; }
  const std::string& base() const { return base_; }
  // Gone: not in the pack directory's last successful listing (PackReader::Refresh). Its objects
  // still read right through the open file, but the store may no longer have them.
  bool gone() const { return gone_.load(std::memory_order_relaxed); }
  void set_gone(bool gone) { gone_.store(gone, std::memory_order_relaxed); }
  uint64_t pack_size() const { return pack_size_; }

  // A pread costs ~2.5 us an object (and copies 8 KiB); a mapped pack a page fault (~11 us) per
  // 64 KiB the first time, nothing after. Once a command has read more than 16,384 objects of a
  // pack and one per 16 KiB of it (a full apply reads them all), mapping pays: the pack is left
  // to libgit2's mapped windows. A full apply at 1M rows took 14.4 s read here, 9.9 s by libgit2.
  // A pack mapped in whole (MapIn) never turns bulk: its reads cost no system call.
  uint64_t BulkAt() const { return std::max<uint64_t>(16384, pack_size_ / (16 << 10)) + 1; }
  bool bulk() const { return reads_.load(std::memory_order_relaxed) >= BulkAt() && !mapped(); }
  // Counts a read; true when the pack has just turned bulk (its index may be let go). A pack of
  // up to kMapMax bytes is mapped in whole at its kPopulateAfter-th read (MapIn), long before.
  bool Count() {
    uint64_t n = reads_.fetch_add(1, std::memory_order_relaxed) + 1;
    if (n == kPopulateAfter && pack_size_ <= kMapMax) MapIn();
    return n == BulkAt() && !mapped();
  }
  // The pack's bytes once it is mapped in (nullptr: read with pread).
  const unsigned char* mapped() const { return map_.load(std::memory_order_acquire); }
  // Counts a lookup in the index, found or not. A lookup touches a few pages of it, each a page
  // fault the first time: a merge of 1000 against 1000 rows at 1M rows faulted about 400 times
  // in the 35 MB index. Once a command has looked up kPopulateAfter ids in it, the whole index is
  // mapped in by one call (MADV_POPULATE_READ, Linux 5.14): about 1.5 ms for 35 MB already in
  // the page cache (from disk, the whole file is read), and the index then counts in the
  // command's resident memory. Not at open: `cfgit log -n1` paid those 1.5 ms in a build that
  // did. A hint only: an older kernel refuses it. With `mu` held, shared.
  void Looked() {
    if (lookups_.fetch_add(1, std::memory_order_relaxed) + 1 != kPopulateAfter) return;
#ifdef MADV_POPULATE_READ
    if (idx_ != MAP_FAILED) ::madvise(idx_, idx_size_, MADV_POPULATE_READ);
#endif
    BuildFilter();
  }
  // False: the pack does not hold `id`. A store has a pack per commit or so beside its big ones,
  // and an object is looked for pack after pack: a merge of 1000 against 1000 rows at 1M rows
  // searched 2.5 indexes per object it read (8,200 objects: 20,600 searches, 70,000 ids
  // compared, a cache miss each mostly; a tenth of its CPU samples). A pack of up to kFilterMax
  // objects, once looked in kPopulateAfter times, gets a filter: a bit for each value of the
  // id's first `filter_bits_` bits, 16 bits per object, so one bit tested turns away ~94% of the
  // ids the pack lacks (that merge: 8,900 searches, 27,000 ids compared). Bigger packs are
  // searched without one: building it would read all their ids.
  bool MayHold(const git_oid& id) const {
    const uint64_t* bits = filter_.load(std::memory_order_acquire);
    if (bits == nullptr) return true;
    uint64_t at = Be64(id.id) >> (64 - filter_bits_);
    return (bits[at >> 6] >> (at & 63)) & 1;
  }
  bool filterable() const { return count_ <= kFilterMax; }
  // Lets the index go (libgit2 maps its own), with no Find running.
  void Unmap() {
    if (idx_ == MAP_FAILED) return;
    ::munmap(idx_, idx_size_);
    idx_ = MAP_FAILED;
  }

  // Where the object starts in the pack; nullopt: not in this pack.
  std::optional<uint64_t> Find(const git_oid& id) const {
    const unsigned char* want = id.id;
    uint32_t lo = want[0] ? fanout_[want[0] - 1] : 0, hi = fanout_[want[0]];
    if (lo >= hi) return std::nullopt;
    const unsigned char* ids = bytes() + kIdsAt;
    auto cmp = [&](uint32_t i) { return std::memcmp(want, ids + uint64_t{i} * 20, 20); };
    auto key = [](const unsigned char* p) { return Be64(p + 1); };  // the bytes after the first
    // Ids are uniform: look where the id would be in proportion between the keys known to
    // bound it (at first, all keys of its first byte), a few times, then bisect what is left.
    // A lookup in a 1.5M-object index takes 4-5 comparisons, not 8-9: each is a cache miss, and
    // in a big index a TLB miss too.
    uint64_t want_key = key(want), lo_key = 0, hi_key = ~uint64_t{0};
    for (int step = 0; step < kGuesses && hi - lo > kBisect; ++step) {
      // In a sorted index want_key is in [lo_key, hi_key], so the guess is in [lo, hi); the
      // clamp keeps a damaged one in bounds.
      __extension__ using Wide = unsigned __int128;
      Wide guess = Wide{want_key - lo_key} * (hi - lo) / (Wide{hi_key - lo_key} + 1);
      uint32_t at = lo + static_cast<uint32_t>(std::min<Wide>(guess, hi - lo - 1));
      int c = cmp(at);
      if (c == 0) return Offset(at);
      if (c < 0) {
        hi = at;
        hi_key = key(ids + uint64_t{at} * 20);
      } else {
        lo = at + 1;
        lo_key = key(ids + uint64_t{at} * 20);
      }
    }
    while (lo < hi) {
      uint32_t mid = lo + (hi - lo) / 2;
      int c = cmp(mid);
      if (c == 0) return Offset(mid);
      if (c < 0) {
        hi = mid;
      } else {
        lo = mid + 1;
      }
    }
    return std::nullopt;
  }

 private:
  const unsigned char* bytes() const { return static_cast<const unsigned char*>(idx_); }

  // Called by the lookup that reached kPopulateAfter (once: a count that wrapped round finds the
  // filter built); published for the others to see.
  void BuildFilter() {
    if (idx_ == MAP_FAILED || count_ == 0 || !filterable() || filter_.load() != nullptr) return;
    int bits = 6;
    while ((uint64_t{1} << bits) < uint64_t{count_} * 16) ++bits;
    std::vector<uint64_t> words(size_t{1} << (bits - 6));
    const unsigned char* ids = bytes() + kIdsAt;
    for (uint32_t i = 0; i < count_; ++i) {
      uint64_t at = Be64(ids + uint64_t{i} * 20) >> (64 - bits);
      words[at >> 6] |= uint64_t{1} << (at & 63);
    }
    filter_bits_ = bits;
    filter_words_ = std::move(words);
    filter_.store(filter_words_.data(), std::memory_order_release);
    filters_built.fetch_add(1, std::memory_order_relaxed);
  }

  std::optional<uint64_t> Offset(uint32_t i) const {
    uint32_t small = Be32(bytes() + kIdsAt + uint64_t{count_} * 24 + uint64_t{i} * 4);
    if (!(small & 0x80000000u)) return small;
    uint64_t at = kIdsAt + uint64_t{count_} * 28 + uint64_t{small & 0x7fffffffu} * 8;
    if (at + 8 > idx_size_) return std::nullopt;
    return Be64(bytes() + at);
  }

  // The packs of the last few commits are small, and a merge or diff reads most of its objects
  // from them: a merge of 1000 against 1000 rows at 1M rows read 5,767 of its 8,182 objects from
  // four packs of 3-13 MB. Mapped in by one call (MADV_POPULATE_READ, as the index), they are
  // read from memory, with no pread and no copy per object: that merge took 11 ms less CPU. The
  // pages count in the command's resident memory, so packs are mapped only while all those
  // mapped stay within kMapTotal. A mapping that fails leaves the pack to pread. Once, by the
  // read that reached the count.
  void MapIn() {
    if (mapped_bytes.fetch_add(pack_size_) + pack_size_ > kMapTotal) {
      mapped_bytes.fetch_sub(pack_size_);
      return;
    }
    void* m = ::mmap(nullptr, pack_size_, PROT_READ, MAP_PRIVATE, pack_, 0);
    if (m == MAP_FAILED) {
      mapped_bytes.fetch_sub(pack_size_);
      return;
    }
    AdviseHugeFile(m, pack_size_);
#ifdef MADV_POPULATE_READ
    // EFAULT: a page past the file's end (it was cut short since it was opened), where a read
    // would raise SIGBUS. An older kernel refuses the advice (EINVAL): the pages fault in.
    if (::madvise(m, pack_size_, MADV_POPULATE_READ) != 0 && errno == EFAULT) {
      ::munmap(m, pack_size_);
      mapped_bytes.fetch_sub(pack_size_);
      return;
    }
#endif
    map_.store(static_cast<const unsigned char*>(m), std::memory_order_release);
    mapped_in.fetch_add(1, std::memory_order_relaxed);
  }

  std::string base_;
  std::atomic<const unsigned char*> map_{nullptr};
  std::atomic<bool> gone_{false};
  void* idx_ = MAP_FAILED;
  uint64_t idx_size_ = 0;
  int pack_ = -1;
  std::array<uint32_t, 256> fanout_{};
  uint32_t count_ = 0;
  uint64_t pack_size_ = 0;
  std::atomic<uint64_t> reads_{0};
  std::atomic<uint32_t> lookups_{0};
  int filter_bits_ = 0;                 // set before filter_ is published
  std::vector<uint64_t> filter_words_;  // likewise
  std::atomic<const uint64_t*> filter_{nullptr};
};

// A zlib stream and the buffer it reads from: one per read in progress.
struct Inflater {
  z_stream zs{};
  bool ready = false;
  std::vector<unsigned char> in;
  ~Inflater() {
    if (ready) inflateEnd(&zs);
  }
};

}  // namespace

struct PackReader {
  git_odb_backend parent;  // first member: libgit2 passes &parent back to the callbacks
  std::string dir;         // the pack directory
  std::vector<std::unique_ptr<Pack>> packs;
  std::set<std::string> listed;       // the packs (base names) seen in `dir`, read here or not
  std::atomic<bool> left_out{false};  // a pack of the last listing is not read here, or it failed
  std::mutex listing;                 // one listing of `dir` at a time, and its marks (Refresh)
  // Finding objects is shared (Locate); opening packs and letting an index go are exclusive.
  // Reading and inflating happen outside it, so threads read objects side by side.
  std::shared_mutex mu;
  std::atomic<size_t> last{0};  // the pack the last object was found in: objects come in runs

  static PackReader* Self(git_odb_backend* b) { return reinterpret_cast<PackReader*>(b); }

  // Which packs Locate searches: all (for a read: a deleted pack's objects read right through
  // its open file), or those still in the directory (for a writer: a deleted pack's objects may
  // have been pruned).
  enum class Searched { kAll, kPresent };

  // The pack holding `id` and the offset of its entry (`mu` held, shared). The packs small
  // enough for a filter first (most turn the id away at the cost of a bit), then the others;
  // each group from the pack the last object was found in.
  std::optional<std::pair<Pack*, uint64_t>> Locate(const git_oid& id, Searched searched) {
    size_t from = last.load(std::memory_order_relaxed);
    for (bool filterable : {true, false}) {
      for (size_t k = 0; k < packs.size(); ++k) {
        size_t i = (from + k) % packs.size();
        Pack& pack = *packs[i];
        if (pack.filterable() != filterable || pack.bulk() ||
            (searched == Searched::kPresent && pack.gone()) || !pack.MayHold(id)) {
          continue;
        }
        pack.Looked();
        if (std::optional<uint64_t> at = pack.Find(id)) {
          if (i != from) last.store(i, std::memory_order_relaxed);
          return std::make_pair(&pack, *at);
        }
      }
    }
    return std::nullopt;
  }

  static int Read(void** data, size_t* len, git_object_t* type, git_odb_backend* b,
                  const git_oid* id) {
    PackReader* self = Self(b);
    std::optional<std::pair<Pack*, uint64_t>> where;
    {
      std::shared_lock<std::shared_mutex> hold(self->mu);
      where = self->Locate(*id, Searched::kAll);
    }
    if (!where) return GIT_ENOTFOUND;
    // A zlib stream per thread; a pack, once opened, stays open as long as the reader.
    thread_local Inflater inflater;
    int rc = Unpack(b, inflater, *where->first, where->second, data, len, type);
    if (where->first->Count()) {
      handed_over.fetch_add(1, std::memory_order_relaxed);
      std::unique_lock<std::shared_mutex> hold(self->mu);
      where->first->Unmap();
    }
    return rc;
  }

  // libgit2 asks the next backend when this one says no, so "cannot tell" is a no here. As for
  // a writer, a pack gone from the directory holds nothing here (libgit2 asks this when it
  // writes an object itself: a tag).
  static int Exists(git_odb_backend* b, const git_oid* id) {
    return Self(b)->Holds(*id) == Holding::kYes ? 1 : 0;
  }

  // PackedHolds: whether the packs searched here that are still in the directory hold `id`, and
  // kCannotTell on a miss where such a pack is not searched here.
  Holding Holds(const git_oid& id) {
    std::shared_lock<std::shared_mutex> hold(mu);
    if (Locate(id, Searched::kPresent)) return Holding::kYes;
    bool all_searched =
        !left_out.load(std::memory_order_relaxed) &&
        std::none_of(packs.begin(), packs.end(),
                     [](const std::unique_ptr<Pack>& p) { return p->bulk() && !p->gone(); });
    return all_searched ? Holding::kNo : Holding::kCannotTell;
  }

  // Marks the packs missing from `found` (a listing of `dir`) gone, and those in it not gone (a
  // pack written again under its name holds the same objects); notes whether a listed pack is
  // not read here. With `listing` held, and `mu` shared at least.
  void Mark(const std::vector<PackFile>& found) {
    std::set<std::string> here;
    for (const PackFile& f : found) here.insert(f.base);
    size_t read_here = 0;
    for (const std::unique_ptr<Pack>& pack : packs) {
      bool gone = here.count(pack->base()) == 0;
      pack->set_gone(gone);
      read_here += gone ? 0 : 1;
    }
    left_out.store(read_here < here.size(), std::memory_order_relaxed);
  }

  static void Free(git_odb_backend* b) { delete Self(b); }

  // Opens the packs of `dir` not seen before (the first call: all of them, the biggest first, as
  // most objects are there). libgit2 calls it after a command wrote a pack (git_odb_refresh) and
  // when an object is found nowhere, so a pack this command or another process wrote is read
  // here too; a writer calls it before it stages objects (ObjectStager::Init). A pack deleted
  // since (consolidated by cfgit, repacked by stock git) stays readable through its open file
  // but is marked gone, so writers do not count on it (Holds); one this reader cannot open is
  // not tried again (libgit2 reads it). A listing that fails changes no pack's mark, and the
  // reader answers "cannot tell" (writers ask libgit2) until one succeeds.
  static int Refresh(git_odb_backend* b) {
    PackReader* self = Self(b);
    std::lock_guard<std::mutex> one(self->listing);
    // Listed every time: the directory's modification time is too coarse to tell two packs
    // written within a few milliseconds apart.
    Result<std::vector<PackFile>> listed_now = ListPacks(self->dir);
    if (!listed_now.ok()) {
      self->left_out.store(true, std::memory_order_relaxed);
      git_error_set_str(GIT_ERROR_ODB, listed_now.status().message().c_str());
      return -1;
    }
    const std::vector<PackFile>& found = *listed_now;
    {
      // Mostly nothing is new (libgit2 refreshes whenever an object is found nowhere): then
      // readers are not stopped for the exclusive lock.
      std::shared_lock<std::shared_mutex> look(self->mu);
      if (std::all_of(found.begin(), found.end(),
                      [&](const PackFile& p) { return self->listed.count(p.base) > 0; })) {
        self->Mark(found);
        return 0;
      }
    }
    std::unique_lock<std::shared_mutex> hold(self->mu);
    for (auto p = found.rbegin(); p != found.rend(); ++p) {
      if (!self->listed.insert(p->base).second) continue;
      if (std::unique_ptr<Pack> pack = Pack::Open(p->base)) {
        self->packs.push_back(std::move(pack));
      }
    }
    self->Mark(found);
    return 0;
  }

  // Reads the entry at `at`: its header, then its zlib stream inflated into a buffer libgit2
  // owns. Anything but a whole object read cleanly passes to libgit2's backends, which read
  // deltas and report damage in their own words.
  static int Unpack(git_odb_backend* b, Inflater& z, Pack& pack, uint64_t at, void** data,
                    size_t* len, git_object_t* type) {
    std::vector<unsigned char>& in = z.in;
    const unsigned char* src = pack.mapped();
    size_t got = 0;
    if (src != nullptr && at < pack.pack_size()) {
      src += at;
      got = static_cast<size_t>(pack.pack_size() - at);
    } else {
      in.resize(8192);  // a 256-entry fan-out tree (7.5 KB) in one read
      got = ReadAt(pack.pack_fd(), in.data(), in.size(), at);
      src = in.data();
    }
    if (got == 0) return GIT_PASSTHROUGH;
    unsigned char c = src[0];
    int kind = (c >> 4) & 7;
    uint64_t size = c & 15;
    size_t header = 1;
    for (int shift = 4; c & 0x80; shift += 7) {
      if (header >= got || shift > 57) return GIT_PASSTHROUGH;
      c = src[header++];
      size |= uint64_t{c & 0x7fu} << shift;
    }
    if (kind < GIT_OBJECT_COMMIT || kind > GIT_OBJECT_TAG) return GIT_PASSTHROUGH;  // a delta
    if (size >= (uint64_t{1} << 31)) return GIT_PASSTHROUGH;
    // Stored (uncompressed) streams add a few bytes per block: one more read covers most.
    size_t want = header + static_cast<size_t>(size) + 64 + static_cast<size_t>(size / 4096) * 5;
    if (src == in.data() && want > got && got == in.size()) {
      size_t more = std::min<size_t>(want, size_t{1} << 20);
      if (more > in.size()) {
        in.resize(more);
        got += ReadAt(pack.pack_fd(), in.data() + got, more - got, at + got);
        src = in.data();
      }
    }
    z_stream& zs = z.zs;
    if (!z.ready) {
      if (inflateInit(&zs) != Z_OK) return GIT_PASSTHROUGH;
      z.ready = true;
    } else if (inflateReset(&zs) != Z_OK) {
      return GIT_PASSTHROUGH;
    }
    // One byte more than the object, NUL, as libgit2's own reader leaves it.
    auto* out = static_cast<unsigned char*>(git_odb_backend_data_alloc(b, size + 1));
    if (!out) return -1;
    zs.next_out = out;
    zs.avail_out = static_cast<uInt>(size + 1);
    zs.next_in = const_cast<unsigned char*>(src) + header;
    zs.avail_in = static_cast<uInt>(got - header);
    uint64_t next = at + got;  // the pack's next unread byte
    int rc;
    while ((rc = inflate(&zs, Z_NO_FLUSH)) == Z_OK || rc == Z_BUF_ERROR) {
      if (zs.avail_in > 0 || zs.avail_out == 0 || next >= pack.pack_size()) break;
      size_t n = ReadAt(pack.pack_fd(), in.data(), in.size(), next);
      if (n == 0) break;
      next += n;
      zs.next_in = in.data();
      zs.avail_in = static_cast<uInt>(n);
    }
    if (rc != Z_STREAM_END || zs.total_out != size) {
      git_odb_backend_data_free(b, out);
      return GIT_PASSTHROUGH;
    }
    out[size] = 0;
    *data = out;
    *len = static_cast<size_t>(size);
    *type = static_cast<git_object_t>(kind);
    return 0;
  }
};

size_t PackFiltersBuilt() { return filters_built.load(); }
size_t PacksHandedOver() { return handed_over.load(); }
size_t PacksMapped() { return mapped_in.load(); }

Result<PackReader*> AddPackReader(git_odb* odb, const std::string& objects_dir) {
  auto reader = std::make_unique<PackReader>();
  if (int rc = git_odb_init_backend(&reader->parent, GIT_ODB_BACKEND_VERSION)) {
    return git::Error(rc, "opening the store");
  }
  // Packs left out (all of them when the listing fails, an index this reader does not read)
  // are libgit2's.
  reader->dir = objects_dir + "/pack";
  PackReader::Refresh(&reader->parent);
  reader->parent.read = PackReader::Read;
  reader->parent.exists = PackReader::Exists;
  reader->parent.refresh = PackReader::Refresh;
  reader->parent.free = PackReader::Free;
  // libgit2's loose objects and packs have priorities 1 and 2: this reader is asked first.
  if (int rc = git_odb_add_backend(odb, &reader->parent, 3)) {
    return git::Error(rc, "opening the store's packs");
  }
  return reader.release();
}

int ReadPacked(PackReader* reader, const git_oid& id, PackedBytes* out) {
  void* data = nullptr;
  size_t len = 0;
  git_object_t type = GIT_OBJECT_INVALID;
  int rc = PackReader::Read(&data, &len, &type, &reader->parent, &id);
  if (rc != 0) return rc;
  out->data.reset(static_cast<char*>(data));
  out->data.get_deleter().backend = &reader->parent;
  out->size = len;
  out->type = type;
  return 0;
}

Holding PackedHolds(PackReader* reader, const git_oid& id) { return reader->Holds(id); }

void PackedFree::operator()(char* p) const { git_odb_backend_data_free(backend, p); }

}  // namespace cfgit
