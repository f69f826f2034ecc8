#include "adapters/postgres/pg_types.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <regex>
#include <set>

#include "adapters/internal/sql_text.h"
#include "adapters/postgres/copy_text.h"
#include "store/encoding.h"

namespace cfgit::pg {
namespace {

bool IsNumericText(const std::string& s) {
  static const std::regex kNumber(
      R"([+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?|[+-]?(NaN|Infinity|inf))", std::regex::icase);
  return std::regex_match(s, kNumber);
}

std::string KindName(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::kNull:
      return "NULL";
    case Value::Kind::kInteger:
      return "an integer";
    case Value::Kind::kReal:
      return "a real";
    case Value::Kind::kText:
      return "text";
    case Value::Kind::kBlob:
      return "a blob";
    case Value::Kind::kBool:
      return "a boolean";
  }
  return "a value";
}

std::string Upper(const std::string& s) {
  std::string out;
  bool space = false;
  for (char c : s) {
    if (std::isspace(static_cast<unsigned char>(c))) {
      space = !out.empty();
      continue;
    }
    if (space) out.push_back(' ');
    space = false;
    out.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  }
  return out;
}

// "VARCHAR(255)" -> {"VARCHAR", "255"}; "DECIMAL(10, 2)" -> {"DECIMAL", "10,2"}.
std::pair<std::string, std::string> SplitTypeName(const std::string& upper) {
  size_t open = upper.find('(');
  if (open == std::string::npos) return {upper, ""};
  std::string name = upper.substr(0, open);
  while (!name.empty() && name.back() == ' ') name.pop_back();
  std::string args;
  for (char c : upper.substr(open + 1)) {
    if (c == ')') break;
    if (c != ' ') args.push_back(c);
  }
  return {name, args};
}

bool AllDigits(const std::string& s, bool allow_comma) {
  if (s.empty()) return false;
  return std::all_of(s.begin(), s.end(), [&](char c) {
    return std::isdigit(static_cast<unsigned char>(c)) || (allow_comma && c == ',');
  });
}

// The PostgreSQL type of a SQLite declared type, or "" when there is no exact equivalent.
std::string MapSqliteType(const std::string& declared) {
  static const std::set<std::string> kIntegers = {
      "INTEGER",   "INT",  "BIGINT", "SMALLINT", "TINYINT",
      "MEDIUMINT", "INT2", "INT4",   "INT8",     "UNSIGNED BIG INT"};
  static const std::set<std::string> kTexts = {"TEXT", "CLOB", "CHAR", "CHARACTER"};
  static const std::set<std::string> kVarchars = {
      "VARCHAR", "CHARACTER VARYING", "NVARCHAR", "VARYING CHARACTER", "NATIVE CHARACTER", "NCHAR",
      "CHAR",    "CHARACTER"};
  static const std::set<std::string> kFloats = {"REAL", "DOUBLE", "DOUBLE PRECISION", "FLOAT"};
  static const std::set<std::string> kTimes = {"DATETIME", "TIMESTAMP", "DATE", "TIME", "UUID"};
  auto [name, args] = SplitTypeName(Upper(declared));
  if (args.empty()) {
    if (kIntegers.count(name)) return "bigint";
    if (kTexts.count(name)) return "text";
    if (name == "VARCHAR" || name == "CHARACTER VARYING" || name == "NVARCHAR")
      return "character varying";
    if (kFloats.count(name)) return "double precision";
    if (name == "BLOB") return "bytea";
    if (name == "BOOLEAN" || name == "BOOL") return "boolean";
    if (name == "NUMERIC" || name == "DECIMAL") return "numeric";
    if (name == "JSON") return "jsonb";
    if (kTimes.count(name)) return "text";  // kept exactly as the text SQLite holds
    return "";
  }
  if (kVarchars.count(name) && AllDigits(args, false)) return "character varying(" + args + ")";
  if ((name == "NUMERIC" || name == "DECIMAL") && AllDigits(args, true) &&
      std::count(args.begin(), args.end(), ',') <= 1 && args.back() != ',') {
    return "numeric(" + args + ")";
  }
  if (kTimes.count(name) && AllDigits(args, false)) return "text";  // TIMESTAMP(3) ...
  return "";
}

// The PostgreSQL default clause of a SQLite default on a column of PostgreSQL type `pg_type`.
Result<std::string> MapSqliteDefault(const Column& column, const std::string& pg_type) {
  if (!column.default_sql) return std::string();
  const std::string& d = *column.default_sql;
  std::string upper = Upper(d);
  auto refuse = [&] {
    return Status::Invalid("column '" + column.name + "' has the default " + d +
                           ", which has no exact PostgreSQL equivalent");
  };
  bool boolean = pg_type == "boolean";
  if (upper == "NULL") return std::string();
  if (upper == "TRUE" || upper == "FALSE") {
    if (boolean) return " DEFAULT " + std::string(upper == "TRUE" ? "true" : "false");
    if (pg_type == "bigint") return " DEFAULT " + std::string(upper == "TRUE" ? "1" : "0");
    return refuse();
  }
  if (IsNumericText(d) && d.find_first_of("NnIi") == std::string::npos) {
    if (!boolean) return " DEFAULT " + d;
    if (d == "0" || d == "1") return " DEFAULT " + std::string(d == "1" ? "true" : "false");
    return refuse();
  }
  if (d.size() >= 2 && d.front() == '\'' && d.back() == '\'' && !boolean && pg_type != "bytea") {
    return " DEFAULT " + d;  // a string literal is written the same way in both dialects
  }
  return refuse();
}

}  // namespace

