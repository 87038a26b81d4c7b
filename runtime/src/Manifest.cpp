// Strict parsing of manifest.json: every field checked for presence, type and
// consistency, because generated code trusts what the runtime derives from it.
#include "ssm/manifest.h"

#include "Json.h"
#include "Status.h"

// The writer's JSON; nothing here may throw.
#define JSON_NOEXCEPTION
#include <nlohmann/json.hpp>

#include <initializer_list>
#include <set>

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

// Parses one manifest; `fail` builds every error: the manifest's path, the
// field's path, then the message formatted by fmt.
class ManifestParser {
public:
  explicit ManifestParser(const std::string &origin) : origin(origin) {}

  ssm_status_t parse(std::string_view text, Manifest &out);

private:
  const std::string &origin;

  template <typename... Args>
  ssm_status_t fail(ssm_status_code_t code, const std::string &path,
                    fmt::format_string<Args...> format, Args &&...args) const {
    return makeStatus(code, "{}: {} {}", origin,
                      path.empty() ? "the manifest" : path,
                      fmt::format(format, std::forward<Args>(args)...));
  }

  /// DATA_LOSS: what a malformed field is.
  template <typename... Args>
  ssm_status_t fail(const std::string &path, fmt::format_string<Args...> format,
                    Args &&...args) const {
    return fail(SSM_STATUS_DATA_LOSS, path, format,
                std::forward<Args>(args)...);
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
        return fail(path, "has unknown field '{}'", member.key);
    }
    for (const char *name : required)
      if (!object.find(name))
        return fail(path, "has no field '{}'", name);
    return nullptr;
  }

  ssm_status_t expectObject(const json::Value &value,
                            const std::string &path) const {
    if (!value.isObject())
      return fail(path, "is {}, expected an object", json::describe(value));
    return nullptr;
  }

  ssm_status_t expectArray(const json::Value &value,
                           const std::string &path) const {
    if (!value.isArray())
      return fail(path, "is {}, expected an array", json::describe(value));
    return nullptr;
  }

  // A non-empty string without NUL (names reach C callers as C strings).
  ssm_status_t getName(const json::Value &value, const std::string &path,
                       std::string &out) const {
    if (!value.isString())
      return fail(path, "is {}, expected a string", json::describe(value));
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
      return fail(path, "is {}, expected an integer", json::describe(value));
    out = *integer;
    return nullptr;
  }

  ssm_status_t parseInputDim(const json::Value &value, const std::string &path,
                             const std::vector<TensorSpec> &inputs,
                             InputDim &out) const;
  /// An array of input dims (a size product's factors).
  ssm_status_t parseInputDims(const json::Value &value, const std::string &path,
                              const std::vector<TensorSpec> &inputs,
                              std::vector<InputDim> &out) const;
  ssm_status_t parseTensor(const json::Value &value, const std::string &path,
                           bool isOutput, const std::vector<TensorSpec> &inputs,
                           TensorSpec &out) const;
  ssm_status_t parseAliases(const json::Value &value, const std::string &path,
                            const std::vector<TensorSpec> &inputs,
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
  ssm_status_t parseLaunchRange(const json::Value &value,
                                const std::string &path,
                                const FunctionSpec &function,
                                LaunchRange &out) const;
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
    return fail(path + ".input", "is {}, but the function has {} inputs", input,
                inputs.size());
  const TensorSpec &tensor = inputs[static_cast<size_t>(input)];
  if (dim < 0 || static_cast<uint64_t>(dim) >= tensor.shape.size())
    return fail(path + ".dim", "is {}, but input {} ('{}') has rank {}", dim,
                input, tensor.name, tensor.shape.size());
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
          ? checkFields(value, path, {"name", "dtype", "shape"},
                        {"dims_from", "aliases"})
          : checkFields(value, path, {"name", "dtype", "shape"}, {});
  if (status)
    return status;
  if (ssm_status_t status =
          getName(*value.find("name"), path + ".name", out.name))
    return status;

  const json::Value &dtype = *value.find("dtype");
  if (!dtype.isString())
    return fail(path + ".dtype", "is {}, expected a string",
                json::describe(dtype));
  std::optional<DLDataType> code = dtypeFromName(dtype.getString());
  if (!code)
    return fail(path + ".dtype",
                "is \"{}\", expected one of f32, f64, f16, bf16, i32, i64",
                dtype.getString());
  out.dtypeName = dtype.getString();
  out.dtype = *code;

  const json::Value &shape = *value.find("shape");
  if (ssm_status_t status = expectArray(shape, path + ".shape"))
    return status;
  bool hasDynamicDim = false;
  for (size_t d = 0; d < shape.getArray().size(); ++d) {
    std::string dimPath = fmt::format("{}.shape[{}]", path, d);
    int64_t size = 0;
    if (ssm_status_t status = getInteger(shape.getArray()[d], dimPath, size))
      return status;
    if (size < -1)
      return fail(dimPath, "is {}, expected a size >= 0 or -1 (dynamic)", size);
    hasDynamicDim = hasDynamicDim || size == -1;
    out.shape.push_back(size);
  }

  const json::Value *dimsFrom = value.find("dims_from");
  if (!isOutput)
    return nullptr;
  if (!dimsFrom) {
    if (hasDynamicDim)
      return fail(path,
                  "has no field 'dims_from', which an output with dynamic "
                  "dims (shape {}) needs",
                  formatSignatureShape(out.shape));
    out.dimsFrom.assign(out.shape.size(), std::nullopt);
    return parseAliases(value, path, inputs, out);
  }
  if (ssm_status_t status = expectArray(*dimsFrom, path + ".dims_from"))
    return status;
  if (dimsFrom->getArray().size() != out.shape.size())
    return fail(path + ".dims_from",
                "has {} entries, expected one per dim ({})",
                dimsFrom->getArray().size(), out.shape.size());
  for (size_t d = 0; d < out.shape.size(); ++d) {
    std::string entryPath = fmt::format("{}.dims_from[{}]", path, d);
    const json::Value &entry = dimsFrom->getArray()[d];
    if (out.shape[d] >= 0) {
      if (!entry.isNull())
        return fail(entryPath, "is {}, expected null for static dim {}",
                    json::describe(entry), d);
      out.dimsFrom.push_back(std::nullopt);
      continue;
    }
    if (entry.isNull())
      return fail(entryPath,
                  "is null, but dim {} is dynamic and needs the input dim it "
                  "equals",
                  d);
    InputDim source;
    if (ssm_status_t status = parseInputDim(entry, entryPath, inputs, source))
      return status;
    out.dimsFrom.push_back(source);
  }
  return parseAliases(value, path, inputs, out);
}

