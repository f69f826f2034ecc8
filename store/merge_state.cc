// Merge states in the store: reading and writing the commit behind refs/cfgit/merge/<target>.
#include <yaml-cpp/yaml.h>

#include <cstdio>
#include <map>

#include "store/internal/edit.h"
#include "store/internal/text.h"

namespace cfgit {
namespace {

std::string List(const std::vector<std::string>& items) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) out += (i ? ", " : "") + text::QuoteYaml(items[i]);
  return out + "]";
}

Result<std::vector<std::string>> ReadList(const YAML::Node& n, const std::string& what) {
  std::vector<std::string> out;
  if (!n) return out;
  if (!n.IsSequence()) return Status::Invalid("merge state: " + what + " is not a list");
  for (const auto& item : n) out.push_back(item.as<std::string>());
  return out;
}

Result<std::optional<Oid>> OptionalOid(const std::string& hex) {
  if (hex.empty()) return std::optional<Oid>();
  CFGIT_ASSIGN_OR_RETURN(Oid id, Oid::FromHex(hex));
  return std::optional<Oid>(id);
}

}  // namespace

const char* ConflictKindName(ConflictKind kind) {
  switch (kind) {
    case ConflictKind::kModifyModify:
      return "modify/modify";
    case ConflictKind::kModifyDelete:
      return "modify/delete";
    case ConflictKind::kAddAdd:
      return "add/add";
    case ConflictKind::kSchema:
      return "schema";
    case ConflictKind::kUnique:
      return "unique";
    case ConflictKind::kForeignKey:
      return "foreign-key";
  }
  return "conflict";
}

// A tree's entries, read without keeping the tree.
Result<std::vector<TreeEntry>> Entries(TreeReader& trees, const Oid& id) {
  CFGIT_ASSIGN_OR_RETURN(std::shared_ptr<const RawTree> tree, trees.Get(id, false));
  return tree->ToEntries();
}

std::optional<ConflictKind> ParseConflictKind(const std::string& name) {
  for (ConflictKind k :
       {ConflictKind::kModifyModify, ConflictKind::kModifyDelete, ConflictKind::kAddAdd,
        ConflictKind::kSchema, ConflictKind::kUnique, ConflictKind::kForeignKey}) {
    if (name == ConflictKindName(k)) return k;
  }
  return std::nullopt;
}

Result<Oid> WriteMergeStateCommit(git_repository* repo, const std::string& objects_dir,
                                  PackReader* packs, const MergeState& state,
                                  const Signature& author) {
  ObjectStager stager;
  CFGIT_RETURN_IF_ERROR(stager.Init(repo, objects_dir, packs));
  auto blob = [&](const std::string& text) { return stager.Stage(GIT_OBJECT_BLOB, text); };
  std::string meta = "target: " + text::QuoteYaml(state.target) +
                     "\nsource: " + text::QuoteYaml(state.source) + "\nours: " + state.ours.Hex() +
                     "\ntheirs: " + state.theirs.Hex() +
                     "\nbase: " + (state.base ? state.base->Hex() : std::string("''")) +
                     "\nmessage: " + text::QuoteYaml(state.message) + "\n";
  std::vector<TreeEntry> conflicts;
  for (size_t i = 0; i < state.conflicts.size(); ++i) {
    const Conflict& c = state.conflicts[i];
    std::vector<TreeEntry> files;
    std::string head =
        "table: " + text::QuoteYaml(c.table) + "\nkind: " + ConflictKindName(c.kind) +
        "\ndetail: " + text::QuoteYaml(c.detail) + "\nkey_columns: " + List(c.key_columns) +
        "\ncolumns: " + List(c.columns) + "\nrow_columns: " + List(c.row_columns) + "\n";
    CFGIT_ASSIGN_OR_RETURN(Oid head_blob, blob(head));
    files.push_back({"conflict.yaml", false, head_blob});
    auto row_file = [&](const char* name, const std::vector<std::string>& cols,
                        const std::optional<Row>& row) -> Status {
      if (!row) return Status::Ok();
      CFGIT_ASSIGN_OR_RETURN(Oid id, blob(EncodeRow(cols, *row)));
      files.push_back({name, false, id});
      return Status::Ok();
    };
    if (!c.key_columns.empty()) {
      CFGIT_RETURN_IF_ERROR(row_file("key.yaml", c.key_columns, c.key));
      CFGIT_RETURN_IF_ERROR(row_file("other_key.yaml", c.key_columns, c.other_key));
    }
    CFGIT_RETURN_IF_ERROR(row_file("base.yaml", c.row_columns, c.base));
    CFGIT_RETURN_IF_ERROR(row_file("ours.yaml", c.row_columns, c.ours));
    CFGIT_RETURN_IF_ERROR(row_file("theirs.yaml", c.row_columns, c.theirs));
    char name[32];
    std::snprintf(name, sizeof name, "%06zu", i + 1);
    CFGIT_ASSIGN_OR_RETURN(Oid dir, stager.StageTree(files));
    conflicts.push_back({name, true, dir});
  }
  std::vector<TreeEntry> root;
  CFGIT_ASSIGN_OR_RETURN(Oid meta_blob, blob(meta));
  root.push_back({"merge.yaml", false, meta_blob});
  root.push_back({"result", true, state.result});
  if (!conflicts.empty()) {
    CFGIT_ASSIGN_OR_RETURN(Oid dir, stager.StageTree(conflicts));
    root.push_back({"conflicts", true, dir});
  }
  CFGIT_ASSIGN_OR_RETURN(Oid tree, stager.StageTree(root));
  CFGIT_ASSIGN_OR_RETURN(
      Oid commit,
      stager.Stage(GIT_OBJECT_COMMIT, CommitBytes(tree, {state.ours, state.theirs},
                                                  "cfgit merge in progress: " + state.source +
                                                      " into " + state.target + "\n",
                                                  author)));
  CFGIT_RETURN_IF_ERROR(stager.Flush());
  return commit;
}

