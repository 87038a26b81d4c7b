// Recursive-descent implementation of the strict JSON parser declared in
// Json.h.
#include "Json.h"

#include <cassert>
#include <charconv>
#include <cstdio>
#include <unordered_set>

namespace ssm::runtime::json {

//===----------------------------------------------------------------------===//
// Value
//===----------------------------------------------------------------------===//

Value Value::makeBool(bool value) {
  Value result;
  result.valueKind = Kind::Bool;
  result.boolValue = value;
  return result;
}

Value Value::makeNumber(double value, std::optional<int64_t> exactInt64,
                        std::optional<uint64_t> exactUInt64) {
  Value result;
  result.valueKind = Kind::Number;
  result.numberValue = value;
  result.int64Value = exactInt64;
  result.uint64Value = exactUInt64;
  return result;
}

Value Value::makeString(std::string value) {
  Value result;
  result.valueKind = Kind::String;
  result.stringValue = std::move(value);
  return result;
}

Value Value::makeArray(Array elements) {
  Value result;
  result.valueKind = Kind::Array;
  result.arrayValue = std::move(elements);
  return result;
}

Value Value::makeObject(Object members) {
  Value result;
  result.valueKind = Kind::Object;
  result.objectValue = std::move(members);
  return result;
}

bool Value::getBool() const {
  assert(isBool());
  return boolValue;
}

double Value::getDouble() const {
  assert(isNumber());
  return numberValue;
}

std::optional<int64_t> Value::getInt64() const {
  assert(isNumber());
  return int64Value;
}

std::optional<uint64_t> Value::getUInt64() const {
  assert(isNumber());
  return uint64Value;
}

const std::string &Value::getString() const {
  assert(isString());
  return stringValue;
}

const Array &Value::getArray() const {
  assert(isArray());
  return arrayValue;
}

const Object &Value::getObject() const {
  assert(isObject());
  return objectValue;
}

const Value *Value::find(std::string_view key) const {
  if (!isObject())
    return nullptr;
  for (const Member &member : objectValue)
    if (member.key == key)
      return &member.value;
  return nullptr;
}

const char *kindName(Value::Kind kind) {
  switch (kind) {
  case Value::Kind::Null:
    return "null";
  case Value::Kind::Bool:
    return "bool";
  case Value::Kind::Number:
    return "number";
  case Value::Kind::String:
    return "string";
  case Value::Kind::Array:
    return "array";
  case Value::Kind::Object:
    return "object";
  }
  return "unknown";
}

std::string describe(const Value &value) {
  switch (value.kind()) {
  case Value::Kind::Number: {
    if (auto exact = value.getInt64())
      return std::to_string(*exact);
    if (auto exact = value.getUInt64())
      return std::to_string(*exact);
    char buffer[32];
    std::snprintf(buffer, sizeof(buffer), "%.17g", value.getDouble());
    return buffer;
  }
  case Value::Kind::String:
    return "\"" + value.getString() + "\"";
  case Value::Kind::Array:
  case Value::Kind::Object:
    return std::string("an ") + kindName(value.kind());
  default:
    return std::string("a ") + kindName(value.kind());
  }
}

std::string quote(std::string_view text) {
  std::string result;
  result.reserve(text.size() + 2);
  result += '"';
  for (char c : text) {
    switch (c) {
    case '"':
      result += "\\\"";
      break;
    case '\\':
      result += "\\\\";
      break;
    case '\n':
      result += "\\n";
      break;
    case '\t':
      result += "\\t";
      break;
    case '\r':
      result += "\\r";
      break;
    default:
      if (static_cast<unsigned char>(c) < 0x20) {
        char buffer[8];
        std::snprintf(buffer, sizeof(buffer), "\\u%04X",
                      static_cast<unsigned>(static_cast<unsigned char>(c)));
        result += buffer;
      } else {
        result += c;
      }
    }
  }
  result += '"';
  return result;
}

std::string ParseError::toString() const {
  return "byte " + std::to_string(offset) + ": " + message;
}

//===----------------------------------------------------------------------===//
// Parser
//===----------------------------------------------------------------------===//

namespace {

// Names a byte in an error message: 'x' when printable, else its hex value.
std::string describeByte(unsigned char byte) {
  char buffer[16];
  if (byte >= 0x20 && byte < 0x7f)
    std::snprintf(buffer, sizeof(buffer), "'%c'", byte);
  else
    std::snprintf(buffer, sizeof(buffer), "byte 0x%02X", byte);
  return buffer;
}

void appendUtf8(std::string &out, uint32_t codePoint) {
  if (codePoint < 0x80) {
    out += static_cast<char>(codePoint);
  } else if (codePoint < 0x800) {
    out += static_cast<char>(0xC0 | (codePoint >> 6));
    out += static_cast<char>(0x80 | (codePoint & 0x3F));
  } else if (codePoint < 0x10000) {
    out += static_cast<char>(0xE0 | (codePoint >> 12));
    out += static_cast<char>(0x80 | ((codePoint >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (codePoint & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (codePoint >> 18));
    out += static_cast<char>(0x80 | ((codePoint >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((codePoint >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (codePoint & 0x3F));
  }
}

bool isDigit(char c) { return c >= '0' && c <= '9'; }

class Parser {
public:
  Parser(std::string_view text, ParseError &error, unsigned maxDepth)
      : text(text), error(error), maxDepth(maxDepth) {}

  std::optional<Value> parseDocument() {
    Value result;
    skipWhitespace();
    if (!parseValue(result, 0))
      return std::nullopt;
    skipWhitespace();
    if (pos != text.size()) {
      fail(pos, "unexpected " + describeByte(peek()) +
                    " after the end of the JSON value");
      return std::nullopt;
    }
    return result;
  }

private:
  std::string_view text;
  ParseError &error;
  unsigned maxDepth;
  size_t pos = 0;

  bool atEnd() const { return pos >= text.size(); }
  unsigned char peek() const { return static_cast<unsigned char>(text[pos]); }

  bool fail(size_t offset, std::string message) {
    error.offset = offset;
    error.message = std::move(message);
    return false;
  }

  // RFC 8259 whitespace only: no BOM, no comments, no other Unicode spaces.
  void skipWhitespace() {
    while (!atEnd()) {
      char c = text[pos];
      if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
        return;
      ++pos;
    }
  }

  bool parseValue(Value &out, unsigned depth) {
    if (atEnd())
      return fail(pos, "unexpected end of input, expected a value");
    switch (text[pos]) {
    case '{':
      return parseObject(out, depth + 1);
    case '[':
      return parseArray(out, depth + 1);
    case '"': {
      std::string value;
      if (!parseString(value))
        return false;
      out = Value::makeString(std::move(value));
      return true;
    }
    case 't':
      return parseLiteral("true", Value::makeBool(true), out);
    case 'f':
      return parseLiteral("false", Value::makeBool(false), out);
    case 'n':
      return parseLiteral("null", Value::makeNull(), out);
    default:
      if (text[pos] == '-' || isDigit(text[pos]))
        return parseNumber(out);
      return fail(pos,
                  "unexpected " + describeByte(peek()) + ", expected a value");
    }
  }

  bool parseLiteral(std::string_view literal, Value value, Value &out) {
    if (text.substr(pos, literal.size()) != literal)
      return fail(pos,
                  "invalid literal, expected '" + std::string(literal) + "'");
    pos += literal.size();
    out = std::move(value);
    return true;
  }

  bool checkDepth(unsigned depth) {
    if (depth > maxDepth)
      return fail(pos, "nesting deeper than " + std::to_string(maxDepth) +
                           " levels");
    return true;
  }

  bool parseArray(Value &out, unsigned depth) {
    if (!checkDepth(depth))
      return false;
    ++pos; // '['
    Array elements;
    skipWhitespace();
    if (!atEnd() && text[pos] == ']') {
      ++pos;
      out = Value::makeArray(std::move(elements));
      return true;
    }
    while (true) {
      skipWhitespace();
      Value element;
      if (!parseValue(element, depth))
        return false;
      elements.push_back(std::move(element));
      skipWhitespace();
      if (atEnd())
        return fail(pos, "unexpected end of input inside an array");
      if (text[pos] == ',') {
        ++pos;
        continue;
      }
      if (text[pos] == ']') {
        ++pos;
        break;
      }
      return fail(pos, "unexpected " + describeByte(peek()) +
                           ", expected ',' or ']' in an array");
    }
    out = Value::makeArray(std::move(elements));
    return true;
  }

  bool parseObject(Value &out, unsigned depth) {
    if (!checkDepth(depth))
      return false;
    ++pos; // '{'
    Object members;
    std::unordered_set<std::string> seenKeys;
    skipWhitespace();
    if (!atEnd() && text[pos] == '}') {
      ++pos;
      out = Value::makeObject(std::move(members));
      return true;
    }
    while (true) {
      skipWhitespace();
      if (atEnd())
        return fail(pos, "unexpected end of input inside an object");
      if (text[pos] != '"')
        return fail(pos, "unexpected " + describeByte(peek()) +
                             ", expected a string key in an object");
      size_t keyOffset = pos;
      std::string key;
      if (!parseString(key))
        return false;
      if (!seenKeys.insert(key).second)
        return fail(keyOffset, "duplicate key \"" + key + "\" in an object");
      skipWhitespace();
      if (atEnd() || text[pos] != ':')
        return fail(pos, "expected ':' after an object key");
      ++pos;
      skipWhitespace();
      Value value;
      if (!parseValue(value, depth))
        return false;
      members.push_back(Member{std::move(key), std::move(value)});
      skipWhitespace();
      if (atEnd())
        return fail(pos, "unexpected end of input inside an object");
      if (text[pos] == ',') {
        ++pos;
        continue;
      }
      if (text[pos] == '}') {
        ++pos;
        break;
      }
      return fail(pos, "unexpected " + describeByte(peek()) +
                           ", expected ',' or '}' in an object");
    }
    out = Value::makeObject(std::move(members));
    return true;
  }

  // Reads 4 hex digits at pos.
  bool parseHex4(uint32_t &out) {
    if (text.size() - pos < 4)
      return fail(pos, "unexpected end of input in a \\u escape");
    out = 0;
    for (int i = 0; i < 4; ++i) {
      char c = text[pos + i];
      uint32_t digit;
      if (c >= '0' && c <= '9')
        digit = c - '0';
      else if (c >= 'a' && c <= 'f')
        digit = c - 'a' + 10;
      else if (c >= 'A' && c <= 'F')
        digit = c - 'A' + 10;
      else
        return fail(pos + i, "invalid hex digit in a \\u escape");
      out = out * 16 + digit;
    }
    pos += 4;
    return true;
  }

  // Called after the backslash of a \u escape; handles surrogate pairs.
  bool parseUnicodeEscape(std::string &out, size_t escapeOffset) {
    uint32_t unit;
    if (!parseHex4(unit))
      return false;
    if (unit >= 0xDC00 && unit <= 0xDFFF)
      return fail(escapeOffset, "unpaired low surrogate in a \\u escape");
    if (unit >= 0xD800 && unit <= 0xDBFF) {
      if (text.substr(pos, 2) != "\\u")
        return fail(escapeOffset, "unpaired high surrogate in a \\u escape");
      size_t lowOffset = pos;
      pos += 2;
      uint32_t low;
      if (!parseHex4(low))
        return false;
      if (low < 0xDC00 || low > 0xDFFF)
        return fail(lowOffset,
                    "high surrogate not followed by a low surrogate");
      unit = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00);
    }
    appendUtf8(out, unit);
    return true;
  }

  // Validates one UTF-8 sequence starting at pos (a byte >= 0x80) and
  // appends it; rejects overlong forms, surrogates and values > U+10FFFF.
  bool copyUtf8Sequence(std::string &out) {
    unsigned char lead = peek();
    size_t length;
    unsigned char secondMin = 0x80, secondMax = 0xBF;
    if (lead >= 0xC2 && lead <= 0xDF) {
      length = 2;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
      length = 3;
      if (lead == 0xE0)
        secondMin = 0xA0; // overlong
      else if (lead == 0xED)
        secondMax = 0x9F; // UTF-16 surrogates
    } else if (lead >= 0xF0 && lead <= 0xF4) {
      length = 4;
      if (lead == 0xF0)
        secondMin = 0x90; // overlong
      else if (lead == 0xF4)
        secondMax = 0x8F; // above U+10FFFF
    } else {
      return fail(pos,
                  "invalid UTF-8 lead " + describeByte(lead) + " in a string");
    }
    if (text.size() - pos < length)
      return fail(pos, "truncated UTF-8 sequence in a string");
    for (size_t i = 1; i < length; ++i) {
      auto byte = static_cast<unsigned char>(text[pos + i]);
      unsigned char low = i == 1 ? secondMin : 0x80;
      unsigned char high = i == 1 ? secondMax : 0xBF;
      if (byte < low || byte > high)
        return fail(pos, "invalid UTF-8 sequence in a string");
    }
    out.append(text.data() + pos, length);
    pos += length;
    return true;
  }

  bool parseString(std::string &out) {
    size_t start = pos;
    ++pos; // opening quote
    while (true) {
      if (atEnd())
        return fail(start, "unterminated string");
      unsigned char c = peek();
      if (c == '"') {
        ++pos;
        return true;
      }
      if (c < 0x20) {
        char buffer[64];
        std::snprintf(buffer, sizeof(buffer),
                      "unescaped control character U+%04X in a string", c);
        return fail(pos, buffer);
      }
      if (c >= 0x80) {
        if (!copyUtf8Sequence(out))
          return false;
        continue;
      }
      if (c != '\\') {
        out += static_cast<char>(c);
        ++pos;
        continue;
      }
      size_t escapeOffset = pos;
      ++pos;
      if (atEnd())
        return fail(start, "unterminated string");
      char escape = text[pos++];
      switch (escape) {
      case '"':
        out += '"';
        break;
      case '\\':
        out += '\\';
        break;
      case '/':
        out += '/';
        break;
      case 'b':
        out += '\b';
        break;
      case 'f':
        out += '\f';
        break;
      case 'n':
        out += '\n';
        break;
      case 'r':
        out += '\r';
        break;
      case 't':
        out += '\t';
        break;
      case 'u':
        if (!parseUnicodeEscape(out, escapeOffset))
          return false;
        break;
      default:
        return fail(escapeOffset,
                    "invalid escape \\" +
                        describeByte(static_cast<unsigned char>(escape)) +
                        " in a string");
      }
    }
  }

  bool parseNumber(Value &out) {
    size_t start = pos;
    bool negative = false;
    if (text[pos] == '-') {
      negative = true;
      ++pos;
    }
    if (atEnd() || !isDigit(text[pos]))
      return fail(pos, "expected a digit in a number");
    size_t firstDigit = pos;
    if (text[pos] == '0') {
      ++pos;
      if (!atEnd() && isDigit(text[pos]))
        return fail(firstDigit, "leading zeros are not allowed in a number");
    } else {
      while (!atEnd() && isDigit(text[pos]))
        ++pos;
    }
    size_t integerEnd = pos;
    bool isInteger = true;
    if (!atEnd() && text[pos] == '.') {
      isInteger = false;
      ++pos;
      if (atEnd() || !isDigit(text[pos]))
        return fail(pos, "expected a digit after the decimal point");
      while (!atEnd() && isDigit(text[pos]))
        ++pos;
    }
    // Saturated decimal exponent, used only to tell overflow from underflow.
    int64_t exponent = 0;
    if (!atEnd() && (text[pos] == 'e' || text[pos] == 'E')) {
      isInteger = false;
      ++pos;
      bool negativeExponent = false;
      if (!atEnd() && (text[pos] == '+' || text[pos] == '-')) {
        negativeExponent = text[pos] == '-';
        ++pos;
      }
      if (atEnd() || !isDigit(text[pos]))
        return fail(pos, "expected a digit in the exponent");
      while (!atEnd() && isDigit(text[pos])) {
        if (exponent < 1000000000)
          exponent = exponent * 10 + (text[pos] - '0');
        ++pos;
      }
      if (negativeExponent)
        exponent = -exponent;
    }
    std::string_view literal = text.substr(start, pos - start);

    double value = 0.0;
    auto [end, errc] =
        std::from_chars(literal.data(), literal.data() + literal.size(), value);
    if (errc == std::errc::result_out_of_range) {
      // from_chars reports underflow and overflow alike; underflow becomes
      // zero (as rounding would), overflow is an error.
      if (decimalMagnitude(firstDigit, integerEnd, exponent) > 0)
        return fail(start, "number " + std::string(literal) +
                               " is out of the range of a double");
      value = negative ? -0.0 : 0.0;
    } else if (errc != std::errc() || end != literal.data() + literal.size()) {
      return fail(start, "invalid number " + std::string(literal));
    }

    std::optional<int64_t> exactInt64;
    std::optional<uint64_t> exactUInt64;
    if (isInteger) {
      uint64_t magnitude = 0;
      bool overflow = false;
      for (size_t i = firstDigit; i < integerEnd; ++i) {
        uint64_t digit = static_cast<uint64_t>(text[i] - '0');
        if (magnitude > (UINT64_MAX - digit) / 10) {
          overflow = true;
          break;
        }
        magnitude = magnitude * 10 + digit;
      }
      if (!overflow) {
        if (!negative) {
          exactUInt64 = magnitude;
          if (magnitude <= static_cast<uint64_t>(INT64_MAX))
            exactInt64 = static_cast<int64_t>(magnitude);
        } else {
          if (magnitude == 0)
            exactUInt64 = 0;
          if (magnitude <= static_cast<uint64_t>(INT64_MAX))
            exactInt64 = -static_cast<int64_t>(magnitude);
          else if (magnitude == static_cast<uint64_t>(INT64_MAX) + 1)
            exactInt64 = INT64_MIN;
        }
      }
    }
    out = Value::makeNumber(value, exactInt64, exactUInt64);
    return true;
  }

  // The power of ten of the first significant digit of the number whose
  // integer digits start at `firstDigit` and end at `integerEnd` (fraction
  // digits follow after a '.'), with decimal exponent `exponent`; 0 for zero.
  int64_t decimalMagnitude(size_t firstDigit, size_t integerEnd,
                           int64_t exponent) const {
    for (size_t i = firstDigit; i < integerEnd; ++i)
      if (text[i] != '0')
        return static_cast<int64_t>(integerEnd - i - 1) + exponent;
    if (integerEnd < text.size() && text[integerEnd] == '.') {
      for (size_t i = integerEnd + 1; i < text.size() && isDigit(text[i]); ++i)
        if (text[i] != '0')
          return -static_cast<int64_t>(i - integerEnd) + exponent;
    }
    return 0;
  }
};

} // namespace

std::optional<Value> parse(std::string_view text, ParseError &error,
                           unsigned maxDepth) {
  Parser parser(text, error, maxDepth);
  return parser.parseDocument();
}

} // namespace ssm::runtime::json
