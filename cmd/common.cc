#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>

#include "cmd/command.h"

namespace cfgit::cmd {

Result<Session> OpenSession(const Globals& globals) {
  Session s;
  CFGIT_ASSIGN_OR_RETURN(s.workspace, FindWorkspace(globals.dir));
  CFGIT_ASSIGN_OR_RETURN(s.config, LoadConfig(s.workspace.config_path));
  CFGIT_ASSIGN_OR_RETURN(s.store, Store::Open(s.workspace.store_path));
  return s;
}

Result<const EnvironmentConfig*> FindEnvironment(const Config& config, const std::string& name) {
  if (const EnvironmentConfig* env = config.FindEnvironment(name)) return env;
  std::string known;
  for (const auto& e : config.environments) known += (known.empty() ? "" : ", ") + e.name;
  return Status::Usage("unknown environment '" + name + "' (" +
                       (known.empty() ? "none are configured" : "known: " + known) +
                       "); add it with: cfgit env add " + name + " URL");
}

void AddFormatOption(CLI::App* sub, std::string* format) {
  sub->add_option("--format", *format, "Output format")
      ->check(CLI::IsMember({"text", "json"}))
      ->default_str("text");
}

std::string JsonString(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
  }
  return out + "\"";
}

std::string JsonValue(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::kNull:
      return "null";
    case Value::Kind::kInteger:
      return std::to_string(v.integer());
    case Value::Kind::kBool:
      return v.boolean() ? "true" : "false";
    case Value::Kind::kReal: {
      if (std::isnan(v.real())) return "\"nan\"";
      if (std::isinf(v.real())) return v.real() > 0 ? "\"inf\"" : "\"-inf\"";
      char buf[40];
      std::snprintf(buf, sizeof buf, "%.17g", v.real());
      return buf;
    }
    case Value::Kind::kText:
      return JsonString(v.bytes());
    case Value::Kind::kBlob: {
      static const char* kDigits = "0123456789abcdef";
      std::string hex;
      for (unsigned char c : v.bytes()) {
        hex.push_back(kDigits[c >> 4]);
        hex.push_back(kDigits[c & 15]);
      }
      return "{\"hex\":\"" + hex + "\"}";
    }
  }
  return "null";
}

std::string KeyValuesText(const Row& key) {
  std::string out;
  for (size_t i = 0; i < key.size(); ++i) {
    const Value& v = key[i];
    std::string text;
    if (v.kind() == Value::Kind::kText && !v.bytes().empty() &&
        v.bytes().find_first_of(",'\"") == std::string::npos) {
      text = v.bytes();
    } else {
      text = EncodeValue(v);
    }
    out += (i ? "," : "") + text;
  }
  return out;
}

bool UseColor(bool no_color) {
  return !no_color && std::getenv("NO_COLOR") == nullptr && ::isatty(STDOUT_FILENO) == 1;
}

std::string IsoTime(int64_t time, int offset_minutes) {
  std::time_t t = static_cast<std::time_t>(time + int64_t{offset_minutes} * 60);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  char tz[16];
  int off = offset_minutes < 0 ? -offset_minutes : offset_minutes;
  std::snprintf(tz, sizeof tz, "%c%02d:%02d", offset_minutes < 0 ? '-' : '+', off / 60, off % 60);
  return std::string(buf) + tz;
}

std::string Subject(const std::string& message) { return message.substr(0, message.find('\n')); }

std::string FormatStatsText(const std::vector<TableChangeStat>& stats) {
  size_t width = 0;
  for (const auto& s : stats) width = std::max(width, s.table.size());
  std::string out;
  for (const auto& s : stats) {
    std::string line = " " + s.table + std::string(width - s.table.size() + 2, ' ');
    if (s.table_added) line += "new table, ";
    if (s.table_removed) line += "table removed, ";
    if (s.schema_changed) line += "schema changed, ";
    line += "+" + std::to_string(s.added) + " -" + std::to_string(s.deleted) + " ~" +
            std::to_string(s.modified);
    out += line + "\n";
  }
  return out;
}

std::string FormatStatsJson(const std::vector<TableChangeStat>& stats) {
  std::string out = "[";
  for (size_t i = 0; i < stats.size(); ++i) {
    const auto& s = stats[i];
    out += std::string(i ? "," : "") + "{\"name\":" + JsonString(s.table) +
           ",\"added\":" + std::to_string(s.added) + ",\"deleted\":" + std::to_string(s.deleted) +
           ",\"modified\":" + std::to_string(s.modified) +
           ",\"schema_changed\":" + (s.schema_changed ? "true" : "false") +
           ",\"table_added\":" + (s.table_added ? "true" : "false") +
           ",\"table_removed\":" + (s.table_removed ? "true" : "false") + "}";
  }
  return out + "]";
}

}  // namespace cfgit::cmd
