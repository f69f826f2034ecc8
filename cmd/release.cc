// Deploy: the one way cfgit writes an environment's database (apply, promote, rollback,
// restore). See command.h and docs/releases.md.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <iostream>
#include <regex>
#include <set>

#include "cmd/command.h"

namespace cfgit::cmd {
namespace {

std::string UtcStamp(int64_t t) {
  std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

// {{$env.NAME}} placeholders in values, each name with the first table it appears in.
using Placeholders = std::map<std::string, std::string>;

void ScanPlaceholders(const std::string& table, const Row& values, Placeholders* found) {
  static const std::regex kPlaceholder(R"(\{\{\s*\$env\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\})");
  for (const Value& v : values) {
    if (v.kind() != Value::Kind::kText || v.bytes().find("{{") == std::string::npos) continue;
    for (std::sregex_iterator it(v.bytes().begin(), v.bytes().end(), kPlaceholder), end; it != end;
         ++it) {
      found->emplace((*it)[1].str(), table);
    }
  }
}

// The placeholders of the rows a batch holds; streamed rows are scanned into `streamed` as they
// are read (the streams are wrapped to do so).
Placeholders WatchPlaceholders(ChangeBatch* batch, Placeholders* streamed) {
  Placeholders held;
  for (TableBatch& t : batch->tables) {
    for (const Row& r : t.inserts) ScanPlaceholders(t.schema.name, r, &held);
    for (const RowUpdate& u : t.updates) ScanPlaceholders(t.schema.name, u.values, &held);
    if (!t.stream) continue;
    t.stream = [inner = std::move(t.stream), table = t.schema.name,
                streamed](const std::function<Status(const Row&)>& each) {
      return inner([&](const Row& row) {
        ScanPlaceholders(table, row, streamed);
        return each(row);
      });
    };
  }
  return held;
}

// The variable names ENV defines: its `variables:` list and the values of `variables_from`.
Result<std::set<std::string>> DefinedVariables(const EnvironmentConfig& env, Adapter* db) {
  std::set<std::string> names(env.variables.begin(), env.variables.end());
  if (env.variables_from.empty()) return names;
  size_t dot = env.variables_from.rfind('.');
  std::string table = env.variables_from.substr(0, dot);
  std::string column = env.variables_from.substr(dot + 1);
  CFGIT_ASSIGN_OR_RETURN(std::vector<std::string> tables, db->ListTables());
  if (std::find(tables.begin(), tables.end(), table) == tables.end()) return names;
  CFGIT_ASSIGN_OR_RETURN(TableSchema schema, db->ReadSchema(table));
  if (!schema.FindColumn(column)) {
    return Status::Invalid("environment '" + env.name + "': variables_from names column '" +
                           column + "', which table '" + table + "' does not have");
  }
  schema.key = schema.primary_key;
  schema.ignore.clear();
  for (const Column& c : schema.columns) {
    if (c.name != column &&
        std::find(schema.key.begin(), schema.key.end(), c.name) == schema.key.end()) {
      schema.ignore.push_back(c.name);
    }
  }
  std::vector<std::string> cols = schema.VersionedColumns();
  size_t at = static_cast<size_t>(std::find(cols.begin(), cols.end(), column) - cols.begin());
  CFGIT_ASSIGN_OR_RETURN(auto reader, db->Scan(schema));
  Row row;
  while (true) {
    CFGIT_ASSIGN_OR_RETURN(bool more, reader->Next(&row));
    if (!more) break;
    if (row[at].kind() == Value::Kind::kText) names.insert(row[at].bytes());
  }
  return names;
}

// kNeedsAttention naming the placeholders `used` that ENV does not define; Ok when none.
Status CheckVariables(const EnvironmentConfig& env, Adapter* db, const Placeholders& used) {
  if (used.empty()) return Status::Ok();
  CFGIT_ASSIGN_OR_RETURN(std::set<std::string> defined, DefinedVariables(env, db));
  std::string missing;
  for (const auto& [name, table] : used) {
    if (!defined.count(name)) missing += "\n  {{$env." + name + "}} (in " + table + ")";
  }
  if (missing.empty()) return Status::Ok();
  return Status::NeedsAttention(
      "the rows to write to " + env.name + " use environment variables it does not define:" +
      missing + "\nnothing was written; define them in " + env.name +
      " (variables: or variables_from: in cfgit.yaml, docs/config.md), then apply again");
}

}  // namespace

std::string Counts(const ChangeBatch& batch) {
  std::string out;
  for (const TableBatch& t : batch.tables) {
    std::string what = t.create ? "create, " : t.drop ? "drop, " : t.rebuild ? "rebuild, " : "";
    out += " " + t.schema.name + "  " + what + "+" + std::to_string(InsertCount(t)) + " -" +
           std::to_string(t.deletes.size()) + " ~" + std::to_string(t.updates.size()) + "\n";
  }
  return out;
}

namespace {

// Removes the oldest backups of ENV beyond the configured number.
Status PruneBackups(Store& store, const std::string& env, int keep) {
  std::string prefix = "refs/cfgit/backups/" + env + "/";
  CFGIT_ASSIGN_OR_RETURN(std::vector<RefInfo> refs, store.ListRefs(prefix));
  // Names are UTC time stamps: their order is their age.
  for (size_t i = 0; i + static_cast<size_t>(keep) < refs.size(); ++i) {
    CFGIT_RETURN_IF_ERROR(store.DeleteRef(prefix + refs[i].name));
  }
  return Status::Ok();
}

}  // namespace

Result<DeployResult> Deploy(const Session& s, const DeployRequest& req) {
  const EnvironmentConfig& env = *req.env;
  DeployResult out;
  const std::string deployed_ref = "refs/cfgit/deployed/" + env.name;
  CFGIT_ASSIGN_OR_RETURN(std::optional<Oid> deployed, s.store->ReadRef(deployed_ref));
  CFGIT_ASSIGN_OR_RETURN(CommitInfo target, s.store->ReadCommit(req.commit));

  CFGIT_ASSIGN_OR_RETURN(auto db, OpenEnvironment(s, env,
                                                  req.dry_run ? OpenOptions::Missing::kEmpty
                                                              : OpenOptions::Missing::kCreate));
  // Locked from here to COMMIT: what is read is what is backed up and what is overwritten.
  CFGIT_ASSIGN_OR_RETURN(std::vector<std::string> tables, db->ListTables());
  if (req.dry_run) {
    CFGIT_RETURN_IF_ERROR(db->BeginConsistentRead());
  } else {
    CFGIT_RETURN_IF_ERROR(db->BeginWrite(tables));
  }
  LiveSnapshot backup;
  Result<LiveSnapshot> read = ReadLiveFrom(s, env, db.get(), &backup);
  if (!read.ok()) return read.status().Wrap("cannot read " + env.name + ": ");
  LiveSnapshot& live = *read;

  // Drift: the live database is not what cfgit last made it.
  if (env.is_protected && !live.tables.empty()) {
    std::optional<Oid> reference;
    if (deployed) {
      CFGIT_ASSIGN_OR_RETURN(CommitInfo d, s.store->ReadCommit(*deployed));
      if (!(d.tree == live.tree)) reference = d.tree;
    } else {
      CFGIT_ASSIGN_OR_RETURN(std::optional<Oid> head, s.store->ReadRef("refs/heads/" + env.name));
      std::optional<CommitInfo> same;
      if (head) {
        CFGIT_ASSIGN_OR_RETURN(same, DeployedByContent(*s.store, *head, live.tree));
      }
      if (!same) {
        reference = head ? std::optional<Oid>(s.store->ReadCommit(*head)->tree) : std::nullopt;
        if (!reference) reference = Oid();  // nothing to compare with: all of it is drift
      }
    }
    if (reference) {
      std::optional<Oid> from = reference->IsZero() ? std::nullopt : reference;
      CFGIT_ASSIGN_OR_RETURN(out.drift, DiffStat(*s.store, from, live.tree));
      if (!req.force) {
        db->Rollback().ok();
        return Status::NeedsAttention(
            env.name + " is protected and its database has drifted from what cfgit last wrote (" +
            (deployed ? deployed->Short() : std::string("no deployed record")) + "):\n" +
            FormatStatsText(out.drift) + "nothing was written; see the rows with: cfgit diff " +
            (deployed ? deployed->Short() : env.name) + " @" + env.name +
            "\n--force backs the drift up and overwrites it");
      }
    }
  }

  Side from;
  from.label = "@" + env.name;
  from.tree = req.all_columns ? backup.tree : live.tree;
  from.dialect = live.dialect;
  Side to;
  to.label = req.label;
  to.commit = req.commit;
  to.tree = target.tree;
  CFGIT_ASSIGN_OR_RETURN(to.dialect, s.store->SnapshotDialect(target.tree));
  CFGIT_ASSIGN_OR_RETURN(ChangeBatch batch, PlanChanges(*s.store, from, to, db->dialect(),
                                                        MakeDiffOptions(s.config, {})));
  out.batch_text = Counts(batch);
  out.changed = !batch.tables.empty();

  // Rows streamed from the store (created tables) are checked as they are read: in a dry run
  // here, otherwise while they are written, before the COMMIT.
  Placeholders streamed;
  if (Status v = CheckVariables(env, db.get(), WatchPlaceholders(&batch, &streamed)); !v.ok()) {
    db->Rollback().ok();
    return v;
  }
  if (req.dry_run) {
    Status streamed_ok = Status::Ok();
    if (req.sql && out.changed) {
      Result<std::string> script = RenderScript(db->dialect(), batch);
      if (script.ok()) out.script = std::move(*script);
      streamed_ok = script.status();
    } else {
      for (const TableBatch& t : batch.tables) {
        if (t.stream && streamed_ok.ok())
          streamed_ok = t.stream([](const Row&) { return Status::Ok(); });
      }
    }
    if (streamed_ok.ok()) streamed_ok = CheckVariables(env, db.get(), streamed);
    db->Rollback().ok();
    if (!streamed_ok.ok()) return streamed_ok;
    return out;
  }
  // The branch moves with the deployed record, once the write has committed; whether it can
  // (nobody moved it meanwhile) is checked before anything is written.
  const std::string branch_ref = "refs/heads/" + env.name;
  bool move_branch = req.move_branch && !(req.branch_head && *req.branch_head == req.commit);
  if (move_branch) {
    CFGIT_ASSIGN_OR_RETURN(std::optional<Oid> now, s.store->ReadRef(branch_ref));
    if (now != req.branch_head) {
      db->Rollback().ok();
      return Status::NeedsAttention("branch " + env.name + " moved while this command ran (to " +
                                    (now ? now->Short() : std::string("nothing")) +
                                    "); nothing was written; look at cfgit log -g " + env.name +
                                    ", then run the command again");
    }
  }
  if (!out.changed) {
    db->Rollback().ok();
  } else {
    // Back up first: the live state of every versioned table, every column.
    Signature who = s.store->DefaultSignature(s.config);
    size_t rows = 0;
    for (const auto& t : backup.tables) rows += t.rows;
    std::string message = "backup of " + env.name + " before " + req.reason + "\n\n" +
                          std::to_string(backup.tables.size()) + " tables, " +
                          std::to_string(rows) + " rows\n";
    CFGIT_ASSIGN_OR_RETURN(Oid saved, backup.writer->WriteCommit({}, message, who));
    live.writer->KeepMemo();  // the backup's commit stored the live snapshot's objects too
    std::string name = UtcStamp(who.time);
    // Several backups in one second: numbered after the newest one there is, so that names
    // keep sorting by age even after older ones were pruned.
    std::string ref = "refs/cfgit/backups/" + env.name + "/" + name;
    CFGIT_ASSIGN_OR_RETURN(std::vector<RefInfo> same,
                           s.store->ListRefs("refs/cfgit/backups/" + env.name + "/" + name));
    int newest = 0;
    for (const RefInfo& r : same) {
      newest = std::max(newest, r.name.empty() ? 1 : std::atoi(r.name.c_str() + 1));
    }
    if (newest > 0) {
      char suffix[16];  // zero-padded, so that names sort by age
      std::snprintf(suffix, sizeof suffix, "-%03d", newest + 1);
      ref += suffix;
    }
    CFGIT_RETURN_IF_ERROR(s.store->UpdateRef(ref, saved, std::nullopt, "backup: " + req.reason));
    out.backup_ref = ref;
    Status written = db->Write(batch);
    if (written.ok()) written = CheckVariables(env, db.get(), streamed);
    if (written.ok() && req.all_columns) {
      // A backup holds ignored columns; what is deployed is what the versioned snapshot of the
      // written state reads, so that drift keeps meaning what it means after an apply.
      Result<LiveSnapshot> now = ReadLiveFrom(s, env, db.get(), nullptr);
      if (now.ok()) {
        live = std::move(*now);
      } else {
        written = now.status();
      }
    }
    if (written.ok()) written = db->Commit();
    if (!written.ok()) {
      db->Rollback().ok();
      return written.Wrap("cannot write " + env.name + " (nothing was changed; the backup is " +
                          ref + "): ");
    }
  }
  if (move_branch) {
    CFGIT_RETURN_IF_ERROR(s.store->UpdateRef(branch_ref, req.commit, req.branch_head, req.reason));
  }
  Oid deploy = req.commit;
  if (req.all_columns) {
    // Recorded as a commit of the versioned tree on top of the backup (see above).
    CFGIT_ASSIGN_OR_RETURN(
        deploy,
        live.writer->WriteCommit({req.commit}, "restored " + env.name + " from " + req.label + "\n",
                                 s.store->DefaultSignature(s.config)));
  }
  if (!deployed || !(*deployed == deploy)) {
    CFGIT_RETURN_IF_ERROR(
        s.store->UpdateRef(deployed_ref, deploy, deployed, "deploy: " + req.reason));
  }
  if (out.changed) CFGIT_RETURN_IF_ERROR(PruneBackups(*s.store, env.name, s.config.backups_keep));
  return out;
}

void PrintDeploy(const DeployRequest& req, const DeployResult& r, const std::string& format,
                 const std::string& extra_json) {
  const std::string& env = req.env->name;
  if (format == "sql") {
    std::cout << (r.changed ? r.script
                            : "-- nothing to write: " + env + " equals " + req.label + "\n");
    return;
  }
  if (format == "json") {
    std::cout << "{\"environment\":" << JsonString(env)
              << ",\"revision\":" << JsonString(req.commit.Hex())
              << ",\"dry_run\":" << (req.dry_run ? "true" : "false")
              << ",\"changed\":" << (r.changed ? "true" : "false")
              << ",\"backup\":" << (r.backup_ref ? JsonString(*r.backup_ref) : "null")
              << ",\"drift_overwritten\":" << FormatStatsJson(r.drift) << extra_json << "}\n";
    return;
  }
  if (!r.changed) {
    std::cout << "nothing to write: " << env << " already equals " << req.label << " ("
              << req.commit.Short() << ")\n";
    return;
  }
  if (req.dry_run) {
    std::cout << "would write to " << env << " (" << req.label << ", " << req.commit.Short()
              << "), nothing changed:\n"
              << r.batch_text;
    return;
  }
  if (!r.drift.empty()) {
    std::cout << "overwrote drift in " << env << " (kept in the backup):\n"
              << FormatStatsText(r.drift);
  }
  std::cout << "wrote " << req.label << " (" << req.commit.Short() << ") to " << env << ":\n"
            << r.batch_text << "backup of the previous state: " << *r.backup_ref << "\n";
}

}  // namespace cfgit::cmd
