// The Git store: snapshot trees, packs, refs, locking, tree diffs. Checked with stock git too.
#include "store/store.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <gssapi/gssapi.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <thread>

#include "store/internal/files.h"
#include "store/internal/fingerprints.h"
#include "store/internal/git.h"
#include "store/internal/gssapi.h"
#include "store/internal/memory.h"
#include "store/internal/pack_reader.h"
#include "store/internal/pack_writer.h"
#include "store/internal/rows_diffs.h"
#include "tests/support/support.h"

using cfgit::Code;
using cfgit::Oid;
using cfgit::Row;
using cfgit::Store;
using cfgit::TableSchema;
using cfgit::Value;
using cfgit::test::Shell;
using cfgit::test::TempDir;

namespace {

TableSchema Table(const std::string& name, std::vector<std::string> key = {"id"}) {
  TableSchema s;
  s.name = name;
  s.columns = {{"id", "INTEGER", true}, {"name", "TEXT"}};
  s.primary_key = {"id"};
  s.key = std::move(key);
  return s;
}

std::unique_ptr<Store> NewStore(const TempDir& dir) {
  auto store = Store::Init(dir / ".cfgit");
  REQUIRE(store.ok());
  return std::move(store).value();
}

// Writes a one-table snapshot; with `commit`, also a commit, so that its objects are stored.
Oid WriteTree(Store& store, const std::vector<Row>& rows, const TableSchema& schema = Table("t"),
              bool commit = true) {
  auto writer = store.NewSnapshot();
  REQUIRE(writer.ok());
  REQUIRE((*writer)->BeginTable(schema).ok());
  for (const Row& r : rows) REQUIRE((*writer)->AddRow(r).ok());
  REQUIRE((*writer)->EndTable().ok());
  auto tree = (*writer)->FinishTree("sqlite");
  REQUIRE(tree.ok());
  if (commit) REQUIRE((*writer)->WriteCommit({}, "snapshot", {"T", "t@x", 1, 0}).ok());
  return tree.value();
}

Oid Commit(Store& store, const std::vector<Row>& rows, std::vector<Oid> parents = {}) {
  auto writer = store.NewSnapshot();
  REQUIRE(writer.ok());
  REQUIRE((*writer)->BeginTable(Table("t")).ok());
  for (const Row& r : rows) REQUIRE((*writer)->AddRow(r).ok());
  REQUIRE((*writer)->EndTable().ok());
  REQUIRE((*writer)->FinishTree("sqlite").ok());
  cfgit::Signature sig{"T", "t@example.com", 1700000000, 0};
  auto commit = (*writer)->WriteCommit(parents, "snapshot", sig);
  INFO(commit.status().message());
  REQUIRE(commit.ok());
  return commit.value();
}

Row R(int64_t id, const char* name) { return {Value::Integer(id), Value::Text(name)}; }
// `size` printable characters that deflate does not shrink much, from the xorshift state `x`.
std::string RandomText(size_t size, uint64_t* x) {
  std::string text;
  while (text.size() < size) {
    *x ^= *x << 13, *x ^= *x >> 7, *x ^= *x << 17;
    text.push_back(static_cast<char>('!' + *x % 90));
  }
  return text;
}
// Rows 0..n-1 named "row <i>": with n = 300, a 256-entry fan-out tree of several KiB.
std::vector<Row> NumberedRows(int n) {
  std::vector<Row> rows;
  for (int i = 0; i < n; ++i) rows.push_back(R(i, ("row " + std::to_string(i)).c_str()));
  return rows;
}

// Reads each of `rows` (of table "t", by id) from `commit`: every one is there, as given.
void CheckRows(Store& store, const Oid& commit, const std::vector<Row>& rows) {
  auto info = store.ReadCommit(commit);
  INFO("commit " << commit.Short() << ": " << info.status().message());
  REQUIRE(info.ok());
  for (const Row& expected : rows) {
    auto row = store.ReadRow(info->tree, Table("t"), {expected[0]});
    INFO("row " << expected[0].integer());
    REQUIRE(row.ok());
    REQUIRE(row->has_value());
    CHECK((**row)[1] == expected[1]);
  }
}

size_t LooseObjects(const TempDir& dir) {
  size_t n = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir / ".cfgit/objects")) {
    std::string p = e.path().string();
    if (e.is_regular_file() && p.find("/pack/") == std::string::npos &&
        p.find("/info/") == std::string::npos) {
      ++n;
    }
  }
  return n;
}

// How many objects `git rev-list --objects <revs>` lists in the store: stock git walks them, so
// an object missing from the store fails the check (and gives -1).
int ReachableObjects(const TempDir& dir, const std::string& revs) {
  auto listed = Shell(
      dir.path(), "git --git-dir=.cfgit rev-list --objects " + revs + " >listed && wc -l <listed");
  INFO(listed.err);
  CHECK(listed.exit_code == 0);
  return listed.exit_code == 0 ? std::stoi(listed.out) : -1;
}

// How many objects each pack of the store holds, fewest first (stock git reads the indexes).
std::vector<int> PackObjectCounts(const TempDir& dir) {
  auto counts = Shell(dir.path(),
                      "for i in .cfgit/objects/pack/*.idx; do git --git-dir=.cfgit show-index < "
                      "$i | wc -l; done | sort -n");
  REQUIRE(counts.exit_code == 0);
  std::istringstream in(counts.out);
  std::vector<int> out;
  for (int n; in >> n;) out.push_back(n);
  REQUIRE_FALSE(out.empty());
  return out;
}

}  // namespace

TEST_CASE("the same content gives the same tree whatever the row order", "[store]") {
  TempDir dir;
  auto store = NewStore(dir);
  Oid a = WriteTree(*store, {R(1, "a"), R(2, "b"), R(3, "c")});
  Oid b = WriteTree(*store, {R(3, "c"), R(1, "a"), R(2, "b")});
  Oid c = WriteTree(*store, {R(1, "a"), R(2, "b"), R(3, "x")});
  CHECK(a == b);
  CHECK_FALSE(a == c);
}

TEST_CASE("the tree id does not depend on the store or its history", "[store]") {
  TempDir d1, d2;
  auto s1 = NewStore(d1), s2 = NewStore(d2);
  Commit(*s1, {R(1, "x")});
  Oid a = WriteTree(*s1, {R(1, "a"), R(2, "b")});
  Oid b = WriteTree(*s2, {R(2, "b"), R(1, "a")});
  CHECK(a == b);
}

TEST_CASE("commits land in packs that stock git reads", "[store][git]") {
  TempDir dir;
  auto store = NewStore(dir);
  Oid first = Commit(*store, {R(1, "a"), R(2, "b")});
  REQUIRE(store->UpdateRef("refs/heads/dev", first, std::nullopt, "commit").ok());
  Oid second = Commit(*store, {R(1, "a"), R(2, "B"), R(3, "c")}, {first});
  REQUIRE(store->UpdateRef("refs/heads/dev", second, first, "commit").ok());
  REQUIRE(store->AdoptHeadIfUnborn("dev").ok());
  CHECK(LooseObjects(dir) == 0);

  auto fsck = Shell(dir.path(), "git --git-dir=.cfgit fsck --strict --no-dangling");
  INFO(fsck.err);
  CHECK(fsck.exit_code == 0);
  auto log = Shell(dir.path(), "git --git-dir=.cfgit log --format=%H dev");
  CHECK(log.out == second.Hex() + "\n" + first.Hex() + "\n");
  auto ls = Shell(dir.path(), "git --git-dir=.cfgit ls-tree -r --name-only dev");
  CHECK_THAT(ls.out, Catch::Contains("snapshot.yaml"));
  CHECK_THAT(ls.out, Catch::Contains("tables/t/schema.yaml"));
  CHECK_THAT(ls.out,
             Catch::Matches("(.|\n)*tables/t/rows/[0-9a-f]{2}/[0-9a-f]{2}/3\\.yaml(.|\n)*"));
  auto head = Shell(dir.path(), "git --git-dir=.cfgit rev-parse HEAD");
  CHECK(head.out == second.Hex() + "\n");

  auto info = store->ReadCommit(second);
  REQUIRE(info.ok());
  CHECK(info->parents == std::vector<Oid>{first});
  CHECK(info->message == "snapshot\n");
  CHECK(info->author.time == 1700000000);
}

// A mapping of this process, from /proc/self/smaps: where it starts and ends, the file it maps
// ("" for none), how much of it huge pages back (anonymous ones; 2 MiB entries of a file's page
// cache), and its VmFlags line.
struct Mapping {
  uintptr_t from = 0, to = 0;
  std::string file;
  size_t huge_kb = 0, file_pmd_kb = 0;
  std::string flags;
};
std::vector<Mapping> Mappings() {
  std::ifstream smaps("/proc/self/smaps");
  // start-end perms offset device inode [file]
  static const std::regex kRange("^([0-9a-f]+)-([0-9a-f]+) \\S+ \\S+ \\S+ \\S+ *(.*)$");
  std::smatch m;
  std::vector<Mapping> all;
  for (std::string line; std::getline(smaps, line);) {
    if (std::regex_match(line, m, kRange)) {
      all.push_back({std::stoull(m[1], nullptr, 16), std::stoull(m[2], nullptr, 16), m[3]});
    } else if (all.empty()) {
      continue;
    } else if (line.rfind("AnonHugePages:", 0) == 0) {
      all.back().huge_kb = std::stoull(line.substr(line.find(':') + 1));
    } else if (line.rfind("FilePmdMapped:", 0) == 0) {
      all.back().file_pmd_kb = std::stoull(line.substr(line.find(':') + 1));
    } else if (line.rfind("VmFlags:", 0) == 0) {
      all.back().flags = line + " ";
    }
  }
  return all;
}

// The mapping holding `at` (from 0 and no flags when none holds it).
Mapping MappingAt(uintptr_t at) {
  for (const Mapping& m : Mappings()) {
    if (m.from <= at && at < m.to) return m;
  }
  return {};
}

// The mappings of the file `path`, together: the flags of each, the 2 MiB entries of all (no
// flags when it is not mapped).
Mapping MappingOf(const std::string& path) {
  const std::string file = std::filesystem::canonical(path).string();
  Mapping together;
  for (const Mapping& m : Mappings()) {
    if (m.file != file) continue;
    together.flags += m.flags;
    together.file_pmd_kb += m.file_pmd_kb;
  }
  return together;
}

// Whether the kernel makes a 2 MiB page with a 4 KiB page touched in it (before it was advised
// huge pages, so the touch faulted a 4 KiB page) a huge page on request.
bool KernelCollapses() {
#ifdef MADV_COLLAPSE
  constexpr size_t kHuge = size_t{2} << 20;
  void* area =
      ::mmap(nullptr, 2 * kHuge, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (area == MAP_FAILED) return false;
  auto* page =
      reinterpret_cast<char*>((reinterpret_cast<uintptr_t>(area) + kHuge - 1) & ~(kHuge - 1));
  *page = 1;
  bool collapsed = ::madvise(page, kHuge, MADV_HUGEPAGE) == 0 &&
                   ::madvise(page, kHuge, MADV_COLLAPSE) == 0 &&
                   MappingAt(reinterpret_cast<uintptr_t>(page)).huge_kb >= 2048;
  ::munmap(area, 2 * kHuge);
  return collapsed;
#else
  return false;
#endif
}

TEST_CASE("libgit2 starts without parsing certificate authorities - later loads reach mbedTLS",
          "[store][remote]") {
  TempDir dir;
  auto store = NewStore(dir);  // libgit2 has started (linked with mbedTLS: CMakeLists.txt)
  const std::string bundle = "/etc/ssl/certs/ca-certificates.crt";
  const bool has_bundle = std::filesystem::is_regular_file(bundle);
  // libgit2 asks for the system's bundle once, where there is one, and is let off.
  CHECK(cfgit::git::CertificateLoadsDeferred() == (has_bundle ? 1u : 0u));

  // After the start every load is mbedTLS's own: a file that holds no certificate is refused
  // (a skipped parse would have succeeded), and the system's bundle loads.
  const std::string junk = dir / "junk.pem";
  cfgit::test::WriteFile(junk, "not a certificate\n");
  CHECK(git_libgit2_opts(GIT_OPT_SET_SSL_CERT_LOCATIONS, junk.c_str(), nullptr) < 0);
  REQUIRE(git_error_last() != nullptr);
  CHECK_THAT(git_error_last()->message, Catch::Contains("failed to load CA certificates"));
  if (has_bundle) {
    CHECK(git_libgit2_opts(GIT_OPT_SET_SSL_CERT_LOCATIONS, bundle.c_str(), nullptr) == 0);
  } else {
    WARN("no " + bundle + " here: the system's bundle is not loaded");
  }
  // What cfgit asks for before it connects: where that cannot be loaded (a junk file, a missing
  // directory, nothing), what libgit2's start was let off loading is loaded instead, as before.
  CHECK(cfgit::git::LoadCertificateAuthorities(junk.c_str(), nullptr) == has_bundle);
  CHECK(cfgit::git::LoadCertificateAuthorities(nullptr, (dir / "missing").c_str()) == has_bundle);
  CHECK(cfgit::git::LoadCertificateAuthorities(nullptr, nullptr) == has_bundle);
  if (has_bundle) CHECK(cfgit::git::LoadCertificateAuthorities(bundle.c_str(), nullptr));
  CHECK(cfgit::git::CertificateLoadsDeferred() == (has_bundle ? 1u : 0u));
}

TEST_CASE("GSSAPI is opened at its first call and the calls libgit2 makes reach MIT Kerberos",
          "[store][remote]") {
  TempDir dir;
  auto store = NewStore(dir);  // libgit2 has started: it calls GSSAPI only for Negotiate
  CHECK(::dlopen(cfgit::kGssapiLibrary, RTLD_NOW | RTLD_NOLOAD) == nullptr);

  OM_uint32 minor = 0;
  gss_OID_set mechs = GSS_C_NO_OID_SET;
  REQUIRE(gss_indicate_mechs(&minor, &mechs) == GSS_S_COMPLETE);
  void* loaded = ::dlopen(cfgit::kGssapiLibrary, RTLD_NOW | RTLD_NOLOAD);
  REQUIRE(loaded != nullptr);
  // cfgit's GSS_C_NT_HOSTBASED_SERVICE, which libgit2 passes to gss_import_name, is the library's.
  auto* theirs = static_cast<gss_OID*>(::dlsym(loaded, "GSS_C_NT_HOSTBASED_SERVICE"));
  REQUIRE(theirs != nullptr);
  CHECK(GSS_C_NT_HOSTBASED_SERVICE != *theirs);
  CHECK(std::string(static_cast<const char*>(GSS_C_NT_HOSTBASED_SERVICE->elements),
                    GSS_C_NT_HOSTBASED_SERVICE->length) ==
        std::string(static_cast<const char*>((*theirs)->elements), (*theirs)->length));
  ::dlclose(loaded);  // the reference RTLD_NOLOAD took
  REQUIRE(mechs != GSS_C_NO_OID_SET);
  const std::string krb5("\x2a\x86\x48\x86\xf7\x12\x01\x02\x02", 9);  // libgit2's mechanism
  bool has_krb5 = false;
  for (size_t i = 0; i < mechs->count; ++i) {
    const gss_OID_desc& m = mechs->elements[i];
    has_krb5 |= std::string(static_cast<const char*>(m.elements), m.length) == krb5;
  }
  CHECK(has_krb5);
  CHECK(gss_release_oid_set(&minor, &mechs) == GSS_S_COMPLETE);
  CHECK(mechs == GSS_C_NO_OID_SET);

  std::string service = "HTTP@cfgit.example";
  gss_buffer_desc text{service.size(), service.data()};
  gss_name_t name = GSS_C_NO_NAME;
  CHECK(gss_import_name(&minor, &text, GSS_C_NT_HOSTBASED_SERVICE, &name) == GSS_S_COMPLETE);
  CHECK(name != GSS_C_NO_NAME);
  CHECK(gss_release_name(&minor, &name) == GSS_S_COMPLETE);
  CHECK(name == GSS_C_NO_NAME);

  // A security context for a service, as libgit2 starts Negotiate: with no Kerberos
  // configuration and no credentials cache, the library refuses it (a Kerberos error in `minor`).
  TempDir kerberos;
  cfgit::test::WriteFile(kerberos / "krb5.conf", "");
  const std::string config = kerberos / "krb5.conf", cache = "FILE:" + kerberos / "no-cache";
  ::setenv("KRB5_CONFIG", config.c_str(), 1);
  ::setenv("KRB5CCNAME", cache.c_str(), 1);
  REQUIRE(gss_import_name(&minor, &text, GSS_C_NT_HOSTBASED_SERVICE, &name) == GSS_S_COMPLETE);
  gss_ctx_id_t security = GSS_C_NO_CONTEXT;
  gss_buffer_desc token = GSS_C_EMPTY_BUFFER;
  minor = 0;
  OM_uint32 started = gss_init_sec_context(&minor, GSS_C_NO_CREDENTIAL, &security, name,
                                           GSS_C_NO_OID, 0, 0, GSS_C_NO_CHANNEL_BINDINGS,
                                           GSS_C_NO_BUFFER, nullptr, &token, nullptr, nullptr);
  CHECK(GSS_ERROR(started));
  CHECK(started != GSS_S_UNAVAILABLE);
  CHECK(minor != 0);
  CHECK(gss_delete_sec_context(&minor, &security, GSS_C_NO_BUFFER) != GSS_S_UNAVAILABLE);
  CHECK(gss_release_name(&minor, &name) == GSS_S_COMPLETE);
  ::unsetenv("KRB5_CONFIG");
  ::unsetenv("KRB5CCNAME");

  // A status as text, as libgit2 reports a failure, and its buffer given back.
  gss_buffer_desc message = GSS_C_EMPTY_BUFFER;
  OM_uint32 context = 0;
  REQUIRE(gss_display_status(&minor, GSS_S_BAD_NAMETYPE, GSS_C_GSS_CODE, GSS_C_NO_OID, &context,
                             &message) == GSS_S_COMPLETE);
  CHECK(std::string(static_cast<const char*>(message.value), message.length).size() > 5);
  CHECK(gss_release_buffer(&minor, &message) == GSS_S_COMPLETE);
  CHECK(message.value == nullptr);

  // A library that cannot be opened is named, with the package that has it; that reason is then
  // the text of every status, in a buffer of cfgit's (which ASan would report if it leaked).
  cfgit::Result<void*> missing = cfgit::OpenGssapi("libcfgit-no-such-gssapi.so.0");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.status().code() == Code::kInvalid);
  const std::string why = missing.status().message();
  CHECK_THAT(
      why, Catch::Contains("libcfgit-no-such-gssapi.so.0") && Catch::Contains("libgssapi-krb5-2"));
  minor = 7;
  OM_uint32 more = 3;
  gss_buffer_desc reason = GSS_C_EMPTY_BUFFER;
  REQUIRE(cfgit::DescribeUnavailable(why, &minor, &more, &reason) == GSS_S_COMPLETE);
  CHECK(std::string(static_cast<const char*>(reason.value), reason.length) == why);
  CHECK(minor == 0);
  CHECK(more == 0);  // no second message
  CHECK(cfgit::ReleaseUnavailableText(&minor, &reason) == GSS_S_COMPLETE);
  CHECK(reason.value == nullptr);
  CHECK(reason.length == 0);
  CHECK(cfgit::DescribeUnavailable(why, &minor, &more, nullptr) == GSS_S_CALL_INACCESSIBLE_WRITE);
}

