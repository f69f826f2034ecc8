// cfgit tag [NAME [REV]] [-m MSG] [-d NAME]: list, create (annotated) or delete tags.
#include <iostream>

#include "cmd/command.h"

namespace cfgit::cmd {
namespace {

struct TagOptions {
  std::string name, rev, message, del, format = "text";
};

Status RunTag(const Globals& globals, const TagOptions& o) {
  CFGIT_ASSIGN_OR_RETURN(Session s, OpenSession(globals));
  if (!o.del.empty()) {
    CFGIT_ASSIGN_OR_RETURN(auto lock, s.store->LockForWriting(std::chrono::seconds(5)));
    CFGIT_ASSIGN_OR_RETURN(auto target, s.store->ReadRef("refs/tags/" + o.del));
    if (!target) return Status::Usage("there is no tag '" + o.del + "' (cfgit tag lists them)");
    CFGIT_RETURN_IF_ERROR(s.store->DeleteRef("refs/tags/" + o.del));
    std::cout << "Deleted tag " << o.del << ".\n";
    return Status::Ok();
  }
  if (!o.name.empty()) {
    CFGIT_ASSIGN_OR_RETURN(auto lock, s.store->LockForWriting(std::chrono::seconds(5)));
    std::string rev = o.rev.empty() ? "HEAD" : o.rev;
    CFGIT_ASSIGN_OR_RETURN(Oid id, s.store->ResolveCommit(rev));
    std::string message = o.message.empty() ? "Release " + o.name : o.message;
    CFGIT_RETURN_IF_ERROR(
        s.store->CreateTag(o.name, id, message, s.store->DefaultSignature(s.config)));
    std::cout << "Tagged " << id.Short() << " as " << o.name << ".\n";
    return Status::Ok();
  }
  CFGIT_ASSIGN_OR_RETURN(auto tags, s.store->ListRefs("refs/tags/"));
  if (o.format == "json") {
    std::string out = "[";
    for (size_t i = 0; i < tags.size(); ++i) {
      out += std::string(i ? "," : "") + "{\"name\":" + JsonString(tags[i].name) +
             ",\"commit\":" + JsonString(tags[i].target.Hex()) +
             ",\"message\":" + JsonString(tags[i].message) + "}";
    }
    std::cout << out << "]\n";
    return Status::Ok();
  }
  if (tags.empty()) std::cout << "No tags yet; cfgit tag NAME REV -m MSG makes one.\n";
  size_t width = 0;
  for (const auto& t : tags) width = std::max(width, t.name.size());
  for (const auto& t : tags) {
    std::cout << t.name << std::string(width - t.name.size() + 2, ' ') << t.target.Short() << "  "
              << Subject(t.message) << "\n";
  }
  return Status::Ok();
}

}  // namespace

void RegisterTag(CLI::App& app, const Globals& globals, Action* action) {
  auto o = std::make_shared<TagOptions>();
  CLI::App* sub = app.add_subcommand("tag", "List tags, create an annotated tag, or delete one");
  sub->add_option("NAME", o->name, "Create tag NAME (e.g. a release: v1)");
  sub->add_option("REV", o->rev, "The commit to tag (default: the store's HEAD)");
  sub->add_option("-m,--message", o->message, "Tag message (default: \"Release NAME\")");
  sub->add_option("-d,--delete", o->del, "Delete tag NAME");
  AddFormatOption(sub, &o->format);
  sub->callback([action, o, &globals] { *action = [o, &globals] { return RunTag(globals, *o); }; });
}

}  // namespace cfgit::cmd
