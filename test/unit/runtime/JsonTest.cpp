// Tests of the strict JSON parser: every kind of value, escapes, limits and
// syntax errors.
#include "Json.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>

using namespace ssm::runtime::json;

namespace {

Value parseOk(std::string_view text) {
  ParseError error;
  std::optional<Value> value = parse(text, error);
  EXPECT_TRUE(value.has_value())
      << "input: " << text << "\nerror: " << error.toString();
  return value ? *value : Value();
}

// Parses `text`, expects failure and returns the error.
ParseError parseFail(std::string_view text,
                     unsigned maxDepth = kDefaultMaxDepth) {
  ParseError error;
  std::optional<Value> value = parse(text, error, maxDepth);
  EXPECT_FALSE(value.has_value()) << "input unexpectedly parsed: " << text;
  return error;
}

std::string parseString(std::string_view text) {
  Value value = parseOk(text);
  EXPECT_TRUE(value.isString()) << text;
  return value.isString() ? value.getString() : "";
}

} // namespace

TEST(JsonTest, Literals) {
  EXPECT_TRUE(parseOk("null").isNull());
  Value t = parseOk("true"), f = parseOk("false");
  ASSERT_TRUE(t.isBool());
  ASSERT_TRUE(f.isBool());
  EXPECT_TRUE(t.getBool());
  EXPECT_FALSE(f.getBool());
  EXPECT_EQ(parseOk(" \t\r\n null \n").kind(), Value::Kind::Null);
}

TEST(JsonTest, Numbers) {
  struct Case {
    const char *text;
    double value;
  } cases[] = {{"0", 0.0},
               {"7", 7.0},
               {"-12", -12.0},
               {"0.5", 0.5},
               {"-12.5e3", -12500.0},
               {"1E+2", 100.0},
               {"1e-2", 0.01},
               {"2.5E-1", 0.25},
               {"123456789", 123456789.0}};
  for (const Case &c : cases) {
    Value value = parseOk(c.text);
    ASSERT_TRUE(value.isNumber()) << c.text;
    EXPECT_EQ(value.getDouble(), c.value) << c.text;
  }
}

TEST(JsonTest, IntegerLiteralsKeepExactValues) {
  Value big = parseOk("9007199254740993"); // 2^53 + 1: not a double
  EXPECT_EQ(big.getInt64(), std::optional<int64_t>(9007199254740993LL));
  EXPECT_EQ(big.getUInt64(), std::optional<uint64_t>(9007199254740993ULL));

  Value maxU = parseOk("18446744073709551615");
  EXPECT_EQ(maxU.getInt64(), std::nullopt);
  EXPECT_EQ(maxU.getUInt64(), std::optional<uint64_t>(UINT64_MAX));

  Value minI = parseOk("-9223372036854775808");
  EXPECT_EQ(minI.getInt64(), std::optional<int64_t>(INT64_MIN));
  EXPECT_EQ(minI.getUInt64(), std::nullopt);

  Value tooBig = parseOk("18446744073709551616");
  EXPECT_EQ(tooBig.getInt64(), std::nullopt);
  EXPECT_EQ(tooBig.getUInt64(), std::nullopt);
  EXPECT_EQ(tooBig.getDouble(), 18446744073709551616.0);

  Value negative = parseOk("-5");
  EXPECT_EQ(negative.getInt64(), std::optional<int64_t>(-5));
  EXPECT_EQ(negative.getUInt64(), std::nullopt);

  // A fraction or exponent means "not an integer literal", even if integral.
  EXPECT_EQ(parseOk("1.0").getInt64(), std::nullopt);
  EXPECT_EQ(parseOk("1e2").getUInt64(), std::nullopt);
  EXPECT_EQ(parseOk("1e2").getDouble(), 100.0);
}

TEST(JsonTest, NegativeZero) {
  Value zero = parseOk("-0");
  EXPECT_EQ(zero.getDouble(), 0.0);
  // An integer literal is read as an integer: -0 is 0.
  EXPECT_EQ(zero.getInt64(), std::optional<int64_t>(0));
  EXPECT_TRUE(std::signbit(parseOk("-0.0").getDouble()));
  EXPECT_FALSE(std::signbit(parseOk("0").getDouble()));
}

TEST(JsonTest, NumbersBeyondDoubleRange) {
  ParseError error = parseFail("1e400");
  EXPECT_NE(error.message.find("number overflow"), std::string::npos)
      << error.message;
  parseFail("-1e400");
  parseFail("[1, 123456789e302]");
  parseFail("1e99999999999999999999");
  // Too small to represent underflows to a signed zero, like rounding would.
  Value tiny = parseOk("1e-400");
  EXPECT_EQ(tiny.getDouble(), 0.0);
  EXPECT_FALSE(std::signbit(tiny.getDouble()));
  EXPECT_TRUE(std::signbit(parseOk("-1e-400").getDouble()));
  EXPECT_EQ(parseOk("0.0000001e-320").getDouble(), 0.0);
  EXPECT_EQ(parseOk("0e99999").getDouble(), 0.0);
  EXPECT_EQ(parseOk("1.7976931348623157e308").getDouble(),
            1.7976931348623157e308);
}

