// cfgit.yaml: parsing, validation messages with positions, per-table resolution, and editing.
#include "store/config.h"

#include <catch2/catch.hpp>

#include "tests/support/support.h"

using cfgit::Code;
using cfgit::LoadConfig;
using cfgit::Rule;
using cfgit::test::ReadFile;
using cfgit::test::TempDir;
using cfgit::test::WriteFile;

namespace {
cfgit::Status LoadStatus(const TempDir& dir, const std::string& text) {
  WriteFile(dir / "cfgit.yaml", text);
  return LoadConfig(dir / "cfgit.yaml").status();
}
}  // namespace

TEST_CASE("a full cfgit.yaml parses", "[config]") {
  TempDir dir;
  WriteFile(dir / "cfgit.yaml", R"(
environments:
  dev-alice:  { url: "sqlite:dev-alice.db" }
  staging:    { url: "sqlite:staging.db", protected: true }
  production: { url: "postgresql://cfg@db/app?password=${PROD_DB_PASSWORD}", protected: true,
                variables_from: environmentVariables.name }
  other:      { url: "host=localhost dbname=app", variables: [API_URL, TOKEN] }
tables:
  "*":             { rule: merge }
  logs:            { rule: skip }
  users:           { rule: schema-only }
  uiSchemas:       { json: [schema] }
  rolesResources:  { key: [roleName, name] }
  workflows:       { ignore: [executed, allExecuted] }
author: { name: Bot, email: bot@example.com }
)");
  auto config = LoadConfig(dir / "cfgit.yaml");
  REQUIRE(config.ok());
  REQUIRE(config->environments.size() == 4);
  CHECK(config->FindEnvironment("staging")->is_protected);
  CHECK_FALSE(config->FindEnvironment("dev-alice")->is_protected);
  CHECK(config->FindEnvironment("production")->variables_from == "environmentVariables.name");
  CHECK(config->FindEnvironment("other")->variables ==
        std::vector<std::string>{"API_URL", "TOKEN"});
  CHECK(config->FindEnvironment("nope") == nullptr);
  CHECK(config->ForTable("logs").rule == Rule::kSkip);
  CHECK(config->ForTable("users").rule == Rule::kSchemaOnly);
  CHECK(config->ForTable("anything").rule == Rule::kMerge);
  CHECK(config->ForTable("rolesResources").key.columns ==
        std::vector<std::string>{"roleName", "name"});
  CHECK(config->author_email == "bot@example.com");
}

TEST_CASE("invalid cfgit.yaml errors name file, line and column", "[config]") {
  TempDir dir;
  struct Case {
    const char* name;
    const char* text;
    const char* where;
    const char* says;
  };
  const Case cases[] = {
      {"unknown top-level key", "environment:\n  dev: {url: 'sqlite:a.db'}\n",
       ":1:1:", "unknown key 'environment'"},
      {"unknown environment key", "environments:\n  dev: {url: 'sqlite:a.db', protect: true}\n",
       ":2:29:", "unknown key 'protect'"},
      {"bad rule", "tables:\n  logs: {rule: skipp}\n", ":2:16:", "unknown rule 'skipp'"},
      {"malformed URL", "environments:\n  dev: {url: 'mysql:a'}\n", ":2:14:", "malformed URL"},
      {"empty sqlite path", "environments:\n  dev: {url: 'sqlite:'}\n", ":2:14:", "malformed URL"},
      {"bad environment name", "environments:\n  'dev alice': {url: 'sqlite:a.db'}\n",
       ":2:3:", "not a valid environment name"},
      {"protected not a bool", "environments:\n  dev: {url: 'sqlite:a', protected: maybe}\n",
       ":2:37:", "true or false"},
      {"unknown table key", "tables:\n  t: {keys: [a]}\n", ":2:7:", "unknown key 'keys'"},
      {"bad variables_from", "environments:\n  p: {url: 'sqlite:a', variables_from: env}\n",
       ":2:40:", "TABLE.COLUMN"},
      {"YAML syntax error", "environments:\n  dev: {url: 'sqlite:a.db'\n", ":", "cfgit.yaml"},
      {"not a mapping", "- a\n- b\n", ":1:1:", "must be a mapping"},
  };
  for (const Case& c : cases) {
    INFO(c.name);
    cfgit::Status s = LoadStatus(dir, c.text);
    CHECK(s.code() == Code::kInvalid);
    CHECK_THAT(s.message(), Catch::Contains("cfgit.yaml" + std::string(c.where)));
    CHECK_THAT(s.message(), Catch::Contains(c.says));
  }
}

TEST_CASE("an environment without a url loads - using its database is refused", "[config]") {
  TempDir dir;
  WriteFile(dir / "cfgit.yaml", "environments:\n  dev: {}\n  staging: { protected: true }\n");
  auto config = LoadConfig(dir / "cfgit.yaml");
  REQUIRE(config.ok());
  REQUIRE(config->environments.size() == 2);
  CHECK(config->environments[0].url.empty());
  CHECK(config->environments[1].is_protected);
  auto url = cfgit::ExpandVariables(config->environments[0].url);
  CHECK(url.status().code() == Code::kInvalid);
  CHECK_THAT(url.status().message(), Catch::Contains("has no url: set it in cfgit.yaml"));
  CHECK(LoadStatus(dir, "environments:\n  dev: {url: ''}\n").code() == Code::kInvalid);
}

