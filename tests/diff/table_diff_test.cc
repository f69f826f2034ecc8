// DiffSnapshots, DiffSchemas, DiffCells and DiffJson: the tree walk, and the cell and JSON-path
// diff as named cases.
#include <algorithm>
#include <catch2/catch.hpp>
#include <set>

#include "diff/diff.h"
#include "tests/support/support.h"

using cfgit::CellChange;
using cfgit::Column;
using cfgit::Oid;
using cfgit::Row;
using cfgit::TableDiff;
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

Row R(int64_t id, const std::string& v) { return {Value::Integer(id), Value::Text(v)}; }

using Tables = std::vector<std::pair<TableSchema, std::vector<Row>>>;

// Builds a snapshot; with `write`, stores it (else the tree stays staged in `keep`).
Oid Snapshot(cfgit::Store& store, const Tables& tables, bool write = true,
             std::unique_ptr<cfgit::SnapshotWriter>* keep = nullptr) {
  auto writer = store.NewSnapshot();
  REQUIRE(writer.ok());
  for (const auto& [schema, rows] : tables) {
    REQUIRE((*writer)->BeginTable(schema).ok());
    for (const Row& r : rows) REQUIRE((*writer)->AddRow(r).ok());
    REQUIRE((*writer)->EndTable().ok());
  }
  auto tree = (*writer)->FinishTree("sqlite");
  REQUIRE(tree.ok());
  if (write) REQUIRE((*writer)->WriteCommit({}, "x", {"T", "t@x", 1, 0}).ok());
  if (keep) *keep = std::move(*writer);
  return tree.value();
}

std::vector<TableDiff> Diff(const cfgit::Store& store, std::optional<Oid> a, std::optional<Oid> b,
                            cfgit::DiffOptions options = {}) {
  std::vector<TableDiff> out;
  auto s = cfgit::DiffSnapshots(store, a, b, options, [&](TableDiff&& d) {
    out.push_back(std::move(d));
    return cfgit::Status::Ok();
  });
  REQUIRE(s.ok());
  return out;
}

