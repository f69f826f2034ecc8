// The command table and what every command shares: the global options, opening the workspace,
// and the output helpers. Commands hold no domain logic: they parse, call the modules, print.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "diff/diff.h"
#include "store/store.h"

namespace cfgit::cmd {

struct Globals {
  std::string dir = ".";  // -C DIR
};

// What a subcommand runs once the command line is parsed.
using Action = std::function<Status()>;

// Each command file defines one Register function; main.cc lists them in its command table.
using RegisterFn = void (*)(CLI::App& app, const Globals& globals, Action* action);
void RegisterInit(CLI::App&, const Globals&, Action*);
void RegisterEnv(CLI::App&, const Globals&, Action*);
void RegisterCommit(CLI::App&, const Globals&, Action*);
void RegisterLog(CLI::App&, const Globals&, Action*);
void RegisterShow(CLI::App&, const Globals&, Action*);
void RegisterBranch(CLI::App&, const Globals&, Action*);
void RegisterTag(CLI::App&, const Globals&, Action*);

// An open workspace: its configuration and its store.
struct Session {
  Workspace workspace;
  Config config;
  std::unique_ptr<Store> store;
};
Result<Session> OpenSession(const Globals& globals);

// The environment NAME from cfgit.yaml, or a usage error that lists the known ones.
Result<const EnvironmentConfig*> FindEnvironment(const Config& config, const std::string& name);

// Adds `--format text|json` to a subcommand.
void AddFormatOption(CLI::App* sub, std::string* format);

std::string JsonString(const std::string& s);
std::string IsoTime(int64_t time, int offset_minutes);
std::string Subject(const std::string& message);  // first line
// " users  +3 -1 ~2" lines, and the JSON array of the same.
std::string FormatStatsText(const std::vector<TableChangeStat>& stats);
std::string FormatStatsJson(const std::vector<TableChangeStat>& stats);

}  // namespace cfgit::cmd
