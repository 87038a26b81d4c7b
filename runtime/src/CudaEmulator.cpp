// The host emulator behind the CUDA driver table: "device" memory is host
// memory the emulator allocated (so that a host pointer passed as a device
// tensor is still caught), modules are host libraries compiled from the
// artifact's kernels with -DSSM_DEVICE_EMULATION, and a launch runs the grid
// with the emulator of ssm/device/emulation.h, one block after another.
// For tests on machines without a GPU; selected by SSM_CUDA_EMULATOR=1.
#include "CudaDriver.h"

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <set>
#include <string>

#include <dlfcn.h>

namespace ssm::runtime::cuda {

namespace {

constexpr CUresult kInvalidValue = 1;
constexpr CUresult kOutOfMemory = 2;
constexpr CUresult kInvalidImage = 200;
constexpr CUresult kNotFound = 500;
constexpr CUresult kLaunchFailed = 719;

using LaunchFunction = int (*)(const char *, const unsigned *,
                               const unsigned *, size_t, void **);
using HasKernelFunction = int (*)(const char *);

struct EmulatedModule {
  void *library;
  LaunchFunction launch;
  HasKernelFunction hasKernel;
};
struct EmulatedFunction {
  EmulatedModule *module;
  std::string name;
};

std::mutex &allocationsMutex() {
  static std::mutex mutex;
  return mutex;
}
std::set<std::pair<uintptr_t, uintptr_t>> &allocations() {
  static std::set<std::pair<uintptr_t, uintptr_t>> ranges;
  return ranges;
}
bool isAllocated(uintptr_t address) {
  std::lock_guard<std::mutex> lock(allocationsMutex());
  auto it = allocations().upper_bound({address, UINTPTR_MAX});
  if (it == allocations().begin())
    return false;
  --it;
  return address >= it->first && address < it->second;
}

CUresult init(unsigned) { return kSuccess; }
CUresult deviceGetCount(int *count) {
  *count = 1;
  return kSuccess;
}
CUresult deviceGet(CUdevice *device, int ordinal) {
  if (ordinal != 0)
    return kInvalidValue;
  *device = 0;
  return kSuccess;
}
CUresult deviceGetAttribute(int *value, int attribute, CUdevice) {
  switch (attribute) {
  case kAttributeComputeCapabilityMajor:
    *value = 9;
    return kSuccess;
  case kAttributeComputeCapabilityMinor:
    *value = 0;
    return kSuccess;
  case kAttributeMaxSharedMemoryPerBlockOptin:
    *value = 227 * 1024;
    return kSuccess;
  case kAttributeMultiprocessorCount:
    *value = 132;
    return kSuccess;
  case kAttributeMemoryPoolsSupported:
    *value = 1;
    return kSuccess;
  default:
    return kInvalidValue;
  }
}
CUresult deviceGetName(char *name, int length, CUdevice) {
  std::strncpy(name, "ssm host emulator (sm_90)", static_cast<size_t>(length));
  if (length > 0)
    name[length - 1] = '\0';
  return kSuccess;
}
CUresult primaryContextRetain(CUcontext *context, CUdevice) {
  static int token;
  *context = reinterpret_cast<CUcontext>(&token);
  return kSuccess;
}
CUresult primaryContextRelease(CUdevice) { return kSuccess; }
CUresult contextSetCurrent(CUcontext) { return kSuccess; }
CUresult moduleLoadData(CUmodule *module, const void *image) {
  // The image is the path of the emulation library.
  void *library = ::dlopen(static_cast<const char *>(image), RTLD_NOW | RTLD_LOCAL);
  if (!library)
    return kInvalidImage;
  auto launch = reinterpret_cast<LaunchFunction>(::dlsym(library, "ssm_emu_launch"));
  auto hasKernel =
      reinterpret_cast<HasKernelFunction>(::dlsym(library, "ssm_emu_has_kernel"));
  if (!launch || !hasKernel) {
    ::dlclose(library);
    return kInvalidImage;
  }
  *module = reinterpret_cast<CUmodule>(new EmulatedModule{library, launch, hasKernel});
  return kSuccess;
}
CUresult moduleUnload(CUmodule module) {
  auto *emulated = reinterpret_cast<EmulatedModule *>(module);
  ::dlclose(emulated->library);
  delete emulated;
  return kSuccess;
}
CUresult moduleGetFunction(CUfunction *function, CUmodule module,
                           const char *name) {
  auto *emulated = reinterpret_cast<EmulatedModule *>(module);
  if (!emulated->hasKernel(name))
    return kNotFound;
  // Leaked with the module, like the driver's function handles.
  *function = reinterpret_cast<CUfunction>(new EmulatedFunction{emulated, name});
  return kSuccess;
}
CUresult functionSetAttribute(CUfunction, int, int) { return kSuccess; }
CUresult launchKernel(CUfunction function, unsigned gx, unsigned gy,
                      unsigned gz, unsigned bx, unsigned by, unsigned bz,
                      unsigned shared, CUstream, void **arguments, void **) {
  auto *emulated = reinterpret_cast<EmulatedFunction *>(function);
  unsigned grid[3] = {gx, gy, gz}, block[3] = {bx, by, bz};
  return emulated->module->launch(emulated->name.c_str(), grid, block, shared,
                                  arguments) == 0
             ? kSuccess
             : kLaunchFailed;
}
CUresult memAlloc(CUdeviceptr *pointer, size_t bytes) {
  void *data = std::aligned_alloc(256, (std::max<size_t>(bytes, 1) + 255) / 256 * 256);
  if (!data)
    return kOutOfMemory;
  std::lock_guard<std::mutex> lock(allocationsMutex());
  uintptr_t begin = reinterpret_cast<uintptr_t>(data);
  allocations().insert({begin, begin + std::max<size_t>(bytes, 1)});
  *pointer = begin;
  return kSuccess;
}
CUresult memFree(CUdeviceptr pointer) {
  std::lock_guard<std::mutex> lock(allocationsMutex());
  auto it = allocations().lower_bound({static_cast<uintptr_t>(pointer), 0});
  if (it == allocations().end() || it->first != pointer)
    return kInvalidValue;
  allocations().erase(it);
  std::free(reinterpret_cast<void *>(pointer));
  return kSuccess;
}
CUresult memAllocAsync(CUdeviceptr *pointer, size_t bytes, CUstream) {
  return memAlloc(pointer, bytes);
}
CUresult memFreeAsync(CUdeviceptr pointer, CUstream) { return memFree(pointer); }
CUresult memcpyHtoD(CUdeviceptr device, const void *host, size_t bytes) {
  if (bytes && !isAllocated(device))
    return kInvalidValue;
  std::memcpy(reinterpret_cast<void *>(device), host, bytes);
  return kSuccess;
}
CUresult memcpyDtoH(void *host, CUdeviceptr device, size_t bytes) {
  if (bytes && !isAllocated(device))
    return kInvalidValue;
  std::memcpy(host, reinterpret_cast<const void *>(device), bytes);
  return kSuccess;
}
CUresult streamSynchronize(CUstream) { return kSuccess; }
CUresult pointerGetAttribute(void *data, int attribute, CUdeviceptr pointer) {
  if (!isAllocated(pointer))
    return kInvalidValue;
  if (attribute == kPointerAttributeMemoryType) {
    *static_cast<unsigned *>(data) = kMemoryTypeDevice;
    return kSuccess;
  }
  if (attribute == kPointerAttributeDeviceOrdinal) {
    *static_cast<int *>(data) = 0;
    return kSuccess;
  }
  return kInvalidValue;
}
CUresult getErrorName(CUresult result, const char **name) {
  switch (result) {
  case kSuccess:
    *name = "CUDA_SUCCESS";
    return kSuccess;
  case kInvalidValue:
    *name = "CUDA_ERROR_INVALID_VALUE";
    return kSuccess;
  case kOutOfMemory:
    *name = "CUDA_ERROR_OUT_OF_MEMORY";
    return kSuccess;
  case kInvalidImage:
    *name = "CUDA_ERROR_INVALID_IMAGE";
    return kSuccess;
  case kNotFound:
    *name = "CUDA_ERROR_NOT_FOUND";
    return kSuccess;
  case kLaunchFailed:
    *name = "CUDA_ERROR_LAUNCH_FAILED";
    return kSuccess;
  default:
    return kInvalidValue;
  }
}
CUresult getErrorString(CUresult result, const char **description) {
  const char *name = nullptr;
  if (getErrorName(result, &name) != kSuccess)
    return kInvalidValue;
  *description = "reported by the host emulator";
  return kSuccess;
}

} // namespace

const DriverApi &emulatorDriver() {
  static const DriverApi api = [] {
    DriverApi table;
#define SSM_CUDA_EMULATOR_ENTRY(name, symbol, type) table.name = &name;
    SSM_CUDA_DRIVER_FUNCTIONS(SSM_CUDA_EMULATOR_ENTRY)
#undef SSM_CUDA_EMULATOR_ENTRY
    table.isEmulator = true;
    return table;
  }();
  return api;
}

} // namespace ssm::runtime::cuda
