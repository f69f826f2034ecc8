// ForEachRow: rows read ahead on a second thread arrive all, in order, and failures on either side
// stop the scan. The database side is checked end to end by the CLI tests (every commit and apply
// goes through it); here the reader is a counter, so that batch edges and failures are exact.
#include <catch2/catch.hpp>
#include <thread>

#include "adapters/adapter.h"

using cfgit::Code;
using cfgit::ForEachRow;
using cfgit::Result;
using cfgit::Row;
using cfgit::RowReader;
using cfgit::Status;
using cfgit::Value;

namespace {

// Rows 0..n-1, each one integer and a text that grows with it (so reused rows must be
// overwritten, not appended to); fails at row `fail_at` if set.
class Counter final : public RowReader {
 public:
  Counter(int64_t n, int64_t fail_at = -1) : n_(n), fail_at_(fail_at) {}
  Result<bool> Next(Row* row) override {
    reader_thread = std::this_thread::get_id();
    if (i_ == fail_at_) return Status::Database("the disk went away at row " + std::to_string(i_));
    if (i_ == n_) return false;
    *row = {Value::Integer(i_), Value::Text(std::string(static_cast<size_t>(i_ % 7), 'x'))};
    ++i_;
    return true;
  }
  std::thread::id reader_thread;

 private:
  int64_t n_, fail_at_, i_ = 0;
};

}  // namespace

TEST_CASE("ForEachRow hands over every row in order, across batch edges", "[adapters][pipeline]") {
  for (int64_t n : {0, 1, 255, 256, 257, 10000}) {
    Counter reader(n);
    int64_t seen = 0;
    Status status = ForEachRow(reader, [&](const Row& row) {
      CHECK(row.size() == 2);
      CHECK(row[0] == Value::Integer(seen));
      CHECK(row[1] == Value::Text(std::string(static_cast<size_t>(seen % 7), 'x')));
      ++seen;
      return Status::Ok();
    });
    CHECK(status.ok());
    CHECK(seen == n);
    if (n > 0) CHECK(reader.reader_thread != std::this_thread::get_id());
  }
}

TEST_CASE("ForEachRow prepares every row on the reading thread, before the caller gets it",
          "[adapters][pipeline]") {
  for (int64_t n : {0, 1, 1023, 1024, 1025, 20000}) {
    Counter reader(n);
    int64_t prepared = 0, seen = 0;
    std::thread::id prepare_thread;
    Status status = ForEachRow(
        reader,
        [&](std::span<const Row> rows, cfgit::PreparedRow* out) {
          prepare_thread = std::this_thread::get_id();
          for (size_t i = 0; i < rows.size(); ++i) {
            CHECK(rows[i][0] == Value::Integer(prepared));
            out[i].fingerprint[0] = static_cast<uint64_t>(prepared) * 3;
            out[i].known = prepared % 2 == 0;
            ++prepared;
          }
        },
        [&](const Row& row, const cfgit::PreparedRow& p) {
          CHECK(row[0] == Value::Integer(seen));
          CHECK(p.fingerprint[0] == static_cast<uint64_t>(seen) * 3);
          CHECK(p.known == (seen % 2 == 0));
          ++seen;
          return Status::Ok();
        });
    CHECK(status.ok());
    CHECK(prepared == n);
    CHECK(seen == n);
    if (n > 0) CHECK(prepare_thread == reader.reader_thread);
  }
}

TEST_CASE("ForEachRow stops at the first failure of either side", "[adapters][pipeline]") {
  SECTION("the caller fails: its status, and no row after it") {
    Counter reader(100000);
    int64_t seen = 0;
    Status status = ForEachRow(reader, [&](const Row& row) {
      if (row[0] == Value::Integer(1000)) return Status::NeedsAttention("row 1000 is bad");
      ++seen;
      return Status::Ok();
    });
    CHECK(status.code() == Code::kNeedsAttention);
    CHECK(status.message() == "row 1000 is bad");
    CHECK(seen == 1000);
  }
  SECTION("the reader fails: every row before it, then its status") {
    Counter reader(100000, 700);
    int64_t seen = 0;
    Status status = ForEachRow(reader, [&](const Row&) {
      ++seen;
      return Status::Ok();
    });
    CHECK(status.code() == Code::kDatabase);
    CHECK(status.message() == "the disk went away at row 700");
    CHECK(seen == 700);
  }
}
