// A strict RFC 8259 JSON parser (nlohmann-json's, with duplicate keys and
// deep nesting refused) and its value type, for safetensors headers and
// manifests. nlohmann stays out of this header: its users see only Value.
#ifndef SSM_RUNTIME_SRC_JSON_H
#define SSM_RUNTIME_SRC_JSON_H

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ssm::runtime::json {

class Value;
struct Member;

using Array = std::vector<Value>;
/// Object members in the order they appear in the text; keys are unique.
using Object = std::vector<Member>;

/// One JSON value. Accessors for the wrong kind are a programming error
/// (they assert); check kind() or use the is*() predicates first.
class Value {
public:
  enum class Kind { Null, Bool, Number, String, Array, Object };

  /// A null value.
  Value() = default;

  static Value makeNull() { return Value(); }
  static Value makeBool(bool value);
  /// A number; `exactInt64`/`exactUInt64` carry the exact value of an
  /// integer literal when it fits (doubles lose precision above 2^53).
  static Value makeNumber(double value,
                          std::optional<int64_t> exactInt64 = std::nullopt,
                          std::optional<uint64_t> exactUInt64 = std::nullopt);
  static Value makeString(std::string value);
  static Value makeArray(Array elements);
  static Value makeObject(Object members);

  Kind kind() const { return valueKind; }
  bool isNull() const { return valueKind == Kind::Null; }
  bool isBool() const { return valueKind == Kind::Bool; }
  bool isNumber() const { return valueKind == Kind::Number; }
  bool isString() const { return valueKind == Kind::String; }
  bool isArray() const { return valueKind == Kind::Array; }
  bool isObject() const { return valueKind == Kind::Object; }

  bool getBool() const;
  double getDouble() const;
  /// The exact value when this number was written as an integer (no fraction,
  /// no exponent) that fits in int64_t; nullopt otherwise.
  std::optional<int64_t> getInt64() const;
  /// As getInt64, for uint64_t (so 2^63..2^64-1 are exact too).
  std::optional<uint64_t> getUInt64() const;
  const std::string &getString() const;
  const Array &getArray() const;
  const Object &getObject() const;

  /// The member named `key` of an object; nullptr when absent or when this
  /// is not an object. Linear in the number of members.
  const Value *find(std::string_view key) const;

private:
  Kind valueKind = Kind::Null;
  bool boolValue = false;
  double numberValue = 0.0;
  std::optional<int64_t> int64Value;
  std::optional<uint64_t> uint64Value;
  std::string stringValue;
  Array arrayValue;
  Object objectValue;
};

struct Member {
  std::string key;
  Value value;
};

/// "null", "bool", "number", "string", "array" or "object".
const char *kindName(Value::Kind kind);

/// A short rendering of `value` for error messages: a number or a quoted
/// string as written, "an array", "an object", "a bool", "a null".
std::string describe(const Value &value);

/// `text` as a JSON string literal (quotes included): `"` and `\` and the
/// control characters escaped, other bytes copied as they are (so the result
/// is valid JSON only when `text` is valid UTF-8).
std::string quote(std::string_view text);

/// Where and why parsing failed.
struct ParseError {
  /// Byte offset into the parsed text.
  size_t offset = 0;
  std::string message;

  /// "byte <offset>: <message>".
  std::string toString() const;
};

/// Deeper documents are rejected rather than risking the stack.
constexpr unsigned kDefaultMaxDepth = 64;

/// Parses `text` as exactly one JSON value (surrounding whitespace allowed).
/// Strict: UTF-8 validated, no comments, no trailing commas, no leading
/// zeros, no NaN/Infinity, no duplicate keys, no lone surrogates, numbers
/// beyond the double range rejected (tiny ones underflow to zero). On failure
/// returns nullopt and fills `error`: nlohmann's message, and the offset of
/// the byte where parsing stopped (for duplicate keys, the key's opening
/// quote; for nesting, the bracket too deep). Never throws except
/// std::bad_alloc.
std::optional<Value> parse(std::string_view text, ParseError &error,
                           unsigned maxDepth = kDefaultMaxDepth);

} // namespace ssm::runtime::json

#endif // SSM_RUNTIME_SRC_JSON_H