TEST_CASE("a worker thread's heap is advised huge pages", "[store][memory]") {
#if defined(__SANITIZE_ADDRESS__)
  WARN("AddressSanitizer's allocator is not glibc's: nothing to check");
#else
  if (!std::filesystem::exists("/sys/kernel/mm/transparent_hugepage/enabled")) {
    WARN("no transparent huge pages on this machine: nothing to check");
    return;
  }
  cfgit::PrepareHeap();  // as opening a store does
  // Asked before the thread starts: a kernel that can (and a huge page free just now).
  bool collapses = KernelCollapses();
  Mapping heap;
  bool own_heap = false;
  std::thread([&] {
    cfgit::PrepareThreadHeap();
    void* p = std::malloc(4096);
    // glibc's layout, which PrepareThreadHeap relies on: the chunk is of a thread's heap (the
    // NON_MAIN_ARENA bit of its size word), above the main heap, in a mapping that starts on a
    // 64 MiB boundary (glibc reserves each thread heap so aligned).
    own_heap = cfgit::InThreadHeap(p) && p >= ::sbrk(0);
    heap = MappingAt(reinterpret_cast<uintptr_t>(p));
    std::free(p);
  }).join();
  REQUIRE(own_heap);
  CHECK(heap.from % (uintptr_t{64} << 20) == 0);
  INFO(heap.flags);
  CHECK_THAT(heap.flags + " ", Catch::Contains(" hg "));
  // Its first 2 MiB, where glibc wrote the heap's header before it could be advised, is made a
  // huge page too (MADV_COLLAPSE), where the kernel can: else every 4 KiB of it faults alone.
  // Nothing else of the heap is touched here, so that is the huge page the mapping has. (Run on
  // its own, as ctest runs it: a thread before it in the same process may leave its heap, huge
  // pages and all, to this one.)
  if (!collapses) {
    WARN("this kernel cannot make touched pages huge (MADV_COLLAPSE): nothing more to check");
    return;
  }
  CHECK(heap.huge_kb >= 2048);
#endif
}

// Writes `path` out and has the kernel drop it from the page cache, as memory pressure (or a
// reclaimer of cold pages) would; false where a page of it stayed (tmpfs keeps them all).
bool DropFromCache(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  struct stat st {};
  bool dropped = ::fstat(fd, &st) == 0 && st.st_size > 0 && ::fdatasync(fd) == 0 &&
                 ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED) == 0;
  const size_t size = static_cast<size_t>(st.st_size);
  void* m = dropped ? ::mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0) : MAP_FAILED;
  ::close(fd);
  if (m == MAP_FAILED) return false;
  const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  std::vector<unsigned char> resident((size + page - 1) / page);
  dropped = ::mincore(m, size, resident.data()) == 0 &&
            std::none_of(resident.begin(), resident.end(), [](unsigned char c) { return c & 1; });
  ::munmap(m, size);
  return dropped;
}

// What this kernel does with a 4 MiB file written 2 MiB at a time, mapped and advised huge pages
// (AdviseHugeFile), then populated: whether the advice takes (`advised`: the mapping's VmFlags
// say "hg"; not without transparent huge pages), and whether the populated mapping has 2 MiB
// entries (`huge`): as written, or (`read_back`) after the file was dropped from the page cache.
// Linux 6.18 on ext4 gives 2 MiB entries both ways; an older kernel or another file system may
// give neither, and so may this one, now and then, when no 2 MiB of memory is free.
struct HugeFiles {
  bool advised = false, huge = false;
};
enum class Cached { kAsWritten, kReadBack };
HugeFiles ProbeHugeFiles(const TempDir& dir, Cached cached) {
  const std::string path =
      dir / (cached == Cached::kReadBack ? "probe-read-back" : "probe-as-written");
  constexpr size_t kSize = size_t{4} << 20;
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    const std::string half(kSize / 2, 'x');
    out.write(half.data(), static_cast<std::streamsize>(half.size())).flush();
    out.write(half.data(), static_cast<std::streamsize>(half.size())).flush();
    if (!out) return {};
  }
  if (cached == Cached::kReadBack && !DropFromCache(path)) return {};
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return {};
  void* m = ::mmap(nullptr, kSize, PROT_READ, MAP_PRIVATE, fd, 0);
  ::close(fd);
  if (m == MAP_FAILED) return {};
  cfgit::AdviseHugeFile(m, kSize);
  ::madvise(m, kSize, MADV_POPULATE_READ);
  Mapping probe = MappingOf(path);
  ::munmap(m, kSize);
  return {probe.flags.find(" hg ") != std::string::npos, probe.file_pmd_kb >= 2048};
}

TEST_CASE("pack indexes and fingerprint memos are mapped in huge pages also when read back",
          "[store][memory]") {
  TempDir dir;
  auto store = NewStore(dir);
  const std::string objects = dir / ".cfgit/objects";
  if (!ProbeHugeFiles(dir, Cached::kAsWritten).advised) {
    WARN("this kernel takes no huge-page advice for a file mapping: nothing to check");
    return;
  }
  // A 2 MiB mapping missing: a failure only if the kernel gives one to the probe just after.
  auto check_huge = [&](const std::string& path, Cached cached) {
    Mapping mapped = MappingOf(path);
    INFO(path << ": " << mapped.file_pmd_kb << " kB in 2 MiB entries");
    if (mapped.file_pmd_kb < 2048) CHECK_FALSE(ProbeHugeFiles(dir, cached).huge);
  };

  // A pack of 100,000 small blobs (2.8 MB, its index 2.8 MB), its index dropped from the page
  // cache, then read through the store's pack reader: 200 reads, so the index is mapped in whole
  // (64 lookups) and so is the pack.
  std::vector<std::pair<git_oid, std::string>> sample;
  std::string base;
  {
    cfgit::PackWriter writer(objects + "/pack");
    bool added = true;
    for (int i = 0; i < 100000 && added; ++i) {
      std::string data = "row " + std::to_string(i) + " of a pack of small blobs\n";
      git_oid id;
      added = git_odb_hash(&id, data.data(), data.size(), GIT_OBJECT_BLOB) == 0 &&
              writer.Add(id, GIT_OBJECT_BLOB, data).ok();
      if (i % 500 == 0) sample.emplace_back(id, data);
    }
    REQUIRE(added);
    REQUIRE(writer.Finish().ok());
    base = writer.last_pack();
  }
  REQUIRE(std::filesystem::file_size(base + ".pack") >= (size_t{2} << 20));  // big enough
  REQUIRE(std::filesystem::file_size(base + ".idx") >= (size_t{2} << 20));
  const bool idx_dropped = DropFromCache(base + ".idx");
  {
    git_repository* raw = nullptr;
    REQUIRE(git_repository_open(&raw, (dir / ".cfgit").c_str()) == 0);
    cfgit::git::Repository repo(raw);
    git_odb* odb = nullptr;
    REQUIRE(git_repository_odb(&odb, repo.get()) == 0);
    cfgit::git::Odb odb_holder(odb);
    auto reader = cfgit::AddPackReader(odb, objects);
    REQUIRE(reader.ok());
    for (const auto& [id, data] : sample) {
      cfgit::PackedBytes bytes;
      REQUIRE(cfgit::ReadPacked(*reader, id, &bytes) == 0);
      CHECK(std::string(bytes.data.get(), bytes.size) == data);
    }
    for (const char* ext : {".idx", ".pack"}) {
      Mapping mapped = MappingOf(base + ext);
      INFO(ext << ": " << mapped.flags);
      CHECK_THAT(mapped.flags, Catch::Contains(" hg "));
    }
    if (idx_dropped) check_huge(base + ".idx", Cached::kReadBack);
  }

  // A memo of 90,000 rows (4.2 MB), then the next snapshot's, which finds 60,000 of them: written
  // anew record by record (another environment's path, with a third of the records it borrowed
  // unused; a borrowed memo mostly used is copied by the kernel instead, which caches the copy in
  // whatever pages it likes), 2 MiB at a time, so cached in 2 MiB pages at once where the kernel
  // does that; dropped from the cache, read back in 2 MiB pages.
  const std::string first_path = dir / ".cfgit/cfgit/fingerprints/devb";
  const std::string memo_path = dir / ".cfgit/cfgit/fingerprints/dev";
  auto fingerprint = [](uint64_t i) { return cfgit::Fingerprint{i * 0x9E3779B97F4A7C15u, i}; };
  {
    cfgit::FingerprintMemo memo = cfgit::FingerprintMemo::Load(first_path);  // none yet
    REQUIRE(memo.row_records() == 0);
    for (uint64_t i = 0; i < 90000; ++i) {
      Oid blob;
      std::memcpy(blob.bytes.data(), &i, sizeof i);
      memo.Add(fingerprint(i), blob, "row" + std::to_string(i));
    }
    REQUIRE(memo.Save(first_path).ok());
  }
  {
    cfgit::FingerprintMemo memo = cfgit::FingerprintMemo::Load(first_path);
    size_t found = 0;
    for (uint64_t i = 0; i < 60000; ++i) found += memo.Find(fingerprint(i)) ? 1 : 0;
    REQUIRE(found == 60000);
    REQUIRE(memo.Save(memo_path).ok());
  }
  for (Cached cached : {Cached::kAsWritten, Cached::kReadBack}) {
    INFO((cached == Cached::kReadBack ? "dropped and read back" : "as written"));
    if (cached == Cached::kReadBack && !DropFromCache(memo_path)) {
      WARN("the memo stayed in the page cache: its read back is not checked");
      continue;
    }
    cfgit::FingerprintMemo memo = cfgit::FingerprintMemo::Load(memo_path);
    CHECK(memo.row_records() == 60000);
    auto hit = memo.Find(fingerprint(7));
    REQUIRE(hit.has_value());
    CHECK(hit->name == "row7");
    Mapping mapped = MappingOf(memo_path);
    INFO(mapped.flags);
    CHECK_THAT(mapped.flags, Catch::Contains(" hg "));
    check_huge(memo_path, cached);
  }
}

TEST_CASE("commit ids are reproducible with a pinned author and time", "[store]") {
  TempDir d1, d2;
  auto s1 = NewStore(d1), s2 = NewStore(d2);
  CHECK(Commit(*s1, {R(1, "a")}) == Commit(*s2, {R(1, "a")}));
}

TEST_CASE("a 100k-row snapshot is written as packs, not loose objects", "[store][scale]") {
  TempDir dir;
  auto store = NewStore(dir);
  std::vector<Row> rows;
  for (int i = 0; i < 100000; ++i) rows.push_back(R(i, "row"));
  Oid c = Commit(*store, rows);
  CHECK(LooseObjects(dir) == 0);
  auto count = Shell(dir.path(), "git --git-dir=.cfgit ls-tree -r " + c.Hex() + " | wc -l");
  CHECK(count.out == "100002\n");  // rows + schema.yaml + snapshot.yaml
  // No tree object is large: the biggest holds a few hundred entries at most.
  auto widest =
      Shell(dir.path(), "git --git-dir=.cfgit ls-tree " + c.Hex() + ":tables/t/rows | wc -l");
  CHECK(widest.out == "256\n");
}

