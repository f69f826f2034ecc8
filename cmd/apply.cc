// cfgit apply ENV [REV] [--dry-run] [--force]: make ENV's database equal REV.
#include <iostream>

#include "cmd/command.h"

namespace cfgit::cmd {
namespace {

struct ApplyOptions {
  std::string env, rev, format = "text";
  bool dry_run = false, force = false;
};

Status RunApply(const Globals& globals, const ApplyOptions& o) {
  if (o.format == "sql" && !o.dry_run) {
    return Status::Usage("--format sql prints the statements of a --dry-run; add --dry-run");
  }
  CFGIT_ASSIGN_OR_RETURN(Session s, OpenSession(globals));
  CFGIT_ASSIGN_OR_RETURN(const EnvironmentConfig* env, FindEnvironment(s.config, o.env));
  CFGIT_ASSIGN_OR_RETURN(auto lock, s.store->LockForWriting(std::chrono::seconds(10)));
  const std::string branch = "refs/heads/" + env->name;
  CFGIT_ASSIGN_OR_RETURN(std::optional<Oid> head, s.store->ReadRef(branch));
  DeployRequest req;
  req.env = env;
  req.force = o.force;
  req.dry_run = o.dry_run;
  req.sql = o.format == "sql";
  if (o.rev.empty()) {
    if (!head) {
      return Status::Usage("branch " + env->name + " does not exist yet: name what to apply, " +
                           "cfgit apply " + env->name + " REV");
    }
    req.commit = *head;
    req.label = env->name;
  } else {
    CFGIT_ASSIGN_OR_RETURN(req.commit, s.store->ResolveCommit(o.rev));
    req.label = o.rev;
  }
  req.reason = "apply of " + req.label + " (" + req.commit.Short() + ")";
  // An explicit REV also moves the branch: it says what ENV runs now.
  req.move_branch = true;
  req.branch_head = head;
  CFGIT_ASSIGN_OR_RETURN(DeployResult r, Deploy(s, req));
  PrintDeploy(req, r, o.format);
  return Status::Ok();
}

}  // namespace

void RegisterApply(CLI::App& app, const Globals& globals, Action* action) {
  auto o = std::make_shared<ApplyOptions>();
  CLI::App* sub = app.add_subcommand("apply", "Make ENV's database equal a revision (deploy)");
  sub->add_option("ENV", o->env, "The environment to write")->required();
  sub->add_option("REV", o->rev,
                  "What to deploy (default: the head of branch ENV); an explicit "
                  "REV also moves branch ENV there");
  sub->add_flag("--dry-run", o->dry_run, "Print what would be written; change nothing");
  sub->add_flag("--force", o->force,
                "Write over drift in a protected environment (it is backed up first)");
  sub->add_option("--format", o->format, "Output format (sql: the statements, with --dry-run)")
      ->check(CLI::IsMember({"text", "json", "sql"}))
      ->default_str("text");
  sub->footer(
      "Backs the live tables up to refs/cfgit/backups/ENV/<time> first, then writes only the "
      "difference in one transaction, in foreign-key-safe order, and records the revision as "
      "ENV's deployed commit. Refuses (exit 1) on drift of a protected environment and on "
      "{{$env.NAME}} variables ENV does not define. Guide: docs/releases.md.");
  sub->callback(
      [action, o, &globals] { *action = [o, &globals] { return RunApply(globals, *o); }; });
}

}  // namespace cfgit::cmd
