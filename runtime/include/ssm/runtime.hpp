// Header-only C++17 RAII wrapper over the ssm runtime C API (safetensors files,
// modules and functions), plus owned host tensors and tensor copy helpers.
#ifndef SSM_RUNTIME_HPP
#define SSM_RUNTIME_HPP

#include "ssm/runtime.h"
#include "ssm/runtime_dtype.hpp"

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace ssm {

/// A non-OK ssm_status_t as an exception: what() is the status message.
class Error : public std::runtime_error {
public:
  Error(ssm_status_code_t code, const std::string &message)
      : std::runtime_error(message), statusCode(code) {}
  ssm_status_code_t code() const noexcept { return statusCode; }

private:
  ssm_status_code_t statusCode;
};

/// Throws Error for a non-OK status, freeing the status either way.
inline void check(ssm_status_t status) {
  if (!status)
    return;
  ssm_status_code_t code = ssm_status_code(status);
  std::string message = ssm_status_message(status);
  ssm_status_free(status);
  throw Error(code, message);
}

/// A shared reference to an open safetensors file; copies retain, the
/// destructor releases. DLTensors it hands out stay valid while any copy lives.
class SafetensorsFile {
public:
  /// An empty handle (operator bool is false).
  SafetensorsFile() = default;

  /// Opens and validates `path`; throws Error.
  static SafetensorsFile open(const std::string &path) {
    ssm_safetensors_t *handle = nullptr;
    check(ssm_safetensors_open(path.c_str(), &handle));
    return SafetensorsFile(handle);
  }

  /// Takes over one reference to `handle`.
  static SafetensorsFile adopt(ssm_safetensors_t *handle) {
    return SafetensorsFile(handle);
  }

  SafetensorsFile(const SafetensorsFile &other) : handle(other.handle) {
    ssm_safetensors_retain(handle);
  }
  SafetensorsFile(SafetensorsFile &&other) noexcept
      : handle(std::exchange(other.handle, nullptr)) {}
  SafetensorsFile &operator=(SafetensorsFile other) noexcept {
    std::swap(handle, other.handle);
    return *this;
  }
  ~SafetensorsFile() { ssm_safetensors_release(handle); }

  explicit operator bool() const { return handle != nullptr; }
  ssm_safetensors_t *get() const { return handle; }

  size_t size() const { return ssm_safetensors_tensor_count(handle); }

  /// Tensor names in lexicographic order.
  std::vector<std::string> names() const {
    std::vector<std::string> result;
    result.reserve(size());
    for (size_t i = 0, e = size(); i < e; ++i)
      result.emplace_back(ssm_safetensors_tensor_name(handle, i));
    return result;
  }

  bool has(const std::string &name) const {
    DLTensor unused;
    ssm_status_t status = ssm_safetensors_tensor(handle, name.c_str(), &unused);
    if (ssm_status_code(status) == SSM_STATUS_NOT_FOUND) {
      ssm_status_free(status);
      return false;
    }
    check(status);
    return true;
  }

  /// Tensor `name`, pointing into the read-only mapping (possibly unaligned);
  /// throws Error (NOT_FOUND) when absent.
  DLTensor tensor(const std::string &name) const {
    DLTensor result;
    check(ssm_safetensors_tensor(handle, name.c_str(), &result));
    return result;
  }

  std::optional<std::string> metadata(const std::string &key) const {
    const char *value = ssm_safetensors_metadata(handle, key.c_str());
    if (!value)
      return std::nullopt;
    return std::string(value);
  }

private:
  explicit SafetensorsFile(ssm_safetensors_t *handle) : handle(handle) {}

  ssm_safetensors_t *handle = nullptr;
};

/// Writes `tensors` (name, tensor) to a new safetensors file at `path` with
/// `metadata` as __metadata__; throws Error. See ssm_safetensors_write.
inline void
writeSafetensors(const std::string &path,
                 const std::vector<std::pair<std::string, DLTensor>> &tensors,
                 const std::map<std::string, std::string> &metadata = {}) {
  std::vector<const char *> names;
  std::vector<DLTensor> values;
  for (const auto &[name, tensor] : tensors) {
    names.push_back(name.c_str());
    values.push_back(tensor);
  }
  std::vector<const char *> keys, texts;
  for (const auto &[key, text] : metadata) {
    keys.push_back(key.c_str());
    texts.push_back(text.c_str());
  }
  check(ssm_safetensors_write(path.c_str(), names.data(), values.data(),
                              names.size(), keys.data(), texts.data(),
                              keys.size()));
}

/// The bytes of one element of `dtype` (rounded up to whole bytes).
inline size_t elementBytes(DLDataType dtype) {
  return (static_cast<size_t>(dtype.bits) * dtype.lanes + 7) / 8;
}

/// "f32", "bf16", ... or a description of a dtype without a short name.
inline std::string dtypeName(DLDataType dtype) {
  if (const char *name = ssm_dtype_name(dtype))
    return name;
  return "(code " + std::to_string(dtype.code) + ", " +
         std::to_string(dtype.bits) + " bits, " + std::to_string(dtype.lanes) +
         " lanes)";
}

/// A compact row-major CPU tensor that owns its (64-byte aligned, zeroed)
/// buffer; view() describes it as a DLTensor valid while this object lives.
/// Movable, not copyable.
class HostTensor {
public:
  HostTensor() = default;
  HostTensor(DLDataType dtype, std::vector<int64_t> shape)
      : dtype(dtype), dims(std::move(shape)) {
    size_t bytes = elementBytes(dtype);
    for (int64_t size : dims) {
      if (size < 0)
        throw Error(SSM_STATUS_INVALID_ARGUMENT,
                    "ssm::HostTensor: negative dim " + std::to_string(size));
      if (size != 0 && bytes > SIZE_MAX / static_cast<size_t>(size))
        throw Error(SSM_STATUS_INVALID_ARGUMENT,
                    "ssm::HostTensor: shape too large");
      bytes *= static_cast<size_t>(size);
    }
    numBytes = bytes;
    // aligned_alloc wants a multiple of the alignment, and non-zero.
    size_t rounded = (bytes + 63) / 64 * 64;
    void *memory = std::aligned_alloc(64, rounded ? rounded : 64);
    if (!memory)
      throw std::bad_alloc();
    std::memset(memory, 0, rounded ? rounded : 64);
    buffer.reset(static_cast<uint8_t *>(memory));
  }

  /// A copy of `tensor` (a compact CPU tensor; its data may be unaligned).
  static HostTensor copyOf(const DLTensor &tensor) {
    if (tensor.device.device_type != kDLCPU)
      throw Error(SSM_STATUS_INVALID_ARGUMENT,
                  "ssm::HostTensor::copyOf: tensor is not on the CPU");
    std::vector<int64_t> shape(tensor.shape, tensor.shape + tensor.ndim);
    if (tensor.strides) {
      int64_t expected = 1;
      for (int i = tensor.ndim - 1; i >= 0; --i) {
        if (shape[i] != 1 && tensor.strides[i] != expected)
          throw Error(SSM_STATUS_UNIMPLEMENTED,
                      "ssm::HostTensor::copyOf: strided tensors are not "
                      "supported");
        expected *= shape[i];
      }
    }
    HostTensor result(tensor.dtype, std::move(shape));
    if (result.numBytes)
      std::memcpy(result.buffer.get(),
                  static_cast<const uint8_t *>(tensor.data) +
                      tensor.byte_offset,
                  result.numBytes);
    return result;
  }

  explicit operator bool() const { return buffer != nullptr; }
  void *data() { return buffer.get(); }
  const void *data() const { return buffer.get(); }
  size_t bytes() const { return numBytes; }
  const std::vector<int64_t> &shape() const { return dims; }
  DLDataType dataType() const { return dtype; }

  /// Points into this tensor; do not outlive it. Not const: callers write
  /// outputs through it.
  DLTensor view() {
    DLTensor result;
    result.data = buffer.get();
    result.device = DLDevice{kDLCPU, 0};
    result.ndim = static_cast<int32_t>(dims.size());
    result.dtype = dtype;
    result.shape = dims.data();
    result.strides = nullptr;
    result.byte_offset = 0;
    return result;
  }

private:
  struct Free {
    void operator()(uint8_t *memory) const { std::free(memory); }
  };
  DLDataType dtype{kDLFloat, 32, 1};
  std::vector<int64_t> dims;
  size_t numBytes = 0;
  std::unique_ptr<uint8_t, Free> buffer;
};

/// A function's argument or result as the manifest describes it; -1 marks a
/// dynamic dim.
struct TensorSignature {
  std::string name;
  DLDataType dtype{};
  std::vector<int64_t> shape;
};

/// How the compiler computed one op of a function.
struct AlgorithmNote {
  std::string location;
  std::string algorithm;
  /// 0 when the manifest gives none.
  int64_t chunkSize = 0;
};

class Module;

/// One entry point. Holds a reference to its module, so the module stays
/// loaded while any Function lives.
class Function {
public:
  Function() = default;

  explicit operator bool() const { return handle != nullptr; }
  const ssm_function_t *get() const { return handle; }

  std::string name() const { return ssm_function_name(handle); }
  size_t numInputs() const { return ssm_function_input_count(handle); }
  size_t numOutputs() const { return ssm_function_output_count(handle); }

  TensorSignature input(size_t index) const {
    ssm_tensor_signature_t signature;
    check(ssm_function_input_signature(handle, index, &signature));
    return convert(signature);
  }
  TensorSignature output(size_t index) const {
    ssm_tensor_signature_t signature;
    check(ssm_function_output_signature(handle, index, &signature));
    return convert(signature);
  }
  std::vector<TensorSignature> inputs() const {
    std::vector<TensorSignature> result;
    for (size_t i = 0, e = numInputs(); i < e; ++i)
      result.push_back(input(i));
    return result;
  }
  std::vector<TensorSignature> outputs() const {
    std::vector<TensorSignature> result;
    for (size_t i = 0, e = numOutputs(); i < e; ++i)
      result.push_back(output(i));
    return result;
  }

  std::vector<AlgorithmNote> algorithms() const {
    std::vector<AlgorithmNote> result;
    for (size_t i = 0, e = ssm_function_algorithm_count(handle); i < e; ++i) {
      ssm_algorithm_note_t note;
      check(ssm_function_algorithm(handle, i, &note));
      result.push_back({note.location, note.algorithm, note.chunk_size});
    }
    return result;
  }

  /// The shape of output `index` for these inputs; throws Error.
  std::vector<int64_t> outputShape(const std::vector<DLTensor> &inputs,
                                   size_t index) const {
    std::vector<int64_t> shape(output(index).shape.size());
    check(ssm_function_resolve_output_shape(handle, inputs.data(),
                                            inputs.size(), index, shape.size(),
                                            shape.data()));
    return shape;
  }

  /// Zeroed outputs of the right dtypes and shapes for these inputs.
  std::vector<HostTensor>
  allocateOutputs(const std::vector<DLTensor> &inputs) const {
    std::vector<HostTensor> result;
    for (size_t i = 0, e = numOutputs(); i < e; ++i)
      result.emplace_back(output(i).dtype, outputShape(inputs, i));
    return result;
  }

  /// Runs the function, writing into `outputs`; throws Error.
  void invoke(const std::vector<DLTensor> &inputs,
              std::vector<DLTensor> &outputs) const {
    check(ssm_function_invoke(handle, inputs.data(), inputs.size(),
                              outputs.data(), outputs.size()));
  }

private:
  friend class Module;
  Function(ssm_module_t *module, const ssm_function_t *handle)
      : module(share(module)), handle(handle) {}

  // Retains first: should the shared_ptr fail to allocate, its deleter
  // undoes exactly that retain.
  static std::shared_ptr<ssm_module_t> share(ssm_module_t *module) {
    ssm_module_retain(module);
    return std::shared_ptr<ssm_module_t>(module, &ssm_module_release);
  }

  static TensorSignature convert(const ssm_tensor_signature_t &signature) {
    return {signature.name, signature.dtype,
            std::vector<int64_t>(signature.shape,
                                 signature.shape + signature.ndim)};
  }

  std::shared_ptr<ssm_module_t> module;
  const ssm_function_t *handle = nullptr;
};

/// A shared reference to a loaded artifact; copies retain, the destructor
/// releases.
class Module {
public:
  /// An empty handle (operator bool is false).
  Module() = default;

  /// Loads the artifact directory `path` (for its own target's device);
  /// throws Error.
  static Module load(const std::string &path) {
    ssm_module_t *handle = nullptr;
    check(ssm_module_load(path.c_str(), &handle));
    return Module(handle);
  }
  /// Loads it for the device (and CUDA stream) in `options`.
  static Module load(const std::string &path,
                     const ssm_module_options_t &options) {
    ssm_module_t *handle = nullptr;
    check(ssm_module_load_with_options(path.c_str(), &options, &handle));
    return Module(handle);
  }

  Module(const Module &other) : handle(other.handle) {
    ssm_module_retain(handle);
  }
  Module(Module &&other) noexcept
      : handle(std::exchange(other.handle, nullptr)) {}
  Module &operator=(Module other) noexcept {
    std::swap(handle, other.handle);
    return *this;
  }
  ~Module() { ssm_module_release(handle); }

  explicit operator bool() const { return handle != nullptr; }
  ssm_module_t *get() const { return handle; }

  std::string target() const { return ssm_module_target(handle); }
  std::string source() const { return ssm_module_source(handle); }
  DLDevice device() const { return ssm_module_device(handle); }
  bool onHost() const { return device().device_type == kDLCPU; }
  /// Waits for the module's enqueued work; throws Error on a failed kernel.
  void synchronize() const { check(ssm_module_synchronize(handle)); }
  size_t numFunctions() const { return ssm_module_function_count(handle); }
  std::vector<std::string> functionNames() const {
    std::vector<std::string> result;
    for (size_t i = 0, e = numFunctions(); i < e; ++i)
      result.emplace_back(ssm_module_function_name(handle, i));
    return result;
  }

  /// The function at `index`; throws Error.
  Function function(size_t index) const {
    const ssm_function_t *function = nullptr;
    check(ssm_module_function_at(handle, index, &function));
    return Function(handle, function);
  }
  /// The function named `name`; throws Error (NOT_FOUND).
  Function function(const std::string &name) const {
    const ssm_function_t *function = nullptr;
    check(ssm_module_lookup_function(handle, name.c_str(), &function));
    return Function(handle, function);
  }

private:
  explicit Module(ssm_module_t *handle) : handle(handle) {}

  ssm_module_t *handle = nullptr;
};

/// A tensor in memory of a module's device (for a CPU module, host memory),
/// freed with it. Holds a reference to the module.
class DeviceTensor {
public:
  DeviceTensor() = default;
  DeviceTensor(const Module &module, DLDataType dtype,
               std::vector<int64_t> shape)
      : module(module), dtype(dtype), dims(std::move(shape)) {
    numBytes = elementBytes(dtype);
    for (int64_t size : dims) {
      if (size < 0)
        throw Error(SSM_STATUS_INVALID_ARGUMENT,
                    "ssm::DeviceTensor: negative dim " + std::to_string(size));
      if (size != 0 && numBytes > SIZE_MAX / static_cast<size_t>(size))
        throw Error(SSM_STATUS_INVALID_ARGUMENT,
                    "ssm::DeviceTensor: shape too large");
      numBytes *= static_cast<size_t>(size);
    }
    void *memory = nullptr;
    check(ssm_module_allocate(module.get(), numBytes, &memory));
    data.reset(memory, Free{module});
  }
  /// A device copy of the compact host tensor `host`.
  static DeviceTensor copyOf(const Module &module, HostTensor &host) {
    DeviceTensor result(module, host.dataType(), host.shape());
    check(ssm_module_copy_to_device(module.get(), result.data.get(),
                                    host.data(), host.bytes()));
    return result;
  }
  /// The contents, copied back to the host.
  HostTensor toHost() const {
    HostTensor host(dtype, dims);
    check(ssm_module_copy_to_host(module.get(), host.data(), data.get(),
                                  numBytes));
    return host;
  }
  size_t bytes() const { return numBytes; }
  DLTensor view() {
    DLTensor result;
    result.data = data.get();
    result.device = module.device();
    result.ndim = static_cast<int32_t>(dims.size());
    result.dtype = dtype;
    result.shape = dims.data();
    result.strides = nullptr;
    result.byte_offset = 0;
    return result;
  }

private:
  struct Free {
    Module module;
    void operator()(void *memory) const {
      ssm_module_free(module.get(), memory);
    }
  };
  Module module;
  DLDataType dtype{kDLFloat, 32, 1};
  std::vector<int64_t> dims;
  size_t numBytes = 0;
  std::shared_ptr<void> data;
};

/// The number of elements of `tensor` (1 for a scalar).
inline int64_t numElements(const DLTensor &tensor) {
  int64_t count = 1;
  for (int i = 0; i < tensor.ndim; ++i)
    count *= tensor.shape[i];
  return count;
}

namespace detail {
// Copies a compact CPU tensor of F64/F32/F16/BF16 into a vector of T. Reads
// element by element with memcpy because the data may be unaligned.
template <typename T>
std::vector<T> copyFloatingTensor(const DLTensor &tensor, const char *caller) {
  if (tensor.device.device_type != kDLCPU)
    throw Error(SSM_STATUS_INVALID_ARGUMENT,
                std::string(caller) + ": tensor is not on the CPU");
  if (tensor.dtype.lanes != 1)
    throw Error(SSM_STATUS_UNIMPLEMENTED,
                std::string(caller) +
                    ": vector dtypes (lanes > 1) are not supported");
  if (tensor.strides) {
    int64_t expected = 1;
    for (int i = tensor.ndim - 1; i >= 0; --i) {
      if (tensor.shape[i] != 1 && tensor.strides[i] != expected)
        throw Error(SSM_STATUS_UNIMPLEMENTED,
                    std::string(caller) +
                        ": strided tensors are not supported");
      expected *= tensor.shape[i];
    }
  }
  const uint8_t *data =
      static_cast<const uint8_t *>(tensor.data) + tensor.byte_offset;
  size_t count = static_cast<size_t>(numElements(tensor));
  std::vector<T> result(count);
  uint8_t code = tensor.dtype.code;
  uint8_t bits = tensor.dtype.bits;
  if (code == kDLFloat && bits == 32) {
    for (size_t i = 0; i < count; ++i) {
      float value;
      std::memcpy(&value, data + 4 * i, 4);
      result[i] = static_cast<T>(value);
    }
  } else if (code == kDLFloat && bits == 64) {
    for (size_t i = 0; i < count; ++i) {
      double value;
      std::memcpy(&value, data + 8 * i, 8);
      result[i] = static_cast<T>(value);
    }
  } else if ((code == kDLFloat || code == kDLBfloat) && bits == 16) {
    for (size_t i = 0; i < count; ++i) {
      uint16_t value;
      std::memcpy(&value, data + 2 * i, 2);
      result[i] = static_cast<T>(code == kDLFloat ? halfToFloat(value)
                                                  : bfloat16ToFloat(value));
    }
  } else {
    throw Error(SSM_STATUS_UNIMPLEMENTED,
                std::string(caller) + ": dtype (code " + std::to_string(code) +
                    ", " + std::to_string(bits) +
                    " bits) is not a float format this helper converts");
  }
  return result;
}
} // namespace detail

/// Copies an F32/F16/BF16/F64 CPU tensor into floats (F64 is rounded);
/// throws Error for other dtypes, devices or non-compact strides.
inline std::vector<float> toFloatVector(const DLTensor &tensor) {
  return detail::copyFloatingTensor<float>(tensor, "ssm::toFloatVector");
}

/// As toFloatVector, into doubles (every input value is exact).
inline std::vector<double> toDoubleVector(const DLTensor &tensor) {
  return detail::copyFloatingTensor<double>(tensor, "ssm::toDoubleVector");
}

} // namespace ssm

#endif // SSM_RUNTIME_HPP
