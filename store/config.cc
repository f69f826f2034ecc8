#include "store/config.h"

#include <fnmatch.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "store/internal/files.h"

namespace cfgit {

const char* RuleName(Rule rule) {
  switch (rule) {
    case Rule::kMerge:
      return "merge";
    case Rule::kOverwrite:
      return "overwrite";
    case Rule::kInsertOnly:
      return "insert-only";
    case Rule::kSchemaOnly:
      return "schema-only";
    case Rule::kSkip:
      return "skip";
  }
  return "?";
}

namespace {

std::string Where(const std::string& path, const YAML::Mark& m) {
  return path + ":" + std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1);
}

Status ErrorAt(const std::string& path, const YAML::Node& node, const std::string& message) {
  return Status::Invalid(Where(path, node.Mark()) + ": " + message);
}

Status CheckKeys(const std::string& path, const YAML::Node& map, const std::string& what,
                 const std::set<std::string>& allowed) {
  for (const auto& kv : map) {
    std::string k = kv.first.Scalar();
    if (allowed.count(k)) continue;
    std::string list;
    for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
    return ErrorAt(path, kv.first,
                   "unknown key '" + k + "' in " + what + " (expected one of: " + list + ")");
  }
  return Status::Ok();
}

Result<std::string> ScalarAt(const std::string& path, const YAML::Node& n,
                             const std::string& what) {
  if (!n.IsScalar()) return ErrorAt(path, n, what + " must be a single value");
  return n.Scalar();
}

Result<bool> BoolAt(const std::string& path, const YAML::Node& n, const std::string& what) {
  if (n.IsScalar()) {
    const std::string& s = n.Scalar();
    if (s == "true" || s == "yes") return true;
    if (s == "false" || s == "no") return false;
  }
  return ErrorAt(path, n, what + " must be true or false");
}

Result<std::vector<std::string>> ListAt(const std::string& path, const YAML::Node& n,
                                        const std::string& what) {
  std::vector<std::string> out;
  if (n.IsScalar()) return std::vector<std::string>{n.Scalar()};
  if (!n.IsSequence()) return ErrorAt(path, n, what + " must be a list of column names");
  for (const auto& item : n) {
    if (!item.IsScalar()) return ErrorAt(path, item, what + " must be a list of column names");
    out.push_back(item.Scalar());
  }
  return out;
}

Result<Rule> ParseRule(const std::string& path, const YAML::Node& n) {
  CFGIT_ASSIGN_OR_RETURN(std::string s, ScalarAt(path, n, "rule"));
  for (Rule r :
       {Rule::kMerge, Rule::kOverwrite, Rule::kInsertOnly, Rule::kSchemaOnly, Rule::kSkip}) {
    if (s == RuleName(r)) return r;
  }
  return ErrorAt(
      path, n,
      "unknown rule '" + s + "' (expected merge, overwrite, insert-only, schema-only or skip)");
}

Status ParseEnvironment(const std::string& path, const YAML::Node& key, const YAML::Node& value,
                        Config* config) {
  EnvironmentConfig env;
  env.name = key.Scalar();
  if (Status s = CheckEnvironmentName(env.name); !s.ok()) return ErrorAt(path, key, s.message());
  if (config->FindEnvironment(env.name)) {
    return ErrorAt(path, key, "environment '" + env.name + "' is defined twice");
  }
  if (!value.IsMap()) {
    return ErrorAt(
        path, value,
        "environment '" + env.name + "' must be a mapping such as { url: \"sqlite:dev.db\" }");
  }
  CFGIT_RETURN_IF_ERROR(CheckKeys(path, value, "environment '" + env.name + "'",
                                  {"url", "protected", "variables", "variables_from"}));
  // No url (a workspace made by `cfgit clone` starts so): commands that need the database say so.
  if (value["url"] && !value["url"].IsNull()) {
    CFGIT_ASSIGN_OR_RETURN(env.url, ScalarAt(path, value["url"], "url"));
    if (Status s = CheckUrl(env.url); !s.ok()) return ErrorAt(path, value["url"], s.message());
  }
  if (value["protected"]) {
    CFGIT_ASSIGN_OR_RETURN(env.is_protected, BoolAt(path, value["protected"], "protected"));
  }
  if (value["variables"]) {
    CFGIT_ASSIGN_OR_RETURN(env.variables, ListAt(path, value["variables"], "variables"));
  }
  if (value["variables_from"]) {
    CFGIT_ASSIGN_OR_RETURN(env.variables_from,
                           ScalarAt(path, value["variables_from"], "variables_from"));
    if (env.variables_from.find('.') == std::string::npos) {
      return ErrorAt(path, value["variables_from"],
                     "variables_from must be TABLE.COLUMN, e.g. environmentVariables.name");
    }
  }
  config->environments.push_back(std::move(env));
  return Status::Ok();
}

Status ParseTable(const std::string& path, const YAML::Node& key, const YAML::Node& value,
                  Config* config) {
  TableSettings t;
  t.pattern = key.Scalar();
  t.line = key.Mark().line + 1;
  t.column = key.Mark().column + 1;
  if (!value.IsMap()) {
    return ErrorAt(
        path, value,
        "settings of table '" + t.pattern + "' must be a mapping such as { rule: merge }");
  }
  CFGIT_RETURN_IF_ERROR(
      CheckKeys(path, value, "table '" + t.pattern + "'", {"rule", "key", "ignore", "json"}));
  if (value["rule"]) {
    CFGIT_ASSIGN_OR_RETURN(t.rule, ParseRule(path, value["rule"]));
  }
  if (value["key"]) {
    CFGIT_ASSIGN_OR_RETURN(t.key, ListAt(path, value["key"], "key"));
  }
  if (value["ignore"]) {
    CFGIT_ASSIGN_OR_RETURN(t.ignore, ListAt(path, value["ignore"], "ignore"));
  }
  if (value["json"]) {
    CFGIT_ASSIGN_OR_RETURN(t.json, ListAt(path, value["json"], "json"));
  }
  config->tables.push_back(std::move(t));
  return Status::Ok();
}

Status ParseConfig(const std::string& path, const YAML::Node& doc, Config* config) {
  if (doc.IsNull()) return Status::Ok();
  if (!doc.IsMap()) return ErrorAt(path, doc, "cfgit.yaml must be a mapping");
  CFGIT_RETURN_IF_ERROR(
      CheckKeys(path, doc, "cfgit.yaml", {"environments", "tables", "author", "backups"}));
  if (const YAML::Node backups = doc["backups"]; backups && !backups.IsNull()) {
    if (!backups.IsMap()) return ErrorAt(path, backups, "backups must be a mapping {keep: N}");
    CFGIT_RETURN_IF_ERROR(CheckKeys(path, backups, "backups", {"keep"}));
    if (backups["keep"]) {
      CFGIT_ASSIGN_OR_RETURN(std::string keep, ScalarAt(path, backups["keep"], "keep"));
      char* end = nullptr;
      long n = std::strtol(keep.c_str(), &end, 10);
      if (keep.empty() || *end != '\0' || n < 1 || n > 100000) {
        return ErrorAt(path, backups["keep"],
                       "backups.keep must be a whole number of backups to keep per "
                       "environment, at least 1");
      }
      config->backups_keep = static_cast<int>(n);
    }
  }
  if (const YAML::Node envs = doc["environments"]; envs && !envs.IsNull()) {
    if (!envs.IsMap())
      return ErrorAt(path, envs, "environments must be a mapping NAME: {url: ...}");
    for (const auto& kv : envs)
      CFGIT_RETURN_IF_ERROR(ParseEnvironment(path, kv.first, kv.second, config));
  }
  if (const YAML::Node tables = doc["tables"]; tables && !tables.IsNull()) {
    if (!tables.IsMap())
      return ErrorAt(path, tables, "tables must be a mapping TABLE: {rule: ...}");
    for (const auto& kv : tables)
      CFGIT_RETURN_IF_ERROR(ParseTable(path, kv.first, kv.second, config));
  }
  if (const YAML::Node author = doc["author"]; author && !author.IsNull()) {
    if (!author.IsMap())
      return ErrorAt(path, author, "author must be a mapping {name: ..., email: ...}");
    CFGIT_RETURN_IF_ERROR(CheckKeys(path, author, "author", {"name", "email"}));
    if (author["name"]) {
      CFGIT_ASSIGN_OR_RETURN(config->author_name, ScalarAt(path, author["name"], "name"));
    }
    if (author["email"]) {
      CFGIT_ASSIGN_OR_RETURN(config->author_email, ScalarAt(path, author["email"], "email"));
    }
  }
  return Status::Ok();
}

Result<std::string> ReadFile(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    return Status::Invalid(path + " is missing or not a regular file; restore it (docs/config.md)");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::Invalid("cannot read " + path + "; check that it exists and is readable");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Result<Config> ParseText(const std::string& path, const std::string& text) {
  Config config;
  config.path = path;
  try {
    YAML::Node doc = YAML::Load(text);
    CFGIT_RETURN_IF_ERROR(ParseConfig(path, doc, &config));
  } catch (const YAML::Exception& e) {
    return Status::Invalid(Where(path, e.mark) + ": " + e.msg);
  }
  return config;
}

std::vector<std::string> SplitLines(const std::string& text) {
  std::vector<std::string> lines;
  std::string cur;
  for (char c : text) {
    if (c == '\n') {
      lines.push_back(cur);
      cur.clear();
    } else {
      cur.push_back(c);
    }
  }
  if (!cur.empty()) lines.push_back(cur);
  return lines;
}

std::string JoinLines(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

bool IsContentLine(const std::string& line) {
  size_t i = line.find_first_not_of(" \t");
  return i != std::string::npos && line[i] != '#';
}

size_t Indent(const std::string& line) {
  size_t i = line.find_first_not_of(' ');
  return i == std::string::npos ? line.size() : i;
}

// The lines [start, end) of environment `name`'s entry under `envs` (a block mapping), and
// the column its name starts at. The entry must exist.
struct EntryLines {
  size_t start = 0, end = 0, indent = 0;
};
EntryLines FindEntryLines(const std::vector<std::string>& lines, const YAML::Node& envs,
                          const std::string& name) {
  EntryLines out;
  for (const auto& kv : envs) {
    if (kv.first.Scalar() != name) continue;
    out.indent = static_cast<size_t>(kv.first.Mark().column);
    out.start = static_cast<size_t>(kv.first.Mark().line);
    out.end = out.start + 1;  // one past the entry's last line
    for (size_t i = out.start + 1; i < lines.size(); ++i) {
      if (!IsContentLine(lines[i])) continue;
      if (Indent(lines[i]) <= out.indent) break;
      out.end = i + 1;
    }
    break;
  }
  return out;
}

std::string QuoteForYaml(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out + "\"";
}

// One line of `environments:` for `env add`.
std::string EnvironmentEntry(const EnvironmentConfig& env) {
  return env.name + ": { url: " + QuoteForYaml(env.url) +
         (env.is_protected ? ", protected: true" : "") + " }";
}

}  // namespace

const EnvironmentConfig* Config::FindEnvironment(const std::string& name) const {
  for (const auto& e : environments) {
    if (e.name == name) return &e;
  }
  return nullptr;
}

ResolvedTable Config::ForTable(const std::string& table) const {
  ResolvedTable out;
  int best_rule = -1, best_key = -1, best_ignore = -1, best_json = -1;
  for (const TableSettings& t : tables) {
    int specificity;
    if (t.pattern == table) {
      specificity = INT_MAX;
    } else if (fnmatch(t.pattern.c_str(), table.c_str(), 0) == 0) {
      specificity = 0;
      for (char c : t.pattern) specificity += (c != '*' && c != '?' && c != '[' && c != ']');
    } else {
      continue;
    }
    std::string where = path + ":" + std::to_string(t.line) + ":" + std::to_string(t.column);
    auto take = [&](const auto& field, int* best, ColumnSetting* into) {
      if (field && specificity >= *best) {
        *best = specificity;
        *into = {*field, specificity == INT_MAX, where};
      }
    };
    if (t.rule && specificity >= best_rule) {
      best_rule = specificity;
      out.rule = *t.rule;
    }
    take(t.key, &best_key, &out.key);
    take(t.ignore, &best_ignore, &out.ignore);
    take(t.json, &best_json, &out.json);
  }
  return out;
}

Result<Config> LoadConfig(const std::string& path) {
  CFGIT_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  return ParseText(path, text);
}

std::string DefaultConfigText() {
  return R"(# cfgit.yaml: the environments this workspace tracks and how their tables are versioned.
# Reference: docs/config.md. cfgit keeps its store in .cfgit/ next to this file.

# Each environment is a database tracked by a branch of the same name.
#   cfgit env add dev sqlite:dev.db
#   cfgit env add production 'postgresql://cfg@db.internal/app?password=${PROD_DB_PASSWORD}' --protected
# Protected environments (staging, production) are only written by apply/promote/rollback/restore.
environments:

# Per-table settings: a table name or a glob; for each setting the most specific match wins.
#   rule:   merge (default) | overwrite | insert-only | schema-only | skip
#   key:    columns that identify a row in every environment (default: the primary key)
#   ignore: columns never versioned or overwritten (runtime counters, timestamps)
#   json:   text columns holding JSON, diffed and merged key by key
tables:
  "*": { rule: merge }
#  logs:           { rule: skip }
#  users:          { rule: schema-only }
#  uiSchemas:      { json: [schema] }
#  rolesResources: { key: [roleName, name] }
#  workflows:      { ignore: [executed, allExecuted] }

# Author of the commits cfgit makes (default: git's user.name/user.email).
# author: { name: "Release Bot", email: "release@example.com" }
)";
}

Status CheckEnvironmentName(const std::string& name) {
  bool ok = !name.empty() && name.size() <= 100 && name[0] != '-' && name[0] != '.' &&
            name.find("..") == std::string::npos && name.back() != '.';
  for (char c : name) {
    ok = ok && ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                c == '-' || c == '_' || c == '.');
  }
  if (name.size() >= 5 && name.compare(name.size() - 5, 5, ".lock") == 0) ok = false;
  // Git's own names for special refs would make the store ambiguous for stock git.
  if (name == "HEAD" || (name.size() > 5 && name.compare(name.size() - 5, 5, "_HEAD") == 0)) {
    return Status::Usage("'" + name + "' is reserved by Git; choose another name");
  }
  if (ok) return Status::Ok();
  return Status::Usage("'" + name +
                       "' is not a valid environment name: use letters, digits, '-', "
                       "'_' and '.', not starting with '-' or '.'");
}

