// SnapshotEditor (see store.h): edits of a snapshot tree, applied path by path.
#include "store/internal/edit.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <optional>
#include <string_view>
#include <unordered_map>

namespace cfgit {
namespace {

// The index of each key column among the versioned columns.
Result<std::vector<size_t>> KeyIndex(const TableSchema& schema) {
  std::vector<std::string> cols = schema.VersionedColumns();
  std::vector<size_t> out;
  for (const std::string& k : schema.key) {
    auto it = std::find(cols.begin(), cols.end(), k);
    if (it == cols.end()) {
      return Status::Invalid("key column '" + k + "' of table '" + schema.name +
                             "' is not versioned");
    }
    out.push_back(static_cast<size_t>(it - cols.begin()));
  }
  return out;
}

std::string RowFile(const std::string& stem) {
  auto [d1, d2] = FanoutDirs(stem);
  return d1 + "/" + d2 + "/" + stem + ".yaml";
}

// A tree the editor rewrites. It is read once (the diffs before an edit have mostly read it
// already) and not kept after: Finish rewrites each tree once.
Result<std::shared_ptr<const RawTree>> TakeTree(TreeReader* trees, const Oid& id) {
  CFGIT_ASSIGN_OR_RETURN(std::shared_ptr<const RawTree> tree, trees->Get(id, false));
  trees->Drop(id);
  return tree;
}

Result<std::vector<TreeEntry>> TakeEntries(TreeReader* trees, const Oid& id) {
  CFGIT_ASSIGN_OR_RETURN(std::shared_ptr<const RawTree> tree, TakeTree(trees, id));
  return tree->ToEntries();
}

// `tree`'s bytes with new ids for some of its entries, when every change is one: each name of
// `files` is a file of `tree` given a new blob, each of `dirs` a directory given a new tree, and
// the tree is in the form TreeBytes writes (then the result is too). nullopt otherwise. Most
// edits of a snapshot are these (a row changed in a fan-out directory): the tree is not taken
// apart into entries and written again.
std::optional<std::string> WithNewIds(
    const RawTree& tree, const std::map<std::string, std::optional<Oid>, std::less<>>& files,
    const std::map<std::string, std::optional<Oid>, std::less<>>& dirs) {
  std::string bytes;
  for (const auto* edits : {&files, &dirs}) {
    for (const auto& [name, id] : *edits) {
      const RawTree::Entry* e = tree.Find(name);
      if (!id || !e || e->is_tree != (edits == &dirs)) return std::nullopt;
      if (bytes.empty()) {
        if (!tree.IsCanonical()) return std::nullopt;
        bytes = tree.bytes();
      }
      std::memcpy(bytes.data() + e->at + e->name_len + 1, id->bytes.data(), id->bytes.size());
    }
  }
  if (bytes.empty()) return std::nullopt;
  return bytes;
}

// Applies `edits` (paths relative to `tree` → blob, or nullopt to remove) to `tree` (nullopt:
// empty) and returns the new tree, or nullopt when nothing is left in it.
Result<std::optional<Oid>> EditTree(TreeReader* trees, ObjectStager* stager,
                                    const std::optional<Oid>& tree,
                                    const std::map<std::string, std::optional<Oid>>& edits) {
  // The edits of this level (name -> blob or removal) and those below it, by directory.
  std::map<std::string, std::optional<Oid>, std::less<>> here;
  std::map<std::string, std::map<std::string, std::optional<Oid>>, std::less<>> below;
  for (const auto& [path, blob] : edits) {
    size_t slash = path.find('/');
    if (slash == std::string::npos) {
      here[path] = blob;
    } else {
      below[path.substr(0, slash)][path.substr(slash + 1)] = blob;
    }
  }
  std::shared_ptr<const RawTree> raw;
  if (tree) {
    CFGIT_ASSIGN_OR_RETURN(raw, TakeTree(trees, *tree));
  }
  // The directories below, edited first: each directory's new tree, or nullopt when it is left
  // empty. A file that becomes a directory starts empty.
  std::map<std::string, std::optional<Oid>, std::less<>> edited;
  for (const auto& [dir, sub] : below) {
    const RawTree::Entry* e = raw ? raw->Find(dir) : nullptr;
    std::optional<Oid> current = e && e->is_tree ? std::optional<Oid>(raw->oid(*e)) : std::nullopt;
    CFGIT_ASSIGN_OR_RETURN(edited[dir], EditTree(trees, stager, current, sub));
  }
  if (raw) {
    if (std::optional<std::string> bytes = WithNewIds(*raw, here, edited)) {
      CFGIT_ASSIGN_OR_RETURN(Oid id, stager->Stage(GIT_OBJECT_TREE, *bytes));
      return std::optional<Oid>(id);
    }
  }
  std::vector<TreeEntry> list;
  if (raw) list = raw->ToEntries();
  // The entries kept, in order, then the new ones, sorted and merged in: StageTree takes them
  // as they are when they are in Git's order.
  std::vector<TreeEntry> out, turned;  // turned: files that became directories (they sort anew)
  out.reserve(list.size() + here.size() + edited.size());
  for (TreeEntry& e : list) {
    if (here.count(e.name)) continue;
    if (auto sub = edited.find(e.name); sub != edited.end()) {
      if (sub->second)
        (e.is_tree ? out : turned).push_back({std::move(e.name), true, *sub->second});
      edited.erase(sub);
      continue;
    }
    out.push_back(std::move(e));
  }
  size_t kept = out.size();
  for (TreeEntry& e : turned) out.push_back(std::move(e));
  for (const auto& [name, blob] : here) {
    if (blob) out.push_back({name, false, *blob});
  }
  for (const auto& [dir, id] : edited) {  // directories that did not exist
    if (id) out.push_back({dir, true, *id});
  }
  auto added = out.begin() + static_cast<std::ptrdiff_t>(kept);
  std::sort(added, out.end(), GitOrder);
  std::inplace_merge(out.begin(), added, out.end(), GitOrder);
  if (out.empty()) return std::optional<Oid>();
  CFGIT_ASSIGN_OR_RETURN(Oid id, stager->StageTree(out));
  return std::optional<Oid>(id);
}

class GitSnapshotEditor final : public SnapshotEditor {
 public:
  GitSnapshotEditor(git_repository* repo, std::shared_ptr<TreeReader> trees, const Oid& root)
      : repo_(repo), root_(root), trees_(std::move(trees)) {}

