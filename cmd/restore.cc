// cfgit restore ENV BACKUP: write a backup back into ENV's database (itself backed up first).
#include <iostream>

#include "cmd/command.h"

namespace cfgit::cmd {
namespace {

struct RestoreOptions {
  std::string env, backup, format = "text";
  bool force = false, dry_run = false;
};

Status RunRestore(const Globals& globals, const RestoreOptions& o) {
  CFGIT_ASSIGN_OR_RETURN(Session s, OpenSession(globals));
  CFGIT_ASSIGN_OR_RETURN(const EnvironmentConfig* env, FindEnvironment(s.config, o.env));
  CFGIT_ASSIGN_OR_RETURN(auto lock, s.store->LockForWriting(std::chrono::seconds(10)));
  std::string ref = o.backup.rfind("refs/", 0) == 0
                        ? o.backup
                        : "refs/cfgit/backups/" + env->name + "/" + o.backup;
  CFGIT_ASSIGN_OR_RETURN(std::optional<Oid> commit, s.store->ReadRef(ref));
  if (!commit) {
    return Status::Usage("no backup '" + o.backup + "' of " + env->name +
                         "; list them with: cfgit backups " + env->name);
  }
  DeployRequest req;
  req.env = env;
  req.commit = *commit;
  req.label = "backup " + o.backup;
  req.force = o.force;
  req.dry_run = o.dry_run;
  req.all_columns = true;
  req.reason = "restore of backup " + o.backup;
  CFGIT_ASSIGN_OR_RETURN(DeployResult r, Deploy(s, req));
  PrintDeploy(req, r, o.format);
  return Status::Ok();
}

}  // namespace

void RegisterRestore(CLI::App& app, const Globals& globals, Action* action) {
  auto o = std::make_shared<RestoreOptions>();
  CLI::App* sub =
      app.add_subcommand("restore", "Write a backup back into environment ENV's database");
  sub->add_option("ENV", o->env, "The environment")->required();
  sub->add_option("BACKUP", o->backup, "A backup's name, as cfgit backups lists it")->required();
  sub->add_flag("--dry-run", o->dry_run, "Print what would be written; change nothing");
  sub->add_flag("--force", o->force, "Write over drift (backed up first)");
  AddFormatOption(sub, &o->format);
  sub->footer(
      "Every column of the backup is written, ignored ones too; the state it replaces is backed "
      "up first. The branch does not move; ENV's deployed commit becomes a commit of the "
      "restored state (versioned columns) on top of the backup.");
  sub->callback(
      [action, o, &globals] { *action = [o, &globals] { return RunRestore(globals, *o); }; });
}

}  // namespace cfgit::cmd
