// The two row-file readers: DecodeCanonicalRow (the fast one, for the exact form EncodeRow
// writes) must give the same answer as DecodeRowYaml (yaml-cpp, the reader of record) for every
// file it accepts, accept every file EncodeRow writes, and hand everything else to yaml-cpp.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>

#include "store/encoding.h"

using cfgit::DecodeCanonicalRow;
using cfgit::DecodeRow;
using cfgit::DecodeRowYaml;
using cfgit::EncodeRow;
using cfgit::Result;
using cfgit::Row;
using cfgit::Value;

namespace {

std::string Show(const Row& row) {
  std::string out;
  for (const Value& v : row) out += cfgit::EncodeValue(v) + " | ";
  return out;
}

// Same outcome: both fail, or both succeed with equal rows.
bool SameOutcome(const Result<Row>& a, const Result<Row>& b) {
  if (a.ok() != b.ok()) return false;
  return !a.ok() || a.value() == b.value();
}

// The fast reader accepts `text` and agrees with yaml-cpp on it.
void CheckAcceptedAndAgrees(const std::vector<std::string>& cols, const std::string& text) {
  INFO("file: " << text);
  std::optional<Row> fast = DecodeCanonicalRow(cols, text);
  Result<Row> slow = DecodeRowYaml(cols, text);
  REQUIRE(fast.has_value());
  REQUIRE(slow.ok());
  INFO("fast: " << Show(*fast) << "\nyaml: " << Show(*slow));
  CHECK(*fast == *slow);
}

// Whatever the fast reader says about `text`, DecodeRow answers as yaml-cpp does.
void CheckAgrees(const std::vector<std::string>& cols, const std::string& text) {
  INFO("file: " << text);
  std::optional<Row> fast = DecodeCanonicalRow(cols, text);
  Result<Row> slow = DecodeRowYaml(cols, text);
  if (fast) {
    REQUIRE(slow.ok());
    INFO("fast: " << Show(*fast) << "\nyaml: " << Show(*slow));
    CHECK(*fast == *slow);
  }
  bool canonical = !fast;  // DecodeRow must set it either way
  CHECK(SameOutcome(DecodeRow(cols, text, &canonical), slow));
  CHECK(canonical == fast.has_value());  // it tells which reader read the file
}

const double kNaN = std::numeric_limits<double>::quiet_NaN();
const double kInf = std::numeric_limits<double>::infinity();

std::vector<Value> TrickyValues() {
  return {
      Value::Null(),
      Value::Text(""),
      Value::Text("Acme Admin"),
      Value::Text("It's \"fine\" — ünïcode"),
      Value::Text("''''"),
      Value::Text("\"\"\\\\"),
      Value::Text("Line one\nLine two\ttabbed"),
      Value::Text("a\r\nb\rc\n"),
      Value::Text("  padded  "),
      Value::Text(" "),
      Value::Text("# not a comment"),
      Value::Text("key: value"),
      Value::Text("- item"),
      Value::Text("null"),
      Value::Text("~"),
      Value::Text("true"),
      Value::Text("42"),
      Value::Text("1.5"),
      Value::Text("!!binary AAE="),
      Value::Text("日本語 🎉 𝄞"),
      Value::Text(std::string("nul\0bell\a esc\x1b del\x7f end", 24)),
      Value::Text(std::string("\0", 1)),
      Value::Text("\x01\x02\x03\x08\x0b\x0c\x1f"),
      Value::Text("\xc2\x80 \xc2\x85 \xc2\x9f \xc2\xa0"),     // C1 controls, NBSP
      Value::Text("\xe2\x80\xa8 \xe2\x80\xa9 \xef\xbb\xbf"),  // U+2028, U+2029, BOM
      Value::Text("\xef\xbf\xbe \xef\xbf\xbf \xef\xbf\xbd"),  // U+FFFE, U+FFFF, U+FFFD
      Value::Text("\xf4\x8f\xbf\xbf"),                        // U+10FFFF
      Value::Text("ctl:\a\x1b\x7f\xc2\x85\xe2\x80\xa8\xef\xbb\xbf\\" + std::string("\0", 1) +
                  "end'"),
      Value::Text("\xff\xfe bad"),  // not UTF-8: !textbytes
      Value::Text("\xc0\xaf"),      // overlong
      Value::Text("\xed\xa0\x80"),  // surrogate
      Value::Text("ok\xe2\x82"),    // truncated
      Value::Text(R"({"a":1,"b":[true,null,"x\"y"],"c":{"d":"it's"}})"),
      Value::Text(R"({"html":"<div class=\"x\">\n  <b>bold</b>\n</div>","n":-1.5e-7})"),
      Value::Text(std::string(5000, 'x') + "'" + std::string(3000, 'y')),
      Value::Blob(""),
      Value::Blob(std::string("\0\x01", 2)),
      Value::Blob("\xff\xfe\xfd\xfc"),
      Value::Blob("a"),
      Value::Blob("ab"),
      Value::Blob("abc"),
      Value::Blob(std::string("\x9e\xe9\x65", 3)),  // base64 "nul l"-like text
      Value::Blob(std::string(1000, '\xfb')),       // base64 with '+' and '/'
      Value::Integer(0),
      Value::Integer(1),
      Value::Integer(-1),
      Value::Integer(std::numeric_limits<int64_t>::max()),
      Value::Integer(std::numeric_limits<int64_t>::min()),
      Value::Integer(std::numeric_limits<int64_t>::min() + 1),
      Value::Integer(220000000051990),
      Value::Real(0.0),
      Value::Real(-0.0),
      Value::Real(1.0),
      Value::Real(1.5),
      Value::Real(0.1),
      Value::Real(0.30000000000000004),
      Value::Real(100.0),
      Value::Real(1e16),
      Value::Real(1e17),
      Value::Real(1.5e-7),
      Value::Real(1e-5),
      Value::Real(1e300),
      Value::Real(-1e-300),
      Value::Real(5e-324),
      Value::Real(std::numeric_limits<double>::max()),
      Value::Real(std::numeric_limits<double>::lowest()),
      Value::Real(9007199254740993.0),
      Value::Real(kNaN),
      Value::Real(kInf),
      Value::Real(-kInf),
      Value::Bool(true),
      Value::Bool(false),
  };
}