Status CheckUrl(const std::string& url) {
  if (url.rfind("sqlite:", 0) == 0) {
    if (url.size() > 7) return Status::Ok();
    return Status::Usage("malformed URL '" + url + "': sqlite: needs a file, e.g. sqlite:dev.db");
  }
  for (const char* scheme : {"postgresql://", "postgres://"}) {
    size_t n = std::strlen(scheme);
    if (url.rfind(scheme, 0) == 0) {
      if (url.size() > n) return Status::Ok();
      return Status::Usage("malformed URL '" + RedactUrl(url) +
                           "': expected postgresql://USER@HOST[:PORT]/DB");
    }
  }
  if (url.find('=') != std::string::npos && url.find("://") == std::string::npos) {
    return Status::Ok();  // libpq keyword form: host=... dbname=...
  }
  return Status::Usage("malformed URL '" + RedactUrl(url) +
                       "': expected sqlite:PATH, postgresql://USER@HOST[:PORT]/DB or "
                       "'host=... dbname=...'");
}

Status AddEnvironment(const std::string& path, const EnvironmentConfig& env) {
  CFGIT_RETURN_IF_ERROR(CheckEnvironmentName(env.name));
  CFGIT_RETURN_IF_ERROR(CheckUrl(env.url));
  CFGIT_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  CFGIT_ASSIGN_OR_RETURN(Config config, ParseText(path, text));
  const EnvironmentConfig* existing = config.FindEnvironment(env.name);
  if (existing && !existing->url.empty()) {
    return Status::Usage("environment '" + env.name + "' already exists in " + path +
                         "; remove it first with: cfgit env remove " + env.name);
  }
  std::vector<std::string> lines = SplitLines(text);
  const YAML::Node doc = YAML::Load(text);
  if (existing) {  // listed without a url (cfgit clone): give it one, in place
    if (doc["environments"].Style() == YAML::EmitterStyle::Flow) {
      return Status::Invalid(path +
                             ": 'environments' is written as a {...} flow mapping; set the "
                             "url of '" +
                             env.name + "' by hand");
    }
    EnvironmentConfig merged = *existing;
    merged.url = env.url;
    merged.is_protected = existing->is_protected || env.is_protected;
    EntryLines at = FindEntryLines(lines, doc["environments"], env.name);
    bool simple = existing->variables.empty() && existing->variables_from.empty();
    if (!simple) {
      return Status::Usage("environment '" + env.name + "' has settings besides its url; add " +
                           "url: to its entry in " + path + " by hand");
    }
    lines.erase(lines.begin() + static_cast<long>(at.start),
                lines.begin() + static_cast<long>(at.end));
    lines.insert(lines.begin() + static_cast<long>(at.start),
                 std::string(at.indent, ' ') + EnvironmentEntry(merged));
    std::string updated = JoinLines(lines);
    CFGIT_RETURN_IF_ERROR(ParseText(path, updated).status());
    return WriteFileAtomically(path, updated);
  }
  std::string entry = EnvironmentEntry(env);
  const bool has_key = doc.IsMap() && doc["environments"];
  YAML::Node envs;
  if (has_key) envs = doc["environments"];
  if (!has_key) {
    lines.push_back("environments:");
    lines.push_back("  " + entry);
  } else if (envs.IsNull()) {
    // "environments:" with no entries: insert the first one right below the key (a top-level
    // key starts its line).
    size_t at = lines.size();
    for (size_t i = 0; i < lines.size(); ++i) {
      if (lines[i].rfind("environments", 0) == 0) at = i;
    }
    if (at == lines.size()) return Status::Invalid(path + ": cannot find the environments: line");
    size_t colon = lines[at].find(':');
    std::string rest = colon == std::string::npos ? "" : lines[at].substr(colon + 1);
    size_t first = rest.find_first_not_of(" \t");
    if (first != std::string::npos && rest[first] != '#') {
      lines[at] = "environments:";  // an explicit null such as "environments: ~"
    }
    lines.insert(lines.begin() + static_cast<long>(at) + 1, "  " + entry);
  } else if (envs.Style() == YAML::EmitterStyle::Flow) {
    return Status::Invalid(path +
                           ": 'environments' is written as a {...} flow mapping; rewrite "
                           "it one environment per line, then run cfgit env add again");
  } else {
    auto first = envs.begin();
    size_t indent = static_cast<size_t>(first->first.Mark().column);
    size_t start = static_cast<size_t>(first->first.Mark().line);
    size_t last = start;
    for (size_t i = start + 1; i < lines.size(); ++i) {
      if (!IsContentLine(lines[i])) continue;
      if (Indent(lines[i]) < indent) break;
      last = i;
    }
    lines.insert(lines.begin() + static_cast<long>(last) + 1, std::string(indent, ' ') + entry);
  }
  std::string updated = JoinLines(lines);
  CFGIT_RETURN_IF_ERROR(ParseText(path, updated).status());
  return WriteFileAtomically(path, updated);
}

