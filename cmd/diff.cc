// cfgit diff A [B]: what changed between two snapshots, or between a snapshot and a live
// database (@ENV), as text, JSON, SQL or counts.
#include <iostream>
#include <sstream>

#include "cmd/command.h"

namespace cfgit::cmd {
namespace {

struct DiffCommandOptions {
  std::string a, b, format = "text";
  std::vector<std::string> tables;
  bool stat = false, exit_code = false, no_color = false;
};

struct Colors {
  bool on = false;
  std::string Paint(const char* code, const std::string& text) const {
    return on ? std::string("\033[") + code + "m" + text + "\033[0m" : text;
  }
  std::string Bold(const std::string& t) const { return Paint("1", t); }
  std::string Added(const std::string& t) const { return Paint("32", t); }
  std::string Deleted(const std::string& t) const { return Paint("31", t); }
  std::string Modified(const std::string& t) const { return Paint("33", t); }
};

// The two sides from the arguments (see the command's help).
Result<std::pair<Side, Side>> Sides(const Session& s, const DiffCommandOptions& o) {
  if (!o.b.empty()) {
    CFGIT_ASSIGN_OR_RETURN(Side a, ResolveSide(s, o.a));
    CFGIT_ASSIGN_OR_RETURN(Side b, ResolveSide(s, o.b));
    return std::make_pair(std::move(a), std::move(b));
  }
  std::string env = o.a[0] == '@' ? o.a.substr(1) : o.a;
  if (o.a[0] == '@' || s.config.FindEnvironment(env)) {
    // An environment: its branch against its live database.
    CFGIT_ASSIGN_OR_RETURN(std::optional<Oid> head, s.store->ReadRef("refs/heads/" + env));
    Side a = EmptySide(env);
    if (head) {
      CFGIT_ASSIGN_OR_RETURN(a, ResolveSide(s, "refs/heads/" + env));
      a.label = env;
    }
    CFGIT_ASSIGN_OR_RETURN(Side b, ResolveSide(s, "@" + env));
    return std::make_pair(std::move(a), std::move(b));
  }
  // A commit: against its first parent.
  CFGIT_ASSIGN_OR_RETURN(Side b, ResolveSide(s, o.a));
  CFGIT_ASSIGN_OR_RETURN(CommitInfo info, s.store->ReadCommit(*b.commit));
  Side a = EmptySide("(empty)");
  if (!info.parents.empty()) {
    CFGIT_ASSIGN_OR_RETURN(a, ResolveSide(s, info.parents[0].Hex()));
    a.label = o.a + "^";
  }
  return std::make_pair(std::move(a), std::move(b));
}

std::string SideId(const Side& s) {
  if (s.live) return s.label;
  return s.commit ? s.commit->Hex() : "";
}

// --- text ---

std::string ColumnText(const Column& c) {
  std::string out = c.name + (c.type.empty() ? "" : " " + c.type);
  if (c.not_null) out += " NOT NULL";
  if (c.default_sql) out += " DEFAULT " + *c.default_sql;
  return out;
}

std::string List(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

std::string IndexText(const Index& i) {
  return (i.unique ? "unique index " : "index ") + i.name + " (" + List(i.columns) + ")";
}

std::string ForeignKeyText(const ForeignKey& f) {
  return "foreign key (" + List(f.columns) + ") -> " + f.ref_table + " (" + List(f.ref_columns) +
         ")";
}

std::vector<std::string> SchemaLines(const TableDiff& d) {
  std::vector<std::string> out;
  const SchemaDiff& s = d.schema;
  for (const Column& c : s.columns_added) out.push_back("+ column " + ColumnText(c));
  for (const Column& c : s.columns_removed) out.push_back("- column " + ColumnText(c));
  for (const ColumnChange& c : s.columns_changed) {
    out.push_back("~ column " + ColumnText(c.old_column) + " -> " + ColumnText(c.new_column));
  }
  if (s.primary_key_changed) {
    out.push_back("~ primary key (" + List(d.from->primary_key) + ") -> (" +
                  List(d.to->primary_key) + ")");
  }
  if (s.key_changed) {
    out.push_back("~ row key (" + List(d.from->key) + ") -> (" + List(d.to->key) + ")");
  }
  if (s.ignore_changed) {
    out.push_back("~ ignored columns (" + List(d.from->ignore) + ") -> (" + List(d.to->ignore) +
                  ")");
  }
  if (s.rows_versioned_changed) {
    out.push_back(std::string("~ rows ") + (d.to->rows_versioned ? "now" : "no longer") +
                  " versioned (schema-only rule)");
  }
  for (const Index& i : s.indexes_added) out.push_back("+ " + IndexText(i));
  for (const Index& i : s.indexes_removed) out.push_back("- " + IndexText(i));
  for (const ForeignKey& f : s.foreign_keys_added) out.push_back("+ " + ForeignKeyText(f));
  for (const ForeignKey& f : s.foreign_keys_removed) out.push_back("- " + ForeignKeyText(f));
  if (s.sql_changed && out.empty()) out.push_back("~ table definition text (DDL) only");
  return out;
}

std::string KeyText(const std::vector<std::string>& key_columns, const Row& key) {
  std::string out = "(";
  for (size_t i = 0; i < key.size() && i < key_columns.size(); ++i) {
    out += (i ? ", " : "") + key_columns[i] + "=" + EncodeValue(key[i]);
  }
  return out + ")";
}

// The row's values, leaving out the key columns (they are shown in front of it).
std::string RowText(const TableSchema& s, const Row& row) {
  std::vector<std::string> columns = s.VersionedColumns();
  std::string out;
  for (size_t i = 0; i < columns.size() && i < row.size(); ++i) {
    if (std::find(s.key.begin(), s.key.end(), columns[i]) != s.key.end()) continue;
    out += (out.empty() ? "" : ", ") + columns[i] + ": " + EncodeValue(row[i]);
  }
  return out;
}

std::string Maybe(const std::optional<Value>& v) { return v ? EncodeValue(*v) : "(no column)"; }
std::string MaybeJson(const std::optional<std::string>& v) { return v ? *v : "(absent)"; }

std::vector<std::string> CellLines(const CellChange& c) {
  std::vector<std::string> out;
  if (c.json) {
    if (c.json_changes.empty()) out.push_back(c.column + ": same JSON, formatting only");
    for (const JsonChange& j : c.json_changes) {
      std::string path = j.path.empty()     ? c.column
                         : j.path[0] == '[' ? c.column + j.path
                                            : c.column + "." + j.path;
      out.push_back(path + ": " + MaybeJson(j.old_json) + " -> " + MaybeJson(j.new_json));
    }
    return out;
  }
  out.push_back(c.column + ": " + Maybe(c.old_value) + " -> " + Maybe(c.new_value));
  return out;
}

void PrintText(const TableDiff& d, const Colors& c, std::ostream& out) {
  std::string what;
  if (!d.from) what = ", new table";
  if (!d.to) what = ", table removed";
  if (d.from && d.to && !d.schema.empty()) what = ", schema changed";
  out << c.Bold("table " + d.name) << "  +" << d.added.size() << " -" << d.deleted.size() << " ~"
      << d.modified.size() << what << "\n";
  if (d.from && d.to) {
    for (const std::string& line : SchemaLines(d)) out << "  schema: " << line << "\n";
  }
  const TableSchema& to = d.to ? *d.to : *d.from;
  const TableSchema& from = d.from ? *d.from : *d.to;
  bool keyless_to = to.key.empty(), keyless_from = from.key.empty();
  for (const RowChange& r : d.added) {
    std::string id = keyless_to ? "" : KeyText(to.key, r.key) + " ";
    out << c.Added("  + " + id + RowText(to, *r.new_row)) << "\n";
  }
  for (const RowChange& r : d.deleted) {
    std::string id = keyless_from ? "" : KeyText(from.key, r.key) + " ";
    out << c.Deleted("  - " + id + RowText(from, *r.old_row)) << "\n";
  }
  for (const RowChange& r : d.modified) {
    std::vector<std::string> lines;
    for (const CellChange& cell : r.cells) {
      for (std::string& l : CellLines(cell)) lines.push_back(std::move(l));
    }
    std::string head = "  ~ " + KeyText(to.key, r.key);
    if (lines.size() == 1) {
      out << c.Modified(head + " " + lines[0]) << "\n";
      continue;
    }
    out << c.Modified(head) << "\n";
    for (const std::string& l : lines) out << c.Modified("      " + l) << "\n";
  }
}

// --- JSON ---

std::string JsonList(const std::vector<std::string>& names) {
  std::string out = "[";
  for (size_t i = 0; i < names.size(); ++i) out += (i ? "," : "") + JsonString(names[i]);
  return out + "]";
}

std::string JsonColumn(const Column& c) {
  return "{\"name\":" + JsonString(c.name) + ",\"type\":" + JsonString(c.type) +
         ",\"not_null\":" + (c.not_null ? "true" : "false") +
         ",\"default\":" + (c.default_sql ? JsonString(*c.default_sql) : "null") + "}";
}

std::string JsonIndex(const Index& i) {
  return "{\"name\":" + JsonString(i.name) + ",\"columns\":" + JsonList(i.columns) +
         ",\"unique\":" + (i.unique ? "true" : "false") + "}";
}

std::string JsonForeignKey(const ForeignKey& f) {
  return "{\"columns\":" + JsonList(f.columns) + ",\"ref_table\":" + JsonString(f.ref_table) +
         ",\"ref_columns\":" + JsonList(f.ref_columns) + "}";
}

template <typename T, typename F>
std::string JsonArray(const std::vector<T>& items, F each) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) out += (i ? "," : "") + each(items[i]);
  return out + "]";
}

std::string JsonSchema(const TableDiff& d) {
  if (!d.from) return "{\"table\":\"added\"}";
  if (!d.to) return "{\"table\":\"removed\"}";
  const SchemaDiff& s = d.schema;
  std::string out = "{";
  auto field = [&](const std::string& name, const std::string& value) {
    out += (out.size() > 1 ? "," : "") + JsonString(name) + ":" + value;
  };
  if (!s.columns_added.empty()) field("columns_added", JsonArray(s.columns_added, JsonColumn));
  if (!s.columns_removed.empty())
    field("columns_removed", JsonArray(s.columns_removed, JsonColumn));
  if (!s.columns_changed.empty()) {
    field("columns_changed", JsonArray(s.columns_changed, [](const ColumnChange& c) {
            return "{\"name\":" + JsonString(c.new_column.name) +
                   ",\"old\":" + JsonColumn(c.old_column) + ",\"new\":" + JsonColumn(c.new_column) +
                   "}";
          }));
  }
  auto pair = [](const std::vector<std::string>& a, const std::vector<std::string>& b) {
    return "{\"old\":" + JsonList(a) + ",\"new\":" + JsonList(b) + "}";
  };
  if (s.primary_key_changed) field("primary_key", pair(d.from->primary_key, d.to->primary_key));
  if (s.key_changed) field("key", pair(d.from->key, d.to->key));
  if (s.ignore_changed) field("ignore", pair(d.from->ignore, d.to->ignore));
  if (s.rows_versioned_changed) field("rows_versioned", d.to->rows_versioned ? "true" : "false");
  if (!s.indexes_added.empty()) field("indexes_added", JsonArray(s.indexes_added, JsonIndex));
  if (!s.indexes_removed.empty()) field("indexes_removed", JsonArray(s.indexes_removed, JsonIndex));
  if (!s.foreign_keys_added.empty())
    field("foreign_keys_added", JsonArray(s.foreign_keys_added, JsonForeignKey));
  if (!s.foreign_keys_removed.empty())
    field("foreign_keys_removed", JsonArray(s.foreign_keys_removed, JsonForeignKey));
  if (s.sql_changed) field("sql_changed", "true");
  return out + "}";
}

std::string JsonObject(const std::vector<std::string>& columns, const Row& row) {
  std::string out = "{";
  for (size_t i = 0; i < columns.size() && i < row.size(); ++i) {
    out += (i ? "," : "") + JsonString(columns[i]) + ":" + JsonValue(row[i]);
  }
  return out + "}";
}

std::string JsonCell(const CellChange& c) {
  std::string out = JsonString(c.column) +
                    ":{\"old\":" + (c.old_value ? JsonValue(*c.old_value) : "null") +
                    ",\"new\":" + (c.new_value ? JsonValue(*c.new_value) : "null");
  if (!c.old_value) out += ",\"column_added\":true";
  if (!c.new_value) out += ",\"column_removed\":true";
  if (c.json) {
    out += ",\"paths\":" + JsonArray(c.json_changes, [](const JsonChange& j) {
             return "{\"path\":" + JsonString(j.path) +
                    ",\"old\":" + (j.old_json ? *j.old_json : "null") +
                    ",\"new\":" + (j.new_json ? *j.new_json : "null") +
                    (j.old_json ? "" : ",\"added\":true") +
                    (j.new_json ? "" : ",\"removed\":true") + "}";
           });
  }
  return out + "}";
}

std::string JsonTable(const TableDiff& d) {
  const TableSchema& to = d.to ? *d.to : *d.from;
  const TableSchema& from = d.from ? *d.from : *d.to;
  auto rows = [](const std::vector<RowChange>& list, const TableSchema& s, bool use_new) {
    return JsonArray(list, [&](const RowChange& r) {
      return "{\"key\":" + JsonObject(s.key, r.key) +
             ",\"row\":" + JsonObject(s.VersionedColumns(), use_new ? *r.new_row : *r.old_row) +
             "}";
    });
  };
  std::string modified = JsonArray(d.modified, [&](const RowChange& r) {
    std::string changes = "{";
    for (size_t i = 0; i < r.cells.size(); ++i) changes += (i ? "," : "") + JsonCell(r.cells[i]);
    return "{\"key\":" + JsonObject(to.key, r.key) + ",\"changes\":" + changes + "}}";
  });
  return "{\"name\":" + JsonString(d.name) + ",\"schema\":" + JsonSchema(d) +
         ",\"added\":" + rows(d.added, to, true) + ",\"deleted\":" + rows(d.deleted, from, false) +
         ",\"modified\":" + modified + "}";
}

Status RunDiff(const Globals& globals, const DiffCommandOptions& o) {
  if (o.stat && o.format == "sql") {
    return Status::Usage("--stat counts rows; it cannot be combined with --format sql");
  }
  CFGIT_ASSIGN_OR_RETURN(Session s, OpenSession(globals));
  CFGIT_ASSIGN_OR_RETURN(auto sides, Sides(s, o));
  const Side& a = sides.first;
  const Side& b = sides.second;
  DiffOptions options = MakeDiffOptions(s.config, o.tables);
  bool differs = false;
  std::ostringstream out;

  if (o.stat) {
    CFGIT_ASSIGN_OR_RETURN(std::vector<TableChangeStat> stats, DiffStat(*s.store, a.tree, b.tree));
    std::vector<TableChangeStat> shown;
    for (auto& st : stats) {
      if (o.tables.empty() ||
          std::find(o.tables.begin(), o.tables.end(), st.table) != o.tables.end())
        shown.push_back(std::move(st));
    }
    differs = !shown.empty();
    if (o.format == "json") {
      out << "{\"from\":" << JsonString(SideId(a)) << ",\"to\":" << JsonString(SideId(b))
          << ",\"tables\":" << FormatStatsJson(shown) << "}\n";
    } else {
      out << FormatStatsText(shown);
    }
  } else if (o.format == "sql") {
    std::string target = !a.dialect.empty() ? a.dialect : b.dialect;
    CFGIT_ASSIGN_OR_RETURN(ChangeBatch batch, PlanChanges(*s.store, a, b, target, options));
    differs = !batch.tables.empty();
    if (differs) {
      CFGIT_ASSIGN_OR_RETURN(std::string script, RenderScript(target, batch));
      out << "-- cfgit diff " << a.label << " " << b.label << ": turns a " << target
          << " database holding " << a.label << " into " << b.label << "\n"
          << script;
    }
  } else if (o.format == "json") {
    std::string tables;
    CFGIT_RETURN_IF_ERROR(
        DiffSnapshots(*s.store, a.tree, b.tree, options, [&](TableDiff&& d) -> Status {
          tables += (tables.empty() ? "" : ",") + JsonTable(d);
          return Status::Ok();
        }));
    differs = !tables.empty();
    out << "{\"from\":" << JsonString(SideId(a)) << ",\"to\":" << JsonString(SideId(b))
        << ",\"tables\":[" << tables << "]}\n";
  } else {
    Colors colors{UseColor(o.no_color)};
    CFGIT_RETURN_IF_ERROR(
        DiffSnapshots(*s.store, a.tree, b.tree, options, [&](TableDiff&& d) -> Status {
          if (!differs) {
            out << colors.Bold("diff " + a.label + " " + b.label) << "\n";
          }
          differs = true;
          PrintText(d, colors, out);
          return Status::Ok();
        }));
  }
  std::cout << out.str();
  if (!differs && o.format == "text" && !o.exit_code) {
    std::cout << "no differences between " << a.label << " and " << b.label << "\n";
  }
  if (differs && o.exit_code) return Status(Code::kNeedsAttention, "");
  return Status::Ok();
}

}  // namespace

