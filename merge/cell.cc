#include "merge/merge.h"

namespace cfgit {

CellMerge MergeCell(const Value& base, const Value& ours, const Value& theirs) {
  bool ours_changed = ours != base;
  bool theirs_changed = theirs != base;
  if (!ours_changed && !theirs_changed) return {CellOutcome::kUnchanged, base};
  if (ours_changed && !theirs_changed) return {CellOutcome::kOurs, ours};
  if (!ours_changed) return {CellOutcome::kTheirs, theirs};
  if (ours == theirs) return {CellOutcome::kConverged, ours};
  return {CellOutcome::kConflict, ours};
}

}  // namespace cfgit
