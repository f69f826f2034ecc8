// cfgit.yaml: the workspace's environments and per-table rules (reference: docs/config.md).
//
// LoadConfig parses with yaml-cpp and validates everything that can be checked without a
// database; every error is Code::kInvalid and names the file, line and column. The column
// settings (key/ignore/json) are checked against a table's real schema by CheckTableSettings.
// The file is edited by `env add/remove` as text, so the user's comments and layout survive.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "store/schema.h"
#include "store/status.h"

namespace cfgit {

enum class Rule { kMerge, kOverwrite, kInsertOnly, kSchemaOnly, kSkip };
const char* RuleName(Rule rule);

struct EnvironmentConfig {
  std::string name;
  std::string url;  // as written, ${VAR} unexpanded; "" when cfgit.yaml gives none (yet)
  bool is_protected = false;
  std::string variables_from;          // "table.column" listing the {{$env.NAME}} it defines
  std::vector<std::string> variables;  // names it defines
};

struct TableSettings {
  std::string pattern;  // a table name or a glob
  std::optional<Rule> rule;
  std::optional<std::vector<std::string>> key, ignore, json;
  int line = 0, column = 0;  // where the entry is, for messages
};

// A column list from cfgit.yaml (key/ignore/json) and where it was set.
struct ColumnSetting {
  std::vector<std::string> columns;
  bool strict = false;  // set by an exact-name entry: every column must exist in the table
  std::string source;   // "cfgit.yaml:12:3" of the entry that set it, for messages
};

// The settings in force for one table: for each field, the most specific entry that sets it.
struct ResolvedTable {
  Rule rule = Rule::kMerge;
  ColumnSetting key, ignore, json;
};

struct Config {
  std::string path;
  std::vector<EnvironmentConfig> environments;
  std::vector<TableSettings> tables;
  std::optional<std::string> author_name, author_email;
  int backups_keep = 20;  // backups kept per environment (older ones are pruned after a write)

  const EnvironmentConfig* FindEnvironment(const std::string& name) const;
  ResolvedTable ForTable(const std::string& table) const;
};

Result<Config> LoadConfig(const std::string& path);
// The commented cfgit.yaml that `cfgit init` writes.
std::string DefaultConfigText();
// The same for `cfgit clone`, listing these environments without a url (`NAME: {}`).
std::string ClonedConfigText(const std::vector<std::string>& environments);
// Validates an environment name and URL (as `env add` and LoadConfig do).
Status CheckEnvironmentName(const std::string& name);
Status CheckUrl(const std::string& url);
// Adds/removes one environment, keeping the rest of the file as it was. Adding an environment
// that is listed without a url (cfgit clone) gives it the url, in place.
Status AddEnvironment(const std::string& path, const EnvironmentConfig& env);
Status RemoveEnvironment(const std::string& path, const std::string& name);
// Fills schema.key/ignore/rows_versioned from the settings, after checking that every column
// they name exists (kInvalid naming table, column and where the setting is).
Status ApplyTableSettings(const ResolvedTable& settings, TableSchema* schema);
// Expands ${VAR} from the process environment; a missing variable is kNeedsAttention, an empty
// url (an environment without a database yet) kInvalid.
Result<std::string> ExpandVariables(const std::string& url);
// The URL with any password replaced by "***", for messages and logs.
std::string RedactUrl(const std::string& url);

}  // namespace cfgit
