// The JSON module: strict parsing of every kind, each refusal with its byte offset, the compact
// canonical form, structural equality and paths.
#include "store/json.h"

#include <catch2/catch.hpp>
#include <string>

using cfgit::Code;
using cfgit::Json;
using cfgit::JsonPath;
using cfgit::ParseJson;
using cfgit::WriteJson;

namespace {

Json Parse(std::string_view text) {
  auto r = ParseJson(text);
  INFO(text << " -> " << r.status().message());
  REQUIRE(r.ok());
  return std::move(r).value();
}

std::string ErrorOf(std::string_view text) {
  auto r = ParseJson(text);
  INFO(text);
  REQUIRE(!r.ok());
  CHECK(r.status().code() == Code::kInvalid);
  return r.status().message();
}

}  // namespace

TEST_CASE("json parses every kind", "[json]") {
  CHECK(Parse("null").kind() == Json::Kind::kNull);
  CHECK(Parse("null").is_null());
  CHECK(Parse("true").kind() == Json::Kind::kBool);
  CHECK(Parse("true").boolean());
  CHECK_FALSE(Parse("false").boolean());
  CHECK(Parse("-12.5e+3").kind() == Json::Kind::kNumber);
  CHECK(Parse("-12.5e+3").number_text() == "-12.5e+3");
  CHECK(Parse("\"hi\"").kind() == Json::Kind::kString);
  CHECK(Parse("\"hi\"").string() == "hi");

  Json a = Parse(" [1, \"two\", [], {}, null] ");
  REQUIRE(a.kind() == Json::Kind::kArray);
  REQUIRE(a.items().size() == 5);
  CHECK(a.items()[0].number_text() == "1");
  CHECK(a.items()[1].string() == "two");
  CHECK(a.items()[2].items().empty());
  CHECK(a.items()[3].kind() == Json::Kind::kObject);
  CHECK(a.items()[4].is_null());

  Json o = Parse("{\"b\": 1, \"a\": {\"c\": true}}");
  REQUIRE(o.kind() == Json::Kind::kObject);
  REQUIRE(o.members().size() == 2);
  CHECK(o.members()[0].first == "b");  // source order
  CHECK(o.members()[1].first == "a");
  REQUIRE(o.Find("a") != nullptr);
  REQUIRE(o.Find("a")->Find("c") != nullptr);
  CHECK(o.Find("a")->Find("c")->boolean());
  CHECK(o.Find("missing") == nullptr);
  CHECK(a.Find("b") == nullptr);  // not an object
}

TEST_CASE("json accessors of another kind are empty", "[json]") {
  Json n = Parse("5");
  CHECK(n.string().empty());
  CHECK_FALSE(n.boolean());
  CHECK(n.items().empty());
  CHECK(n.members().empty());
  CHECK(Parse("\"5\"").number_text().empty());
}

TEST_CASE("json numbers keep their text", "[json]") {
  for (const char* text :
       {"0", "-0", "1.0", "1.50e3", "1E-7", "-0.0e+0", "123456789012345678901234567890", "1e400"}) {
    INFO(text);
    Json n = Parse(text);
    CHECK(n.number_text() == text);
    CHECK(WriteJson(n) == text);
  }
  CHECK(Parse("1.0") != Parse("1"));
  CHECK(Parse("-0") != Parse("0"));
  CHECK(Parse("1e3") != Parse("1000"));
}

TEST_CASE("json string escapes decode to UTF-8", "[json]") {
  CHECK(Parse(R"("\" \\ \/ \b \f \n \r \t")").string() == "\" \\ / \b \f \n \r \t");
  CHECK(Parse(R"("\u0041\u00e9\u20AC")").string() == "A\xC3\xA9\xE2\x82\xAC");
  CHECK(Parse(R"("\u0000")").string() == std::string("\0", 1));
  // Surrogate pairs: U+1F389 and U+10FFFF.
  CHECK(Parse(R"("\ud83c\udf89")").string() == "\xF0\x9F\x8E\x89");
  CHECK(Parse(R"("\uDBFF\uDFFF")").string() == "\xF4\x8F\xBF\xBF");
  // Raw UTF-8 passes through as is.
  CHECK(Parse("\"ünïcødé 日本 🎉\"").string() == "ünïcødé 日本 🎉");
}

