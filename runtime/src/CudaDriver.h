// The CUDA driver API as the runtime uses it: a table of functions resolved
// at run time from libcuda.so.1 (so that the runtime builds and runs without
// the CUDA toolkit or a driver), or from the host emulator
// (SSM_CUDA_EMULATOR=1), which runs the kernels an artifact built with
// `ssmc --cuda-emulation` carries for the host.
#ifndef SSM_RUNTIME_SRC_CUDADRIVER_H
#define SSM_RUNTIME_SRC_CUDADRIVER_H

#include "ssm/runtime.h"

#include <cstddef>
#include <string>

namespace ssm::runtime::cuda {

// The driver API's types and the few enumerators used (values from cuda.h).
using CUresult = int;
using CUdevice = int;
using CUdeviceptr = unsigned long long;
using CUcontext = struct CUctx_st *;
using CUmodule = struct CUmod_st *;
using CUfunction = struct CUfunc_st *;
using CUstream = struct CUstream_st *;
using CUevent = struct CUevent_st *;
using CUgraph = struct CUgraph_st *;
using CUgraphExec = struct CUgraphExec_st *;

constexpr CUresult kSuccess = 0;
constexpr CUresult kErrorNoDevice = 100;
constexpr int kAttributeMultiprocessorCount = 16;
constexpr int kAttributeComputeCapabilityMajor = 75;
constexpr int kAttributeComputeCapabilityMinor = 76;
constexpr int kAttributeMaxSharedMemoryPerBlockOptin = 97;
constexpr int kFunctionAttributeMaxDynamicSharedSizeBytes = 8;
constexpr int kPointerAttributeMemoryType = 2;
constexpr int kPointerAttributeDeviceOrdinal = 9;
constexpr unsigned kMemoryTypeDevice = 2;
constexpr unsigned kMemoryTypeUnified = 4;
constexpr int kStreamCaptureModeRelaxed = 2;
constexpr unsigned kStreamNonBlocking = 1;
constexpr int kStreamCaptureStatusNone = 0;

// Name in the table, symbol in libcuda, signature.
#define SSM_CUDA_DRIVER_FUNCTIONS(X)                                           \
  X(init, "cuInit", CUresult (*)(unsigned))                                    \
  X(deviceGetCount, "cuDeviceGetCount", CUresult (*)(int *))                   \
  X(deviceGet, "cuDeviceGet", CUresult (*)(CUdevice *, int))                   \
  X(deviceGetAttribute, "cuDeviceGetAttribute",                                \
    CUresult (*)(int *, int, CUdevice))                                        \
  X(deviceGetName, "cuDeviceGetName", CUresult (*)(char *, int, CUdevice))     \
  X(primaryContextRetain, "cuDevicePrimaryCtxRetain",                          \
    CUresult (*)(CUcontext *, CUdevice))                                       \
  X(primaryContextRelease, "cuDevicePrimaryCtxRelease_v2",                     \
    CUresult (*)(CUdevice))                                                    \
  X(contextSetCurrent, "cuCtxSetCurrent", CUresult (*)(CUcontext))             \
  X(moduleLoadData, "cuModuleLoadData",                                        \
    CUresult (*)(CUmodule *, const void *))                                    \
  X(moduleUnload, "cuModuleUnload", CUresult (*)(CUmodule))                    \
  X(moduleGetFunction, "cuModuleGetFunction",                                  \
    CUresult (*)(CUfunction *, CUmodule, const char *))                        \
  X(functionSetAttribute, "cuFuncSetAttribute",                                \
    CUresult (*)(CUfunction, int, int))                                        \
  X(launchKernel, "cuLaunchKernel",                                            \
    CUresult (*)(CUfunction, unsigned, unsigned, unsigned, unsigned, unsigned, \
                 unsigned, unsigned, CUstream, void **, void **))              \
  X(memAlloc, "cuMemAlloc_v2", CUresult (*)(CUdeviceptr *, size_t))            \
  X(memFree, "cuMemFree_v2", CUresult (*)(CUdeviceptr))                        \
  X(memAllocAsync, "cuMemAllocAsync",                                          \
    CUresult (*)(CUdeviceptr *, size_t, CUstream))                             \
  X(memFreeAsync, "cuMemFreeAsync", CUresult (*)(CUdeviceptr, CUstream))       \
  X(memcpyHtoD, "cuMemcpyHtoD_v2",                                             \
    CUresult (*)(CUdeviceptr, const void *, size_t))                           \
  X(memcpyDtoH, "cuMemcpyDtoH_v2", CUresult (*)(void *, CUdeviceptr, size_t))  \
  X(memcpyHtoDAsync, "cuMemcpyHtoDAsync_v2",                                   \
    CUresult (*)(CUdeviceptr, const void *, size_t, CUstream))                 \
  X(memcpyDtoHAsync, "cuMemcpyDtoHAsync_v2",                                   \
    CUresult (*)(void *, CUdeviceptr, size_t, CUstream))                       \
  X(streamSynchronize, "cuStreamSynchronize", CUresult (*)(CUstream))          \
  X(streamCreate, "cuStreamCreate", CUresult (*)(CUstream *, unsigned))        \
  X(streamDestroy, "cuStreamDestroy_v2", CUresult (*)(CUstream))               \
  X(streamIsCapturing, "cuStreamIsCapturing", CUresult (*)(CUstream, int *))   \
  X(streamBeginCapture, "cuStreamBeginCapture_v2",                             \
    CUresult (*)(CUstream, int))                                               \
  X(streamEndCapture, "cuStreamEndCapture", CUresult (*)(CUstream, CUgraph *)) \
  X(graphInstantiate, "cuGraphInstantiateWithFlags",                           \
    CUresult (*)(CUgraphExec *, CUgraph, unsigned long long))                  \
  X(graphLaunch, "cuGraphLaunch", CUresult (*)(CUgraphExec, CUstream))         \
  X(graphExecDestroy, "cuGraphExecDestroy", CUresult (*)(CUgraphExec))         \
  X(graphDestroy, "cuGraphDestroy", CUresult (*)(CUgraph))                     \
  X(pointerGetAttribute, "cuPointerGetAttribute",                              \
    CUresult (*)(void *, int, CUdeviceptr))                                    \
  X(getErrorName, "cuGetErrorName", CUresult (*)(CUresult, const char **))     \
  X(getErrorString, "cuGetErrorString", CUresult (*)(CUresult, const char **))

/// Lets a function-pointer type stand before a member name.
template <class T> using Identity = T;

// What tools that time kernels use (the runtime itself does not); absent from
// the emulator's table.
#define SSM_CUDA_DRIVER_TOOL_FUNCTIONS(X)                                      \
  X(eventCreate, "cuEventCreate", CUresult (*)(CUevent *, unsigned))           \
  X(eventDestroy, "cuEventDestroy_v2", CUresult (*)(CUevent))                  \
  X(eventRecord, "cuEventRecord", CUresult (*)(CUevent, CUstream))             \
  X(eventSynchronize, "cuEventSynchronize", CUresult (*)(CUevent))             \
  X(eventElapsedTime, "cuEventElapsedTime_v2",                                 \
    CUresult (*)(float *, CUevent, CUevent))

struct DriverApi {
#define SSM_CUDA_DRIVER_MEMBER(name, symbol, type) Identity<type> name = nullptr;
  SSM_CUDA_DRIVER_FUNCTIONS(SSM_CUDA_DRIVER_MEMBER)
  SSM_CUDA_DRIVER_TOOL_FUNCTIONS(SSM_CUDA_DRIVER_MEMBER)
#undef SSM_CUDA_DRIVER_MEMBER
  /// The emulator: modules are host libraries named by path, not cubins.
  bool isEmulator = false;
};

/// The process's driver table, resolved once: the emulator when
/// $SSM_CUDA_EMULATOR is "1", else libcuda.so.1. UNAVAILABLE when the
/// library (the NVIDIA driver) is absent or lacks a function.
ssm_status_t getDriver(const DriverApi **out);

/// The emulator's table (emulation.h runs the kernels).
const DriverApi &emulatorDriver();

/// How many graph launches the emulator has run, for tests that check that
/// repeated calls are replayed.
unsigned long emulatorGraphLaunches();

/// A status for a failed driver call: "<call>: <name>: <description>".
ssm_status_t driverError(const DriverApi &driver, CUresult result,
                         const std::string &call);

} // namespace ssm::runtime::cuda

#endif // SSM_RUNTIME_SRC_CUDADRIVER_H
