#include "adapters/postgres/connection_string.h"

#include <cctype>

#include "store/config.h"

namespace cfgit::pg {
namespace {

bool StartsWith(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }

bool IsUrlForm(const std::string& url) {
  return StartsWith(url, "postgresql://") || StartsWith(url, "postgres://");
}

std::string PercentDecode(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      out.push_back(static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16)));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

Result<std::vector<std::string>> SplitSchemas(const std::string& list) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    size_t comma = list.find(',', start);
    std::string name =
        list.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (name.empty()) {
      return Status::Invalid("schema='" + list +
                             "' has an empty schema name; write schema=NAME or "
                             "schema=NAME1,NAME2");
    }
    out.push_back(name);
    if (comma == std::string::npos) return out;
    start = comma + 1;
  }
}

// One `keyword = value` entry of a keyword string, as the byte range it covers.
struct Entry {
  size_t begin = 0, end = 0;   // the whole entry
  size_t value_begin = 0;      // where the value starts
  std::string keyword, value;  // value unquoted
};

// Tokenizes a libpq keyword string the way libpq does (conninfo_parse): keyword, optional blanks,
// '=', optional blanks, then a bare value up to a blank or a 'quoted value' with \' and \\.
Result<std::vector<Entry>> Tokenize(const std::string& s) {
  std::vector<Entry> entries;
  size_t i = 0;
  auto blank = [&](size_t k) {
    return k < s.size() && std::isspace(static_cast<unsigned char>(s[k]));
  };
  while (true) {
    while (blank(i)) ++i;
    if (i >= s.size()) return entries;
    Entry e;
    e.begin = i;
    while (i < s.size() && s[i] != '=' && !blank(i)) e.keyword.push_back(s[i++]);
    while (blank(i)) ++i;
    if (i >= s.size() || s[i] != '=') {
      return Status::Invalid("connection string: missing '=' after '" + e.keyword + "'");
    }
    ++i;
    while (blank(i)) ++i;
    e.value_begin = i;
    if (i < s.size() && s[i] == '\'') {
      ++i;
      while (true) {
        if (i >= s.size()) return Status::Invalid("connection string: unterminated quoted value");
        if (s[i] == '\\' && i + 1 < s.size()) {
          e.value.push_back(s[i + 1]);
          i += 2;
        } else if (s[i] == '\'') {
          ++i;
          break;
        } else {
          e.value.push_back(s[i++]);
        }
      }
    } else {
      while (i < s.size() && !blank(i)) {
        if (s[i] == '\\' && i + 1 < s.size()) ++i;
        e.value.push_back(s[i++]);
      }
    }
    e.end = i;
    entries.push_back(std::move(e));
  }
}

Result<ConnectionTarget> ParseUrl(const std::string& url) {
  ConnectionTarget t;
  t.schemas = {"public"};
  size_t q = url.find('?');
  if (q == std::string::npos) {
    t.conninfo = url;
    return t;
  }
  std::string kept;
  size_t start = q + 1;
  while (start <= url.size()) {
    size_t amp = url.find('&', start);
    std::string param =
        url.substr(start, amp == std::string::npos ? std::string::npos : amp - start);
    if (param.rfind("schema=", 0) == 0) {
      CFGIT_ASSIGN_OR_RETURN(t.schemas, SplitSchemas(PercentDecode(param.substr(7))));
    } else if (!param.empty()) {
      kept += (kept.empty() ? "" : "&") + param;
    }
    if (amp == std::string::npos) break;
    start = amp + 1;
  }
  t.conninfo = url.substr(0, q) + (kept.empty() ? "" : "?" + kept);
  return t;
}

Result<ConnectionTarget> ParseKeywords(const std::string& text) {
  CFGIT_ASSIGN_OR_RETURN(std::vector<Entry> entries, Tokenize(text));
  ConnectionTarget t;
  t.schemas = {"public"};
  size_t copied = 0;
  for (const Entry& e : entries) {
    if (e.keyword != "schema") continue;
    CFGIT_ASSIGN_OR_RETURN(t.schemas, SplitSchemas(e.value));
    t.conninfo += text.substr(copied, e.begin - copied);
    copied = e.end;
  }
  t.conninfo += text.substr(copied);
  return t;
}

}  // namespace

Result<ConnectionTarget> ParseConnectionTarget(const std::string& url) {
  return IsUrlForm(url) ? ParseUrl(url) : ParseKeywords(url);
}

std::string RedactConnection(const std::string& url) {
  if (IsUrlForm(url)) return RedactUrl(url);
  Result<std::vector<Entry>> entries = Tokenize(url);
  // Unparseable: libpq will refuse it too; show nothing that might hold a password.
  if (!entries.ok()) return "(a malformed connection string)";
  std::string out;
  size_t copied = 0;
  for (const Entry& e : *entries) {
    if (e.keyword != "password") continue;
    out += url.substr(copied, e.value_begin - copied) + "***";
    copied = e.end;
  }
  return out + url.substr(copied);
}

bool IsPostgresUrl(const std::string& url) {
  return IsUrlForm(url) ||
         (url.find('=') != std::string::npos && url.find("://") == std::string::npos);
}

}  // namespace cfgit::pg
