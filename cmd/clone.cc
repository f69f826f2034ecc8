// cfgit clone URL [DIR]: a new workspace whose store is a clone of a shared one.
#include <filesystem>
#include <fstream>
#include <iostream>

#include "cmd/command.h"

namespace cfgit::cmd {
namespace {

struct CloneOptions {
  std::string url, dir;
};

// "repo" from ".../repo.git" or ".../repo/.cfgit" (as git clone names its directory).
std::string DirectoryFor(const std::string& url) {
  std::string s = url;
  while (!s.empty() && (s.back() == '/' || s.back() == ':')) s.pop_back();
  if (s.size() > 7 && s.compare(s.size() - 7, 7, "/.cfgit") == 0) s.resize(s.size() - 7);
  size_t slash = s.find_last_of("/:");
  std::string name = slash == std::string::npos ? s : s.substr(slash + 1);
  if (name.size() > 4 && name.compare(name.size() - 4, 4, ".git") == 0)
    name.resize(name.size() - 4);
  return name;
}

Status RunClone(const Globals& globals, const CloneOptions& o) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::path base = fs::absolute(globals.dir, ec);
  if (ec || !fs::is_directory(base, ec)) {
    return Status::Usage("'" + globals.dir + "' is not a directory; create it first");
  }
  std::string name = o.dir.empty() ? DirectoryFor(o.url) : o.dir;
  if (name.empty()) return Status::Usage("say which directory to clone into: cfgit clone URL DIR");
  fs::path dir = (fs::path(name).is_absolute() ? fs::path(name) : base / name).lexically_normal();
  bool existed = fs::exists(dir, ec);
  if (existed && (!fs::is_directory(dir, ec) || !fs::is_empty(dir, ec))) {
    return Status::Usage(dir.string() +
                         " exists and is not an empty directory; clone into a "
                         "new directory");
  }
  const std::string url = RemoteUrl(o.url, base.string());
  fs::create_directories(dir, ec);
  if (ec) return Status::Usage("cannot create " + dir.string() + ": " + ec.message());
  // Whatever fails below leaves no half workspace behind.
  auto undo = [&] {
    std::error_code ignored;
    if (existed) {
      fs::remove_all(dir / kStoreDir, ignored);
      fs::remove(dir / kConfigFile, ignored);
    } else {
      fs::remove_all(dir, ignored);
    }
  };
  Result<std::unique_ptr<Store>> store = Store::Init((dir / kStoreDir).string());
  if (!store.ok()) {
    undo();
    return store.status();
  }
  Result<FetchResult> cloned = CloneFrom(**store, url, TerminalProgress());
  EndProgress();
  if (!cloned.ok()) {
    undo();
    return cloned.status().Wrap("cannot clone: ");
  }
  std::vector<std::string> environments, skipped;
  size_t tags = 0;
  for (const RefUpdate& u : cloned->updates) {
    if (u.ref.rfind("refs/tags/", 0) == 0) ++tags;
    if (u.ref.rfind("refs/remotes/origin/", 0) != 0 || !u.to) continue;
    std::string branch = u.ref.substr(20);
    (CheckEnvironmentName(branch).ok() ? environments : skipped).push_back(branch);
  }
  {
    std::ofstream out(dir / kConfigFile);
    out << ClonedConfigText(environments);
    if (!out.flush()) {
      undo();
      return Status::Invalid("cannot write " + (dir / kConfigFile).string());
    }
  }
  size_t branches = environments.size() + skipped.size();
  std::cout << "Cloned " << cloned->url << " into " << dir.string() << ": " << branches
            << (branches == 1 ? " branch, " : " branches, ") << tags
            << (tags == 1 ? " tag, " : " tags, ") << cloned->objects << " objects.\n";
  if (!environments.empty()) {
    std::string list;
    for (const std::string& e : environments) list += (list.empty() ? "" : ", ") + e;
    std::cout << "cfgit.yaml lists one environment per branch, without a database: " << list
              << "\nNext: give each the URL of its database with: cfgit env add NAME URL "
                 "(--protected for staging and production)\n";
  } else {
    std::cout << "The remote has no branches yet; add an environment with: cfgit env add NAME "
                 "URL\n";
  }
  return Status::Ok();
}

}  // namespace

void RegisterClone(CLI::App& app, const Globals& globals, Action* action) {
  auto o = std::make_shared<CloneOptions>();
  CLI::App* sub = app.add_subcommand(
      "clone", "Create a workspace in DIR whose store is a clone of the one at URL");
  sub->add_option("URL", o->url,
                  "A path, file://, git://, ssh:// or https:// URL of a shared store (a bare Git "
                  "repository); ${VAR} in it is read from the process environment")
      ->required();
  sub->add_option("DIR", o->dir, "The new workspace (default: the URL's last name, without .git)");
  sub->footer(
      "Every branch of the remote becomes a local branch, tags come along, and the remote is "
      "kept as origin. cfgit.yaml is not in the store: clone writes one listing an environment "
      "per branch without a database URL; set each with cfgit env add NAME URL. Exit 1 when "
      "the remote cannot be reached or refuses the credentials (nothing is left behind).");
  sub->callback(
      [action, o, &globals] { *action = [o, &globals] { return RunClone(globals, *o); }; });
}

}  // namespace cfgit::cmd