TEST_CASE("each commit writes one pack with its index, which stock git verifies",
          "[store][git][pack]") {
  TempDir dir;
  auto store = NewStore(dir);
  std::vector<Row> rows;
  // Small rows (stored) and large ones (deflated), so both kinds of pack entry are written.
  for (int i = 0; i < 3000; ++i) {
    std::string big(static_cast<size_t>(2000 + i), static_cast<char>('a' + i % 26));
    rows.push_back(R(i, i % 3 == 0 ? big.c_str() : "small"));
  }
  Oid c = Commit(*store, rows);
  auto packs = [&](const std::string& ext) {
    size_t n = 0;
    for (const auto& e : std::filesystem::directory_iterator(dir / ".cfgit/objects/pack")) {
      if (e.path().extension() == ext) ++n;
    }
    return n;
  };
  CHECK(packs(".pack") == 1);
  CHECK(packs(".idx") == 1);
  auto verify = Shell(dir.path(), "git --git-dir=.cfgit verify-pack -v .cfgit/objects/pack/*.idx");
  INFO(verify.err);
  CHECK(verify.exit_code == 0);
  CHECK_THAT(verify.out, Catch::Contains("non delta: "));
  // Every object of the commit, a large row's bytes exactly.
  auto big = Shell(dir.path(), "git --git-dir=.cfgit cat-file -p " + c.Hex() + ":tables/t/rows/" +
                                   "$(git --git-dir=.cfgit ls-tree -r --name-only " + c.Hex() +
                                   " | grep '/3.yaml$' | sed 's|tables/t/rows/||')");
  CHECK(big.out == cfgit::EncodeRow({"id", "name"}, rows[3]));
  const int count = ReachableObjects(dir, c.Hex());
  auto in_pack = Shell(dir.path(),
                       "git --git-dir=.cfgit verify-pack -v .cfgit/objects/pack/*.idx | "
                       "grep -cE '^[0-9a-f]{40} (blob|tree|commit)'");
  CHECK(count == std::stoi(in_pack.out));

  // A second commit adds one pack holding only what is new; no temporary file is left.
  rows[1] = R(1, "changed");
  Commit(*store, rows);
  CHECK(packs(".pack") == 2);
  for (const auto& e : std::filesystem::directory_iterator(dir / ".cfgit/objects/pack")) {
    CHECK(e.path().filename().string().rfind("tmp_", 0) == std::string::npos);
  }
  // The changed row's blob; its leaf, middle, rows, table, tables and root trees; the commit.
  CHECK(PackObjectCounts(dir).front() == 8);
}

TEST_CASE("small packs are consolidated, losing no object, while stores keep reading",
          "[store][git][pack]") {
  TempDir dir;
  auto store = NewStore(dir);
  auto pack_count = [&] {
    size_t n = 0;
    for (const auto& e : std::filesystem::directory_iterator(dir / ".cfgit/objects/pack")) {
      if (e.path().extension() == ".pack") ++n;
    }
    return n;
  };
  std::vector<Row> rows;
  for (int i = 0; i < 2000; ++i) rows.push_back(R(i, "v"));
  std::vector<Oid> commits = {Commit(*store, rows)};  // the big first pack
  // A store opened now that has read a row of the first commit (its pack is open) ...
  auto early = Store::Open(dir / ".cfgit");
  REQUIRE(early.ok());
  auto first_tables = (*early)->ListTables((*early)->ReadCommit(commits[0])->tree);
  REQUIRE(first_tables.ok());
  size_t most = 0;
  for (int c = 1; c <= 20; ++c) {  // 20 commits of one changed row: one small pack each
    rows[static_cast<size_t>(c)] = R(c, ("change " + std::to_string(c)).c_str());
    commits.push_back(Commit(*store, rows, {commits.back()}));
    most = std::max(most, pack_count());
  }
  // Never more than the limit (8) and the one just written; the small ones were merged.
  CHECK(most <= 9);
  CHECK(pack_count() < 9);
  auto fsck = Shell(dir.path(), "git --git-dir=.cfgit fsck --strict --no-dangling");
  INFO(fsck.err);
  CHECK(fsck.exit_code == 0);
  const std::string all = std::to_string(ReachableObjects(dir, commits.back().Hex())) + "\n";
  auto entries = Shell(dir.path(),
                       "for i in .cfgit/objects/pack/*.idx; do git --git-dir=.cfgit show-index "
                       "< $i; done | cut -d' ' -f2 | sort >ids && sort -u ids >unique && "
                       "wc -l <ids && wc -l <unique");
  // Every object once, none lost: the commits after a consolidation found the merged objects in
  // the new pack and wrote none of them again.
  CHECK(entries.out == all + all);
  for (const auto& e : std::filesystem::directory_iterator(dir / ".cfgit/objects/pack")) {
    CHECK(e.path().filename().string().rfind("tmp_", 0) == std::string::npos);
  }
  // Both stores read every commit's rows, the early one from packs deleted since it opened them.
  for (Store* s : {store.get(), early->get()}) {
    for (size_t c = 0; c < commits.size(); ++c) {
      auto info = s->ReadCommit(commits[c]);
      REQUIRE(info.ok());
      auto row = s->ReadRow(info->tree, Table("t"), {Value::Integer(static_cast<int64_t>(c))});
      REQUIRE(row.ok());
      REQUIRE(row->has_value());
      CHECK((**row)[1] == Value::Text(c == 0 ? "v" : "change " + std::to_string(c)));
    }
  }
}

TEST_CASE("the store reads its packs itself, and leaves deltas and damage to libgit2",
          "[store][git][pack]") {
  // 3000 rows (256-entry fan-out trees, several KiB; some 25 ids per first byte in the index,
  // found by guessing where they are), one of 2 MB that does not compress (read in pieces), then
  // a second commit changing a few rows: two packs, each asked for the other's ids too. Both are
  // small enough for a filter, built at a pack's 64th lookup: the first pack's is, and most reads
  // below go through it.
  TempDir dir;
  auto store = NewStore(dir);
  std::vector<Row> rows = NumberedRows(3000);
  uint64_t x = 88172645463325252u;
  const std::string noise = RandomText(2u << 20, &x);
  rows[7] = R(7, noise.c_str());
  const std::vector<Row> first_rows = rows;
  Oid first = Commit(*store, rows);
  for (int i : {1, 2, 150}) rows[static_cast<size_t>(i)] = R(i, "changed");
  Oid second = Commit(*store, rows, {first});
  const size_t filters_before = cfgit::PackFiltersBuilt(), mapped_before = cfgit::PacksMapped();
  auto check_all = [&](Store& s, const char* when) {
    INFO(when);
    CheckRows(s, first, first_rows);
    CheckRows(s, second, rows);
  };

  // Opened, then the pack files moved away: every object still reads, so none came through
  // libgit2's packs (which open a pack at its first read).
  {
    auto reader = Store::Open(dir / ".cfgit");
    REQUIRE(reader.ok());
    auto moved = Shell(dir.path(), "mkdir away && mv .cfgit/objects/pack/* away/");
    REQUIRE(moved.exit_code == 0);
    check_all(**reader, "pack files gone");
    CHECK(cfgit::PackFiltersBuilt() > filters_before);  // the first pack's reads went through one
    CHECK(cfgit::PacksMapped() > mapped_before);        // and, after 64 reads, from memory
    REQUIRE(Shell(dir.path(), "mv away/* .cfgit/objects/pack/").exit_code == 0);
  }

  // Repacked by git with deltas: those pass on to libgit2, and everything reads the same.
  auto repack =
      Shell(dir.path(), "git --git-dir=.cfgit update-ref refs/heads/t " + second.Hex() +
                            " && git --git-dir=.cfgit repack -a -d -f -q --window=50 --depth=50 && "
                            "git --git-dir=.cfgit verify-pack -v .cfgit/objects/pack/*.idx | "
                            "awk 'NF >= 7 && $2 != \"commit\"' | wc -l");
  INFO(repack.err);
  REQUIRE(repack.exit_code == 0);
  CHECK(std::stoi(repack.out) > 0);  // objects stored as deltas
  auto repacked = Store::Open(dir / ".cfgit");
  REQUIRE(repacked.ok());
  check_all(**repacked, "after git repack");

  // A byte of the 2 MB row's stored data changed: the read fails, it never returns other data.
  // The pack is read from memory by then (mapped after 64 reads), and read again by libgit2.
  TempDir other;
  auto damaged = NewStore(other);
  std::vector<Row> beside = NumberedRows(100);
  beside[1] = R(1, noise.c_str());
  Oid one = Commit(*damaged, beside);
  auto at =
      Shell(other.path(), "id=$(git --git-dir=.cfgit ls-tree -r -l " + one.Hex() +
                              " | sort -k4 -n | tail -1 | cut -f1 | cut -d' ' -f3) && "
                              "cat .cfgit/objects/pack/*.idx | git --git-dir=.cfgit show-index | "
                              "grep $id | cut -d' ' -f1");
  REQUIRE(at.exit_code == 0);
  REQUIRE_FALSE(at.out.empty());
  std::string pack = Shell(other.path(), "ls .cfgit/objects/pack/*.pack").out;
  pack.pop_back();
  auto flip = Shell(other.path(), "chmod u+w " + pack + " && printf '~' | dd of=" + pack +
                                      " bs=1 seek=$((" + at.out.substr(0, at.out.size() - 1) +
                                      " + 1000000)) conv=notrunc status=none");
  REQUIRE(flip.exit_code == 0);
  damaged.reset();
  {
    auto reopened = Store::Open(other / ".cfgit");
    REQUIRE(reopened.ok());
    auto info = (*reopened)->ReadCommit(one);
    REQUIRE(info.ok());
    const size_t mapped = cfgit::PacksMapped();
    for (int64_t i = 2; i < 100; ++i) {
      auto row = (*reopened)->ReadRow(info->tree, Table("t"), {Value::Integer(i)});
      REQUIRE(row.ok());
      REQUIRE(row->has_value());
      CHECK((**row)[1] == beside[static_cast<size_t>(i)][1]);
    }
    CHECK(cfgit::PacksMapped() > mapped);
    auto row = (*reopened)->ReadRow(info->tree, Table("t"), {Value::Integer(1)});
    CHECK_FALSE(row.ok());
  }

  // An index whose fan-out is not ascending (its 17th count made huge) is refused by the reader
  // and by libgit2: reading fails, nothing crashes. (No store has the pack open: libgit2 shares
  // an open pack, its index checked once, among the stores of a process.)
  std::string idx = Shell(other.path(), "ls .cfgit/objects/pack/*.idx").out;
  idx.pop_back();
  auto bad_fanout =
      Shell(other.path(), "chmod u+w " + idx + " && printf '\\377\\377\\377\\377' | dd of=" + idx +
                              " bs=1 seek=$((8 + 4 * 16)) conv=notrunc status=none");
  REQUIRE(bad_fanout.exit_code == 0);
  auto refused = Store::Open(other / ".cfgit");
  REQUIRE(refused.ok());
  CHECK_FALSE((*refused)->ReadCommit(one).ok());
}

TEST_CASE("an index with half its ids out of order reads the rest and stays within its bounds",
          "[store][pack]") {
  // The index's entries of ids from 80 up reversed, each id with its own CRC and offset, the
  // fan-out left as it was: such an id is then looked for among ids of other first bytes, where
  // the keys that bound the search's guesses no longer hold (the clamp keeps each guess inside
  // the index; without it a guess lands gigabytes away). Ids below 80 still read as before; of
  // the others most are not found, and one that is reads as itself. Nothing returns another
  // object's bytes, crashes or reads outside the index (the debug suite runs under
  // AddressSanitizer).
  TempDir dir;
  const std::vector<Row> rows = NumberedRows(3000);  // some 24 objects per first byte
  std::map<std::string, std::string> blobs;          // id → bytes, read before the damage
  {
    auto store = NewStore(dir);
    Commit(*store, rows);
    auto listed = Shell(dir.path(),
                        "git --git-dir=.cfgit cat-file --batch-all-objects "
                        "--batch-check='%(objectname) %(objecttype)' | grep ' blob$' | cut -c1-40");
    REQUIRE(listed.exit_code == 0);
    std::istringstream ids(listed.out);
    for (std::string hex; std::getline(ids, hex);) {
      auto blob = store->ReadBlob(Oid::FromHex(hex).value());
      REQUIRE(blob.ok());
      blobs[hex] = *blob;
    }
  }
  REQUIRE(blobs.size() > 3000);
  std::vector<std::string> indexes;
  for (const auto& e : std::filesystem::directory_iterator(dir / ".cfgit/objects/pack")) {
    if (e.path().extension() == ".idx") indexes.push_back(e.path().string());
  }
  REQUIRE(indexes.size() == 1);  // one pack
  const std::string& idx = indexes[0];
  std::string bytes = cfgit::test::ReadFile(idx);
  REQUIRE(bytes.size() > 8 + 256 * 4);
  auto be32 = [&bytes](size_t at) {
    uint32_t v = 0;
    for (size_t i = 0; i < 4; ++i) v = v << 8 | static_cast<unsigned char>(bytes[at + i]);
    return v;
  };
  const size_t ids_at = 8 + 256 * 4, count = be32(8 + 255 * 4), from = be32(8 + 0x7f * 4);
  REQUIRE(bytes.size() >= ids_at + count * 28 + 40);  // ids, CRCs, 31-bit offsets, checksums
  REQUIRE(from > 1000);
  REQUIRE(count - from > 1000);
  auto reverse = [&](size_t at, size_t width) {
    for (size_t i = from, j = count - 1; i < j; ++i, --j) {
      std::swap_ranges(bytes.begin() + static_cast<std::ptrdiff_t>(at + i * width),
                       bytes.begin() + static_cast<std::ptrdiff_t>(at + (i + 1) * width),
                       bytes.begin() + static_cast<std::ptrdiff_t>(at + j * width));
    }
  };
  reverse(ids_at, 20);
  reverse(ids_at + count * 20, 4);
  reverse(ids_at + count * 24, 4);
  std::filesystem::permissions(idx, std::filesystem::perms::owner_write,
                               std::filesystem::perm_options::add);
  cfgit::test::WriteFile(idx, bytes);

  auto store = Store::Open(dir / ".cfgit");
  REQUIRE(store.ok());
  size_t low = 0, high = 0, high_failed = 0;
  for (const auto& [hex, expected] : blobs) {
    INFO("blob " << hex);
    auto blob = (*store)->ReadBlob(Oid::FromHex(hex).value());
    const bool intact = hex < "80";
    ++(intact ? low : high);
    if (intact) REQUIRE(blob.ok());
    if (!blob.ok()) {
      ++high_failed;
      continue;
    }
    CHECK(*blob == expected);
  }
  CHECK(low > 1000);
  CHECK(high_failed > high / 2);
}

TEST_CASE("packs written after a store was opened read right in the writer and in another handle",
          "[store][pack]") {
  // A store opened before any pack existed writes two commits (a pack each), within a few
  // milliseconds; another handle, opened after the first, reads the second (found once the
  // packs are listed again). With the pack files then moved away, both still read every row
  // from the files they hold open.
  TempDir dir;
  auto store = NewStore(dir);
  std::vector<Row> rows = NumberedRows(300);
  const std::vector<Row> first_rows = rows;
  Oid first = Commit(*store, rows);
  auto watcher = Store::Open(dir / ".cfgit");
  REQUIRE(watcher.ok());
  REQUIRE((*watcher)->ReadCommit(first).ok());
  for (int i : {3, 200}) rows[static_cast<size_t>(i)] = R(i, "changed");
  Oid second = Commit(*store, rows, {first});
  // Found after the refresh libgit2 makes when an object is in none of the packs it knows.
  REQUIRE((*watcher)->ReadCommit(second).ok());
  REQUIRE(Shell(dir.path(), "mkdir away && mv .cfgit/objects/pack/* away/").exit_code == 0);
  for (Store* s : {store.get(), watcher->get()}) {
    INFO((s == store.get() ? "writer" : "watcher"));
    CheckRows(*s, first, first_rows);
    CheckRows(*s, second, rows);
  }
  REQUIRE(Shell(dir.path(), "mv away/* .cfgit/objects/pack/").exit_code == 0);
}

