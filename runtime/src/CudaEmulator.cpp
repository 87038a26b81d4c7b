// The host emulator behind the CUDA driver table: "device" memory is host
// memory the emulator allocated (so that a host pointer passed as a device
// tensor is still caught), modules are host libraries compiled from the
// artifact's kernels with -DSSM_DEVICE_EMULATION, and a launch runs the grid
// with the emulator of ssm/device/emulation.h, one block after another.
// Streams are tokens (every call runs at once, in order); a stream being
// captured records its launches, with their argument values, into a graph
// that a graph launch replays. For tests on machines without a GPU;
// selected by SSM_CUDA_EMULATOR=1. It is an H200 (compute capability 9.0,
// 132 SMs) unless SSM_CUDA_EMULATOR_CAPABILITY=<major>.<minor> says
// otherwise, which tests use to see other GPUs refused.
#include "CudaDriver.h"

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include <dlfcn.h>

namespace ssm::runtime::cuda {

namespace {

constexpr CUresult kInvalidValue = 1;
constexpr CUresult kOutOfMemory = 2;
constexpr CUresult kInvalidImage = 200;
constexpr CUresult kNotFound = 500;
constexpr CUresult kLaunchFailed = 719;
constexpr CUresult kCaptureUnsupported = 900;
constexpr CUresult kCaptureInvalidated = 901;

using LaunchFunction = int (*)(const char *, const unsigned *,
                               const unsigned *, size_t, void **);
using HasKernelFunction = int (*)(const char *);
using ArityFunction = int (*)(const char *);

struct EmulatedModule {
  void *library;
  LaunchFunction launch;
  HasKernelFunction hasKernel;
  /// Arguments of a kernel (for recording them); null in libraries made
  /// before it, whose launches cannot be captured.
  ArityFunction arity;
};
struct EmulatedFunction {
  EmulatedModule *module;
  std::string name;
};

/// A launch recorded by a capture; every argument is read as 8 bytes (the
/// runtime passes each as a 64-bit value).
struct RecordedLaunch {
  EmulatedFunction *function;
  unsigned grid[3], block[3], shared;
  std::vector<uint64_t> arguments;
};
struct EmulatedGraph {
  std::vector<RecordedLaunch> launches;
  bool invalidated = false;
};

std::mutex &streamsMutex() {
  static std::mutex mutex;
  return mutex;
}
/// The streams being captured, and the graph each records into.
std::map<CUstream, EmulatedGraph *> &captures() {
  static std::map<CUstream, EmulatedGraph *> streams;
  return streams;
}
std::atomic<unsigned long> graphLaunches{0};

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
/// The emulated compute capability: 9.0, or SSM_CUDA_EMULATOR_CAPABILITY.
void computeCapability(int &major, int &minor) {
  major = 9;
  minor = 0;
  if (const char *text = std::getenv("SSM_CUDA_EMULATOR_CAPABILITY")) {
    int parsedMajor = 0, parsedMinor = 0;
    if (std::sscanf(text, "%d.%d", &parsedMajor, &parsedMinor) == 2) {
      major = parsedMajor;
      minor = parsedMinor;
    }
  }
}

CUresult deviceGetAttribute(int *value, int attribute, CUdevice) {
  int major = 0, minor = 0;
  computeCapability(major, minor);
  switch (attribute) {
  case kAttributeComputeCapabilityMajor:
    *value = major;
    return kSuccess;
  case kAttributeComputeCapabilityMinor:
    *value = minor;
    return kSuccess;
  case kAttributeMaxSharedMemoryPerBlockOptin:
    *value = 227 * 1024;
    return kSuccess;
  case kAttributeMultiprocessorCount:
    *value = 132;
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
  auto arity =
      reinterpret_cast<ArityFunction>(::dlsym(library, "ssm_emu_kernel_arity"));
  if (!launch || !hasKernel) {
    ::dlclose(library);
    return kInvalidImage;
  }
  *module = reinterpret_cast<CUmodule>(
      new EmulatedModule{library, launch, hasKernel, arity});
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
                      unsigned shared, CUstream stream, void **arguments,
                      void **) {
  auto *emulated = reinterpret_cast<EmulatedFunction *>(function);
  {
    std::lock_guard<std::mutex> lock(streamsMutex());
    auto capture = captures().find(stream);
    if (capture != captures().end()) {
      EmulatedGraph &graph = *capture->second;
      int arity = emulated->module->arity
                      ? emulated->module->arity(emulated->name.c_str())
                      : -1;
      if (arity < 0) {
        graph.invalidated = true;
        return kCaptureUnsupported;
      }
      RecordedLaunch recorded{emulated, {gx, gy, gz}, {bx, by, bz}, shared, {}};
      for (int a = 0; a < arity; ++a) {
        uint64_t value = 0;
        std::memcpy(&value, arguments[a], sizeof(value));
        recorded.arguments.push_back(value);
      }
      graph.launches.push_back(std::move(recorded));
      return kSuccess;
    }
  }
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
CUresult memcpyHtoDAsync(CUdeviceptr device, const void *host, size_t bytes,
                         CUstream) {
  return memcpyHtoD(device, host, bytes);
}
CUresult memcpyDtoHAsync(void *host, CUdeviceptr device, size_t bytes,
                         CUstream) {
  return memcpyDtoH(host, device, bytes);
}
CUresult streamSynchronize(CUstream) { return kSuccess; }
CUresult streamCreate(CUstream *stream, unsigned) {
  *stream = reinterpret_cast<CUstream>(new int(0));
  return kSuccess;
}
CUresult streamDestroy(CUstream stream) {
  delete reinterpret_cast<int *>(stream);
  return kSuccess;
}
CUresult streamIsCapturing(CUstream stream, int *status) {
  std::lock_guard<std::mutex> lock(streamsMutex());
  *status = captures().count(stream) ? 1 : kStreamCaptureStatusNone;
  return kSuccess;
}
CUresult streamBeginCapture(CUstream stream, int) {
  std::lock_guard<std::mutex> lock(streamsMutex());
  if (!stream || captures().count(stream))
    return kInvalidValue;
  captures()[stream] = new EmulatedGraph();
  return kSuccess;
}
CUresult streamEndCapture(CUstream stream, CUgraph *graph) {
  std::lock_guard<std::mutex> lock(streamsMutex());
  auto capture = captures().find(stream);
  if (capture == captures().end())
    return kInvalidValue;
  EmulatedGraph *recorded = capture->second;
  captures().erase(capture);
  if (recorded->invalidated) {
    delete recorded;
    *graph = nullptr;
    return kCaptureInvalidated;
  }
  *graph = reinterpret_cast<CUgraph>(recorded);
  return kSuccess;
}
CUresult graphInstantiate(CUgraphExec *exec, CUgraph graph,
                          unsigned long long) {
  *exec = reinterpret_cast<CUgraphExec>(
      new EmulatedGraph(*reinterpret_cast<EmulatedGraph *>(graph)));
  return kSuccess;
}
CUresult graphLaunch(CUgraphExec exec, CUstream) {
  graphLaunches.fetch_add(1, std::memory_order_relaxed);
  for (RecordedLaunch &launch :
       reinterpret_cast<EmulatedGraph *>(exec)->launches) {
    std::vector<void *> pointers;
    for (uint64_t &value : launch.arguments)
      pointers.push_back(&value);
    if (launch.function->module->launch(launch.function->name.c_str(),
                                        launch.grid, launch.block,
                                        launch.shared, pointers.data()) != 0)
      return kLaunchFailed;
  }
  return kSuccess;
}
CUresult graphExecDestroy(CUgraphExec exec) {
  delete reinterpret_cast<EmulatedGraph *>(exec);
  return kSuccess;
}
CUresult graphDestroy(CUgraph graph) {
  delete reinterpret_cast<EmulatedGraph *>(graph);
  return kSuccess;
}
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
  case kCaptureUnsupported:
    *name = "CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED";
    return kSuccess;
  case kCaptureInvalidated:
    *name = "CUDA_ERROR_STREAM_CAPTURE_INVALIDATED";
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

unsigned long emulatorGraphLaunches() {
  return graphLaunches.load(std::memory_order_relaxed);
}

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
