// The canonical encoding: exact bytes for known inputs, and lossless round trips.
#include "store/encoding.h"

#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <limits>
#include <map>

using cfgit::DecodeKey;
using cfgit::DecodeRow;
using cfgit::EncodeKey;
using cfgit::EncodeRow;
using cfgit::Row;
using cfgit::Value;

TEST_CASE("row files have one canonical text", "[encoding]") {
  std::vector<std::string> cols = {"id",      "x-uid", "null",  "title",
                                   "options", "data",  "price", "on"};
  Row row = {
      Value::Integer(42),        Value::Text("abc"),       Value::Null(),
      Value::Text("It's\nhere"), Value::Text("{\"a\":1}"), Value::Blob(std::string("\0\x01", 2)),
      Value::Real(1.0),          Value::Bool(true)};
  CHECK(EncodeRow(cols, row) ==
        "id: 42\n"
        "x-uid: 'abc'\n"
        "'null': null\n"
        "title: \"It's\\nhere\"\n"
        "options: '{\"a\":1}'\n"
        "data: !!binary AAE=\n"
        "price: 1.0\n"
        "'on': true\n");
}

TEST_CASE("values round-trip through a row file exactly", "[encoding]") {
  struct Case {
    const char* name;
    Value value;
  };
  const double kNaN = std::numeric_limits<double>::quiet_NaN();
  const Case cases[] = {
      {"null", Value::Null()},
      {"empty text", Value::Text("")},
      {"text that looks like an integer", Value::Text("1")},
      {"text that looks like null", Value::Text("null")},
      {"text with quotes", Value::Text("it's \"quoted\"")},
      {"newlines tabs backslashes", Value::Text("a\nb\tc\\d\r\n")},
      {"leading and trailing spaces", Value::Text("  padded  ")},
      {"unicode", Value::Text("ünïcødé 日本 🎉")},
      {"control characters", Value::Text(std::string("nul\0bell\a esc\x1b del\x7f", 20))},
      {"C1 and separators", Value::Text("\xc2\x85 \xe2\x80\xa8 \xef\xbb\xbf")},
      {"invalid UTF-8 text", Value::Text("\xff\xfe bad")},
      {"int64 max", Value::Integer(std::numeric_limits<int64_t>::max())},
      {"int64 min", Value::Integer(std::numeric_limits<int64_t>::min())},
      {"zero", Value::Integer(0)},
      {"real 1.0", Value::Real(1.0)},
      {"real 0.1", Value::Real(0.1)},
      {"real negative zero", Value::Real(-0.0)},
      {"real large", Value::Real(1e300)},
      {"real tiny", Value::Real(5e-324)},
      {"real nan", Value::Real(kNaN)},
      {"real inf", Value::Real(HUGE_VAL)},
      {"real -inf", Value::Real(-HUGE_VAL)},
      {"blob", Value::Blob(std::string("\0\xff\x31", 3))},
      {"empty blob", Value::Blob("")},
      {"true", Value::Bool(true)},
      {"false", Value::Bool(false)},
  };
  for (const Case& c : cases) {
    INFO(c.name);
    std::string text = EncodeRow({"v"}, {c.value});
    auto decoded = DecodeRow({"v"}, text);
    REQUIRE(decoded.ok());
    CHECK(decoded.value()[0] == c.value);
    CHECK(decoded.value()[0].kind() == c.value.kind());
  }
}

TEST_CASE("reals are written as the shortest exact decimal, always as a float", "[encoding]") {
  struct Case {
    double value;
    const char* text;
  };
  const Case cases[] = {
      {1.0, "1.0"},
      {100.0, "100.0"},
      {10.0, "10.0"},
      {0.1, "0.1"},
      {-2.5, "-2.5"},
      {0.001, "0.001"},
      {1e-5, "0.00001"},
      {123456.789, "123456.789"},
      {1e16, "10000000000000000.0"},
      {1e17, "1.0e+17"},
      {1e20, "1.0e+20"},
      {1.5e-7, "1.5e-07"},
      {-0.0, "-0.0"},
      {5e-324, "5.0e-324"},
      {1.7976931348623157e308, "1.7976931348623157e+308"},
      {0.30000000000000004, "0.30000000000000004"},
  };
  for (const Case& c : cases) {
    INFO(c.text);
    CHECK(EncodeRow({"v"}, {Value::Real(c.value)}) == std::string("v: ") + c.text + "\n");
  }
}