  Status Init(const std::string& objects_dir) {
    return stager_.Init(repo_, objects_dir, trees_->packs());
  }

  Status SetSchema(const TableSchema& schema) override {
    CFGIT_ASSIGN_OR_RETURN(Pending * t, Table(schema.name));
    CFGIT_ASSIGN_OR_RETURN(t->schema_blob, stager_.Stage(GIT_OBJECT_BLOB, EncodeSchema(schema)));
    return Status::Ok();
  }

  Status RemoveTable(const std::string& table) override {
    CFGIT_ASSIGN_OR_RETURN(Pending * t, Table(table));
    *t = Pending{};
    t->loaded = true;
    return Status::Ok();
  }

  Status CopyTable(const Oid& from, const std::string& table) override {
    CFGIT_ASSIGN_OR_RETURN(Pending * t, Table(table));
    *t = Pending{};
    t->loaded = true;
    CFGIT_ASSIGN_OR_RETURN(t->table_tree,
                           trees_->Path(from, "tables/" + EncodePathComponent(table)));
    return Status::Ok();
  }

  Status PutRow(const TableSchema& schema, const Row& row) override {
    CFGIT_ASSIGN_OR_RETURN(Pending * t, Table(schema.name));
    std::string yaml = EncodeRow(schema.VersionedColumns(), row);
    CFGIT_ASSIGN_OR_RETURN(Oid blob, stager_.Stage(GIT_OBJECT_BLOB, yaml));
    if (!schema.key.empty()) {
      CFGIT_ASSIGN_OR_RETURN(std::string path, KeyedPath(schema, row));
      t->rows[path] = blob;
      return Status::Ok();
    }
    for (int k = 1;; ++k) {  // the first free occurrence name
      std::string path = RowFile(KeylessName(yaml, k));
      CFGIT_ASSIGN_OR_RETURN(std::optional<Oid> there, RowAt(t, path));
      if (!there) {
        t->rows[path] = blob;
        return Status::Ok();
      }
    }
  }