TEST_CASE("a pack read object after object is handed to libgit2 midway, reading the same",
          "[store][pack]") {
  // A row read by key reads its row file from the pack (the trees above it are kept after their
  // first read): five rounds of 4000 rows are 20,000 reads of one pack, past the 16,384 after
  // which the reader leaves it to libgit2's mapped windows. (Two rounds, as this test had, never
  // got there once trees were kept.) Every row reads right on both sides of the switch. A commit
  // through that handle then asks libgit2 whether the store holds an object (the reader can no
  // longer tell for that pack): its pack holds only what is new. Rows of 6 KB that do not
  // compress make the pack bigger than 16 MiB: a smaller one is read from memory, and never
  // handed over.
  TempDir dir;
  auto store = NewStore(dir);
  std::vector<Row> rows;
  uint64_t x = 88172645463325252u;
  std::vector<std::string> values;
  for (int i = 0; i < 4000; ++i) {
    std::string prefix = "value " + std::to_string(i) + " ";
    values.push_back(prefix + RandomText(6000 - prefix.size(), &x));
  }
  for (int i = 0; i < 4000; ++i) rows.push_back(R(i, values[static_cast<size_t>(i)].c_str()));
  Oid commit = Commit(*store, rows);
  auto reader = Store::Open(dir / ".cfgit");
  REQUIRE(reader.ok());
  auto info = (*reader)->ReadCommit(commit);
  REQUIRE(info.ok());
  const size_t handed_before = cfgit::PacksHandedOver(), mapped_before = cfgit::PacksMapped();
  for (int round = 0; round < 5; ++round) {
    for (int i = 0; i < 4000; ++i) {
      auto row = (*reader)->ReadRow(info->tree, Table("t"), {Value::Integer(i)});
      REQUIRE(row.ok());
      REQUIRE(row->has_value());
      REQUIRE((**row)[1] == Value::Text(values[static_cast<size_t>(i)]));
    }
  }
  REQUIRE(cfgit::PacksHandedOver() == handed_before + 1);  // the reads crossed the hand-over
  CHECK(cfgit::PacksMapped() == mapped_before);
  rows[5] = R(5, "changed");
  Commit(**reader, rows, {commit});
  // The changed row's blob; its leaf, middle, rows, table, tables and root trees; the commit.
  // Then the first commit's pack.
  CHECK(PackObjectCounts(dir) == std::vector<int>{8, ReachableObjects(dir, commit.Hex())});
}

TEST_CASE("a commit counts on a pack holding an object only where the reader can tell",
          "[store][pack]") {
  TempDir dir;
  auto store = NewStore(dir);
  std::vector<Row> rows = NumberedRows(300);
  Oid first = Commit(*store, rows);
  const int objects = ReachableObjects(dir, first.Hex());
  // A second commit's pack holds what is new, and nothing the store had: the smallest pack.
  auto second_commit_writes_only_what_is_new = [&](Store& through) {
    rows[5] = R(5, "changed");
    Oid second = Commit(through, rows, {first});
    CheckRows(through, second, rows);
    const int new_objects = ReachableObjects(dir, second.Hex() + " --not " + first.Hex());
    CHECK(new_objects > 0);
    CHECK(PackObjectCounts(dir).front() == new_objects);
  };

  SECTION("a pack deleted while the store is open") {
    // Stock git may delete a pack under a running command (`git repack -a -d`, `git gc
    // --prune=now`) and, with it, objects nothing referenced. The store's reader keeps the
    // pack's file open and could still find them; a commit through that handle must write them
    // again, or it would reference objects the store no longer has.
    auto reader = Store::Open(dir / ".cfgit");
    REQUIRE(reader.ok());
    CheckRows(**reader, first, rows);  // the reader has the pack open and has searched it
    REQUIRE(Shell(dir.path(), "rm .cfgit/objects/pack/pack-*").exit_code == 0);
    {
      // A writer lists the directory as it starts: the pack is gone, and still reads.
      auto writer = (*reader)->NewSnapshot();
      REQUIRE(writer.ok());
      CheckRows(**reader, first, rows);
    }
    // The same rows, the same signature: the same commit, every object of it written again.
    Oid again = Commit(**reader, rows);
    CHECK(again == first);
    CHECK(ReachableObjects(dir, again.Hex()) == objects);
    CheckRows(**reader, first, rows);
  }

  SECTION("a pack directory that cannot be listed") {
    // No listing, no answer: the writer fails and names the directory; once it can be listed
    // again, a commit writes only what is new.
    auto reader = Store::Open(dir / ".cfgit");
    REQUIRE(reader.ok());
    CheckRows(**reader, first, rows);
    REQUIRE(Shell(dir.path(), "cd .cfgit/objects && mv pack pack.away && touch pack").exit_code ==
            0);
    auto refused = (*reader)->NewSnapshot();
    REQUIRE_FALSE(refused.ok());
    CHECK_THAT(refused.status().message(), Catch::Contains("cannot list the store's packs in"));
    CHECK_THAT(refused.status().message(), Catch::Contains(".cfgit/objects/pack"));
    REQUIRE(Shell(dir.path(), "cd .cfgit/objects && rm pack && mv pack.away pack").exit_code == 0);
    second_commit_writes_only_what_is_new(**reader);
  }

  SECTION("a pack the reader leaves to libgit2") {
    // The reader reads version-2 indexes only; libgit2 reads a version-1 one. Whether the store
    // holds an object in that pack is for libgit2 to tell: a commit writes only what is new.
    auto v1 = Shell(dir.path(),
                    "cd .cfgit/objects/pack && p=$(ls pack-*.pack) && rm -f ${p%.pack}.idx && "
                    "git index-pack --index-version=1 $p >/dev/null && "
                    "head -c 4 ${p%.pack}.idx | od -An -tx1 | tr -d ' \\n'");
    INFO(v1.err);
    REQUIRE(v1.exit_code == 0);
    REQUIRE(v1.out != "ff744f63");  // no version-2 magic
    auto reader = Store::Open(dir / ".cfgit");
    REQUIRE(reader.ok());
    CheckRows(**reader, first, rows);
    second_commit_writes_only_what_is_new(**reader);
  }
}

TEST_CASE("a snapshot that is never committed leaves no pack and no temporary file",
          "[store][pack]") {
  TempDir dir;
  auto store = NewStore(dir);
  {
    auto writer = store->NewSnapshot();
    REQUIRE(writer.ok());
    REQUIRE((*writer)->BeginTable(Table("t")).ok());
    REQUIRE((*writer)->AddRow(R(1, std::string(5000, 'x').c_str())).ok());
    REQUIRE((*writer)->EndTable().ok());
    auto tree = (*writer)->FinishTree("sqlite");
    REQUIRE(tree.ok());
    // Readable while staged: the row is read back from the unfinished pack.
    auto tables = store->ListTables(*tree);
    REQUIRE(tables.ok());
    REQUIRE(tables->size() == 1);
  }
  CHECK(std::filesystem::is_empty(dir / ".cfgit/objects/pack"));
}

TEST_CASE("NULL and duplicate key values are refused, naming the rows", "[store]") {
  TempDir dir;
  auto store = NewStore(dir);
  TableSchema s = Table("roles", {"name"});
  auto roles = [&](cfgit::SnapshotWriter& w) {
    REQUIRE(w.BeginTable(s).ok());
    REQUIRE(w.AddRow(R(1, "admin")).ok());
    REQUIRE(w.AddRow(R(2, "admin")).ok());
    REQUIRE(w.AddRow(R(3, "member")).ok());
  };
  auto check_dup = [](const cfgit::Status& dup) {
    CHECK(dup.code() == Code::kNeedsAttention);
    CHECK_THAT(dup.message(), Catch::Contains("table 'roles'"));
    CHECK_THAT(dup.message(), Catch::Contains("not unique"));
    CHECK_THAT(dup.message(), Catch::Contains("'admin'"));
    CHECK_THAT(dup.message(), !Catch::Contains("'member'"));
  };
  // Duplicates are found while the next table is read (the table is sorted on a thread of its
  // own): the next EndTable reports them...
  {
    auto writer = store->NewSnapshot();
    REQUIRE(writer.ok());
    roles(**writer);
    REQUIRE((*writer)->EndTable().ok());
    REQUIRE((*writer)->BeginTable(Table("other")).ok());
    REQUIRE((*writer)->AddRow(R(1, "x")).ok());
    check_dup((*writer)->EndTable().status());
  }
  // ... or FinishTree, after the last table; and so do WriteCommit and the end of the writer
  // when nothing else asked (no commit is made).
  {
    auto writer = store->NewSnapshot();
    REQUIRE(writer.ok());
    roles(**writer);
    REQUIRE((*writer)->EndTable().ok());
    check_dup((*writer)->FinishTree("sqlite").status());
    check_dup((*writer)->WriteCommit({}, "x", {"T", "t@x", 1, 0}).status());
  }
  {
    auto writer = store->NewSnapshot();
    REQUIRE(writer.ok());
    roles(**writer);
    REQUIRE((*writer)->EndTable().ok());
  }
  CHECK(std::filesystem::is_empty(dir / ".cfgit/objects/pack"));

  // NULLs are found as the rows are added: EndTable reports them.
  auto writer = store->NewSnapshot();
  REQUIRE(writer.ok());
  REQUIRE((*writer)->BeginTable(s).ok());
  REQUIRE((*writer)->AddRow({Value::Integer(7), Value::Null()}).ok());
  auto null = (*writer)->EndTable();
  CHECK(null.status().code() == Code::kNeedsAttention);
  CHECK_THAT(null.status().message(), Catch::Contains("NULL"));
  CHECK_THAT(null.status().message(), Catch::Contains("id: 7"));
}

TEST_CASE("keyless tables count duplicates", "[store]") {
  TempDir dir;
  auto store = NewStore(dir);
  TableSchema s = Table("paths", {});
  Oid two = WriteTree(*store, {R(1, "a"), R(1, "a")}, s);
  Oid one = WriteTree(*store, {R(1, "a")}, s);
  CHECK_FALSE(two == one);
  int deleted = 0;
  REQUIRE(store
              ->DiffTrees(two, one,
                          [&](const cfgit::TreeChange& c) {
                            if (!c.after) ++deleted;
                            CHECK(c.before.has_value());
                            return cfgit::Status::Ok();
                          })
              .ok());
  CHECK(deleted == 1);
}

TEST_CASE("schema-only tables keep their schema and no rows", "[store]") {
  TempDir dir;
  auto store = NewStore(dir);
  TableSchema s = Table("users");
  s.rows_versioned = false;
  Oid tree = WriteTree(*store, {R(1, "a")}, s);
  auto tables = store->ListTables(tree);
  REQUIRE(tables.ok());
  REQUIRE(tables->size() == 1);
  CHECK(tables->at(0).name == "users");
  CHECK_FALSE(tables->at(0).rows.has_value());
  auto schema = store->ReadBlob(tables->at(0).schema);
  REQUIRE(schema.ok());
  auto decoded = cfgit::DecodeSchema(schema.value());
  REQUIRE(decoded.ok());
  CHECK(decoded.value() == s);
}

TEST_CASE("tree diffs report changed rows only", "[store][diff]") {
  TempDir dir;
  auto store = NewStore(dir);
  // A writer that never commits leaves nothing in the store.
  Oid uncommitted = WriteTree(*store, {R(1, "a")}, Table("t"), /*commit=*/false);
  auto missing = store->DiffTrees(std::nullopt, uncommitted,
                                  [](const cfgit::TreeChange&) { return cfgit::Status::Ok(); });
  CHECK(missing.code() == Code::kInvalid);

  std::vector<cfgit::TreeChange> changes;
  Oid ca = Commit(*store, {R(1, "a"), R(2, "b"), R(3, "c")});
  Oid cb = Commit(*store, {R(1, "a"), R(2, "B"), R(4, "d")});
  auto ta = store->ReadCommit(ca), tb = store->ReadCommit(cb);
  REQUIRE((ta.ok() && tb.ok()));
  changes.clear();
  REQUIRE(store
              ->DiffTrees(ta->tree, tb->tree,
                          [&](const cfgit::TreeChange& c) {
                            changes.push_back(c);
                            return cfgit::Status::Ok();
                          })
              .ok());
  REQUIRE(changes.size() == 3);
  int added = 0, deleted = 0, modified = 0;
  for (const auto& c : changes) {
    CHECK(c.path.rfind("tables/t/rows/", 0) == 0);
    added += !c.before;
    deleted += !c.after;
    modified += c.before && c.after;
  }
  CHECK(added == 1);
  CHECK(deleted == 1);
  CHECK(modified == 1);
}

TEST_CASE("ref updates are compare-and-swap", "[store]") {
  TempDir dir;
  auto store = NewStore(dir);
  Oid a = Commit(*store, {R(1, "a")});
  Oid b = Commit(*store, {R(1, "b")}, {a});
  REQUIRE(store->UpdateRef("refs/heads/dev", a, std::nullopt, "create").ok());
  CHECK(store->UpdateRef("refs/heads/dev", b, std::nullopt, "create again").code() ==
        Code::kNeedsAttention);
  CHECK(store->UpdateRef("refs/heads/dev", b, b, "stale expectation").code() ==
        Code::kNeedsAttention);
  auto still = store->ReadRef("refs/heads/dev");
  REQUIRE(still.ok());
  CHECK(still.value() == a);
  REQUIRE(store->UpdateRef("refs/heads/dev", b, a, "move").ok());
  CHECK(store->ReadRef("refs/heads/dev").value() == b);
  auto reflog = Shell(dir.path(), "git --git-dir=.cfgit reflog show --format=%gs refs/heads/dev");
  CHECK(reflog.out == "move\ncreate\n");
}

TEST_CASE("revisions resolve like git's", "[store]") {
  TempDir dir;
  auto store = NewStore(dir);
  Oid a = Commit(*store, {R(1, "a")});
  Oid b = Commit(*store, {R(1, "b")}, {a});
  REQUIRE(store->UpdateRef("refs/heads/dev", b, std::nullopt, "c").ok());
  REQUIRE(store->CreateTag("v1", a, "Release v1", {"T", "t@x", 1700000000, 0}).ok());
  CHECK(store->ResolveCommit("dev").value() == b);
  CHECK(store->ResolveCommit("dev~1").value() == a);
  CHECK(store->ResolveCommit("dev^").value() == a);
  CHECK(store->ResolveCommit("v1").value() == a);
  CHECK(store->ResolveCommit(b.Hex().substr(0, 8)).value() == b);
  CHECK(store->ResolveCommit("nope").status().code() == Code::kUsage);
  CHECK(store->ResolveCommit("dev~5").status().code() == Code::kUsage);
  CHECK(store->CreateTag("v1", b, "again", {"T", "t@x", 1, 0}).code() == Code::kUsage);
  auto tags = store->ListRefs("refs/tags/");
  REQUIRE(tags.ok());
  REQUIRE(tags->size() == 1);
  CHECK(tags->at(0).name == "v1");
  CHECK(tags->at(0).target == a);
  CHECK(tags->at(0).message == "Release v1\n");
  CHECK(Shell(dir.path(), "git --git-dir=.cfgit cat-file -t v1").out == "tag\n");
}

TEST_CASE("a second writer waits, then fails naming the lock", "[store][lock]") {
  TempDir dir;
  auto store = NewStore(dir);
  auto other = Store::Open(dir / ".cfgit");
  REQUIRE(other.ok());
  {
    auto held = store->LockForWriting(std::chrono::milliseconds(0));
    REQUIRE(held.ok());
    auto start = std::chrono::steady_clock::now();
    auto second = (*other)->LockForWriting(std::chrono::milliseconds(300));
    CHECK(std::chrono::steady_clock::now() - start >= std::chrono::milliseconds(300));
    CHECK(second.status().code() == Code::kNeedsAttention);
    CHECK_THAT(second.status().message(), Catch::Contains("cfgit.lock"));
    CHECK_THAT(second.status().message(), Catch::Contains(std::to_string(getpid())));
  }
  CHECK((*other)->LockForWriting(std::chrono::milliseconds(0)).ok());
}

