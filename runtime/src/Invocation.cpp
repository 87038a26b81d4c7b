// Validation of calls, shared by every device's loader.
#include "Invocation.h"

#include "Status.h"

#include <algorithm>

namespace ssm::runtime {

namespace {

std::string describeDtype(DLDataType dtype) {
  if (const char *name = ssm_dtype_name(dtype))
    return name;
  return fmt::format("(code {}, {} bits, {} lanes)", dtype.code, dtype.bits,
                     dtype.lanes);
}

bool sameDtype(DLDataType a, DLDataType b) {
  return a.code == b.code && a.bits == b.bits && a.lanes == b.lanes;
}

// Names one tensor of a call: "function 'f': input 0 ('x')".
class CallContext {
public:
  explicit CallContext(const ssm_function_s &function) : function(function) {}

  std::string tensor(bool isOutput, size_t index) const {
    const TensorSpec &spec =
        isOutput ? function.spec->outputs[index] : function.spec->inputs[index];
    return fmt::format("{} {} ('{}')", isOutput ? "output" : "input", index,
                       spec.name);
  }

  template <typename... Args>
  ssm_status_t fail(fmt::format_string<Args...> format, Args &&...args) const {
    return makeStatus(SSM_STATUS_INVALID_ARGUMENT, "function '{}': {}",
                      function.spec->name,
                      fmt::format(format, std::forward<Args>(args)...));
  }