TEST_CASE("json refusals name the byte and what was expected", "[json]") {
  struct Case {
    const char* name;
    std::string text;
    const char* message;
  };
  const Case cases[] = {
      {"empty document", "", "at byte 0: expected a value"},
      {"only whitespace", "  \n", "at byte 3: expected a value"},
      {"trailing garbage", "{} x", "at byte 3: expected the end of the document"},
      {"two values", "1 2", "at byte 2: expected the end of the document"},
      {"leading zero", "[01]", "at byte 1: expected a number without leading zeros"},
      {"negative leading zero", "-012", "at byte 1: expected a number without leading zeros"},
      {"bare minus", "-", "at byte 1: expected a digit"},
      {"dot without digits", "1.", "at byte 2: expected a digit after '.'"},
      {"leading dot", ".5", "at byte 0: expected a value"},
      {"plus sign", "+1", "at byte 0: expected a value"},
      {"empty exponent", "1e+", "at byte 3: expected a digit in the exponent"},
      {"NaN", "NaN", "at byte 0: expected a value"},
      {"Infinity", "[-Infinity]", "at byte 2: expected a digit"},
      {"truncated literal", "tru", "at byte 0: expected a value ('true'?)"},
      {"capitalized literal", "True", "at byte 0: expected a value"},
      {"trailing comma in array", "[1,2,]", "at byte 5: expected a value, not a trailing comma"},
      {"trailing comma in object", "{\"a\":1 , }",
       "at byte 9: expected a '\"' to start a member name, not a trailing comma"},
      {"missing comma", "[1 2]", "at byte 3: expected ',' or ']'"},
      {"leading comma in array", "[,1]", "at byte 1: expected a value"},
      {"double comma", "[1,,2]", "at byte 3: expected a value"},
      {"lone comma in object", "{,}", "at byte 1: expected a '\"' to start a member name"},
      {"missing colon", "{\"a\" 1}", "at byte 5: expected ':'"},
      {"unquoted key", "{a:1}", "at byte 1: expected a '\"' to start a member name"},
      {"single quotes", "['a']", "at byte 1: expected a value"},
      {"duplicate key", "{\"a\":1,\"b\":2,\"a\":3}",
       "at byte 13: expected unique member names, not a second \"a\""},
      {"duplicate escaped key", "{\"a\\n\":1,\"a\\u000a\":2}",
       "at byte 9: expected unique member names, not a second \"a\\n\""},
      {"unterminated string", "\"abc", "at byte 4: expected '\"' to end the string"},
      {"unterminated array", "[1", "at byte 2: expected ',' or ']'"},
      {"unterminated object", "{\"a\":1", "at byte 6: expected ',' or '}'"},
      {"raw newline in string", "\"a\nb\"",
       "at byte 2: expected an escape for the control character in the string"},
      {"raw tab in string", "\"\t\"",
       "at byte 1: expected an escape for the control character in the string"},
      {"unknown escape", R"("a\x")", "at byte 2: expected an escape"},
      {"short \\u escape", R"("\u12")", "at byte 5: expected 4 hex digits after \\u"},
      {"lone high surrogate", R"("x\ud83c")",
       "at byte 2: expected a \\u low surrogate after a high one (lone surrogate)"},
      {"high surrogate then other escape", R"("\ud83c\n")",
       "at byte 1: expected a \\u low surrogate after a high one (lone surrogate)"},
      {"high surrogate then non-surrogate", R"("\ud83c\u0041")",
       "at byte 1: expected a low surrogate after a high one (lone surrogate)"},
      {"lone low surrogate", R"(["\udf89"])",
       "at byte 2: expected a high surrogate before a low one (lone surrogate)"},
      {"invalid UTF-8 byte", "\"a\xFF\"", "at byte 2: expected valid UTF-8"},
      {"truncated UTF-8", "\"\xC3\"", "at byte 1: expected valid UTF-8"},
      {"overlong UTF-8", "\"\xC0\xAF\"", "at byte 1: expected valid UTF-8"},
      {"UTF-8 encoded surrogate", "\"\xED\xA0\x80\"", "at byte 1: expected valid UTF-8"},
      {"beyond U+10FFFF", "\"\xF4\x90\x80\x80\"", "at byte 1: expected valid UTF-8"},
      {"byte order mark", "\xEF\xBB\xBF{}", "at byte 0: expected a value"},
      {"comment", "[1 /* c */]", "at byte 3: expected ',' or ']'"},
      {"nested too deep", std::string(513, '[') + std::string(513, ']'),
       "at byte 512: expected nesting at most 512 deep"},
  };
  for (const Case& c : cases) {
    SECTION(c.name) {
      const std::string message = ErrorOf(c.text);
      INFO(message);
      CHECK(message.rfind("invalid JSON ", 0) == 0);
      CHECK(message.find(c.message) != std::string::npos);
    }
  }
}