TEST_CASE("opening something that is not a store is an invalid-store error", "[store]") {
  TempDir dir;
  auto store = Store::Open(dir / "missing");
  CHECK(store.status().code() == Code::kInvalid);
  CHECK_THAT(store.status().message(), Catch::Contains("missing"));
}

namespace {

// A snapshot of `schema` with `rows`, using the fingerprint memo `memo` ("" for none).
Oid MemoTree(Store& store, const std::string& memo, const TableSchema& schema,
             const std::vector<Row>& rows, bool commit) {
  auto writer = store.NewSnapshot(memo);
  REQUIRE(writer.ok());
  REQUIRE((*writer)->BeginTable(schema).ok());
  for (const Row& r : rows) REQUIRE((*writer)->AddRow(r).ok());
  REQUIRE((*writer)->EndTable().ok());
  auto tree = (*writer)->FinishTree("sqlite");
  REQUIRE(tree.ok());
  if (commit) REQUIRE((*writer)->WriteCommit({}, "snapshot", {"T", "t@x", 1, 0}).ok());
  return tree.value();
}

}  // namespace

TEST_CASE("the fingerprint memo gives the same trees and is really used", "[store][memo]") {
  TempDir dir;
  auto store = NewStore(dir);
  TableSchema keyed = Table("t");
  TableSchema keyless = Table("k", {});
  keyless.primary_key.clear();
  std::vector<Row> rows;
  for (int64_t i = 0; i < 50; ++i) rows.push_back({Value::Integer(i), Value::Text("v")});
  std::vector<Row> dups = {{Value::Integer(1), Value::Text("x")},
                           {Value::Integer(1), Value::Text("x")},
                           {Value::Integer(2), Value::Null()}};

  MemoTree(*store, "dev", keyed, rows, true);
  MemoTree(*store, "dev-k", keyless, dups, true);
  std::string memo_path = dir / ".cfgit/cfgit/fingerprints/dev";
  REQUIRE(std::filesystem::exists(memo_path));

  // Unchanged, and changed in one row: the memo's trees equal trees built without it.
  auto changed = rows;
  changed[7][1] = Value::Text("changed");
  changed.push_back({Value::Integer(99), Value::Text("new")});
  CHECK(MemoTree(*store, "dev", keyed, rows, false) == MemoTree(*store, "", keyed, rows, false));
  CHECK(MemoTree(*store, "dev", keyed, changed, false) ==
        MemoTree(*store, "", keyed, changed, false));
  auto more_dups = dups;
  more_dups.push_back(dups[0]);  // a third copy: named by occurrence, not by the memo
  CHECK(MemoTree(*store, "dev-k", keyless, more_dups, false) ==
        MemoTree(*store, "", keyless, more_dups, false));

  // A live snapshot (never committed) leaves the memo as it was.
  std::string before = cfgit::test::ReadFile(memo_path);
  MemoTree(*store, "dev", keyed, changed, false);
  CHECK(cfgit::test::ReadFile(memo_path) == before);

  // Hits are taken from the memo, not re-encoded: point one record at another blob and the tree
  // changes (a white-box check that the fast path is the one that runs).
  std::string tampered = before;
  const size_t first_blob = std::string("cfgit-fingerprints 3\n").size() + 8 + 16;
  REQUIRE(tampered.size() > first_blob + 20);
  for (size_t i = 0; i < 20; ++i) tampered[first_blob + i] = static_cast<char>(0x42);
  cfgit::test::WriteFile(memo_path, tampered);
  CHECK_FALSE(MemoTree(*store, "dev", keyed, rows, false) ==
              MemoTree(*store, "", keyed, rows, false));

  // A truncated, foreign or version-1 file is ignored.
  cfgit::test::WriteFile(memo_path, before.substr(0, before.size() - 3));
  CHECK(MemoTree(*store, "dev", keyed, rows, false) == MemoTree(*store, "", keyed, rows, false));
  cfgit::test::WriteFile(memo_path, "not a memo");
  CHECK(MemoTree(*store, "dev", keyed, rows, false) == MemoTree(*store, "", keyed, rows, false));
  std::string v1 = before;
  v1[std::string("cfgit-fingerprints ").size()] = '1';
  cfgit::test::WriteFile(memo_path, v1);
  CHECK(MemoTree(*store, "dev", keyed, rows, false) == MemoTree(*store, "", keyed, rows, false));
}

TEST_CASE("memos are dropped when a pack they count on is deleted, and only then",
          "[store][memo][pack]") {
  TempDir dir;
  auto store = NewStore(dir);
  TableSchema keyed = Table("t");
  std::vector<Row> rows = NumberedRows(300);
  const Oid tree = MemoTree(*store, "dev", keyed, rows, true);
  const int objects = ReachableObjects(dir, tree.Hex());
  const std::string memo_path = dir / ".cfgit/cfgit/fingerprints/dev";
  const std::string list_path = dir / ".cfgit/cfgit/fingerprints.packs";
  REQUIRE(std::filesystem::exists(memo_path));
  // The list names the packs in the directory, as stock git sees them.
  auto packs_now = [&] {
    return Shell(dir.path(), "cd .cfgit/objects/pack && ls pack-*.idx | sed 's/[.]idx$//' | sort")
        .out;
  };
  CHECK(cfgit::test::ReadFile(list_path) == packs_now());

  SECTION("stock git prunes what no ref reaches") {
    // The commit is on no ref: `git gc --prune=now` deletes its pack, objects and all. The memo
    // still names them, so a snapshot of the same rows must not count on it: every object is
    // written again.
    auto gc = Shell(dir.path(),
                    "git --git-dir=.cfgit gc --prune=now --quiet && "
                    "ls .cfgit/objects/pack | wc -l");
    INFO(gc.err);
    REQUIRE(gc.out == "0\n");
    CHECK(MemoTree(*store, "dev", keyed, rows, true) == tree);
    CHECK(ReachableObjects(dir, tree.Hex()) == objects);
    CHECK(cfgit::test::ReadFile(list_path) == packs_now());
  }

  SECTION("stock git prunes while a commit is written") {
    // The writer found every row in the memo, and only its commit object is new: once the pack
    // it counted on is gone, the commit must not be made.
    auto writer = store->NewSnapshot("dev");
    REQUIRE(writer.ok());
    REQUIRE((*writer)->BeginTable(keyed).ok());
    for (const Row& r : rows) REQUIRE((*writer)->AddRow(r).ok());
    REQUIRE((*writer)->EndTable().ok());
    REQUIRE((*writer)->FinishTree("sqlite").ok());
    REQUIRE(Shell(dir.path(), "git --git-dir=.cfgit gc --prune=now --quiet").exit_code == 0);
    auto commit = (*writer)->WriteCommit({}, "snapshot", {"T", "t@x", 1, 0});
    REQUIRE_FALSE(commit.ok());
    CHECK(commit.status().code() == Code::kNeedsAttention);
    CHECK_THAT(commit.status().message(), Catch::Contains("was deleted from") &&
                                              Catch::Contains("while this command ran") &&
                                              Catch::Contains("run it again"));
    writer->reset();
    // Run again: the memo is dropped, and every object written.
    CHECK(MemoTree(*store, "dev", keyed, rows, true) == tree);
    CHECK(ReachableObjects(dir, tree.Hex()) == objects);
  }

  SECTION("a memo that cannot be deleted is not used") {
    // Something in the memo directory that cannot be removed (a directory with a file in it):
    // the command goes on, without a memo, and counts on none of the pruned objects.
    REQUIRE(Shell(dir.path(),
                  "mkdir -p .cfgit/cfgit/fingerprints/stuck && "
                  "touch .cfgit/cfgit/fingerprints/stuck/file && "
                  "git --git-dir=.cfgit gc --prune=now --quiet")
                .exit_code == 0);
    CHECK(MemoTree(*store, "dev", keyed, rows, true) == tree);
    CHECK(ReachableObjects(dir, tree.Hex()) == objects);
  }

  SECTION("a store written before the list") {
    // Nothing says which packs its memos count on: the next writer deletes them, and the commit
    // after saves a new one.
    std::filesystem::remove(list_path);
    {
      auto writer = store->NewSnapshot("dev");
      REQUIRE(writer.ok());
      CHECK_FALSE(std::filesystem::exists(memo_path));
      CHECK(cfgit::test::ReadFile(list_path) == packs_now());
    }
    rows[3][1] = Value::Text("changed");
    MemoTree(*store, "dev", keyed, rows, true);
    CHECK(std::filesystem::exists(memo_path));
  }

  SECTION("cfgit's own consolidation keeps the memos") {
    // A commit of one changed row appends its records to the memo it loaded. Packs cfgit merged
    // into another (objects and all) do not count as deleted: the commit after a consolidation
    // still appends.
    size_t consolidated = 0;
    for (int64_t c = 1; c <= 12; ++c) {
      std::string before = cfgit::test::ReadFile(memo_path);
      size_t packs_before = PackObjectCounts(dir).size();
      rows[static_cast<size_t>(c)][1] = Value::Text("change " + std::to_string(c));
      MemoTree(*store, "dev", keyed, rows, true);
      if (PackObjectCounts(dir).size() <= packs_before) ++consolidated;
      std::string after = cfgit::test::ReadFile(memo_path);
      INFO("commit " << c);
      CHECK(after.size() > before.size());
      CHECK(after.compare(0, before.size(), before) == 0);
      CHECK(cfgit::test::ReadFile(list_path) == packs_now());
    }
    CHECK(consolidated >= 1);
  }
}

TEST_CASE("rows prepared in batches give the trees rows added one by one give", "[store][memo]") {
  TempDir dir;
  auto store = NewStore(dir);
  TableSchema keyed = Table("t");
  TableSchema keyless = Table("k", {});
  keyless.primary_key.clear();
  std::vector<Row> rows, dups;
  for (int64_t i = 0; i < 2500; ++i) rows.push_back({Value::Integer(i), Value::Text("v")});
  for (int64_t i = 0; i < 2500; ++i) dups.push_back({Value::Integer(i % 7), Value::Text("d")});
  // Prepared 1000 at a time, as ForEachRow's reading thread does, then added one by one.
  auto batched = [&](const std::string& memo, const std::vector<Row>& keyed_rows) {
    auto writer = store->NewSnapshot(memo);
    REQUIRE(writer.ok());
    for (const auto& [schema, table] : {std::pair{keyed, keyed_rows}, std::pair{keyless, dups}}) {
      REQUIRE((*writer)->BeginTable(schema).ok());
      std::vector<cfgit::PreparedRow> prepared(1000);
      for (size_t at = 0; at < table.size(); at += prepared.size()) {
        size_t n = std::min(prepared.size(), table.size() - at);
        (*writer)->PrepareRows(std::span<const Row>(table.data() + at, n), prepared.data());
        for (size_t i = 0; i < n; ++i) REQUIRE((*writer)->AddRow(table[at + i], prepared[i]).ok());
      }
      REQUIRE((*writer)->EndTable().ok());
    }
    auto tree = (*writer)->FinishTree("sqlite");
    REQUIRE(tree.ok());
    REQUIRE((*writer)->WriteCommit({}, "snapshot", {"T", "t@x", 1, 0}).ok());
    return tree.value();
  };
  auto one_by_one = [&](const std::vector<Row>& keyed_rows) {
    auto writer = store->NewSnapshot();
    REQUIRE(writer.ok());
    for (const auto& [schema, table] : {std::pair{keyed, keyed_rows}, std::pair{keyless, dups}}) {
      REQUIRE((*writer)->BeginTable(schema).ok());
      for (const Row& r : table) REQUIRE((*writer)->AddRow(r).ok());
      REQUIRE((*writer)->EndTable().ok());
    }
    return (*writer)->FinishTree("sqlite").value();
  };
  // No memo yet, then every row found in it, then some found and some not.
  CHECK(batched("dev", rows) == one_by_one(rows));
  CHECK(batched("dev", rows) == one_by_one(rows));
  auto changed = rows;
  for (size_t i = 0; i < changed.size(); i += 3) changed[i][1] = Value::Text("changed");
  CHECK(batched("dev", changed) == one_by_one(changed));
}

TEST_CASE(
    "the memo keeps rows trees, is rewritten only when it changes, and seeds new "
    "environments",
    "[store][memo]") {
  TempDir dir;
  auto store = NewStore(dir);
  TableSchema keyed = Table("t");
  std::vector<Row> rows;
  for (int64_t i = 0; i < 3000; ++i) rows.push_back({Value::Integer(i), Value::Text("v")});
  Oid plain = MemoTree(*store, "", keyed, rows, true);
  std::string dev = dir / ".cfgit/cfgit/fingerprints/dev";
  // Nothing new to store: the snapshot saves the memo without a commit (every object is stored).
  CHECK(MemoTree(*store, "dev", keyed, rows, false) == plain);
  REQUIRE(std::filesystem::exists(dev));
  std::string saved = cfgit::test::ReadFile(dev);
  // Records: 3000 rows, then leaf and middle trees (3000 rows fill most of the 65536 leaves
  // sparsely, so there are thousands of them).
  REQUIRE(saved.size() > 3000 * 38);

  // Unchanged: the file is left alone (same bytes, same inode).
  auto inode = [](const std::string& p) {
    struct stat st {};
    REQUIRE(::stat(p.c_str(), &st) == 0);
    return st.st_ino;
  };
  auto before_inode = inode(dev);
  CHECK(MemoTree(*store, "dev", keyed, rows, false) == plain);
  CHECK(inode(dev) == before_inode);
  CHECK(cfgit::test::ReadFile(dev) == saved);

  // Trees come from the memo: point every tree record at another id and an unchanged snapshot's
  // tree changes (rows records stay valid, so only the tree records can explain it).
  std::string tampered = saved;
  size_t at = std::string("cfgit-fingerprints 3\n").size() + 8;
  for (int r = 0; r < 3000; ++r) {
    size_t name = static_cast<unsigned char>(tampered[at + 36]) |
                  (static_cast<size_t>(static_cast<unsigned char>(tampered[at + 37])) << 8);
    at += 38 + name;
  }
  at += 8;  // the count of tree records
  REQUIRE((tampered.size() - at) % 36 == 0);
  for (size_t t = at; t < tampered.size(); t += 36) {
    for (size_t i = 0; i < 20; ++i) tampered[t + 16 + i] = static_cast<char>(0x42);
  }
  cfgit::test::WriteFile(dev, tampered);
  CHECK_FALSE(MemoTree(*store, "dev", keyed, rows, false) == plain);
  cfgit::test::WriteFile(dev, saved);

  // A changed row: the records added (the row and the trees above it) are appended to the file
  // as loaded, as one block; the old row's record stays until a quarter of the records are gone.
  auto changed = rows;
  changed[5][1] = Value::Text("changed");
  Oid after = MemoTree(*store, "dev", keyed, changed, true);
  CHECK(after == MemoTree(*store, "", keyed, changed, false));
  std::string next = cfgit::test::ReadFile(dev);
  REQUIRE(next.size() > saved.size());
  CHECK(next.compare(0, saved.size(), saved) == 0);
  // The block's two counts, one row record (file name "5") and two tree records (its leaf and
  // middle directories; rows/ itself is always built).
  CHECK(next.size() - saved.size() == 16 + (38 + 1) + 2 * 36);

  // A block cut short (a command killed while appending) ends the memo: the whole blocks before
  // it still serve, and the next save writes the file anew instead of appending after it.
  const std::string cut = next.substr(0, next.size() - 10);
  cfgit::test::WriteFile(dev, cut);
  auto changed_again = changed;
  changed_again[6][1] = Value::Text("changed too");
  Oid again = MemoTree(*store, "dev", keyed, changed_again, true);
  CHECK(again == MemoTree(*store, "", keyed, changed_again, false));
  std::string rewritten = cfgit::test::ReadFile(dev);
  CHECK(rewritten.compare(0, cut.size(), cut) != 0);
  CHECK(MemoTree(*store, "dev", keyed, changed_again, false) == again);

  // Most rows changed: the records of the old rows are over a quarter of the file, so it is
  // written anew with only this snapshot's, and stays about the size of one snapshot's memo.
  auto most = rows;
  for (size_t i = 0; i < most.size(); i += 2) most[i][1] = Value::Text("most");
  Oid most_tree = MemoTree(*store, "dev", keyed, most, true);
  CHECK(most_tree == MemoTree(*store, "", keyed, most, false));
  std::string compact = cfgit::test::ReadFile(dev);
  CHECK(compact.size() < saved.size() * 5 / 4);
  CHECK(MemoTree(*store, "dev", keyed, most, false) == most_tree);
  MemoTree(*store, "dev", keyed, changed, true);
  next = cfgit::test::ReadFile(dev);

  // An environment without a memo starts from the largest one: its rows are found there, so the
  // tampered-blob check shows the borrowed memo is used.
  // A memo whose first row record points at another blob.
  auto tampered_first_blob = [](std::string memo) {
    size_t first_blob = std::string("cfgit-fingerprints 3\n").size() + 8 + 16;
    for (size_t i = 0; i < 20; ++i) memo[first_blob + i] = static_cast<char>(0x42);
    return memo;
  };
  std::string borrowed = tampered_first_blob(next);
  cfgit::test::WriteFile(dev, borrowed);
  CHECK_FALSE(MemoTree(*store, "stage", keyed, changed, false) == after);
  // A backup's memo borrows only another backup's: the tampered dev memo is not used for it...
  CHECK(MemoTree(*store, "dev@backup", keyed, changed, true) == after);
  std::string backup = dir / ".cfgit/cfgit/fingerprints/dev%40backup";
  REQUIRE(std::filesystem::exists(backup));
  // ... but a tampered backup memo is, by another backup.
  cfgit::test::WriteFile(backup, tampered_first_blob(cfgit::test::ReadFile(backup)));
  CHECK_FALSE(MemoTree(*store, "stage@backup", keyed, changed, false) == after);
  cfgit::test::WriteFile(dev, next);
  CHECK(MemoTree(*store, "stage", keyed, changed, false) == after);
  std::string stage = dir / ".cfgit/cfgit/fingerprints/stage";
  CHECK(std::filesystem::exists(stage));

  // An empty snapshot leaves no memo, so that the next snapshot borrows again.
  MemoTree(*store, "stage", keyed, {}, true);
  CHECK_FALSE(std::filesystem::exists(stage));
  cfgit::test::WriteFile(dev, borrowed);
  CHECK_FALSE(MemoTree(*store, "stage", keyed, changed, false) == after);
  cfgit::test::WriteFile(dev, next);
}

