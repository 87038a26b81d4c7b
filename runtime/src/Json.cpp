// The strict JSON parser declared in Json.h: nlohmann-json's SAX parser
// (RFC 8259 grammar, UTF-8 validation, surrogates, number range) building
// our Value, with the checks nlohmann leaves to its users (duplicate keys,
// nesting depth) and byte offsets for every error.
#include "Json.h"

// Errors come back through the SAX handler; nothing here may throw.
#define JSON_NOEXCEPTION
#include <nlohmann/json.hpp>

#include <fmt/format.h>

#include <cassert>
#include <iterator>
#include <set>

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
      return fmt::to_string(*exact);
    if (auto exact = value.getUInt64())
      return fmt::to_string(*exact);
    return fmt::format("{:.17g}", value.getDouble());
  }
  case Value::Kind::String:
    return fmt::format("\"{}\"", value.getString());
  case Value::Kind::Array:
  case Value::Kind::Object:
    return fmt::format("an {}", kindName(value.kind()));
  default:
    return fmt::format("a {}", kindName(value.kind()));
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
        fmt::format_to(std::back_inserter(result), "\\u{:04X}",
                       static_cast<unsigned char>(c));
      } else {
        result += c;
      }
    }
  }
  result += '"';
  return result;
}

std::string ParseError::toString() const {
  return fmt::format("byte {}: {}", offset, message);
}

//===----------------------------------------------------------------------===//
// Parser
//===----------------------------------------------------------------------===//

namespace {

/// Iterates over the text and counts the bytes nlohmann's lexer has taken,
/// so that the SAX callbacks, which carry no positions, can place errors.
class CountingIterator {
public:
  using iterator_category = std::forward_iterator_tag;
  using value_type = char;
  using difference_type = std::ptrdiff_t;
  using pointer = const char *;
  using reference = const char &;

  CountingIterator(const char *at, size_t *taken) : at(at), taken(taken) {}
  reference operator*() const { return *at; }
  CountingIterator &operator++() {
    ++at;
    ++*taken;
    return *this;
  }
  CountingIterator operator++(int) {
    CountingIterator before = *this;
    ++*this;
    return before;
  }
  bool operator==(const CountingIterator &other) const {
    return at == other.at;
  }
  bool operator!=(const CountingIterator &other) const {
    return at != other.at;
  }

private:
  const char *at;
  size_t *taken;
};

/// Builds Values from nlohmann's events; refuses duplicate keys and nesting
/// beyond the limit.
class Builder {
public:
  using number_integer_t = int64_t;
  using number_unsigned_t = uint64_t;
  using number_float_t = double;
  using string_t = std::string;
  using binary_t = std::vector<std::uint8_t>;

  Builder(std::string_view text, const size_t &taken, ParseError &error,
          unsigned maxDepth)
      : text(text), taken(taken), error(error), maxDepth(maxDepth) {}

  bool null() { return add(Value::makeNull()); }
  bool boolean(bool value) { return add(Value::makeBool(value)); }
  bool number_integer(int64_t value) {
    std::optional<uint64_t> asUnsigned;
    if (value >= 0)
      asUnsigned = static_cast<uint64_t>(value);
    return add(Value::makeNumber(static_cast<double>(value), value, asUnsigned));
  }
  bool number_unsigned(uint64_t value) {
    std::optional<int64_t> asSigned;
    if (value <= static_cast<uint64_t>(INT64_MAX))
      asSigned = static_cast<int64_t>(value);
    return add(Value::makeNumber(static_cast<double>(value), asSigned, value));
  }
  bool number_float(double value, const std::string &) {
    return add(Value::makeNumber(value));
  }
  bool string(std::string &value) {
    return add(Value::makeString(std::move(value)));
  }
  bool binary(binary_t &) { return false; } // not produced by JSON text

  bool start_object(std::size_t) { return open(/*isArray=*/false); }
  bool key(std::string &key) {
    Frame &frame = stack.back();
    if (!frame.keys.insert(key).second)
      return fail(openingQuoteOfLastString(),
                  fmt::format("duplicate key \"{}\" in an object", key));
    frame.pendingKey = std::move(key);
    return true;
  }
  bool end_object() { return close(); }
  bool start_array(std::size_t) { return open(/*isArray=*/true); }
  bool end_array() { return close(); }

