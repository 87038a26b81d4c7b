// Strict parsing of manifest.json: every field checked for presence, type and
// consistency, because generated code trusts what the runtime derives from it.
#include "Manifest.h"

#include "Json.h"
#include "Status.h"

#include <cstdio>
#include <initializer_list>
#include <set>
#include <sstream>

#include "ssm/cpu_library_abi.h"

namespace ssm::runtime {

namespace {

struct DtypeName {
  const char *name;
  DLDataType dtype;
};

// The element types generated code passes (see the compiler's Signature.cpp).
const DtypeName kManifestDtypes[] = {
    {"f32", {kDLFloat, 32, 1}}, {"f64", {kDLFloat, 64, 1}},
    {"f16", {kDLFloat, 16, 1}}, {"bf16", {kDLBfloat, 16, 1}},
    {"i32", {kDLInt, 32, 1}},   {"i64", {kDLInt, 64, 1}},
};

// Parses one manifest; `fail` builds every error so that all of them start
// with the manifest's path and the field's path.
class ManifestParser {
public:
  explicit ManifestParser(const std::string &origin) : origin(origin) {}

  ssm_status_t parse(std::string_view text, Manifest &out);

private:
  const std::string &origin;

  ssm_status_t fail(const std::string &path, const std::string &message,
                    ssm_status_code_t code = SSM_STATUS_DATA_LOSS) const {
    return makeStatus(code, origin + ": " +
                                (path.empty() ? "the manifest" : path) + " " +
                                message);
  }

  // Rejects fields outside `required` and `optional`, then missing required
  // ones.
  ssm_status_t checkFields(const json::Value &object, const std::string &path,
                           std::initializer_list<const char *> required,
                           std::initializer_list<const char *> optional) const {
    for (const json::Member &member : object.getObject()) {
      bool known = false;
      for (const char *name : required)
        known = known || member.key == name;
      for (const char *name : optional)
        known = known || member.key == name;
      if (!known)
        return fail(path, "has unknown field '" + member.key + "'");
    }
    for (const char *name : required)
      if (!object.find(name))
        return fail(path, std::string("has no field '") + name + "'");
    return nullptr;
  }

  ssm_status_t expectObject(const json::Value &value,
                            const std::string &path) const {
    if (!value.isObject())
      return fail(path, "is " + json::describe(value) + ", expected an object");
    return nullptr;
  }

  ssm_status_t expectArray(const json::Value &value,
                           const std::string &path) const {
    if (!value.isArray())
      return fail(path, "is " + json::describe(value) + ", expected an array");
    return nullptr;
  }

  // A non-empty string without NUL (names reach C callers as C strings).
  ssm_status_t getName(const json::Value &value, const std::string &path,
                       std::string &out) const {
    if (!value.isString())
      return fail(path, "is " + json::describe(value) + ", expected a string");
    if (value.getString().empty())
      return fail(path, "is empty");
    if (value.getString().find('\0') != std::string::npos)
      return fail(path, "contains a NUL character");
    out = value.getString();
    return nullptr;
  }

  ssm_status_t getInteger(const json::Value &value, const std::string &path,
                          int64_t &out) const {
    std::optional<int64_t> integer;
    if (value.isNumber())
      integer = value.getInt64();
    if (!integer)
      return fail(path,
                  "is " + json::describe(value) + ", expected an integer");
    out = *integer;
    return nullptr;
  }

