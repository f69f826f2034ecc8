// merge: the pure three-way merge of snapshot content (no I/O, no libgit2).
//
// This first piece decides one cell: given the base value and the two sides' values, which one
// the merge keeps, or that they conflict. Row, table and schema merges build on it.
#pragma once

#include "store/value.h"

namespace cfgit {

enum class CellOutcome {
  kUnchanged,  // neither side changed the cell
  kOurs,       // only ours changed it: keep ours
  kTheirs,     // only theirs changed it: take theirs
  kConverged,  // both changed it to the same value
  kConflict,   // both changed it, differently
};

struct CellMerge {
  CellOutcome outcome;
  Value value;  // the merged value; ours for a conflict
};

// A change is a change of value (NULL counts as a value): a side that set a cell and set it
// back did not change it.
CellMerge MergeCell(const Value& base, const Value& ours, const Value& theirs);

}  // namespace cfgit
