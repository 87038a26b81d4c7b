// The CUDA loader: an artifact's cubin loaded through the driver API on the
// device the options name, checked against the device (architecture, shared
// memory), and calls that launch a function's kernels on the module's stream
// in the manifest's order, their buffers in a workspace the module keeps. A
// call seen again with the same tensors replays a CUDA graph of its launches
// (one launch instead of hundreds for a model's decode step).
#include "CudaModule.h"

#include "CudaDriver.h"
#include "Invocation.h"
#include "Status.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <limits>
#include <map>
#include <mutex>

#include <sys/stat.h>

namespace ssm::runtime {

namespace {

using namespace cuda;

/// One kernel launch of a call, its grid and arguments resolved.
struct PreparedLaunch {
  CUfunction kernel = nullptr;
  const Launch *launch = nullptr;
  unsigned grid[3] = {0, 0, 0};
  std::vector<uint64_t> values;
};

/// A graph of a call's launches, for the tensors and workspace in `key`.
struct CallGraph {
  std::vector<uint64_t> key;
  /// Times the call was seen.
  unsigned sightings = 0;
  /// Null until the call is seen kCaptureAtSighting times.
  CUgraphExec exec = nullptr;
  /// Capture failed: launch this call's kernels one by one.
  bool uncapturable = false;
  uint64_t lastUse = 0;
};

class CudaCode final : public DeviceCode {
public:
  ~CudaCode() override;
  DLDevice device() const override { return {kDLCUDA, deviceOrdinal}; }
  ssm_status_t invoke(const ssm_function_s &function, const DLTensor *inputs,
                      DLTensor *outputs) override;
  ssm_status_t allocate(size_t bytes, void **out) override;
  void release(void *data) override;
  ssm_status_t copyToDevice(void *device, const void *host,
                            size_t bytes) override;
  ssm_status_t copyToHost(void *host, const void *device,
                          size_t bytes) override;
  ssm_status_t synchronize() override;
  std::string whyNotOnDevice(const void *data, size_t bytes) const override;

  ssm_status_t makeCurrent() const {
    if (CUresult result = driver->contextSetCurrent(context))
      return driverError(*driver, result, "cuCtxSetCurrent");
    return nullptr;
  }

  const DriverApi *driver = nullptr;
  int deviceOrdinal = 0;
  CUdevice cudaDevice = 0;
  CUcontext context = nullptr;
  CUmodule module = nullptr;
  CUstream stream = nullptr;
  /// Whether repeated calls are replayed as graphs ($SSM_CUDA_GRAPHS=0: no).
  bool replayGraphs = true;
  /// [function][launch].
  std::vector<std::vector<CUfunction>> kernels;

private:
  ssm_status_t prepareLaunches(const ssm_function_s &function,
                               const DLTensor *inputs, DLTensor *outputs,
                               const std::vector<CUdeviceptr> &buffers,
                               std::vector<PreparedLaunch> &out) const;
  ssm_status_t enqueue(const std::vector<PreparedLaunch> &launches,
                       CUstream on) const;
  ssm_status_t invokeInCapture(const ssm_function_s &function,
                               const DLTensor *inputs, DLTensor *outputs,
                               const std::vector<uint64_t> &bufferBytes);
  ssm_status_t reserveWorkspace(uint64_t bytes);
  /// Counts a sighting of the call `key` names; its entry, or null the
  /// first time.
  CallGraph *rememberCall(const ssm_function_s &function,
                          std::vector<uint64_t> key);
  /// Captures `launches` into `call`'s graph; false (and the call marked
  /// uncapturable) when that fails.
  bool capture(const ssm_function_s &function, CallGraph &call,
               const std::vector<PreparedLaunch> &launches);
  void dropGraphs();

