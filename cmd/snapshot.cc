// Reading live environments into snapshot trees, and resolving the two sides of a diff.
#include <unistd.h>

#include <algorithm>
#include <iostream>

#include "cmd/command.h"

namespace cfgit::cmd {

Result<LiveSnapshot> ReadLive(const Session& s, const EnvironmentConfig& env) {
  // The writer first: its memo loads on a thread of its own while the database is opened.
  CFGIT_ASSIGN_OR_RETURN(auto writer, s.store->NewSnapshot(env.name));
  CFGIT_ASSIGN_OR_RETURN(auto db, OpenEnvironment(s, env));
  CFGIT_RETURN_IF_ERROR(db->BeginConsistentRead());
  return ReadLiveFrom(s, env, db.get(), nullptr, std::move(writer));
}

Result<std::unique_ptr<Adapter>> OpenEnvironment(const Session& s, const EnvironmentConfig& env,
                                                 OpenOptions::Missing missing) {
  if (env.url.empty()) {
    return Status::Invalid("environment '" + env.name +
                           "' has no url: set it in cfgit.yaml, or with cfgit env add " + env.name +
                           " URL (a workspace made by cfgit clone lists its environments without "
                           "databases)");
  }
  CFGIT_ASSIGN_OR_RETURN(std::string url, ExpandVariables(env.url));
  return Adapter::Open(url,
                       {.base_dir = s.workspace.root, .environment = env.name, .missing = missing});
}

Result<LiveSnapshot> ReadLiveFrom(const Session& s, const EnvironmentConfig& env, Adapter* db,
                                  LiveSnapshot* backup, std::unique_ptr<SnapshotWriter> made) {
  LiveSnapshot live;
  if (made) {
    live.writer = std::move(made);
  } else {
    CFGIT_ASSIGN_OR_RETURN(live.writer, s.store->NewSnapshot(env.name));
  }
  if (backup) {
    // A memo of its own ('@' is in no environment name): the backup keeps ignored columns too.
    // Staged together: a table without ignored columns is the same in both, and is read once.
    CFGIT_ASSIGN_OR_RETURN(backup->writer,
                           s.store->NewSnapshot(env.name + "@backup", live.writer.get()));
  }
  CFGIT_ASSIGN_OR_RETURN(std::vector<std::string> tables, db->ListTables());
  bool progress = ::isatty(STDERR_FILENO) == 1;
  for (const std::string& table : tables) {
    ResolvedTable settings = s.config.ForTable(table);
    if (settings.rule == Rule::kSkip) continue;  // never read
    CFGIT_ASSIGN_OR_RETURN(TableSchema schema, db->ReadSchema(table));
    CFGIT_RETURN_IF_ERROR(ApplyTableSettings(settings, &schema));
    // The backup keeps every column, ignored ones too; the snapshot only the versioned ones.
    TableSchema full = schema;
    full.ignore.clear();
    // Nothing ignored: the backup's table is the snapshot's, read and built once.
    bool both = backup && !schema.ignore.empty();
    std::vector<size_t> pick;
    if (both) {
      std::vector<std::string> all = full.VersionedColumns(), some = schema.VersionedColumns();
      for (const std::string& c : some) {
        pick.push_back(static_cast<size_t>(std::find(all.begin(), all.end(), c) - all.begin()));
      }
      CFGIT_RETURN_IF_ERROR(backup->writer->BeginTable(full));
    }
    CFGIT_RETURN_IF_ERROR(live.writer->BeginTable(schema));
    if (schema.rows_versioned) {
      CFGIT_ASSIGN_OR_RETURN(auto reader, db->Scan(both ? full : schema));
      Row part;
      size_t n = 0;
      SnapshotWriter* writer = live.writer.get();
      // One writer: its fingerprints and memo lookups are worked out on the reading thread.
      auto prepare = [writer, both](std::span<const Row> rows, PreparedRow* out) {
        if (!both) writer->PrepareRows(rows, out);
      };
      auto add = [&](const Row& row, const PreparedRow& prepared) -> Status {
        if (both) {
          CFGIT_RETURN_IF_ERROR(backup->writer->AddRow(row));
          part.clear();
          for (size_t i : pick) part.push_back(row[i]);
          CFGIT_RETURN_IF_ERROR(writer->AddRow(part));
        } else {
          CFGIT_RETURN_IF_ERROR(writer->AddRow(row, prepared));
        }
        if (progress && ++n % 100000 == 0) {
          std::cerr << "\r" << env.name << ": reading " << table << ": " << n << " rows"
                    << std::flush;
        }
        return Status::Ok();
      };
      CFGIT_RETURN_IF_ERROR(ForEachRow(*reader, prepare, add));
      if (progress && n >= 100000) std::cerr << "\r" << std::string(60, ' ') << "\r";
    }
    if (both) {
      CFGIT_ASSIGN_OR_RETURN(TableWriteStats b, backup->writer->EndTable());
      backup->tables.push_back(std::move(b));
    }
    CFGIT_ASSIGN_OR_RETURN(TableWriteStats t, live.writer->EndTable());
    live.tables.push_back(t);
    if (backup && !both) {
      CFGIT_ASSIGN_OR_RETURN(TableWriteStats b, backup->writer->CopyTable(*live.writer));
      backup->tables.push_back(std::move(b));
    }
  }
  live.dialect = db->dialect();
  CFGIT_ASSIGN_OR_RETURN(live.tree, live.writer->FinishTree(live.dialect));
  if (backup) {
    backup->dialect = live.dialect;
    CFGIT_ASSIGN_OR_RETURN(backup->tree, backup->writer->FinishTree(live.dialect));
  }
  return live;
}

Side EmptySide(const std::string& label) {
  Side side;
  side.label = label;
  return side;
}

Result<Side> ResolveSide(const Session& s, const std::string& arg) {
  Side side;
  side.label = arg;
  if (!arg.empty() && arg[0] == '@') {
    CFGIT_ASSIGN_OR_RETURN(const EnvironmentConfig* env, FindEnvironment(s.config, arg.substr(1)));
    Result<LiveSnapshot> live = ReadLive(s, *env);
    if (!live.ok()) return live.status().Wrap("cannot read " + arg + ": ");
    side.live = std::make_shared<LiveSnapshot>(std::move(*live));
    side.tree = side.live->tree;
    side.dialect = side.live->dialect;
    return side;
  }
  CFGIT_ASSIGN_OR_RETURN(Oid commit, s.store->ResolveCommit(arg));
  CFGIT_ASSIGN_OR_RETURN(CommitInfo info, s.store->ReadCommit(commit));
  side.commit = commit;
  side.tree = info.tree;
  CFGIT_ASSIGN_OR_RETURN(side.dialect, s.store->SnapshotDialect(info.tree));
  return side;
}

Result<std::optional<CommitInfo>> DeployedByContent(const Store& store, const Oid& head,
                                                    const Oid& live_tree) {
  std::optional<Oid> at = head;
  while (at) {
    CFGIT_ASSIGN_OR_RETURN(CommitInfo c, store.ReadCommit(*at));
    if (c.tree == live_tree) return std::optional<CommitInfo>(std::move(c));
    at = c.parents.empty() ? std::nullopt : std::optional<Oid>(c.parents[0]);
  }
  return std::optional<CommitInfo>();
}

DiffOptions MakeDiffOptions(const Config& config, std::vector<std::string> tables) {
  DiffOptions options;
  options.tables = std::move(tables);
  options.json_columns = [&config](const std::string& table) {
    return config.ForTable(table).json.columns;
  };
  return options;
}

}  // namespace cfgit::cmd
