#include "adapters/postgres/catalog.h"

#include <algorithm>
#include <map>
#include <pqxx/result>

namespace cfgit::pg {
namespace {

std::string Action(const std::string& code) {
  if (code == "r") return "RESTRICT";
  if (code == "c") return "CASCADE";
  if (code == "n") return "SET NULL";
  if (code == "d") return "SET DEFAULT";
  return "NO ACTION";
}

std::optional<std::string> OptionalText(const pqxx::field& f) {
  if (f.is_null()) return std::nullopt;
  return f.as<std::string>();
}

const char* kColumnsSql = R"(
WITH RECURSIVE base(attnum, typ) AS (
  SELECT a.attnum, a.atttypid FROM pg_attribute a
   WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped
  UNION ALL
  SELECT b.attnum, t.typbasetype FROM base b JOIN pg_type t ON t.oid = b.typ WHERE t.typtype = 'd'
)
SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
       pg_get_expr(d.adbin, d.adrelid), a.attidentity::text, a.attgenerated::text,
       t.typname, t.typcategory = 'A' AND t.typelem <> 0, coalesce(e.typname, ''),
       coalesce(pg_get_serial_sequence(format('%I.%I', n.nspname, c.relname), a.attname), '')
  FROM pg_attribute a
  JOIN pg_class c ON c.oid = a.attrelid
  JOIN pg_namespace n ON n.oid = c.relnamespace
  JOIN base b ON b.attnum = a.attnum
  JOIN pg_type t ON t.oid = b.typ AND t.typtype <> 'd'
  LEFT JOIN pg_type e ON e.oid = t.typelem AND t.typcategory = 'A'
  LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
 WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped
 ORDER BY a.attnum)";

const char* kPrimaryKeySql = R"(
SELECT a.attname FROM pg_constraint c
 CROSS JOIN LATERAL unnest(c.conkey) WITH ORDINALITY AS k(attnum, ord)
  JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum
 WHERE c.conrelid = $1 AND c.contype = 'p'
 ORDER BY k.ord)";

// Key columns only (not INCLUDE columns); an expression column has no attname.
const char* kIndexesSql = R"(
SELECT i.relname, x.indisunique AND x.indpred IS NULL, coalesce(a.attname, '')
  FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
 CROSS JOIN LATERAL unnest(x.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
  LEFT JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = k.attnum AND k.attnum > 0
 WHERE x.indrelid = $1 AND NOT x.indisprimary AND k.ord <= x.indnkeyatts
 ORDER BY i.relname, k.ord)";

// conparentid = 0 leaves out the copies PostgreSQL makes for each partition of a referenced
// partitioned table.
const char* kForeignKeysSql = R"(
SELECT c.conname, a.attname, ra.attname, c.confupdtype::text, c.confdeltype::text,
       c.condeferrable, c.condeferred, rn.nspname, rc.relname
  FROM pg_constraint c
 CROSS JOIN LATERAL unnest(c.conkey, c.confkey) WITH ORDINALITY AS k(attnum, refnum, ord)
  JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum
  JOIN pg_attribute ra ON ra.attrelid = c.confrelid AND ra.attnum = k.refnum
  JOIN pg_class rc ON rc.oid = c.confrelid
  JOIN pg_namespace rn ON rn.oid = rc.relnamespace
 WHERE c.conrelid = $1 AND c.contype = 'f' AND c.conparentid = 0
 ORDER BY c.conname, k.ord)";

}  // namespace

std::string SequenceOfDefault(const std::string& default_sql) {
  const std::string head = "nextval('", tail = "'::regclass)";
  if (default_sql.size() <= head.size() + tail.size() || default_sql.rfind(head, 0) != 0 ||
      default_sql.compare(default_sql.size() - tail.size(), tail.size(), tail) != 0) {
    return "";
  }
  std::string literal =
      default_sql.substr(head.size(), default_sql.size() - head.size() - tail.size());
  std::string out;
  for (size_t i = 0; i < literal.size(); ++i) {
    out.push_back(literal[i]);
    if (literal[i] == '\'' && i + 1 < literal.size() && literal[i + 1] == '\'') ++i;
  }
  return out;
}

std::string Catalog::DisplayName(const std::string& schema, const std::string& relname) const {
  if (schemas_.size() == 1 && schema == schemas_[0]) return relname;
  return schema + "." + relname;
}

