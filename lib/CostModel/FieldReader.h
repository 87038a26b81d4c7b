//===- FieldReader.h - Strict reading of JSON objects -----------*- C++ -*-===//
//
// The cost model's JSON files (targets, measurements) are read strictly:
// every field required unless said otherwise, an unknown field an error, each
// error naming the field by its dotted path.
//
//===----------------------------------------------------------------------===//

#ifndef SSM_COSTMODEL_FIELDREADER_H
#define SSM_COSTMODEL_FIELDREADER_H

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"

#include <optional>
#include <string>

namespace ssm::cost {
/// Reads the fields of one JSON object, remembering the first error (which
/// names the field by its dotted path) and which fields were asked for, so
/// that the rest can be reported as unknown.
class FieldReader {
public:
  FieldReader(const llvm::json::Object &object, std::string path,
              std::optional<std::string> &error)
      : object(object), path(std::move(path)), error(error) {}

  /// A number; `minimum`/`exclusive` bound it from below.
  void number(llvm::StringRef key, double &out, double minimum, bool exclusive,
              bool required = true) {
    const llvm::json::Value *value = find(key, required);
    if (!value)
      return;
    std::optional<double> number = value->getAsNumber();
    if (!number || (exclusive ? *number <= minimum : *number < minimum))
      return fail(llvm::formatv("field '{0}' must be a number {1} {2}",
                                name(key), exclusive ? ">" : ">=", minimum)
                      .str());
    out = *number;
  }

  void integer(llvm::StringRef key, int64_t &out, int64_t minimum,
               bool required = true) {
    const llvm::json::Value *value = find(key, required);
    if (!value)
      return;
    std::optional<int64_t> number = value->getAsInteger();
    if (!number || *number < minimum)
      return fail(llvm::formatv("field '{0}' must be an integer >= {1}",
                                name(key), minimum)
                      .str());
    out = *number;
  }

  void string(llvm::StringRef key, std::string &out) {
    const llvm::json::Value *value = find(key, /*required=*/true);
    if (!value)
      return;
    std::optional<llvm::StringRef> text = value->getAsString();
    if (!text)
      return fail(
          llvm::formatv("field '{0}' must be a string", name(key)).str());
    out = text->str();
  }

  /// A nested object, read by `read` with its own reader.
  void nested(llvm::StringRef key,
              llvm::function_ref<void(FieldReader &)> read) {
    const llvm::json::Value *value = find(key, /*required=*/true);
    if (!value)
      return;
    const llvm::json::Object *nested = value->getAsObject();
    if (!nested)
      return fail(
          llvm::formatv("field '{0}' must be an object", name(key)).str());
    FieldReader reader(*nested, name(key), error);
    read(reader);
    reader.finish();
  }

  void boolean(llvm::StringRef key, bool &out) {
    const llvm::json::Value *value = find(key, /*required=*/true);
    if (!value)
      return;
    std::optional<bool> flag = value->getAsBoolean();
    if (!flag)
      return fail(
          llvm::formatv("field '{0}' must be true or false", name(key)).str());
    out = *flag;
  }

  /// An array of objects, each read by `read` with its own reader (named
  /// key[i]).
  void objects(llvm::StringRef key,
               llvm::function_ref<void(FieldReader &)> read) {
    const llvm::json::Value *value = find(key, /*required=*/true);
    if (!value)
      return;
    const llvm::json::Array *array = value->getAsArray();
    if (!array)
      return fail(
          llvm::formatv("field '{0}' must be an array", name(key)).str());
    for (auto [index, element] : llvm::enumerate(*array)) {
      std::string elementName = llvm::formatv("{0}[{1}]", name(key), index);
      const llvm::json::Object *object = element.getAsObject();
      if (!object)
        return fail("field '" + elementName + "' must be an object");
      FieldReader reader(*object, elementName, error);
      read(reader);
      reader.finish();
      if (error)
        return;
    }
  }

  /// Reports the first field nobody asked for.
  void finish() {
    if (error)
      return;
    // Sorted, so that the message does not depend on hash order.
    llvm::SmallVector<std::string> unknown;
    for (const auto &entry : object)
      if (!known.contains(entry.first))
        unknown.push_back(entry.first.str());
    if (unknown.empty())
      return;
    llvm::sort(unknown);
    fail(llvm::formatv("unknown field '{0}'", name(unknown.front())).str());
  }

  /// Whether no field has failed so far.
  bool ok() const { return !error; }

  /// `key`'s dotted path, for messages about its value.
  std::string pathOf(llvm::StringRef key) const { return name(key); }

  void fail(std::string message) {
    if (!error)
      error = std::move(message);
  }

private:
  std::string name(llvm::StringRef key) const {
    return path.empty() ? key.str() : path + "." + key.str();
  }

  const llvm::json::Value *find(llvm::StringRef key, bool required) {
    known.insert(key);
    if (error)
      return nullptr;
    const llvm::json::Value *value = object.get(key);
    if (!value && required)
      fail(llvm::formatv("missing required field '{0}'", name(key)).str());
    return value;
  }

  const llvm::json::Object &object;
  std::string path;
  std::optional<std::string> &error;
  llvm::StringSet<> known;
};
/// Parses `text` as one JSON object, reads it with `read` and reports the
/// first field nobody asked for. Errors start with `source`; `what` says
/// what the text must be ("a target") when it is not an object.
inline llvm::Error
readStrictObject(llvm::StringRef text, llvm::StringRef source,
                 llvm::StringRef what,
                 llvm::function_ref<void(FieldReader &)> read) {
  llvm::Expected<llvm::json::Value> parsed = llvm::json::parse(text);
  if (!parsed)
    return llvm::createStringError(
        llvm::inconvertibleErrorCode(), "%s: malformed JSON: %s",
        source.str().c_str(), llvm::toString(parsed.takeError()).c_str());
  const llvm::json::Object *root = parsed->getAsObject();
  if (!root)
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   "%s: %s must be a JSON object",
                                   source.str().c_str(), what.str().c_str());
  std::optional<std::string> error;
  FieldReader reader(*root, "", error);
  read(reader);
  reader.finish();
  if (error)
    return llvm::createStringError(llvm::inconvertibleErrorCode(), "%s: %s",
                                   source.str().c_str(), error->c_str());
  return llvm::Error::success();
}

} // namespace ssm::cost

#endif // SSM_COSTMODEL_FIELDREADER_H