// Counts blob reads, forwarding everything to a real store.
class CountingStore : public cfgit::Store {
 public:
  explicit CountingStore(cfgit::Store& s) : s_(s) {}
  mutable int blob_reads = 0, schema_reads = 0;
  const std::string& path() const override { return s_.path(); }
  cfgit::Result<cfgit::WriteLock> LockForWriting(std::chrono::milliseconds w) override {
    return s_.LockForWriting(w);
  }
  cfgit::Result<Oid> ResolveCommit(const std::string& r) const override {
    return s_.ResolveCommit(r);
  }
  cfgit::Result<std::optional<Oid>> ReadRef(const std::string& r) const override {
    return s_.ReadRef(r);
  }
  cfgit::Status UpdateRef(const std::string& r, const Oid& id, const std::optional<Oid>& e,
                          const std::string& m) override {
    return s_.UpdateRef(r, id, e, m);
  }
  cfgit::Status DeleteRef(const std::string& r) override { return s_.DeleteRef(r); }
  cfgit::Status AdoptHeadIfUnborn(const std::string& b) override { return s_.AdoptHeadIfUnborn(b); }
  cfgit::Result<cfgit::CommitInfo> ReadCommit(const Oid& id) const override {
    return s_.ReadCommit(id);
  }
  cfgit::Result<std::vector<cfgit::CommitInfo>> Log(const std::vector<Oid>& s,
                                                    size_t n) const override {
    return s_.Log(s, n);
  }
  cfgit::Result<std::vector<cfgit::CommitInfo>> LogRange(const std::vector<Oid>& i,
                                                         const std::vector<Oid>& e) const override {
    return s_.LogRange(i, e);
  }
  cfgit::Result<std::vector<RefMove>> Reflog(const std::string& r) const override {
    return s_.Reflog(r);
  }
  cfgit::Result<std::vector<cfgit::RefInfo>> ListRefs(const std::string& p) const override {
    return s_.ListRefs(p);
  }
  cfgit::Status CreateTag(const std::string& n, const Oid& t, const std::string& m,
                          const cfgit::Signature& s) override {
    return s_.CreateTag(n, t, m, s);
  }
  cfgit::Result<std::unique_ptr<cfgit::SnapshotWriter>> NewSnapshot(
      const std::string& cache, const cfgit::SnapshotWriter* share) override {
    return s_.NewSnapshot(cache, share);
  }
  cfgit::Result<TableSchema> ReadSchema(const Oid& blob) const override {
    ++schema_reads;
    return s_.ReadSchema(blob);
  }
  cfgit::Result<std::unique_ptr<cfgit::SnapshotEditor>> EditSnapshot(const Oid& t) override {
    return s_.EditSnapshot(t);
  }
  cfgit::Result<std::optional<Row>> ReadRow(const Oid& t, const TableSchema& s,
                                            const Row& k) const override {
    return s_.ReadRow(t, s, k);
  }
  cfgit::Result<std::optional<Oid>> MergeBase(const Oid& a, const Oid& b) const override {
    return s_.MergeBase(a, b);
  }
  cfgit::Result<std::optional<cfgit::MergeState>> ReadMergeState(
      const std::string& t) const override {
    return s_.ReadMergeState(t);
  }
  cfgit::Status WriteMergeState(const cfgit::MergeState& m, const std::optional<Oid>& e,
                                const cfgit::Signature& a) override {
    return s_.WriteMergeState(m, e, a);
  }
  cfgit::Status DeleteMergeState(const std::string& t) override { return s_.DeleteMergeState(t); }
  cfgit::Result<std::vector<std::string>> ListMergeStates() const override {
    return s_.ListMergeStates();
  }
  cfgit::Result<std::string> SnapshotDialect(const Oid& t) const override {
    return s_.SnapshotDialect(t);
  }
  cfgit::Result<std::vector<cfgit::TableEntry>> ListTables(const Oid& t) const override {
    return s_.ListTables(t);
  }
  cfgit::Result<std::string> ReadBlob(const Oid& id) const override {
    ++blob_reads;
    return s_.ReadBlob(id);
  }
  using cfgit::Store::DiffTrees;
  cfgit::Status DiffTrees(
      const std::optional<Oid>& a, const std::optional<Oid>& b, cfgit::KeepTrees keep,
      const std::function<cfgit::Status(const cfgit::TreeChange&)>& f) const override {
    return s_.DiffTrees(a, b, keep, f);
  }
  cfgit::Status DiffAndKeepRowsDiffs(
      const Oid& a, const Oid& b,
      const std::function<cfgit::Status(const cfgit::TreeChange&)>& f) const override {
    return s_.DiffAndKeepRowsDiffs(a, b, f);
  }
  cfgit::Signature DefaultSignature(const cfgit::Config& c) const override {
    return s_.DefaultSignature(c);
  }

 private:
  cfgit::Store& s_;
};

std::string Show(const std::optional<Value>& v) {
  return v ? cfgit::EncodeValue(*v) : std::string("(none)");
}

// "col: old -> new", or one line per JSON path: "col|path: old -> new".
std::vector<std::string> Lines(const std::vector<CellChange>& cells) {
  std::vector<std::string> out;
  for (const CellChange& c : cells) {
    if (!c.json) {
      out.push_back(c.column + ": " + Show(c.old_value) + " -> " + Show(c.new_value));
      continue;
    }
    if (c.json_changes.empty()) out.push_back(c.column + ": json-equal");
    for (const auto& j : c.json_changes) {
      out.push_back(c.column + "|" + j.path + ": " + j.old_json.value_or("(absent)") + " -> " +
                    j.new_json.value_or("(absent)"));
    }
  }
  return out;
}

}  // namespace