  /// Serializes calls: they share the workspace and the graphs (their
  /// kernels run in order on the one stream anyway).
  std::mutex callMutex;
  /// The buffers between a call's kernels: one allocation that every
  /// function uses in turn, grown to the largest call and kept, so that a
  /// call neither allocates nor frees and its addresses repeat.
  CUdeviceptr workspace = 0;
  uint64_t workspaceBytes = 0;
  /// The stream graphs are captured on (the module's may be the legacy
  /// default stream, which cannot be captured).
  CUstream captureStream = nullptr;
  /// [function]: the calls seen lately, with their graphs.
  std::vector<std::vector<CallGraph>> graphs;
  uint64_t calls = 0;
  /// Memory this module allocated, by start: tensors inside it are device
  /// memory without asking the driver.
  mutable std::mutex allocationsMutex;
  std::map<uintptr_t, size_t> allocations;
};

/// Graphs kept a function, and calls remembered until seen again: a decode
/// step's few sets of tensors (states alternate with spares) fit.
constexpr size_t kGraphsPerFunction = 8;
constexpr size_t kCallsRememberedPerFunction = 32;
/// A call is captured the third time it is seen: a capture costs about
/// what launching its kernels does, and a graph instantiated for a call that
/// never comes again (prompts of a session, calls that alternate between two
/// sets of tensors once each) is wasted.
constexpr unsigned kCaptureAtSighting = 3;
/// Buffers start at multiples of this in the workspace.
constexpr uint64_t kBufferAlignment = 256;

CudaCode::~CudaCode() {
  if (!driver)
    return;
  if (context)
    driver->contextSetCurrent(context);
  if (context && workspace)
    driver->streamSynchronize(stream);
  dropGraphs();
  if (captureStream)
    driver->streamDestroy(captureStream);
  if (workspace)
    driver->memFree(workspace);
  if (module)
    driver->moduleUnload(module);
  if (context)
    driver->primaryContextRelease(cudaDevice);
}

void CudaCode::dropGraphs() {
  // An executable graph still running is freed when it completes.
  for (std::vector<CallGraph> &functionGraphs : graphs) {
    for (CallGraph &graph : functionGraphs)
      if (graph.exec)
        driver->graphExecDestroy(graph.exec);
    functionGraphs.clear();
  }
}

ssm_status_t CudaCode::allocate(size_t bytes, void **out) {
  if (ssm_status_t status = makeCurrent())
    return status;
  CUdeviceptr pointer = 0;
  if (CUresult result = driver->memAlloc(&pointer, bytes ? bytes : 1))
    return driverError(*driver, result,
                       fmt::format("cuMemAlloc({} bytes)", bytes));
  {
    std::lock_guard<std::mutex> lock(allocationsMutex);
    allocations[static_cast<uintptr_t>(pointer)] = bytes;
  }
  *out = reinterpret_cast<void *>(static_cast<uintptr_t>(pointer));
  return nullptr;
}

void CudaCode::release(void *data) {
  if (!data || makeCurrent())
    return;
  {
    std::lock_guard<std::mutex> lock(allocationsMutex);
    allocations.erase(reinterpret_cast<uintptr_t>(data));
  }
  driver->memFree(static_cast<CUdeviceptr>(reinterpret_cast<uintptr_t>(data)));
}

// Copies are ordered after the work enqueued on the module's stream (which
// may be a non-blocking stream, which the synchronous copies would not wait
// for) and waited for.
ssm_status_t CudaCode::copyToDevice(void *device, const void *host,
                                    size_t bytes) {
  if (ssm_status_t status = makeCurrent())
    return status;
  if (bytes == 0)
    return nullptr;
  if (CUresult result = driver->memcpyHtoDAsync(
          static_cast<CUdeviceptr>(reinterpret_cast<uintptr_t>(device)), host,
          bytes, stream))
    return driverError(*driver, result, "cuMemcpyHtoDAsync");
  if (CUresult result = driver->streamSynchronize(stream))
    return driverError(*driver, result,
                       "cuStreamSynchronize (after a copy to the device)");
  return nullptr;
}

ssm_status_t CudaCode::copyToHost(void *host, const void *device,
                                  size_t bytes) {
  if (ssm_status_t status = makeCurrent())
    return status;
  if (bytes == 0)
    return nullptr;
  if (CUresult result = driver->memcpyDtoHAsync(
          host, static_cast<CUdeviceptr>(reinterpret_cast<uintptr_t>(device)),
          bytes, stream))
    return driverError(*driver, result, "cuMemcpyDtoHAsync");
  if (CUresult result = driver->streamSynchronize(stream))
    return driverError(*driver, result,
                       "cuStreamSynchronize (a copy to the host, or a kernel "
                       "launched before it, failed)");
  return nullptr;
}

ssm_status_t CudaCode::synchronize() {
  if (ssm_status_t status = makeCurrent())
    return status;
  if (CUresult result = driver->streamSynchronize(stream))
    return driverError(*driver, result,
                       "cuStreamSynchronize (a kernel launched earlier failed)");
  return nullptr;
}

std::string CudaCode::whyNotOnDevice(const void *data, size_t bytes) const {
  uintptr_t begin = reinterpret_cast<uintptr_t>(data);
  {
    std::lock_guard<std::mutex> lock(allocationsMutex);
    auto owner = allocations.upper_bound(begin);
    if (owner != allocations.begin()) {
      --owner;
      if (begin - owner->first <= owner->second &&
          bytes <= owner->second - (begin - owner->first))
        return "";
    }
  }
  CUdeviceptr pointer = static_cast<CUdeviceptr>(begin);
  unsigned memoryType = 0;
  if (driver->pointerGetAttribute(&memoryType, kPointerAttributeMemoryType,
                                  pointer) != kSuccess)
    return "data is not memory the CUDA driver knows (a host pointer in a "
           "kDLCUDA tensor?); allocate it with ssm_module_allocate or "
           "cudaMalloc";
  if (memoryType != kMemoryTypeDevice && memoryType != kMemoryTypeUnified)
    return "data is host memory, not device memory";
  int ordinal = -1;
  if (driver->pointerGetAttribute(&ordinal, kPointerAttributeDeviceOrdinal,
                                  pointer) == kSuccess &&
      ordinal != deviceOrdinal)
    return fmt::format("data is on CUDA device {}, the module on device {}",
                       ordinal, deviceOrdinal);
  return "";
}

/// A size the manifest says comes from an input dim.
int64_t inputSize(const DLTensor *inputs, const InputDim &dim) {
  return inputs[dim.input].shape[dim.dim];
}

/// min(limit, ceil(factor · Π dims / divisor)), or -1 on overflow.
int64_t gridExtent(const GridExtent &extent, const DLTensor *inputs) {
  unsigned __int128 product = static_cast<unsigned __int128>(extent.factor);
  for (const InputDim &dim : extent.dims) {
    product *= static_cast<unsigned __int128>(inputSize(inputs, dim));
    if (product > (static_cast<unsigned __int128>(1) << 80))
      return -1;
  }
  unsigned __int128 value =
      (product + static_cast<unsigned __int128>(extent.divisor) - 1) /
      static_cast<unsigned __int128>(extent.divisor);
  if (extent.limit > 0 && value > static_cast<unsigned __int128>(extent.limit))
    value = static_cast<unsigned __int128>(extent.limit);
  if (value > static_cast<unsigned __int128>(INT64_MAX))
    return -1;
  return static_cast<int64_t>(value);
}

/// Whether factor · Π dims lies in the launch's range (no range: always).
bool runsFor(const Launch &launch, const DLTensor *inputs) {
  if (!launch.runsWhen)
    return true;
  const LaunchRange &range = *launch.runsWhen;
  unsigned __int128 product = static_cast<unsigned __int128>(range.factor);
  for (const InputDim &dim : range.dims) {
    product *= static_cast<unsigned __int128>(inputSize(inputs, dim));
    if (product > (static_cast<unsigned __int128>(1) << 80))
      return range.atMost == 0; // past any bound the manifest can state
  }
  return product >= static_cast<unsigned __int128>(range.atLeast) &&
         (range.atMost == 0 ||
          product <= static_cast<unsigned __int128>(range.atMost));
}

/// The bytes of each of the function's buffers for these inputs.
ssm_status_t bufferSizes(const FunctionSpec &spec, const DLTensor *inputs,
                         std::vector<uint64_t> &out) {
  out.assign(spec.buffers.size(), 0);
  for (size_t b = 0; b < spec.buffers.size(); ++b) {
    const BufferSpec &buffer = spec.buffers[b];
    uint64_t bytes = (buffer.dtype.bits + 7u) / 8u;
    for (size_t d = 0; d < buffer.shape.size(); ++d) {
      int64_t size = buffer.shape[d] >= 0 ? buffer.shape[d]
                                          : inputSize(inputs, *buffer.dimsFrom[d]);
      if (size != 0 &&
          bytes > (uint64_t(1) << 62) / static_cast<uint64_t>(size))
        return makeStatus(SSM_STATUS_INVALID_ARGUMENT,
                          "function '{}': buffer {} would exceed 2^62 bytes",
                          spec.name, b);
      bytes *= static_cast<uint64_t>(size);
    }
    out[b] = bytes;
  }
  return nullptr;
}

ssm_status_t CudaCode::prepareLaunches(const ssm_function_s &function,
                                       const DLTensor *inputs,
                                       DLTensor *outputs,
                                       const std::vector<CUdeviceptr> &buffers,
                                       std::vector<PreparedLaunch> &out) const {
  const FunctionSpec &spec = *function.spec;
  out.clear();
  for (size_t l = 0; l < spec.launches.size(); ++l) {
    const Launch &launch = spec.launches[l];
    if (!runsFor(launch, inputs))
      continue; // another form's sizes
    PreparedLaunch prepared;
    prepared.kernel = kernels[function.index][l];
    prepared.launch = &launch;
    bool empty = false;
    static const int64_t kMaxGrid[3] = {(int64_t(1) << 31) - 1, 65535, 65535};
    for (int i = 0; i < 3; ++i) {
      int64_t extent = gridExtent(launch.grid[i], inputs);
      if (extent < 0 || extent > kMaxGrid[i])
        return makeStatus(
            SSM_STATUS_INVALID_ARGUMENT,
            "function '{}': the inputs are too large for kernel '{}': its "
            "grid would need {} blocks along {} (at most {})",
            spec.name, launch.kernel,
            extent < 0 ? std::string("more than 2^63") : fmt::to_string(extent),
            "xyz"[i], kMaxGrid[i]);
      prepared.grid[i] = static_cast<unsigned>(extent);
      empty = empty || extent == 0;
    }
    if (empty)
      continue; // e.g. a batch or a length of 0: nothing to compute
    prepared.values.resize(launch.arguments.size());
    for (size_t a = 0; a < launch.arguments.size(); ++a) {
      const KernelArgument &argument = launch.arguments[a];
      uint64_t &value = prepared.values[a];
      switch (argument.kind) {
      case KernelArgument::Kind::Input:
        value = reinterpret_cast<uintptr_t>(inputs[argument.index].data) +
                inputs[argument.index].byte_offset;
        break;
      case KernelArgument::Kind::Output:
        value = reinterpret_cast<uintptr_t>(outputs[argument.index].data) +
                outputs[argument.index].byte_offset;
        break;
      case KernelArgument::Kind::Buffer:
        value = buffers[argument.index];
        break;
      case KernelArgument::Kind::Dim:
        value = static_cast<uint64_t>(inputSize(inputs, argument.dim));
        break;
      }
    }
    out.push_back(std::move(prepared));
  }
  return nullptr;
}

ssm_status_t CudaCode::enqueue(const std::vector<PreparedLaunch> &launches,
                               CUstream on) const {
  std::vector<void *> pointers;
  for (const PreparedLaunch &prepared : launches) {
    // cuLaunchKernel takes a pointer to each argument's value (and only
    // reads them).
    pointers.resize(prepared.values.size());
    for (size_t a = 0; a < prepared.values.size(); ++a)
      pointers[a] = const_cast<uint64_t *>(&prepared.values[a]);
    const Launch &launch = *prepared.launch;
    if (CUresult result = driver->launchKernel(
            prepared.kernel, prepared.grid[0], prepared.grid[1],
            prepared.grid[2], launch.block[0], launch.block[1], launch.block[2],
            static_cast<unsigned>(launch.sharedBytes), on, pointers.data(),
            nullptr))
      return driverError(*driver, result,
                         fmt::format("cuLaunchKernel({})", launch.kernel));
  }
  return nullptr;
}

ssm_status_t CudaCode::reserveWorkspace(uint64_t bytes) {
  if (bytes <= workspaceBytes)
    return nullptr;
  // The graphs name the old workspace; the kernels enqueued may still use it.
  dropGraphs();
  if (workspace) {
    if (CUresult result = driver->streamSynchronize(stream))
      return driverError(*driver, result,
                         "cuStreamSynchronize (a kernel launched earlier "
                         "failed)");
    driver->memFree(workspace);
    workspace = 0;
    workspaceBytes = 0;
  }
  CUdeviceptr pointer = 0;
  if (CUresult result = driver->memAlloc(&pointer, bytes ? bytes : 1))
    return driverError(*driver, result,
                       fmt::format("cuMemAlloc({} bytes for the workspace of "
                                   "the buffers between kernels)",
                                   bytes));
  workspace = pointer;
  workspaceBytes = bytes;
  return nullptr;
}

// The stream is being captured into someone's graph: the buffers are
// allocated and freed in stream order, so that the graph owns them (a
// workspace could be outgrown and freed while that graph still names it).
ssm_status_t
CudaCode::invokeInCapture(const ssm_function_s &function,
                          const DLTensor *inputs, DLTensor *outputs,
                          const std::vector<uint64_t> &bufferBytes) {
  const FunctionSpec &spec = *function.spec;
  std::vector<CUdeviceptr> buffers(bufferBytes.size(), 0);
  auto releaseBuffers = [&]() {
    for (CUdeviceptr buffer : buffers)
      if (buffer)
        driver->memFreeAsync(buffer, stream);
  };
  for (size_t b = 0; b < bufferBytes.size(); ++b) {
    uint64_t bytes = bufferBytes[b] ? bufferBytes[b] : 1;
    if (CUresult result = driver->memAllocAsync(&buffers[b], bytes, stream)) {
      releaseBuffers();
      return driverError(
          *driver, result,
          fmt::format("cuMemAllocAsync({} bytes for a buffer of '{}')", bytes,
                      spec.name));
    }
  }
  std::vector<PreparedLaunch> launches;
  ssm_status_t status =
      prepareLaunches(function, inputs, outputs, buffers, launches);
  if (!status)
    status = enqueue(launches, stream);
  releaseBuffers();
  return status;
}

CallGraph *CudaCode::rememberCall(const ssm_function_s &function,
                                  std::vector<uint64_t> key) {
  if (graphs.empty())
    graphs.resize(kernels.size());
  std::vector<CallGraph> &seen = graphs[function.index];
  ++calls;
  auto graph = std::find_if(seen.begin(), seen.end(),
                            [&](const CallGraph &g) { return g.key == key; });
  if (graph != seen.end()) {
    graph->lastUse = calls;
    ++graph->sightings;
    return &*graph;
  }
  // First seen: remembered in place of the call seen longest ago when full.
  if (seen.size() >= kCallsRememberedPerFunction) {
    auto oldest = std::min_element(seen.begin(), seen.end(),
                                   [](const CallGraph &a, const CallGraph &b) {
                                     return a.lastUse < b.lastUse;
                                   });
    if (oldest->exec)
      driver->graphExecDestroy(oldest->exec);
    seen.erase(oldest);
  }
  seen.push_back(CallGraph{std::move(key), 1, nullptr, false, calls});
  return nullptr;
}

bool CudaCode::capture(const ssm_function_s &function, CallGraph &call,
                       const std::vector<PreparedLaunch> &launches) {
  std::vector<CallGraph> &seen = graphs[function.index];
  size_t withGraphs = static_cast<size_t>(std::count_if(
      seen.begin(), seen.end(), [](const CallGraph &g) { return g.exec; }));
  if (withGraphs >= kGraphsPerFunction) {
    auto oldest = seen.end();
    for (auto g = seen.begin(); g != seen.end(); ++g)
      if (g->exec && (oldest == seen.end() || g->lastUse < oldest->lastUse))
        oldest = g;
    driver->graphExecDestroy(oldest->exec);
    oldest->exec = nullptr;
  }
  if (!captureStream &&
      driver->streamCreate(&captureStream, kStreamNonBlocking) != kSuccess)
    captureStream = nullptr;
  CUgraph captured = nullptr;
  bool ok = captureStream &&
            driver->streamBeginCapture(captureStream,
                                       kStreamCaptureModeRelaxed) == kSuccess;
  if (ok) {
    ssm_status_t recorded = enqueue(launches, captureStream);
    ok = !recorded;
    ssm_status_free(recorded);
    // Ends the capture even when a launch failed in it.
    ok = driver->streamEndCapture(captureStream, &captured) == kSuccess && ok &&
         captured;
  }
  if (ok)
    ok = driver->graphInstantiate(&call.exec, captured, 0) == kSuccess;
  if (captured)
    driver->graphDestroy(captured);
  if (!ok) {
    // Launched one by one from now on (where a launch itself fails, that
    // reports it).
    call.exec = nullptr;
    call.uncapturable = true;
  }
  return ok;
}

ssm_status_t CudaCode::invoke(const ssm_function_s &function,
                              const DLTensor *inputs, DLTensor *outputs) {
  const FunctionSpec &spec = *function.spec;
  std::lock_guard<std::mutex> lock(callMutex);
  if (ssm_status_t status = makeCurrent())
    return status;
  std::vector<uint64_t> bufferBytes;
  if (ssm_status_t status = bufferSizes(spec, inputs, bufferBytes))
    return status;
  int captureStatus = kStreamCaptureStatusNone;
  if (CUresult result = driver->streamIsCapturing(stream, &captureStatus))
    return driverError(*driver, result, "cuStreamIsCapturing");
  if (captureStatus != kStreamCaptureStatusNone)
    return invokeInCapture(function, inputs, outputs, bufferBytes);

  // The buffers' places in the workspace.
  std::vector<uint64_t> offsets(bufferBytes.size(), 0);
  uint64_t total = 0;
  for (size_t b = 0; b < bufferBytes.size(); ++b) {
    offsets[b] = total;
    total += (bufferBytes[b] + kBufferAlignment - 1) / kBufferAlignment *
             kBufferAlignment; // each under 2^62: no overflow for a few
    if (total > (uint64_t(1) << 62))
      return makeStatus(SSM_STATUS_INVALID_ARGUMENT,
                        "function '{}': its buffers would exceed 2^62 bytes",
                        spec.name);
  }
  if (ssm_status_t status = reserveWorkspace(total))
    return status;

  // What the launches depend on: the tensors' places and dims, and the
  // workspace. A call seen with them before passed the launches' checks.
  CallGraph *call = nullptr;
  if (replayGraphs) {
    std::vector<uint64_t> key = {static_cast<uint64_t>(workspace)};
    for (size_t i = 0; i < spec.inputs.size(); ++i) {
      key.push_back(reinterpret_cast<uintptr_t>(inputs[i].data) +
                    inputs[i].byte_offset);
      for (int32_t d = 0; d < inputs[i].ndim; ++d)
        key.push_back(static_cast<uint64_t>(inputs[i].shape[d]));
    }
    for (size_t o = 0; o < spec.outputs.size(); ++o)
      key.push_back(reinterpret_cast<uintptr_t>(outputs[o].data) +
                    outputs[o].byte_offset);
    call = rememberCall(function, std::move(key));
  }

  if (!call || !call->exec) {
    std::vector<CUdeviceptr> buffers(bufferBytes.size());
    for (size_t b = 0; b < buffers.size(); ++b)
      buffers[b] = workspace + offsets[b];
    std::vector<PreparedLaunch> launches;
    if (ssm_status_t status =
            prepareLaunches(function, inputs, outputs, buffers, launches))
      return status;
    if (!call || call->uncapturable || call->sightings < kCaptureAtSighting ||
        !capture(function, *call, launches))
      return enqueue(launches, stream);
  }
  if (CUresult result = driver->graphLaunch(call->exec, stream))
    return driverError(
        *driver, result,
        fmt::format("cuGraphLaunch (the kernels of '{}')", spec.name));
  return nullptr;
}

ssm_status_t readBinaryFile(const std::string &path, std::string &out) {
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    int error = errno;
    return makeStatus(error == ENOENT ? SSM_STATUS_NOT_FOUND
                                      : SSM_STATUS_IO_ERROR,
                      "{}: cannot open the kernels the manifest names: {}",
                      path, std::strerror(error));
  }
  out.assign(std::istreambuf_iterator<char>(file),
             std::istreambuf_iterator<char>());
  if (file.bad())
    return makeStatus(SSM_STATUS_IO_ERROR, "{}: cannot read", path);
  return nullptr;
}

} // namespace