TEST(JsonTest, LeadingZerosRejected) {
  // 0 ends a number: what follows is a second, unexpected one.
  for (const char *text : {"01", "-01", "00", "[007]", "00.5", "[1, 02]"}) {
    ParseError error = parseFail(text);
    EXPECT_NE(error.message.find("unexpected number literal"),
              std::string::npos)
        << text << ": " << error.message;
  }
}

TEST(JsonTest, MalformedNumbersRejected) {
  for (const char *text :
       {"-", "1.", ".5", "+1", "1e", "1e+", "1E-", "0x10", "NaN", "Infinity",
        "-Infinity", "1.5.2", "- 1", "1.e5", "--1", "1ee5"})
    parseFail(text);
}

TEST(JsonTest, StringEscapes) {
  EXPECT_EQ(parseString(R"("plain")"), "plain");
  EXPECT_EQ(parseString(R"("")"), "");
  EXPECT_EQ(parseString(R"("\"\\\/\b\f\n\r\t")"), "\"\\/\b\f\n\r\t");
  EXPECT_EQ(parseString(R"("a\u0041b")"), "aAb");
  EXPECT_EQ(parseString(R"("\u00e9\u00E9")"), "\xC3\xA9\xC3\xA9");
  EXPECT_EQ(parseString(R"("\u20AC")"), "\xE2\x82\xAC");
  EXPECT_EQ(parseString(R"("\uFFFF")"), "\xEF\xBF\xBF");
  EXPECT_EQ(parseString(R"("\u0000")"), std::string(1, '\0'));
  EXPECT_EQ(parseString("\"\x7F\""), "\x7F"); // DEL needs no escape
}

TEST(JsonTest, SurrogatePairsBecomeUtf8) {
  EXPECT_EQ(parseString(R"("\uD83D\uDE00")"), "\xF0\x9F\x98\x80"); // U+1F600
  EXPECT_EQ(parseString(R"("\ud800\udc00")"), "\xF0\x90\x80\x80"); // U+10000
  EXPECT_EQ(parseString(R"("\uDBFF\uDFFF")"), "\xF4\x8F\xBF\xBF"); // U+10FFFF
}

TEST(JsonTest, BrokenUnicodeEscapesRejected) {
  for (const char *text :
       {R"("\uD83D")", R"("\uD83Dx")", R"("\uDE00")", R"("\uD83D\u0041")",
        R"("\uD83D\uD83D")", R"("\u12G4")", R"("\u12")", R"("\u")",
        R"("\uD83D\u")", R"("\uD83D\")"})
    parseFail(text);
  EXPECT_NE(parseFail(R"(["\uDE00"])").message.find("surrogate"),
            std::string::npos);
}

