// Loading artifacts (the manifest, then the code for the requested device)
// and the C API of modules and functions.
#include "CpuModule.h"
#include "CudaModule.h"
#include "Invocation.h"
#include "Module.h"
#include "Status.h"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace ssm::runtime {

namespace {

// Larger manifests are not something ssmc writes; refuse before reading.
constexpr off_t kMaxManifestBytes = 64 << 20;

ssm_status_t readTextFile(const std::string &path, const char *what,
                          std::string &out) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int error = errno;
    return makeStatus(
        error == ENOENT ? SSM_STATUS_NOT_FOUND : SSM_STATUS_IO_ERROR,
        "{}: cannot open {}: {}", path, what, std::strerror(error));
  }
  struct stat info;
  if (::fstat(fd, &info) != 0 || !S_ISREG(info.st_mode)) {
    ::close(fd);
    return makeStatus(SSM_STATUS_IO_ERROR, "{}: {} is not a regular file", path,
                      what);
  }
  if (info.st_size > kMaxManifestBytes) {
    ::close(fd);
    return makeStatus(SSM_STATUS_DATA_LOSS,
                      "{}: {} is {} bytes, more than the limit of {}", path,
                      what, info.st_size, kMaxManifestBytes);
  }
  std::string text(static_cast<size_t>(info.st_size), '\0');
  size_t done = 0;
  while (done < text.size()) {
    ssize_t count = ::read(fd, text.data() + done, text.size() - done);
    if (count < 0 && errno == EINTR)
      continue;
    if (count <= 0) {
      int error = count < 0 ? errno : EIO;
      ::close(fd);
      return makeStatus(SSM_STATUS_IO_ERROR, "{}: cannot read {}: {}", path,
                        what, std::strerror(error));
    }
    done += static_cast<size_t>(count);
  }
  ::close(fd);
  out = std::move(text);
  return nullptr;
}

const char *targetOfDevice(DLDeviceType type) {
  switch (type) {
  case kDLCPU:
    return "cpu";
  case kDLCUDA:
    return "cuda";
  default:
    return nullptr;
  }
}

} // namespace

ssm_status_t loadModule(const std::string &directory,
                        const ssm_module_options_t &options,
                        std::unique_ptr<ssm_module_s> &out) {
  struct stat info;
  if (::stat(directory.c_str(), &info) != 0) {
    int error = errno;
    return makeStatus(error == ENOENT ? SSM_STATUS_NOT_FOUND
                                      : SSM_STATUS_IO_ERROR,
                      "{}: cannot open the artifact directory: {}", directory,
                      std::strerror(error));
  }
  if (!S_ISDIR(info.st_mode))
    return makeStatus(SSM_STATUS_INVALID_ARGUMENT,
                      "{}: not a directory; expected an artifact directory "
                      "(ssmc -o DIR)",
                      directory);

  auto module = std::make_unique<ssm_module_s>();
  module->directory = directory;
  std::string manifestPath = directory + "/manifest.json";
  std::string text;
  if (ssm_status_t status = readTextFile(manifestPath, "the manifest", text))
    return status;
  if (ssm_status_t status = parseManifest(text, manifestPath, module->manifest))
    return status;
  const Manifest &manifest = module->manifest;

  DLDevice device = options.device;
  if (device.device_type == 0)
    device = {manifest.target == "cuda" ? kDLCUDA : kDLCPU, 0};
  const char *wanted = targetOfDevice(device.device_type);
  if (!wanted)
    return makeStatus(SSM_STATUS_UNIMPLEMENTED,
                      "{}: this runtime runs artifacts on kDLCPU and kDLCUDA, "
                      "not device type {}",
                      directory, static_cast<int>(device.device_type));
  if (manifest.target != wanted)
    return makeStatus(SSM_STATUS_INCOMPATIBLE,
                      "{}: the artifact was compiled for target '{}', but "
                      "the {} device was asked for; compile it with ssmc "
                      "--target={}",
                      directory, manifest.target, wanted, wanted);
  if (manifest.target == "cuda") {
    if (ssm_status_t status =
            loadCudaCode(directory, manifest, device, options.stream, module->code))
      return status;
  } else if (ssm_status_t status =
                 loadCpuCode(directory, manifest, module->code)) {
    return status;
  }
  module->functions.resize(manifest.functions.size());
  for (size_t f = 0; f < manifest.functions.size(); ++f) {
    module->functions[f].module = module.get();
    module->functions[f].spec = &manifest.functions[f];
    module->functions[f].index = f;
  }
  out = std::move(module);
  return nullptr;
}

} // namespace ssm::runtime

