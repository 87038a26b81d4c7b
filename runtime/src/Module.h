// The objects behind ssm_module_t and ssm_function_t, and the interface each
// device's loader implements (CpuModule.cpp: dlopen of the generated
// library; CudaModule.cpp: the driver API). Validation of a call is shared
// (Invocation.h) and done before a device sees the tensors.
#ifndef SSM_RUNTIME_SRC_MODULE_H
#define SSM_RUNTIME_SRC_MODULE_H

#include "ssm/manifest.h"

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
  /// Position in the manifest (and in the device code's tables).
  size_t index = 0;
};

namespace ssm::runtime {

/// An artifact's code loaded for one device.
class DeviceCode {
public:
  virtual ~DeviceCode() = default;
  /// The device that the function's tensors must be on.
  virtual DLDevice device() const = 0;
  /// Runs `function` on tensors that passed the shared checks (CUDA:
  /// enqueued on the module's stream).
  virtual ssm_status_t invoke(const ssm_function_s &function,
                              const DLTensor *inputs, DLTensor *outputs) = 0;
  virtual ssm_status_t allocate(size_t bytes, void **out) = 0;
  virtual void release(void *data) = 0;
  virtual ssm_status_t copyToDevice(void *device, const void *host,
                                    size_t bytes) = 0;
  virtual ssm_status_t copyToHost(void *host, const void *device,
                                  size_t bytes) = 0;
  /// Waits for the work enqueued so far; reports what failed in it.
  virtual ssm_status_t synchronize() = 0;
  /// Whether `data` (of `bytes`) may be passed as a tensor of this device;
  /// a message saying why not otherwise.
  virtual std::string whyNotOnDevice(const void *data, size_t bytes) const = 0;
};

} // namespace ssm::runtime

// The object behind ssm_module_t.
struct ssm_module_s {
  std::atomic<int> referenceCount{1};
  std::string directory;
  ssm::runtime::Manifest manifest;
  /// Destroyed before the manifest it points into.
  std::unique_ptr<ssm::runtime::DeviceCode> code;
  /// One per manifest function, in manifest order; never resized after load
  /// because callers hold pointers into it.
  std::vector<ssm_function_s> functions;

  ssm_module_s() = default;
  ssm_module_s(const ssm_module_s &) = delete;
  ssm_module_s &operator=(const ssm_module_s &) = delete;
  ~ssm_module_s() { code.reset(); }
};

namespace ssm::runtime {

/// Loads the artifact in `directory` for the device `options` names (see
/// ssm_module_load_with_options).
ssm_status_t loadModule(const std::string &directory,
                        const ssm_module_options_t &options,
                        std::unique_ptr<ssm_module_s> &out);

} // namespace ssm::runtime

#endif // SSM_RUNTIME_SRC_MODULE_H