TEST_CASE("storage classes stay distinct", "[encoding]") {
  Row values = {Value::Integer(1), Value::Real(1.0), Value::Text("1"),
                Value::Blob("1"),  Value::Text(""),  Value::Null()};
  for (size_t i = 0; i < values.size(); ++i) {
    for (size_t j = 0; j < values.size(); ++j) {
      INFO(i << " vs " << j);
      CHECK((EncodeRow({"v"}, {values[i]}) == EncodeRow({"v"}, {values[j]})) == (i == j));
      CHECK((values[i] == values[j]) == (i == j));
    }
  }
}

TEST_CASE("a row file missing a column decodes it as NULL", "[encoding]") {
  auto row = DecodeRow({"a", "b"}, "a: 1\n");
  REQUIRE(row.ok());
  CHECK(row.value()[0] == Value::Integer(1));
  CHECK(row.value()[1].is_null());
}

TEST_CASE("a malformed row file is an invalid-store error", "[encoding]") {
  auto row = DecodeRow({"a"}, "a: [unclosed\n");
  REQUIRE_FALSE(row.ok());
  CHECK(row.status().code() == cfgit::Code::kInvalid);
  CHECK_FALSE(DecodeRow({"a"}, "a: !unknown 1\n").ok());
}

TEST_CASE("keys encode reversibly into safe path names", "[encoding][key]") {
  struct Case {
    const char* name;
    Row key;
    const char* expected;  // nullptr: only check the round trip
  };
  const Case cases[] = {
      {"integer", {Value::Integer(42)}, "42"},
      {"negative integer", {Value::Integer(-7)}, "-7"},
      {"plain text", {Value::Text("users")}, "users"},
      {"text that looks like an integer", {Value::Text("42")}, "%342"},
      {"text starting with a dash", {Value::Text("-x")}, "%2Dx"},
      {"text starting with a dot", {Value::Text(".hidden")}, "%2Ehidden"},
      {"dot-dot", {Value::Text("..")}, "%2E."},
      {"slashes", {Value::Text("a/b\\c")}, "a%2Fb%5Cc"},
      {"tilde and comma", {Value::Text("~h,x")}, "%7Eh%2Cx"},
      {"percent", {Value::Text("100%")}, "%3100%25"},
      {"empty text", {Value::Text("")}, "~s"},
      {"unicode", {Value::Text("ü")}, "%C3%BC"},
      {"composite", {Value::Text("admin"), Value::Text("users")}, "admin,users"},
      {"composite mixed", {Value::Integer(1), Value::Text("a,b")}, "1,a%2Cb"},
      {"real", {Value::Real(1.5)}, "~r1.5"},
      {"real nan", {Value::Real(std::nan(""))}, "~rnan"},
      {"real -inf", {Value::Real(-HUGE_VAL)}, "~r-inf"},
      {"blob", {Value::Blob("1\xff")}, "~x31ff"},
      {"bool", {Value::Bool(true), Value::Bool(false)}, "~t,~f"},
  };
  for (const Case& c : cases) {
    INFO(c.name);
    std::string stem = EncodeKey(c.key);
    if (c.expected) CHECK(stem == c.expected);
    for (char ch : stem) {
      bool safe = std::isalnum(static_cast<unsigned char>(ch)) || std::strchr("_.-%~,+", ch);
      CHECK(safe);
    }
    auto back = DecodeKey(stem);
    REQUIRE(back.ok());
    CHECK(back.value() == c.key);
  }
}

TEST_CASE("integer and text keys never collide", "[encoding][key]") {
  CHECK(EncodeKey({Value::Integer(1)}) != EncodeKey({Value::Text("1")}));
  CHECK(EncodeKey({Value::Text("a"), Value::Text("b")}) != EncodeKey({Value::Text("a,b")}));
  CHECK(EncodeKey({Value::Text("")}) != EncodeKey({Value::Null()}));
}