TableRef Catalog::Locate(const std::string& table) const {
  if (schemas_.size() == 1) return {schemas_[0], table};
  // The longest configured schema that prefixes the name wins ("a.b" before "a").
  const std::string* best = nullptr;
  for (const std::string& s : schemas_) {
    if (table.size() > s.size() && table.compare(0, s.size(), s) == 0 && table[s.size()] == '.' &&
        (!best || s.size() > best->size())) {
      best = &s;
    }
  }
  if (best) return {*best, table.substr(best->size() + 1)};
  size_t dot = table.find('.');
  if (dot == std::string::npos) return {schemas_[0], table};
  return {table.substr(0, dot), table.substr(dot + 1)};
}

std::optional<TableRef> Catalog::Find(pqxx::transaction_base& tx, const std::string& table) const {
  TableRef ref = Locate(table);
  pqxx::result r = tx.exec_params(
      "SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
      "WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p')",
      ref.schema, ref.relname);
  if (r.empty()) return std::nullopt;
  ref.oid = r[0][0].as<unsigned>();
  return ref;
}

std::vector<std::string> Catalog::ListTables(pqxx::transaction_base& tx) const {
  std::string in;
  for (const std::string& s : schemas_) in += (in.empty() ? "" : ", ") + tx.quote(s);
  // Ordinary and partitioned tables; partitions are read through their parent.
  pqxx::result r = tx.exec(
      "SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
      "WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND n.nspname IN (" +
      in + ")");
  std::vector<std::string> out;
  for (const pqxx::row& row : r)
    out.push_back(DisplayName(row[0].as<std::string>(), row[1].as<std::string>()));
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<PgColumn> Catalog::Columns(pqxx::transaction_base& tx, const TableRef& table) const {
  std::vector<PgColumn> out;
  for (const pqxx::row& row : tx.exec_params(kColumnsSql, table.oid)) {
    PgColumn c;
    c.name = row[0].as<std::string>();
    c.type = row[1].as<std::string>();
    c.not_null = row[2].as<bool>();
    c.default_sql = OptionalText(row[3]);
    std::string identity = row[4].as<std::string>();
    c.identity = identity.empty() ? '\0' : identity[0];
    c.generated = row[5].as<std::string>() == "s";
    c.base_type = row[6].as<std::string>();
    bool is_array = row[7].as<bool>();
    c.element_type = row[8].as<std::string>();
    c.type_class = ClassifyBaseType(c.base_type, is_array);
    c.sequence = row[9].as<std::string>();
    if (c.sequence.empty() && c.default_sql) c.sequence = SequenceOfDefault(*c.default_sql);
    out.push_back(std::move(c));
  }
  return out;
}

TableSchema Catalog::ReadSchema(pqxx::transaction_base& tx, const TableRef& table,
                                const std::string& name) const {
  TableSchema schema;
  schema.name = name;
  for (const PgColumn& pc : Columns(tx, table)) {
    Column c{
        .name = pc.name, .type = pc.type, .not_null = pc.not_null, .default_sql = pc.default_sql};
    if (pc.identity == 'a') c.default_sql = kIdentityAlways;
    if (pc.identity == 'd') c.default_sql = kIdentityByDefault;
    if (pc.generated) c.default_sql = kGeneratedPrefix + pc.default_sql.value_or("") + ") STORED";
    schema.columns.push_back(std::move(c));
  }
  for (const pqxx::row& row : tx.exec_params(kPrimaryKeySql, table.oid)) {
    schema.primary_key.push_back(row[0].as<std::string>());
  }
  for (const pqxx::row& row : tx.exec_params(kIndexesSql, table.oid)) {
    std::string index = row[0].as<std::string>();
    if (schema.indexes.empty() || schema.indexes.back().name != index) {
      schema.indexes.push_back(Index{.name = index, .unique = row[1].as<bool>()});
    }
    std::string column = row[2].as<std::string>();
    schema.indexes.back().columns.push_back(column.empty() ? "<expression>" : column);
  }
  std::sort(schema.indexes.begin(), schema.indexes.end(),
            [](const Index& a, const Index& b) { return a.name < b.name; });
  std::string constraint;
  for (const pqxx::row& row : tx.exec_params(kForeignKeysSql, table.oid)) {
    if (schema.foreign_keys.empty() || constraint != row[0].as<std::string>()) {
      constraint = row[0].as<std::string>();
      schema.foreign_keys.push_back(
          ForeignKey{.ref_table = DisplayName(row[7].as<std::string>(), row[8].as<std::string>()),
                     .on_update = Action(row[3].as<std::string>()),
                     .on_delete = Action(row[4].as<std::string>()),
                     .deferrable = row[5].as<bool>(),
                     .initially_deferred = row[6].as<bool>()});
    }
    schema.foreign_keys.back().columns.push_back(row[1].as<std::string>());
    schema.foreign_keys.back().ref_columns.push_back(row[2].as<std::string>());
  }
  return schema;
}

}  // namespace cfgit::pg