Result<std::optional<MergeState>> ReadMergeStateAt(git_repository* repo, TreeReader& trees,
                                                   const std::string& ref) {
  git_oid raw;
  int rc = git_reference_name_to_id(&raw, repo, ref.c_str());
  if (rc == GIT_ENOTFOUND) return std::optional<MergeState>();
  if (rc) return git::Error(rc, "reading " + ref);
  MergeState state;
  state.id = FromRaw(&raw);
  git_commit* commit = nullptr;
  if ((rc = git_commit_lookup(&commit, repo, &raw)) != 0) return git::Error(rc, "reading " + ref);
  git::Commit holder(commit);
  Oid root = FromRaw(git_commit_tree_id(commit));
  auto invalid = [&](const std::string& what) {
    return Status::Invalid("the merge state " + ref + " is damaged (" + what +
                           "); forget it with: cfgit merge --abort TARGET");
  };
  try {
    CFGIT_ASSIGN_OR_RETURN(std::optional<Oid> meta_id, trees.Path(root, "merge.yaml"));
    CFGIT_ASSIGN_OR_RETURN(std::optional<Oid> result, trees.Path(root, "result"));
    if (!meta_id || !result) return invalid("merge.yaml or result/ is missing");
    state.result = *result;
    CFGIT_ASSIGN_OR_RETURN(std::string meta_text, trees.Blob(*meta_id));
    YAML::Node meta = YAML::Load(meta_text);
    state.target = meta["target"].as<std::string>();
    state.source = meta["source"].as<std::string>();
    state.message = meta["message"].as<std::string>();
    CFGIT_ASSIGN_OR_RETURN(state.ours, Oid::FromHex(meta["ours"].as<std::string>()));
    CFGIT_ASSIGN_OR_RETURN(state.theirs, Oid::FromHex(meta["theirs"].as<std::string>()));
    CFGIT_ASSIGN_OR_RETURN(state.base, OptionalOid(meta["base"].as<std::string>()));
    CFGIT_ASSIGN_OR_RETURN(std::optional<Oid> dir, trees.Path(root, "conflicts"));
    if (dir) {
      CFGIT_ASSIGN_OR_RETURN(std::vector<TreeEntry> entries, Entries(trees, *dir));
      for (const TreeEntry& e : entries) {
        CFGIT_ASSIGN_OR_RETURN(std::vector<TreeEntry> files, Entries(trees, e.id));
        std::map<std::string, Oid> by_name;
        for (const TreeEntry& f : files) by_name[f.name] = f.id;
        if (!by_name.count("conflict.yaml")) return invalid("conflict " + e.name + " is empty");
        CFGIT_ASSIGN_OR_RETURN(std::string head_text, trees.Blob(by_name["conflict.yaml"]));
        YAML::Node head = YAML::Load(head_text);
        Conflict c;
        c.table = head["table"].as<std::string>();
        std::optional<ConflictKind> kind = ParseConflictKind(head["kind"].as<std::string>());
        if (!kind) return invalid("conflict " + e.name + " has an unknown kind");
        c.kind = *kind;
        c.detail = head["detail"].as<std::string>();
        CFGIT_ASSIGN_OR_RETURN(c.key_columns, ReadList(head["key_columns"], "key_columns"));
        CFGIT_ASSIGN_OR_RETURN(c.columns, ReadList(head["columns"], "columns"));
        CFGIT_ASSIGN_OR_RETURN(c.row_columns, ReadList(head["row_columns"], "row_columns"));
        auto row = [&](const char* name,
                       const std::vector<std::string>& cols) -> Result<std::optional<Row>> {
          auto it = by_name.find(name);
          if (it == by_name.end()) return std::optional<Row>();
          CFGIT_ASSIGN_OR_RETURN(std::string text, trees.Blob(it->second));
          CFGIT_ASSIGN_OR_RETURN(Row r, DecodeRow(cols, text));
          return std::optional<Row>(std::move(r));
        };
        CFGIT_ASSIGN_OR_RETURN(std::optional<Row> key, row("key.yaml", c.key_columns));
        if (key) c.key = std::move(*key);
        CFGIT_ASSIGN_OR_RETURN(c.other_key, row("other_key.yaml", c.key_columns));
        CFGIT_ASSIGN_OR_RETURN(c.base, row("base.yaml", c.row_columns));
        CFGIT_ASSIGN_OR_RETURN(c.ours, row("ours.yaml", c.row_columns));
        CFGIT_ASSIGN_OR_RETURN(c.theirs, row("theirs.yaml", c.row_columns));
        state.conflicts.push_back(std::move(c));
      }
    }
  } catch (const YAML::Exception& e) {
    return invalid(e.what());
  }
  return std::optional<MergeState>(std::move(state));
}

}  // namespace cfgit
