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
  SSM_STATUS_UNAVAILABLE = 8,      /* the device or its driver is absent */
  SSM_STATUS_DEVICE_ERROR = 9,     /* the device (driver) reported an error */
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

/* Writes `count` tensors to a new safetensors file at `path`, replacing any
 * file there only once the whole file is written (through a temporary file
 * in the same directory and a rename). names[i] names tensors[i]; names must
 * be non-empty, unique, valid UTF-8 and not "__metadata__". Each tensor must
 * be on kDLCPU with a dtype the format has (F64, F32, F16, BF16, I64..I8,
 * U64..U8; lanes 1), compact row-major (strides NULL or matching), and have
 * non-NULL data unless it has no elements. `metadata_keys`/`metadata_values`
 * (both NULL when `metadata_count` is 0) become `__metadata__`; keys must be
 * unique and, like the values, valid UTF-8. The header is padded to a
 * multiple of 8 bytes and tensors are stored in name order. Codes:
 * INVALID_ARGUMENT for a bad argument (naming the tensor), UNIMPLEMENTED for
 * a dtype the format cannot store, IO_ERROR when the OS refuses. */
ssm_status_t ssm_safetensors_write(const char *path, const char *const *names,
                                   const DLTensor *tensors, size_t count,
                                   const char *const *metadata_keys,
                                   const char *const *metadata_values,
                                   size_t metadata_count);

/*===------------------------------------------------------------------===*
 * dtypes
 *===------------------------------------------------------------------===*/

/* The manifest spelling of `dtype`: "f32", "f64", "f16", "bf16", "i8",
 * "i16", "i32", "i64", "u8", "u16", "u32", "u64"; NULL for anything else
 * (including lanes != 1). The string is static. */
const char *ssm_dtype_name(DLDataType dtype);

/*===------------------------------------------------------------------===*
 * Modules: artifacts produced by ssmc, loaded for the CPU or a CUDA GPU
 *===------------------------------------------------------------------===*/

/* A loaded artifact: its manifest and its code. Reference-counted. */
typedef struct ssm_module_s ssm_module_t;
/* One entry point of a module. Borrowed from its module: valid while the
 * module is alive; never released on its own. */
typedef struct ssm_function_s ssm_function_t;

/* Where a module runs. Initialize with ssm_module_options_initialize. */
typedef struct ssm_module_options_t {
  /* kDLCPU, or kDLCUDA with the device index. The default (device_type 0)
   * is the device of the artifact's target. */
  DLDevice device;
  /* CUDA: the CUstream calls are enqueued on (NULL: the default stream). It
   * must outlive the module and every function that holds it: the module's
   * graphs were launched on it and are freed with the module. */
  void *stream;
} ssm_module_options_t;

void ssm_module_options_initialize(ssm_module_options_t *options);

/* Loads the artifact directory `artifact_dir` that `ssmc -o DIR` wrote:
 * parses DIR/manifest.json strictly (unknown fields are errors) and loads its
 * code for the device `options` names (NULL: the defaults): a CPU artifact's
 * library with dlopen, its entry points checked against the manifest's
 * functions (names and argument counts); a CUDA artifact's cubin through the
 * driver API (libcuda.so.1, opened at run time), on a device of the
 * architecture it was built for. Codes: NOT_FOUND when the manifest or the
 * code file is missing, DATA_LOSS for a malformed manifest, INCOMPATIBLE for
 * a manifest `version`, `abi_version` or library ABI this runtime does not
 * know, a library that does not match its manifest, an artifact of another
 * target than the device asked for, a GPU of another architecture, or a
 * CPU artifact whose manifest `cpu` names features this processor lacks
 * (checked with CPUID before the library is opened; the message names the
 * missing features) or another architecture,
 * UNIMPLEMENTED for an unknown target or device type, UNAVAILABLE when no
 * CUDA driver or device is present, DEVICE_ERROR when the driver fails,
 * IO_ERROR when the OS refuses to read or load a file. */
ssm_status_t ssm_module_load_with_options(const char *artifact_dir,
                                          const ssm_module_options_t *options,
                                          ssm_module_t **out_module);
/* ssm_module_load_with_options with the defaults. */
ssm_status_t ssm_module_load(const char *artifact_dir,
                             ssm_module_t **out_module);
void ssm_module_retain(ssm_module_t *module);
/* Unloads the library once the last reference goes; accepts NULL. */
void ssm_module_release(ssm_module_t *module);

/* The manifest's `target` ("cpu" or "cuda") and `source` ("" when absent). */
const char *ssm_module_target(const ssm_module_t *module);
const char *ssm_module_source(const ssm_module_t *module);

/* The device the module's functions take their tensors on. */
DLDevice ssm_module_device(const ssm_module_t *module);

/* Memory on the module's device (CPU: aligned host memory; CUDA: device
 * memory from cuMemAlloc), for tensors passed to its functions. */
ssm_status_t ssm_module_allocate(const ssm_module_t *module, size_t bytes,
                                 void **out_data);
/* Accepts NULL data. */
void ssm_module_free(const ssm_module_t *module, void *data);
/* Copies between host memory and memory of the module's device, and waits
 * for the copy; on CUDA it is ordered after the work enqueued on the
 * module's stream. */
