// The cell merge as a table of named cases, one line each.
#include <catch2/catch.hpp>

#include "merge/merge.h"

using cfgit::CellOutcome;
using cfgit::MergeCell;
using cfgit::Value;

namespace {
Value I(int64_t v) { return Value::Integer(v); }
Value T(const char* v) { return Value::Text(v); }
Value N() { return Value::Null(); }
}  // namespace

TEST_CASE("cell merge case matrix", "[merge]") {
  struct Case {
    const char* name;
    Value base, ours, theirs;
    CellOutcome outcome;
    Value merged;
  };
  const Case cases[] = {
      {"nobody changed", I(1), I(1), I(1), CellOutcome::kUnchanged, I(1)},
      {"only ours changed", I(1), I(2), I(1), CellOutcome::kOurs, I(2)},
      {"only theirs changed", I(1), I(1), I(3), CellOutcome::kTheirs, I(3)},
      {"both changed alike", I(1), I(4), I(4), CellOutcome::kConverged, I(4)},
      {"both changed differently", I(1), I(2), I(3), CellOutcome::kConflict, I(2)},
      {"theirs set NULL", T("a"), T("a"), N(), CellOutcome::kTheirs, N()},
      {"ours set NULL, theirs edited", T("a"), N(), T("b"), CellOutcome::kConflict, N()},
      {"both set NULL", T("a"), N(), N(), CellOutcome::kConverged, N()},
      {"NULL base, theirs filled", N(), N(), T("x"), CellOutcome::kTheirs, T("x")},
      {"empty string is not NULL", N(), T(""), N(), CellOutcome::kOurs, T("")},
      {"integer vs text is a change", I(1), I(1), T("1"), CellOutcome::kTheirs, T("1")},
      {"real vs integer is a change", I(1), Value::Real(1.0), I(1), CellOutcome::kOurs,
       Value::Real(1.0)},
  };
  for (const Case& c : cases) {
    INFO(c.name);
    auto m = MergeCell(c.base, c.ours, c.theirs);
    CHECK(m.outcome == c.outcome);
    CHECK(m.value == c.merged);
  }
}