TEST_CASE("DiffSnapshots reports added, deleted and modified rows by key, sorted", "[diff]") {
  cfgit::test::TempDir dir;
  auto store = cfgit::Store::Init(dir / ".cfgit");
  REQUIRE(store.ok());
  Oid before = Snapshot(**store, {{Table("a"), {R(1, "x"), R(2, "y"), R(3, "z"), R(10, "t")}}});
  Oid after = Snapshot(**store, {{Table("a"), {R(1, "x"), R(2, "Y"), R(4, "w"), R(10, "T")}}});
  auto diffs = Diff(**store, before, after);
  REQUIRE(diffs.size() == 1);
  const TableDiff& d = diffs[0];
  CHECK(d.name == "a");
  CHECK(d.schema.empty());
  REQUIRE(d.added.size() == 1);
  CHECK(d.added[0].key == Row{Value::Integer(4)});
  CHECK(*d.added[0].new_row == R(4, "w"));
  REQUIRE(d.deleted.size() == 1);
  CHECK(*d.deleted[0].old_row == R(3, "z"));
  REQUIRE(d.modified.size() == 2);
  CHECK(d.modified[0].key == Row{Value::Integer(2)});  // numeric order: 2 before 10
  CHECK(d.modified[1].key == Row{Value::Integer(10)});
  CHECK(Lines(d.modified[0].cells) == std::vector<std::string>{"v: 'y' -> 'Y'"});

  // Reversed, the same change the other way round.
  auto back = Diff(**store, after, before);
  REQUIRE(back.size() == 1);
  CHECK(back[0].added.size() == 1);
  CHECK(*back[0].added[0].new_row == R(3, "z"));
  CHECK(Diff(**store, before, before).empty());
}

TEST_CASE("DiffSnapshots reads only the rows that differ", "[diff]") {
  cfgit::test::TempDir dir;
  auto store = cfgit::Store::Init(dir / ".cfgit");
  REQUIRE(store.ok());
  std::vector<Row> rows, changed;
  for (int64_t i = 0; i < 5000; ++i) rows.push_back(R(i, "v" + std::to_string(i)));
  changed = rows;
  changed[1234] = R(1234, "new");
  Oid before = Snapshot(**store, {{Table("big"), rows}, {Table("same"), rows}});
  Oid after = Snapshot(**store, {{Table("big"), changed}, {Table("same"), rows}});
  CountingStore counting(**store);
  auto diffs = Diff(counting, before, after);
  REQUIRE(diffs.size() == 1);
  CHECK(diffs[0].modified.size() == 1);
  // Two schema.yaml files and the old and new file of the one row.
  CHECK(counting.schema_reads == 2);
  CHECK(counting.blob_reads == 2);
}

TEST_CASE("DiffSnapshots without old rows: modified rows read once, the old one on demand",
          "[diff]") {
  cfgit::test::TempDir dir;
  auto store = cfgit::Store::Init(dir / ".cfgit");
  REQUIRE(store.ok());
  Oid before = Snapshot(**store, {{Table("a"), {R(1, "x"), R(2, "y"), R(3, "z")}}});
  Oid after = Snapshot(**store, {{Table("a"), {R(1, "x"), R(2, "Y"), R(4, "w")}}});
  cfgit::DiffOptions lean;
  lean.old_rows = false;
  CountingStore counting(**store);
  auto diffs = Diff(counting, before, after, lean);
  REQUIRE(diffs.size() == 1);
  const TableDiff& d = diffs[0];
  // Two schema.yaml files, the new file of row 2, the added row 4 and the deleted row 3.
  CHECK(counting.schema_reads == 2);
  CHECK(counting.blob_reads == 3);
  REQUIRE(d.modified.size() == 1);
  cfgit::RowChange changed = d.modified[0];
  CHECK(changed.key == Row{Value::Integer(2)});
  CHECK(*changed.new_row == R(2, "Y"));
  CHECK_FALSE(changed.old_row);
  CHECK(changed.cells.empty());
  REQUIRE(changed.old_file);
  REQUIRE(d.deleted.size() == 1);
  CHECK(*d.deleted[0].old_row == R(3, "z"));  // a deleted row is known by its content only
  REQUIRE(d.added.size() == 1);

  TableDiff read = d;
  const std::set<Row, cfgit::RowLess> other_keys = {Row{Value::Integer(7)}};
  REQUIRE(cfgit::ReadOldRows(counting, &read, &other_keys).ok());  // not among the keys: no read
  CHECK_FALSE(read.modified[0].old_row);
  CHECK(counting.blob_reads == 3);
  REQUIRE(cfgit::ReadOldRows(counting, &read, nullptr).ok());
  CHECK(*read.modified[0].old_row == R(2, "y"));
  CHECK(counting.blob_reads == 4);
  REQUIRE(cfgit::ReadOldRows(counting, &read, nullptr).ok());  // already read: no read
  CHECK(counting.blob_reads == 4);
  TableDiff unnamed = d;
  unnamed.modified[0].old_file.reset();
  cfgit::Status missing = cfgit::ReadOldRows(counting, &unnamed, nullptr);
  CHECK(missing.code() == cfgit::Code::kInvalid);
  CHECK(missing.message().find("table 'a'") != std::string::npos);

  // A table whose columns changed re-encodes every row: the old rows are read anyway.
  TableSchema wide = Table("a");
  wide.columns.push_back({"extra", "TEXT", false, std::string("'d'")});
  Oid widened = Snapshot(**store, {{wide,
                                    {{Value::Integer(1), Value::Text("x"), Value::Text("d")},
                                     {Value::Integer(2), Value::Text("y"), Value::Text("d")},
                                     {Value::Integer(3), Value::Text("z"), Value::Text("d")}}}});
  auto wider = Diff(**store, before, widened, lean);
  REQUIRE(wider.size() == 1);
  REQUIRE(wider[0].modified.size() == 3);
  for (const cfgit::RowChange& r : wider[0].modified) {
    CHECK(r.old_row);
    CHECK(r.cells.size() == 1);
  }
}

