#include "adapters/internal/sql_text.h"

#include <algorithm>
#include <set>

namespace cfgit {

std::string QuoteIdent(const std::string& name) {
  std::string out = "\"";
  for (char c : name) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  return out + "\"";
}

std::vector<size_t> ParentsFirst(const std::vector<const TableSchema*>& tables) {
  std::set<std::string> in_list, placed;
  for (const TableSchema* t : tables) in_list.insert(t->name);
  std::vector<size_t> order;
  std::vector<bool> done(tables.size(), false);
  while (order.size() < tables.size()) {
    bool progress = false;
    for (size_t i = 0; i < tables.size(); ++i) {
      if (done[i]) continue;
      const TableSchema& t = *tables[i];
      bool ready = std::all_of(t.foreign_keys.begin(), t.foreign_keys.end(), [&](const auto& f) {
        return f.ref_table == t.name || placed.count(f.ref_table) || !in_list.count(f.ref_table);
      });
      if (!ready) continue;
      done[i] = true;
      placed.insert(t.name);
      order.push_back(i);
      progress = true;
    }
    if (!progress) {  // a cycle: take the first remaining table as it comes
      for (size_t i = 0; i < tables.size(); ++i) {
        if (done[i]) continue;
        done[i] = true;
        placed.insert(tables[i]->name);
        order.push_back(i);
        break;
      }
    }
  }
  return order;
}

}  // namespace cfgit
