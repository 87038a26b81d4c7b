// Strict parsing of manifest.json: every field checked for presence, type and
// consistency, because generated code trusts what the runtime derives from it.
#include "ssm/manifest.h"

#include "Json.h"
#include "Status.h"

// The writer's JSON; nothing here may throw.
#define JSON_NOEXCEPTION
#include <nlohmann/json.hpp>

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
                             bool isCuda, FunctionSpec &out) const;
  ssm_status_t parseBuffers(const json::Value &value, const std::string &path,
                            const FunctionSpec &function,
                            std::vector<BufferSpec> &out) const;
  ssm_status_t parseLaunch(const json::Value &value, const std::string &path,
                           const FunctionSpec &function, Launch &out) const;
  ssm_status_t parseGridExtent(const json::Value &value,
                               const std::string &path,
                               const FunctionSpec &function,
                               GridExtent &out) const;
  ssm_status_t parseDtype(const json::Value &value, const std::string &path,
                          std::string &name, DLDataType &dtype) const;
  ssm_status_t parseCuda(const json::Value &value, CudaManifest &out) const;
  ssm_status_t parseCpu(const json::Value &value, CpuRequirement &out) const;
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

ssm_status_t ManifestParser::parseDtype(const json::Value &value,
                                        const std::string &path,
                                        std::string &name,
                                        DLDataType &dtype) const {
  if (!value.isString())
    return fail(path, "is " + json::describe(value) + ", expected a string");
  std::optional<DLDataType> parsed = dtypeFromName(value.getString());
  if (!parsed)
    return fail(path, "is \"" + value.getString() +
                          "\", expected one of f32, f64, f16, bf16, i32, i64");
  name = value.getString();
  dtype = *parsed;
  return nullptr;
}

ssm_status_t ManifestParser::parseBuffers(const json::Value &value,
                                          const std::string &path,
                                          const FunctionSpec &function,
                                          std::vector<BufferSpec> &out) const {
  if (ssm_status_t status = expectArray(value, path))
    return status;
  for (size_t b = 0; b < value.getArray().size(); ++b) {
    const json::Value &entry = value.getArray()[b];
    std::string entryPath = path + "[" + std::to_string(b) + "]";
    if (ssm_status_t status = expectObject(entry, entryPath))
      return status;
    if (ssm_status_t status =
            checkFields(entry, entryPath, {"dtype", "shape"}, {"dims_from"}))
      return status;
    BufferSpec buffer;
    if (ssm_status_t status = parseDtype(*entry.find("dtype"),
                                         entryPath + ".dtype",
                                         buffer.dtypeName, buffer.dtype))
      return status;
    const json::Value &shape = *entry.find("shape");
    if (ssm_status_t status = expectArray(shape, entryPath + ".shape"))
      return status;
    bool dynamic = false;
    for (size_t d = 0; d < shape.getArray().size(); ++d) {
      int64_t size = 0;
      std::string dimPath = entryPath + ".shape[" + std::to_string(d) + "]";
      if (ssm_status_t status = getInteger(shape.getArray()[d], dimPath, size))
        return status;
      if (size < -1)
        return fail(dimPath, "is " + std::to_string(size) +
                                 ", expected a size >= 0 or -1 (dynamic)");
      dynamic = dynamic || size < 0;
      buffer.shape.push_back(size);
    }
    buffer.dimsFrom.assign(buffer.shape.size(), std::nullopt);
    const json::Value *dimsFrom = entry.find("dims_from");
    if (dynamic && !dimsFrom)
      return fail(entryPath, "has dynamic dims but no field 'dims_from'");
    if (dimsFrom) {
      if (ssm_status_t status = expectArray(*dimsFrom, entryPath + ".dims_from"))
        return status;
      if (dimsFrom->getArray().size() != buffer.shape.size())
        return fail(entryPath + ".dims_from",
                    "has " + std::to_string(dimsFrom->getArray().size()) +
                        " entries, expected one per dim (" +
                        std::to_string(buffer.shape.size()) + ")");
      for (size_t d = 0; d < buffer.shape.size(); ++d) {
        const json::Value &source = dimsFrom->getArray()[d];
        std::string sourcePath =
            entryPath + ".dims_from[" + std::to_string(d) + "]";
        if (buffer.shape[d] >= 0) {
          if (!source.isNull())
            return fail(sourcePath, "is " + json::describe(source) +
                                        ", expected null for a static dim");
          continue;
        }
        InputDim dim;
        if (ssm_status_t status =
                parseInputDim(source, sourcePath, function.inputs, dim))
          return status;
        buffer.dimsFrom[d] = dim;
      }
    }
    out.push_back(std::move(buffer));
  }
  return nullptr;
}