TEST_CASE("a commit writes its memo once: when its snapshot is done", "[store][memo]") {
  TempDir dir;
  auto store = NewStore(dir);
  TableSchema keyed = Table("t");
  std::vector<Row> rows, changed;
  for (int64_t i = 0; i < 2000; ++i) rows.push_back({Value::Integer(i), Value::Text("v")});
  changed = rows;
  changed[7][1] = Value::Text("changed");
  MemoTree(*store, "dev", keyed, rows, true);
  MemoTree(*store, "other", keyed, changed, true);  // every object of `changed` is stored
  auto inode = [](const std::string& p) {
    struct stat st {};
    REQUIRE(::stat(p.c_str(), &st) == 0);
    return st.st_ino;
  };
  // Snapshot, then commit: the memo is saved when the snapshot has nothing new to store, and
  // the commit's save (on another thread, done when the writer goes) finds nothing more. Each
  // step's file is checked, byte for byte and inode.
  auto snapshot_then_commit = [&](const std::string& env, const std::vector<Row>& content) {
    std::string path = dir / (".cfgit/cfgit/fingerprints/" + env);
    auto writer = store->NewSnapshot(env);
    REQUIRE(writer.ok());
    REQUIRE((*writer)->BeginTable(keyed).ok());
    for (const Row& r : content) REQUIRE((*writer)->AddRow(r).ok());
    REQUIRE((*writer)->EndTable().ok());
    REQUIRE((*writer)->FinishTree("sqlite").ok());
    REQUIRE(std::filesystem::exists(path));
    std::string after_tree = cfgit::test::ReadFile(path);
    auto after_tree_inode = inode(path);
    REQUIRE((*writer)->WriteCommit({}, "snapshot", {"T", "t@x", 1, 0}).ok());
    writer->reset();
    CHECK(inode(path) == after_tree_inode);
    CHECK(cfgit::test::ReadFile(path) == after_tree);
    return after_tree;
  };
  // A new environment borrows the largest memo beside and writes a whole memo of its own.
  std::string borrowed = snapshot_then_commit("stage", rows);
  CHECK(borrowed.size() > 2000 * 38);
  // dev's own memo, with the changed row's records appended (the appended block is not
  // followed by a rewrite).
  std::string dev_before = cfgit::test::ReadFile(dir / ".cfgit/cfgit/fingerprints/dev");
  std::string appended = snapshot_then_commit("dev", changed);
  REQUIRE(appended.size() > dev_before.size());
  CHECK(appended.compare(0, dev_before.size(), dev_before) == 0);

  // A commit with new rows saves only after its commit, on another thread; asking the same
  // writer to keep its memo waits for that save, so the file is whole when KeepMemo returns.
  std::vector<Row> fresh = rows;
  for (int64_t i = 5000; i < 5100; ++i) fresh.push_back({Value::Integer(i), Value::Text("new")});
  std::string path = dir / ".cfgit/cfgit/fingerprints/fresh";
  auto writer = store->NewSnapshot("fresh");
  REQUIRE(writer.ok());
  REQUIRE((*writer)->BeginTable(keyed).ok());
  for (const Row& r : fresh) REQUIRE((*writer)->AddRow(r).ok());
  REQUIRE((*writer)->EndTable().ok());
  REQUIRE((*writer)->FinishTree("sqlite").ok());
  CHECK_FALSE(std::filesystem::exists(path));  // new objects: nothing saved before the commit
  REQUIRE((*writer)->WriteCommit({}, "fresh", {"T", "t@x", 1, 0}).ok());
  (*writer)->KeepMemo();
  REQUIRE(std::filesystem::exists(path));
  std::string kept = cfgit::test::ReadFile(path);
  CHECK(kept.size() > fresh.size() * 38);
  writer->reset();
  CHECK(cfgit::test::ReadFile(path) == kept);
}

TEST_CASE("a new environment's memo is the one it borrowed, copied, with its own records after it",
          "[store][memo]") {
  TempDir dir;
  auto store = NewStore(dir);
  TableSchema keyed = Table("t");
  std::vector<Row> rows;
  for (int64_t i = 0; i < 2000; ++i) rows.push_back({Value::Integer(i), Value::Text("v")});
  MemoTree(*store, "dev", keyed, rows, true);
  const std::string memos = dir / ".cfgit/cfgit/fingerprints/";
  const std::string dev = cfgit::test::ReadFile(memos + "dev");
  auto u64 = [](const std::string& s, size_t at) {
    REQUIRE(s.size() >= at + 8);
    uint64_t v = 0;
    for (size_t i = 0; i < 8; ++i)
      v |= static_cast<uint64_t>(static_cast<uint8_t>(s[at + i])) << (8 * i);
    return v;
  };
  // 100 rows changed and 50 added: their 150 records (and their directories') make one block
  // after a copy of dev's file, and the next snapshot finds every row in it.
  std::vector<Row> staged = rows;
  for (int64_t i = 0; i < 100; ++i) staged[static_cast<size_t>(i * 20)][1] = Value::Text("stage");
  for (int64_t i = 5000; i < 5050; ++i) staged.push_back({Value::Integer(i), Value::Text("new")});
  Oid tree = MemoTree(*store, "stage", keyed, staged, true);
  std::string stage = cfgit::test::ReadFile(memos + "stage");
  REQUIRE(stage.size() > dev.size() + 8 + 150 * 38);
  CHECK(stage.compare(0, dev.size(), dev) == 0);
  CHECK(u64(stage, dev.size()) == 150);
  CHECK(MemoTree(*store, "stage", keyed, staged, false) == tree);
  CHECK(MemoTree(*store, "stage", keyed, staged, false) ==
        MemoTree(*store, "", keyed, staged, false));
  // Its own now: a commit of the same rows leaves it as it is.
  MemoTree(*store, "stage", keyed, staged, true);
  CHECK(cfgit::test::ReadFile(memos + "stage") == stage);

  // The copy is of the whole blocks loaded: a block cut short at the end of the borrowed file
  // (a command killed while appending) is not copied.
  std::filesystem::remove(memos + "stage");
  cfgit::test::WriteFile(memos + "dev", dev + std::string("\x05\x00\x00", 3));
  MemoTree(*store, "qa", keyed, staged, true);
  std::string qa = cfgit::test::ReadFile(memos + "qa");
  CHECK(qa.compare(0, dev.size(), dev) == 0);
  CHECK(u64(qa, dev.size()) == 150);

  // A borrowed file replaced (or deleted) since it was loaded is not copied: the memos may have
  // been deleted because a pack they count on is gone, and the records this snapshot did not use
  // with it. The memo is written anew, with only this snapshot's records: the 1,900 rows found
  // and the 150 added.
  cfgit::test::WriteFile(memos + "dev", dev);
  std::filesystem::remove(memos + "qa");
  {
    auto writer = store->NewSnapshot("prod");
    REQUIRE(writer.ok());
    REQUIRE((*writer)->BeginTable(keyed).ok());
    for (const Row& r : staged) REQUIRE((*writer)->AddRow(r).ok());  // the memo is in use
    cfgit::test::WriteFile(memos + "dev.new", "cfgit-fingerprints 3\n");
    std::filesystem::rename(memos + "dev.new", memos + "dev");
    REQUIRE((*writer)->EndTable().ok());
    REQUIRE((*writer)->FinishTree("sqlite").ok());
    REQUIRE((*writer)->WriteCommit({}, "prod", {"T", "t@x", 1, 0}).ok());
  }
  std::string prod = cfgit::test::ReadFile(memos + "prod");
  const size_t first_record = std::string("cfgit-fingerprints 3\n").size() + 8;
  CHECK(prod.compare(0, dev.size(), dev) != 0);
  CHECK(u64(prod, first_record - 8) == 2050);
  CHECK(MemoTree(*store, "prod", keyed, staged, false) == tree);

  // Rows mostly not in the borrowed memo (over a quarter of its records unused): the memo is
  // written anew, with only this snapshot's records.
  std::vector<Row> other;
  for (int64_t i = 0; i < 2000; ++i) other.push_back({Value::Integer(i), Value::Text("other")});
  std::filesystem::remove(memos + "stage");
  MemoTree(*store, "other", keyed, other, true);
  std::string fresh = cfgit::test::ReadFile(memos + "other");
  CHECK(fresh.find(prod.substr(first_record, 38)) == std::string::npos);  // prod's rows: gone
  CHECK(u64(fresh, first_record - 8) == 2000);
  CHECK(MemoTree(*store, "other", keyed, other, false) ==
        MemoTree(*store, "", keyed, other, false));
}

TEST_CASE("an edited snapshot equals the same content written from scratch", "[store][edit]") {
  TempDir dir;
  auto store = NewStore(dir);
  TableSchema keyed = Table("t");
  TableSchema keyless = Table("k", {});
  keyless.primary_key.clear();
  TableSchema gone = Table("gone");
  auto write = [&](const std::vector<std::pair<TableSchema, std::vector<Row>>>& tables) {
    auto writer = store->NewSnapshot();
    REQUIRE(writer.ok());
    for (const auto& [schema, rows] : tables) {
      REQUIRE((*writer)->BeginTable(schema).ok());
      for (const Row& r : rows) REQUIRE((*writer)->AddRow(r).ok());
      REQUIRE((*writer)->EndTable().ok());
    }
    auto tree = (*writer)->FinishTree("sqlite");
    REQUIRE(tree.ok());
    REQUIRE((*writer)->WriteCommit({}, "x", {"T", "t@x", 1, 0}).ok());
    return tree.value();
  };
  auto r = [](int64_t id, const char* v) { return Row{Value::Integer(id), Value::Text(v)}; };
  Oid before = write({{keyed, {r(1, "a"), r(2, "b"), r(3, "c")}},
                      {keyless, {r(1, "x"), r(1, "x"), r(2, "y")}},
                      {gone, {r(1, "g")}}});
  TableSchema wider = keyed;
  wider.name = "new";
  Oid expected = write({{keyed, {r(1, "A"), r(3, "c"), r(4, "d")}},
                        {keyless, {r(1, "x"), r(2, "y"), r(2, "y"), r(5, "z")}},
                        {wider, {r(9, "n")}}});

  auto editor = store->EditSnapshot(before);
  REQUIRE(editor.ok());
  auto& e = **editor;
  REQUIRE(e.PutRow(keyed, r(1, "A")).ok());  // replace
  REQUIRE(e.RemoveRow(keyed, r(2, "b")).ok());
  REQUIRE(e.PutRow(keyed, r(4, "d")).ok());
  REQUIRE(e.RemoveRow(keyless, r(1, "x")).ok());  // one of two copies
  REQUIRE(e.PutRow(keyless, r(2, "y")).ok());     // a second copy
  REQUIRE(e.PutRow(keyless, r(5, "z")).ok());
  REQUIRE(e.RemoveTable("gone").ok());
  REQUIRE(e.SetSchema(wider).ok());
  REQUIRE(e.PutRow(wider, r(9, "n")).ok());
  auto got = e.GetRow(keyed, {Value::Integer(1)});
  REQUIRE(got.ok());
  CHECK(**got == r(1, "A"));
  auto none = e.GetRow(keyed, {Value::Integer(2)});
  REQUIRE(none.ok());
  CHECK_FALSE(none->has_value());
  // HasRow: the same answers without reading rows (edited, removed, untouched, new, never there).
  for (auto [id, there] : {std::pair{1, true}, {2, false}, {3, true}, {4, true}, {7, false}}) {
    auto has = e.HasRow(keyed, {Value::Integer(id)});
    REQUIRE(has.ok());
    CHECK(*has == there);
  }
  auto has_new = e.HasRow(wider, {Value::Integer(9)});
  REQUIRE(has_new.ok());
  CHECK(*has_new);
  auto tree = e.Finish();
  REQUIRE(tree.ok());
  CHECK(tree->Hex() == expected.Hex());

  // Copying a table from another snapshot, and a commit of the edit that stock git checks.
  auto second = store->EditSnapshot(before);
  REQUIRE(second.ok());
  REQUIRE((*second)->CopyTable(expected, "t").ok());
  REQUIRE((*second)->CopyTable(expected, "gone").ok());  // absent there: removed
  auto copied = (*second)->Finish();
  REQUIRE(copied.ok());
  auto tables = store->ListTables(*copied);
  REQUIRE(tables.ok());
  REQUIRE(tables->size() == 2);
  auto row = store->ReadRow(*copied, keyed, {Value::Integer(4)});
  REQUIRE(row.ok());
  CHECK(**row == r(4, "d"));
  auto commit = (*second)->WriteCommit(*copied, {}, "edited", {"T", "t@x", 1, 0});
  REQUIRE(commit.ok());
  REQUIRE(store->UpdateRef("refs/heads/e", *commit, std::nullopt, "test").ok());
  CHECK(Shell(dir.path(), "git --git-dir=.cfgit fsck --strict").exit_code == 0);

  // The same edits placing row files that are stored already (PutRowFile): the same tree.
  std::map<std::string, Oid> files;  // file name in `expected` -> id
  REQUIRE(store
              ->DiffTrees(before, expected,
                          [&](const cfgit::TreeChange& c) {
                            if (c.after) files[c.path.substr(c.path.rfind('/') + 1)] = *c.after;
                            return cfgit::Status::Ok();
                          })
              .ok());
  REQUIRE(files.count("1.yaml"));
  REQUIRE(files.count("4.yaml"));
  auto third = store->EditSnapshot(before);
  REQUIRE(third.ok());
  auto& f = **third;
  REQUIRE(f.PutRowFile(keyed, r(1, "A"), files["1.yaml"]).ok());
  REQUIRE(f.RemoveRow(keyed, r(2, "b")).ok());
  REQUIRE(f.PutRowFile(keyed, r(4, "d"), files["4.yaml"]).ok());
  REQUIRE(f.RemoveRow(keyless, r(1, "x")).ok());
  REQUIRE(f.PutRowFile(keyless, r(2, "y"), files["1.yaml"]).ok());  // keyless: encoded (PutRow)
  REQUIRE(f.PutRow(keyless, r(5, "z")).ok());
  REQUIRE(f.RemoveTable("gone").ok());
  REQUIRE(f.SetSchema(wider).ok());
  REQUIRE(f.PutRow(wider, r(9, "n")).ok());
  auto placed = f.Finish();
  REQUIRE(placed.ok());
  CHECK(placed->Hex() == expected.Hex());
}