ssm_status_t ssm_module_copy_to_device(const ssm_module_t *module,
                                       void *device_data, const void *host_data,
                                       size_t bytes);
ssm_status_t ssm_module_copy_to_host(const ssm_module_t *module,
                                     void *host_data, const void *device_data,
                                     size_t bytes);
/* Waits until the work enqueued by the module's calls has finished (CUDA:
 * the stream) and reports, as DEVICE_ERROR, a kernel that failed. A no-op
 * on the CPU, whose calls return when done. */
ssm_status_t ssm_module_synchronize(const ssm_module_t *module);

/* Functions in manifest order. */
size_t ssm_module_function_count(const ssm_module_t *module);
/* NULL when index is out of range. */
const char *ssm_module_function_name(const ssm_module_t *module, size_t index);
/* The function at `index`; INVALID_ARGUMENT when out of range. */
ssm_status_t ssm_module_function_at(const ssm_module_t *module, size_t index,
                                    const ssm_function_t **out_function);
/* The function named `name`; NOT_FOUND (listing the names there are) when
 * the module has none. */
ssm_status_t ssm_module_lookup_function(const ssm_module_t *module,
                                        const char *name,
                                        const ssm_function_t **out_function);

/* What a function takes or returns. Strings and the shape array are owned by
 * the module. shape[d] is -1 for a dynamic dimension. */
typedef struct ssm_tensor_signature_t {
  const char *name;
  DLDataType dtype;
  int32_t ndim;
  const int64_t *shape;
} ssm_tensor_signature_t;

/* How the compiler computed one op of a function (informational, from the
 * manifest's `algorithms`): e.g. location "mixer.mlir:12:8", algorithm
 * "chunked", chunk_size 64 (0 when the manifest gives none). */
typedef struct ssm_algorithm_note_t {
  const char *location;
  const char *algorithm;
  int64_t chunk_size;
} ssm_algorithm_note_t;

const char *ssm_function_name(const ssm_function_t *function);
size_t ssm_function_input_count(const ssm_function_t *function);
size_t ssm_function_output_count(const ssm_function_t *function);
/* INVALID_ARGUMENT when index is out of range. */
ssm_status_t
ssm_function_input_signature(const ssm_function_t *function, size_t index,
                             ssm_tensor_signature_t *out_signature);
ssm_status_t
ssm_function_output_signature(const ssm_function_t *function, size_t index,
                              ssm_tensor_signature_t *out_signature);
/* The input whose buffer output `index` may be passed as, updated in place
 * (a state: the manifest's "aliases"), in *out_input; -1 when none. Passing
 * it so is the caller's choice; any other overlap is refused. */
ssm_status_t ssm_function_output_aliases(const ssm_function_t *function,
                                         size_t index, int64_t *out_input);
size_t ssm_function_algorithm_count(const ssm_function_t *function);
ssm_status_t ssm_function_algorithm(const ssm_function_t *function,
                                    size_t index,
                                    ssm_algorithm_note_t *out_note);

/* Computes the shape of output `output_index` for these inputs: checks the
 * inputs' count, dtypes, ranks, static dims and the dims the function needs
 * equal (as ssm_function_invoke does; data, strides and device are not
 * looked at), then writes the output's rank many sizes to out_shape, which
 * has room for `out_shape_capacity` of them. */
ssm_status_t ssm_function_resolve_output_shape(
    const ssm_function_t *function, const DLTensor *inputs, size_t num_inputs,
    size_t output_index, size_t out_shape_capacity, int64_t *out_shape);

/* Runs `function` on `inputs`, writing its results into the caller's
 * `outputs` buffers (destination-passing: allocate them with the shapes
 * ssm_function_resolve_output_shape gives). Every tensor is checked first:
 * the module's device (kDLCPU, or kDLCUDA memory of the module's GPU, as
 * the driver reports it), the manifest's dtype and rank, static dims equal to
 * the manifest's, dynamic dims consistent (the manifest's equal_dims; each
 * output dim equal to the input dim it derives from), strides NULL or
 * compact row-major (dims of extent 1 may have any stride), data non-NULL
 * (unless the tensor has no elements) and data + byte_offset aligned to the
 * element size, and no output
 * overlapping an input or another output. A violation returns
 * INVALID_ARGUMENT naming the function, the tensor (index and name), what
 * was expected and what was given, and runs nothing. Inputs are only read.
 * Safe to call from several threads at once (with distinct outputs). On the
 * CPU the call returns when done; on CUDA it returns once the kernels are
 * enqueued on the module's stream (ssm_module_synchronize waits). On CUDA
 * the buffers between a function's kernels live in one workspace the
 * module keeps (as large as its largest call so far, freed with the
 * module), and a call repeated with the same tensors (data, offsets and
 * shapes) is launched as a CUDA graph captured the third time it is seen
 * (unless the environment has SSM_CUDA_GRAPHS=0 when the module loads);
 * while the module's stream is being captured, calls launch their kernels
 * into that capture, with their buffers allocated in it. */
ssm_status_t ssm_function_invoke(const ssm_function_t *function,
                                 const DLTensor *inputs, size_t num_inputs,
                                 DLTensor *outputs, size_t num_outputs);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* SSM_RUNTIME_H */