TEST_CASE("json nesting up to the limit is accepted", "[json]") {
  Json deep = Parse(std::string(512, '[') + std::string(512, ']'));
  CHECK(deep.kind() == Json::Kind::kArray);
  std::string objects;
  for (int i = 0; i < 512; ++i) objects += "{\"a\":";
  objects += "1" + std::string(512, '}');
  CHECK(WriteJson(Parse(objects)) == objects);
  // The 513th '{' starts at byte 512 * 5.
  CHECK(ErrorOf("{\"a\":" + objects + "}") ==
        "invalid JSON at byte 2560: expected nesting at most 512 deep");
}

TEST_CASE("json compact input round-trips to identical bytes", "[json]") {
  for (const char* text : {
           "null",
           "true",
           "false",
           "-1.25E-10",
           "\"\"",
           "[]",
           "{}",
           R"({"title":"Settings","options":{"uiSchema":{"ui:order":["b","a"]},"max":10.0}})",
           R"([1,"two",[3,[4]],{"z":null,"a":false}])",
           R"("quote \" backslash \\ slash / \b\f\n\r\t \u0000\u001f del )"
           "\x7F"
           R"( ünï 🎉")",
           R"({"":{"":[]}})",
       }) {
    INFO(text);
    CHECK(WriteJson(Parse(text)) == text);
  }
}

TEST_CASE("json pretty input is written in the compact canonical form", "[json]") {
  const char* pretty = R"(
    {
      "name" : "x\/y",
      "tags" : [ "a" , "\u00e9" ],
      "ctl"  : "\u0007\u000A\u001F",
      "nested": {
        "empty": { },
        "list": [ ]
      }
    }
  )";
  CHECK(
      WriteJson(Parse(pretty)) ==
      R"({"name":"x/y","tags":["a","é"],"ctl":"\u0007\n\u001f","nested":{"empty":{},"list":[]}})");
}

TEST_CASE("json values built by the factories write as JSON", "[json]") {
  Json v = Json::Object({
      {"n", Json::Number("1.0")},
      {"s", Json::String("a\"b")},
      {"l", Json::Array({Json::Bool(true), Json::Null()})},
  });
  CHECK(WriteJson(v) == R"({"n":1.0,"s":"a\"b","l":[true,null]})");
  CHECK(v == Parse(WriteJson(v)));
}

TEST_CASE("json equality ignores key order but not array order", "[json]") {
  CHECK(Parse(R"({"a":1,"b":{"x":[1,2],"y":"s"}})") == Parse(R"({"b":{"y":"s","x":[1,2]},"a":1})"));
  CHECK(Parse("[1,2]") != Parse("[2,1]"));
  CHECK(Parse("[1,2]") != Parse("[1,2,3]"));
  CHECK(Parse(R"({"a":1})") != Parse(R"({"a":1,"b":2})"));
  CHECK(Parse(R"({"a":1})") != Parse(R"({"b":1})"));
  CHECK(Parse(R"({"a":1})") != Parse(R"({"a":"1"})"));
  CHECK(Parse("\"1\"") != Parse("1"));
  CHECK(Parse("null") != Parse("false"));
  CHECK(Parse("true") != Parse("false"));
  CHECK(Parse("{}") != Parse("[]"));
  CHECK(Parse(R"("\u00e9")") == Parse("\"é\""));  // strings compare by decoded bytes
  CHECK(Parse("[]") == Json::Array({}));
  CHECK(Json() == Json::Null());
}

TEST_CASE("json paths", "[json]") {
  CHECK(JsonPath({}) == "");
  CHECK(JsonPath({std::string("options"), std::string("uiSchema"), std::string("title")}) ==
        "options.uiSchema.title");
  CHECK(JsonPath({std::string("items"), size_t{2}, std::string("name")}) == "items[2].name");
  CHECK(JsonPath({std::string("options"), std::string("a.b"), std::string("x")}) ==
        "options[\"a.b\"].x");
  CHECK(JsonPath({size_t{0}, size_t{10}}) == "[0][10]");
  CHECK(JsonPath({std::string("$ref"), std::string("_x-1")}) == "$ref._x-1");
  CHECK(JsonPath({std::string("1st"), std::string("-x"), std::string("")}) ==
        "[\"1st\"][\"-x\"][\"\"]");
  CHECK(JsonPath({std::string("say \"hi\"\n")}) == R"(["say \"hi\"\n"])");
  CHECK(JsonPath({std::string("ui:order"), size_t{1}}) == "[\"ui:order\"][1]");
}
