// cfgit: Git for the configuration that lives in an application's database.
#include <iostream>

#include "cmd/command.h"

namespace {

struct CommandEntry {
  const char* name;
  cfgit::cmd::RegisterFn add;
};

// The command table, in the order `cfgit --help` lists them.
constexpr CommandEntry kCommands[] = {
    {"init", cfgit::cmd::RegisterInit},
    {"env", cfgit::cmd::RegisterEnv},
    {"status", cfgit::cmd::RegisterStatus},
    {"commit", cfgit::cmd::RegisterCommit},
    {"log", cfgit::cmd::RegisterLog},
    {"show", cfgit::cmd::RegisterShow},
    {"diff", cfgit::cmd::RegisterDiff},
    {"branch", cfgit::cmd::RegisterBranch},
    {"tag", cfgit::cmd::RegisterTag},
    {"merge", cfgit::cmd::RegisterMerge},
    {"conflicts", cfgit::cmd::RegisterConflicts},
    {"resolve", cfgit::cmd::RegisterResolve},
    {"apply", cfgit::cmd::RegisterApply},
    {"promote", cfgit::cmd::RegisterPromote},
    {"rollback", cfgit::cmd::RegisterRollback},
    {"backups", cfgit::cmd::RegisterBackups},
    {"restore", cfgit::cmd::RegisterRestore},
    {"clone", cfgit::cmd::RegisterClone},
    {"remote", cfgit::cmd::RegisterRemote},
    {"fetch", cfgit::cmd::RegisterFetch},
    {"push", cfgit::cmd::RegisterPush},
    {"pull", cfgit::cmd::RegisterPull},
    {"export", cfgit::cmd::RegisterExport},
    {"import", cfgit::cmd::RegisterImport},
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "cfgit: Git for the configuration in your application's database.\n"
      "Snapshots environments' configuration tables into a Git store, with commits,\n"
      "branches and tags. Guide: README.md; reference: docs/commands.md."};
  app.set_version_flag("--version", "cfgit 0.1.0");
  cfgit::cmd::Globals globals;
  app.add_option("-C", globals.dir, "Run as if cfgit was started in DIR")->option_text("DIR");
  app.require_subcommand(1);
  cfgit::cmd::Action action;
  for (const CommandEntry& c : kCommands) c.add(app, globals, &action);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }
  cfgit::Status status = action ? action() : cfgit::Status::Usage("no command given");
  if (!status.ok() && !status.message().empty()) {  // --exit-code: a code, no message
    std::cerr << "cfgit: " << status.message() << "\n";
  }
  return static_cast<int>(status.code());
}