TEST_CASE("DiffSnapshots: tables added and removed, table filter, staged trees", "[diff]") {
  cfgit::test::TempDir dir;
  auto store = cfgit::Store::Init(dir / ".cfgit");
  REQUIRE(store.ok());
  Oid before = Snapshot(**store, {{Table("gone"), {R(1, "x")}}, {Table("kept"), {R(1, "x")}}});
  std::unique_ptr<cfgit::SnapshotWriter> staged;
  // Not written: the staged tree is diffable while its writer lives (how @ENV works).
  Oid after = Snapshot(**store, {{Table("kept"), {R(1, "y")}}, {Table("new"), {R(7, "n")}}}, false,
                       &staged);
  auto diffs = Diff(**store, before, after);
  REQUIRE(diffs.size() == 3);
  CHECK(diffs[0].name == "gone");
  CHECK((diffs[0].from && !diffs[0].to && diffs[0].deleted.size() == 1));
  CHECK(diffs[1].name == "kept");
  CHECK(diffs[1].modified.size() == 1);
  CHECK(diffs[2].name == "new");
  CHECK((!diffs[2].from && diffs[2].to && diffs[2].added.size() == 1));

  cfgit::DiffOptions only;
  only.tables = {"new"};
  auto filtered = Diff(**store, before, after, only);
  REQUIRE(filtered.size() == 1);
  CHECK(filtered[0].name == "new");

  auto from_empty = Diff(**store, std::nullopt, before);
  CHECK(from_empty.size() == 2);
}

TEST_CASE("Whole tables stream: ForEachTableRow, CountTableRows, whole_table_rows off", "[diff]") {
  cfgit::test::TempDir dir;
  auto store = cfgit::Store::Init(dir / ".cfgit");
  REQUIRE(store.ok());
  std::vector<Row> rows;
  for (int i = 0; i < 300; ++i) rows.push_back(R(i, "v" + std::to_string(i)));
  TableSchema k = Table("k");
  k.primary_key.clear();
  k.key.clear();
  Oid before = Snapshot(**store, {{Table("kept"), {R(1, "x")}}});
  Oid after = Snapshot(
      **store, {{Table("big"), rows}, {k, {R(1, "x"), R(1, "x")}}, {Table("kept"), {R(1, "y")}}});

  // A table on one side only comes without rows; tables on both sides are diffed as usual.
  cfgit::DiffOptions tables_only;
  tables_only.whole_table_rows = false;
  auto diffs = Diff(**store, before, after, tables_only);
  REQUIRE(diffs.size() == 3);
  CHECK(diffs[0].name == "big");
  CHECK((!diffs[0].from && diffs[0].to && diffs[0].added.empty()));
  CHECK(diffs[2].name == "kept");
  CHECK(diffs[2].modified.size() == 1);
  auto back = Diff(**store, after, before, tables_only);
  REQUIRE(back.size() == 3);
  CHECK((back[0].from && !back[0].to && back[0].deleted.empty()));

  // The rows come one at a time, all of them, in store order; keyless copies both.
  std::vector<Row> seen;
  REQUIRE(cfgit::ForEachTableRow(**store, after, "big", [&](Row&& r) {
            seen.push_back(std::move(r));
            return cfgit::Status::Ok();
          }).ok());
  std::sort(seen.begin(), seen.end(),
            [](const Row& a, const Row& b) { return cfgit::CompareRows(a, b) < 0; });
  CHECK(seen == rows);
  size_t copies = 0;
  REQUIRE(cfgit::ForEachTableRow(**store, after, "k", [&](Row&& r) {
            CHECK(r == R(1, "x"));
            ++copies;
            return cfgit::Status::Ok();
          }).ok());
  CHECK(copies == 2);
  auto big_rows = cfgit::CountTableRows(**store, after, "big");
  auto k_rows = cfgit::CountTableRows(**store, after, "k");
  REQUIRE((big_rows.ok() && k_rows.ok()));
  CHECK(*big_rows == 300);
  CHECK(*k_rows == 2);

  // The consumer's failure stops the stream and is returned; a missing table is refused.
  int calls = 0;
  cfgit::Status stopped = cfgit::ForEachTableRow(**store, after, "big", [&](Row&&) {
    return ++calls == 5 ? cfgit::Status::Database("disk full") : cfgit::Status::Ok();
  });
  CHECK(stopped.code() == cfgit::Code::kDatabase);
  CHECK(calls == 5);
  cfgit::Status missing =
      cfgit::ForEachTableRow(**store, before, "big", [](Row&&) { return cfgit::Status::Ok(); });
  CHECK(missing.code() == cfgit::Code::kInvalid);
  CHECK_THAT(missing.message(), Catch::Contains("has no table 'big'"));
  CHECK(cfgit::CountTableRows(**store, before, "big").status().code() == cfgit::Code::kInvalid);
}