  template <typename... Args>
  ssm_status_t failTensor(bool isOutput, size_t index,
                          fmt::format_string<Args...> format,
                          Args &&...args) const {
    return fail("{}: {}", tensor(isOutput, index),
                fmt::format(format, std::forward<Args>(args)...));
  }

private:
  const ssm_function_s &function;
};

// Checks what the signature fixes: rank, dtype, and dims against `expected`
// (-1: any size; the description says where a derived size came from).
ssm_status_t checkSignature(const CallContext &context, bool isOutput,
                            size_t index, const TensorSpec &spec,
                            const DLTensor &tensor,
                            const std::vector<int64_t> &expected,
                            const std::vector<std::string> &derivedFrom) {
  const int rank = static_cast<int>(spec.shape.size());
  if (tensor.ndim != rank)
    return context.failTensor(isOutput, index,
                              "expected rank {} (shape {}), got rank {}", rank,
                              formatSignatureShape(spec.shape), tensor.ndim);
  if (rank > 0 && !tensor.shape)
    return context.failTensor(isOutput, index, "shape is NULL for rank {}",
                              rank);
  if (!sameDtype(tensor.dtype, spec.dtype))
    return context.failTensor(isOutput, index, "expected dtype {}, got {}",
                              spec.dtypeName, describeDtype(tensor.dtype));
  for (int d = 0; d < rank; ++d) {
    int64_t size = tensor.shape[d];
    if (size < 0)
      return context.failTensor(isOutput, index,
                                "dim {} is {}, expected a size >= 0 (shape {})",
                                d, size, formatShape(tensor.shape, rank));
    if (expected[d] >= 0 && size != expected[d]) {
      std::string where =
          derivedFrom[d].empty()
              ? fmt::format("shape {}", formatSignatureShape(spec.shape))
              : derivedFrom[d];
      return context.failTensor(
          isOutput, index, "dim {} is {}, expected {} ({}); got shape {}", d,
          size, expected[d], where, formatShape(tensor.shape, rank));
    }
  }
  return nullptr;
}

// The number of bytes of a shape-checked tensor; false on overflow.
bool byteSize(const DLTensor &tensor, uint64_t &out) {
  uint64_t bytes = (tensor.dtype.bits + 7u) / 8u;
  for (int d = 0; d < tensor.ndim; ++d) {
    uint64_t extent = static_cast<uint64_t>(tensor.shape[d]);
    if (extent != 0 && bytes > static_cast<uint64_t>(INT64_MAX) / extent)
      return false;
    bytes *= extent;
  }
  out = bytes;
  return true;
}

// Checks where the data is: device, pointer, alignment, strides, size.
const char *deviceTypeName(DLDeviceType type) {
  switch (type) {
  case kDLCPU:
    return "kDLCPU";
  case kDLCUDA:
    return "kDLCUDA";
  case kDLCUDAHost:
    return "kDLCUDAHost";
  case kDLCUDAManaged:
    return "kDLCUDAManaged";
  default:
    return nullptr;
  }
}

std::string describeDevice(DLDevice device) {
  const char *name = deviceTypeName(device.device_type);
  std::string text = name ? name
                          : fmt::format("device type {}",
                                        static_cast<int>(device.device_type));
  if (device.device_type != kDLCPU)
    text += fmt::format(" {}", device.device_id);
  return text;
}

ssm_status_t checkMemory(const CallContext &context, bool isOutput,
                         size_t index, const DLTensor &tensor,
                         const DeviceCode &code) {
  DLDevice expected = code.device();
  if (tensor.device.device_type != expected.device_type ||
      (expected.device_type != kDLCPU &&
       tensor.device.device_id != expected.device_id))
    return context.failTensor(
        isOutput, index, "expected a {} tensor (the module's device), got {}",
        describeDevice(expected), describeDevice(tensor.device));
  uint64_t bytes = 0;
  if (!byteSize(tensor, bytes))
    return context.failTensor(isOutput, index,
                              "shape {} holds more than 2^63 bytes",
                              formatShape(tensor.shape, tensor.ndim));
  // Empty tensors are often exported with NULL data; nothing reads it.
  if (!tensor.data && bytes > 0)
    return context.failTensor(isOutput, index, "data is NULL");
  uint64_t itemBytes = (tensor.dtype.bits + 7u) / 8u;
  uintptr_t address =
      reinterpret_cast<uintptr_t>(tensor.data) + tensor.byte_offset;
  if (itemBytes > 1 && address % itemBytes != 0)
    return context.failTensor(
        isOutput, index,
        "data + byte_offset is not aligned to {} bytes (the element size)",
        itemBytes);
  if (tensor.strides) {
    int64_t expected = 1;
    for (int d = tensor.ndim - 1; d >= 0; --d) {
      if (tensor.shape[d] != 1 && tensor.strides[d] != expected)
        return context.failTensor(
            isOutput, index,
            "strides {} are not compact row-major for shape {} (dim {} needs "
            "stride {}); pass a contiguous copy or NULL strides",
            formatShape(tensor.strides, tensor.ndim),
            formatShape(tensor.shape, tensor.ndim), d, expected);
      expected *= tensor.shape[d];
    }
  }
  if (bytes > 0) {
    std::string why = code.whyNotOnDevice(
        static_cast<const uint8_t *>(tensor.data) + tensor.byte_offset, bytes);
    if (!why.empty())
      return context.failTensor(isOutput, index, "{}", why);
  }
  return nullptr;
}

ssm_status_t checkCounts(const CallContext &context, const char *what,
                         size_t expected, const void *array, size_t given) {
  if (given != expected)
    return context.fail("takes {} {}{}, got {}", expected, what,
                        expected == 1 ? "" : "s", given);
  if (given > 0 && !array)
    return context.fail("{}s is NULL", what);
  return nullptr;
}

} // namespace

uint64_t tensorBytes(const DLTensor &tensor) {
  uint64_t bytes = 0;
  byteSize(tensor, bytes);
  return bytes;
}

ssm_status_t checkInputs(const ssm_function_s &function, const DLTensor *inputs,
                         size_t numInputs, const DeviceCode *memoryOn) {
  CallContext context(function);
  const FunctionSpec &spec = *function.spec;
  if (ssm_status_t status =
          checkCounts(context, "input", spec.inputs.size(), inputs, numInputs))
    return status;
  for (size_t i = 0; i < numInputs; ++i) {
    const TensorSpec &tensorSpec = spec.inputs[i];
    std::vector<std::string> derivedFrom(tensorSpec.shape.size());
    if (ssm_status_t status =
            checkSignature(context, false, i, tensorSpec, inputs[i],
                           tensorSpec.shape, derivedFrom))
      return status;
    if (memoryOn)
      if (ssm_status_t status =
              checkMemory(context, false, i, inputs[i], *memoryOn))
        return status;
  }
  // Generated code sizes its loops from one member of each group.
  for (const std::vector<InputDim> &group : spec.equalDims) {
    const InputDim &first = group.front();
    int64_t size = inputs[first.input].shape[first.dim];
    for (const InputDim &member : group) {
      int64_t other = inputs[member.input].shape[member.dim];
      if (other != size)
        return context.fail(
            "{} dim {} is {}, but {} dim {} is {}; the function needs them "
            "equal",
            context.tensor(false, member.input), member.dim, other,
            context.tensor(false, first.input), first.dim, size);
    }
  }
  return nullptr;
}

std::vector<int64_t> resolveOutputShape(const ssm_function_s &function,
                                        const DLTensor *inputs, size_t index) {
  const TensorSpec &spec = function.spec->outputs[index];
  std::vector<int64_t> shape = spec.shape;
  for (size_t d = 0; d < shape.size(); ++d)
    if (shape[d] < 0 && spec.dimsFrom[d])
      shape[d] = inputs[spec.dimsFrom[d]->input].shape[spec.dimsFrom[d]->dim];
  return shape;
}

ssm_status_t checkCall(const ssm_function_s &function, const DLTensor *inputs,
                       size_t numInputs, const DLTensor *outputs,
                       size_t numOutputs, const DeviceCode &code) {
  if (ssm_status_t status = checkInputs(function, inputs, numInputs, &code))
    return status;
  CallContext context(function);
  const FunctionSpec &spec = *function.spec;
  if (ssm_status_t status = checkCounts(context, "output", spec.outputs.size(),
                                        outputs, numOutputs))
    return status;
  for (size_t o = 0; o < numOutputs; ++o) {
    const TensorSpec &tensorSpec = spec.outputs[o];
    std::vector<int64_t> expected = resolveOutputShape(function, inputs, o);
    std::vector<std::string> derivedFrom(tensorSpec.shape.size());
    for (size_t d = 0; d < derivedFrom.size(); ++d)
      if (tensorSpec.dimsFrom[d])
        derivedFrom[d] =
            fmt::format("the size of {} dim {}",
                        context.tensor(false, tensorSpec.dimsFrom[d]->input),
                        tensorSpec.dimsFrom[d]->dim);
    if (ssm_status_t status = checkSignature(context, true, o, tensorSpec,
                                             outputs[o], expected, derivedFrom))
      return status;
    if (ssm_status_t status = checkMemory(context, true, o, outputs[o], code))
      return status;
  }

  // Generated code writes outputs while reading inputs; overlapping buffers
  // would give wrong answers without any error.
  struct Range {
    uintptr_t begin, end;
    bool isOutput;
    size_t index;
  };
  std::vector<Range> ranges;
  auto addRange = [&](const DLTensor &tensor, bool isOutput, size_t index) {
    uint64_t bytes = 0;
    byteSize(tensor, bytes); // checked by checkMemory
    uintptr_t begin =
        reinterpret_cast<uintptr_t>(tensor.data) + tensor.byte_offset;
    if (bytes > 0)
      ranges.push_back(
          {begin, begin + static_cast<uintptr_t>(bytes), isOutput, index});
  };
  for (size_t i = 0; i < numInputs; ++i)
    addRange(inputs[i], false, i);
  for (size_t o = 0; o < numOutputs; ++o)
    addRange(outputs[o], true, o);
  for (const Range &output : ranges) {
    if (!output.isOutput)
      continue;
    const std::optional<size_t> aliases = spec.outputs[output.index].aliases;
    for (const Range &other : ranges) {
      if (&other == &output || (other.isOutput && other.index >= output.index))
        continue;
      // An output the manifest lets be written over its input may be that
      // input's buffer exactly (not a part of it, nor shifted).
      if (!other.isOutput && aliases == other.index &&
          other.begin == output.begin && other.end == output.end)
        continue;
      if (output.begin < other.end && other.begin < output.end)
        return context.fail(
            "{} overlaps {}; outputs must not share memory with inputs or "
            "other outputs",
            context.tensor(true, output.index),
            context.tensor(other.isOutput, other.index));
    }
  }
  return nullptr;
}

} // namespace ssm::runtime