  Status PutRowFile(const TableSchema& schema, const Row& row, const Oid& file) override {
    if (schema.key.empty()) return PutRow(schema, row);
    CFGIT_ASSIGN_OR_RETURN(Pending * t, Table(schema.name));
    CFGIT_ASSIGN_OR_RETURN(std::string path, KeyedPath(schema, row));
    t->rows[path] = file;
    return Status::Ok();
  }

  Status RemoveRow(const TableSchema& schema, const Row& row) override {
    CFGIT_ASSIGN_OR_RETURN(Pending * t, Table(schema.name));
    if (!schema.key.empty()) {
      CFGIT_ASSIGN_OR_RETURN(std::string path, KeyedPath(schema, row));
      t->rows[path] = std::nullopt;
      return Status::Ok();
    }
    std::string yaml = EncodeRow(schema.VersionedColumns(), row);
    std::optional<std::string> last;  // the highest occurrence present
    for (int k = 1;; ++k) {
      std::string path = RowFile(KeylessName(yaml, k));
      CFGIT_ASSIGN_OR_RETURN(std::optional<Oid> there, RowAt(t, path));
      if (!there) break;
      last = path;
    }
    if (last) t->rows[*last] = std::nullopt;
    return Status::Ok();
  }

  Result<std::optional<Row>> GetRow(const TableSchema& schema, const Row& key) override {
    CFGIT_ASSIGN_OR_RETURN(Pending * t, Table(schema.name));
    CFGIT_ASSIGN_OR_RETURN(std::optional<Oid> blob, RowAt(t, RowFile(EncodeKey(key))));
    if (!blob) return std::optional<Row>();
    CFGIT_ASSIGN_OR_RETURN(std::string text, trees_->Blob(*blob));
    CFGIT_ASSIGN_OR_RETURN(Row row, DecodeRow(schema.VersionedColumns(), text));
    return std::optional<Row>(std::move(row));
  }

  Result<bool> HasRow(const TableSchema& schema, const Row& key) override {
    CFGIT_ASSIGN_OR_RETURN(Pending * t, Table(schema.name));
    CFGIT_ASSIGN_OR_RETURN(std::optional<Oid> blob, RowAt(t, RowFile(EncodeKey(key))));
    return blob.has_value();
  }

  Result<Oid> Finish() override {
    std::map<std::string, std::optional<Oid>> table_edits;  // "<dir>" -> table tree
    for (auto& [dir, t] : tables_) {
      std::map<std::string, std::optional<Oid>> edits;
      for (const auto& [path, blob] : t.rows) edits["rows/" + path] = blob;
      if (t.schema_blob) edits["schema.yaml"] = t.schema_blob;
      CFGIT_ASSIGN_OR_RETURN(std::optional<Oid> tree,
                             EditTree(trees_.get(), &stager_, t.table_tree, edits));
      table_edits[dir] = tree;
    }
    CFGIT_ASSIGN_OR_RETURN(std::optional<Oid> tables, trees_->Path(root_, "tables"));
    CFGIT_ASSIGN_OR_RETURN(std::optional<Oid> new_tables, PlaceTrees(tables, table_edits));
    CFGIT_ASSIGN_OR_RETURN(std::vector<TreeEntry> root, TakeEntries(trees_.get(), root_));
    root.erase(std::remove_if(root.begin(), root.end(),
                              [](const TreeEntry& e) { return e.name == "tables"; }),
               root.end());
    if (new_tables) root.push_back({"tables", true, *new_tables});
    return stager_.StageTree(root);
  }