  bool parse_error(std::size_t position, const std::string &,
                   const nlohmann::json::exception &exception) {
    // nlohmann's position counts the bytes read, the failing one (or the
    // end of input) included.
    size_t offset = position > 0 ? position - 1 : 0;
    return fail(std::min(offset, text.size()), cleanMessage(exception.what()));
  }

  std::optional<Value> takeResult() { return std::move(result); }

private:
  /// An array or object being read.
  struct Frame {
    bool isArray = false;
    Array elements;
    Object members;
    std::set<std::string> keys;
    std::string pendingKey;
  };

  std::string_view text;
  const size_t &taken;
  ParseError &error;
  unsigned maxDepth;
  std::vector<Frame> stack;
  std::optional<Value> result;
  bool failed = false;

  bool fail(size_t offset, std::string message) {
    if (failed)
      return false;
    failed = true;
    error.offset = offset;
    error.message = std::move(message);
    return false;
  }

  bool add(Value value) {
    if (stack.empty()) {
      result = std::move(value);
      return true;
    }
    Frame &frame = stack.back();
    if (frame.isArray)
      frame.elements.push_back(std::move(value));
    else
      frame.members.push_back(
          Member{std::move(frame.pendingKey), std::move(value)});
    return true;
  }

  bool open(bool isArray) {
    if (stack.size() >= maxDepth)
      return fail(taken > 0 ? taken - 1 : 0,
                  fmt::format("nesting deeper than {} levels", maxDepth));
    stack.emplace_back();
    stack.back().isArray = isArray;
    return true;
  }

  bool close() {
    Frame &frame = stack.back();
    Value done = frame.isArray ? Value::makeArray(std::move(frame.elements))
                               : Value::makeObject(std::move(frame.members));
    stack.pop_back();
    return add(std::move(done));
  }

  /// Where the string just read (ending at the last byte taken) opens.
  size_t openingQuoteOfLastString() const {
    size_t closing = taken > 0 ? taken - 1 : 0;
    while (closing > 0 && text[closing] != '"')
      --closing;
    for (size_t at = closing; at-- > 0;) {
      if (text[at] != '"')
        continue;
      size_t backslashes = 0;
      while (backslashes < at && text[at - 1 - backslashes] == '\\')
        ++backslashes;
      if (backslashes % 2 == 0)
        return at;
    }
    return 0;
  }

  /// nlohmann's "[json.exception.parse_error.101] parse error at line 1,
  /// column 4: syntax error while parsing value - unexpected ']'; ..." as
  /// "syntax error while parsing value - unexpected ']'; ...".
  static std::string cleanMessage(std::string_view what) {
    if (size_t bracket = what.find("] "); bracket != std::string_view::npos)
      what.remove_prefix(bracket + 2);
    if (what.rfind("parse error", 0) == 0) {
      if (size_t colon = what.find(": "); colon != std::string_view::npos)
        what.remove_prefix(colon + 2);
    }
    return std::string(what);
  }
};

} // namespace

std::optional<Value> parse(std::string_view text, ParseError &error,
                           unsigned maxDepth) {
  // nlohmann skips a UTF-8 byte order mark; JSON text has none.
  if (text.rfind("\xEF\xBB\xBF", 0) == 0) {
    error.offset = 0;
    error.message = "a byte order mark is not JSON";
    return std::nullopt;
  }
  // nlohmann's lexer reads a NUL byte as the end of the input, ignoring what
  // follows; JSON text holds none (strings escape it as \u0000).
  if (size_t nul = text.find('\0'); nul != std::string_view::npos) {
    error.offset = nul;
    error.message = "byte 0x00 in JSON text (a NUL is written \\u0000, "
                    "inside a string)";
    return std::nullopt;
  }
  size_t taken = 0;
  Builder builder(text, taken, error, maxDepth);
  CountingIterator first(text.data(), &taken),
      last(text.data() + text.size(), &taken);
  // Strict: the whole text is one value, no comments.
  bool ok = nlohmann::json::sax_parse(first, last, &builder,
                                      nlohmann::json::input_format_t::json,
                                      /*strict=*/true,
                                      /*ignore_comments=*/false);
  if (!ok)
    return std::nullopt;
  return builder.takeResult();
}

} // namespace ssm::runtime::json
