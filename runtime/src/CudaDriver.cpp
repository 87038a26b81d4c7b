// Resolving the CUDA driver API at run time, and turning its error codes into
// statuses.
#include "CudaDriver.h"

#include "Status.h"

#include <cstdlib>
#include <cstring>
#include <mutex>

#include <dlfcn.h>

namespace ssm::runtime::cuda {

namespace {

struct LoadedDriver {
  DriverApi api;
  ssm_status_t failure = nullptr; // kept for every later caller
};

LoadedDriver loadLibcuda() {
  LoadedDriver loaded;
  void *library = ::dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
  if (!library) {
    const char *error = ::dlerror();
    loaded.failure = makeStatus(
        SSM_STATUS_UNAVAILABLE,
        "the CUDA driver is not installed: cannot load libcuda.so.1 ({}); "
        "run on a machine with an NVIDIA GPU and driver, or run a CPU "
        "artifact (ssmc --target=cpu)",
        error ? error : "unknown error");
    return loaded;
  }
  // Never closed: the driver stays loaded for the process.
#define SSM_CUDA_DRIVER_RESOLVE(name, symbol, type)                            \
  loaded.api.name =                                                            \
      reinterpret_cast<Identity<type>>(::dlsym(library, symbol));              \
  if (!loaded.api.name) {                                                      \
    loaded.failure = makeStatus(SSM_STATUS_UNAVAILABLE,                        \
                                "libcuda.so.1 has no {}; the NVIDIA driver "   \
                                "is too old for this runtime",                 \
                                symbol);                                       \
    return loaded;                                                             \
  }
  SSM_CUDA_DRIVER_FUNCTIONS(SSM_CUDA_DRIVER_RESOLVE)
#undef SSM_CUDA_DRIVER_RESOLVE
  // Tool functions are optional: a tool checks for them.
#define SSM_CUDA_DRIVER_RESOLVE_TOOL(name, symbol, type)                       \
  loaded.api.name = reinterpret_cast<Identity<type>>(::dlsym(library, symbol));
  SSM_CUDA_DRIVER_TOOL_FUNCTIONS(SSM_CUDA_DRIVER_RESOLVE_TOOL)
#undef SSM_CUDA_DRIVER_RESOLVE_TOOL
  return loaded;
}

ssm_status_t copyStatus(ssm_status_t status) {
  return status ? makeStatus(ssm_status_code(status), ssm_status_message(status))
                : nullptr;
}

} // namespace

ssm_status_t getDriver(const DriverApi **out) {
  const char *emulate = std::getenv("SSM_CUDA_EMULATOR");
  if (emulate && std::strcmp(emulate, "1") == 0) {
    *out = &emulatorDriver();
    return nullptr;
  }
  static LoadedDriver loaded = loadLibcuda();
  if (loaded.failure)
    return copyStatus(loaded.failure);
  *out = &loaded.api;
  return nullptr;
}

ssm_status_t driverError(const DriverApi &driver, CUresult result,
                         const std::string &call) {
  const char *name = nullptr, *description = nullptr;
  if (driver.getErrorName(result, &name) != kSuccess || !name)
    name = "CUDA_ERROR_UNKNOWN";
  if (driver.getErrorString(result, &description) != kSuccess || !description)
    description = "no description";
  ssm_status_code_t code = result == kErrorNoDevice ? SSM_STATUS_UNAVAILABLE
                                                    : SSM_STATUS_DEVICE_ERROR;
  return makeStatus(code, "{}: {} ({}): {}", call, name, result, description);
}

} // namespace ssm::runtime::cuda