TEST_CASE("DiffSnapshots: keyless tables change by whole rows, duplicates counted", "[diff]") {
  cfgit::test::TempDir dir;
  auto store = cfgit::Store::Init(dir / ".cfgit");
  REQUIRE(store.ok());
  TableSchema k = Table("k");
  k.primary_key.clear();
  k.key.clear();
  Oid before = Snapshot(**store, {{k, {R(1, "x"), R(1, "x"), R(2, "y")}}});
  Oid after = Snapshot(**store, {{k, {R(1, "x"), R(2, "z")}}});
  auto diffs = Diff(**store, before, after);
  REQUIRE(diffs.size() == 1);
  CHECK(diffs[0].modified.empty());
  REQUIRE(diffs[0].deleted.size() == 2);
  CHECK(*diffs[0].deleted[0].old_row == R(1, "x"));
  CHECK(*diffs[0].deleted[1].old_row == R(2, "y"));
  REQUIRE(diffs[0].added.size() == 1);
  CHECK(diffs[0].added[0].key.empty());
}

TEST_CASE("DiffSnapshots: a column added shows in the schema and in every row", "[diff]") {
  cfgit::test::TempDir dir;
  auto store = cfgit::Store::Init(dir / ".cfgit");
  REQUIRE(store.ok());
  TableSchema wide = Table("a");
  wide.columns.push_back({"extra", "TEXT", false, std::string("'d'")});
  Oid before = Snapshot(**store, {{Table("a"), {R(1, "x")}}});
  Oid after =
      Snapshot(**store, {{wide, {{Value::Integer(1), Value::Text("x"), Value::Text("d")}}}});
  auto diffs = Diff(**store, before, after);
  REQUIRE(diffs.size() == 1);
  REQUIRE(diffs[0].schema.columns_added.size() == 1);
  CHECK(diffs[0].schema.columns_added[0].name == "extra");
  REQUIRE(diffs[0].modified.size() == 1);
  CHECK(Lines(diffs[0].modified[0].cells) == std::vector<std::string>{"extra: (none) -> 'd'"});
}

