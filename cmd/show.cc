// cfgit show REV: one commit and what it changed, per table, against its first parent.
#include <iostream>

#include "cmd/command.h"

namespace cfgit::cmd {
namespace {

struct ShowOptions {
  std::string rev, format = "text";
};

Status RunShow(const Globals& globals, const ShowOptions& o) {
  CFGIT_ASSIGN_OR_RETURN(Session s, OpenSession(globals));
  CFGIT_ASSIGN_OR_RETURN(Oid id, s.store->ResolveCommit(o.rev));
  CFGIT_ASSIGN_OR_RETURN(CommitInfo c, s.store->ReadCommit(id));
  std::optional<Oid> parent_tree;
  if (!c.parents.empty()) {
    CFGIT_ASSIGN_OR_RETURN(CommitInfo p, s.store->ReadCommit(c.parents[0]));
    parent_tree = p.tree;
  }
  CFGIT_ASSIGN_OR_RETURN(auto stats, DiffStat(*s.store, parent_tree, c.tree));
  CFGIT_ASSIGN_OR_RETURN(auto tables, s.store->ListTables(c.tree));
  if (o.format == "json") {
    std::string parents = "[";
    for (size_t p = 0; p < c.parents.size(); ++p)
      parents += (p ? "," : "") + JsonString(c.parents[p].Hex());
    std::cout << "{\"id\":" << JsonString(c.id.Hex()) << ",\"parents\":" << parents
              << "],\"message\":" << JsonString(c.message)
              << ",\"author\":" << JsonString(c.author.name + " <" + c.author.email + ">")
              << ",\"time\":" << JsonString(IsoTime(c.author.time, c.author.offset_minutes))
              << ",\"tables\":" << tables.size() << ",\"changes\":" << FormatStatsJson(stats)
              << "}\n";
    return Status::Ok();
  }
  std::cout << "commit " << c.id.Hex() << "\n";
  if (c.parents.size() > 1) {
    std::cout << "Merge:";
    for (const Oid& p : c.parents) std::cout << " " << p.Short();
    std::cout << "\n";
  }
  std::cout << "Author: " << c.author.name << " <" << c.author.email << ">\n"
            << "Date:   " << IsoTime(c.author.time, c.author.offset_minutes) << "\n\n    "
            << Subject(c.message) << "\n\n";
  if (stats.empty()) {
    std::cout << " no changes" << (c.parents.empty() ? "" : " against the parent") << "\n";
  } else {
    std::cout << (c.parents.empty() ? " first snapshot:\n"
                                    : " changes against " + c.parents[0].Short() + ":\n")
              << FormatStatsText(stats);
  }
  std::cout << " " << tables.size() << " tables in the snapshot\n";
  return Status::Ok();
}

}  // namespace

void RegisterShow(CLI::App& app, const Globals& globals, Action* action) {
  auto o = std::make_shared<ShowOptions>();
  CLI::App* sub = app.add_subcommand("show", "Show a commit and what it changed per table");
  sub->add_option("REV", o->rev, "Branch, tag, (short) id, REV~N, REV^")->required();
  AddFormatOption(sub, &o->format);
  sub->footer(
      "Per table: rows added (+), deleted (-) and modified (~) against the first parent, "
      "and whether the table's schema changed.");
  sub->callback(
      [action, o, &globals] { *action = [o, &globals] { return RunShow(globals, *o); }; });
}

}  // namespace cfgit::cmd