  ssm_status_t parseInputDim(const json::Value &value, const std::string &path,
                             const std::vector<TensorSpec> &inputs,
                             InputDim &out) const;
  ssm_status_t parseTensor(const json::Value &value, const std::string &path,
                           bool isOutput, const std::vector<TensorSpec> &inputs,
                           TensorSpec &out) const;
  ssm_status_t parseTensorList(const json::Value &value,
                               const std::string &path, bool isOutput,
                               const std::vector<TensorSpec> &inputs,
                               std::vector<TensorSpec> &out) const;
  ssm_status_t parseFunction(const json::Value &value, const std::string &path,
                             FunctionSpec &out) const;
};

ssm_status_t
ManifestParser::parseInputDim(const json::Value &value, const std::string &path,
                              const std::vector<TensorSpec> &inputs,
                              InputDim &out) const {
  if (ssm_status_t status = expectObject(value, path))
    return status;
  if (ssm_status_t status = checkFields(value, path, {"input", "dim"}, {}))
    return status;
  int64_t input = 0, dim = 0;
  if (ssm_status_t status =
          getInteger(*value.find("input"), path + ".input", input))
    return status;
  if (ssm_status_t status = getInteger(*value.find("dim"), path + ".dim", dim))
    return status;
  if (input < 0 || static_cast<uint64_t>(input) >= inputs.size())
    return fail(path + ".input", "is " + std::to_string(input) +
                                     ", but the function has " +
                                     std::to_string(inputs.size()) + " inputs");
  const TensorSpec &tensor = inputs[static_cast<size_t>(input)];
  if (dim < 0 || static_cast<uint64_t>(dim) >= tensor.shape.size())
    return fail(path + ".dim", "is " + std::to_string(dim) + ", but input " +
                                   std::to_string(input) + " ('" + tensor.name +
                                   "') has rank " +
                                   std::to_string(tensor.shape.size()));
  out.input = static_cast<size_t>(input);
  out.dim = static_cast<size_t>(dim);
  return nullptr;
}

ssm_status_t ManifestParser::parseTensor(const json::Value &value,
                                         const std::string &path, bool isOutput,
                                         const std::vector<TensorSpec> &inputs,
                                         TensorSpec &out) const {
  if (ssm_status_t status = expectObject(value, path))
    return status;
  ssm_status_t status =
      isOutput
          ? checkFields(value, path, {"name", "dtype", "shape"}, {"dims_from"})
          : checkFields(value, path, {"name", "dtype", "shape"}, {});
  if (status)
    return status;
  if (ssm_status_t status =
          getName(*value.find("name"), path + ".name", out.name))
    return status;

  const json::Value &dtype = *value.find("dtype");
  if (!dtype.isString())
    return fail(path + ".dtype",
                "is " + json::describe(dtype) + ", expected a string");
  std::optional<DLDataType> code = dtypeFromName(dtype.getString());
  if (!code)
    return fail(path + ".dtype", "is \"" + dtype.getString() +
                                     "\", expected one of f32, f64, f16, "
                                     "bf16, i32, i64");
  out.dtypeName = dtype.getString();
  out.dtype = *code;

  const json::Value &shape = *value.find("shape");
  if (ssm_status_t status = expectArray(shape, path + ".shape"))
    return status;
  bool hasDynamicDim = false;
  for (size_t d = 0; d < shape.getArray().size(); ++d) {
    std::string dimPath = path + ".shape[" + std::to_string(d) + "]";
    int64_t size = 0;
    if (ssm_status_t status = getInteger(shape.getArray()[d], dimPath, size))
      return status;
    if (size < -1)
      return fail(dimPath, "is " + std::to_string(size) +
                               ", expected a size >= 0 or -1 (dynamic)");
    hasDynamicDim = hasDynamicDim || size == -1;
    out.shape.push_back(size);
  }

  const json::Value *dimsFrom = value.find("dims_from");
  if (!isOutput)
    return nullptr;
  if (!dimsFrom) {
    if (hasDynamicDim)
      return fail(path, "has no field 'dims_from', which an output with "
                        "dynamic dims (shape " +
                            formatSignatureShape(out.shape) + ") needs");
    out.dimsFrom.assign(out.shape.size(), std::nullopt);
    return nullptr;
  }
  if (ssm_status_t status = expectArray(*dimsFrom, path + ".dims_from"))
    return status;
  if (dimsFrom->getArray().size() != out.shape.size())
    return fail(path + ".dims_from",
                "has " + std::to_string(dimsFrom->getArray().size()) +
                    " entries, expected one per dim (" +
                    std::to_string(out.shape.size()) + ")");
  for (size_t d = 0; d < out.shape.size(); ++d) {
    std::string entryPath = path + ".dims_from[" + std::to_string(d) + "]";
    const json::Value &entry = dimsFrom->getArray()[d];
    if (out.shape[d] >= 0) {
      if (!entry.isNull())
        return fail(entryPath, "is " + json::describe(entry) +
                                   ", expected null for static dim " +
                                   std::to_string(d));
      out.dimsFrom.push_back(std::nullopt);
      continue;
    }
    if (entry.isNull())
      return fail(entryPath, "is null, but dim " + std::to_string(d) +
                                 " is dynamic and needs the input dim it "
                                 "equals");
    InputDim source;
    if (ssm_status_t status = parseInputDim(entry, entryPath, inputs, source))
      return status;
    out.dimsFrom.push_back(source);
  }
  return nullptr;
}

ssm_status_t ManifestParser::parseTensorList(
    const json::Value &value, const std::string &path, bool isOutput,
    const std::vector<TensorSpec> &inputs, std::vector<TensorSpec> &out) const {
  if (ssm_status_t status = expectArray(value, path))
    return status;
  std::set<std::string> names;
  for (size_t i = 0; i < value.getArray().size(); ++i) {
    TensorSpec tensor;
    std::string tensorPath = path + "[" + std::to_string(i) + "]";
    if (ssm_status_t status = parseTensor(value.getArray()[i], tensorPath,
                                          isOutput, inputs, tensor))
      return status;
    // Callers bind tensors by name.
    if (!names.insert(tensor.name).second)
      return fail(tensorPath + ".name",
                  "is \"" + tensor.name + "\", the name of an earlier entry");
    out.push_back(std::move(tensor));
  }
  return nullptr;
}

ssm_status_t ManifestParser::parseFunction(const json::Value &value,
                                           const std::string &path,
                                           FunctionSpec &out) const {
  if (ssm_status_t status = expectObject(value, path))
    return status;
  if (ssm_status_t status =
          checkFields(value, path, {"name", "inputs", "outputs", "equal_dims"},
                      {"algorithms"}))
    return status;
  if (ssm_status_t status =
          getName(*value.find("name"), path + ".name", out.name))
    return status;
  std::string named = path + " ('" + out.name + "')";
  if (ssm_status_t status = parseTensorList(
          *value.find("inputs"), named + ".inputs", false, {}, out.inputs))
    return status;
  if (ssm_status_t status =
          parseTensorList(*value.find("outputs"), named + ".outputs", true,
                          out.inputs, out.outputs))
    return status;

  const json::Value &equalDims = *value.find("equal_dims");
  if (ssm_status_t status = expectArray(equalDims, named + ".equal_dims"))
    return status;
  for (size_t g = 0; g < equalDims.getArray().size(); ++g) {
    std::string groupPath = named + ".equal_dims[" + std::to_string(g) + "]";
    const json::Value &group = equalDims.getArray()[g];
    if (ssm_status_t status = expectArray(group, groupPath))
      return status;
    if (group.getArray().size() < 2)
      return fail(groupPath, "has " + std::to_string(group.getArray().size()) +
                                 " entries, expected at least 2");
    std::vector<InputDim> dims;
    for (size_t i = 0; i < group.getArray().size(); ++i) {
      InputDim dim;
      if (ssm_status_t status = parseInputDim(
              group.getArray()[i], groupPath + "[" + std::to_string(i) + "]",
              out.inputs, dim))
        return status;
      dims.push_back(dim);
    }
    out.equalDims.push_back(std::move(dims));
  }

  // Informational: typed loosely, so that a newer compiler may say more.
  if (const json::Value *algorithms = value.find("algorithms")) {
    if (ssm_status_t status = expectArray(*algorithms, named + ".algorithms"))
      return status;
    for (size_t i = 0; i < algorithms->getArray().size(); ++i) {
      const json::Value &entry = algorithms->getArray()[i];
      if (ssm_status_t status = expectObject(
              entry, named + ".algorithms[" + std::to_string(i) + "]"))
        return status;
      AlgorithmNote note;
      if (const json::Value *location = entry.find("location");
          location && location->isString())
        note.location = location->getString();
      if (const json::Value *algorithm = entry.find("algorithm");
          algorithm && algorithm->isString())
        note.algorithm = algorithm->getString();
      if (const json::Value *chunk = entry.find("chunk_size");
          chunk && chunk->isNumber() && chunk->getInt64())
        note.chunkSize = *chunk->getInt64();
      // These reach C callers as C strings.
      if (note.location.find('\0') != std::string::npos ||
          note.algorithm.find('\0') != std::string::npos)
        return fail(named + ".algorithms[" + std::to_string(i) + "]",
                    "contains a NUL character");
      out.algorithms.push_back(std::move(note));
    }
  }
  return nullptr;
}

ssm_status_t ManifestParser::parse(std::string_view text, Manifest &out) {
  json::ParseError parseError;
  std::optional<json::Value> root = json::parse(text, parseError);
  if (!root)
    return fail("", "is not valid JSON: " + parseError.toString());
  if (!root->isObject())
    return fail("", "is " + json::describe(*root) +
                        ", expected an object (an ssmc artifact manifest)");

  // Format and version first: a later version may change everything else.
  const json::Value *format = root->find("format");
  if (!format)
    return fail("", "has no field 'format' (expected \"ssmc-artifact\")");
  if (!format->isString() || format->getString() != "ssmc-artifact")
    return fail("format", "is " + json::describe(*format) +
                              ", expected \"ssmc-artifact\"");
  const json::Value *version = root->find("version");
  if (!version)
    return fail("", "has no field 'version'");
  int64_t versionNumber = 0;
  if (ssm_status_t status = getInteger(*version, "version", versionNumber))
    return status;
  if (versionNumber != kManifestVersion)
    return fail("version",
                "is " + std::to_string(versionNumber) +
                    "; this runtime reads manifest version " +
                    std::to_string(kManifestVersion),
                SSM_STATUS_INCOMPATIBLE);

  if (ssm_status_t status = checkFields(*root, "",
                                        {"format", "version", "target",
                                         "library", "abi_version", "functions"},
                                        {"source"}))
    return status;

  int64_t abiVersion = 0;
  if (ssm_status_t status =
          getInteger(*root->find("abi_version"), "abi_version", abiVersion))
    return status;
  if (abiVersion != SSM_CPU_LIBRARY_ABI_VERSION)
    return fail("abi_version",
                "is " + std::to_string(abiVersion) +
                    "; this runtime loads CPU library ABI version " +
                    std::to_string(SSM_CPU_LIBRARY_ABI_VERSION),
                SSM_STATUS_INCOMPATIBLE);
  out.abiVersion = static_cast<uint32_t>(abiVersion);

  if (ssm_status_t status =
          getName(*root->find("target"), "target", out.target))
    return status;
  if (out.target != "cpu")
    return fail("target",
                "is \"" + out.target +
                    "\"; this runtime loads \"cpu\" artifacts",
                SSM_STATUS_UNIMPLEMENTED);

  if (ssm_status_t status =
          getName(*root->find("library"), "library", out.library))
    return status;
  // The library must lie inside the artifact directory.
  if (out.library.find('/') != std::string::npos || out.library == "." ||
      out.library == "..")
    return fail("library", "is \"" + out.library +
                               "\", expected a file name inside the artifact "
                               "directory");

  if (const json::Value *source = root->find("source")) {
    if (!source->isString())
      return fail("source",
                  "is " + json::describe(*source) + ", expected a string");
    if (source->getString().find('\0') != std::string::npos)
      return fail("source", "contains a NUL character");
    out.source = source->getString();
  }

  const json::Value &functions = *root->find("functions");
  if (ssm_status_t status = expectArray(functions, "functions"))
    return status;
  if (functions.getArray().empty())
    return fail("functions", "is empty; an artifact has at least one function");
  std::set<std::string> names;
  for (size_t i = 0; i < functions.getArray().size(); ++i) {
    FunctionSpec function;
    std::string path = "functions[" + std::to_string(i) + "]";
    if (ssm_status_t status =
            parseFunction(functions.getArray()[i], path, function))
      return status;
    if (!names.insert(function.name).second)
      return fail(path + ".name", "is \"" + function.name +
                                      "\", the name of an earlier "
                                      "function");
    out.functions.push_back(std::move(function));
  }
  return nullptr;
}

} // namespace

ssm_status_t parseManifest(std::string_view text, const std::string &origin,
                           Manifest &out) {
  Manifest result;
  if (ssm_status_t status = ManifestParser(origin).parse(text, result))
    return status;
  out = std::move(result);
  return nullptr;
}

std::optional<DLDataType> dtypeFromName(std::string_view name) {
  for (const DtypeName &entry : kManifestDtypes)
    if (name == entry.name)
      return entry.dtype;
  return std::nullopt;
}

std::string formatSignatureShape(const std::vector<int64_t> &shape) {
  std::ostringstream out;
  out << '[';
  for (size_t i = 0; i < shape.size(); ++i) {
    out << (i ? ", " : "");
    if (shape[i] < 0)
      out << '?';
    else
      out << shape[i];
  }
  out << ']';
  return out.str();
}

} // namespace ssm::runtime