TypeClass ClassifyBaseType(const std::string& typname, bool is_array) {
  if (is_array) return TypeClass::kOther;
  if (typname == "int2" || typname == "int4" || typname == "int8") return TypeClass::kInteger;
  if (typname == "float4" || typname == "float8") return TypeClass::kFloat;
  if (typname == "bool") return TypeClass::kBool;
  if (typname == "bytea") return TypeClass::kBytea;
  if (typname == "numeric") return TypeClass::kNumeric;
  if (typname == "text" || typname == "varchar" || typname == "bpchar" || typname == "name") {
    return TypeClass::kString;
  }
  if (typname == "json" || typname == "jsonb") return TypeClass::kJson;
  return TypeClass::kOther;
}

bool Comparable(const PgColumn& column) {
  static const std::set<std::string> kIncomparable = {"json", "xml",  "point",   "line",  "lseg",
                                                      "box",  "path", "polygon", "circle"};
  const std::string& t = column.element_type.empty() ? column.base_type : column.element_type;
  return kIncomparable.count(t) == 0;
}

std::optional<std::string> ToServerText(const Value& v, const PgColumn& target) {
  switch (v.kind()) {
    case Value::Kind::kNull:
      return std::nullopt;
    case Value::Kind::kInteger:
      if (target.type_class == TypeClass::kBool) return v.integer() ? "true" : "false";
      return std::to_string(v.integer());
    case Value::Kind::kReal:
      return FormatFloat(v.real());
    case Value::Kind::kBool:
      return v.boolean() ? "true" : "false";
    case Value::Kind::kText:
      return v.bytes();
    case Value::Kind::kBlob:
      return EncodeByteaHex(v.bytes());
  }
  return std::nullopt;
}

std::string RefuseReason(const Value& v, const PgColumn& target,
                         const std::string& source_dialect) {
  std::string is = KindName(v) + " cannot be stored in a column of type " + target.type;
  switch (v.kind()) {
    case Value::Kind::kNull:
      return "";
    case Value::Kind::kText: {
      if (v.bytes().find('\0') != std::string::npos)
        return "text with a NUL byte cannot be stored in PostgreSQL";
      if (!IsValidUtf8(v.bytes()))
        return "text that is not valid UTF-8 cannot be stored in PostgreSQL";
      switch (target.type_class) {
        case TypeClass::kInteger:
        case TypeClass::kFloat:
        case TypeClass::kBool:
        case TypeClass::kBytea:
          return is + " without conversion";
        case TypeClass::kNumeric:
          return IsNumericText(v.bytes()) ? ""
                                          : "'" + v.bytes().substr(0, 40) + "' is not a number";
        default:
          return "";
      }
    }
    case Value::Kind::kInteger: {
      int64_t n = v.integer();
      switch (target.type_class) {
        case TypeClass::kInteger:
          if (target.base_type == "int2" && (n < INT16_MIN || n > INT16_MAX))
            return std::to_string(n) + " is out of range for smallint";
          if (target.base_type == "int4" && (n < INT32_MIN || n > INT32_MAX))
            return std::to_string(n) + " is out of range for integer";
          return "";
        case TypeClass::kNumeric:
        case TypeClass::kJson:
          return "";
        case TypeClass::kFloat: {
          int64_t limit = target.base_type == "float4" ? (int64_t{1} << 24) : (int64_t{1} << 53);
          return n >= -limit && n <= limit
                     ? ""
                     : std::to_string(n) + " has no exact " + target.type + " value";
        }
        case TypeClass::kBool:
          if (source_dialect == "sqlite" && (n == 0 || n == 1)) return "";
          return is + (source_dialect == "sqlite" ? " (only 0 and 1 are booleans)" : "");
        default:
          return is;
      }
    }
    case Value::Kind::kReal:
      if (target.type_class == TypeClass::kFloat || target.type_class == TypeClass::kNumeric)
        return "";
      if (target.type_class == TypeClass::kJson)
        return std::isfinite(v.real()) ? "" : "JSON has no " + FormatFloat(v.real());
      return is;
    case Value::Kind::kBool:
      return target.type_class == TypeClass::kBool ? "" : is;
    case Value::Kind::kBlob:
      return target.type_class == TypeClass::kBytea ? "" : is;
  }
  return is;
}

Result<std::string> SqliteColumnDefinition(const Column& column, bool rowid_alias) {
  std::string type = MapSqliteType(column.type);
  if (type.empty()) {
    return Status::Invalid("column '" + column.name + "' has the SQLite type '" + column.type +
                           "', which has no exact PostgreSQL equivalent");
  }
  if (rowid_alias && Upper(column.type) == "INTEGER") {
    if (column.default_sql) {
      return Status::Invalid("column '" + column.name +
                             "' is an INTEGER PRIMARY KEY with a default");
    }
    return type + " " + kIdentityByDefault;
  }
  CFGIT_ASSIGN_OR_RETURN(std::string def, MapSqliteDefault(column, type));
  return type + def;
}

std::string QuoteIdent(const std::string& name) { return cfgit::QuoteIdent(name); }

}  // namespace cfgit::pg