TEST_CASE("the editor writes trees in cfgit's form even where it edits one that is not",
          "[store][edit]") {
  // Most edits only give entries new ids, and the editor writes those into the tree's bytes; a
  // tree in another form (here stock git made a row file executable) is written anew.
  TempDir dir;
  auto store = NewStore(dir);
  Oid canonical = WriteTree(*store, NumberedRows(300));
  auto line = [](std::string out) { return out.substr(0, out.find('\n')); };
  auto path = Shell(dir.path(), "git --git-dir=.cfgit ls-tree -r --name-only " + canonical.Hex() +
                                    " | grep '/7[.]yaml$'");
  REQUIRE(path.exit_code == 0);
  const std::string file = line(path.out), tree = canonical.Hex();
  auto made =
      Shell(dir.path(), "export GIT_DIR=.cfgit GIT_INDEX_FILE=$PWD/index && git read-tree " + tree +
                            " && git update-index --cacheinfo 100755,$(git rev-parse " + tree +
                            ":" + file + ")," + file + " && git write-tree");
  INFO(made.err);
  REQUIRE(made.exit_code == 0);
  auto other_form = Oid::FromHex(line(made.out));
  REQUIRE(other_form.ok());
  REQUIRE_FALSE(*other_form == canonical);

  std::vector<Row> rows = NumberedRows(300);
  rows[7] = R(7, "seven");
  rows[8] = R(8, "eight");
  Oid expected = WriteTree(*store, rows);
  for (const Oid& from : {canonical, *other_form}) {
    auto editor = store->EditSnapshot(from);
    REQUIRE(editor.ok());
    REQUIRE((*editor)->PutRow(Table("t"), rows[7]).ok());
    REQUIRE((*editor)->PutRow(Table("t"), rows[8]).ok());
    auto edited = (*editor)->Finish();
    REQUIRE(edited.ok());
    CHECK(edited->Hex() == expected.Hex());
  }
}

TEST_CASE("a merge state round-trips through the store, compare-and-swap", "[store][merge]") {
  TempDir dir;
  auto store = NewStore(dir);
  Oid a = Commit(*store, {{Value::Integer(1), Value::Text("a")}});
  Oid b = Commit(*store, {{Value::Integer(1), Value::Text("b")}});
  auto info = store->ReadCommit(b);
  REQUIRE(info.ok());
  cfgit::MergeState state;
  state.target = "staging";
  state.source = "dev-bob";
  state.ours = a;
  state.theirs = b;
  state.result = info->tree;
  state.message = "Merge dev-bob into staging\n\n users: 1 rows from theirs\n";
  cfgit::Conflict c;
  c.table = "users";
  c.kind = cfgit::ConflictKind::kModifyDelete;
  c.key_columns = {"id"};
  c.key = {Value::Integer(7)};
  c.row_columns = {"id", "name"};
  c.base = Row{Value::Integer(7), Value::Text("it's\nmultiline")};
  c.ours = Row{Value::Integer(7), Value::Blob(std::string("\0\1", 2))};
  c.detail = "ours changed the row, theirs deleted it";
  cfgit::Conflict schema;
  schema.table = "odd table";
  schema.kind = cfgit::ConflictKind::kSchema;
  schema.columns = {"x"};
  schema.detail = "column x changed on both sides";
  state.conflicts = {c, schema};
  cfgit::Signature sig{"T", "t@x", 1, 0};
  REQUIRE(store->WriteMergeState(state, std::nullopt, sig).ok());
  // Only one merge per target: writing again without the current id is refused.
  CHECK(store->WriteMergeState(state, std::nullopt, sig).code() == Code::kNeedsAttention);

  auto read = store->ReadMergeState("staging");
  REQUIRE(read.ok());
  REQUIRE(read->has_value());
  const cfgit::MergeState& got = **read;
  CHECK(got.source == "dev-bob");
  CHECK(got.ours == a);
  CHECK(got.theirs == b);
  CHECK_FALSE(got.base.has_value());
  CHECK(got.result == info->tree);
  CHECK(got.message == state.message);
  REQUIRE(got.conflicts.size() == 2);
  CHECK(got.conflicts[0].kind == cfgit::ConflictKind::kModifyDelete);
  CHECK(got.conflicts[0].key == c.key);
  CHECK(got.conflicts[0].base == c.base);
  CHECK(got.conflicts[0].ours == c.ours);
  CHECK_FALSE(got.conflicts[0].theirs.has_value());
  CHECK(got.conflicts[1].table == "odd table");
  CHECK(got.conflicts[1].key.empty());
  CHECK(got.conflicts[1].columns == std::vector<std::string>{"x"});

  cfgit::MergeState next = got;
  next.conflicts.pop_back();
  REQUIRE(store->WriteMergeState(next, got.id, sig).ok());
  CHECK(store->WriteMergeState(next, got.id, sig).code() == Code::kNeedsAttention);  // stale id
  auto list = store->ListMergeStates();
  REQUIRE(list.ok());
  CHECK(*list == std::vector<std::string>{"staging"});
  CHECK(
      Shell(dir.path(), "git --git-dir=.cfgit log --oneline refs/cfgit/merge/staging").exit_code ==
      0);
  REQUIRE(store->DeleteMergeState("staging").ok());
  auto after = store->ReadMergeState("staging");
  REQUIRE(after.ok());
  CHECK_FALSE(after->has_value());
}

namespace {

// A tree written by stock git (`git mktree`, loose), from "<mode> <type> <id>\t<name>" lines;
// ids need not exist.
Oid MakeTree(const TempDir& dir, const std::vector<std::string>& lines) {
  std::string input;
  for (const std::string& l : lines) input += l + "\n";
  cfgit::test::WriteFile(dir / "mktree.txt", input);
  auto made = Shell(dir.path(), "git --git-dir=.cfgit mktree --missing < mktree.txt");
  INFO(made.err);
  REQUIRE(made.exit_code == 0);
  auto id = Oid::FromHex(made.out.substr(0, 40));
  REQUIRE(id.ok());
  return *id;
}

std::string FakeId(int i) {
  char hex[41];
  std::snprintf(hex, sizeof hex, "%040x", 0x5eed00 + i);
  return hex;
}

// The changes between two trees, as "path old new" lines (a side without the file: zeros).
std::vector<std::string> Changes(const Store& store, const std::optional<Oid>& a, const Oid& b,
                                 cfgit::KeepTrees keep) {
  std::vector<std::string> out;
  const std::string none(40, '0');
  auto s = store.DiffTrees(a, b, keep, [&](const cfgit::TreeChange& c) {
    out.push_back(c.path + " " + (c.before ? c.before->Hex() : none) + " " +
                  (c.after ? c.after->Hex() : none));
    return cfgit::Status::Ok();
  });
  INFO(s.message());
  REQUIRE(s.ok());
  return out;
}

}  // namespace

namespace {

// Two trees of 100 directories (both wide enough for a diff to split), 40 of which differ, with
// `extra` more files each on b's side: the second half of them is walked on a second thread.
// Added and removed directories and files sit between them, and a file of one name against a
// directory of the same name. The differing subtrees of b, in order, come back in `changed`.
struct WideTrees {
  Oid a, b;
  std::vector<Oid> changed;
};
WideTrees MakeWideTrees(const TempDir& dir, int extra) {
  WideTrees out;
  std::vector<std::string> a, b;
  for (int i = 0; i < 100; ++i) {
    char name[8];
    std::snprintf(name, sizeof name, "d%02d", i);
    Oid same = MakeTree(dir, {"100644 blob " + FakeId(1000 + i) + "\tx",
                              "100644 blob " + FakeId(2000 + i) + "\ty"});
    a.push_back("040000 tree " + same.Hex() + "\t" + name);
    if (i % 5 == 3) continue;  // a directory only a has
    if (i % 5 == 1 || i % 5 == 2) {
      std::vector<std::string> files = {"100644 blob " + FakeId(1000 + i) + "\tx",
                                        "100644 blob " + FakeId(3000 + i) + "\ty",
                                        "100644 blob " + FakeId(4000 + i) + "\tz"};
      for (int f = 0; f < extra; ++f) {
        char file[16];
        std::snprintf(file, sizeof file, "z%05d", f);
        files.push_back("100644 blob " + FakeId(100000 + i * extra + f) + "\t" + file);
      }
      Oid other = MakeTree(dir, files);
      b.push_back("040000 tree " + other.Hex() + "\t" + name);
      out.changed.push_back(other);
    } else {
      b.push_back("040000 tree " + same.Hex() + "\t" + name);
    }
    if (i % 10 == 4) b.push_back("100644 blob " + FakeId(5000 + i) + "\t" + name + "f");
  }
  a.push_back("100644 blob " + FakeId(9) + "\tz");
  b.push_back("040000 tree " + MakeTree(dir, {"100644 blob " + FakeId(8) + "\tq"}).Hex() + "\tz");
  out.a = MakeTree(dir, a);
  out.b = MakeTree(dir, b);
  return out;
}

std::vector<std::string> GitDiffTree(const TempDir& dir, const Oid& a, const Oid& b) {
  auto git = Shell(dir.path(), "git --git-dir=.cfgit diff-tree -r --no-renames " + a.Hex() + " " +
                                   b.Hex() + " | awk '{print $6, $3, $4}'");
  REQUIRE(git.exit_code == 0);
  std::vector<std::string> out;
  for (size_t at = 0, nl; (nl = git.out.find('\n', at)) != std::string::npos; at = nl + 1) {
    out.push_back(git.out.substr(at, nl - at));
  }
  return out;
}

TEST_CASE("a rows diff is kept as walked and replayed for exactly its pair of trees when sound",
          "[store][rows-diffs]") {
  TempDir dir;
  auto store = NewStore(dir);
  // Wide enough for the walk to split onto its second thread (64 entries a side, 16 differing
  // subtrees: here all 256 of rows/ and a few thousand changes).
  std::vector<Row> rows;
  for (int i = 0; i < 20000; ++i) rows.push_back(R(i, "x"));
  Oid a = WriteTree(*store, rows);
  for (int i = 0; i < 20000; i += 9) rows[i] = R(i, "changed");
  rows.erase(rows.begin() + 100, rows.begin() + 600);
  for (int i = 0; i < 700; ++i) rows.push_back(R(100000 + i, "new"));
  Oid b = WriteTree(*store, rows);
  auto rows_tree = [&](const Oid& root) {
    auto tables = store->ListTables(root);
    REQUIRE(tables.ok());
    REQUIRE(tables->size() == 1);
    REQUIRE(tables->front().rows.has_value());
    return *tables->front().rows;
  };
  const Oid ra = rows_tree(a), rb = rows_tree(b);
  const std::vector<std::string> walked = Changes(*store, ra, rb, cfgit::KeepTrees::kNone);
  REQUIRE(walked.size() == 2223 - 55 + 500 + 700);  // 55 of the changed rows were deleted
  cfgit::RowsDiffs kept(store->path() + "/cfgit/rows-diffs");
  CHECK_FALSE(kept.Find(ra, rb).has_value());

  // DiffAndKeepRowsDiffs reports what DiffTrees does, and keeps the rows trees' changes as the
  // walk of the rows trees alone reports them.
  std::vector<std::string> reported;
  REQUIRE(store
              ->DiffAndKeepRowsDiffs(a, b,
                                     [&](const cfgit::TreeChange& c) {
                                       reported.push_back(c.path);
                                       return cfgit::Status::Ok();
                                     })
              .ok());
  std::vector<std::string> roots_walked;
  REQUIRE(store
              ->DiffTrees(a, b,
                          [&](const cfgit::TreeChange& c) {
                            roots_walked.push_back(c.path);
                            return cfgit::Status::Ok();
                          })
              .ok());
  CHECK(reported == roots_walked);
  CHECK(reported.front().rfind("tables/t/rows/", 0) == 0);
  auto found = kept.Find(ra, rb);
  REQUIRE(found.has_value());
  CHECK(found->size() == walked.size());
  CHECK(Changes(*store, ra, rb, cfgit::KeepTrees::kNone) == walked);
  // Only for that pair: not the reverse, not the snapshots' roots.
  CHECK_FALSE(kept.Find(rb, ra).has_value());
  CHECK_FALSE(kept.Find(a, b).has_value());

  // What is kept is what DiffTrees reports for the pair: a made-up diff is replayed.
  const Oid fake = Oid::FromHex(FakeId(1)).value();
  REQUIRE(kept.Keep(ra, rb, {{"00/00/made-up.yaml", std::nullopt, fake}}).ok());
  const std::string none(40, '0');
  CHECK(Changes(*store, ra, rb, cfgit::KeepTrees::kNone) ==
        std::vector<std::string>{"00/00/made-up.yaml " + none + " " + fake.Hex()});

  // Cut short, a byte changed, or under another pair's name: not used; the trees are walked.
  const std::string path = kept.PathOf(ra, rb);
  const std::string sound = cfgit::test::ReadFile(path);
  cfgit::test::WriteFile(path, sound.substr(0, sound.size() - 1));
  CHECK(Changes(*store, ra, rb, cfgit::KeepTrees::kNone) == walked);
  std::string flipped = sound;
  flipped[flipped.size() / 2] ^= 1;
  cfgit::test::WriteFile(path, flipped);
  CHECK(Changes(*store, ra, rb, cfgit::KeepTrees::kNone) == walked);
  std::filesystem::remove(path);
  cfgit::test::WriteFile(kept.PathOf(rb, ra), sound);
  CHECK(Changes(*store, rb, ra, cfgit::KeepTrees::kNone).size() == walked.size());

  // Checksum sound but the body not: a count past the changes, flags of neither side, a path
  // running past the end, a byte after the last change, a count over the limit. None is used.
  auto resealed = [&](std::string bytes) {
    bytes.resize(bytes.size() - 8);
    cfgit::PutU64(&bytes, XXH3_64bits(bytes.data(), bytes.size()));
    return bytes;
  };
  const size_t count_at = std::string_view("cfgit-rows-diff 1\n").size() + 40;
  std::string one;
  REQUIRE(kept.Keep(ra, rb, {{"00/00/made-up.yaml", std::nullopt, fake}}).ok());
  one = cfgit::test::ReadFile(path);
  REQUIRE(kept.Find(ra, rb).has_value());
  std::string more = one;
  more[count_at] = 2;
  std::string no_side = one;
  no_side[count_at + 8] = 0;
  std::string long_path = one;
  long_path[count_at + 8 + 1 + 20] = static_cast<char>(0xff);
  std::string trailing = one;
  trailing.insert(trailing.size() - 8, "x");
  std::string too_many = one;
  cfgit::StoreU64(&too_many[count_at], cfgit::RowsDiffs::kMaxChanges + 1);
  for (const std::string* bad : {&more, &no_side, &long_path, &trailing, &too_many}) {
    cfgit::test::WriteFile(path, resealed(*bad));
    CHECK_FALSE(kept.Find(ra, rb).has_value());
    CHECK(Changes(*store, ra, rb, cfgit::KeepTrees::kNone) == walked);
  }
  // A change without a path or ids is refused, naming the file; so are too many changes.
  auto bad = kept.Keep(ra, rb, {{"", std::nullopt, std::nullopt}});
  CHECK_FALSE(bad.ok());
  CHECK_THAT(bad.message(), Catch::Contains(path));
  std::vector<cfgit::TreeChange> many(cfgit::RowsDiffs::kMaxChanges + 1,
                                      {"00/00/x.yaml", std::nullopt, fake});
  CHECK_FALSE(kept.Keep(ra, rb, many).ok());
}

TEST_CASE("rows diffs are pruned oldest first past their limits and one not written fails nothing",
          "[store][rows-diffs]") {
  TempDir dir;
  auto store = NewStore(dir);
  Oid a = WriteTree(*store, {R(1, "a"), R(2, "b")});
  Oid b = WriteTree(*store, {R(1, "a"), R(2, "c")});
  const std::string diffs = store->path() + "/cfgit/rows-diffs";
  std::filesystem::create_directories(diffs);
  // More files than the limit, all older than the one the next diff keeps.
  const auto old = std::filesystem::file_time_type::clock::now() - std::chrono::hours(1);
  for (size_t i = 0; i < cfgit::RowsDiffs::kMaxFiles + 10; ++i) {
    const std::string f = diffs + "/old-" + std::to_string(i);
    cfgit::test::WriteFile(f, "x");
    std::filesystem::last_write_time(f, old + std::chrono::seconds(i));
  }
  auto count = [&] {
    size_t n = 0;
    for (const auto& e : std::filesystem::directory_iterator(diffs)) n += e.is_regular_file();
    return n;
  };
  auto ignore = [](const cfgit::TreeChange&) { return cfgit::Status::Ok(); };
  REQUIRE(store->DiffAndKeepRowsDiffs(a, b, ignore).ok());
  CHECK(count() == cfgit::RowsDiffs::kMaxFiles * 3 / 4);
  cfgit::RowsDiffs kept(diffs);
  auto rows_of = [&](const Oid& root) { return *store->ListTables(root)->front().rows; };
  CHECK(kept.Find(rows_of(a), rows_of(b)).has_value());
  // The oldest went: the first of the old files, not the last.
  CHECK_FALSE(std::filesystem::exists(diffs + "/old-0"));
  CHECK(std::filesystem::exists(diffs + "/old-" + std::to_string(cfgit::RowsDiffs::kMaxFiles + 9)));

  // Where the directory cannot be made (a file is in the way), the diff is reported all the same.
  std::filesystem::remove_all(diffs);
  cfgit::test::WriteFile(diffs, "in the way");
  std::vector<std::string> seen;
  REQUIRE(store
              ->DiffAndKeepRowsDiffs(a, b,
                                     [&](const cfgit::TreeChange& c) {
                                       seen.push_back(c.path);
                                       return cfgit::Status::Ok();
                                     })
              .ok());
  CHECK(seen.size() == 1);
}

}  // namespace

