#include <map>

#include "diff/diff.h"

namespace cfgit {

Result<std::vector<TableChangeStat>> DiffStat(const Store& store, const std::optional<Oid>& from,
                                              const std::optional<Oid>& to,
                                              const DiffStatOptions& options) {
  std::map<std::string, TableChangeStat> tables;
  auto count = [&](const TreeChange& change) -> Status {
    // tables/<table>/schema.yaml or tables/<table>/rows/<d1>/<d2>/<row>.yaml
    const std::string& p = change.path;
    if (p.rfind("tables/", 0) != 0) return Status::Ok();
    size_t slash = p.find('/', 7);
    if (slash == std::string::npos) return Status::Invalid("unexpected store path '" + p + "'");
    CFGIT_ASSIGN_OR_RETURN(std::string name, DecodePathComponent(p.substr(7, slash - 7)));
    TableChangeStat& t = tables[name];
    t.table = name;
    std::string rest = p.substr(slash + 1);
    if (rest == "schema.yaml") {
      t.table_added = !change.before;
      t.table_removed = !change.after;
      t.schema_changed = change.before && change.after;
    } else if (rest.rfind("rows/", 0) == 0) {
      if (!change.before)
        ++t.added;
      else if (!change.after)
        ++t.deleted;
      else
        ++t.modified;
    }
    return Status::Ok();
  };
  CFGIT_RETURN_IF_ERROR(options.keep_rows_diffs && from && to
                            ? store.DiffAndKeepRowsDiffs(*from, *to, count)
                            : store.DiffTrees(from, to, count));
  std::vector<TableChangeStat> out;
  out.reserve(tables.size());
  for (auto& [name, stat] : tables) out.push_back(std::move(stat));
  return out;
}

}  // namespace cfgit
