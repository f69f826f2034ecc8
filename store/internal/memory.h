// Large buffers and the kernel: asking for huge pages where the machine offers them on request.
// Included only by store/*.cc (and the store's tests).
#pragma once

#include <malloc.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace cfgit {

// Linux 6.1's MADV_COLLAPSE (<asm-generic/mman-common.h>): Debian 12's glibc headers predate it.
// An older kernel refuses it, and nothing changes.
#if defined(__linux__) && defined(MADV_HUGEPAGE) && !defined(MADV_COLLAPSE)
#define MADV_COLLAPSE 25
#endif
// Linux 5.14's MADV_POPULATE_READ, likewise (Debian 12's headers have it).
#if defined(__linux__) && defined(MADV_HUGEPAGE) && !defined(MADV_POPULATE_READ)
#define MADV_POPULATE_READ 22
#endif

// Backs the 2 MiB page at `at` (aligned to 2 MiB, in a range advised huge pages) with a huge page
// now, the 4 KiB pages already touched in it copied in. The kernel gives a fault a huge page only
// where no 4 KiB page of that 2 MiB is mapped yet, and a heap writes its own bookkeeping before it
// can be advised: that 2 MiB then costs a page fault per 4 KiB, up to 512. A merge of 1000
// against 1000 rows at 1M rows took about 500 such faults in the diff threads' heap, and as many
// in the main heap when its free top's header fell in its first whole 2 MiB. The cost: the call
// is synchronous (the kernel may reclaim or compact memory to find a huge page) and makes the
// whole 2 MiB resident. A hint only: an older kernel, no huge page free, or nothing mapped there
// yet, and the page stays as it was.
inline void CollapseHugePage(uintptr_t at) {
#ifdef MADV_COLLAPSE
  ::madvise(reinterpret_cast<void*>(at), uintptr_t{2} << 20, MADV_COLLAPSE);
#else
  (void)at;
#endif
}

// Asks the kernel to back [p, p + size) with transparent huge pages when it is next touched:
// a big buffer filled once (a table's row entries, the memo's hash table) then costs a page
// fault per 2 MiB instead of per 4 KiB, and page faults are most of what filling it costs on a
// virtual machine. A hint only: without transparent huge pages (or outside Linux) nothing
// changes. Only the whole 2 MiB pages inside the range are advised. `touched`: the range was
// written to before this call (a heap's own bookkeeping), so its first whole 2 MiB is made a
// huge page now (CollapseHugePage).
inline void AdviseHugePages(void* p, size_t size, bool touched = false) {
#ifdef MADV_HUGEPAGE
  constexpr uintptr_t kHuge = uintptr_t{2} << 20;
  uintptr_t begin = (reinterpret_cast<uintptr_t>(p) + kHuge - 1) & ~(kHuge - 1);
  uintptr_t end = (reinterpret_cast<uintptr_t>(p) + size) & ~(kHuge - 1);
  if (end <= begin) return;
  ::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_HUGEPAGE);
  if (touched) CollapseHugePage(begin);
#else
  (void)p;
  (void)size;
  (void)touched;
#endif
}

// Advises huge pages for the file mapping [p, p + size): pages of it not in the page cache yet
// are then read in as 2 MiB page-cache folios where the kernel and the file system have them
// (Linux 6.18 on ext4 here), and such a folio is mapped with one 2 MiB entry (the mapping starts
// on a 2 MiB boundary: Linux places file mappings of 2 MiB or more so). Pages already cached
// stay as they are. A pack index is searched at random, and on this machine's virtual machine
// a TLB miss costs about 1.3 us: a merge of 1000 against 1000 rows at 1M rows took 8-18 ms more
// CPU (medians of 12 runs, three rounds in turns) when its 35 MB index had been dropped from the
// cache and read back without this than with it. A file written 2 MiB at a time is cached in 2
// MiB folios already (cfgit writes an index with one `write`); one the kernel drops (memory
// pressure, or a reclaimer of cold page cache: this machine pages out file pages unused for
// about a minute) comes back in 4 KiB pages unless the mapping that reads it again asks for 2
// MiB ones. The cost: a page faulted in from disk through such a mapping brings a 4 MiB window
// with it (without the advice ~128 KiB), also where the file system has no large folios (Linux
// 6.1 on ext4): a cold index pays that once per 2 MiB it is looked up in. A mapping under 2 MiB
// cannot have a 2 MiB entry, and is left as it is. A hint only: without transparent huge pages
// nothing changes.
inline void AdviseHugeFile(void* p, size_t size) {
#ifdef MADV_HUGEPAGE
  if (size >= (size_t{2} << 20)) ::madvise(p, size, MADV_HUGEPAGE);
#else
  (void)p;
  (void)size;
#endif
}

