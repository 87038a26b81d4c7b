// The CPU loader: the generated library (model_cpu.so) of an artifact.
#ifndef SSM_RUNTIME_SRC_CPUMODULE_H
#define SSM_RUNTIME_SRC_CPUMODULE_H

#include "Module.h"

#include <memory>
#include <string>

namespace ssm::runtime {

/// Opens the library `manifest` names in `directory` and binds one entry
/// point to each manifest function (see ssm_module_load for the codes).
ssm_status_t loadCpuCode(const std::string &directory, const Manifest &manifest,
                         std::unique_ptr<DeviceCode> &out);

} // namespace ssm::runtime

#endif // SSM_RUNTIME_SRC_CPUMODULE_H