TEST_CASE("very long keys are shortened with a hash and stay distinct", "[encoding][key]") {
  std::string long_a(1000, 'a'), long_b = long_a + "b";
  std::string a = EncodeKey({Value::Text(long_a)}), b = EncodeKey({Value::Text(long_b)});
  CHECK(a.size() <= cfgit::kMaxKeyName);
  CHECK(a != b);
  CHECK(a.find("~~") != std::string::npos);
  CHECK_FALSE(DecodeKey(a).ok());
  // A shortened name never cuts a %XX escape in half.
  std::string escaped = EncodeKey({Value::Text(std::string(500, '/'))});
  CHECK(escaped.substr(0, escaped.find("~~")).size() % 3 == 0);
}

TEST_CASE("keyless rows are named by content and occurrence", "[encoding][key]") {
  std::string row = EncodeRow({"a"}, {Value::Integer(1)});
  CHECK(cfgit::KeylessName(row, 1) == cfgit::KeylessName(row, 1));
  CHECK(cfgit::KeylessName(row, 2) == cfgit::KeylessName(row, 1) + "~2");
  CHECK(cfgit::KeylessName(row, 1) != cfgit::KeylessName(EncodeRow({"a"}, {Value::Integer(2)}), 1));
  CHECK_FALSE(DecodeKey(cfgit::KeylessName(row, 1)).ok());
}

TEST_CASE("fan-out directories are two lowercase hex bytes from the key hash", "[encoding]") {
  auto [a, b] = cfgit::FanoutDirs("42");
  CHECK(a.size() == 2);
  CHECK(b.size() == 2);
  CHECK(cfgit::FanoutDirs("42") == std::make_pair(a, b));
  // The 65,536 buckets are used evenly enough that no leaf tree grows large.
  std::map<std::string, int> buckets;
  for (int i = 0; i < 100000; ++i) {
    auto d = cfgit::FanoutDirs(EncodeKey({Value::Integer(i)}));
    ++buckets[d.first + d.second];
  }
  int largest = 0;
  for (const auto& [k, n] : buckets) largest = std::max(largest, n);
  CHECK(largest < 20);
}

TEST_CASE("path components encode table names reversibly", "[encoding]") {
  for (std::string name : {"uiSchemas", "x-uid", "a b", "with/slash", ".dot", "", "日本"}) {
    INFO(name);
    std::string c = cfgit::EncodePathComponent(name);
    CHECK(c.find('/') == std::string::npos);
    CHECK(c != ".");
    CHECK(c != "..");
    auto back = cfgit::DecodePathComponent(c);
    REQUIRE(back.ok());
    CHECK(back.value() == name);
  }
}

TEST_CASE("schemas round-trip through schema.yaml", "[encoding]") {
  cfgit::TableSchema s;
  s.name = "rolesResources";
  s.columns = {{"id", "INTEGER", true, std::nullopt},
               {"roleName", "VARCHAR(255)", false, "'member'"},
               {"name", "TEXT", false, std::nullopt},
               {"it's \"odd\"", "", false, "CURRENT_TIMESTAMP"}};
  s.primary_key = {"id"};
  s.key = {"roleName", "name"};
  s.ignore = {"it's \"odd\""};
  s.indexes = {{"rr_unique", {"roleName", "name"}, true}, {"rr_name", {"name"}, false}};
  s.foreign_keys = {{{"roleName"}, "roles", {"name"}, "CASCADE", "SET NULL", true, true}};
  s.sql = "CREATE TABLE rolesResources (\n  id INTEGER PRIMARY KEY\n)";
  s.rows_versioned = false;
  std::string text = cfgit::EncodeSchema(s);
  auto back = cfgit::DecodeSchema(text);
  REQUIRE(back.ok());
  CHECK(back.value() == s);
  CHECK(cfgit::EncodeSchema(back.value()) == text);
  CHECK(s.VersionedColumns() == std::vector<std::string>{"id", "roleName", "name"});
}