ssm_status_t loadCudaCode(const std::string &directory,
                          const Manifest &manifest, DLDevice device,
                          void *stream, std::unique_ptr<DeviceCode> &out) {
  const DriverApi *driver = nullptr;
  if (ssm_status_t status = getDriver(&driver))
    return status;
  auto code = std::make_unique<CudaCode>();
  code->driver = driver;
  code->stream = static_cast<CUstream>(stream);
  code->deviceOrdinal = device.device_id;
  if (CUresult result = driver->init(0))
    return driverError(*driver, result,
                       "cuInit (no usable NVIDIA GPU or driver)");
  int count = 0;
  if (CUresult result = driver->deviceGetCount(&count))
    return driverError(*driver, result, "cuDeviceGetCount");
  if (count == 0)
    return makeStatus(SSM_STATUS_UNAVAILABLE,
                      "no CUDA device: the driver sees no GPU");
  if (device.device_id < 0 || device.device_id >= count)
    return makeStatus(SSM_STATUS_INVALID_ARGUMENT,
                      "CUDA device {} does not exist (the machine has {})",
                      device.device_id, count);
  if (CUresult result = driver->deviceGet(&code->cudaDevice, device.device_id))
    return driverError(*driver, result, "cuDeviceGet");
  int major = 0, minor = 0, sharedOptin = 0;
  driver->deviceGetAttribute(&major, kAttributeComputeCapabilityMajor,
                             code->cudaDevice);
  driver->deviceGetAttribute(&minor, kAttributeComputeCapabilityMinor,
                             code->cudaDevice);
  driver->deviceGetAttribute(
      &sharedOptin, kAttributeMaxSharedMemoryPerBlockOptin, code->cudaDevice);
  const char *graphs = std::getenv("SSM_CUDA_GRAPHS");
  code->replayGraphs = !(graphs && std::strcmp(graphs, "0") == 0);
  const std::string &arch = manifest.cuda.arch;
  if (!cudaArchRunsOn(arch, major, minor)) {
    char name[128] = "";
    driver->deviceGetName(name, sizeof(name), code->cudaDevice);
    // Another Hopper part takes sm_90 code; ssmc builds nothing else.
    std::string remedy =
        cudaArchRunsOn("sm_90", major, minor)
            ? std::string("recompile with ssmc --target=cuda:sm_90")
            : fmt::format("ssmc builds CUDA kernels for {} only; compile "
                          "with ssmc --target=cpu to run on this machine",
                          kCudaArchs);
    return makeStatus(SSM_STATUS_INCOMPATIBLE,
                      "{}: the kernels are built for {}, but CUDA device {} "
                      "({}) has compute capability {}.{}; {}",
                      directory, arch, device.device_id, name, major, minor,
                      remedy);
  }
  if (CUresult result =
          driver->primaryContextRetain(&code->context, code->cudaDevice))
    return driverError(*driver, result, "cuDevicePrimaryCtxRetain");
  if (ssm_status_t status = code->makeCurrent())
    return status;

  std::string image;
  std::string path;
  if (driver->isEmulator) {
    if (manifest.cuda.emulationLibrary.empty())
      return makeStatus(SSM_STATUS_INCOMPATIBLE,
                        "{}: SSM_CUDA_EMULATOR=1 runs kernels built for the "
                        "host emulator, and this artifact has none; "
                        "recompile it with ssmc --cuda-emulation",
                        directory);
    path = directory + "/" + manifest.cuda.emulationLibrary;
    struct stat info;
    if (::stat(path.c_str(), &info) != 0)
      return makeStatus(SSM_STATUS_NOT_FOUND,
                        "{}: the emulation library is missing", path);
    image = path; // the emulator's "image" is the library's path
  } else {
    path = directory + "/" + manifest.library;
    if (ssm_status_t status = readBinaryFile(path, image))
      return status;
  }
  if (CUresult result = driver->moduleLoadData(&code->module, image.c_str()))
    return driverError(
        *driver, result,
        fmt::format("cuModuleLoadData({}) (a corrupt cubin, or one for "
                    "another GPU?)",
                    path));

  code->kernels.resize(manifest.functions.size());
  for (size_t f = 0; f < manifest.functions.size(); ++f) {
    for (const Launch &launch : manifest.functions[f].launches) {
      CUfunction kernel = nullptr;
      if (CUresult result = driver->moduleGetFunction(&kernel, code->module,
                                                      launch.kernel.c_str()))
        return driverError(
            *driver, result,
            fmt::format("cuModuleGetFunction({}) in {}", launch.kernel, path));
      if (launch.sharedBytes > sharedOptin)
        return makeStatus(SSM_STATUS_INCOMPATIBLE,
                          "{}: kernel '{}' needs {} bytes of shared memory "
                          "per block, the device has {}",
                          directory, launch.kernel, launch.sharedBytes,
                          sharedOptin);
      // Past 48 KB a kernel must opt in to its dynamic shared memory.
      if (launch.sharedBytes > 48 * 1024)
        if (CUresult result = driver->functionSetAttribute(
                kernel, kFunctionAttributeMaxDynamicSharedSizeBytes,
                static_cast<int>(launch.sharedBytes)))
          return driverError(
              *driver, result,
              fmt::format("cuFuncSetAttribute({})", launch.kernel));
      code->kernels[f].push_back(kernel);
    }
  }
  out = std::move(code);
  return nullptr;
}

} // namespace ssm::runtime