Status RemoveEnvironment(const std::string& path, const std::string& name) {
  CFGIT_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  CFGIT_ASSIGN_OR_RETURN(Config config, ParseText(path, text));
  if (!config.FindEnvironment(name)) {
    return Status::Usage("there is no environment '" + name + "' in " + path +
                         "; cfgit env list shows the environments");
  }
  YAML::Node envs = YAML::Load(text)["environments"];
  if (envs.Style() == YAML::EmitterStyle::Flow) {
    return Status::Invalid(path + ": 'environments' is written as a {...} flow mapping; remove '" +
                           name + "' by hand");
  }
  std::vector<std::string> lines = SplitLines(text);
  EntryLines entry = FindEntryLines(lines, envs, name);
  lines.erase(lines.begin() + static_cast<long>(entry.start),
              lines.begin() + static_cast<long>(entry.end));
  std::string updated = JoinLines(lines);
  CFGIT_RETURN_IF_ERROR(ParseText(path, updated).status());
  return WriteFileAtomically(path, updated);
}

std::string ClonedConfigText(const std::vector<std::string>& environments) {
  std::string text = DefaultConfigText();
  const std::string key = "\nenvironments:\n";
  std::string entries =
      "  # Cloned: one environment per branch of the store, without a database yet. Give each\n"
      "  # the URL of its database: cfgit env add NAME URL (--protected for staging and\n"
      "  # production); remove the ones you do not run here with: cfgit env remove NAME\n";
  for (const std::string& name : environments) entries += "  " + name + ": {}\n";
  size_t at = text.find(key);
  if (at == std::string::npos) return text + "environments:\n" + entries;
  return text.insert(at + key.size(), entries);
}

