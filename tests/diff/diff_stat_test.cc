// DiffStat: per-table counts of a change between two snapshots.
#include <catch2/catch.hpp>

#include "diff/diff.h"
#include "tests/support/support.h"

using cfgit::Oid;
using cfgit::Row;
using cfgit::TableSchema;
using cfgit::Value;

namespace {

TableSchema Table(const std::string& name) {
  TableSchema s;
  s.name = name;
  s.columns = {{"id", "INTEGER", true}, {"v", "TEXT"}};
  s.primary_key = s.key = {"id"};
  return s;
}

Oid Snapshot(cfgit::Store& store,
             const std::vector<std::pair<TableSchema, std::vector<Row>>>& tables) {
  auto writer = store.NewSnapshot();
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
}

Row R(int64_t id, const char* v) { return {Value::Integer(id), Value::Text(v)}; }

}  // namespace

TEST_CASE("DiffStat counts rows and schema changes per table", "[diff]") {
  cfgit::test::TempDir dir;
  auto store = cfgit::Store::Init(dir / ".cfgit");
  REQUIRE(store.ok());
  TableSchema changed = Table("b");
  changed.columns.push_back({"extra", "TEXT"});
  Oid before = Snapshot(**store, {{Table("a"), {R(1, "x"), R(2, "y"), R(3, "z")}},
                                  {Table("b"), {R(1, "x")}},
                                  {Table("gone"), {R(1, "x")}}});
  Oid after = Snapshot(**store, {{Table("a"), {R(1, "x"), R(2, "Y"), R(4, "w")}},
                                 {changed, {{Value::Integer(1), Value::Text("x"), Value::Null()}}},
                                 {Table("new"), {R(1, "x"), R(2, "x")}}});
  auto stats = cfgit::DiffStat(**store, before, after);
  REQUIRE(stats.ok());
  REQUIRE(stats->size() == 4);
  const auto& a = stats->at(0);
  CHECK(a.table == "a");
  CHECK((a.added == 1 && a.deleted == 1 && a.modified == 1 && !a.schema_changed));
  const auto& b = stats->at(1);
  CHECK(b.table == "b");
  CHECK(b.schema_changed);
  CHECK(b.modified == 1);  // every row file gains "extra: null"
  const auto& gone = stats->at(2);
  CHECK((gone.table == "gone" && gone.table_removed && gone.deleted == 1));
  const auto& added = stats->at(3);
  CHECK((added.table == "new" && added.table_added && added.added == 2));

  auto same = cfgit::DiffStat(**store, after, after);
  REQUIRE(same.ok());
  CHECK(same->empty());
  auto from_nothing = cfgit::DiffStat(**store, std::nullopt, before);
  REQUIRE(from_nothing.ok());
  CHECK(from_nothing->size() == 3);
}
