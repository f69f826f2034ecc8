// Large buffers and the kernel: asking for huge pages where the machine offers them on request.
// Included only by store/*.cc.
#pragma once

#include <sys/mman.h>

#include <cstddef>
#include <cstdint>
#include <vector>

namespace cfgit {

// Asks the kernel to back [p, p + size) with transparent huge pages when it is next touched:
// a big buffer filled once (a table's row entries, the memo's hash table) then costs a page
// fault per 2 MiB instead of per 4 KiB, and page faults are most of what filling it costs on a
// virtual machine. A hint only: without transparent huge pages (or outside Linux) nothing
// changes. Only the whole 2 MiB pages inside the range are advised.
inline void AdviseHugePages(void* p, size_t size) {
#ifdef MADV_HUGEPAGE
  constexpr uintptr_t kHuge = uintptr_t{2} << 20;
  uintptr_t begin = (reinterpret_cast<uintptr_t>(p) + kHuge - 1) & ~(kHuge - 1);
  uintptr_t end = (reinterpret_cast<uintptr_t>(p) + size) & ~(kHuge - 1);
  if (end > begin) ::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_HUGEPAGE);
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

}  // namespace cfgit
