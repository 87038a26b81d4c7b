// ssm-run: the runtime's command-line face. Checks a reference test vector
// through the real compiler (`check`), runs an artifact on tensors from a
// safetensors file (`run`), and describes an artifact (`info`).
//
// Exit status: 0 success; 1 outputs beyond tolerance; 2 bad input or usage;
// 3 compiler failure (ssmc crashed, failed, or wrote an unloadable artifact).

#include "Json.h" // the runtime's strict JSON parser, for vector metadata

#include "ssm/runtime.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

namespace fs = std::filesystem;

namespace {

constexpr int kExitOk = 0;
constexpr int kExitMismatch = 1;
constexpr int kExitBadInput = 2;
constexpr int kExitCompilerFailure = 3;

/// The relative error bound of testdata/README.md for float32 op vectors.
constexpr double kCheckTolerance = 1e-4;

const char *const kUsage = R"(usage: ssm-run <command> [options]

Commands:
  check <vector.safetensors> [--algorithm=auto|quadratic|recurrent|chunked]
        [--chunk-size=Q] [--target=cpu] [--keep=DIR] [-v]
      Compile the op a reference test vector describes (its
      __metadata__.meta 'kind': ssd, selective_scan, softmax_attention,
      linear_attention) with ssmc, run it on the vector's inputs and compare
      every output with the vector's reference (max abs error / max |ref|
      within 1e-4). --keep=DIR keeps the artifact in DIR.
  run <artifact_dir> --inputs=FILE.safetensors [--function=NAME]
        [--output=OUT.safetensors] [--compare=REF.safetensors]
        [--tolerance=1e-4] [--warmup=1] [--repeat=5] [-v]
      Bind the function's inputs by name from FILE, run it, print the median
      and minimum time (-v: every run), write the outputs by name to OUT and
      compare them with REF's tensors of the same names.
  info <artifact_dir>
      Print the artifact's functions and their signatures.

ssmc is looked up next to ssm-run, then in $SSMC, then on PATH.
Exit status: 0 success, 1 outputs beyond tolerance, 2 bad input or usage,
3 compiler failure.
)";

/// Ends the command with `code` after printing `message` (if any) to stderr.
struct Exit {
  int code;
  std::string message;
};

[[noreturn]] void fail(int code, const std::string &message) {
  throw Exit{code, message};
}

[[noreturn]] void usageError(const std::string &message) {
  fail(kExitBadInput, message + "\nRun 'ssm-run --help' for usage.");
}

//===----------------------------------------------------------------------===//
// Command lines
//===----------------------------------------------------------------------===//

struct OptionSpec {
  const char *name; // without the leading dashes
  bool takesValue;
};

struct Arguments {
  std::vector<std::string> positional;
  std::map<std::string, std::string> values;
  std::set<std::string> flags;

  bool has(const std::string &name) const {
    return values.count(name) || flags.count(name);
  }
  std::string value(const std::string &name,
                    const std::string &fallback = "") const {
    auto it = values.find(name);
    return it == values.end() ? fallback : it->second;
  }
};