// Reserves room for `n` elements and advises huge pages for it (before the pages are touched).
template <typename T>
void ReserveHuge(std::vector<T>* v, size_t n) {
  if (v->capacity() >= n) return;
  v->reserve(n);
  AdviseHugePages(v->data(), v->capacity() * sizeof(T));
}

// Grows the process's main heap by 64 MiB ahead of need and advises huge pages for it, so the
// many small allocations of a command (libgit2's parsed trees and objects, rows, maps) fault a
// page per 2 MiB, not per 4 KiB: a merge of 1000 against 1000 rows at 1M rows touched 15 MB of
// fresh heap, 3,800 faults of about 10 us each on this machine's virtual machine. Freed memory
// stays in the heap (up to 128 MiB), so it is reused rather than given back and faulted in again;
// blocks up to 1 MiB come from the heap too (up to 4 MiB saved faults in merges, but left a first
// commit at 1M rows with 50 MB more resident). glibc only; elsewhere, or when the heap cannot
// grow by brk, nothing changes but the thresholds.
inline void PrepareHeap() {
#if defined(M_TOP_PAD) && defined(__GLIBC__)
  constexpr size_t kPad = size_t{64} << 20;
  ::mallopt(M_MMAP_THRESHOLD, 1 << 20);
  ::mallopt(M_TRIM_THRESHOLD, 2 * kPad);
  ::mallopt(M_TOP_PAD, kPad);
  // A block larger than the heap's free top (and below the mmap threshold) makes malloc extend
  // the heap by it plus the pad.
  void* probe = std::malloc(size_t{768} << 10);
  if (!probe) return;
  char* top = static_cast<char*>(::sbrk(0));
  char* start = static_cast<char*>(probe);
  if (top != reinterpret_cast<char*>(-1) && top > start &&
      static_cast<size_t>(top - start) <= 2 * kPad) {
    // malloc has written the free top's header already, maybe into the first whole 2 MiB.
    AdviseHugePages(start, static_cast<size_t>(top - start), /*touched=*/true);
  }
  std::free(probe);
#endif
}

// Whether `p`, just returned by glibc's malloc, lies in a thread's heap rather than the main one:
// glibc sets the NON_MAIN_ARENA bit (4) of the chunk's size word, which lies just before it.
inline bool InThreadHeap(const void* p) {
  size_t size_word;
  std::memcpy(&size_word,
              reinterpret_cast<const void*>(reinterpret_cast<uintptr_t>(p) - sizeof size_word),
              sizeof size_word);
  return (size_word & 4) != 0;
}

// Advises huge pages for the heap glibc gave the calling thread, as PrepareHeap does for the
// main heap, and makes its first 2 MiB, which glibc has touched already, a huge page
// (CollapseHugePage): a thread's heap is a 64 MiB region aligned to 64 MiB (glibc's
// HEAP_MAX_SIZE on 64-bit), usable at once since PrepareHeap's M_TOP_PAD is that large. A merge's
// second diff thread faulted 1,200 fresh 4 KiB pages of it (glibc's own glibc.malloc.hugetlb=1
// tunable does the same advice, but only when set before the process starts). Call it first
// thing in a long-lived worker thread that allocates much. A hint only: on a thread sharing the
// main heap, or outside glibc, nothing is done.
inline void PrepareThreadHeap() {
#if defined(M_TOP_PAD) && defined(__GLIBC__) && defined(MADV_HUGEPAGE) && \
    UINTPTR_MAX > 0xffffffffu &&                                          \
    !defined(__SANITIZE_ADDRESS__)  // ASan's allocator is not glibc's
  constexpr uintptr_t kHeap = uintptr_t{64} << 20;
  void* probe = std::malloc(64);
  if (!probe) return;
  char* brk = static_cast<char*>(::sbrk(0));
  if (InThreadHeap(probe) && brk != reinterpret_cast<char*>(-1) &&
      static_cast<char*>(probe) >= brk) {
    uintptr_t heap = reinterpret_cast<uintptr_t>(probe) & ~(kHeap - 1);
    // The heap's header and first chunks are there already.
    AdviseHugePages(reinterpret_cast<void*>(heap), kHeap, /*touched=*/true);
  }
  std::free(probe);
#endif
}

}  // namespace cfgit
