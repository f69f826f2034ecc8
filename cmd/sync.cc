// cfgit fetch [REMOTE] | push [REMOTE] [BRANCH|TAG...] | pull [REMOTE] [BRANCH]: sharing branches
// and tags through a Git server. Pull merges with cfgit's own three-way table merge.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <iostream>

#include "cmd/command.h"

namespace cfgit::cmd {
namespace {

struct SyncOptions {
  std::vector<std::string> args;  // [REMOTE] then branches/tags
  std::string format = "text";
  bool force = false;
};

bool progress_drawn = false;

std::string Bytes(uint64_t n) {
  char buf[32];
  if (n < 1024) return std::to_string(n) + (n == 1 ? " byte" : " bytes");
  if (n < uint64_t{1024} * 1024) {
    std::snprintf(buf, sizeof buf, "%.1f KiB", static_cast<double>(n) / 1024);
  } else {
    std::snprintf(buf, sizeof buf, "%.1f MiB", static_cast<double>(n) / (1024 * 1024));
  }
  return buf;
}

std::string Objects(size_t n) { return std::to_string(n) + (n == 1 ? " object" : " objects"); }

std::string IdOrNull(const std::optional<Oid>& id) {
  return id ? JsonString(id->Hex()) : std::string("null");
}

// "origin/dev", "tag v1", or the ref as it is.
std::string ShortRef(const std::string& ref) {
  if (ref.rfind("refs/remotes/", 0) == 0) return ref.substr(13);
  if (ref.rfind("refs/tags/", 0) == 0) return "tag " + ref.substr(10);
  if (ref.rfind("refs/heads/", 0) == 0) return ref.substr(11);
  return ref;
}

// The remote named first, if the first argument names one; the rest are refs.
Result<std::string> SplitRemote(const Session& s, std::vector<std::string>* args) {
  if (args->empty()) return std::string("origin");
  CFGIT_ASSIGN_OR_RETURN(std::vector<RemoteConfig> remotes, ListRemotes(*s.store));
  for (const RemoteConfig& r : remotes) {
    if (r.name == args->front()) {
      args->erase(args->begin());
      return r.name;
    }
  }
  return std::string("origin");
}

std::string FetchText(const FetchResult& f) {
  if (f.updates.empty()) return f.remote + " (" + f.url + "): up to date\n";
  size_t width = 0;
  for (const RefUpdate& u : f.updates) width = std::max(width, ShortRef(u.ref).size());
  std::string out = "From " + f.remote + " (" + f.url + "):\n";
  for (const RefUpdate& u : f.updates) {
    std::string name = ShortRef(u.ref);
    out += "  " + name + std::string(width - name.size() + 2, ' ');
    if (!u.note.empty()) {
      out += u.note;
    } else if (!u.to) {
      out += "(deleted: gone from " + f.remote + ")";
    } else if (!u.from) {
      out += "(new) " + u.to->Short();
    } else {
      out += u.from->Short() + " -> " + u.to->Short();
    }
    out += "\n";
  }
  return out + "Fetched " + Objects(f.objects) + " (" + Bytes(f.bytes) + ").\n";
}

std::string FetchJson(const FetchResult& f) {
  std::string updates = "[";
  for (size_t i = 0; i < f.updates.size(); ++i) {
    const RefUpdate& u = f.updates[i];
    updates += std::string(i ? "," : "") + "{\"ref\":" + JsonString(u.ref) +
               ",\"from\":" + IdOrNull(u.from) + ",\"to\":" + IdOrNull(u.to) +
               ",\"note\":" + (u.note.empty() ? "null" : JsonString(u.note)) + "}";
  }
  return "{\"remote\":" + JsonString(f.remote) + ",\"url\":" + JsonString(f.url) +
         ",\"objects\":" + std::to_string(f.objects) + ",\"bytes\":" + std::to_string(f.bytes) +
         ",\"updates\":" + updates + "]}";
}

Status RunFetch(const Globals& globals, SyncOptions o) {
  CFGIT_ASSIGN_OR_RETURN(Session s, OpenSession(globals));
  CFGIT_ASSIGN_OR_RETURN(std::string remote, SplitRemote(s, &o.args));
  if (!o.args.empty()) {
    return Status::Usage("there is no remote '" + o.args.front() +
                         "' (cfgit remote list shows them); fetch takes only a remote name");
  }
  CFGIT_ASSIGN_OR_RETURN(auto lock, s.store->LockForWriting(std::chrono::seconds(10)));
  Result<FetchResult> f = Fetch(*s.store, remote, TerminalProgress());
  EndProgress();
  if (!f.ok()) return f.status();
  std::cout << (o.format == "json" ? FetchJson(*f) + "\n" : FetchText(*f));
  return Status::Ok();
}

// The full ref a push argument names: refs/... as is, else a branch, else a tag.
Result<std::string> PushRef(const Store& store, const std::string& name) {
  if (name.rfind("refs/", 0) == 0) return name;
  CFGIT_ASSIGN_OR_RETURN(std::optional<Oid> branch, store.ReadRef("refs/heads/" + name));
  CFGIT_ASSIGN_OR_RETURN(std::optional<Oid> tag, store.ReadRef("refs/tags/" + name));
  if (branch && tag) {
    return Status::Usage("'" + name + "' is both a branch and a tag; say refs/heads/" + name +
                         " or refs/tags/" + name);
  }
  if (branch) return "refs/heads/" + name;
  if (tag) return "refs/tags/" + name;
  return Status::Usage("there is no branch or tag '" + name +
                       "' to push (cfgit branch and cfgit tag list them)");
}

const char* OutcomeName(PushedRef::Outcome o) {
  switch (o) {
    case PushedRef::Outcome::kUpToDate:
      return "up-to-date";
    case PushedRef::Outcome::kPushed:
      return "pushed";
    case PushedRef::Outcome::kBehind:
      return "behind";
    case PushedRef::Outcome::kRejected:
      return "rejected";
  }
  return "?";
}

Status RunPush(const Globals& globals, SyncOptions o) {
  CFGIT_ASSIGN_OR_RETURN(Session s, OpenSession(globals));
  PushRequest request;
  CFGIT_ASSIGN_OR_RETURN(request.remote, SplitRemote(s, &o.args));
  for (const std::string& name : o.args) {
    CFGIT_ASSIGN_OR_RETURN(std::string ref, PushRef(*s.store, name));
    request.refs.push_back(ref);
  }
  request.force = o.force;
  CFGIT_ASSIGN_OR_RETURN(auto lock, s.store->LockForWriting(std::chrono::seconds(10)));
  Result<PushResult> pushed = Push(*s.store, request, TerminalProgress());
  EndProgress();
  if (!pushed.ok()) return pushed.status();
  const PushResult& p = *pushed;
  std::string rejected;
  for (const PushedRef& r : p.refs) {
    if (r.outcome == PushedRef::Outcome::kRejected) {
      rejected += "\n  " + ShortRef(r.ref) + ": " + r.reason;
    }
  }
  if (o.format == "json") {
    std::string refs = "[";
    for (size_t i = 0; i < p.refs.size(); ++i) {
      const PushedRef& r = p.refs[i];
      refs += std::string(i ? "," : "") + "{\"ref\":" + JsonString(r.ref) +
              ",\"local\":" + JsonString(r.local.Hex()) +
              ",\"remote_before\":" + IdOrNull(r.remote_before) +
              ",\"result\":" + JsonString(OutcomeName(r.outcome)) +
              ",\"reason\":" + (r.reason.empty() ? "null" : JsonString(r.reason)) + "}";
    }
    std::cout << "{\"remote\":" << JsonString(p.remote) << ",\"url\":" << JsonString(p.url)
              << ",\"objects\":" << p.objects << ",\"refs\":" << refs << "]}\n";
  } else {
    std::string lines;
    size_t pushed_refs = 0;
    size_t width = 0;
    for (const PushedRef& r : p.refs) width = std::max(width, ShortRef(r.ref).size());
    for (const PushedRef& r : p.refs) {
      if (r.outcome == PushedRef::Outcome::kUpToDate) continue;
      std::string name = ShortRef(r.ref);
      lines += "  " + name + std::string(width - name.size() + 2, ' ');
      if (r.outcome == PushedRef::Outcome::kPushed) {
        ++pushed_refs;
        bool tag = r.ref.rfind("refs/tags/", 0) == 0;
        lines += r.remote_before ? r.remote_before->Short() + " -> " + r.local.Short() +
                                       (request.force ? " (forced)" : "")
                                 : std::string(tag ? "(new tag) " : "(new) ") + r.local.Short();
      } else if (r.outcome == PushedRef::Outcome::kBehind) {
        lines += "not pushed: " + r.reason;
      } else {
        lines += "REJECTED";
      }
      lines += "\n";
    }
    if (lines.empty()) {
      std::cout << p.remote << " (" << p.url << "): everything up to date\n";
    } else {
      std::cout << "To " << p.remote << " (" << p.url << "):\n" << lines;
      if (pushed_refs) std::cout << "Pushed " << Objects(p.objects) << ".\n";
    }
  }
  if (!rejected.empty()) {
    return Status::NeedsAttention("push to " + p.remote + " rejected; " + p.remote +
                                  " keeps what it has for:" + rejected);
  }
  return Status::Ok();
}

struct PulledBranch {
  std::string branch;
  std::string result;  // created, up-to-date, fast-forward, merged, conflicts, busy
  std::optional<Oid> from;
  Oid to;
  size_t conflicts = 0;
  std::string text;  // what to print
};

Status RunPull(const Globals& globals, SyncOptions o) {
  CFGIT_ASSIGN_OR_RETURN(Session s, OpenSession(globals));
  CFGIT_ASSIGN_OR_RETURN(std::string remote, SplitRemote(s, &o.args));
  if (o.args.size() > 1) {
    return Status::Usage("pull takes at most one branch: cfgit pull [REMOTE] [BRANCH]");
  }
  CFGIT_ASSIGN_OR_RETURN(auto lock, s.store->LockForWriting(std::chrono::seconds(10)));
  Result<FetchResult> fetched = Fetch(*s.store, remote, TerminalProgress());
  EndProgress();
  if (!fetched.ok()) return fetched.status();
  const std::string tracking = "refs/remotes/" + remote + "/";
  CFGIT_ASSIGN_OR_RETURN(std::vector<RefInfo> theirs, s.store->ListRefs(tracking));
  std::vector<std::string> branches;
  for (const RefInfo& r : theirs) {
    if (r.name != "HEAD" && (o.args.empty() || r.name == o.args.front())) {
      branches.push_back(r.name);
    }
  }
  if (!o.args.empty() && branches.empty()) {
    return Status::Usage(remote + " has no branch '" + o.args.front() + "' (cfgit fetch " + remote +
                         " lists what it has)");
  }

  std::vector<PulledBranch> pulled;
  Status stopped;  // the first merge that needs a person
  for (const std::string& branch : branches) {
    PulledBranch p;
    p.branch = branch;
    const std::string label = remote + "/" + branch;
    CFGIT_ASSIGN_OR_RETURN(std::optional<Oid> local, s.store->ReadRef("refs/heads/" + branch));
    if (!local) {
      CFGIT_ASSIGN_OR_RETURN(Oid id, s.store->ResolveCommit(tracking + branch));
      CFGIT_RETURN_IF_ERROR(s.store->UpdateRef("refs/heads/" + branch, id, std::nullopt,
                                               "pull: new branch from " + remote));
      p.result = "created";
      p.to = id;
      p.text = "new branch at " + id.Short() + " (from " + label + ")\n";
      pulled.push_back(std::move(p));
      continue;
    }
    p.from = local;
    Result<BranchMergeResult> merged =
        MergeIntoBranch(s, {.target = branch, .source = tracking + branch, .label = label});
    if (!merged.ok()) {
      if (merged.status().code() != Code::kNeedsAttention) return merged.status();
      p.result = "busy";
      p.to = *local;
      p.text = "not merged: " + merged.status().message() + "\n";
      if (stopped.ok()) stopped = merged.status();
      pulled.push_back(std::move(p));
      continue;
    }
    const BranchMergeResult& m = *merged;
    p.result = m.result;
    p.to = m.commit;
    if (m.result == "up-to-date") {
      p.text = "up to date\n";
    } else if (m.result == "fast-forward") {
      p.text = "fast-forward " + m.old_head.Short() + " -> " + m.commit.Short() + "\n" +
               FormatStatsText(m.stats);
    } else if (m.result == "merged") {
      p.text = "merged " + label + ": [" + branch + " " + m.commit.Short() + "] " +
               Subject(m.message) + "\n" + m.summary;
    } else {
      p.conflicts = m.conflicts.size();
      p.text = "merge of " + label + " stopped: " + std::to_string(p.conflicts) +
               (p.conflicts == 1 ? " conflict; " : " conflicts; ") + branch + " has not moved\n" +
               m.summary;
      if (stopped.ok()) stopped = MergeStopped(label, branch, m.conflicts);
    }
    pulled.push_back(std::move(p));
  }

  if (o.format == "json") {
    std::string out = "{\"remote\":" + JsonString(remote) + ",\"fetch\":" + FetchJson(*fetched) +
                      ",\"branches\":[";
    for (size_t i = 0; i < pulled.size(); ++i) {
      const PulledBranch& p = pulled[i];
      out += std::string(i ? "," : "") + "{\"branch\":" + JsonString(p.branch) +
             ",\"result\":" + JsonString(p.result) + ",\"from\":" + IdOrNull(p.from) +
             ",\"to\":" + JsonString(p.to.Hex()) + ",\"conflicts\":" + std::to_string(p.conflicts) +
             "}";
    }
    std::cout << out << "]}\n";
    return stopped;
  }
  std::cout << FetchText(*fetched);
  std::string untouched;
  for (const PulledBranch& p : pulled) {
    std::cout << p.branch << ": " << p.text;
    bool moved = p.result == "created" || p.result == "fast-forward" || p.result == "merged";
    if (moved && s.config.FindEnvironment(p.branch)) {
      untouched += (untouched.empty() ? "" : ", ") + p.branch;
    }
  }
  if (!untouched.empty()) {
    std::cout << "Databases are not changed by pull; write a moved environment's branch to its "
                 "database with: cfgit apply ENV ("
              << untouched << ")\n";
  }
  return stopped;
}

void AddSyncCommand(CLI::App& app, const Globals& globals, Action* action, const char* name,
                    const char* help, const char* args_help, const char* footer,
                    Status (*run)(const Globals&, SyncOptions), bool with_force) {
  auto o = std::make_shared<SyncOptions>();
  CLI::App* sub = app.add_subcommand(name, help);
  sub->add_option("ARGS", o->args, args_help);
  if (with_force) {
    sub->add_flag("--force", o->force,
                  "Overwrite what the remote has even when that loses commits on it");
  }
  AddFormatOption(sub, &o->format);
  sub->footer(footer);
  sub->callback(
      [action, o, &globals, run] { *action = [o, &globals, run] { return run(globals, *o); }; });
}

}  // namespace

TransferOptions TerminalProgress() {
  TransferOptions options;
  if (::isatty(STDERR_FILENO) != 1) return options;
  auto last = std::make_shared<std::chrono::steady_clock::time_point>();
  options.on_progress = [last](const TransferProgress& p) {
    auto now = std::chrono::steady_clock::now();
    bool done = p.total_objects && p.objects == p.total_objects;
    if (!done && now - *last < std::chrono::milliseconds(100)) return;
    *last = now;
    unsigned percent =
        p.total_objects ? static_cast<unsigned>(p.objects * 100 / p.total_objects) : 0;
    std::fprintf(stderr, "\r%s objects: %3u%% (%zu/%zu), %s   ", p.upload ? "Sending" : "Receiving",
                 percent, p.objects, p.total_objects, Bytes(p.bytes).c_str());
    std::fflush(stderr);
    progress_drawn = true;
  };
  return options;
}

void EndProgress() {
  if (progress_drawn) std::fputs("\n", stderr);
  progress_drawn = false;
}

void RegisterFetch(CLI::App& app, const Globals& globals, Action* action) {
  AddSyncCommand(
      app, globals, action, "fetch", "Bring in the branches and tags of a remote (default origin)",
      "[REMOTE]",
      "Branches arrive as refs/remotes/REMOTE/NAME (your branches do not move; cfgit pull "
      "merges them); new tags are created, a tag that exists here is never moved. Exit 1 when "
      "the remote cannot be reached or refuses the credentials.",
      RunFetch, false);
}

void RegisterPush(CLI::App& app, const Globals& globals, Action* action) {
  AddSyncCommand(
      app, globals, action, "push", "Send branches and tags to a remote (default origin)",
      "[REMOTE] [BRANCH|TAG|REF...]: the first word is the remote when it names one",
      "Without names: every branch and tag the remote does not have yet, except branches the "
      "remote is ahead on (pull brings those in); refs/cfgit/* (backups, deployed) only when "
      "named. A push that would lose commits on the remote (someone pushed meanwhile), or move "
      "a tag, is rejected with exit 1: run cfgit pull first. --force overwrites.",
      RunPush, true);
}

void RegisterPull(CLI::App& app, const Globals& globals, Action* action) {
  AddSyncCommand(
      app, globals, action, "pull",
      "Fetch, then fast-forward or merge each branch with the remote's (cfgit's table merge)",
      "[REMOTE] [BRANCH]: the first word is the remote when it names one",
      "For each branch of the remote (or BRANCH): a new one is created here; one behind is "
      "fast-forwarded; a diverged one is merged three ways, cell by cell, exactly like cfgit "
      "merge REMOTE/BRANCH --into BRANCH. Conflicts stop that merge (exit 1) with it recorded: "
      "cfgit conflicts, cfgit resolve, cfgit merge --continue. Only branches move; no "
      "database is written (cfgit apply does that).",
      RunPull, false);
}

}  // namespace cfgit::cmd