void RegisterDiff(CLI::App& app, const Globals& globals, Action* action) {
  auto o = std::make_shared<DiffCommandOptions>();
  CLI::App* sub =
      app.add_subcommand("diff", "Show what changed between two snapshots or a live database");
  sub->add_option("A", o->a, "From: a branch, tag, commit id, REV~N, or @ENV (live)")->required();
  sub->add_option("B", o->b, "To: the same kinds as A");
  sub->add_option("--format", o->format, "Output format")
      ->check(CLI::IsMember({"text", "json", "sql"}))
      ->default_str("text");
  sub->add_flag("--stat", o->stat,
                "Only count rows added (+), deleted (-), modified (~) per table");
  sub->add_option("--table", o->tables, "Only this table (repeat for more)")->option_text("T");
  sub->add_flag("--exit-code", o->exit_code, "Exit with status 1 when there are differences");
  sub->add_flag("--no-color", o->no_color, "Never colour the text output");
  sub->footer(
      "With one argument: an environment (ENV or @ENV) is diffed from its branch head to its "
      "live database (uncommitted changes, drift); any other revision from its first parent. "
      "@ENV reads the live database and never commits it. --format sql prints the statements "
      "that turn a database holding A into B, for A's database kind. Reference: "
      "docs/commands.md#diff.");
  sub->callback(
      [action, o, &globals] { *action = [o, &globals] { return RunDiff(globals, *o); }; });
}

}  // namespace cfgit::cmd