Status ApplyTableSettings(const ResolvedTable& settings, TableSchema* schema) {
  // The columns of `setting` that the table has; a missing one is an error when an exact-name
  // entry named it, and is passed over when it came from a glob.
  auto check = [&](const ColumnSetting& setting, const char* what,
                   std::vector<std::string>* out) -> Status {
    out->clear();
    for (const std::string& c : setting.columns) {
      if (schema->FindColumn(c)) {
        out->push_back(c);
      } else if (setting.strict) {
        return Status::Invalid(setting.source + ": table '" + schema->name + "' has no column '" +
                               c + "' (named under " + what + "); fix the setting in cfgit.yaml");
      }
    }
    return Status::Ok();
  };
  std::vector<std::string> key, json;
  CFGIT_RETURN_IF_ERROR(check(settings.key, "key:", &key));
  CFGIT_RETURN_IF_ERROR(check(settings.ignore, "ignore:", &schema->ignore));
  CFGIT_RETURN_IF_ERROR(check(settings.json, "json:", &json));
  // A glob's key that this table has only in part does not identify its rows: keep the primary key.
  if (key.size() != settings.key.columns.size()) key.clear();
  schema->key = key.empty() ? schema->primary_key : key;
  for (const std::string& k : schema->key) {
    for (const std::string& i : schema->ignore) {
      if (k == i) {
        return Status::Invalid(settings.ignore.source + ": column '" + k + "' of table '" +
                               schema->name + "' identifies rows, so it cannot be under ignore:");
      }
    }
  }
  schema->rows_versioned = settings.rule != Rule::kSchemaOnly;
  return Status::Ok();
}