ssm_status_t ManifestParser::parseAliases(const json::Value &value,
                                          const std::string &path,
                                          const std::vector<TensorSpec> &inputs,
                                          TensorSpec &out) const {
  const json::Value *aliases = value.find("aliases");
  if (!aliases)
    return nullptr;
  const std::string aliasPath = path + ".aliases";
  int64_t index = 0;
  if (ssm_status_t status = getInteger(*aliases, aliasPath, index))
    return status;
  if (index < 0 || static_cast<size_t>(index) >= inputs.size())
    return fail(aliasPath, "is {}, expected an input index in [0, {})", index,
                inputs.size());
  const TensorSpec &input = inputs[static_cast<size_t>(index)];
  if (input.dtypeName != out.dtypeName || input.shape != out.shape)
    return fail(aliasPath,
                "names input '{}' ({} {}), which is not of the output's dtype "
                "and shape ({} {})",
                input.name, input.dtypeName, formatSignatureShape(input.shape),
                out.dtypeName, formatSignatureShape(out.shape));
  out.aliases = static_cast<size_t>(index);
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
    std::string tensorPath = fmt::format("{}[{}]", path, i);
    if (ssm_status_t status = parseTensor(value.getArray()[i], tensorPath,
                                          isOutput, inputs, tensor))
      return status;
    // Callers bind tensors by name.
    if (!names.insert(tensor.name).second)
      return fail(tensorPath + ".name",
                  "is \"{}\", the name of an earlier entry", tensor.name);
    for (const TensorSpec &earlier : out)
      if (tensor.aliases && earlier.aliases == tensor.aliases)
        return fail(tensorPath + ".aliases",
                    "names input '{}', which output '{}' is written into",
                    inputs[*tensor.aliases].name, earlier.name);
    out.push_back(std::move(tensor));
  }
  return nullptr;
}

