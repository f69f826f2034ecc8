// The Git store: snapshot trees, packs, refs, locking, tree diffs. Checked with stock git too.
#include "store/store.h"

#include <catch2/catch.hpp>
#include <filesystem>
#include <thread>

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

TEST_CASE("NULL and duplicate key values are refused, naming the rows", "[store]") {
  TempDir dir;
  auto store = NewStore(dir);
  auto writer = store->NewSnapshot();
  REQUIRE(writer.ok());
  TableSchema s = Table("roles", {"name"});
  REQUIRE((*writer)->BeginTable(s).ok());
  REQUIRE((*writer)->AddRow(R(1, "admin")).ok());
  REQUIRE((*writer)->AddRow(R(2, "admin")).ok());
  REQUIRE((*writer)->AddRow(R(3, "member")).ok());
  auto dup = (*writer)->EndTable();
  CHECK(dup.status().code() == Code::kNeedsAttention);
  CHECK_THAT(dup.status().message(), Catch::Contains("not unique"));
  CHECK_THAT(dup.status().message(), Catch::Contains("'admin'"));
  CHECK_THAT(dup.status().message(), !Catch::Contains("'member'"));

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
  const size_t first_blob = std::string("cfgit-fingerprints 1\n").size() + 16;
  REQUIRE(tampered.size() > first_blob + 20);
  for (size_t i = 0; i < 20; ++i) tampered[first_blob + i] = static_cast<char>(0x42);
  cfgit::test::WriteFile(memo_path, tampered);
  CHECK_FALSE(MemoTree(*store, "dev", keyed, rows, false) ==
              MemoTree(*store, "", keyed, rows, false));

  // A truncated or foreign file is ignored.
  cfgit::test::WriteFile(memo_path, before.substr(0, before.size() - 3));
  CHECK(MemoTree(*store, "dev", keyed, rows, false) == MemoTree(*store, "", keyed, rows, false));
  cfgit::test::WriteFile(memo_path, "not a memo");
  CHECK(MemoTree(*store, "dev", keyed, rows, false) == MemoTree(*store, "", keyed, rows, false));
}
