// cfgit status [ENV...]: per environment, its branch head, its deployed commit, and whether the
// live database has drifted from what cfgit last made it (counts per table).
#include <iostream>

#include "cmd/command.h"

namespace cfgit::cmd {
namespace {

struct StatusOptions {
  std::vector<std::string> envs;
  std::string format = "text";
  bool no_color = false;
};

struct EnvStatus {
  const EnvironmentConfig* env = nullptr;
  std::optional<CommitInfo> head, deployed;
  bool deployed_by_content = false;  // no record: the live content equals this branch commit
  std::string compared_with;  // "deployed", "head", or "" when there is nothing to compare with
  std::vector<TableChangeStat> drift;
  Status live_error;                // the database could not be read
  bool no_url = false;              // cfgit.yaml gives no database (yet): nothing to read
  std::optional<MergeState> merge;  // a merge into the environment's branch, in progress
  size_t undeployed = 0;            // commits on the branch that the deployed commit does not have
};

Result<EnvStatus> Inspect(const Session& s, const EnvironmentConfig& env) {
  EnvStatus st;
  st.env = &env;
  CFGIT_ASSIGN_OR_RETURN(std::optional<Oid> head, s.store->ReadRef("refs/heads/" + env.name));
  CFGIT_ASSIGN_OR_RETURN(std::optional<Oid> deployed,
                         s.store->ReadRef("refs/cfgit/deployed/" + env.name));
  if (head) {
    CFGIT_ASSIGN_OR_RETURN(st.head, s.store->ReadCommit(*head));
  }
  if (deployed) {
    CFGIT_ASSIGN_OR_RETURN(st.deployed, s.store->ReadCommit(*deployed));
  }
  CFGIT_ASSIGN_OR_RETURN(st.merge, s.store->ReadMergeState(env.name));
  if (head && deployed) {  // only when what runs is on the branch's history
    CFGIT_ASSIGN_OR_RETURN(std::optional<Oid> base, s.store->MergeBase(*head, *deployed));
    if (base && *base == *deployed) {
      CFGIT_ASSIGN_OR_RETURN(std::vector<CommitInfo> ahead,
                             s.store->LogRange({*head}, {*deployed}));
      st.undeployed = ahead.size();
    }
  }
  const std::optional<CommitInfo>& base = st.deployed ? st.deployed : st.head;
  if (!base) return st;
  st.compared_with = st.deployed ? "deployed" : "head";
  if (env.url.empty()) {  // listed by cfgit clone, no database given yet
    st.no_url = true;
    st.live_error = Status::Invalid("no database url in cfgit.yaml; set it with: cfgit env add " +
                                    env.name + " URL");
    return st;
  }
  Result<LiveSnapshot> live = ReadLive(s, env);
  if (!live.ok()) {
    st.live_error = live.status();
    return st;
  }
  if (!st.deployed) {
    CFGIT_ASSIGN_OR_RETURN(st.deployed, DeployedByContent(*s.store, st.head->id, live->tree));
    st.deployed_by_content = st.deployed.has_value();
    if (st.deployed) {
      st.compared_with = "deployed";
      return st;  // equal: no drift
    }
  }
  CFGIT_ASSIGN_OR_RETURN(st.drift, DiffStat(*s.store, base->tree, live->tree));
  return st;
}

std::string CommitText(const std::optional<CommitInfo>& c) {
  return c ? c->id.Short() + " " + Subject(c->message) : "(none)";
}

void PrintText(const EnvStatus& st, bool color, std::ostream& out) {
  auto paint = [color](const char* code, const std::string& t) {
    return color ? std::string("\033[") + code + "m" + t + "\033[0m" : t;
  };
  const EnvironmentConfig& env = *st.env;
  out << paint("1", env.name) << (env.is_protected ? " (protected)" : "") << "\n";
  out << "  branch:   " << CommitText(st.head) << "\n";
  if (st.merge) {
    size_t n = st.merge->conflicts.size();
    out << "  merge:    " << paint("33", "in progress: " + st.merge->source + " into " + env.name)
        << ", " << n << (n == 1 ? " conflict" : " conflicts") << " (cfgit conflicts " << env.name
        << "; then cfgit merge --continue " << env.name << ")\n";
  }
  out << "  deployed: " << CommitText(st.deployed)
      << (st.deployed_by_content ? " (no record yet: the live database equals this commit)" : "")
      << "\n";
  if (st.undeployed) {
    out << "  pending:  " << st.undeployed << (st.undeployed == 1 ? " commit" : " commits")
        << " on the branch not deployed yet (cfgit apply " << env.name << ")\n";
  }
  if (st.no_url) {
    out << "  live:     " << st.live_error.message() << "\n";
    return;
  }
  if (!st.live_error.ok()) {
    out << "  live:     " << paint("31", "cannot read the database: " + st.live_error.message())
        << "\n";
    return;
  }
  if (st.compared_with.empty()) {
    if (env.is_protected) {
      out << "  live:     no branch yet; start one from a snapshot with: cfgit branch " << env.name
          << " REV\n";
    } else {
      out << "  live:     not committed yet; snapshot it with: cfgit commit " << env.name
          << " -m MESSAGE\n";
    }
    return;
  }
  if (st.drift.empty()) {
    out << "  live:     same as the " << st.compared_with << " commit\n";
    return;
  }
  if (env.is_protected) {
    out << "  live:     "
        << paint("1;31", "DRIFT: the protected database was changed outside cfgit") << "\n";
  } else {
    out << "  live:     changed since the " << st.compared_with << " commit\n";
  }
  std::string stats = FormatStatsText(st.drift);
  std::string line;
  for (char c : stats) {
    if (c != '\n') {
      line.push_back(c);
      continue;
    }
    out << "           " << line << "\n";
    line.clear();
  }
  out << "            see the rows: cfgit diff " << env.name << "\n";
}

std::string Json(const EnvStatus& st) {
  auto commit = [](const std::optional<CommitInfo>& c) {
    return c ? JsonString(c->id.Hex()) : std::string("null");
  };
  std::string out = "{\"environment\":" + JsonString(st.env->name) +
                    ",\"protected\":" + (st.env->is_protected ? "true" : "false") +
                    ",\"head\":" + commit(st.head) + ",\"deployed\":" + commit(st.deployed) +
                    ",\"deployed_by_content\":" + (st.deployed_by_content ? "true" : "false");
  std::string tail = ",\"undeployed_commits\":" + std::to_string(st.undeployed) + ",\"merge\":" +
                     (st.merge ? "{\"source\":" + JsonString(st.merge->source) + ",\"conflicts\":" +
                                     std::to_string(st.merge->conflicts.size()) + "}"
                               : std::string("null")) +
                     "}";
  if (!st.live_error.ok()) return out + ",\"error\":" + JsonString(st.live_error.message()) + tail;
  out += ",\"compared_with\":" +
         (st.compared_with.empty() ? std::string("null") : JsonString(st.compared_with));
  out += std::string(",\"drifted\":") + (st.drift.empty() ? "false" : "true");
  return out + ",\"drift\":" + FormatStatsJson(st.drift) + tail;
}

Status RunStatus(const Globals& globals, const StatusOptions& o) {
  CFGIT_ASSIGN_OR_RETURN(Session s, OpenSession(globals));
  std::vector<const EnvironmentConfig*> envs;
  for (const std::string& name : o.envs) {
    CFGIT_ASSIGN_OR_RETURN(const EnvironmentConfig* env, FindEnvironment(s.config, name));
    envs.push_back(env);
  }
  if (o.envs.empty()) {
    for (const EnvironmentConfig& env : s.config.environments) envs.push_back(&env);
  }
  if (envs.empty() && o.format == "text") {
    std::cout << "no environments yet; add one with: cfgit env add NAME URL\n";
  }
  bool color = UseColor(o.no_color);
  std::string json;
  Status unreadable;
  for (const EnvironmentConfig* env : envs) {
    CFGIT_ASSIGN_OR_RETURN(EnvStatus st, Inspect(s, *env));
    if (!st.live_error.ok() && !st.no_url && unreadable.ok()) {
      unreadable = Status::Database("could not read the database of " + env->name +
                                    "; check its URL with: cfgit env list");
    }
    if (o.format == "json") {
      json += (json.empty() ? "" : ",") + Json(st);
    } else {
      PrintText(st, color, std::cout);
    }
  }
  if (o.format == "json") std::cout << "{\"environments\":[" << json << "]}\n";
  return unreadable;
}

}  // namespace

void RegisterStatus(CLI::App& app, const Globals& globals, Action* action) {
  auto o = std::make_shared<StatusOptions>();
  CLI::App* sub = app.add_subcommand(
      "status", "Show each environment's branch, deployed commit and drift of its live database");
  sub->add_option("ENV", o->envs, "Environments to show (default: all)");
  AddFormatOption(sub, &o->format);
  sub->add_flag("--no-color", o->no_color, "Never colour the output");
  sub->footer(
      "Drift is measured against the deployed commit (what cfgit last made the database "
      "equal to), or the branch head when there is none. A protected environment with drift "
      "is flagged. Exits 3 when a database cannot be read (the others are still shown).");
  sub->callback(
      [action, o, &globals] { *action = [o, &globals] { return RunStatus(globals, *o); }; });
}

}  // namespace cfgit::cmd
