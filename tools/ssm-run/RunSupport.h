// What ssm-run's commands share: exit codes, option parsing, tensors bound by
// name from safetensors files onto the module's device, timed calls and the
// comparison with references.
#ifndef SSM_TOOLS_SSM_RUN_RUNSUPPORT_H
#define SSM_TOOLS_SSM_RUN_RUNSUPPORT_H

#include "ssm/model.hpp"
#include "ssm/runtime.hpp"

#include <fmt/format.h>

#include <map>
#include <set>
#include <string>
#include <vector>

namespace ssm::run {

constexpr int kExitOk = 0;
constexpr int kExitMismatch = 1;
constexpr int kExitBadInput = 2;
constexpr int kExitCompilerFailure = 3;

/// The relative error bound of testdata/README.md for float32 op vectors.
constexpr double kCheckTolerance = 1e-4;

/// Ends the command with `code` after printing `message` (if any) to stderr.
struct Exit {
  int code;
  std::string message;
};
[[noreturn]] void fail(int code, const std::string &message);
[[noreturn]] void usageError(const std::string &message);

/// fail and usageError with the message formatted by fmt; a message without
/// arguments is taken as it is (the overloads above).
template <typename... Args>
[[noreturn]] void fail(int code, fmt::format_string<Args...> format,
                       Args &&...args) {
  fail(code, fmt::format(format, std::forward<Args>(args)...));
}
template <typename... Args>
[[noreturn]] void usageError(fmt::format_string<Args...> format,
                             Args &&...args) {
  usageError(fmt::format(format, std::forward<Args>(args)...));
}

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

/// Parses `--name=value` (or `--name value`), `--flag` and `-v`; anything
/// else starting with '-' is an error naming it.
Arguments parseArguments(const std::string &command,
                         const std::vector<std::string> &args,
                         const std::vector<OptionSpec> &specs);
int64_t parseCount(const std::string &option, const std::string &text,
                   int64_t minimum);
double parseTolerance(const std::string &text);

std::string formatShape(const std::vector<int64_t> &shape);
std::string describeAlgorithms(const Function &function);
SafetensorsFile openSafetensors(const std::string &path);

/// Loads an artifact for the device `target` names ("cpu", "cuda", or ""
/// for the artifact's own); a refusal is exit 2.
Module loadArtifact(const std::string &path, const std::string &target);

/// `tensor` as a compact, aligned host tensor of `dtype` (a float tensor
/// converted, rounding to nearest even; another dtype is exit 2 naming
/// `name` in `path`).
HostTensor convertedCopy(const DLTensor &tensor, DLDataType dtype,
                         const std::string &name, const std::string &path);

/// Loads a model artifact with its weights (a model.safetensors or the
/// checkpoint directory holding it) for `target`; a refusal is exit 2.
Model loadModel(const std::string &path, const std::string &weights,
                const std::string &target);

/// A safetensors file inputs are bound from, with its path for messages.
struct InputSource {
  SafetensorsFile file;
  std::string path;
};

/// `function`'s inputs bound by name from the first source that holds each
/// (a float tensor converted, rounding to nearest even, when the function
/// takes another float type), as aligned host copies; `given` supplies
/// inputs by name ahead of the sources. A name no source holds is exit 2.
std::vector<HostTensor>
bindInputs(const Function &function, const std::vector<InputSource> &sources,
           std::map<std::string, HostTensor> given = {});

/// One function's inputs and its outputs filled with NaN, both on the
/// module's device; and timed calls.
class Call {
public:
  Call(const Module &module, const Function &function,
       const SafetensorsFile &inputs, const std::string &inputsPath);
  Call(const Module &module, const Function &function,
       std::vector<HostTensor> inputs);
  /// Runs once (and waits for the device); returns the wall time in ms.
  double run();
  /// The outputs, on the host.
  std::vector<HostTensor> outputs();

private:
  Module module;
  Function function;
  std::vector<HostTensor> hostInputs, hostOutputs;
  std::vector<DeviceTensor> deviceInputs, deviceOutputs;
  std::vector<DLTensor> inputViews, outputViews;
};

/// Prints one line per output (max |error| / max |reference|) and returns
/// whether all are within tolerance; a missing reference is exit 2.
bool compareOutputs(const Function &function, std::vector<HostTensor> &outputs,
                    const SafetensorsFile &references,
                    const std::string &referencePath, double tolerance);

} // namespace ssm::run

#endif // SSM_TOOLS_SSM_RUN_RUNSUPPORT_H