ssm_status_t ManifestParser::parseDtype(const json::Value &value,
                                        const std::string &path,
                                        std::string &name,
                                        DLDataType &dtype) const {
  if (!value.isString())
    return fail(path, "is {}, expected a string", json::describe(value));
  std::optional<DLDataType> parsed = dtypeFromName(value.getString());
  if (!parsed)
    return fail(path,
                "is \"{}\", expected one of f32, f64, f16, bf16, i32, i64",
                value.getString());
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
    std::string entryPath = fmt::format("{}[{}]", path, b);
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
      std::string dimPath = fmt::format("{}.shape[{}]", entryPath, d);
      if (ssm_status_t status = getInteger(shape.getArray()[d], dimPath, size))
        return status;
      if (size < -1)
        return fail(dimPath, "is {}, expected a size >= 0 or -1 (dynamic)",
                    size);
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
                    "has {} entries, expected one per dim ({})",
                    dimsFrom->getArray().size(), buffer.shape.size());
      for (size_t d = 0; d < buffer.shape.size(); ++d) {
        const json::Value &source = dimsFrom->getArray()[d];
        std::string sourcePath = fmt::format("{}.dims_from[{}]", entryPath, d);
        if (buffer.shape[d] >= 0) {
          if (!source.isNull())
            return fail(sourcePath, "is {}, expected null for a static dim",
                        json::describe(source));
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

ssm_status_t ManifestParser::parseInputDims(
    const json::Value &value, const std::string &path,
    const std::vector<TensorSpec> &inputs, std::vector<InputDim> &out) const {
  if (ssm_status_t status = expectArray(value, path))
    return status;
  for (size_t d = 0; d < value.getArray().size(); ++d) {
    InputDim dim;
    if (ssm_status_t status = parseInputDim(
            value.getArray()[d], fmt::format("{}[{}]", path, d), inputs, dim))
      return status;
    out.push_back(dim);
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
    return fail(path + ".divisor", "is {}, expected at least 1", out.divisor);
  if (const json::Value *limit = value.find("limit")) {
    if (ssm_status_t status = getInteger(*limit, path + ".limit", out.limit))
      return status;
    if (out.limit < 1)
      return fail(path + ".limit", "is {}, expected at least 1", out.limit);
  }
  return parseInputDims(*value.find("dims"), path + ".dims", function.inputs,
                        out.dims);
}

ssm_status_t ManifestParser::parseLaunchRange(const json::Value &value,
                                              const std::string &path,
                                              const FunctionSpec &function,
                                              LaunchRange &out) const {
  if (ssm_status_t status = expectObject(value, path))
    return status;
  if (ssm_status_t status = checkFields(value, path, {"factor", "dims"},
                                        {"at_least", "at_most"}))
    return status;
  if (ssm_status_t status =
          getInteger(*value.find("factor"), path + ".factor", out.factor))
    return status;
  if (out.factor < 1)
    return fail(path + ".factor", "is {}, expected at least 1", out.factor);
  const json::Value *atLeast = value.find("at_least");
  const json::Value *atMost = value.find("at_most");
  if (!atLeast && !atMost)
    return fail(path, "has neither 'at_least' nor 'at_most'");
  if (atLeast) {
    if (ssm_status_t status =
            getInteger(*atLeast, path + ".at_least", out.atLeast))
      return status;
    if (out.atLeast < 0)
      return fail(path + ".at_least", "is negative");
  }
  if (atMost) {
    if (ssm_status_t status = getInteger(*atMost, path + ".at_most", out.atMost))
      return status;
    if (out.atMost < 1 || out.atMost < out.atLeast)
      return fail(path + ".at_most", "is {}, expected at least 1 and at least "
                                     "'at_least' ({})",
                  out.atMost, out.atLeast);
  }
  return parseInputDims(*value.find("dims"), path + ".dims", function.inputs,
                        out.dims);
}

ssm_status_t ManifestParser::parseLaunch(const json::Value &value,
                                         const std::string &path,
                                         const FunctionSpec &function,
                                         Launch &out) const {
  if (ssm_status_t status = expectObject(value, path))
    return status;
  if (ssm_status_t status = checkFields(
          value, path, {"kernel", "grid", "block", "shared_bytes", "arguments"},
          {"runs_when"}))
    return status;
  if (ssm_status_t status =
          getName(*value.find("kernel"), path + ".kernel", out.kernel))
    return status;
  if (const json::Value *range = value.find("runs_when")) {
    out.runsWhen.emplace();
    if (ssm_status_t status = parseLaunchRange(*range, path + ".runs_when",
                                               function, *out.runsWhen))
      return status;
  }
  const json::Value &grid = *value.find("grid");
  if (ssm_status_t status = expectArray(grid, path + ".grid"))
    return status;
  if (grid.getArray().size() != 3)
    return fail(path + ".grid", "has {} extents, expected 3 (x, y, z)",
                grid.getArray().size());
  for (size_t i = 0; i < 3; ++i)
    if (ssm_status_t status = parseGridExtent(
            grid.getArray()[i], fmt::format("{}.grid[{}]", path, i), function,
            out.grid[i]))
      return status;
  const json::Value &block = *value.find("block");
  if (ssm_status_t status = expectArray(block, path + ".block"))
    return status;
  if (block.getArray().size() != 3)
    return fail(path + ".block", "has {} extents, expected 3 (x, y, z)",
                block.getArray().size());
  int64_t threads = 1;
  for (size_t i = 0; i < 3; ++i) {
    int64_t extent = 0;
    std::string extentPath = fmt::format("{}.block[{}]", path, i);
    if (ssm_status_t status = getInteger(block.getArray()[i], extentPath, extent))
      return status;
    if (extent < 1 || extent > 1024)
      return fail(extentPath, "is {}, expected 1 to 1024", extent);
    threads *= extent;
    out.block[i] = static_cast<uint32_t>(extent);
  }
  if (threads > 1024)
    return fail(path + ".block", "has {} threads, more than a block's 1024",
                threads);
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
    std::string entryPath = fmt::format("{}.arguments[{}]", path, a);
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
      return fail(entryPath, "has unknown field '{}'", member.key);
    }
    int64_t index = 0;
    std::string indexPath = entryPath + "." + member.key;
    if (ssm_status_t status = getInteger(member.value, indexPath, index))
      return status;
    if (index < 0 || static_cast<size_t>(index) >= count)
      return fail(indexPath, "is {}, but the function has {} {}s", index, count,
                  member.key);
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
  if (!isSupportedCudaArch(out.arch))
    return fail(SSM_STATUS_UNIMPLEMENTED, "cuda.arch",
                "is \"{}\"; this runtime loads {} kernels", out.arch,
                kCudaArchs);
  if (ssm_status_t status =
          getName(*value.find("source"), "cuda.source", out.source))
    return status;
  if (const json::Value *library = value.find("emulation_library"))
    if (ssm_status_t status = getName(*library, "cuda.emulation_library",
                                      out.emulationLibrary))
      return status;
  for (const std::string *file : {&out.source, &out.emulationLibrary})
    if (file->find('/') != std::string::npos || *file == "." || *file == "..")
      return fail("cuda",
                  "names \"{}\", expected a file name inside the artifact "
                  "directory",
                  *file);
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
    std::string path = fmt::format("cpu.features[{}]", i);
    std::string feature;
    if (ssm_status_t status = getName(features.getArray()[i], path, feature))
      return status;
    for (const std::string &earlier : out.features)
      if (earlier == feature)
        return fail(path, "is \"{}\", listed before", feature);
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
  std::string named = fmt::format("{} ('{}')", path, out.name);
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
    std::string groupPath = fmt::format("{}.equal_dims[{}]", named, g);
    const json::Value &group = equalDims.getArray()[g];
    if (ssm_status_t status = expectArray(group, groupPath))
      return status;
    if (group.getArray().size() < 2)
      return fail(groupPath, "has {} entries, expected at least 2",
                  group.getArray().size());
    std::vector<InputDim> dims;
    for (size_t i = 0; i < group.getArray().size(); ++i) {
      InputDim dim;
      if (ssm_status_t status = parseInputDim(
              group.getArray()[i], fmt::format("{}[{}]", groupPath, i),
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
      std::string entryPath = fmt::format("{}.algorithms[{}]", named, i);
      if (ssm_status_t status = expectObject(entry, entryPath))
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
        return fail(entryPath, "contains a NUL character");
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
              launches.getArray()[l], fmt::format("{}.launches[{}]", named, l),
              out, launch))
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
    return fail("", "is not valid JSON: {}", parseError.toString());
  if (!root->isObject())
    return fail("", "is {}, expected an object (an ssmc artifact manifest)",
                json::describe(*root));

  // Format and version first: a later version may change everything else.
  const json::Value *format = root->find("format");
  if (!format)
    return fail("", "has no field 'format' (expected \"ssmc-artifact\")");
  if (!format->isString() || format->getString() != kManifestFormat)
    return fail("format", "is {}, expected \"ssmc-artifact\"",
                json::describe(*format));
  const json::Value *version = root->find("version");
  if (!version)
    return fail("", "has no field 'version'");
  int64_t versionNumber = 0;
  if (ssm_status_t status = getInteger(*version, "version", versionNumber))
    return status;
  if (versionNumber != kManifestVersion)
    return fail(SSM_STATUS_INCOMPATIBLE, "version",
                "is {}; this runtime reads manifest version {}{}",
                versionNumber, kManifestVersion,
                versionNumber == 1
                    ? " (a version 1 artifact does not say which CPU "
                      "features its code needs; recompile it with this ssmc)"
                    : "");

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
    return fail(SSM_STATUS_INCOMPATIBLE, "abi_version",
                "is {}; this runtime loads CPU library ABI version {}",
                abiVersion, SSM_CPU_LIBRARY_ABI_VERSION);
  out.abiVersion = static_cast<uint32_t>(abiVersion);

  if (ssm_status_t status =
          getName(*root->find("target"), "target", out.target))
    return status;
  if (out.target != "cpu" && out.target != "cuda")
    return fail(SSM_STATUS_UNIMPLEMENTED, "target",
                "is \"{}\"; this runtime loads \"cpu\" and \"cuda\" artifacts",
                out.target);
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
    return fail("library",
                "is \"{}\", expected a file name inside the artifact "
                "directory",
                out.library);

  if (const json::Value *source = root->find("source")) {
    if (!source->isString())
      return fail("source", "is {}, expected a string",
                  json::describe(*source));
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
    std::string path = fmt::format("functions[{}]", i);
    if (ssm_status_t status =
            parseFunction(functions.getArray()[i], path, isCuda, function))
      return status;
    if (!names.insert(function.name).second)
      return fail(path + ".name", "is \"{}\", the name of an earlier function",
                  function.name);
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
  if (isOutput && tensor.aliases)
    object["aliases"] = *tensor.aliases;
  return object;
}

Json launchJson(const Launch &launch) {
  auto dimsJson = [](const std::vector<InputDim> &dims) {
    Json array = Json::array();
    for (const InputDim &dim : dims)
      array.push_back(inputDimJson(dim));
    return array;
  };
  Json grid = Json::array();
  for (const GridExtent &extent : launch.grid) {
    Json object{{"factor", extent.factor},
                {"dims", dimsJson(extent.dims)},
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
  Json object{{"kernel", launch.kernel},
              {"grid", std::move(grid)},
              {"block", {launch.block[0], launch.block[1], launch.block[2]}},
              {"shared_bytes", launch.sharedBytes},
              {"arguments", std::move(arguments)}};
  if (launch.runsWhen) {
    Json range{{"factor", launch.runsWhen->factor},
               {"dims", dimsJson(launch.runsWhen->dims)}};
    if (launch.runsWhen->atLeast > 0)
      range["at_least"] = launch.runsWhen->atLeast;
    if (launch.runsWhen->atMost > 0)
      range["at_most"] = launch.runsWhen->atMost;
    object["runs_when"] = std::move(range);
  }
  return object;
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
  std::vector<std::string> dims;
  for (int64_t size : shape)
    dims.push_back(size < 0 ? "?" : fmt::to_string(size));
  return fmt::format("[{}]", fmt::join(dims, ", "));
}

} // namespace ssm::runtime
