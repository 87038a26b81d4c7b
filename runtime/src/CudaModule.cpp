// The CUDA loader: an artifact's cubin loaded through the driver API on the
// device the options name, checked against the device (architecture, shared
// memory), and calls that allocate the function's buffers and launch its
// kernels on the module's stream in the manifest's order.
#include "CudaModule.h"

#include "CudaDriver.h"
#include "Invocation.h"
#include "Status.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <limits>

#include <sys/stat.h>

namespace ssm::runtime {

namespace {

using namespace cuda;

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
  bool memoryPools = false;
  /// [function][launch].
  std::vector<std::vector<CUfunction>> kernels;
};

CudaCode::~CudaCode() {
  if (!driver)
    return;
  if (context)
    driver->contextSetCurrent(context);
  if (module)
    driver->moduleUnload(module);
  if (context)
    driver->primaryContextRelease(cudaDevice);
}

ssm_status_t CudaCode::allocate(size_t bytes, void **out) {
  if (ssm_status_t status = makeCurrent())
    return status;
  CUdeviceptr pointer = 0;
  if (CUresult result = driver->memAlloc(&pointer, bytes ? bytes : 1))
    return driverError(*driver, result,
                       fmt::format("cuMemAlloc({} bytes)", bytes));
  *out = reinterpret_cast<void *>(static_cast<uintptr_t>(pointer));
  return nullptr;
}

void CudaCode::release(void *data) {
  if (!data || makeCurrent())
    return;
  driver->memFree(static_cast<CUdeviceptr>(reinterpret_cast<uintptr_t>(data)));
}

ssm_status_t CudaCode::copyToDevice(void *device, const void *host,
                                    size_t bytes) {
  if (ssm_status_t status = makeCurrent())
    return status;
  if (bytes == 0)
    return nullptr;
  if (CUresult result = driver->memcpyHtoD(
          static_cast<CUdeviceptr>(reinterpret_cast<uintptr_t>(device)), host,
          bytes))
    return driverError(*driver, result, "cuMemcpyHtoD");
  return nullptr;
}

ssm_status_t CudaCode::copyToHost(void *host, const void *device,
                                  size_t bytes) {
  if (ssm_status_t status = makeCurrent())
    return status;
  if (bytes == 0)
    return nullptr;
  if (CUresult result = driver->memcpyDtoH(
          host, static_cast<CUdeviceptr>(reinterpret_cast<uintptr_t>(device)),
          bytes))
    return driverError(*driver, result, "cuMemcpyDtoH");
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

std::string CudaCode::whyNotOnDevice(const void *data, size_t) const {
  CUdeviceptr pointer =
      static_cast<CUdeviceptr>(reinterpret_cast<uintptr_t>(data));
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

ssm_status_t CudaCode::invoke(const ssm_function_s &function,
                              const DLTensor *inputs, DLTensor *outputs) {
  const FunctionSpec &spec = *function.spec;
  if (ssm_status_t status = makeCurrent())
    return status;

  // Buffers between kernels, stream-ordered.
  std::vector<CUdeviceptr> buffers(spec.buffers.size(), 0);
  auto releaseBuffers = [&]() {
    for (CUdeviceptr buffer : buffers)
      if (buffer)
        memoryPools ? driver->memFreeAsync(buffer, stream)
                    : driver->memFree(buffer);
  };
  for (size_t b = 0; b < spec.buffers.size(); ++b) {
    const BufferSpec &buffer = spec.buffers[b];
    uint64_t bytes = (buffer.dtype.bits + 7u) / 8u;
    for (size_t d = 0; d < buffer.shape.size(); ++d) {
      int64_t size = buffer.shape[d] >= 0 ? buffer.shape[d]
                                          : inputSize(inputs, *buffer.dimsFrom[d]);
      if (size != 0 && bytes > (uint64_t(1) << 62) / static_cast<uint64_t>(size)) {
        releaseBuffers();
        return makeStatus(SSM_STATUS_INVALID_ARGUMENT,
                          "function '{}': buffer {} would exceed 2^62 bytes",
                          spec.name, b);
      }
      bytes *= static_cast<uint64_t>(size);
    }
    CUresult result =
        memoryPools ? driver->memAllocAsync(&buffers[b], bytes ? bytes : 1, stream)
                    : driver->memAlloc(&buffers[b], bytes ? bytes : 1);
    if (result != kSuccess) {
      releaseBuffers();
      return driverError(
          *driver, result,
          fmt::format("cuMemAllocAsync({} bytes for a buffer of '{}')", bytes,
                      spec.name));
    }
  }

  for (size_t l = 0; l < spec.launches.size(); ++l) {
    const Launch &launch = spec.launches[l];
    if (!runsFor(launch, inputs))
      continue; // another form's sizes
    int64_t grid[3];
    bool empty = false;
    static const int64_t kMaxGrid[3] = {(int64_t(1) << 31) - 1, 65535, 65535};
    for (int i = 0; i < 3; ++i) {
      grid[i] = gridExtent(launch.grid[i], inputs);
      if (grid[i] < 0 || grid[i] > kMaxGrid[i]) {
        releaseBuffers();
        return makeStatus(
            SSM_STATUS_INVALID_ARGUMENT,
            "function '{}': the inputs are too large for kernel '{}': its "
            "grid would need {} blocks along {} (at most {})",
            spec.name, launch.kernel,
            grid[i] < 0 ? std::string("more than 2^63")
                        : fmt::to_string(grid[i]),
            "xyz"[i], kMaxGrid[i]);
      }
      empty = empty || grid[i] == 0;
    }
    if (empty)
      continue; // e.g. a batch or a length of 0: nothing to compute
    // cuLaunchKernel takes a pointer to each argument's value.
    std::vector<uint64_t> values(launch.arguments.size());
    std::vector<void *> pointers(launch.arguments.size());
    for (size_t a = 0; a < launch.arguments.size(); ++a) {
      const KernelArgument &argument = launch.arguments[a];
      switch (argument.kind) {
      case KernelArgument::Kind::Input:
        values[a] = reinterpret_cast<uintptr_t>(inputs[argument.index].data) +
                    inputs[argument.index].byte_offset;
        break;
      case KernelArgument::Kind::Output:
        values[a] = reinterpret_cast<uintptr_t>(outputs[argument.index].data) +
                    outputs[argument.index].byte_offset;
        break;
      case KernelArgument::Kind::Buffer:
        values[a] = buffers[argument.index];
        break;
      case KernelArgument::Kind::Dim:
        values[a] = static_cast<uint64_t>(inputSize(inputs, argument.dim));
        break;
      }
      pointers[a] = &values[a];
    }
    CUresult result = driver->launchKernel(
        kernels[function.index][l], static_cast<unsigned>(grid[0]),
        static_cast<unsigned>(grid[1]), static_cast<unsigned>(grid[2]),
        launch.block[0], launch.block[1], launch.block[2],
        static_cast<unsigned>(launch.sharedBytes), stream, pointers.data(),
        nullptr);
    if (result != kSuccess) {
      releaseBuffers();
      return driverError(*driver, result,
                         fmt::format("cuLaunchKernel({})", launch.kernel));
    }
  }
  releaseBuffers();
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
  int major = 0, minor = 0, sharedOptin = 0, pools = 0;
  driver->deviceGetAttribute(&major, kAttributeComputeCapabilityMajor,
                             code->cudaDevice);
  driver->deviceGetAttribute(&minor, kAttributeComputeCapabilityMinor,
                             code->cudaDevice);
  driver->deviceGetAttribute(&sharedOptin,
                             kAttributeMaxSharedMemoryPerBlockOptin,
                             code->cudaDevice);
  driver->deviceGetAttribute(&pools, kAttributeMemoryPoolsSupported,
                             code->cudaDevice);
  code->memoryPools = pools != 0;
  // sm_90a code runs on compute capability 9.0 only; sm_90 on any 9.x.
  const std::string &arch = manifest.cuda.arch;
  bool runs = arch == "sm_90a" ? major == 9 && minor == 0 : major == 9;
  if (!runs) {
    char name[128] = "";
    driver->deviceGetName(name, sizeof(name), code->cudaDevice);
    return makeStatus(SSM_STATUS_INCOMPATIBLE,
                      "{}: the kernels are built for {}, but CUDA device {} "
                      "({}) has compute capability {}.{}; recompile with "
                      "ssmc --target=cuda:sm_{}{}",
                      directory, arch, device.device_id, name, major, minor,
                      major, minor);
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