//===----------------------------------------------------------------------===//
// C API
//===----------------------------------------------------------------------===//

using namespace ssm::runtime;

namespace {

void fillSignature(const TensorSpec &spec, ssm_tensor_signature_t *out) {
  out->name = spec.name.c_str();
  out->dtype = spec.dtype;
  out->ndim = static_cast<int32_t>(spec.shape.size());
  out->shape = spec.shape.data();
}
} // namespace

extern "C" {

void ssm_module_options_initialize(ssm_module_options_t *options) {
  if (!options)
    return;
  options->device.device_type = static_cast<DLDeviceType>(0);
  options->device.device_id = 0;
  options->stream = nullptr;
}

ssm_status_t ssm_module_load_with_options(const char *artifact_dir,
                                          const ssm_module_options_t *options,
                                          ssm_module_t **out_module) {
  if (!out_module)
    return nullArgument("ssm_module_load_with_options", "out_module");
  *out_module = nullptr;
  if (!artifact_dir)
    return nullArgument("ssm_module_load_with_options", "artifact_dir");
  ssm_module_options_t defaults;
  ssm_module_options_initialize(&defaults);
  if (!options)
    options = &defaults;
  return guarded(artifact_dir, [&]() -> ssm_status_t {
    std::unique_ptr<ssm_module_s> module;
    if (ssm_status_t status = loadModule(artifact_dir, *options, module))
      return status;
    *out_module = module.release();
    return nullptr;
  });
}

ssm_status_t ssm_module_load(const char *artifact_dir,
                             ssm_module_t **out_module) {
  return ssm_module_load_with_options(artifact_dir, nullptr, out_module);
}

DLDevice ssm_module_device(const ssm_module_t *module) {
  if (!module)
    return {kDLCPU, 0};
  return module->code->device();
}

ssm_status_t ssm_module_allocate(const ssm_module_t *module, size_t bytes,
                                 void **out_data) {
  if (!out_data)
    return nullArgument("ssm_module_allocate", "out_data");
  *out_data = nullptr;
  if (!module)
    return nullArgument("ssm_module_allocate", "module");
  return guarded("ssm_module_allocate", [&]() -> ssm_status_t {
    return module->code->allocate(bytes, out_data);
  });
}

void ssm_module_free(const ssm_module_t *module, void *data) {
  if (module && data)
    module->code->release(data);
}

ssm_status_t ssm_module_copy_to_device(const ssm_module_t *module,
                                       void *device_data, const void *host_data,
                                       size_t bytes) {
  if (!module)
    return nullArgument("ssm_module_copy_to_device", "module");
  if (bytes > 0 && (!device_data || !host_data))
    return nullArgument("ssm_module_copy_to_device",
                        device_data ? "host_data" : "device_data");
  return guarded("ssm_module_copy_to_device", [&]() -> ssm_status_t {
    return module->code->copyToDevice(device_data, host_data, bytes);
  });
}

ssm_status_t ssm_module_copy_to_host(const ssm_module_t *module,
                                     void *host_data, const void *device_data,
                                     size_t bytes) {
  if (!module)
    return nullArgument("ssm_module_copy_to_host", "module");
  if (bytes > 0 && (!device_data || !host_data))
    return nullArgument("ssm_module_copy_to_host",
                        device_data ? "host_data" : "device_data");
  return guarded("ssm_module_copy_to_host", [&]() -> ssm_status_t {
    return module->code->copyToHost(host_data, device_data, bytes);
  });
}

ssm_status_t ssm_module_synchronize(const ssm_module_t *module) {
  if (!module)
    return nullArgument("ssm_module_synchronize", "module");
  return guarded("ssm_module_synchronize",
                 [&]() -> ssm_status_t { return module->code->synchronize(); });
}

void ssm_module_retain(ssm_module_t *module) {
  if (module)
    module->referenceCount.fetch_add(1, std::memory_order_relaxed);
}

void ssm_module_release(ssm_module_t *module) {
  if (module &&
      module->referenceCount.fetch_sub(1, std::memory_order_acq_rel) == 1)
    delete module;
}

const char *ssm_module_target(const ssm_module_t *module) {
  return module ? module->manifest.target.c_str() : "";
}

const char *ssm_module_source(const ssm_module_t *module) {
  return module ? module->manifest.source.c_str() : "";
}

size_t ssm_module_function_count(const ssm_module_t *module) {
  return module ? module->functions.size() : 0;
}

const char *ssm_module_function_name(const ssm_module_t *module, size_t index) {
  if (!module || index >= module->functions.size())
    return nullptr;
  return module->functions[index].spec->name.c_str();
}

ssm_status_t ssm_module_function_at(const ssm_module_t *module, size_t index,
                                    const ssm_function_t **out_function) {
  if (!out_function)
    return nullArgument("ssm_module_function_at", "out_function");
  *out_function = nullptr;
  if (!module)
    return nullArgument("ssm_module_function_at", "module");
  if (index >= module->functions.size())
    return makeStatus(SSM_STATUS_INVALID_ARGUMENT,
                      "{}: function index {} is out of range (the module "
                      "has {} functions)",
                      module->directory, index, module->functions.size());
  *out_function = &module->functions[index];
  return nullptr;
}

ssm_status_t ssm_module_lookup_function(const ssm_module_t *module,
                                        const char *name,
                                        const ssm_function_t **out_function) {
  if (!out_function)
    return nullArgument("ssm_module_lookup_function", "out_function");
  *out_function = nullptr;
  if (!module)
    return nullArgument("ssm_module_lookup_function", "module");
  if (!name)
    return nullArgument("ssm_module_lookup_function", "name");
  return guarded("ssm_module_lookup_function", [&]() -> ssm_status_t {
    std::vector<std::string> names;
    for (const ssm_function_s &function : module->functions) {
      if (function.spec->name == name) {
        *out_function = &function;
        return nullptr;
      }
      names.push_back(function.spec->name);
    }
    return makeStatus(SSM_STATUS_NOT_FOUND,
                      "{}: no function named '{}' (the artifact has {})",
                      module->directory, name, formatNames(names));
  });
}

const char *ssm_function_name(const ssm_function_t *function) {
  return function ? function->spec->name.c_str() : "";
}

size_t ssm_function_input_count(const ssm_function_t *function) {
  return function ? function->spec->inputs.size() : 0;
}

size_t ssm_function_output_count(const ssm_function_t *function) {
  return function ? function->spec->outputs.size() : 0;
}

/// INVALID_ARGUMENT: `what` index `index` of `function` is past its `count`.
static ssm_status_t indexOutOfRange(const ssm_function_t *function,
                                    const char *what, size_t index,
                                    size_t count) {
  return makeStatus(SSM_STATUS_INVALID_ARGUMENT,
                    "function '{}': {} index {} is out of range (it has {})",
                    function->spec->name, what, index, count);
}

static ssm_status_t signatureAt(const char *api, const ssm_function_t *function,
                                bool isOutput, size_t index,
                                ssm_tensor_signature_t *out_signature) {
  if (!out_signature)
    return nullArgument(api, "out_signature");
  if (!function)
    return nullArgument(api, "function");
  const std::vector<TensorSpec> &list =
      isOutput ? function->spec->outputs : function->spec->inputs;
  if (index >= list.size())
    return indexOutOfRange(function, isOutput ? "output" : "input", index,
                           list.size());
  fillSignature(list[index], out_signature);
  return nullptr;
}

ssm_status_t
ssm_function_input_signature(const ssm_function_t *function, size_t index,
                             ssm_tensor_signature_t *out_signature) {
  return signatureAt("ssm_function_input_signature", function, false, index,
                     out_signature);
}

ssm_status_t
ssm_function_output_signature(const ssm_function_t *function, size_t index,
                              ssm_tensor_signature_t *out_signature) {
  return signatureAt("ssm_function_output_signature", function, true, index,
                     out_signature);
}

ssm_status_t ssm_function_output_aliases(const ssm_function_t *function,
                                         size_t index, int64_t *out_input) {
  if (!out_input)
    return nullArgument("ssm_function_output_aliases", "out_input");
  if (!function)
    return nullArgument("ssm_function_output_aliases", "function");
  const std::vector<TensorSpec> &outputs = function->spec->outputs;
  if (index >= outputs.size())
    return indexOutOfRange(function, "output", index, outputs.size());
  *out_input = outputs[index].aliases
                   ? static_cast<int64_t>(*outputs[index].aliases)
                   : -1;
  return nullptr;
}

size_t ssm_function_algorithm_count(const ssm_function_t *function) {
  return function ? function->spec->algorithms.size() : 0;
}

ssm_status_t ssm_function_algorithm(const ssm_function_t *function,
                                    size_t index,
                                    ssm_algorithm_note_t *out_note) {
  if (!out_note)
    return nullArgument("ssm_function_algorithm", "out_note");
  if (!function)
    return nullArgument("ssm_function_algorithm", "function");
  const std::vector<AlgorithmNote> &notes = function->spec->algorithms;
  if (index >= notes.size())
    return indexOutOfRange(function, "algorithm", index, notes.size());
  out_note->location = notes[index].location.c_str();
  out_note->algorithm = notes[index].algorithm.c_str();
  out_note->chunk_size = notes[index].chunkSize;
  return nullptr;
}

ssm_status_t ssm_function_resolve_output_shape(
    const ssm_function_t *function, const DLTensor *inputs, size_t num_inputs,
    size_t output_index, size_t out_shape_capacity, int64_t *out_shape) {
  if (!function)
    return nullArgument("ssm_function_resolve_output_shape", "function");
  return guarded("ssm_function_resolve_output_shape", [&]() -> ssm_status_t {
    const FunctionSpec &spec = *function->spec;
    if (output_index >= spec.outputs.size())
      return makeStatus(SSM_STATUS_INVALID_ARGUMENT,
                        "function '{}': output index {} is out of range (it "
                        "has {})",
                        spec.name, output_index, spec.outputs.size());
    size_t rank = spec.outputs[output_index].shape.size();
    if (out_shape_capacity < rank)
      return makeStatus(SSM_STATUS_INVALID_ARGUMENT,
                        "function '{}': output {} ('{}') has rank {}, but "
                        "out_shape has room for {}",
                        spec.name, output_index,
                        spec.outputs[output_index].name, rank,
                        out_shape_capacity);
    if (rank > 0 && !out_shape)
      return nullArgument("ssm_function_resolve_output_shape", "out_shape");
    if (ssm_status_t status =
            checkInputs(*function, inputs, num_inputs, nullptr))
      return status;
    std::vector<int64_t> shape =
        resolveOutputShape(*function, inputs, output_index);
    std::copy(shape.begin(), shape.end(), out_shape);
    return nullptr;
  });
}

ssm_status_t ssm_function_invoke(const ssm_function_t *function,
                                 const DLTensor *inputs, size_t num_inputs,
                                 DLTensor *outputs, size_t num_outputs) {
  if (!function)
    return nullArgument("ssm_function_invoke", "function");
  return guarded("ssm_function_invoke", [&]() -> ssm_status_t {
    DeviceCode &code = *function->module->code;
    if (ssm_status_t status = checkCall(*function, inputs, num_inputs, outputs,
                                        num_outputs, code))
      return status;
    return code.invoke(*function, inputs, outputs);
  });
}

} // extern "C"
