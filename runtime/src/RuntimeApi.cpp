// The C API for safetensors files (handles, reference counting, the
// C++-to-status boundary) and dtype names.
#include "Safetensors.h"
#include "Status.h"

#include <atomic>

using namespace ssm::runtime;

// The object behind ssm_safetensors_t.
struct ssm_safetensors_s {
  std::atomic<int> referenceCount{1};
  std::unique_ptr<MappedSafetensors> file;
};

extern "C" {

ssm_status_t ssm_safetensors_open(const char *path,
                                  ssm_safetensors_t **out_file) {
  if (!out_file)
    return nullArgument("ssm_safetensors_open", "out_file");
  *out_file = nullptr;
  if (!path)
    return nullArgument("ssm_safetensors_open", "path");
  return guarded(path, [&]() -> ssm_status_t {
    auto handle = std::make_unique<ssm_safetensors_s>();
    if (ssm_status_t status = MappedSafetensors::open(path, handle->file))
      return status;
    *out_file = handle.release();
    return nullptr;
  });
}

void ssm_safetensors_retain(ssm_safetensors_t *file) {
  if (file)
    file->referenceCount.fetch_add(1, std::memory_order_relaxed);
}

void ssm_safetensors_release(ssm_safetensors_t *file) {
  if (file && file->referenceCount.fetch_sub(1, std::memory_order_acq_rel) == 1)
    delete file;
}

size_t ssm_safetensors_tensor_count(const ssm_safetensors_t *file) {
  return file ? file->file->tensors().size() : 0;
}

const char *ssm_safetensors_tensor_name(const ssm_safetensors_t *file,
                                        size_t index) {
  if (!file || index >= file->file->tensors().size())
    return nullptr;
  return file->file->tensors()[index].name.c_str();
}

ssm_status_t ssm_safetensors_tensor(const ssm_safetensors_t *file,
                                    const char *name, DLTensor *out_tensor) {
  if (!file || !name || !out_tensor)
    return nullArgument("ssm_safetensors_tensor", !file   ? "file"
                                                  : !name ? "name"
                                                          : "out_tensor");
  const SafetensorsTensor *tensor = file->file->find(name);
  if (!tensor)
    return makeStatus(SSM_STATUS_NOT_FOUND, "{}: no tensor named '{}'",
                      file->file->path(), name);
  *out_tensor = file->file->toDLTensor(*tensor);
  return nullptr;
}

const char *ssm_dtype_name(DLDataType dtype) {
  if (dtype.lanes != 1)
    return nullptr;
  switch (dtype.code) {
  case kDLFloat:
    return dtype.bits == 32   ? "f32"
           : dtype.bits == 64 ? "f64"
           : dtype.bits == 16 ? "f16"
                              : nullptr;
  case kDLBfloat:
    return dtype.bits == 16 ? "bf16" : nullptr;
  case kDLInt:
    return dtype.bits == 8    ? "i8"
           : dtype.bits == 16 ? "i16"
           : dtype.bits == 32 ? "i32"
           : dtype.bits == 64 ? "i64"
                              : nullptr;
  case kDLUInt:
    return dtype.bits == 8    ? "u8"
           : dtype.bits == 16 ? "u16"
           : dtype.bits == 32 ? "u32"
           : dtype.bits == 64 ? "u64"
                              : nullptr;
  default:
    return nullptr;
  }
}

const char *ssm_safetensors_metadata(const ssm_safetensors_t *file,
                                     const char *key) {
  if (!file || !key)
    return nullptr;
  const std::string *value = file->file->metadata(key);
  return value ? value->c_str() : nullptr;
}

} // extern "C"
