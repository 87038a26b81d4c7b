// Header-only C++17 RAII wrapper over the ssm runtime C API, plus tensor copy
// helpers.
#ifndef SSM_RUNTIME_HPP
#define SSM_RUNTIME_HPP

#include "ssm/runtime.h"
#include "ssm/runtime_dtype.hpp"

#include <cstdint>
#include <cstring>
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
