// What ssm-run's commands share (RunSupport.h).
#include "RunSupport.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>

namespace ssm::run {

void fail(int code, const std::string &message) { throw Exit{code, message}; }

void usageError(const std::string &message) {
  fail(kExitBadInput, "{}\nRun 'ssm-run --help' for usage.", message);
}

/// Parses `--name=value`, `--flag` and `-v`; anything else starting with '-'
/// is an error naming it.
Arguments parseArguments(const std::string &command,
                         const std::vector<std::string> &args,
                         const std::vector<OptionSpec> &specs) {
  Arguments result;
  for (size_t index = 0; index < args.size(); ++index) {
    const std::string &arg = args[index];
    if (arg.size() < 2 || arg[0] != '-') {
      result.positional.push_back(arg);
      continue;
    }
    std::string name = arg == "-v" ? "verbose" : arg;
    if (name != "verbose") {
      if (name.rfind("--", 0) != 0)
        usageError("ssm-run {}: unknown option '{}'", command, arg);
      name = name.substr(2);
    }
    std::string value;
    bool hasValue = false;
    if (size_t equals = name.find('='); equals != std::string::npos) {
      value = name.substr(equals + 1);
      name = name.substr(0, equals);
      hasValue = true;
    }
    const OptionSpec *spec = nullptr;
    for (const OptionSpec &candidate : specs)
      if (name == candidate.name)
        spec = &candidate;
    if (!spec)
      usageError("ssm-run {}: unknown option '--{}'", command, name);
    // `--name value` as well as `--name=value`.
    if (spec->takesValue && !hasValue && index + 1 < args.size() &&
        args[index + 1].rfind("-", 0) != 0) {
      value = args[++index];
      hasValue = true;
    }
    if (spec->takesValue && !hasValue)
      usageError("ssm-run {}: option '--{}' needs a value (--{}=...)", command,
                 name, name);
    if (!spec->takesValue && hasValue)
      usageError("ssm-run {}: option '--{}' takes no value", command, name);
    if (result.has(name))
      usageError("ssm-run {}: option '--{}' is given twice", command, name);
    if (spec->takesValue)
      result.values[name] = value;
    else
      result.flags.insert(name);
  }
  return result;
}

int64_t parseCount(const std::string &option, const std::string &text,
                   int64_t minimum) {
  char *end = nullptr;
  errno = 0;
  long long value = std::strtoll(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || errno == ERANGE || value < minimum)
    usageError("option '--{}' expects an integer >= {}, got '{}'", option,
               minimum, text);
  return value;
}

double parseTolerance(const std::string &text) {
  char *end = nullptr;
  double value = std::strtod(text.c_str(), &end);
  if (text.empty() || *end != '\0' || !(value >= 0.0) || std::isinf(value))
    usageError("option '--tolerance' expects a number >= 0, got '{}'", text);
  return value;
}

std::string formatShape(const std::vector<int64_t> &shape) {
  std::vector<std::string> dims;
  for (int64_t size : shape)
    dims.push_back(size < 0 ? "?" : fmt::to_string(size));
  return fmt::format("[{}]", fmt::join(dims, ", "));
}

std::vector<int64_t> shapeOf(const DLTensor &tensor) {
  return std::vector<int64_t>(tensor.shape, tensor.shape + tensor.ndim);
}

/// Every element as a double: float formats through the runtime's
/// converters, integers exactly up to 2^53.
std::vector<double> toDoubles(const DLTensor &tensor) {
  if (tensor.dtype.code == kDLFloat || tensor.dtype.code == kDLBfloat)
    return toDoubleVector(tensor);
  if ((tensor.dtype.code != kDLInt && tensor.dtype.code != kDLUInt) ||
      tensor.dtype.lanes != 1)
    throw Error(SSM_STATUS_UNIMPLEMENTED, fmt::format("cannot compare dtype {}",
                                                      dtypeName(tensor.dtype)));
  size_t count = static_cast<size_t>(numElements(tensor));
  size_t bytes = tensor.dtype.bits / 8;
  const uint8_t *data =
      static_cast<const uint8_t *>(tensor.data) + tensor.byte_offset;
  std::vector<double> result(count);
  bool isSigned = tensor.dtype.code == kDLInt;
  for (size_t i = 0; i < count; ++i) {
    uint64_t raw = 0;
    std::memcpy(&raw, data + i * bytes, bytes); // little-endian host
    if (isSigned && bytes < 8 && (raw >> (8 * bytes - 1)) & 1)
      raw |= ~uint64_t(0) << (8 * bytes); // sign-extend
    result[i] = isSigned ? static_cast<double>(static_cast<int64_t>(raw))
                         : static_cast<double>(raw);
  }
  return result;
}

/// Fills a float tensor with NaN so that an output the code never writes
/// cannot pass a comparison by accident.
void poison(HostTensor &tensor) {
  DLDataType dtype = tensor.dataType();
  size_t count = tensor.bytes() / std::max<size_t>(1, elementBytes(dtype));
  uint8_t *data = static_cast<uint8_t *>(tensor.data());
  if (dtype.code == kDLFloat && dtype.bits == 32) {
    float nan = std::numeric_limits<float>::quiet_NaN();
    for (size_t i = 0; i < count; ++i)
      std::memcpy(data + 4 * i, &nan, 4);
  } else if (dtype.code == kDLFloat && dtype.bits == 64) {
    double nan = std::numeric_limits<double>::quiet_NaN();
    for (size_t i = 0; i < count; ++i)
      std::memcpy(data + 8 * i, &nan, 8);
  } else if ((dtype.code == kDLFloat || dtype.code == kDLBfloat) &&
             dtype.bits == 16) {
    uint16_t nan = dtype.code == kDLFloat ? 0x7E00 : 0x7FC0;
    for (size_t i = 0; i < count; ++i)
      std::memcpy(data + 2 * i, &nan, 2);
  }
}

struct Comparison {
  double maxAbsError = 0.0;
  double maxAbsReference = 0.0;
  double relative = 0.0;
  bool ok = false;
  /// Why the comparison could not be made (e.g. shapes differ); "" if made.
  std::string problem;
};

/// max |out - ref| / max |ref|, with any non-finite mismatch counted as an
/// infinite error.
Comparison compare(const DLTensor &output, const DLTensor &reference,
                   double tolerance) {
  Comparison result;
  if (shapeOf(output) != shapeOf(reference)) {
    result.problem = fmt::format("shape {} but the reference has {}",
                                 formatShape(shapeOf(output)),
                                 formatShape(shapeOf(reference)));
    return result;
  }
  std::vector<double> got = toDoubles(output), want = toDoubles(reference);
  for (size_t i = 0; i < got.size(); ++i) {
    double error = std::fabs(got[i] - want[i]);
    if (std::isnan(got[i]) && std::isnan(want[i]))
      error = 0.0;
    else if (std::isnan(error) || (std::isinf(got[i]) && got[i] != want[i]))
      error = std::numeric_limits<double>::infinity();
    result.maxAbsError = std::max(result.maxAbsError, error);
    if (std::isfinite(want[i]))
      result.maxAbsReference =
          std::max(result.maxAbsReference, std::fabs(want[i]));
  }
  if (result.maxAbsReference > 0.0)
    result.relative = result.maxAbsError / result.maxAbsReference;
  else
    result.relative = result.maxAbsError == 0.0
                          ? 0.0
                          : std::numeric_limits<double>::infinity();
  result.ok = result.relative <= tolerance;
  return result;
}

/// Prints one line per output and returns whether all are within tolerance.
bool compareOutputs(const Function &function,
                    std::vector<HostTensor> &outputs,
                    const SafetensorsFile &references,
                    const std::string &referencePath, double tolerance) {
  size_t width = 0;
  for (size_t o = 0; o < outputs.size(); ++o)
    width = std::max(width, function.output(o).name.size());
  bool allOk = true;
  for (size_t o = 0; o < outputs.size(); ++o) {
    std::string name = function.output(o).name;
    if (!references.has(name))
      fail(kExitBadInput,
           "{}: no reference tensor '{}' for output {} of function '{}'",
           referencePath, name, o, function.name());
    Comparison result =
        compare(outputs[o].view(), references.tensor(name), tolerance);
    fmt::print("  {:<{}}  ", name, width);
    if (!result.problem.empty()) {
      fmt::print("{}  FAIL\n", result.problem);
      allOk = false;
      continue;
    }
    fmt::print("max_abs_err={:.3e}  max_abs_ref={:.3e}  rel={:.3e}  {}\n",
               result.maxAbsError, result.maxAbsReference, result.relative,
               result.ok ? "ok" : "FAIL");
    allOk = allOk && result.ok;
  }
  return allOk;
}

std::string describeAlgorithms(const Function &function) {
  std::string text;
  for (const AlgorithmNote &note : function.algorithms()) {
    text += text.empty() ? "" : ", ";
    text += note.algorithm.empty() ? "?" : note.algorithm;
    if (note.chunkSize > 0)
      text += fmt::format(" (chunk {})", note.chunkSize);
    if (!note.location.empty())
      text += fmt::format(" at {}", note.location);
  }
  return text.empty() ? "(none recorded)" : text;
}

SafetensorsFile openSafetensors(const std::string &path) {
  try {
    return SafetensorsFile::open(path);
  } catch (const Error &error) {
    fail(kExitBadInput, error.what());
  }
}


static ssm_module_options_t optionsFor(const std::string &target) {
  ssm_module_options_t options;
  ssm_module_options_initialize(&options);
  if (target == "cpu")
    options.device = {kDLCPU, 0};
  else if (target == "cuda")
    options.device = {kDLCUDA, 0};
  else if (!target.empty())
    usageError("unknown target '{}', expected cpu or cuda", target);
  return options;
}

Module loadArtifact(const std::string &path, const std::string &target) {
  ssm_module_options_t options = optionsFor(target);
  try {
    return Module::load(path, options);
  } catch (const Error &error) {
    fail(kExitBadInput, error.what());
  }
}

Model loadModel(const std::string &path, const std::string &weights,
                const std::string &target) {
  ssm_module_options_t options = optionsFor(target);
  try {
    return Model::load(path, weights, &options);
  } catch (const Error &error) {
    fail(kExitBadInput, error.what());
  }
}

HostTensor convertedCopy(const DLTensor &tensor, DLDataType dtype,
                         const std::string &name, const std::string &path) {
  HostTensor copy = HostTensor::copyOf(tensor);
  DLDataType given = tensor.dtype;
  if (given.code == dtype.code && given.bits == dtype.bits &&
      given.lanes == dtype.lanes)
    return copy;
  bool floats = (given.code == kDLFloat || given.code == kDLBfloat) &&
                (dtype.code == kDLFloat || dtype.code == kDLBfloat);
  if (!floats)
    fail(kExitBadInput, "{}: tensor '{}' is {}, the function takes {}", path,
         name, dtypeName(given), dtypeName(dtype));
  std::vector<double> values = toDoubleVector(copy.view());
  HostTensor result(dtype, copy.shape());
  auto *bytes = static_cast<uint8_t *>(result.data());
  for (size_t i = 0; i < values.size(); ++i) {
    float value = static_cast<float>(values[i]);
    if (dtype.code == kDLFloat && dtype.bits == 32) {
      std::memcpy(bytes + 4 * i, &value, 4);
    } else if (dtype.code == kDLFloat && dtype.bits == 64) {
      std::memcpy(bytes + 8 * i, &values[i], 8);
    } else {
      uint16_t half = dtype.code == kDLBfloat ? floatToBfloat16(value)
                                              : floatToHalf(value);
      std::memcpy(bytes + 2 * i, &half, 2);
    }
  }
  return result;
}


std::vector<HostTensor> bindInputs(const Function &function,
                                   const std::vector<InputSource> &sources,
                                   std::map<std::string, HostTensor> given) {
  std::vector<HostTensor> inputs;
  for (size_t i = 0; i < function.numInputs(); ++i) {
    TensorSignature signature = function.input(i);
    if (auto it = given.find(signature.name); it != given.end()) {
      inputs.push_back(std::move(it->second));
      continue;
    }
    const InputSource *source = nullptr;
    for (const InputSource &candidate : sources)
      if (candidate.file.has(signature.name)) {
        source = &candidate;
        break;
      }
    if (!source) {
      std::vector<std::string> paths;
      for (const InputSource &candidate : sources)
        paths.push_back(candidate.path);
      fail(kExitBadInput,
           "{}: no tensor '{}', which function '{}' takes as input {} ({}{})",
           fmt::join(paths, " or "), signature.name, function.name(), i,
           dtypeName(signature.dtype), formatShape(signature.shape));
    }
    // safetensors data is unaligned; generated code may assume alignment.
    inputs.push_back(convertedCopy(source->file.tensor(signature.name),
                                   signature.dtype, signature.name,
                                   source->path));
  }
  return inputs;
}

Call::Call(const Module &module, const Function &function,
           const SafetensorsFile &file, const std::string &path)
    : Call(module, function, bindInputs(function, {{file, path}})) {}

Call::Call(const Module &module, const Function &function,
           std::vector<HostTensor> inputs)
    : module(module), function(function), hostInputs(std::move(inputs)) {
  for (HostTensor &input : hostInputs)
    inputViews.push_back(input.view());
  try {
    hostOutputs = function.allocateOutputs(inputViews);
  } catch (const Error &error) {
    fail(kExitBadInput, error.what());
  }
  for (HostTensor &output : hostOutputs)
    poison(output);
  if (module.onHost()) {
    for (HostTensor &output : hostOutputs)
      outputViews.push_back(output.view());
    return;
  }
  inputViews.clear();
  for (HostTensor &input : hostInputs) {
    deviceInputs.push_back(DeviceTensor::copyOf(module, input));
    inputViews.push_back(deviceInputs.back().view());
  }
  for (HostTensor &output : hostOutputs) {
    deviceOutputs.push_back(DeviceTensor::copyOf(module, output));
    outputViews.push_back(deviceOutputs.back().view());
  }
}

double Call::run() {
  auto start = std::chrono::steady_clock::now();
  try {
    function.invoke(inputViews, outputViews);
    module.synchronize();
  } catch (const Error &error) {
    fail(kExitBadInput, error.what());
  }
  auto end = std::chrono::steady_clock::now();
  return std::chrono::duration<double, std::milli>(end - start).count();
}

std::vector<HostTensor> Call::outputs() {
  if (module.onHost())
    return std::move(hostOutputs);
  std::vector<HostTensor> result;
  for (DeviceTensor &output : deviceOutputs)
    result.push_back(output.toHost());
  return result;
}

} // namespace ssm::run
