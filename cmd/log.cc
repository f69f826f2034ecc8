// cfgit log [REV] [-n N]: the history of a branch (default: of every environment's branch).
#include <iostream>
#include <map>

#include "cmd/command.h"

namespace cfgit::cmd {
namespace {

struct LogOptions {
  std::string rev, format = "text";
  size_t limit = 0;
};

Status RunLog(const Globals& globals, const LogOptions& o) {
  CFGIT_ASSIGN_OR_RETURN(Session s, OpenSession(globals));
  CFGIT_ASSIGN_OR_RETURN(auto branches, s.store->ListRefs("refs/heads/"));
  CFGIT_ASSIGN_OR_RETURN(auto tags, s.store->ListRefs("refs/tags/"));
  std::vector<Oid> starts;
  if (!o.rev.empty()) {
    CFGIT_ASSIGN_OR_RETURN(Oid id, s.store->ResolveCommit(o.rev));
    starts.push_back(id);
  } else {
    for (const auto& b : branches) starts.push_back(b.target);
  }
  std::vector<CommitInfo> commits;
  if (!starts.empty()) {
    CFGIT_ASSIGN_OR_RETURN(commits, s.store->Log(starts, o.limit));
  }

  if (o.format == "json") {
    std::string out = "[";
    for (size_t i = 0; i < commits.size(); ++i) {
      const CommitInfo& c = commits[i];
      std::string parents = "[";
      for (size_t p = 0; p < c.parents.size(); ++p)
        parents += (p ? "," : "") + JsonString(c.parents[p].Hex());
      out += std::string(i ? "," : "") + "{\"id\":" + JsonString(c.id.Hex()) +
             ",\"parents\":" + parents + "],\"message\":" + JsonString(c.message) +
             ",\"author\":" + JsonString(c.author.name + " <" + c.author.email + ">") +
             ",\"time\":" + JsonString(IsoTime(c.author.time, c.author.offset_minutes)) + "}";
    }
    std::cout << out << "]\n";
    return Status::Ok();
  }
  if (commits.empty()) {
    std::cout << "No commits yet; snapshot an environment with: cfgit commit ENV -m MESSAGE\n";
    return Status::Ok();
  }
  std::multimap<std::string, std::string> names;  // commit id -> decorations
  for (const auto& b : branches) names.emplace(b.target.Hex(), b.name);
  for (const auto& t : tags) names.emplace(t.target.Hex(), "tag: " + t.name);
  for (const CommitInfo& c : commits) {
    std::string deco;
    auto [lo, hi] = names.equal_range(c.id.Hex());
    for (auto it = lo; it != hi; ++it) deco += (deco.empty() ? " (" : ", ") + it->second;
    if (!deco.empty()) deco += ")";
    std::cout << "commit " << c.id.Hex() << deco << "\n";
    if (c.parents.size() > 1) {
      std::cout << "Merge:";
      for (const Oid& p : c.parents) std::cout << " " << p.Short();
      std::cout << "\n";
    }
    std::cout << "Author: " << c.author.name << " <" << c.author.email << ">\n"
              << "Date:   " << IsoTime(c.author.time, c.author.offset_minutes) << "\n\n";
    std::string msg = c.message;
    while (!msg.empty() && msg.back() == '\n') msg.pop_back();
    size_t start = 0;
    while (start <= msg.size()) {
      size_t nl = msg.find('\n', start);
      std::cout << "    "
                << msg.substr(start, nl == std::string::npos ? std::string::npos : nl - start)
                << "\n";
      if (nl == std::string::npos) break;
      start = nl + 1;
    }
    std::cout << "\n";
  }
  return Status::Ok();
}

}  // namespace

void RegisterLog(CLI::App& app, const Globals& globals, Action* action) {
  auto o = std::make_shared<LogOptions>();
  CLI::App* sub = app.add_subcommand("log", "Show the commit history");
  sub->add_option("REV", o->rev,
                  "Start from this revision: branch, tag, (short) id, REV~N, REV^ "
                  "(default: every branch)");
  sub->add_option("-n,--max-count", o->limit, "Show at most N commits");
  AddFormatOption(sub, &o->format);
  sub->callback([action, o, &globals] { *action = [o, &globals] { return RunLog(globals, *o); }; });
}

}  // namespace cfgit::cmd
