// cfgit init: create cfgit.yaml and the store .cfgit/ in a directory.
#include <filesystem>
#include <fstream>
#include <iostream>

#include "cmd/command.h"

namespace cfgit::cmd {
namespace {

Status RunInit(const Globals& globals) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::path dir = fs::weakly_canonical(fs::absolute(globals.dir, ec), ec);
  if (ec || !fs::is_directory(dir, ec)) {
    return Status::Usage("'" + globals.dir + "' is not a directory; create it first");
  }
  fs::path config = dir / kConfigFile, store = dir / kStoreDir;
  if (fs::exists(config, ec) || fs::exists(store, ec)) {
    return Status::Usage(dir.string() + " is already a cfgit workspace (" +
                         (fs::exists(config, ec) ? config : store).string() +
                         " exists); nothing was changed");
  }
  CFGIT_RETURN_IF_ERROR(Store::Init(store.string()).status());
  std::ofstream out(config);
  out << DefaultConfigText();
  if (!out.flush()) return Status::Invalid("cannot write " + config.string());
  std::cout
      << "Initialized a cfgit workspace in " << dir.string() << "\n"
      << "  cfgit.yaml  environments and table rules (commented)\n"
      << "  .cfgit/     the store, a bare Git repository\n"
      << "Next: cfgit env add dev sqlite:dev.db, then cfgit commit dev -m \"first snapshot\"\n";
  return Status::Ok();
}

}  // namespace

void RegisterInit(CLI::App& app, const Globals& globals, Action* action) {
  CLI::App* sub = app.add_subcommand("init", "Create cfgit.yaml and the store .cfgit/ here");
  sub->footer("The directory (the current one, or -C DIR) must not be a workspace already.");
  sub->callback([action, &globals] { *action = [&globals] { return RunInit(globals); }; });
}

}  // namespace cfgit::cmd