TEST_CASE("a wide diff walked on two threads gives Git's changes in Git's order", "[store][git]") {
  TempDir dir;
  REQUIRE(Store::Init(dir / ".cfgit").ok());
  WideTrees t = MakeWideTrees(dir, 0);
  std::vector<std::string> expected = GitDiffTree(dir, t.a, t.b);
  // 40 changed directories (x kept, y changed, z added), 20 gone (x, y), 10 new files, and z.
  REQUIRE(expected.size() == 40 * 2 + 20 * 2 + 10 + 2);
  auto store = Store::Open(dir / ".cfgit");
  REQUIRE(store.ok());
  for (auto keep : {cfgit::KeepTrees::kNone, cfgit::KeepTrees::kBoth}) {
    CHECK(Changes(**store, t.a, t.b, keep) == expected);
    CHECK(Changes(**store, t.b, t.a, keep).size() == expected.size());
  }
  // A subtree that cannot be read fails the walk, in either half, naming it.
  for (const Oid& missing : {t.changed.front(), t.changed.back()}) {
    auto fresh = Store::Open(dir / ".cfgit");
    REQUIRE(fresh.ok());
    std::string loose =
        ".cfgit/objects/" + missing.Hex().substr(0, 2) + "/" + missing.Hex().substr(2);
    REQUIRE(Shell(dir.path(), "mv " + loose + " moved").exit_code == 0);
    auto failed =
        (*fresh)->DiffTrees(t.a, t.b, [](const cfgit::TreeChange&) { return cfgit::Status::Ok(); });
    CHECK_THAT(failed.message(), Catch::Contains("reading tree " + missing.Short()));
    REQUIRE(Shell(dir.path(), "mv moved " + loose).exit_code == 0);
  }
  // A callback's error stops the walk and is returned, from the first half and the second.
  for (size_t stop : {size_t{3}, expected.size() - 2}) {
    size_t seen = 0;
    auto stopped = (*store)->DiffTrees(t.a, t.b, [&](const cfgit::TreeChange&) {
      return ++seen == stop ? cfgit::Status::Invalid("stop here") : cfgit::Status::Ok();
    });
    CHECK_THAT(stopped.message(), Catch::Contains("stop here"));
    CHECK(seen == stop);
  }
  // The same trees packed (whole objects, as cfgit writes them): read by the store's pack
  // reader on both threads.
  auto packed = Shell(dir.path(),
                      "cd .cfgit/objects && find ?? -type f | tr -d / | git --git-dir=.. "
                      "pack-objects -q --window=0 pack/pack >/dev/null && git --git-dir=.. "
                      "prune-packed && find ?? -type f 2>/dev/null | wc -l");
  INFO(packed.err);
  CHECK(packed.out == "0\n");  // no loose object left
  auto reopened = Store::Open(dir / ".cfgit");
  REQUIRE(reopened.ok());
  CHECK(Changes(**reopened, t.a, t.b, cfgit::KeepTrees::kNone) == expected);
}

TEST_CASE("a diff's second thread keeps a bounded number of changes", "[store][git]") {
  // 40 changed directories of 3,500 more files each: the second half's 70,000 changes are more
  // than the second thread keeps (65,536); the walk goes on from where it stopped.
  TempDir dir;
  REQUIRE(Store::Init(dir / ".cfgit").ok());
  WideTrees t = MakeWideTrees(dir, 3500);
  std::vector<std::string> expected = GitDiffTree(dir, t.a, t.b);
  REQUIRE(expected.size() == 40 * (2 + 3500) + 20 * 2 + 10 + 2);
  auto store = Store::Open(dir / ".cfgit");
  REQUIRE(store.ok());
  std::vector<std::string> got = Changes(**store, t.a, t.b, cfgit::KeepTrees::kNone);
  CHECK(got.size() == expected.size());
  // The first difference, if any (printing 140,000 lines would take Catch minutes).
  auto diverge = std::mismatch(got.begin(), got.end(), expected.begin(), expected.end());
  CHECK(diverge.first == got.end());
  if (diverge.first != got.end()) {
    CHECK(*diverge.first == (diverge.second != expected.end() ? *diverge.second : ""));
  }
}

TEST_CASE("trees are walked in Git's order, kept when asked, and refused when damaged",
          "[store][git]") {
  TempDir dir;
  REQUIRE(Store::Init(dir / ".cfgit").ok());
  // Names where a tree's sorting as "name/" matters ("a-" < "a.b" < "a/" < "a0"), and 300
  // files: over 4 KiB, more than libgit2 keeps in its own cache.
  Oid sub_a = MakeTree(dir, {"100644 blob " + FakeId(1) + "\tx"});
  Oid sub_b =
      MakeTree(dir, {"100644 blob " + FakeId(2) + "\tx", "100644 blob " + FakeId(3) + "\ty"});
  std::vector<std::string> files;
  for (int i = 0; i < 300; ++i) {
    char name[8];
    std::snprintf(name, sizeof name, "f%03d", i);
    files.push_back("100644 blob " + FakeId(100 + i) + "\t" + name);
  }
  std::vector<std::string> a = files, b = files;
  a.push_back("100644 blob " + FakeId(4) + "\ta-");
  a.push_back("100644 blob " + FakeId(5) + "\ta.b");
  a.push_back("040000 tree " + sub_a.Hex() + "\ta");
  a.push_back("100644 blob " + FakeId(6) + "\ta0");
  b.push_back("100644 blob " + FakeId(4) + "\ta-");
  b.push_back("040000 tree " + sub_b.Hex() + "\ta");
  b.push_back("100644 blob " + FakeId(7) + "\ta0");
  b.push_back("100644 blob " + FakeId(8) + "\ta.c");
  b[150] = "100644 blob " + FakeId(9) + "\tf150";
  Oid ta = MakeTree(dir, a), tb = MakeTree(dir, b);

  // The same changes, in the same order, as stock git finds.
  auto git = Shell(dir.path(), "git --git-dir=.cfgit diff-tree -r --no-renames " + ta.Hex() + " " +
                                   tb.Hex() + " | awk '{print $6, $3, $4}'");
  REQUIRE(git.exit_code == 0);
  std::vector<std::string> expected;
  for (size_t at = 0, nl; (nl = git.out.find('\n', at)) != std::string::npos; at = nl + 1) {
    expected.push_back(git.out.substr(at, nl - at));
  }
  REQUIRE(expected.size() == 6);  // a.b, a.c, a/x, a/y, a0, f150
  {
    auto store = Store::Open(dir / ".cfgit");
    REQUIRE(store.ok());
    CHECK(Changes(**store, ta, tb, cfgit::KeepTrees::kNone) == expected);
    // Nothing kept: once the loose objects are gone, the walk cannot read the big tree.
    REQUIRE(Shell(dir.path(), "mkdir away && mv .cfgit/objects/?? away/").exit_code == 0);
    auto gone =
        (*store)->DiffTrees(ta, tb, [](const cfgit::TreeChange&) { return cfgit::Status::Ok(); });
    CHECK_FALSE(gone.ok());
    CHECK_THAT(gone.message(), Catch::Contains("reading tree " + ta.Short()));
    REQUIRE(Shell(dir.path(), "mv away/* .cfgit/objects/ && rmdir away").exit_code == 0);
  }
  {
    auto store = Store::Open(dir / ".cfgit");
    REQUIRE(store.ok());
    CHECK(Changes(**store, ta, tb, cfgit::KeepTrees::kBoth) == expected);
    // Kept: the same handle walks them again without the objects; a new handle cannot.
    REQUIRE(Shell(dir.path(), "mkdir away && mv .cfgit/objects/?? away/").exit_code == 0);
    CHECK(Changes(**store, ta, tb, cfgit::KeepTrees::kNone) == expected);
    CHECK(Changes(**store, tb, ta, cfgit::KeepTrees::kNone).size() == expected.size());
    auto fresh = Store::Open(dir / ".cfgit");
    REQUIRE(fresh.ok());
    CHECK_FALSE(
        (*fresh)
            ->DiffTrees(ta, tb, [](const cfgit::TreeChange&) { return cfgit::Status::Ok(); })
            .ok());
    REQUIRE(Shell(dir.path(), "mv away/* .cfgit/objects/ && rmdir away").exit_code == 0);
  }
  {
    // Only the first side's trees kept.
    auto store = Store::Open(dir / ".cfgit");
    REQUIRE(store.ok());
    CHECK(Changes(**store, ta, tb, cfgit::KeepTrees::kFrom) == expected);
    REQUIRE(Shell(dir.path(), "mkdir away && mv .cfgit/objects/?? away/").exit_code == 0);
    CHECK(Changes(**store, std::nullopt, ta, cfgit::KeepTrees::kNone).size() == 304);
    auto walk = [](const cfgit::TreeChange&) { return cfgit::Status::Ok(); };
    CHECK_FALSE((*store)->DiffTrees(std::nullopt, tb, walk).ok());
    REQUIRE(Shell(dir.path(), "mv away/* .cfgit/objects/ && rmdir away").exit_code == 0);
  }

  // A table directory whose "rows" tree sorts after the files "rows-" and "rows.x".
  Oid rows = MakeTree(dir, {"100644 blob " + FakeId(10) + "\tr.yaml"});
  Oid table = MakeTree(
      dir, {"100644 blob " + FakeId(11) + "\trows-", "100644 blob " + FakeId(12) + "\trows.x",
            "040000 tree " + rows.Hex() + "\trows", "100644 blob " + FakeId(13) + "\tschema.yaml"});
  Oid tables = MakeTree(dir, {"040000 tree " + table.Hex() + "\tt"});
  Oid root = MakeTree(dir, {"040000 tree " + tables.Hex() + "\ttables"});
  auto store = Store::Open(dir / ".cfgit");
  REQUIRE(store.ok());
  auto listed = (*store)->ListTables(root);
  REQUIRE(listed.ok());
  REQUIRE(listed->size() == 1);
  CHECK((*listed)[0].name == "t");
  CHECK((*listed)[0].rows == rows);
  CHECK((*listed)[0].schema.Hex() == FakeId(13));

  // Damaged trees, and an object that is not a tree, are refused naming the object.
  auto literal = [&](const std::string& printf_bytes, const char* type) {
    auto made = Shell(dir.path(), "printf '" + printf_bytes + "' | git --git-dir=.cfgit " +
                                      "hash-object --literally -w --stdin -t " + type);
    REQUIRE(made.exit_code == 0);
    auto id = Oid::FromHex(made.out.substr(0, 40));
    REQUIRE(id.ok());
    return *id;
  };
  for (const auto& [bytes, why] : std::vector<std::pair<std::string, std::string>>{
           {"100644 nonul", "no name"}, {"100644 x\\0short", "cut short"}, {"nomode", "no mode"}}) {
    Oid bad = literal(bytes, "tree");
    auto walked = (*store)->DiffTrees(std::nullopt, bad,
                                      [](const cfgit::TreeChange&) { return cfgit::Status::Ok(); });
    INFO(bytes);
    REQUIRE_FALSE(walked.ok());
    CHECK_THAT(walked.message(), Catch::Contains("tree " + bad.Short() + " is damaged"));
    CHECK_THAT(walked.message(), Catch::Contains(why));
  }
  Oid not_octal = literal("10x644 f\\0" + std::string(20, 'a'), "tree");
  auto odd = (*store)->DiffTrees(std::nullopt, not_octal,
                                 [](const cfgit::TreeChange&) { return cfgit::Status::Ok(); });
  CHECK_THAT(odd.message(), Catch::Contains("mode is not octal"));
  // A directory's mode written with a leading zero, as Git accepts it, is still a directory.
  std::string raw_id;
  for (unsigned char byte : sub_a.bytes) {
    char esc[8];
    std::snprintf(esc, sizeof esc, "\\%03o", byte);
    raw_id += esc;
  }
  Oid padded = literal("040000 d\\0" + raw_id, "tree");
  CHECK(Changes(**store, std::nullopt, padded, cfgit::KeepTrees::kNone) ==
        std::vector<std::string>{"d/x " + std::string(40, '0') + " " + FakeId(1)});
  Oid blob = literal("hello", "blob");
  auto not_tree = (*store)->ListTables(blob);
  REQUIRE_FALSE(not_tree.ok());
  CHECK_THAT(not_tree.status().message(), Catch::Contains(blob.Short() + " is not a tree"));
}
