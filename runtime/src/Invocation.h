// The checks every call goes through before a device sees its tensors:
// counts, dtypes, ranks, shapes against the manifest, the device and memory
// of every tensor, and no output overlapping another tensor. Shared by the
// CPU and CUDA loaders.
#ifndef SSM_RUNTIME_SRC_INVOCATION_H
#define SSM_RUNTIME_SRC_INVOCATION_H

#include "Module.h"

#include <string>
#include <vector>

namespace ssm::runtime {

/// Checks `inputs` against `function`'s signature: count, dtype, rank, static
/// dims and equal_dims; with `memoryOn`, also their device, data, alignment
/// and strides for that device's code.
ssm_status_t checkInputs(const ssm_function_s &function, const DLTensor *inputs,
                         size_t numInputs, const DeviceCode *memoryOn);

/// The shape of output `index` for inputs already checked by checkInputs.
std::vector<int64_t> resolveOutputShape(const ssm_function_s &function,
                                        const DLTensor *inputs, size_t index);

/// Everything checkInputs checks, for the outputs too, and that no output
/// overlaps an input or another output.
ssm_status_t checkCall(const ssm_function_s &function, const DLTensor *inputs,
                       size_t numInputs, const DLTensor *outputs,
                       size_t numOutputs, const DeviceCode &code);

/// The bytes of a tensor whose shape was checked.
uint64_t tensorBytes(const DLTensor &tensor);

} // namespace ssm::runtime

#endif // SSM_RUNTIME_SRC_INVOCATION_H
