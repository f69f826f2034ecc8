// cfgit env add|list|remove: the environments of cfgit.yaml.
#include <iostream>

#include "cmd/command.h"

namespace cfgit::cmd {
namespace {

struct EnvOptions {
  std::string name, url, format = "text";
  bool is_protected = false;
};

Status RunAdd(const Globals& globals, const EnvOptions& o) {
  CFGIT_ASSIGN_OR_RETURN(Session s, OpenSession(globals));
  CFGIT_ASSIGN_OR_RETURN(auto lock, s.store->LockForWriting(std::chrono::seconds(5)));
  CFGIT_RETURN_IF_ERROR(AddEnvironment(
      s.workspace.config_path, {.name = o.name, .url = o.url, .is_protected = o.is_protected}));
  std::cout << "Added environment '" << o.name << "' (" << RedactUrl(o.url) << ")"
            << (o.is_protected ? ", protected" : "") << ".\n";
  if (o.is_protected) {
    std::cout << "It is protected: cfgit never commits from it, and only apply, promote and "
                 "rollback write to it.\n";
  } else if (o.url.rfind("sqlite:", 0) == 0) {
    std::cout << "Next: cfgit commit " << o.name << " -m \"first snapshot\"\n";
  }
  return Status::Ok();
}

Status RunList(const Globals& globals, const EnvOptions& o) {
  CFGIT_ASSIGN_OR_RETURN(Session s, OpenSession(globals));
  if (o.format == "json") {
    std::string out = "[";
    for (size_t i = 0; i < s.config.environments.size(); ++i) {
      const auto& e = s.config.environments[i];
      CFGIT_ASSIGN_OR_RETURN(auto head, s.store->ReadRef("refs/heads/" + e.name));
      out += std::string(i ? "," : "") + "{\"name\":" + JsonString(e.name) +
             ",\"url\":" + JsonString(RedactUrl(e.url)) +
             ",\"protected\":" + (e.is_protected ? "true" : "false") +
             ",\"head\":" + (head ? JsonString(head->Hex()) : "null") + "}";
    }
    std::cout << out << "]\n";
    return Status::Ok();
  }
  if (s.config.environments.empty()) {
    std::cout << "No environments yet; add one with: cfgit env add NAME URL\n";
    return Status::Ok();
  }
  size_t width = 0;
  for (const auto& e : s.config.environments) width = std::max(width, e.name.size());
  for (const auto& e : s.config.environments) {
    CFGIT_ASSIGN_OR_RETURN(auto head, s.store->ReadRef("refs/heads/" + e.name));
    std::cout << e.name << std::string(width - e.name.size() + 2, ' ') << RedactUrl(e.url)
              << (e.is_protected ? "  [protected]" : "")
              << (head ? "  " + head->Short() : "  (no commits)") << "\n";
  }
  return Status::Ok();
}

Status RunRemove(const Globals& globals, const EnvOptions& o) {
  CFGIT_ASSIGN_OR_RETURN(Session s, OpenSession(globals));
  CFGIT_ASSIGN_OR_RETURN(auto lock, s.store->LockForWriting(std::chrono::seconds(5)));
  CFGIT_RETURN_IF_ERROR(RemoveEnvironment(s.workspace.config_path, o.name));
  CFGIT_ASSIGN_OR_RETURN(auto head, s.store->ReadRef("refs/heads/" + o.name));
  std::cout << "Removed environment '" << o.name << "' from cfgit.yaml.";
  if (head) {
    std::cout << " Its branch and history stay in the store (branch " << o.name << " at "
              << head->Short() << "); delete them with: cfgit branch -d " << o.name;
  }
  std::cout << "\n";
  return Status::Ok();
}

}  // namespace

void RegisterEnv(CLI::App& app, const Globals& globals, Action* action) {
  CLI::App* env = app.add_subcommand("env", "Add, list or remove environments (cfgit.yaml)");
  env->require_subcommand(1);
  auto o = std::make_shared<EnvOptions>();

  CLI::App* add = env->add_subcommand("add", "Register a database as environment NAME");
  add->add_option("NAME", o->name, "Environment name; also the name of its branch")->required();
  add->add_option("URL", o->url,
                  "sqlite:PATH (relative to the workspace) or postgresql://USER@HOST/DB; "
                  "${VAR} is read from the process environment when used")
      ->required();
  add->add_flag("--protected", o->is_protected,
                "Staging/production: never committed from, written only by apply/promote/rollback");
  add->callback([action, o, &globals] { *action = [o, &globals] { return RunAdd(globals, *o); }; });

  CLI::App* list = env->add_subcommand("list", "List environments, their URLs and branch heads");
  AddFormatOption(list, &o->format);
  list->callback(
      [action, o, &globals] { *action = [o, &globals] { return RunList(globals, *o); }; });

  CLI::App* remove =
      env->add_subcommand("remove", "Remove environment NAME from cfgit.yaml (its branch stays)");
  remove->add_option("NAME", o->name, "Environment name")->required();
  remove->callback(
      [action, o, &globals] { *action = [o, &globals] { return RunRemove(globals, *o); }; });
}

}  // namespace cfgit::cmd