std::vector<std::string> OddColumnNames() {
  return {"id",   "x-uid",     "_meta", "camelCase", "null",   "Null",     "on",
          "n",    "y",         "TRUE",  "2nd",       "my col", "",         "a'b",
          "a\"b", "a:b",       "a: b",  "#hash",     "-dash",  "tab\tkey", "ü",
          "日本", "new\nline", "x\\y",  "a.b.c",     "~",      "-",        "ok"};
}

}  // namespace

TEST_CASE("the fast row reader accepts every written value, as yaml-cpp reads it",
          "[encoding][fast-row]") {
  std::vector<Value> values = TrickyValues();
  for (const Value& v : values) {
    Row row = {Value::Integer(7), v, Value::Text("after")};
    std::vector<std::string> cols = {"id", "value", "tail"};
    std::string text = EncodeRow(cols, row);
    CheckAcceptedAndAgrees(cols, text);
    std::optional<Row> fast = DecodeCanonicalRow(cols, text);
    REQUIRE(fast.has_value());
    INFO("file: " << text);
    CHECK(*fast == row);
  }
}

TEST_CASE("the fast row reader accepts every written column name", "[encoding][fast-row]") {
  std::vector<std::string> cols = OddColumnNames();
  Row row;
  for (size_t i = 0; i < cols.size(); ++i) row.push_back(Value::Integer(static_cast<int64_t>(i)));
  std::string text = EncodeRow(cols, row);
  CheckAcceptedAndAgrees(cols, text);
  CHECK(*DecodeCanonicalRow(cols, text) == row);
  // One column at a time, too (the key is the first thing in the file).
  for (const std::string& c : cols) {
    CheckAcceptedAndAgrees({c}, EncodeRow({c}, {Value::Text("v")}));
  }
  // Long names: yaml-cpp refuses implicit keys longer than about 1024 characters (YAML's
  // limit), so the fast reader leaves long keys to it, and both refuse them alike.
  for (size_t n : {900, 1000, 1020, 1023, 1024, 1025, 1500}) {
    for (const std::string& name : {std::string(n, 'k'), std::string(n, ' ')}) {
      CheckAgrees({name}, EncodeRow({name}, {Value::Integer(1)}));
    }
  }
}