TEST_CASE("cfgit clone's cfgit.yaml lists environments - env add gives one its url in place",
          "[config]") {
  TempDir dir;
  const std::string path = dir / "cfgit.yaml";
  WriteFile(path, cfgit::ClonedConfigText({"dev", "staging"}));
  auto config = LoadConfig(path);
  REQUIRE(config.ok());
  REQUIRE(config->environments.size() == 2);
  CHECK(config->environments[1].name == "staging");
  REQUIRE(
      cfgit::AddEnvironment(path, {.name = "staging", .url = "sqlite:s.db", .is_protected = true})
          .ok());
  std::string text = ReadFile(path);
  CHECK_THAT(text, Catch::Contains("\n  dev: {}\n  staging: { url: \"sqlite:s.db\", protected: "
                                   "true }\n"));
  CHECK_THAT(text, Catch::Contains("# Per-table settings"));  // the rest as it was
  CHECK(cfgit::AddEnvironment(path, {.name = "staging", .url = "sqlite:t.db"}).code() ==
        Code::kUsage);
  REQUIRE(cfgit::AddEnvironment(path, {.name = "dev", .url = "sqlite:d.db"}).ok());
  config = LoadConfig(path);
  REQUIRE(config.ok());
  CHECK(config->environments[0].url == "sqlite:d.db");
  CHECK_FALSE(config->environments[0].is_protected);
  CHECK(config->environments[1].url == "sqlite:s.db");
}

TEST_CASE("a missing cfgit.yaml is an invalid-config error naming the file", "[config]") {
  TempDir dir;
  auto config = LoadConfig(dir / "cfgit.yaml");
  CHECK(config.status().code() == Code::kInvalid);
  CHECK_THAT(config.status().message(), Catch::Contains(dir / "cfgit.yaml"));
}

TEST_CASE("for each setting the most specific table entry wins", "[config]") {
  TempDir dir;
  WriteFile(dir / "cfgit.yaml", R"(
tables:
  "*":        { rule: overwrite, ignore: [updatedAt] }
  "ui*":      { rule: insert-only }
  "uiSch*":   { json: [schema] }
  uiSchemas:  { key: [x-uid] }
  "*s":       { rule: skip }
)");
  auto config = LoadConfig(dir / "cfgit.yaml");
  REQUIRE(config.ok());
  auto ui = config->ForTable("uiSchemas");
  CHECK(ui.rule == Rule::kInsertOnly);  // "ui*" has 2 literal characters, "*s" only 1
  CHECK(ui.json.columns == std::vector<std::string>{"schema"});
  CHECK_FALSE(ui.json.strict);
  CHECK(ui.key.columns == std::vector<std::string>{"x-uid"});
  CHECK(ui.key.strict);
  CHECK(ui.ignore.columns == std::vector<std::string>{"updatedAt"});
  CHECK_FALSE(ui.ignore.strict);  // from "*": applies only where the column exists
  CHECK(config->ForTable("roles").rule == Rule::kSkip);
  CHECK(config->ForTable("role").rule == Rule::kOverwrite);
}

TEST_CASE("column settings are checked against the real table", "[config]") {
  cfgit::TableSchema s;
  s.name = "rolesResources";
  s.columns = {{"id", "INTEGER"}, {"roleName", "TEXT"}, {"name", "TEXT"}, {"n", "INTEGER"}};
  s.primary_key = {"id"};

  cfgit::ResolvedTable exact{.key = {{"roleName", "name"}, true, "cfgit.yaml:3:3"},
                             .ignore = {{"n"}, true, "cfgit.yaml:3:3"}};
  REQUIRE(cfgit::ApplyTableSettings(exact, &s).ok());
  CHECK(s.key == std::vector<std::string>{"roleName", "name"});
  CHECK(s.ignore == std::vector<std::string>{"n"});

  cfgit::ResolvedTable missing{.ignore = {{"nope"}, true, "cfgit.yaml:3:3"}};
  cfgit::Status st = cfgit::ApplyTableSettings(missing, &s);
  CHECK(st.code() == Code::kInvalid);
  CHECK_THAT(st.message(), Catch::Contains("'rolesResources' has no column 'nope'"));
  CHECK_THAT(st.message(), Catch::Contains("cfgit.yaml:3:3"));

  cfgit::ResolvedTable glob{.key = {{"uid"}, false, "cfgit.yaml:2:3"},
                            .ignore = {{"nope", "n"}, false, "cfgit.yaml:2:3"}};
  REQUIRE(cfgit::ApplyTableSettings(glob, &s).ok());
  CHECK(s.key == std::vector<std::string>{"id"});  // the glob's key does not fit: primary key
  CHECK(s.ignore == std::vector<std::string>{"n"});

  cfgit::ResolvedTable key_ignored{.key = {{"name"}, true, "a"}, .ignore = {{"name"}, true, "b"}};

  // A glob's ignore: for a column this table lacks does not get in the way of its exact entry.
  cfgit::ResolvedTable mixed{.key = {{"name"}, true, "cfgit.yaml:4:3"},
                             .ignore = {{"updatedAt"}, false, "cfgit.yaml:2:3"}};
  REQUIRE(cfgit::ApplyTableSettings(mixed, &s).ok());
  CHECK(s.key == std::vector<std::string>{"name"});
  CHECK(s.ignore.empty());
  CHECK(cfgit::ApplyTableSettings(key_ignored, &s).code() == Code::kInvalid);

  cfgit::ResolvedTable schema_only{.rule = Rule::kSchemaOnly};
  REQUIRE(cfgit::ApplyTableSettings(schema_only, &s).ok());
  CHECK_FALSE(s.rows_versioned);
}