TEST_CASE("DiffSchemas: named cases", "[diff]") {
  TableSchema base = Table("t");
  base.indexes = {{"t_v", {"v"}, false}};
  struct Case {
    const char* name;
    std::function<void(TableSchema*)> change;
    std::function<bool(const cfgit::SchemaDiff&)> expect;
  };
  const std::vector<Case> cases = {
      {"identical", [](TableSchema*) {}, [](const auto& d) { return d.empty(); }},
      {"column added",
       [](TableSchema* s) {
         s->columns.push_back({"c", "TEXT"});
       },
       [](const auto& d) { return d.columns_added.size() == 1 && d.columns_removed.empty(); }},
      {"column removed", [](TableSchema* s) { s->columns.pop_back(); },
       [](const auto& d) { return d.columns_removed.size() == 1 && d.columns_added.empty(); }},
      {"column type changed", [](TableSchema* s) { s->columns[1].type = "VARCHAR(10)"; },
       [](const auto& d) {
         return d.columns_changed.size() == 1 && d.columns_changed[0].old_column.type == "TEXT";
       }},
      {"default added", [](TableSchema* s) { s->columns[1].default_sql = "'x'"; },
       [](const auto& d) { return d.columns_changed.size() == 1; }},
      {"not null added", [](TableSchema* s) { s->columns[1].not_null = true; },
       [](const auto& d) { return d.columns_changed.size() == 1; }},
      {"primary key changed",
       [](TableSchema* s) {
         s->primary_key = {"id", "v"};
       },
       [](const auto& d) { return d.primary_key_changed && !d.key_changed; }},
      {"row key changed", [](TableSchema* s) { s->key = {"v"}; },
       [](const auto& d) { return d.key_changed && !d.primary_key_changed; }},
      {"index added",
       [](TableSchema* s) {
         s->indexes.push_back({"t_id", {"id"}, true});
       },
       [](const auto& d) { return d.indexes_added.size() == 1 && d.indexes_removed.empty(); }},
      {"index made unique", [](TableSchema* s) { s->indexes[0].unique = true; },
       [](const auto& d) { return d.indexes_added.size() == 1 && d.indexes_removed.size() == 1; }},
      {"foreign key added",
       [](TableSchema* s) {
         s->foreign_keys.push_back({{"v"}, "p", {"name"}});
       },
       [](const auto& d) { return d.foreign_keys_added.size() == 1; }},
      {"ignore changed", [](TableSchema* s) { s->ignore = {"v"}; },
       [](const auto& d) { return d.ignore_changed; }},
      {"schema-only rule", [](TableSchema* s) { s->rows_versioned = false; },
       [](const auto& d) { return d.rows_versioned_changed; }},
      {"DDL text only", [](TableSchema* s) { s->sql = "CREATE TABLE t (id, v)"; },
       [](const auto& d) { return d.sql_changed && d.columns_changed.empty(); }},
  };
  for (const Case& c : cases) {
    TableSchema to = base;
    c.change(&to);
    INFO(c.name);
    CHECK(c.expect(cfgit::DiffSchemas(base, to)));
  }
}