  Result<Oid> WriteCommit(const Oid& tree, const std::vector<Oid>& parents,
                          const std::string& message, const Signature& author) override {
    CFGIT_ASSIGN_OR_RETURN(
        Oid commit, stager_.Stage(GIT_OBJECT_COMMIT, CommitBytes(tree, parents, message, author)));
    CFGIT_RETURN_IF_ERROR(stager_.Flush());
    return commit;
  }

  Status Flush() override { return stager_.Flush(); }

 private:
  struct Pending {
    bool loaded = false;
    std::optional<Oid> table_tree;                   // the table's tree to edit (nullopt: none yet)
    std::optional<Oid> schema_blob;                  // a new schema.yaml
    std::map<std::string, std::optional<Oid>> rows;  // "d1/d2/stem.yaml" -> blob / removed
  };

  Result<Pending*> Table(const std::string& name) {
    Pending& t = tables_[EncodePathComponent(name)];
    if (!t.loaded) {
      CFGIT_ASSIGN_OR_RETURN(t.table_tree,
                             trees_->Path(root_, "tables/" + EncodePathComponent(name)));
      t.loaded = true;
    }
    return &t;
  }

  Result<std::string> KeyedPath(const TableSchema& schema, const Row& row) {
    CFGIT_ASSIGN_OR_RETURN(std::vector<size_t> index, KeyIndex(schema));
    Row key;
    for (size_t i : index) key.push_back(row[i]);
    return RowFile(EncodeKey(key));
  }

  // The blob at rows/<path> of a table as edited so far.
  Result<std::optional<Oid>> RowAt(Pending* t, const std::string& path) {
    if (auto it = t->rows.find(path); it != t->rows.end()) return it->second;
    if (!t->table_tree) return std::optional<Oid>();
    return trees_->Path(*t->table_tree, "rows/" + path);
  }

  // Sets whole subtrees (table directories) in `tree`.
  Result<std::optional<Oid>> PlaceTrees(const std::optional<Oid>& tree,
                                        const std::map<std::string, std::optional<Oid>>& dirs) {
    std::map<std::string, TreeEntry> entries;
    if (tree) {
      CFGIT_ASSIGN_OR_RETURN(std::vector<TreeEntry> list, TakeEntries(trees_.get(), *tree));
      for (TreeEntry& e : list) entries[e.name] = std::move(e);
    }
    for (const auto& [name, id] : dirs) {
      if (id) {
        entries[name] = {name, true, *id};
      } else {
        entries.erase(name);
      }
    }
    if (entries.empty()) return std::optional<Oid>();
    std::vector<TreeEntry> list;
    for (auto& [name, e] : entries) list.push_back(e);
    CFGIT_ASSIGN_OR_RETURN(Oid id, stager_.StageTree(list));
    return std::optional<Oid>(id);
  }

  git_repository* repo_;
  Oid root_;
  std::shared_ptr<TreeReader> trees_;
  ObjectStager stager_;
  std::map<std::string, Pending> tables_;
};

}  // namespace

Result<std::optional<Row>> ReadRowAt(TreeReader& trees, const Oid& tree, const TableSchema& schema,
                                     const Row& key) {
  CFGIT_ASSIGN_OR_RETURN(std::optional<Oid> blob,
                         trees.Path(tree, "tables/" + EncodePathComponent(schema.name) + "/rows/" +
                                              RowFile(EncodeKey(key))));
  if (!blob) return std::optional<Row>();
  CFGIT_ASSIGN_OR_RETURN(std::string text, trees.Blob(*blob));
  CFGIT_ASSIGN_OR_RETURN(Row row, DecodeRow(schema.VersionedColumns(), text));
  return std::optional<Row>(std::move(row));
}

Result<std::unique_ptr<SnapshotEditor>> NewSnapshotEditor(git_repository* repo,
                                                          std::shared_ptr<TreeReader> trees,
                                                          const std::string& objects_dir,
                                                          const Oid& tree) {
  auto editor = std::make_unique<GitSnapshotEditor>(repo, std::move(trees), tree);
  CFGIT_RETURN_IF_ERROR(editor->Init(objects_dir));
  return std::unique_ptr<SnapshotEditor>(std::move(editor));
}

}  // namespace cfgit