/// Parses `--name=value`, `--flag` and `-v`; anything else starting with '-'
/// is an error naming it.
Arguments parseArguments(const std::string &command,
                         const std::vector<std::string> &args,
                         const std::vector<OptionSpec> &specs) {
  Arguments result;
  for (const std::string &arg : args) {
    if (arg.size() < 2 || arg[0] != '-') {
      result.positional.push_back(arg);
      continue;
    }
    std::string name = arg == "-v" ? "verbose" : arg;
    if (name != "verbose") {
      if (name.rfind("--", 0) != 0)
        usageError("ssm-run " + command + ": unknown option '" + arg + "'");
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
      usageError("ssm-run " + command + ": unknown option '--" + name + "'");
    if (spec->takesValue && !hasValue)
      usageError("ssm-run " + command + ": option '--" + name +
                 "' needs a value (--" + name + "=...)");
    if (!spec->takesValue && hasValue)
      usageError("ssm-run " + command + ": option '--" + name +
                 "' takes no value");
    if (result.has(name))
      usageError("ssm-run " + command + ": option '--" + name +
                 "' is given twice");
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
    usageError("option '--" + option + "' expects an integer >= " +
               std::to_string(minimum) + ", got '" + text + "'");
  return value;
}

double parseTolerance(const std::string &text) {
  char *end = nullptr;
  double value = std::strtod(text.c_str(), &end);
  if (text.empty() || *end != '\0' || !(value >= 0.0) || std::isinf(value))
    usageError("option '--tolerance' expects a number >= 0, got '" + text +
               "'");
  return value;
}

//===----------------------------------------------------------------------===//
// Tensors
//===----------------------------------------------------------------------===//

std::string formatShape(const std::vector<int64_t> &shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    text += (i ? ", " : "") +
            (shape[i] < 0 ? std::string("?") : std::to_string(shape[i]));
  return text + "]";
}

std::vector<int64_t> shapeOf(const DLTensor &tensor) {
  return std::vector<int64_t>(tensor.shape, tensor.shape + tensor.ndim);
}

/// Every element as a double: float formats through the runtime's
/// converters, integers exactly up to 2^53.
std::vector<double> toDoubles(const DLTensor &tensor) {
  if (tensor.dtype.code == kDLFloat || tensor.dtype.code == kDLBfloat)
    return ssm::toDoubleVector(tensor);
  if ((tensor.dtype.code != kDLInt && tensor.dtype.code != kDLUInt) ||
      tensor.dtype.lanes != 1)
    throw ssm::Error(SSM_STATUS_UNIMPLEMENTED,
                     "cannot compare dtype " + ssm::dtypeName(tensor.dtype));
  size_t count = static_cast<size_t>(ssm::numElements(tensor));
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
void poison(ssm::HostTensor &tensor) {
  DLDataType dtype = tensor.dataType();
  size_t count = tensor.bytes() / std::max<size_t>(1, ssm::elementBytes(dtype));
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
    result.problem = "shape " + formatShape(shapeOf(output)) +
                     " but the reference has " +
                     formatShape(shapeOf(reference));
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
bool compareOutputs(const ssm::Function &function,
                    std::vector<ssm::HostTensor> &outputs,
                    const ssm::SafetensorsFile &references,
                    const std::string &referencePath, double tolerance) {
  size_t width = 0;
  for (size_t o = 0; o < outputs.size(); ++o)
    width = std::max(width, function.output(o).name.size());
  bool allOk = true;
  for (size_t o = 0; o < outputs.size(); ++o) {
    std::string name = function.output(o).name;
    if (!references.has(name))
      fail(kExitBadInput, referencePath + ": no reference tensor '" + name +
                              "' for output " + std::to_string(o) +
                              " of function '" + function.name() + "'");
    Comparison result =
        compare(outputs[o].view(), references.tensor(name), tolerance);
    std::printf("  %-*s  ", static_cast<int>(width), name.c_str());
    if (!result.problem.empty()) {
      std::printf("%s  FAIL\n", result.problem.c_str());
      allOk = false;
      continue;
    }
    std::printf("max_abs_err=%.3e  max_abs_ref=%.3e  rel=%.3e  %s\n",
                result.maxAbsError, result.maxAbsReference, result.relative,
                result.ok ? "ok" : "FAIL");
    allOk = allOk && result.ok;
  }
  return allOk;
}

/// Aligned copies of the function's inputs, taken by name from `file`.
std::vector<ssm::HostTensor> bindInputs(const ssm::Function &function,
                                        const ssm::SafetensorsFile &file,
                                        const std::string &path) {
  std::vector<ssm::HostTensor> inputs;
  for (size_t i = 0; i < function.numInputs(); ++i) {
    ssm::TensorSignature signature = function.input(i);
    if (!file.has(signature.name))
      fail(kExitBadInput, path + ": no tensor '" + signature.name +
                              "', which function '" + function.name() +
                              "' takes as input " + std::to_string(i) + " (" +
                              ssm::dtypeName(signature.dtype) +
                              formatShape(signature.shape) + ")");
    // safetensors data is unaligned; generated code may assume alignment.
    inputs.push_back(ssm::HostTensor::copyOf(file.tensor(signature.name)));
  }
  return inputs;
}

std::vector<DLTensor> views(std::vector<ssm::HostTensor> &tensors) {
  std::vector<DLTensor> result;
  for (ssm::HostTensor &tensor : tensors)
    result.push_back(tensor.view());
  return result;
}

/// Outputs shaped for `inputs`, filled with NaN; a bad input is exit 2.
std::vector<ssm::HostTensor>
allocateOutputs(const ssm::Function &function,
                const std::vector<DLTensor> &inputs) {
  std::vector<ssm::HostTensor> outputs;
  try {
    outputs = function.allocateOutputs(inputs);
  } catch (const ssm::Error &error) {
    fail(kExitBadInput, error.what());
  }
  for (ssm::HostTensor &output : outputs)
    poison(output);
  return outputs;
}

/// Runs once and returns the wall time in milliseconds.
double timedInvoke(const ssm::Function &function,
                   const std::vector<DLTensor> &inputs,
                   std::vector<DLTensor> &outputs) {
  auto start = std::chrono::steady_clock::now();
  ssm_status_t status =
      ssm_function_invoke(function.get(), inputs.data(), inputs.size(),
                          outputs.data(), outputs.size());
  auto end = std::chrono::steady_clock::now();
  if (status) {
    std::string message = ssm_status_message(status);
    ssm_status_free(status);
    fail(kExitBadInput, message);
  }
  return std::chrono::duration<double, std::milli>(end - start).count();
}

std::string describeAlgorithms(const ssm::Function &function) {
  std::string text;
  for (const ssm::AlgorithmNote &note : function.algorithms()) {
    text += text.empty() ? "" : ", ";
    text += note.algorithm.empty() ? "?" : note.algorithm;
    if (note.chunkSize > 0)
      text += " (chunk " + std::to_string(note.chunkSize) + ")";
    if (!note.location.empty())
      text += " at " + note.location;
  }
  return text.empty() ? "(none recorded)" : text;
}

ssm::SafetensorsFile openSafetensors(const std::string &path) {
  try {
    return ssm::SafetensorsFile::open(path);
  } catch (const ssm::Error &error) {
    fail(kExitBadInput, error.what());
  }
}

//===----------------------------------------------------------------------===//
// Running the compiler
//===----------------------------------------------------------------------===//

bool isExecutable(const std::string &path) {
  return !path.empty() && ::access(path.c_str(), X_OK) == 0 &&
         fs::is_regular_file(path);
}

std::string searchPath(const std::string &name) {
  const char *path = std::getenv("PATH");
  if (!path)
    return "";
  std::string entries = path;
  size_t start = 0;
  while (start <= entries.size()) {
    size_t colon = entries.find(':', start);
    std::string dir = entries.substr(
        start, colon == std::string::npos ? std::string::npos : colon - start);
    std::string candidate = (dir.empty() ? "." : dir) + "/" + name;
    if (isExecutable(candidate))
      return candidate;
    if (colon == std::string::npos)
      break;
    start = colon + 1;
  }
  return "";
}

/// ssmc next to this executable, else $SSMC, else on PATH.
std::string findCompiler() {
  std::error_code error;
  fs::path self = fs::read_symlink("/proc/self/exe", error);
  std::string besideUs;
  if (!error) {
    besideUs = (self.parent_path() / "ssmc").string();
    if (isExecutable(besideUs))
      return besideUs;
  }
  if (const char *env = std::getenv("SSMC"); env && *env) {
    std::string fromEnv = env;
    if (fromEnv.find('/') == std::string::npos)
      fromEnv = searchPath(fromEnv);
    if (isExecutable(fromEnv))
      return fromEnv;
    fail(kExitCompilerFailure,
         std::string("$SSMC is '") + env + "', which is not an executable");
  }
  std::string onPath = searchPath("ssmc");
  if (!onPath.empty())
    return onPath;
  fail(kExitCompilerFailure,
       "cannot find ssmc: not next to ssm-run" +
           (besideUs.empty() ? std::string() : " (" + besideUs + ")") +
           ", $SSMC is not set, and it is not on PATH");
}

/// Runs `argv` (no shell) with our stdin/stdout/stderr and returns its exit
/// status, or 128 + the signal that killed it.
int runProcess(const std::vector<std::string> &argv) {
  std::vector<char *> pointers;
  for (const std::string &arg : argv)
    pointers.push_back(const_cast<char *>(arg.c_str()));
  pointers.push_back(nullptr);
  std::fflush(stdout);
  std::fflush(stderr);
  pid_t pid = 0;
  int error = ::posix_spawn(&pid, pointers[0], nullptr, nullptr,
                            pointers.data(), environ);
  if (error != 0)
    fail(kExitCompilerFailure,
         "cannot run " + argv[0] + ": " + std::strerror(error));
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR)
      fail(kExitCompilerFailure,
           std::string("waiting for ") + argv[0] + ": " + std::strerror(errno));
  }
  if (WIFEXITED(status))
    return WEXITSTATUS(status);
  return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

/// Removes a temporary directory when the command ends, however it ends.
class TemporaryDirectory {
public:
  TemporaryDirectory() {
    const char *base = std::getenv("TMPDIR");
    std::string pattern =
        std::string(base && *base ? base : "/tmp") + "/ssm-run-XXXXXX";
    if (!::mkdtemp(pattern.data()))
      fail(kExitCompilerFailure, "cannot create a temporary directory in " +
                                     pattern + ": " + std::strerror(errno));
    dir = pattern;
  }
  ~TemporaryDirectory() {
    std::error_code ignored;
    fs::remove_all(dir, ignored);
  }
  TemporaryDirectory(const TemporaryDirectory &) = delete;
  TemporaryDirectory &operator=(const TemporaryDirectory &) = delete;
  const std::string &path() const { return dir; }

private:
  std::string dir;
};

//===----------------------------------------------------------------------===//
// check
//===----------------------------------------------------------------------===//

const char *const kKinds[] = {"ssd", "selective_scan", "softmax_attention",
                              "linear_attention"};

/// The kind of test vector `file` holds, from its __metadata__.meta.
std::string vectorKind(const ssm::SafetensorsFile &file,
                       const std::string &path) {
  std::optional<std::string> meta = file.metadata("meta");
  if (!meta)
    fail(kExitBadInput, path + ": no __metadata__.meta describing the case; "
                               "not a reference test vector");
  ssm::runtime::json::ParseError parseError;
  std::optional<ssm::runtime::json::Value> value =
      ssm::runtime::json::parse(*meta, parseError);
  if (!value || !value->isObject())
    fail(kExitBadInput,
         path + ": __metadata__.meta is not a JSON object" +
             (value ? std::string() : " (" + parseError.toString() + ")"));
  const ssm::runtime::json::Value *kind = value->find("kind");
  if (!kind)
    fail(kExitBadInput, path + ": __metadata__.meta has no 'kind'");
  if (!kind->isString())
    fail(kExitBadInput, path + ": __metadata__.meta 'kind' is " +
                            ssm::runtime::json::describe(*kind) +
                            ", expected a string");
  for (const char *known : kKinds)
    if (kind->getString() == known)
      return known;
  fail(kExitBadInput, path + ": unknown kind '" + kind->getString() +
                          "' (expected ssd, selective_scan, "
                          "softmax_attention or linear_attention)");
}

/// Refuses a forced algorithm the kind rules out, before compiling, so the
/// message does not depend on the compiler's wording.
void checkAlgorithmForKind(const std::string &kind,
                           const std::string &algorithm) {
  if (algorithm == "auto")
    return;
  if (kind == "softmax_attention" && algorithm != "quadratic")
    fail(kExitBadInput,
         "algorithm '" + algorithm +
             "' is illegal for kind 'softmax_attention': softmax has no "
             "finite-state form, so only 'quadratic' computes it (or 'auto')");
  if (kind == "selective_scan" && algorithm == "chunked")
    fail(kExitBadInput,
         "algorithm 'chunked' is illegal for kind 'selective_scan': its decay "
         "is diagonal (one per state index); use 'recurrent' or 'quadratic' "
         "(or 'auto')");
}

int commandCheck(const std::vector<std::string> &args) {
  Arguments arguments = parseArguments("check", args,
                                       {{"algorithm", true},
                                        {"chunk-size", true},
                                        {"target", true},
                                        {"keep", true},
                                        {"verbose", false}});
  if (arguments.positional.size() != 1)
    usageError("ssm-run check: expected one vector file, got " +
               std::to_string(arguments.positional.size()) + " arguments");
  std::string vectorPath = arguments.positional[0];
  std::string algorithm = arguments.value("algorithm", "auto");
  if (algorithm != "auto" && algorithm != "quadratic" &&
      algorithm != "recurrent" && algorithm != "chunked")
    usageError("ssm-run check: unknown algorithm '" + algorithm +
               "', expected auto, quadratic, recurrent or chunked");
  std::string target = arguments.value("target", "cpu");
  if (target != "cpu")
    usageError("ssm-run check: unknown target '" + target +
               "'; this ssm-run runs 'cpu' artifacts");
  std::string chunkSize;
  if (arguments.has("chunk-size")) {
    chunkSize = std::to_string(
        parseCount("chunk-size", arguments.value("chunk-size"), 1));
    if (algorithm != "chunked" && algorithm != "auto")
      usageError("ssm-run check: --chunk-size applies to "
                 "--algorithm=chunked (or auto), not '" +
                 algorithm + "'");
  }

  ssm::SafetensorsFile vector = openSafetensors(vectorPath);
  std::string kind = vectorKind(vector, vectorPath);
  checkAlgorithmForKind(kind, algorithm);

  std::optional<TemporaryDirectory> temporary;
  std::string artifactDir;
  if (arguments.has("keep")) {
    artifactDir = arguments.value("keep");
    if (artifactDir.empty())
      usageError("ssm-run check: --keep needs a directory");
  } else {
    temporary.emplace();
    artifactDir = temporary->path();
  }

  std::vector<std::string> command = {findCompiler(), vectorPath,
                                      "--target=" + target,
                                      "--algorithm=" + algorithm};
  if (!chunkSize.empty())
    command.push_back("--chunk-size=" + chunkSize);
  command.push_back("-o");
  command.push_back(artifactDir);
  if (arguments.has("verbose")) {
    std::string line;
    for (const std::string &arg : command)
      line += (line.empty() ? "" : " ") + arg;
    std::fprintf(stderr, "ssm-run: %s\n", line.c_str());
  }
  int status = runProcess(command);
  if (status == 2)
    fail(kExitBadInput, "ssmc rejected " + vectorPath +
                            " (exit status 2; its "
                            "message is above)");
  if (status != 0)
    fail(kExitCompilerFailure,
         "internal compiler error: ssmc " +
             std::string(status > 128
                             ? "was killed by signal " +
                                   std::to_string(status - 128)
                             : "exited with status " + std::to_string(status)) +
             " compiling " + vectorPath);

  ssm::Module module;
  try {
    module = ssm::Module::load(artifactDir);
  } catch (const ssm::Error &error) {
    fail(kExitCompilerFailure,
         std::string("internal compiler error: ssmc wrote an artifact the "
                     "runtime cannot load: ") +
             error.what());
  }
  if (module.numFunctions() != 1)
    fail(kExitCompilerFailure,
         "internal compiler error: the artifact for a test vector has " +
             std::to_string(module.numFunctions()) + " functions, expected 1");
  ssm::Function function = module.function(size_t(0));

  std::vector<ssm::HostTensor> inputs =
      bindInputs(function, vector, vectorPath);
  std::vector<DLTensor> inputViews = views(inputs);
  std::vector<ssm::HostTensor> outputs = allocateOutputs(function, inputViews);
  std::vector<DLTensor> outputViews = views(outputs);
  double milliseconds = timedInvoke(function, inputViews, outputViews);

  std::printf("%s: kind %s, function '%s'\n", vectorPath.c_str(), kind.c_str(),
              function.name().c_str());
  std::printf("  algorithm: %s\n", describeAlgorithms(function).c_str());
  bool ok =
      compareOutputs(function, outputs, vector, vectorPath, kCheckTolerance);
  std::printf("  time: %.3f ms\n", milliseconds);
  if (!temporary)
    std::printf("  artifact kept in %s\n", artifactDir.c_str());
  std::printf("%s (tolerance rel <= %g)\n", ok ? "PASS" : "FAIL",
              kCheckTolerance);
  return ok ? kExitOk : kExitMismatch;
}

//===----------------------------------------------------------------------===//
// run
//===----------------------------------------------------------------------===//

ssm::Module loadArtifact(const std::string &path) {
  try {
    return ssm::Module::load(path);
  } catch (const ssm::Error &error) {
    fail(kExitBadInput, error.what());
  }
}

ssm::Function selectFunction(const ssm::Module &module,
                             const Arguments &arguments) {
  try {
    if (arguments.has("function"))
      return module.function(arguments.value("function"));
  } catch (const ssm::Error &error) {
    fail(kExitBadInput, error.what());
  }
  if (module.numFunctions() != 1) {
    std::string names;
    for (const std::string &name : module.functionNames())
      names += (names.empty() ? "" : ", ") + name;
    fail(kExitBadInput,
         "the artifact has " + std::to_string(module.numFunctions()) +
             " functions (" + names + "); choose one with --function=NAME");
  }
  return module.function(size_t(0));
}

int commandRun(const std::vector<std::string> &args) {
  Arguments arguments = parseArguments("run", args,
                                       {{"function", true},
                                        {"inputs", true},
                                        {"output", true},
                                        {"compare", true},
                                        {"tolerance", true},
                                        {"warmup", true},
                                        {"repeat", true},
                                        {"verbose", false}});
  if (arguments.positional.size() != 1)
    usageError("ssm-run run: expected one artifact directory, got " +
               std::to_string(arguments.positional.size()) + " arguments");
  if (!arguments.has("inputs"))
    usageError("ssm-run run: --inputs=FILE.safetensors is required");
  double tolerance = arguments.has("tolerance")
                         ? parseTolerance(arguments.value("tolerance"))
                         : kCheckTolerance;
  int64_t warmup = parseCount("warmup", arguments.value("warmup", "1"), 0);
  int64_t repeat = parseCount("repeat", arguments.value("repeat", "5"), 1);

  ssm::Module module = loadArtifact(arguments.positional[0]);
  ssm::Function function = selectFunction(module, arguments);
  std::string inputsPath = arguments.value("inputs");
  ssm::SafetensorsFile inputFile = openSafetensors(inputsPath);
  // Open the reference before running: a bad path should not cost a run.
  ssm::SafetensorsFile references;
  if (arguments.has("compare"))
    references = openSafetensors(arguments.value("compare"));

  std::vector<ssm::HostTensor> inputs =
      bindInputs(function, inputFile, inputsPath);
  std::vector<DLTensor> inputViews = views(inputs);
  std::vector<ssm::HostTensor> outputs = allocateOutputs(function, inputViews);
  std::vector<DLTensor> outputViews = views(outputs);

  for (int64_t i = 0; i < warmup; ++i)
    timedInvoke(function, inputViews, outputViews);
  std::vector<double> times;
  for (int64_t i = 0; i < repeat; ++i)
    times.push_back(timedInvoke(function, inputViews, outputViews));
  std::vector<double> sorted = times;
  std::sort(sorted.begin(), sorted.end());
  double median =
      sorted.size() % 2
          ? sorted[sorted.size() / 2]
          : 0.5 * (sorted[sorted.size() / 2 - 1] + sorted[sorted.size() / 2]);
  std::printf("function '%s': %lld runs (after %lld warm-up), median %.3f ms, "
              "min %.3f ms\n",
              function.name().c_str(), static_cast<long long>(repeat),
              static_cast<long long>(warmup), median, sorted.front());
  if (arguments.has("verbose")) {
    std::printf("  runs (ms):");
    for (double time : times)
      std::printf(" %.3f", time);
    std::printf("\n");
    std::printf("  algorithm: %s\n", describeAlgorithms(function).c_str());
  }

  if (arguments.has("output")) {
    std::vector<std::pair<std::string, DLTensor>> named;
    for (size_t o = 0; o < outputs.size(); ++o)
      named.emplace_back(function.output(o).name, outputs[o].view());
    try {
      ssm::writeSafetensors(arguments.value("output"), named,
                            {{"producer", "ssm-run"},
                             {"artifact", arguments.positional[0]},
                             {"function", function.name()}});
    } catch (const ssm::Error &error) {
      fail(kExitBadInput, error.what());
    }
    std::printf("  outputs written to %s\n", arguments.value("output").c_str());
  }

  if (!arguments.has("compare"))
    return kExitOk;
  bool ok = compareOutputs(function, outputs, references,
                           arguments.value("compare"), tolerance);
  std::printf("%s (tolerance rel <= %g)\n", ok ? "PASS" : "FAIL", tolerance);
  return ok ? kExitOk : kExitMismatch;
}

//===----------------------------------------------------------------------===//
// info
//===----------------------------------------------------------------------===//

int commandInfo(const std::vector<std::string> &args) {
  Arguments arguments = parseArguments("info", args, {});
  if (arguments.positional.size() != 1)
    usageError("ssm-run info: expected one artifact directory, got " +
               std::to_string(arguments.positional.size()) + " arguments");
  ssm::Module module = loadArtifact(arguments.positional[0]);
  std::printf("artifact %s: target %s, source %s, %zu function%s\n",
              arguments.positional[0].c_str(), module.target().c_str(),
              module.source().empty() ? "(unknown)" : module.source().c_str(),
              module.numFunctions(), module.numFunctions() == 1 ? "" : "s");
  for (size_t f = 0; f < module.numFunctions(); ++f) {
    ssm::Function function = module.function(f);
    std::printf("function %s\n", function.name().c_str());
    for (size_t i = 0; i < function.numInputs(); ++i) {
      ssm::TensorSignature input = function.input(i);
      std::printf("  input  %zu  %s: %s%s\n", i, input.name.c_str(),
                  ssm::dtypeName(input.dtype).c_str(),
                  formatShape(input.shape).c_str());
    }
    for (size_t o = 0; o < function.numOutputs(); ++o) {
      ssm::TensorSignature output = function.output(o);
      std::printf("  output %zu  %s: %s%s\n", o, output.name.c_str(),
                  ssm::dtypeName(output.dtype).c_str(),
                  formatShape(output.shape).c_str());
    }
    std::printf("  algorithm: %s\n", describeAlgorithms(function).c_str());
  }
  return kExitOk;
}

} // namespace

int main(int argc, char **argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) {
    std::fputs(kUsage, stderr);
    return kExitBadInput;
  }
  std::string command = args[0];
  args.erase(args.begin());
  bool wantsHelp = command == "--help" || command == "-h" ||
                   command == "help" ||
                   std::find(args.begin(), args.end(), "--help") != args.end();
  if (wantsHelp) {
    std::fputs(kUsage, stdout);
    return kExitOk;
  }
  try {
    if (command == "check")
      return commandCheck(args);
    if (command == "run")
      return commandRun(args);
    if (command == "info")
      return commandInfo(args);
    usageError("ssm-run: unknown command '" + command +
               "' (expected check, run or info)");
  } catch (const Exit &exit) {
    std::fflush(stdout);
    // Usage errors already name the command ("ssm-run check: ...").
    if (!exit.message.empty())
      std::fprintf(stderr, "%s%s\n",
                   exit.message.rfind("ssm-run", 0) == 0 ? "" : "ssm-run: ",
                   exit.message.c_str());
    return exit.code;
  } catch (const ssm::Error &error) {
    std::fflush(stdout);
    std::fprintf(stderr, "ssm-run: %s\n", error.what());
    return kExitBadInput;
  } catch (const std::exception &error) {
    std::fflush(stdout);
    std::fprintf(stderr, "ssm-run: internal error: %s\n", error.what());
    return kExitCompilerFailure;
  }
}
