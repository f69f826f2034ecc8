// cfgit backups ENV: the backups taken before each write to ENV.
#include <iostream>

#include "cmd/command.h"

namespace cfgit::cmd {
namespace {

struct BackupsOptions {
  std::string env, format = "text";
};

Status RunBackups(const Globals& globals, const BackupsOptions& o) {
  CFGIT_ASSIGN_OR_RETURN(Session s, OpenSession(globals));
  CFGIT_ASSIGN_OR_RETURN(const EnvironmentConfig* env, FindEnvironment(s.config, o.env));
  CFGIT_ASSIGN_OR_RETURN(std::vector<RefInfo> refs,
                         s.store->ListRefs("refs/cfgit/backups/" + env->name + "/"));
  std::string json;
  if (refs.empty() && o.format == "text") {
    std::cout << "no backups of " << env->name << " yet (one is taken before every write)\n";
  }
  for (auto it = refs.rbegin(); it != refs.rend(); ++it) {  // newest first
    CFGIT_ASSIGN_OR_RETURN(CommitInfo c, s.store->ReadCommit(it->target));
    std::string reason = Subject(c.message);
    std::string counts = c.message.size() > reason.size() + 2
                             ? Subject(c.message.substr(reason.size() + 2))
                             : std::string();
    if (o.format == "json") {
      json += std::string(json.empty() ? "" : ",") + "{\"name\":" + JsonString(it->name) +
              ",\"commit\":" + JsonString(c.id.Hex()) +
              ",\"time\":" + JsonString(IsoTime(c.author.time, c.author.offset_minutes)) +
              ",\"reason\":" + JsonString(reason) + ",\"counts\":" + JsonString(counts) + "}";
    } else {
      std::cout << it->name << "  " << IsoTime(c.author.time, c.author.offset_minutes) << "  "
                << reason << " (" << counts << ")\n";
    }
  }
  if (o.format == "json") std::cout << "[" << json << "]\n";
  return Status::Ok();
}

}  // namespace

void RegisterBackups(CLI::App& app, const Globals& globals, Action* action) {
  auto o = std::make_shared<BackupsOptions>();
  CLI::App* sub = app.add_subcommand("backups", "List the backups of environment ENV");
  sub->add_option("ENV", o->env, "The environment")->required();
  AddFormatOption(sub, &o->format);
  sub->footer(
      "A backup is taken of the live tables (every column) before each write to ENV; the "
      "newest backups.keep of them (cfgit.yaml, default 20) are kept. Write one back with: "
      "cfgit restore ENV NAME.");
  sub->callback(
      [action, o, &globals] { *action = [o, &globals] { return RunBackups(globals, *o); }; });
}

}  // namespace cfgit::cmd