TEST_CASE("env add and remove edit cfgit.yaml keeping comments", "[config]") {
  TempDir dir;
  std::string path = dir / "cfgit.yaml";
  WriteFile(path, cfgit::DefaultConfigText());
  REQUIRE(cfgit::AddEnvironment(path, {.name = "dev", .url = "sqlite:dev.db"}).ok());
  REQUIRE(cfgit::AddEnvironment(
              path, {.name = "staging", .url = "sqlite:st \"q\".db", .is_protected = true})
              .ok());
  auto config = LoadConfig(path);
  REQUIRE(config.ok());
  REQUIRE(config->environments.size() == 2);
  CHECK(config->environments[1].url == "sqlite:st \"q\".db");
  CHECK(config->environments[1].is_protected);
  std::string text = ReadFile(path);
  CHECK_THAT(text, Catch::Contains("# Per-table settings"));
  CHECK_THAT(text, Catch::Contains("\"*\": { rule: merge }"));

  CHECK(cfgit::AddEnvironment(path, {.name = "dev", .url = "sqlite:x.db"}).code() == Code::kUsage);
  CHECK(cfgit::AddEnvironment(path, {.name = "bad name", .url = "sqlite:x.db"}).code() ==
        Code::kUsage);
  CHECK(cfgit::AddEnvironment(path, {.name = "x", .url = "ftp://x"}).code() == Code::kUsage);

  REQUIRE(cfgit::RemoveEnvironment(path, "dev").ok());
  config = LoadConfig(path);
  REQUIRE(config.ok());
  REQUIRE(config->environments.size() == 1);
  CHECK(config->environments[0].name == "staging");
  CHECK(cfgit::RemoveEnvironment(path, "dev").code() == Code::kUsage);
  CHECK_THAT(ReadFile(path), Catch::Contains("# Per-table settings"));
}

TEST_CASE("env add and remove handle multi-line entries and hand-written files", "[config]") {
  TempDir dir;
  std::string path = dir / "cfgit.yaml";
  WriteFile(path,
            "# mine\nenvironments:\n    a:\n      url: sqlite:a.db\n      protected: true\n"
            "    # keep me\n    b: { url: 'sqlite:b.db' }\ntables: {}\n");
  REQUIRE(cfgit::AddEnvironment(path, {.name = "c", .url = "sqlite:c.db"}).ok());
  REQUIRE(cfgit::RemoveEnvironment(path, "a").ok());
  auto config = LoadConfig(path);
  REQUIRE(config.ok());
  REQUIRE(config->environments.size() == 2);
  CHECK(config->environments[0].name == "b");
  CHECK(config->environments[1].name == "c");
  CHECK_THAT(ReadFile(path), Catch::Contains("# keep me"));
  CHECK_THAT(ReadFile(path), Catch::Contains("# mine"));
}

TEST_CASE("URL variables expand from the environment and passwords are redacted", "[config]") {
  setenv("CFGIT_TEST_PW", "s3cret", 1);
  auto url = cfgit::ExpandVariables("postgresql://u:${CFGIT_TEST_PW}@h/db");
  REQUIRE(url.ok());
  CHECK(url.value() == "postgresql://u:s3cret@h/db");
  CHECK(cfgit::RedactUrl(url.value()) == "postgresql://u:***@h/db");
  CHECK(cfgit::RedactUrl("postgresql://u@h/db?password=s3cret&x=1") ==
        "postgresql://u@h/db?password=***&x=1");
  CHECK(cfgit::RedactUrl("host=h password=s3cret dbname=d") == "host=h password=*** dbname=d");
  CHECK(cfgit::RedactUrl("host=h password='a b\\'c' dbname=d") == "host=h password=*** dbname=d");
  auto missing = cfgit::ExpandVariables("postgresql://u:${CFGIT_TEST_UNSET_VAR}@h/db");
  CHECK(missing.status().code() == Code::kNeedsAttention);
  CHECK_THAT(missing.status().message(), Catch::Contains("CFGIT_TEST_UNSET_VAR"));
}
