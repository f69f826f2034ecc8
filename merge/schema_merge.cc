// MergeSchemas: columns by name, keys, indexes and foreign keys, three ways.
#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <map>

#include "merge/merge.h"

namespace cfgit {
namespace {

// The integer types by width, as SQLite and PostgreSQL spell them.
int IntegerRank(const std::string& type) {
  static const std::map<std::string, int> kRanks = {
      {"smallint", 1}, {"int2", 1},   {"integer", 2}, {"int", 2},
      {"int4", 2},     {"bigint", 3}, {"int8", 3},
  };
  auto it = kRanks.find(AsciiLower(type));
  return it == kRanks.end() ? 0 : it->second;
}

// "varchar(10)" -> ("varchar", 10); a type without a length -> ("text", -1).
std::pair<std::string, long> Length(const std::string& type) {
  std::string t = AsciiLower(type);
  size_t open = t.find('(');
  if (open == std::string::npos || t.back() != ')') return {t, -1};
  std::string base = t.substr(0, open);
  while (!base.empty() && base.back() == ' ') base.pop_back();
  char* end = nullptr;
  long n = std::strtol(t.c_str() + open + 1, &end, 10);
  if (*end != ')') return {t, -1};
  return {base, n};
}

// Whether every value of type `from` fits `to` unchanged.
bool Widens(const std::string& from, const std::string& to) {
  if (from == to) return true;
  int a = IntegerRank(from), b = IntegerRank(to);
  if (a && b) return a <= b;
  auto [fb, fl] = Length(from);
  auto [tb, tl] = Length(to);
  bool varchar = fb == "varchar" || fb == "character varying";
  bool to_varchar = tb == "varchar" || tb == "character varying";
  if (varchar && to_varchar && fl >= 0) return tl < 0 || fl <= tl;
  if (varchar && (tb == "text")) return true;
  return false;
}

// Both sides changed one column differently: the wider of the two, if both only widened the
// base's type and they agree on everything else.
std::optional<Column> Widest(const Column& base, const Column& a, const Column& b) {
  if (a.not_null != b.not_null || a.default_sql != b.default_sql) return std::nullopt;
  if (!Widens(base.type, a.type) || !Widens(base.type, b.type)) return std::nullopt;
  if (Widens(a.type, b.type)) return b;
  if (Widens(b.type, a.type)) return a;
  return std::nullopt;
}

std::string Describe(const Column& c) {
  std::string out = c.name + (c.type.empty() ? "" : " " + c.type);
  if (c.not_null) out += " NOT NULL";
  if (c.default_sql) out += " DEFAULT " + *c.default_sql;
  return out;
}

template <typename T>
bool Has(const std::vector<T>& list, const T& item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

// Three-way merge of a set: an item stays if both sides have it or one side added it.
template <typename T>
std::vector<T> MergeSet(const std::vector<T>& base, const std::vector<T>& ours,
                        const std::vector<T>& theirs) {
  std::vector<T> out;
  for (const T& x : ours) {
    if (Has(theirs, x) || !Has(base, x)) out.push_back(x);
  }
  for (const T& x : theirs) {
    if (!Has(ours, x) && !Has(base, x)) out.push_back(x);
  }
  return out;
}

// SQLite's ALTER TABLE ADD COLUMN appends ", <definition>" before the closing parenthesis of the
// stored CREATE TABLE text; the text theirs appended, if that is all theirs did.
std::optional<std::string> AppendedColumns(const std::string& base, const std::string& theirs) {
  size_t close = base.rfind(')');
  if (close == std::string::npos || theirs.size() <= base.size()) return std::nullopt;
  size_t added = theirs.size() - base.size();
  if (theirs.compare(0, close, base, 0, close) != 0) return std::nullopt;
  if (theirs.compare(close + added, std::string::npos, base, close, std::string::npos) != 0)
    return std::nullopt;
  return theirs.substr(close, added);
}

}  // namespace

Value DefaultValue(const Column& column) {
  if (!column.default_sql) return Value::Null();
  std::string d = *column.default_sql;
  while (d.size() > 2 && d.front() == '(' && d.back() == ')') d = d.substr(1, d.size() - 2);
  if (d.find("::") != std::string::npos && d.front() == '\'') d = d.substr(0, d.rfind("::"));
  if (d.size() >= 2 && d.front() == '\'' && d.back() == '\'') {
    std::string text;
    for (size_t i = 1; i + 1 < d.size(); ++i) {
      text.push_back(d[i]);
      if (d[i] == '\'' && d[i + 1] == '\'') ++i;
    }
    return Value::Text(text);
  }
  std::string l = AsciiLower(d);
  if (l == "null") return Value::Null();
  if (l == "true" || l == "false") {
    std::string t = AsciiLower(column.type);
    if (t == "boolean" || t == "bool") return Value::Bool(l == "true");
    return Value::Integer(l == "true" ? 1 : 0);  // SQLite stores TRUE as 1
  }
  char* end = nullptr;
  long long n = std::strtoll(d.c_str(), &end, 10);
  if (!d.empty() && *end == '\0') return Value::Integer(n);
  double r = std::strtod(d.c_str(), &end);
  if (!d.empty() && *end == '\0') return Value::Real(r);
  return Value::Null();  // an expression (CURRENT_TIMESTAMP, nextval(...)): not evaluated here
}

SchemaMerge MergeSchemas(const TableSchema& base, const TableSchema& ours,
                         const TableSchema& theirs) {
  SchemaMerge out;
  out.schema = ours;
  std::vector<Column> columns;
  auto conflict = [&](const std::string& detail, const std::string& column) {
    Conflict c;
    c.table = ours.name;
    c.kind = ConflictKind::kSchema;
    if (!column.empty()) c.columns = {column};
    c.detail = detail;
    out.conflicts.push_back(std::move(c));
  };
  auto merge_column = [&](const std::string& name) {
    const Column* b = base.FindColumn(name);
    const Column* o = ours.FindColumn(name);
    const Column* t = theirs.FindColumn(name);
    auto same = [](const Column* x, const Column* y) { return x && y ? *x == *y : x == y; };
    if (same(o, b)) {
      if (t) columns.push_back(*t);  // only theirs changed (or dropped) it
      return;
    }
    if (same(t, b) || same(o, t)) {
      if (o) columns.push_back(*o);
      return;
    }
    // Both changed it, differently.
    if (o && t && b) {
      if (std::optional<Column> w = Widest(*b, *o, *t)) {
        columns.push_back(*w);
        return;
      }
      conflict("column " + name + " changed on both sides: ours " + Describe(*o) + ", theirs " +
                   Describe(*t),
               name);
    } else if (o && t) {
      conflict("column " + name + " added on both sides with different definitions: ours " +
                   Describe(*o) + ", theirs " + Describe(*t),
               name);
    } else {
      conflict("column " + name + " dropped on " + (o ? "theirs" : "ours") + " and changed on " +
                   (o ? "ours" : "theirs"),
               name);
    }
    if (o) columns.push_back(*o);
  };
  for (const Column& c : ours.columns) merge_column(c.name);
  for (const Column& c : theirs.columns) {
    if (!ours.FindColumn(c.name)) merge_column(c.name);
  }
  out.schema.columns = std::move(columns);

  if (ours.primary_key == base.primary_key) {
    out.schema.primary_key = theirs.primary_key;
  } else if (theirs.primary_key != base.primary_key && theirs.primary_key != ours.primary_key) {
    conflict("the primary key changed on both sides", "");
  }
  out.schema.indexes = MergeSet(base.indexes, ours.indexes, theirs.indexes);
  std::sort(out.schema.indexes.begin(), out.schema.indexes.end(),
            [](const Index& a, const Index& b) { return a.name < b.name; });
  for (size_t i = 1; i < out.schema.indexes.size(); ++i) {
    if (out.schema.indexes[i].name == out.schema.indexes[i - 1].name) {
      conflict("index " + out.schema.indexes[i].name +
                   " was added on both sides with different definitions",
               "");
    }
  }
  out.schema.foreign_keys = MergeSet(base.foreign_keys, ours.foreign_keys, theirs.foreign_keys);

  // The database's own DDL text (SQLite): one side's, or ours' with the columns theirs appended.
  if (ours.sql == base.sql) {
    out.schema.sql = theirs.sql;
  } else if (theirs.sql != base.sql && theirs.sql != ours.sql) {
    std::optional<std::string> appended = AppendedColumns(base.sql, theirs.sql);
    size_t close = ours.sql.rfind(')');
    if (appended && close != std::string::npos) {
      out.schema.sql = ours.sql.substr(0, close) + *appended + ours.sql.substr(close);
    } else if (out.conflicts.empty()) {
      conflict("both sides changed the table's definition (" + ours.name +
                   "), in ways its CREATE TABLE text cannot combine",
               "");
    }
  }
  for (const std::string& k : out.schema.key) {
    if (!out.schema.FindColumn(k)) conflict("key column " + k + " was dropped", k);
  }
  return out;
}

}  // namespace cfgit