ssm_status_t ManifestParser::parseGridExtent(const json::Value &value,
                                             const std::string &path,
                                             const FunctionSpec &function,
                                             GridExtent &out) const {
  if (ssm_status_t status = expectObject(value, path))
    return status;
  if (ssm_status_t status =
          checkFields(value, path, {"factor", "dims", "divisor"}, {"limit"}))
    return status;
  if (ssm_status_t status =
          getInteger(*value.find("factor"), path + ".factor", out.factor))
    return status;
  if (out.factor < 0)
    return fail(path + ".factor", "is negative");
  if (ssm_status_t status =
          getInteger(*value.find("divisor"), path + ".divisor", out.divisor))
    return status;
  if (out.divisor < 1)
    return fail(path + ".divisor", "is " + std::to_string(out.divisor) +
                                       ", expected at least 1");
  if (const json::Value *limit = value.find("limit")) {
    if (ssm_status_t status = getInteger(*limit, path + ".limit", out.limit))
      return status;
    if (out.limit < 1)
      return fail(path + ".limit", "is " + std::to_string(out.limit) +
                                       ", expected at least 1");
  }
  const json::Value &dims = *value.find("dims");
  if (ssm_status_t status = expectArray(dims, path + ".dims"))
    return status;
  for (size_t d = 0; d < dims.getArray().size(); ++d) {
    InputDim dim;
    if (ssm_status_t status =
            parseInputDim(dims.getArray()[d],
                          path + ".dims[" + std::to_string(d) + "]",
                          function.inputs, dim))
      return status;
    out.dims.push_back(dim);
  }
  return nullptr;
}

ssm_status_t ManifestParser::parseLaunch(const json::Value &value,
                                         const std::string &path,
                                         const FunctionSpec &function,
                                         Launch &out) const {
  if (ssm_status_t status = expectObject(value, path))
    return status;
  if (ssm_status_t status = checkFields(
          value, path, {"kernel", "grid", "block", "shared_bytes", "arguments"},
          {}))
    return status;
  if (ssm_status_t status =
          getName(*value.find("kernel"), path + ".kernel", out.kernel))
    return status;
  const json::Value &grid = *value.find("grid");
  if (ssm_status_t status = expectArray(grid, path + ".grid"))
    return status;
  if (grid.getArray().size() != 3)
    return fail(path + ".grid", "has " + std::to_string(grid.getArray().size()) +
                                    " extents, expected 3 (x, y, z)");
  for (size_t i = 0; i < 3; ++i)
    if (ssm_status_t status = parseGridExtent(
            grid.getArray()[i], path + ".grid[" + std::to_string(i) + "]",
            function, out.grid[i]))
      return status;
  const json::Value &block = *value.find("block");
  if (ssm_status_t status = expectArray(block, path + ".block"))
    return status;
  if (block.getArray().size() != 3)
    return fail(path + ".block", "has " +
                                     std::to_string(block.getArray().size()) +
                                     " extents, expected 3 (x, y, z)");
  int64_t threads = 1;
  for (size_t i = 0; i < 3; ++i) {
    int64_t extent = 0;
    std::string extentPath = path + ".block[" + std::to_string(i) + "]";
    if (ssm_status_t status = getInteger(block.getArray()[i], extentPath, extent))
      return status;
    if (extent < 1 || extent > 1024)
      return fail(extentPath, "is " + std::to_string(extent) +
                                  ", expected 1 to 1024");
    threads *= extent;
    out.block[i] = static_cast<uint32_t>(extent);
  }
  if (threads > 1024)
    return fail(path + ".block", "has " + std::to_string(threads) +
                                     " threads, more than a block's 1024");
  if (ssm_status_t status = getInteger(*value.find("shared_bytes"),
                                       path + ".shared_bytes", out.sharedBytes))
    return status;
  if (out.sharedBytes < 0)
    return fail(path + ".shared_bytes", "is negative");
  const json::Value &arguments = *value.find("arguments");
  if (ssm_status_t status = expectArray(arguments, path + ".arguments"))
    return status;
  for (size_t a = 0; a < arguments.getArray().size(); ++a) {
    const json::Value &entry = arguments.getArray()[a];
    std::string entryPath = path + ".arguments[" + std::to_string(a) + "]";
    if (ssm_status_t status = expectObject(entry, entryPath))
      return status;
    if (entry.getObject().size() != 1)
      return fail(entryPath, "must have exactly one of 'input', 'output', "
                             "'buffer', 'dim'");
    const json::Member &member = entry.getObject().front();
    KernelArgument argument;
    if (member.key == "dim") {
      argument.kind = KernelArgument::Kind::Dim;
      if (ssm_status_t status = parseInputDim(member.value, entryPath + ".dim",
                                              function.inputs, argument.dim))
        return status;
      out.arguments.push_back(argument);
      continue;
    }
    size_t count = 0;
    if (member.key == "input") {
      argument.kind = KernelArgument::Kind::Input;
      count = function.inputs.size();
    } else if (member.key == "output") {
      argument.kind = KernelArgument::Kind::Output;
      count = function.outputs.size();
    } else if (member.key == "buffer") {
      argument.kind = KernelArgument::Kind::Buffer;
      count = function.buffers.size();
    } else {
      return fail(entryPath, "has unknown field '" + member.key + "'");
    }
    int64_t index = 0;
    std::string indexPath = entryPath + "." + member.key;
    if (ssm_status_t status = getInteger(member.value, indexPath, index))
      return status;
    if (index < 0 || static_cast<size_t>(index) >= count)
      return fail(indexPath, "is " + std::to_string(index) +
                                 ", but the function has " +
                                 std::to_string(count) + " " + member.key +
                                 "s");
    argument.index = static_cast<size_t>(index);
    out.arguments.push_back(argument);
  }
  return nullptr;
}

