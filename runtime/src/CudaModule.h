// The CUDA loader: the cubin of an artifact (or, under the host emulator, the
// library built from its kernels) on one CUDA device.
#ifndef SSM_RUNTIME_SRC_CUDAMODULE_H
#define SSM_RUNTIME_SRC_CUDAMODULE_H

#include "Module.h"

#include <memory>
#include <string>

namespace ssm::runtime {

/// Loads `manifest`'s kernels for `device` (kDLCUDA); calls are enqueued on
/// `stream` (a CUstream; NULL is the default stream).
ssm_status_t loadCudaCode(const std::string &directory,
                          const Manifest &manifest, DLDevice device,
                          void *stream, std::unique_ptr<DeviceCode> &out);

} // namespace ssm::runtime

#endif // SSM_RUNTIME_SRC_CUDAMODULE_H
