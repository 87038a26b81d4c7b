/* ssm runtime: a small C API that loads what ssmc produced and runs it.
 *
 * Conventions: opaque handles with explicit retain/release; every fallible
 * call returns an ssm_status_t (NULL means success, otherwise it carries a
 * code and a message and must be freed with ssm_status_free); outputs come
 * last and are prefixed out_. Tensors cross the API as DLPack DLTensor.
 * No C++ types, exceptions, LLVM or MLIR cross this boundary. */
#ifndef SSM_RUNTIME_H
#define SSM_RUNTIME_H

#include <stddef.h>
#include <stdint.h>

#include <dlpack/dlpack.h>

#ifdef __cplusplus
extern "C" {
#endif

/*===------------------------------------------------------------------===*
 * Status
 *===------------------------------------------------------------------===*/

typedef enum ssm_status_code_e {
  SSM_STATUS_OK = 0,
  SSM_STATUS_INVALID_ARGUMENT = 1, /* the caller passed something malformed */
  SSM_STATUS_NOT_FOUND = 2,        /* a named file, tensor or entry is absent */
  SSM_STATUS_IO_ERROR = 3,         /* the OS refused to open/read/map */
  SSM_STATUS_DATA_LOSS = 4,        /* a file is corrupt or truncated */
  SSM_STATUS_UNIMPLEMENTED = 5,    /* valid but not supported (e.g. a dtype) */
  SSM_STATUS_INCOMPATIBLE = 6,     /* an artifact ABI version we do not know */
  SSM_STATUS_INTERNAL = 7,
} ssm_status_code_t;

/* NULL is the OK status. */
typedef struct ssm_status_s *ssm_status_t;

/* Returns SSM_STATUS_OK for NULL. */
ssm_status_code_t ssm_status_code(ssm_status_t status);
/* Returns "" for NULL; valid until the status is freed. */
const char *ssm_status_message(ssm_status_t status);
/* Accepts NULL. */
void ssm_status_free(ssm_status_t status);
/* A short name for a code, e.g. "DATA_LOSS". */
const char *ssm_status_code_name(ssm_status_code_t code);

/*===------------------------------------------------------------------===*
 * safetensors files (read-only, memory-mapped, strictly validated)
 *===------------------------------------------------------------------===*/

typedef struct ssm_safetensors_s ssm_safetensors_t;

/* Maps `path` and validates the whole header: header length inside the file,
 * JSON syntax, every entry's dtype/shape/data_offsets, offsets inside the data
 * section, no overlaps. Any violation is an error naming the file (and the
 * tensor); nothing is read outside the file. Codes: NOT_FOUND when `path`
 * does not exist, IO_ERROR when it cannot be opened or mapped, DATA_LOSS when
 * it is malformed, UNIMPLEMENTED for a valid dtype without a DLPack code here
 * (BOOL, F8_*). */
ssm_status_t ssm_safetensors_open(const char *path,
                                  ssm_safetensors_t **out_file);
void ssm_safetensors_retain(ssm_safetensors_t *file);
void ssm_safetensors_release(ssm_safetensors_t *file);

size_t ssm_safetensors_tensor_count(const ssm_safetensors_t *file);
/* Tensor names in lexicographic order; NULL when index is out of range. */
const char *ssm_safetensors_tensor_name(const ssm_safetensors_t *file,
                                        size_t index);
/* Describes tensor `name` as a DLTensor on kDLCPU whose data points into the
 * read-only mapping (byte_offset 0, strides NULL = row-major). The format
 * does not align data, so `data` may be unaligned (copy with memcpy, not
 * through a typed pointer) and must not be written. The shape array is owned
 * by the file; all of it stays valid while `file` is alive.
 * SSM_STATUS_NOT_FOUND when there is no such tensor. */
ssm_status_t ssm_safetensors_tensor(const ssm_safetensors_t *file,
                                    const char *name, DLTensor *out_tensor);
/* The string value of `__metadata__[key]`, or NULL when absent. */
const char *ssm_safetensors_metadata(const ssm_safetensors_t *file,
                                     const char *key);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* SSM_RUNTIME_H */