ssm_status_t ManifestParser::parseCuda(const json::Value &value,
                                       CudaManifest &out) const {
  if (ssm_status_t status = expectObject(value, "cuda"))
    return status;
  if (ssm_status_t status = checkFields(value, "cuda", {"arch", "source"},
                                        {"emulation_library"}))
    return status;
  if (ssm_status_t status = getName(*value.find("arch"), "cuda.arch", out.arch))
    return status;
  if (out.arch != "sm_90a" && out.arch != "sm_90")
    return fail("cuda.arch", "is \"" + out.arch +
                                 "\"; this runtime loads sm_90a and sm_90 "
                                 "kernels",
                SSM_STATUS_UNIMPLEMENTED);
  if (ssm_status_t status =
          getName(*value.find("source"), "cuda.source", out.source))
    return status;
  if (const json::Value *library = value.find("emulation_library"))
    if (ssm_status_t status = getName(*library, "cuda.emulation_library",
                                      out.emulationLibrary))
      return status;
  for (const std::string *file : {&out.source, &out.emulationLibrary})
    if (file->find('/') != std::string::npos || *file == "." || *file == "..")
      return fail("cuda", "names \"" + *file +
                              "\", expected a file name inside the artifact "
                              "directory");
  return nullptr;
}

ssm_status_t ManifestParser::parseCpu(const json::Value &value,
                                      CpuRequirement &out) const {
  if (ssm_status_t status = expectObject(value, "cpu"))
    return status;
  if (ssm_status_t status =
          checkFields(value, "cpu", {"arch", "name", "features"}, {}))
    return status;
  if (ssm_status_t status = getName(*value.find("arch"), "cpu.arch", out.arch))
    return status;
  if (ssm_status_t status = getName(*value.find("name"), "cpu.name", out.name))
    return status;
  const json::Value &features = *value.find("features");
  if (ssm_status_t status = expectArray(features, "cpu.features"))
    return status;
  for (size_t i = 0; i < features.getArray().size(); ++i) {
    std::string path = "cpu.features[" + std::to_string(i) + "]";
    std::string feature;
    if (ssm_status_t status = getName(features.getArray()[i], path, feature))
      return status;
    for (const std::string &earlier : out.features)
      if (earlier == feature)
        return fail(path, "is \"" + feature + "\", listed before");
    out.features.push_back(std::move(feature));
  }
  return nullptr;
}

