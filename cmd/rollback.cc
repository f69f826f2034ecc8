// cfgit rollback ENV --to REV: reset branch ENV to REV (the old head kept), then deploy it.
#include <ctime>
#include <iostream>

#include "cmd/command.h"

namespace cfgit::cmd {
namespace {

struct RollbackOptions {
  std::string env, to, format = "text";
  bool force = false, dry_run = false;
};

Status RunRollback(const Globals& globals, const RollbackOptions& o) {
  CFGIT_ASSIGN_OR_RETURN(Session s, OpenSession(globals));
  CFGIT_ASSIGN_OR_RETURN(const EnvironmentConfig* env, FindEnvironment(s.config, o.env));
  CFGIT_ASSIGN_OR_RETURN(auto lock, s.store->LockForWriting(std::chrono::seconds(10)));
  const std::string branch = "refs/heads/" + env->name;
  CFGIT_ASSIGN_OR_RETURN(std::optional<Oid> head, s.store->ReadRef(branch));
  if (!head) return Status::Usage("branch " + env->name + " does not exist: nothing to roll back");
  CFGIT_ASSIGN_OR_RETURN(Oid to, s.store->ResolveCommit(o.to));
  if (to == *head) {
    std::cout << env->name << " is already at " << o.to << " (" << to.Short()
              << "): nothing to roll back\n";
    return Status::Ok();
  }
  DeployRequest req;
  req.env = env;
  req.commit = to;
  req.label = o.to;
  req.force = o.force;
  req.dry_run = o.dry_run;
  req.reason = "rollback to " + o.to + " (" + to.Short() + ")";
  req.move_branch = true;  // once the write has committed
  req.branch_head = head;
  CFGIT_ASSIGN_OR_RETURN(DeployResult r, Deploy(s, req));
  if (o.dry_run) {
    PrintDeploy(req, r, o.format);
    return Status::Ok();
  }
  // The old head stays reachable: the reflog, and a ref of its own.
  std::string kept = "refs/cfgit/rollbacks/" + env->name + "/" + head->Short();
  CFGIT_ASSIGN_OR_RETURN(std::optional<Oid> taken, s.store->ReadRef(kept));
  for (int n = 2; taken && !(*taken == *head); ++n) {
    kept = "refs/cfgit/rollbacks/" + env->name + "/" + head->Short() + "-" + std::to_string(n);
    CFGIT_ASSIGN_OR_RETURN(taken, s.store->ReadRef(kept));
  }
  if (!taken) CFGIT_RETURN_IF_ERROR(s.store->UpdateRef(kept, *head, std::nullopt, req.reason));
  PrintDeploy(req, r, o.format, ",\"previous_head\":" + JsonString(head->Hex()));
  if (o.format == "text") {
    std::cout << "branch " << env->name << " moved " << head->Short() << " -> " << to.Short()
              << "; the old head is kept as " << kept << "\n";
  }
  return Status::Ok();
}

}  // namespace

void RegisterRollback(CLI::App& app, const Globals& globals, Action* action) {
  auto o = std::make_shared<RollbackOptions>();
  CLI::App* sub = app.add_subcommand(
      "rollback", "Reset environment ENV's branch to an earlier revision and write it");
  sub->add_option("ENV", o->env, "The environment to roll back")->required();
  sub->add_option("--to", o->to, "The revision (usually a release tag)")->required();
  sub->add_flag("--dry-run", o->dry_run, "Print what would be written; change nothing");
  sub->add_flag("--force", o->force, "Write over drift (backed up first)");
  AddFormatOption(sub, &o->format);
  sub->footer(
      "The old head stays reachable (reflog, and refs/cfgit/rollbacks/ENV/...); the database's "
      "state before is backed up as for apply. Rolling back to the current head does nothing.");
  sub->callback(
      [action, o, &globals] { *action = [o, &globals] { return RunRollback(globals, *o); }; });
}

}  // namespace cfgit::cmd
