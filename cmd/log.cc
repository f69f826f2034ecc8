// cfgit log [REV] [-n N]: the history of a branch (default: of every environment's branch).
#include <algorithm>
#include <iostream>
#include <map>

#include "cmd/command.h"

namespace cfgit::cmd {
namespace {

struct LogOptions {
  std::string rev, format = "text";
  size_t limit = 0;
  bool walk_reflogs = false;
};

// log -g ENV: every move of branch ENV and of its deployed ref, newest first.
Status RunHistory(const Session& s, const LogOptions& o) {
  if (o.rev.empty()) return Status::Usage("log -g needs an environment: cfgit log -g ENV");
  std::string env = o.rev;
  struct Move {
    std::string ref;
    Store::RefMove move;
  };
  std::vector<Move> moves;
  for (const std::string& ref : {"refs/heads/" + env, "refs/cfgit/deployed/" + env}) {
    CFGIT_ASSIGN_OR_RETURN(std::optional<Oid> exists, s.store->ReadRef(ref));
    if (!exists) continue;
    CFGIT_ASSIGN_OR_RETURN(std::vector<Store::RefMove> log, s.store->Reflog(ref));
    for (auto& m : log) {
      moves.push_back({ref.rfind("refs/heads/", 0) == 0 ? "branch" : "deployed", std::move(m)});
    }
  }
  if (moves.empty()) {
    return Status::Usage("'" + env + "' has no branch and no deployments to show");
  }
  std::stable_sort(moves.begin(), moves.end(),
                   [](const Move& a, const Move& b) { return a.move.who.time > b.move.who.time; });
  if (o.limit && moves.size() > o.limit) moves.resize(o.limit);
  auto id = [](const std::optional<Oid>& x) { return x ? x->Short() : std::string("(none)"); };
  if (o.format == "json") {
    std::string out = "[";
    for (size_t i = 0; i < moves.size(); ++i) {
      const auto& m = moves[i].move;
      out += std::string(i ? "," : "") + "{\"ref\":" + JsonString(moves[i].ref) +
             ",\"from\":" + (m.from ? JsonString(m.from->Hex()) : "null") +
             ",\"to\":" + (m.to ? JsonString(m.to->Hex()) : "null") +
             ",\"message\":" + JsonString(m.message) +
             ",\"time\":" + JsonString(IsoTime(m.who.time, m.who.offset_minutes)) + "}";
    }
    std::cout << out << "]\n";
    return Status::Ok();
  }
  for (const Move& m : moves) {
    std::cout << IsoTime(m.move.who.time, m.move.who.offset_minutes) << "  " << m.ref
              << (m.ref == "branch" ? "  " : "") << "  " << id(m.move.from) << " -> "
              << id(m.move.to) << "  " << m.move.message << "\n";
  }
  return Status::Ok();
}

Status RunLog(const Globals& globals, const LogOptions& o) {
  CFGIT_ASSIGN_OR_RETURN(Session s, OpenSession(globals));
  if (o.walk_reflogs) return RunHistory(s, o);
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
  sub->add_flag("-g,--walk-reflogs", o->walk_reflogs,
                "With an environment: its deployment history, every move of its branch and of "
                "its deployed commit, by which command");
  AddFormatOption(sub, &o->format);
  sub->callback([action, o, &globals] { *action = [o, &globals] { return RunLog(globals, *o); }; });
}

}  // namespace cfgit::cmd
