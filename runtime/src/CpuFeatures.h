// This processor's features (CPUID, no LLVM) and the check of a CPU
// artifact's requirement against them, before its library is opened.
#ifndef SSM_RUNTIME_SRC_CPUFEATURES_H
#define SSM_RUNTIME_SRC_CPUFEATURES_H

#include "ssm/manifest.h"

#include <string>
#include <string_view>
#include <vector>

namespace ssm::runtime {

/// This processor's architecture in the manifest's spelling ("x86_64"), or
/// the name of one the runtime has no feature detection for.
std::string_view hostCpuArch();

/// The features of cpu_features.h this processor and its operating system
/// support (x86: CPUID, and XGETBV for the register state the OS saves), in
/// the list's order. Empty on other architectures.
const std::vector<std::string> &hostCpuFeatures();

/// NULL when this processor can run code compiled for `requirement`.
/// Otherwise INCOMPATIBLE with a message starting with `origin`: another
/// architecture, a feature name the runtime does not know (from a newer
/// ssmc, or an edited manifest), or the features this processor lacks, all
/// of them named.
ssm_status_t checkCpuRequirement(const CpuRequirement &requirement,
                                 const std::string &origin);

} // namespace ssm::runtime

#endif // SSM_RUNTIME_SRC_CPUFEATURES_H
