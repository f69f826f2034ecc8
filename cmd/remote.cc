// cfgit remote add NAME URL | remove NAME | list: the Git servers this store is shared through.
#include <filesystem>
#include <iostream>

#include "cmd/command.h"

namespace cfgit::cmd {
namespace {

struct RemoteOptions {
  std::string name, url, format = "text";
};

Status RunAdd(const Globals& globals, const RemoteOptions& o) {
  CFGIT_ASSIGN_OR_RETURN(Session s, OpenSession(globals));
  CFGIT_ASSIGN_OR_RETURN(auto lock, s.store->LockForWriting(std::chrono::seconds(5)));
  std::string url = RemoteUrl(o.url, globals.dir);
  CFGIT_RETURN_IF_ERROR(AddRemote(*s.store, {o.name, url}));
  std::cout << "Added remote '" << o.name << "' (" << RedactRemoteUrl(url) << ").\n"
            << "Next: cfgit push " << o.name << " to share the branches, or cfgit pull " << o.name
            << " to bring in the others'.\n";
  return Status::Ok();
}

Status RunRemove(const Globals& globals, const RemoteOptions& o) {
  CFGIT_ASSIGN_OR_RETURN(Session s, OpenSession(globals));
  CFGIT_ASSIGN_OR_RETURN(auto lock, s.store->LockForWriting(std::chrono::seconds(5)));
  CFGIT_RETURN_IF_ERROR(RemoveRemote(*s.store, o.name));
  std::cout << "Removed remote '" << o.name << "' and its remote-tracking refs (refs/remotes/"
            << o.name << "/); local branches stay.\n";
  return Status::Ok();
}

Status RunList(const Globals& globals, const RemoteOptions& o) {
  CFGIT_ASSIGN_OR_RETURN(Session s, OpenSession(globals));
  CFGIT_ASSIGN_OR_RETURN(std::vector<RemoteConfig> remotes, ListRemotes(*s.store));
  if (o.format == "json") {
    std::string out = "[";
    for (size_t i = 0; i < remotes.size(); ++i) {
      out += std::string(i ? "," : "") + "{\"name\":" + JsonString(remotes[i].name) +
             ",\"url\":" + JsonString(RedactRemoteUrl(remotes[i].url)) + "}";
    }
    std::cout << out << "]\n";
    return Status::Ok();
  }
  if (remotes.empty()) {
    std::cout << "No remotes yet; add one with: cfgit remote add origin URL\n";
    return Status::Ok();
  }
  size_t width = 0;
  for (const RemoteConfig& r : remotes) width = std::max(width, r.name.size());
  for (const RemoteConfig& r : remotes) {
    std::cout << r.name << std::string(width - r.name.size() + 2, ' ') << RedactRemoteUrl(r.url)
              << "\n";
  }
  return Status::Ok();
}

}  // namespace

std::string RemoteUrl(const std::string& url, const std::string& base) {
  namespace fs = std::filesystem;
  if (url.find("://") != std::string::npos) return url;
  size_t colon = url.find(':');
  if (colon != std::string::npos && url.find('/') > colon) return url;  // user@host:path (ssh)
  std::error_code ec;
  fs::path path = fs::path(url).is_absolute() ? fs::path(url) : fs::absolute(base, ec) / url;
  return path.lexically_normal().string();
}

void RegisterRemote(CLI::App& app, const Globals& globals, Action* action) {
  CLI::App* remote =
      app.add_subcommand("remote", "Add, list or remove the Git servers the store is shared with");
  remote->require_subcommand(1);
  auto o = std::make_shared<RemoteOptions>();

  CLI::App* add = remote->add_subcommand("add", "Add remote NAME at URL (kept in .cfgit/config)");
  add->add_option("NAME", o->name, "Remote name, such as origin")->required();
  add->add_option("URL", o->url,
                  "A path, file://, git://, ssh:// or https:// URL; ${VAR} in it is read from "
                  "the process environment each time it is used (quote it for the shell)")
      ->required();
  add->footer(
      "Remotes are Git's own (git --git-dir=.cfgit remote -v lists them). Credentials: the "
      "URL's user and password (write them as ${VAR}s), CFGIT_GIT_USERNAME and "
      "CFGIT_GIT_PASSWORD, a git credential helper, or ssh-agent. See docs/teams.md.");
  add->callback([action, o, &globals] { *action = [o, &globals] { return RunAdd(globals, *o); }; });

  CLI::App* list =
      remote->add_subcommand("list", "List remotes and their URLs (credentials hidden)");
  AddFormatOption(list, &o->format);
  list->callback(
      [action, o, &globals] { *action = [o, &globals] { return RunList(globals, *o); }; });

  CLI::App* remove =
      remote->add_subcommand("remove", "Remove remote NAME and its remote-tracking refs");
  remove->add_option("NAME", o->name, "Remote name")->required();
  remove->callback(
      [action, o, &globals] { *action = [o, &globals] { return RunRemove(globals, *o); }; });
}

}  // namespace cfgit::cmd