TEST_CASE("the fast row reader follows the columns it is given", "[encoding][fast-row]") {
  std::vector<std::string> written = {"id", "name", "extra", "on"};
  std::string text = EncodeRow(
      written, {Value::Integer(1), Value::Text("a"), Value::Text("x"), Value::Bool(false)});
  // Fewer columns (a column ignored since), more (added since: NULL), another order.
  for (const std::vector<std::string>& cols :
       std::vector<std::vector<std::string>>{{"id", "name"},
                                             {"id", "name", "extra", "on", "new"},
                                             {"on", "extra", "id"},
                                             {},
                                             {"missing"}}) {
    CheckAcceptedAndAgrees(cols, text);
  }
  CheckAcceptedAndAgrees({"id"}, "");  // an empty file: every column NULL
  CHECK(*DecodeCanonicalRow({"id"}, "") == Row{Value::Null()});
}

TEST_CASE("the fast row reader agrees with yaml-cpp on random written rows",
          "[encoding][fast-row]") {
  std::mt19937_64 rng(20261125);
  auto byte_string = [&](size_t max_len, bool ascii_heavy) {
    std::string s(rng() % (max_len + 1), '\0');
    for (char& c : s) {
      uint64_t r = rng();
      c = ascii_heavy && r % 4 != 0 ? static_cast<char>(0x20 + (r >> 8) % 0x5F)
                                    : static_cast<char>(r >> 8);
    }
    return s;
  };
  std::vector<std::string> cols = {"id", "text", "blob", "real", "int", "mixed"};
  for (int n = 0; n < 2000; ++n) {
    double real;
    uint64_t bits = rng();
    std::memcpy(&real, &bits, sizeof real);
    Row row = {Value::Integer(static_cast<int64_t>(rng())),
               Value::Text(byte_string(40, n % 2 == 0)),
               Value::Blob(byte_string(40, false)),
               Value::Real(n % 3 == 0 ? static_cast<double>(rng() % 100000) / 64.0 : real),
               Value::Integer(static_cast<int64_t>(rng() % 2001) - 1000),
               rng() % 2 ? Value::Null() : Value::Bool(rng() % 2 == 0)};
    std::string text = EncodeRow(cols, row);
    INFO("file: " << text);
    std::optional<Row> fast = DecodeCanonicalRow(cols, text);
    REQUIRE(fast.has_value());
    CHECK(*fast == row);
    Result<Row> slow = DecodeRowYaml(cols, text);
    REQUIRE(slow.ok());
    CHECK(*fast == *slow);
  }
}