ssm_status_t ManifestParser::parseFunction(const json::Value &value,
                                           const std::string &path,
                                           bool isCuda,
                                           FunctionSpec &out) const {
  if (ssm_status_t status = expectObject(value, path))
    return status;
  if (ssm_status_t status =
          isCuda ? checkFields(value, path,
                               {"name", "inputs", "outputs", "equal_dims",
                                "buffers", "launches"},
                               {"algorithms"})
                 : checkFields(value, path,
                               {"name", "inputs", "outputs", "equal_dims"},
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

  if (isCuda) {
    if (ssm_status_t status = parseBuffers(*value.find("buffers"),
                                           named + ".buffers", out, out.buffers))
      return status;
    const json::Value &launches = *value.find("launches");
    if (ssm_status_t status = expectArray(launches, named + ".launches"))
      return status;
    for (size_t l = 0; l < launches.getArray().size(); ++l) {
      Launch launch;
      if (ssm_status_t status = parseLaunch(
              launches.getArray()[l],
              named + ".launches[" + std::to_string(l) + "]", out, launch))
        return status;
      out.launches.push_back(std::move(launch));
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
  if (!format->isString() || format->getString() != kManifestFormat)
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
                    std::to_string(kManifestVersion) +
                    (versionNumber == 1
                         ? " (a version 1 artifact does not say which CPU "
                           "features its code needs; recompile it with this "
                           "ssmc)"
                         : ""),
                SSM_STATUS_INCOMPATIBLE);

  if (ssm_status_t status = checkFields(*root, "",
                                        {"format", "version", "target",
                                         "library", "abi_version", "functions"},
                                        {"source", "cpu", "cuda"}))
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
  if (out.target != "cpu" && out.target != "cuda")
    return fail("target",
                "is \"" + out.target +
                    "\"; this runtime loads \"cpu\" and \"cuda\" artifacts",
                SSM_STATUS_UNIMPLEMENTED);
  const bool isCuda = out.target == "cuda";
  const json::Value *cuda = root->find("cuda");
  if (isCuda && !cuda)
    return fail("", "has no field 'cuda', which a \"cuda\" artifact needs");
  if (!isCuda && cuda)
    return fail("", "has a field 'cuda' but its target is \"cpu\"");
  if (cuda)
    if (ssm_status_t status = parseCuda(*cuda, out.cuda))
      return status;
  const json::Value *cpu = root->find("cpu");
  if (!isCuda && !cpu)
    return fail("", "has no field 'cpu' (the processor features its code "
                    "needs), which a \"cpu\" artifact must have");
  if (isCuda && cpu)
    return fail("", "has a field 'cpu' but its target is \"cuda\"");
  if (cpu)
    if (ssm_status_t status = parseCpu(*cpu, out.cpu))
      return status;

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
            parseFunction(functions.getArray()[i], path, isCuda, function))
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

//===----------------------------------------------------------------------===//
// Writer
//===----------------------------------------------------------------------===//

namespace {

using Json = nlohmann::ordered_json;

Json inputDimJson(const InputDim &dim) {
  return Json{{"input", dim.input}, {"dim", dim.dim}};
}

bool anyDynamic(const std::vector<int64_t> &shape) {
  for (int64_t size : shape)
    if (size < 0)
      return true;
  return false;
}

Json dimsFromJson(const std::vector<std::optional<InputDim>> &dimsFrom) {
  Json array = Json::array();
  for (const std::optional<InputDim> &dim : dimsFrom)
    array.push_back(dim ? inputDimJson(*dim) : Json(nullptr));
  return array;
}

Json tensorJson(const TensorSpec &tensor, bool isOutput) {
  Json object{{"name", tensor.name},
              {"dtype", tensor.dtypeName},
              {"shape", tensor.shape}};
  if (isOutput && anyDynamic(tensor.shape))
    object["dims_from"] = dimsFromJson(tensor.dimsFrom);
  return object;
}

Json launchJson(const Launch &launch) {
  Json grid = Json::array();
  for (const GridExtent &extent : launch.grid) {
    Json dims = Json::array();
    for (const InputDim &dim : extent.dims)
      dims.push_back(inputDimJson(dim));
    Json object{{"factor", extent.factor},
                {"dims", std::move(dims)},
                {"divisor", extent.divisor}};
    if (extent.limit > 0)
      object["limit"] = extent.limit;
    grid.push_back(std::move(object));
  }
  Json arguments = Json::array();
  for (const KernelArgument &argument : launch.arguments) {
    switch (argument.kind) {
    case KernelArgument::Kind::Input:
      arguments.push_back(Json{{"input", argument.index}});
      break;
    case KernelArgument::Kind::Output:
      arguments.push_back(Json{{"output", argument.index}});
      break;
    case KernelArgument::Kind::Buffer:
      arguments.push_back(Json{{"buffer", argument.index}});
      break;
    case KernelArgument::Kind::Dim:
      arguments.push_back(Json{{"dim", inputDimJson(argument.dim)}});
      break;
    }
  }
  return Json{{"kernel", launch.kernel},
              {"grid", std::move(grid)},
              {"block", {launch.block[0], launch.block[1], launch.block[2]}},
              {"shared_bytes", launch.sharedBytes},
              {"arguments", std::move(arguments)}};
}

Json functionJson(const FunctionSpec &function, bool cuda) {
  Json inputs = Json::array(), outputs = Json::array(),
       equalDims = Json::array(), algorithms = Json::array();
  for (const TensorSpec &input : function.inputs)
    inputs.push_back(tensorJson(input, /*isOutput=*/false));
  for (const TensorSpec &output : function.outputs)
    outputs.push_back(tensorJson(output, /*isOutput=*/true));
  for (const std::vector<InputDim> &group : function.equalDims) {
    Json dims = Json::array();
    for (const InputDim &dim : group)
      dims.push_back(inputDimJson(dim));
    equalDims.push_back(std::move(dims));
  }
  for (const AlgorithmNote &note : function.algorithms) {
    Json object{{"location", note.location}, {"algorithm", note.algorithm}};
    if (note.chunkSize > 0)
      object["chunk_size"] = note.chunkSize;
    algorithms.push_back(std::move(object));
  }
  Json object{{"name", function.name},
              {"inputs", std::move(inputs)},
              {"outputs", std::move(outputs)},
              {"equal_dims", std::move(equalDims)},
              {"algorithms", std::move(algorithms)}};
  if (cuda) {
    Json buffers = Json::array(), launches = Json::array();
    for (const BufferSpec &buffer : function.buffers) {
      Json entry{{"dtype", buffer.dtypeName}, {"shape", buffer.shape}};
      if (anyDynamic(buffer.shape))
        entry["dims_from"] = dimsFromJson(buffer.dimsFrom);
      buffers.push_back(std::move(entry));
    }
    for (const Launch &launch : function.launches)
      launches.push_back(launchJson(launch));
    object["buffers"] = std::move(buffers);
    object["launches"] = std::move(launches);
  }
  return object;
}

} // namespace

std::string formatManifest(const Manifest &manifest) {
  bool cuda = manifest.target == "cuda";
  Json functions = Json::array();
  for (const FunctionSpec &function : manifest.functions)
    functions.push_back(functionJson(function, cuda));
  Json root{{"format", kManifestFormat},
            {"version", kManifestVersion},
            {"target", manifest.target},
            {"library", manifest.library},
            {"abi_version", manifest.abiVersion},
            {"source", manifest.source},
            {"functions", std::move(functions)}};
  if (!cuda)
    root["cpu"] = Json{{"arch", manifest.cpu.arch},
                       {"name", manifest.cpu.name},
                       {"features", manifest.cpu.features}};
  if (cuda) {
    Json object{{"arch", manifest.cuda.arch},
                {"source", manifest.cuda.source}};
    if (!manifest.cuda.emulationLibrary.empty())
      object["emulation_library"] = manifest.cuda.emulationLibrary;
    root["cuda"] = std::move(object);
  }
  // Invalid UTF-8 in a name becomes U+FFFD rather than aborting.
  return root.dump(2, ' ', /*ensure_ascii=*/false,
                   Json::error_handler_t::replace) +
         "\n";
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
