// The CPU loader: an artifact's manifest joined with its dlopen'ed library,
// and the checks that guard every call into generated code.
#ifndef SSM_RUNTIME_SRC_CPUMODULE_H
#define SSM_RUNTIME_SRC_CPUMODULE_H

#include "Manifest.h"

#include "ssm/cpu_library_abi.h"
#include "ssm/runtime.h"

#include <atomic>
#include <memory>
#include <string>
#include <vector>

struct ssm_module_s;

// The object behind ssm_function_t: owned by its module.
struct ssm_function_s {
  const ssm_module_s *module = nullptr;
  const ssm::runtime::FunctionSpec *spec = nullptr;
  ssm_cpu_function_t entry = nullptr;
};

// The object behind ssm_module_t.
struct ssm_module_s {
  std::atomic<int> referenceCount{1};
  std::string directory;
  ssm::runtime::Manifest manifest;
  /// The dlopen handle; closed when the module goes.
  void *library = nullptr;
  /// One per manifest function, in manifest order; never resized after load
  /// because callers hold pointers into it.
  std::vector<ssm_function_s> functions;

  ssm_module_s() = default;
  ssm_module_s(const ssm_module_s &) = delete;
  ssm_module_s &operator=(const ssm_module_s &) = delete;
  ~ssm_module_s();
};

namespace ssm::runtime {

/// Loads the artifact in `directory` (see ssm_module_load).
ssm_status_t loadCpuModule(const std::string &directory,
                           std::unique_ptr<ssm_module_s> &out);

/// Checks `inputs` against `function`'s signature: count, dtype, rank, static
/// dims and equal_dims; with `checkMemory`, also device, data, alignment and
/// strides.
ssm_status_t checkInputs(const ssm_function_s &function, const DLTensor *inputs,
                         size_t numInputs, bool checkMemory);

/// The shape of output `index` for inputs already checked by checkInputs.
std::vector<int64_t> resolveOutputShape(const ssm_function_s &function,
                                        const DLTensor *inputs, size_t index);

/// Checks everything, builds the memref descriptors and calls the entry
/// point.
ssm_status_t invokeFunction(const ssm_function_s &function,
                            const DLTensor *inputs, size_t numInputs,
                            DLTensor *outputs, size_t numOutputs);

} // namespace ssm::runtime

#endif // SSM_RUNTIME_SRC_CPUMODULE_H