TEST_CASE("DiffCells: named cases", "[diff]") {
  const std::vector<std::string> two = {"id", "v"};
  const std::vector<std::string> three = {"id", "v", "w"};
  struct Case {
    const char* name;
    std::vector<std::string> old_cols;
    Row old_row;
    std::vector<std::string> new_cols;
    Row new_row;
    std::vector<std::string> json;
    std::vector<std::string> expect;
  };
  Value i1 = Value::Integer(1);
  const std::vector<Case> cases = {
      {"equal", two, {i1, Value::Text("a")}, two, {i1, Value::Text("a")}, {}, {}},
      {"text changed",
       two,
       {i1, Value::Text("a")},
       two,
       {i1, Value::Text("b")},
       {},
       {"v: 'a' -> 'b'"}},
      {"set to NULL",
       two,
       {i1, Value::Text("a")},
       two,
       {i1, Value::Null()},
       {},
       {"v: 'a' -> null"}},
      {"NULL to empty string",
       two,
       {i1, Value::Null()},
       two,
       {i1, Value::Text("")},
       {},
       {"v: null -> ''"}},
      {"integer 1 to text '1'",
       two,
       {i1, Value::Integer(1)},
       two,
       {i1, Value::Text("1")},
       {},
       {"v: 1 -> '1'"}},
      {"1 to 1.0 is a change",
       two,
       {i1, Value::Integer(1)},
       two,
       {i1, Value::Real(1.0)},
       {},
       {"v: 1 -> 1.0"}},
      {"column added",
       two,
       {i1, Value::Text("a")},
       three,
       {i1, Value::Text("a"), Value::Null()},
       {},
       {"w: (none) -> null"}},
      {"column removed",
       three,
       {i1, Value::Text("a"), Value::Text("x")},
       two,
       {i1, Value::Text("a")},
       {},
       {"w: 'x' -> (none)"}},
      {"json nested member",
       two,
       {i1, Value::Text(R"({"a":{"t":"A"},"b":1})")},
       two,
       {i1, Value::Text(R"({"a":{"t":"B"},"b":1})")},
       {"v"},
       {"v|a.t: \"A\" -> \"B\""}},
      {"json member added and removed",
       two,
       {i1, Value::Text(R"({"a":1})")},
       two,
       {i1, Value::Text(R"({"b":2})")},
       {"v"},
       {"v|a: 1 -> (absent)", "v|b: (absent) -> 2"}},
      {"json array is a whole value",
       two,
       {i1, Value::Text(R"({"l":[1,2]})")},
       two,
       {i1, Value::Text(R"({"l":[1,3]})")},
       {"v"},
       {"v|l: [1,2] -> [1,3]"}},
      {"json formatting only",
       two,
       {i1, Value::Text(R"({"a": 1, "b": 2})")},
       two,
       {i1, Value::Text(R"({"b":2,"a":1})")},
       {"v"},
       {"v: json-equal"}},
      {"json scalar root",
       two,
       {i1, Value::Text("1")},
       two,
       {i1, Value::Text("2")},
       {"v"},
       {"v|: 1 -> 2"}},
      {"json object replaced by array",
       two,
       {i1, Value::Text(R"({"a":1})")},
       two,
       {i1, Value::Text("[1]")},
       {"v"},
       {"v|: {\"a\":1} -> [1]"}},
      {"json column with invalid JSON falls back",
       two,
       {i1, Value::Text("{")},
       two,
       {i1, Value::Text("{}")},
       {"v"},
       {"v: '{' -> '{}'"}},
      {"not a json column",
       two,
       {i1, Value::Text(R"({"a":1})")},
       two,
       {i1, Value::Text(R"({"a":2})")},
       {},
       {"v: '{\"a\":1}' -> '{\"a\":2}'"}},
      {"json path needing quotes",
       two,
       {i1, Value::Text(R"({"a.b":1})")},
       two,
       {i1, Value::Text(R"({"a.b":2})")},
       {"v"},
       {"v|[\"a.b\"]: 1 -> 2"}},
  };
  for (const Case& c : cases) {
    INFO(c.name);
    CHECK(Lines(cfgit::DiffCells(c.old_cols, c.old_row, c.new_cols, c.new_row, c.json)) ==
          c.expect);
  }
}

TEST_CASE("DiffSnapshots names the new row's file only when cfgit wrote it as it encodes rows",
          "[diff]") {
  cfgit::test::TempDir dir;
  auto store = cfgit::Store::Init(dir / ".cfgit");
  REQUIRE(store.ok());
  Oid before = Snapshot(**store, {{Table("a"), {R(1, "x")}}});
  Oid after = Snapshot(**store, {{Table("a"), {R(1, "y"), R(2, "z")}}});
  // The same content, with row 2's file written by another hand (a comment line added).
  std::string path;
  REQUIRE((*store)
              ->DiffTrees(before, after,
                          [&](const cfgit::TreeChange& c) {
                            if (!c.before) path = c.path;
                            return cfgit::Status::Ok();
                          })
              .ok());
  REQUIRE_FALSE(path.empty());
  auto made = cfgit::test::Shell(
      dir.path(),
      "export GIT_DIR=.cfgit GIT_INDEX_FILE=$PWD/idx && git read-tree " + after.Hex() +
          " && id=$( (echo '# by hand'; git cat-file blob :" + path +
          ") | git hash-object -w --stdin) && git update-index --cacheinfo 100644,$id," + path +
          " && git write-tree");
  INFO(made.err);
  REQUIRE(made.exit_code == 0);
  auto edited = Oid::FromHex(made.out.substr(0, 40));
  REQUIRE(edited.ok());

  for (const auto& [to, canonical] : {std::pair{after, true}, std::pair{*edited, false}}) {
    auto diffs = Diff(**store, before, to);
    REQUIRE(diffs.size() == 1);
    REQUIRE(diffs[0].added.size() == 1);
    REQUIRE(diffs[0].modified.size() == 1);
    CHECK(*diffs[0].added[0].new_row == R(2, "z"));  // the same row either way
    CHECK(diffs[0].added[0].new_file.has_value() == canonical);
    CHECK(diffs[0].modified[0].new_file.has_value());  // row 1's file is cfgit's in both
  }
}
