// cfgit export REV -o FILE | import FILE: release files (Git bundles) for environments that
// cannot reach the Git server.
#include <filesystem>
#include <iostream>

#include "cmd/command.h"

namespace cfgit::cmd {
namespace {

struct BundleOptions {
  std::string rev, since, file, format = "text";
};

std::string RefLabel(const std::string& ref) {
  if (ref.rfind("refs/heads/", 0) == 0) return "branch " + ref.substr(11);
  if (ref.rfind("refs/tags/", 0) == 0) return "tag " + ref.substr(10);
  return ref;
}

// FILE as given on the command line, relative to -C DIR.
std::string FilePath(const Globals& globals, const std::string& file) {
  std::filesystem::path p(file);
  if (p.is_absolute()) return file;
  std::error_code ec;
  return (std::filesystem::absolute(globals.dir, ec) / p).lexically_normal().string();
}

Status RunExport(const Globals& globals, const BundleOptions& o) {
  CFGIT_ASSIGN_OR_RETURN(Session s, OpenSession(globals));
  CFGIT_ASSIGN_OR_RETURN(
      ExportResult r,
      ExportBundle(*s.store, {.rev = o.rev, .since = o.since, .path = FilePath(globals, o.file)}));
  if (o.format == "json") {
    std::string prerequisites = "[";
    for (size_t i = 0; i < r.prerequisites.size(); ++i) {
      prerequisites += std::string(i ? "," : "") + JsonString(r.prerequisites[i].Hex());
    }
    std::cout << "{\"file\":" << JsonString(o.file) << ",\"ref\":" << JsonString(r.ref)
              << ",\"object\":" << JsonString(r.object.Hex())
              << ",\"commit\":" << JsonString(r.commit.Hex()) << ",\"commits\":" << r.commits
              << ",\"objects\":" << r.objects << ",\"bytes\":" << r.bytes
              << ",\"prerequisites\":" << prerequisites << "]}\n";
    return Status::Ok();
  }
  std::cout << "Exported " << RefLabel(r.ref) << " (commit " << r.commit.Short() << ", "
            << r.commits << (r.commits == 1 ? " commit, " : " commits, ") << r.objects
            << " objects) to " << o.file << " (" << r.bytes << " bytes).\n";
  if (!r.prerequisites.empty()) {
    std::string ids;
    for (const Oid& p : r.prerequisites) ids += " " + p.Short();
    std::cout << "It builds on commits the receiving store must have already:" << ids << "\n";
  }
  std::cout << "Bring it in elsewhere with: cfgit import " << o.file << "\n";
  return Status::Ok();
}

const char* OutcomeName(ImportedRef::Outcome o) {
  switch (o) {
    case ImportedRef::Outcome::kCreated:
      return "created";
    case ImportedRef::Outcome::kFastForward:
      return "fast-forward";
    case ImportedRef::Outcome::kUpToDate:
      return "up-to-date";
    case ImportedRef::Outcome::kKeptAside:
      return "kept-aside";
  }
  return "?";
}

// What one imported ref brought: the commits no ref of the store had before, and the tables
// they change (against the ref's old commit, or the parent of the oldest new commit).
struct Brought {
  size_t commits = 0;
  std::vector<TableChangeStat> tables;
};

Result<Brought> WhatItBrought(const Store& store, const ImportedRef& r,
                              const std::vector<Oid>& known) {
  Brought b;
  if (r.outcome == ImportedRef::Outcome::kUpToDate) return b;
  CFGIT_ASSIGN_OR_RETURN(std::vector<CommitInfo> fresh, store.LogRange({r.commit}, known));
  b.commits = fresh.size();
  std::optional<Oid> from;
  if (r.before && r.outcome != ImportedRef::Outcome::kKeptAside) {
    CFGIT_ASSIGN_OR_RETURN(from, store.ResolveCommit(r.before->Hex()));
  } else if (!fresh.empty() && !fresh.back().parents.empty()) {
    from = fresh.back().parents.front();
  } else if (fresh.empty()) {
    from = r.commit;  // nothing new: no table changes to report
  }
  std::optional<Oid> from_tree;
  if (from) {
    CFGIT_ASSIGN_OR_RETURN(CommitInfo c, store.ReadCommit(*from));
    from_tree = c.tree;
  }
  CFGIT_ASSIGN_OR_RETURN(CommitInfo to, store.ReadCommit(r.commit));
  CFGIT_ASSIGN_OR_RETURN(b.tables, DiffStat(store, from_tree, to.tree));
  return b;
}

Status RunImport(const Globals& globals, const BundleOptions& o) {
  CFGIT_ASSIGN_OR_RETURN(Session s, OpenSession(globals));
  CFGIT_ASSIGN_OR_RETURN(auto lock, s.store->LockForWriting(std::chrono::seconds(10)));
  std::vector<Oid> known;  // every commit a branch, tag or import ref had before
  for (const char* prefix : {"refs/heads/", "refs/tags/", "refs/cfgit/imports/"}) {
    CFGIT_ASSIGN_OR_RETURN(std::vector<RefInfo> refs, s.store->ListRefs(prefix));
    for (const RefInfo& r : refs) known.push_back(r.target);
  }
  CFGIT_ASSIGN_OR_RETURN(ImportResult result, ImportBundle(*s.store, FilePath(globals, o.file)));
  std::string json, text, aside;
  for (const ImportedRef& r : result.refs) {
    CFGIT_ASSIGN_OR_RETURN(Brought b, WhatItBrought(*s.store, r, known));
    json +=
        std::string(json.empty() ? "" : ",") + "{\"ref\":" + JsonString(r.bundle_ref) +
        ",\"local\":" + JsonString(r.ref) + ",\"result\":" + JsonString(OutcomeName(r.outcome)) +
        ",\"before\":" + (r.before ? JsonString(r.before->Hex()) : "null") +
        ",\"commit\":" + JsonString(r.commit.Hex()) + ",\"commits\":" + std::to_string(b.commits) +
        ",\"tables\":" + FormatStatsJson(b.tables) + "}";
    std::string line = "  " + RefLabel(r.bundle_ref) + ": ";
    switch (r.outcome) {
      case ImportedRef::Outcome::kCreated:
        line += r.ref == r.bundle_ref ? "new, at " + r.commit.Short()
                                      : "kept at " + r.ref + " (commit " + r.commit.Short() + ")";
        break;
      case ImportedRef::Outcome::kFastForward:
        line += "fast-forward " + r.before->Short() + " -> " + r.commit.Short();
        break;
      case ImportedRef::Outcome::kUpToDate:
        line += "up to date (" + r.commit.Short() + ")";
        break;
      case ImportedRef::Outcome::kKeptAside:
        line +=
            "diverged from this store's; kept at " + r.ref + " (commit " + r.commit.Short() + ")";
        aside += "\n  " + r.bundle_ref.substr(11) + ": cfgit merge " + r.ref + " --into " +
                 r.bundle_ref.substr(11);
        break;
    }
    if (b.commits)
      line += ", " + std::to_string(b.commits) + (b.commits == 1 ? " commit" : " commits");
    text += line + "\n" + FormatStatsText(b.tables);
  }
  if (o.format == "json") {
    std::cout << "{\"file\":" << JsonString(o.file) << ",\"objects\":" << result.objects
              << ",\"refs\":[" << json << "]}\n";
  } else {
    std::cout << "Imported " << o.file << " (" << result.objects << " objects):\n" << text;
    if (aside.empty()) {
      std::cout << "Next: cfgit promote SOURCE TARGET, or cfgit apply ENV REV, writes it to a "
                   "database.\n";
    }
  }
  if (!aside.empty()) {
    return Status::NeedsAttention(
        "the file's branches diverged from this store's, so they did not move; merge them "
        "with:" +
        aside);
  }
  return Status::Ok();
}

}  // namespace

void RegisterExport(CLI::App& app, const Globals& globals, Action* action) {
  auto o = std::make_shared<BundleOptions>();
  CLI::App* sub = app.add_subcommand(
      "export", "Write a branch, tag or commit and its history to one release file");
  sub->add_option("REV", o->rev, "A branch or tag (the file carries its name), or any revision")
      ->required();
  sub->add_option("-o,--output", o->file, "The file to write (replaced if it exists)")
      ->required()
      ->option_text("FILE");
  sub->add_option("--since", o->since,
                  "Leave out what this revision already has: a smaller file for a store that "
                  "has it (import refuses it elsewhere)")
      ->option_text("REV");
  AddFormatOption(sub, &o->format);
  sub->footer(
      "The file is a Git bundle (git bundle verify and git clone read it). Carry it to an "
      "environment that cannot reach the Git server and run cfgit import FILE there. A revision "
      "that is not a branch or tag travels as refs/cfgit/exports/<id>. See docs/teams.md.");
  sub->callback(
      [action, o, &globals] { *action = [o, &globals] { return RunExport(globals, *o); }; });
}

void RegisterImport(CLI::App& app, const Globals& globals, Action* action) {
  auto o = std::make_shared<BundleOptions>();
  CLI::App* sub =
      app.add_subcommand("import", "Add a release file's commits, branches and tags to the store");
  sub->add_option("FILE", o->file, "A file written by cfgit export (or git bundle create)")
      ->required();
  AddFormatOption(sub, &o->format);
  sub->footer(
      "The whole file is checked before anything is written: a damaged or truncated file is "
      "refused (exit 1). New branches and tags are created, branches behind the file's are "
      "fast-forwarded; a diverged branch X stays, and the file's commit is kept at "
      "refs/cfgit/imports/heads/X to merge (exit 1). A tag never moves. No database is "
      "written: cfgit promote or cfgit apply does that.");
  sub->callback(
      [action, o, &globals] { *action = [o, &globals] { return RunImport(globals, *o); }; });
}

}  // namespace cfgit::cmd
