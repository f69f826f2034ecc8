// MergeJsonCell: three-way merge of JSON documents, objects member by member.
#include <variant>

#include "merge/merge.h"
#include "store/json.h"

namespace cfgit {
namespace {

using Steps = std::vector<JsonPathStep>;

bool Same(const Json* a, const Json* b) {
  if (!a || !b) return a == b;
  return *a == *b;
}

bool IsObject(const Json* j) { return j && j->kind() == Json::Kind::kObject; }

// The merged node, or nullopt for "absent". Conflicting paths are collected; where the sides
// conflict, ours is kept.
std::optional<Json> Merge(const Json* base, const Json* ours, const Json* theirs, Steps* steps,
                          std::vector<std::string>* conflicts, bool prefer_theirs) {
  auto copy = [](const Json* j) { return j ? std::optional<Json>(*j) : std::nullopt; };
  if (Same(ours, base)) return copy(theirs);
  if (Same(theirs, base)) return copy(ours);
  if (Same(ours, theirs)) return copy(ours);
  if (IsObject(base) && IsObject(ours) && IsObject(theirs)) {
    std::vector<Json::Member> members;
    auto merge_member = [&](const std::string& name) {
      steps->push_back(name);
      std::optional<Json> m = Merge(base->Find(name), ours->Find(name), theirs->Find(name), steps,
                                    conflicts, prefer_theirs);
      steps->pop_back();
      if (m) members.emplace_back(name, std::move(*m));
    };
    for (const auto& [name, value] : ours->members()) merge_member(name);
    for (const auto& [name, value] : theirs->members()) {
      if (!ours->Find(name)) merge_member(name);
    }
    return Json::Object(std::move(members));
  }
  conflicts->push_back(JsonPath(*steps));
  return copy(prefer_theirs ? theirs : ours);
}

std::optional<Json> Parse(const Value& v, bool* ok) {
  if (v.is_null()) return std::nullopt;  // NULL is "no document"
  if (v.kind() != Value::Kind::kText) {
    *ok = false;
    return std::nullopt;
  }
  Result<Json> j = ParseJson(v.bytes());
  if (!j.ok()) {
    *ok = false;
    return std::nullopt;
  }
  return std::move(j).value();
}

}  // namespace

JsonCellMerge MergeJsonCell(const Value& base, const Value& ours, const Value& theirs,
                            bool prefer_theirs) {
  CellMerge cell = MergeCell(base, ours, theirs);
  if (cell.outcome != CellOutcome::kConflict) return {cell.outcome, cell.value, {}};
  bool ok = true;
  std::optional<Json> b = Parse(base, &ok), o = Parse(ours, &ok), t = Parse(theirs, &ok);
  if (!ok) return {CellOutcome::kConflict, prefer_theirs ? theirs : ours, {""}};
  Steps steps;
  std::vector<std::string> conflicts;
  std::optional<Json> merged = Merge(b ? &*b : nullptr, o ? &*o : nullptr, t ? &*t : nullptr,
                                     &steps, &conflicts, prefer_theirs);
  if (!conflicts.empty()) {
    // The whole document conflicts: keep the winning side's exact text.
    if (conflicts.size() == 1 && conflicts[0].empty())
      return {CellOutcome::kConflict, prefer_theirs ? theirs : ours, conflicts};
    return {CellOutcome::kConflict, merged ? Value::Text(WriteJson(*merged)) : Value::Null(),
            conflicts};
  }
  // Equal as JSON to one side: keep that side's exact text.
  if (Same(merged ? &*merged : nullptr, o ? &*o : nullptr)) return {CellOutcome::kOurs, ours, {}};
  if (Same(merged ? &*merged : nullptr, t ? &*t : nullptr)) {
    return {CellOutcome::kTheirs, theirs, {}};
  }
  return {CellOutcome::kTheirs, merged ? Value::Text(WriteJson(*merged)) : Value::Null(), {}};
}

}  // namespace cfgit
