// DiffJson: changes between two JSON documents, by path.
#include <variant>

#include "diff/diff.h"
#include "store/json.h"

namespace cfgit {
namespace {

using Steps = std::vector<std::variant<std::string, size_t>>;

void Walk(const Json* a, const Json* b, Steps* steps, std::vector<JsonChange>* out) {
  if (a && b && a->kind() == Json::Kind::kObject && b->kind() == Json::Kind::kObject) {
    for (const auto& [name, value] : a->members()) {
      steps->push_back(name);
      Walk(&value, b->Find(name), steps, out);
      steps->pop_back();
    }
    for (const auto& [name, value] : b->members()) {
      if (a->Find(name)) continue;
      steps->push_back(name);
      Walk(nullptr, &value, steps, out);
      steps->pop_back();
    }
    return;
  }
  if (a && b && *a == *b) return;
  JsonChange change;
  change.path = JsonPath(*steps);
  if (a) change.old_json = WriteJson(*a);
  if (b) change.new_json = WriteJson(*b);
  out->push_back(std::move(change));
}

}  // namespace

std::optional<std::vector<JsonChange>> DiffJson(const std::string& old_text,
                                                const std::string& new_text) {
  Result<Json> a = ParseJson(old_text);
  Result<Json> b = ParseJson(new_text);
  if (!a.ok() || !b.ok()) return std::nullopt;
  std::vector<JsonChange> out;
  Steps steps;
  Walk(&*a, &*b, &steps, &out);
  return out;
}

}  // namespace cfgit