TEST(JsonTest, InvalidEscapesRejected) {
  for (const char *text :
       {R"("\x41")", R"("\'")", R"("\a")", R"("\U0041")", R"("\0")", "\"\\"})
    parseFail(text);
}

TEST(JsonTest, ControlCharactersInStringsRejected) {
  for (char c : {'\0', '\x01', '\t', '\n', '\r', '\x1F'}) {
    std::string text = std::string("\"a") + c + "b\"";
    ParseError error = parseFail(text);
    EXPECT_EQ(error.offset, 2u) << static_cast<int>(c);
    EXPECT_NE(error.message.find(c == '\0' ? "0x00" : "control character"),
              std::string::npos)
        << error.message;
  }
}

TEST(JsonTest, Utf8IsValidated) {
  EXPECT_EQ(parseString("\"\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80\""),
            "\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80");
  for (const char *text : {
           "\"\xC0\xAF\"",         // overlong '/'
           "\"\xE0\x80\xAF\"",     // overlong, 3 bytes
           "\"\xED\xA0\x80\"",     // encoded surrogate
           "\"\xF4\x90\x80\x80\"", // above U+10FFFF
           "\"\xFF\"",             // never valid
           "\"\x80\"",             // lone continuation byte
           "\"\xE2\x82\"",         // truncated
           "\"\xE2\x82",           // truncated at end of input
       })
    parseFail(text);
}

TEST(JsonTest, ArraysAndObjectsKeepOrder) {
  Value value = parseOk(
      R"({"b": [1, "two", null, true, {"x": []}], "a": {}, "c": -3.5})");
  ASSERT_TRUE(value.isObject());
  const Object &members = value.getObject();
  ASSERT_EQ(members.size(), 3u);
  EXPECT_EQ(members[0].key, "b");
  EXPECT_EQ(members[1].key, "a");
  EXPECT_EQ(members[2].key, "c");
  const Array &array = members[0].value.getArray();
  ASSERT_EQ(array.size(), 5u);
  EXPECT_EQ(array[0].getInt64(), std::optional<int64_t>(1));
  EXPECT_EQ(array[1].getString(), "two");
  EXPECT_TRUE(array[2].isNull());
  EXPECT_TRUE(array[3].getBool());
  ASSERT_NE(array[4].find("x"), nullptr);
  EXPECT_TRUE(array[4].find("x")->getArray().empty());
  EXPECT_TRUE(value.find("a")->getObject().empty());
  EXPECT_EQ(value.find("c")->getDouble(), -3.5);
  EXPECT_EQ(value.find("missing"), nullptr);
  EXPECT_EQ(array[0].find("b"), nullptr); // not an object
  EXPECT_TRUE(parseOk("[]").getArray().empty());
  EXPECT_TRUE(parseOk(" [ ] ").isArray());
  EXPECT_TRUE(parseOk("{ }").getObject().empty());
}

TEST(JsonTest, NestingLimit) {
  std::string ok = std::string(64, '[') + std::string(64, ']');
  parseOk(ok);
  std::string tooDeep = std::string(65, '[') + std::string(65, ']');
  ParseError error = parseFail(tooDeep);
  EXPECT_EQ(error.offset, 64u);
  EXPECT_NE(error.message.find("nesting deeper than 64"), std::string::npos);

  std::string objects;
  for (int i = 0; i < 65; ++i)
    objects += "{\"a\":";
  objects += "1" + std::string(65, '}');
  parseFail(objects);

  // Far deeper input fails fast instead of exhausting the stack.
  parseFail(std::string(1000000, '['));
  // The limit is a parameter.
  parseFail("[[1]]", 1);
  ParseError unused;
  EXPECT_TRUE(parse("[1]", unused, 1).has_value());
}

TEST(JsonTest, DuplicateKeysRejected) {
  ParseError error = parseFail(R"({"a": 1, "a": 2})");
  EXPECT_EQ(error.offset, 9u);
  EXPECT_NE(error.message.find("duplicate key \"a\""), std::string::npos);
  parseFail(R"({"x": {"k": 1, "j": 2, "k": 3}})");
  // Keys are compared after unescaping.
  parseFail(R"({"A": 1, "\u0041": 2})");
  // The same key in different objects is fine.
  parseOk(R"({"k": {"k": 1}, "j": {"k": 2}})");
}

TEST(JsonTest, SyntaxErrorsAreRejected) {
  // nlohmann-json's messages; the offset is where parsing stopped.
  struct Case {
    const char *text;
    const char *message;
  } cases[] = {
      {"", "unexpected end of input"},
      {"   ", "unexpected end of input"},
      {"[1,]", "unexpected ']'"},
      {"[1 2]", "expected ']'"},
      {"[", "unexpected end of input"},
      {"[1", "unexpected end of input"},
      {"{", "unexpected end of input"},
      {"{\"a\" 1}", "expected ':'"},
      {"{\"a\":}", "unexpected '}'"},
      {"{\"a\":1,}", "expected string literal"},
      {"{\"a\":1 \"b\":2}", "expected '}'"},
      {"{1:2}", "expected string literal"},
      {"{'a':1}", "invalid literal"},
      {"\"abc", "missing closing quote"},
      {"tru", "invalid literal"},
      {"nul", "invalid literal"},
      {"True", "invalid literal"},
      {"truex", "invalid literal"},
      {"{} {}", "expected end of input"},
      {"[1]]", "expected end of input"},
      {"// c\n{}", "invalid literal"}, // no comments
      {"\f1", "invalid literal"},      // not JSON whitespace
      {"1\v", "invalid literal"},
  };
  for (const Case &c : cases) {
    ParseError error = parseFail(c.text);
    EXPECT_LE(error.offset, std::string_view(c.text).size())
        << "input: " << c.text;
    EXPECT_NE(error.message.find(c.message), std::string::npos)
        << "input: " << c.text << "\nmessage: " << error.message;
  }
}

TEST(JsonTest, ByteOrderMarkRejected) {
  // nlohmann-json skips one; RFC 8259 parsers may refuse it, and we do.
  ParseError error = parseFail("\xEF\xBB\xBF{}");
  EXPECT_EQ(error.offset, 0u);
  EXPECT_NE(error.message.find("byte order mark"), std::string::npos)
      << error.message;
}

TEST(JsonTest, ErrorToStringNamesTheByte) {
  ParseError error = parseFail("[1,]");
  EXPECT_EQ(error.toString().rfind("byte 3: ", 0), 0u) << error.toString();
}

TEST(JsonTest, EmbeddedNulOutsideStringsRejected) {
  // nlohmann-json alone would stop at the NUL and accept "[1]".
  ParseError error = parseFail(std::string_view("[1]\0", 4));
  EXPECT_EQ(error.offset, 3u);
  EXPECT_NE(error.message.find("0x00"), std::string::npos) << error.message;
  parseFail(std::string_view("[1]\0 garbage", 12));
  parseFail(std::string_view("{\"a\0\": 1}", 9));
}

TEST(JsonTest, KindNames) {
  EXPECT_STREQ(kindName(Value::Kind::Null), "null");
  EXPECT_STREQ(kindName(Value::Kind::Bool), "bool");
  EXPECT_STREQ(kindName(Value::Kind::Number), "number");
  EXPECT_STREQ(kindName(Value::Kind::String), "string");
  EXPECT_STREQ(kindName(Value::Kind::Array), "array");
  EXPECT_STREQ(kindName(Value::Kind::Object), "object");
}