TEST_CASE("files not in the written form go to yaml-cpp", "[encoding][fast-row]") {
  std::vector<std::string> cols = {"id", "name", "null"};
  const char* not_canonical[] = {
      "id: 42 # a comment\n",
      "id:  42\n",
      "id:42\n",
      "id: 42",  // no final newline
      "id: 42\r\n",
      "id: 42 \n",
      "id: ~\n",
      "id: Null\n",
      "id: NULL\n",
      "id:\n",
      "id: \n",
      "null: 1\n",  // a plain null key is YAML's null, not the text "null"
      "'null': 1\nid: 1\nid: 2\n",
      "name: 'multi\n  line'\n",
      "name: \"multi\n  line\"\n",
      "name: |\n  block\n",
      "name: >\n  folded\n",
      "name: plain text\n",
      "name: !!str 5\n",
      "name: !custom x\n",
      "name: 'tab\there'\n",
      "name: \"tab\there\"\n",
      "name: '\xc2\x85'\n",      // raw NEL: a line break to YAML
      "name: '\xe2\x80\xa8'\n",  // raw LINE SEPARATOR
      "name: '\xef\xbb\xbf'\n",  // raw BOM
      "name: '\xff'\n",          // not UTF-8
      "name: \"\\u00e9\"\n",     // lower-case hex
      "name: \"\\N\\_\\L\\P\"\n",
      "name: \"\\U0001F389\"\n",
      "name: \"\\/\"\n",
      "name: \"\\uD800\"\n",
      "name: \"\\x4\"\n",
      "name: 'a' \n",
      "name: 'a'b\n",
      "name: [1, 2]\n",
      "name: {a: 1}\n",
      "name: &anchor 1\n",
      "name: *alias\n",
      "\xef\xbb\xbfid: 1\n",
      "  id: 1\n",
      "---\nid: 1\n",
      "id: 1\n...\n",
      "# comment\nid: 1\n",
      "\nid: 1\n",
      "id: 1\n\n",
      "{id: 1}\n",
      "- id\n",
      "id: 99999999999999999999\n",
      "id: -9223372036854775809\n",
      "id: 1.5.5\n",
      "id: abc\n",
      "id: -\n",
      "id: .\n",
      "id: !!binary ***\n",
      "id: !!binary AAE= \n",
      "id: !!binary\n",
      "id: !textbytes\n",
      "id: !!binary AA\n  AA\n",
      "\"id\\x\": 1\n",
      "'id: 1\n",
      "id: 'open\n",
      "id: \"open\\\"\n",
  };
  for (const char* text : not_canonical) {
    INFO("file: " << text);
    CHECK_FALSE(DecodeCanonicalRow(cols, text).has_value());
    CheckAgrees(cols, text);
  }
  // Some of them are errors, reported as an invalid store, with yaml-cpp's message.
  Result<Row> bad = DecodeRow(cols, "id: 99999999999999999999\n");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().code() == cfgit::Code::kInvalid);
  CHECK(!DecodeRow(cols, "id: [1, 2]\n").ok());
  // And the ones yaml-cpp reads still read the same (hand-edited files keep working).
  auto decoded = [&](const char* text) {
    Result<Row> row = DecodeRow(cols, text);
    INFO("file: " << text);
    REQUIRE(row.ok());
    return row.value();
  };
  CHECK(decoded("id: 42 # a comment\n") == Row{Value::Integer(42), Value(), Value()});
  CHECK(decoded("id: ~\nname: 'it''s'   # c\n") ==
        Row{Value::Null(), Value::Text("it's"), Value()});
  CHECK(!DecodeRow(cols, "name: plain text\n").ok());  // unquoted words are not values
  CHECK(decoded("name: \"\\u00e9\"\n") == Row{Value(), Value::Text("\xc3\xa9"), Value()});
}

TEST_CASE("the readers agree on damaged row files", "[encoding][fast-row]") {
  // Every written file with one byte replaced, inserted or removed: whatever the fast reader
  // accepts, yaml-cpp reads the same way; DecodeRow always answers as yaml-cpp does.
  std::vector<std::string> cols = {"id", "x-uid", "'q'", "name", "blob", "real", "flag"};
  Row row = {Value::Integer(-12),
             Value::Text("u1"),
             Value::Text("it's"),
             Value::Text("a\tb\\c\"d\xc2\x85"),
             Value::Blob("\x01\x02\xff"),
             Value::Real(2.5e-7),
             Value::Bool(true)};
  std::string text = EncodeRow(cols, row);
  const char kBytes[] = {' ',  '\'', '"', '\\', '\n', ':', '#', '!', '-', '~',  'x', '0',
                         '\t', '.',  '+', 'e',  'E',  'n', 'u', 'l', '[', '\r', '&', '\x85'};
  std::mt19937 rng(7);
  for (size_t pos = 0; pos < text.size(); ++pos) {
    for (int k = 0; k < 3; ++k) {
      char b = kBytes[rng() % sizeof kBytes];
      std::string replaced = text;
      replaced[pos] = b;
      CheckAgrees(cols, replaced);
      std::string inserted = text;
      inserted.insert(pos, 1, b);
      CheckAgrees(cols, inserted);
    }
    std::string removed = text;
    removed.erase(pos, 1);
    CheckAgrees(cols, removed);
  }
}
