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

std::string RebuildOldName(const std::string& table) { return table + "__cfgit_old"; }

std::string SqliteCarryOver(const TableSchema& from, const TableSchema& to) {
  auto in_from = [&](const std::string& c) { return from.FindColumn(c) != nullptr; };
  auto list = [](const std::vector<std::string>& cols, const std::string& prefix) {
    std::string out;
    for (size_t i = 0; i < cols.size(); ++i) out += (i ? ", " : "") + prefix + QuoteIdent(cols[i]);
    return out;
  };
  std::string table = QuoteIdent(to.name);
  std::string old = QuoteIdent(RebuildOldName(to.name));
  if (!to.rows_versioned) {
    std::vector<std::string> common;
    for (const Column& c : to.columns) {
      if (in_from(c.name)) common.push_back(c.name);
    }
    if (common.empty()) return "";
    return "INSERT INTO " + table + " (" + list(common, "") + ") SELECT " + list(common, "") +
           " FROM " + old + ";\n";
  }
  std::vector<std::string> carried;
  for (const std::string& c : to.ignore) {
    if (in_from(c)) carried.push_back(c);
  }
  if (carried.empty() || to.key.empty() || !std::all_of(to.key.begin(), to.key.end(), in_from)) {
    return "";
  }
  std::string match;
  for (size_t i = 0; i < to.key.size(); ++i) {
    match += (i ? " AND " : "") + std::string("o.") + QuoteIdent(to.key[i]) + " = " + table +
             "." + QuoteIdent(to.key[i]);
  }
  return "UPDATE " + table + " SET (" + list(carried, "") + ") = (SELECT " + list(carried, "o.") +
         " FROM " + old + " AS o WHERE " + match + ") WHERE EXISTS (SELECT 1 FROM " + old +
         " AS o WHERE " + match + ");\n";
}

}  // namespace cfgit
