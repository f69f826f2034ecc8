// cfgit branch [NAME [REV]] [-d NAME]: list, create or delete branches.
#include <iostream>

#include "cmd/command.h"

namespace cfgit::cmd {
namespace {

struct BranchOptions {
  std::string name, rev, del, format = "text";
};

Status RunBranch(const Globals& globals, const BranchOptions& o) {
  CFGIT_ASSIGN_OR_RETURN(Session s, OpenSession(globals));
  if (!o.del.empty()) {
    if (s.config.FindEnvironment(o.del)) {
      return Status::Usage("branch '" + o.del + "' tracks environment '" + o.del +
                           "'; remove the environment first with: cfgit env remove " + o.del);
    }
    CFGIT_ASSIGN_OR_RETURN(auto lock, s.store->LockForWriting(std::chrono::seconds(5)));
    CFGIT_ASSIGN_OR_RETURN(auto head, s.store->ReadRef("refs/heads/" + o.del));
    if (!head) return Status::Usage("there is no branch '" + o.del + "' (cfgit branch lists them)");
    CFGIT_RETURN_IF_ERROR(s.store->DeleteRef("refs/heads/" + o.del));
    std::cout << "Deleted branch " << o.del << " (was " << head->Short() << ").\n";
    return Status::Ok();
  }
  if (!o.name.empty()) {
    if (Status v = CheckEnvironmentName(o.name); !v.ok()) {
      return Status::Usage("'" + o.name +
                           "' is not a valid branch name: use letters, digits, '-', '_' and '.'");
    }
    CFGIT_ASSIGN_OR_RETURN(auto lock, s.store->LockForWriting(std::chrono::seconds(5)));
    std::string rev = o.rev.empty() ? "HEAD" : o.rev;
    CFGIT_ASSIGN_OR_RETURN(Oid id, s.store->ResolveCommit(rev));
    CFGIT_ASSIGN_OR_RETURN(auto tag, s.store->ReadRef("refs/tags/" + o.name));
    if (tag) {
      return Status::Usage("there is a tag named '" + o.name +
                           "'; a branch of the same name would be ambiguous, so pick another name");
    }
    CFGIT_ASSIGN_OR_RETURN(auto existing, s.store->ReadRef("refs/heads/" + o.name));
    if (existing) {
      return Status::Usage("branch '" + o.name + "' already exists (at " + existing->Short() + ")");
    }
    CFGIT_RETURN_IF_ERROR(
        s.store->UpdateRef("refs/heads/" + o.name, id, std::nullopt, "branch: from " + rev));
    std::cout << "Created branch " << o.name << " at " << id.Short() << ".\n";
    return Status::Ok();
  }
  CFGIT_ASSIGN_OR_RETURN(auto branches, s.store->ListRefs("refs/heads/"));
  if (o.format == "json") {
    std::string out = "[";
    for (size_t i = 0; i < branches.size(); ++i) {
      out += std::string(i ? "," : "") + "{\"name\":" + JsonString(branches[i].name) +
             ",\"head\":" + JsonString(branches[i].target.Hex()) +
             ",\"environment\":" + (s.config.FindEnvironment(branches[i].name) ? "true" : "false") +
             "}";
    }
    std::cout << out << "]\n";
    return Status::Ok();
  }
  if (branches.empty()) std::cout << "No branches yet; cfgit commit ENV -m MSG makes the first.\n";
  size_t width = 0;
  for (const auto& b : branches) width = std::max(width, b.name.size());
  for (const auto& b : branches) {
    CFGIT_ASSIGN_OR_RETURN(CommitInfo c, s.store->ReadCommit(b.target));
    std::cout << b.name << std::string(width - b.name.size() + 2, ' ') << b.target.Short() << "  "
              << Subject(c.message) << "\n";
  }
  return Status::Ok();
}

}  // namespace

void RegisterBranch(CLI::App& app, const Globals& globals, Action* action) {
  auto o = std::make_shared<BranchOptions>();
  CLI::App* sub = app.add_subcommand("branch", "List branches, create one, or delete one");
  sub->add_option("NAME", o->name, "Create branch NAME");
  sub->add_option("REV", o->rev, "Where the new branch starts (default: the store's HEAD)");
  sub->add_option("-d,--delete", o->del, "Delete branch NAME (not an environment's branch)");
  AddFormatOption(sub, &o->format);
  sub->callback(
      [action, o, &globals] { *action = [o, &globals] { return RunBranch(globals, *o); }; });
}

}  // namespace cfgit::cmd