Result<std::string> ExpandVariables(const std::string& url) {
  if (url.empty()) {
    return Status::Invalid(
        "the environment has no url: set it in cfgit.yaml, or with cfgit env add NAME URL (a "
        "workspace made by cfgit clone lists its environments without databases)");
  }
  std::string out, missing;
  for (size_t i = 0; i < url.size(); ++i) {
    if (url[i] == '$' && i + 1 < url.size() && url[i + 1] == '{') {
      size_t close = url.find('}', i);
      if (close != std::string::npos) {
        std::string name = url.substr(i + 2, close - i - 2);
        const char* value = std::getenv(name.c_str());
        if (value) {
          out += value;
        } else {
          missing += (missing.empty() ? "" : ", ") + name;
        }
        i = close;
        continue;
      }
    }
    out.push_back(url[i]);
  }
  if (!missing.empty()) {
    return Status::NeedsAttention("environment variable(s) " + missing + " used in '" +
                                  RedactUrl(url) + "' are not set; export them and try again");
  }
  return out;
}

std::string RedactUrl(const std::string& url) {
  std::string out = url;
  size_t scheme = out.find("://");
  if (scheme != std::string::npos) {
    size_t at = out.find('@', scheme + 3);
    size_t slash = out.find('/', scheme + 3);
    if (at != std::string::npos && (slash == std::string::npos || at < slash)) {
      size_t colon = out.find(':', scheme + 3);
      if (colon != std::string::npos && colon < at) out.replace(colon + 1, at - colon - 1, "***");
    }
  }
  for (size_t pos = out.find("password="); pos != std::string::npos;
       pos = out.find("password=", pos + 1)) {
    size_t start = pos + 9;
    size_t end = out.find_first_of("& ", start);
    if (start < out.size() && out[start] == '\'') {  // libpq quoting: 'a b\'c'
      end = start + 1;
      while (end < out.size() && out[end] != '\'') end += out[end] == '\\' ? 2 : 1;
      end = std::min(end + 1, out.size());
    }
    out.replace(start, (end == std::string::npos ? out.size() : end) - start, "***");
  }
  return out;
}

}  // namespace cfgit
