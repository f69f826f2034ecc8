// cfgit promote SOURCE TARGET [--tag NAME] [--dry-run]: fast-forward TARGET to SOURCE, deploy.
#include <iostream>

#include "cmd/command.h"

namespace cfgit::cmd {
namespace {

struct PromoteOptions {
  std::string source, target, tag, format = "text";
  bool dry_run = false, force = false;
};

Status RunPromote(const Globals& globals, const PromoteOptions& o) {
  if (o.format == "sql" && !o.dry_run) {
    return Status::Usage("--format sql prints the statements of a --dry-run; add --dry-run");
  }
  CFGIT_ASSIGN_OR_RETURN(Session s, OpenSession(globals));
  CFGIT_ASSIGN_OR_RETURN(const EnvironmentConfig* env, FindEnvironment(s.config, o.target));
  CFGIT_ASSIGN_OR_RETURN(auto lock, s.store->LockForWriting(std::chrono::seconds(10)));
  const std::string branch = "refs/heads/" + env->name;
  CFGIT_ASSIGN_OR_RETURN(std::optional<Oid> head, s.store->ReadRef(branch));
  CFGIT_ASSIGN_OR_RETURN(Oid source, s.store->ResolveCommit(o.source));
  if (head && !(*head == source)) {
    CFGIT_ASSIGN_OR_RETURN(std::optional<Oid> base, s.store->MergeBase(*head, source));
    if (!base || !(*base == *head)) {
      CFGIT_ASSIGN_OR_RETURN(std::vector<CommitInfo> extra, s.store->LogRange({*head}, {source}));
      std::string list;
      for (size_t i = 0; i < extra.size() && i < 20; ++i) {
        list += "\n  " + extra[i].id.Short() + " " + Subject(extra[i].message);
      }
      return Status::NeedsAttention(
          "cannot promote " + o.source + " to " + env->name + ": it is not a fast-forward; " +
          env->name + " has commits that " + o.source + " lacks:" + list + "\nmerge them into " +
          o.source + " first (cfgit merge " + env->name + " --into " + o.source + "), or roll " +
          env->name + " back");
    }
  }
  if (!o.tag.empty()) {
    CFGIT_ASSIGN_OR_RETURN(auto existing, s.store->ReadRef("refs/tags/" + o.tag));
    if (existing) {
      return Status::Usage("tag '" + o.tag + "' exists already; pick another name");
    }
  }
  DeployRequest req;
  req.env = env;
  req.commit = source;
  req.label = o.source;
  req.dry_run = o.dry_run;
  req.sql = o.format == "sql";
  req.force = o.force;
  req.reason = "promote of " + o.source + " (" + source.Short() + ")";
  req.move_branch = true;  // once the write has committed
  req.branch_head = head;
  CFGIT_ASSIGN_OR_RETURN(DeployResult r, Deploy(s, req));
  if (o.dry_run) {
    PrintDeploy(req, r, o.format);
    return Status::Ok();
  }
  if (!o.tag.empty()) {
    CFGIT_RETURN_IF_ERROR(s.store->CreateTag(
        o.tag, source, "Release " + o.tag + " of " + env->name + " (" + o.source + ")",
        s.store->DefaultSignature(s.config)));
  }
  PrintDeploy(req, r, o.format,
              ",\"tag\":" + (o.tag.empty() ? std::string("null") : JsonString(o.tag)));
  if (o.format == "text" && !o.tag.empty()) {
    std::cout << "tagged " << source.Short() << " as " << o.tag << "\n";
  }
  return Status::Ok();
}

}  // namespace

void RegisterPromote(CLI::App& app, const Globals& globals, Action* action) {
  auto o = std::make_shared<PromoteOptions>();
  CLI::App* sub = app.add_subcommand(
      "promote", "Fast-forward environment TARGET to SOURCE and write it to TARGET's database");
  sub->add_option("SOURCE", o->source, "What to promote (usually the staging branch)")->required();
  sub->add_option("TARGET", o->target, "The environment to promote to")->required();
  sub->add_option("--tag", o->tag, "Tag the promoted commit as a release")->option_text("NAME");
  sub->add_flag("--dry-run", o->dry_run, "Print what would be written; change nothing");
  sub->add_flag("--force", o->force, "Write over drift in TARGET (backed up first)");
  sub->add_option("--format", o->format, "Output format")
      ->check(CLI::IsMember({"text", "json", "sql"}))
      ->default_str("text");
  sub->footer(
      "Fast-forward only: when TARGET has commits SOURCE lacks, it refuses (exit 1) listing "
      "them. Then it applies SOURCE to TARGET as cfgit apply does; the branch moves once the "
      "write has committed (a refused or failed write leaves it). Guide: docs/releases.md.");
  sub->callback(
      [action, o, &globals] { *action = [o, &globals] { return RunPromote(globals, *o); }; });
}

}  // namespace cfgit::cmd
