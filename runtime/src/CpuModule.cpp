// Loading CPU artifacts (manifest + dlopen) and calling their entry points
// with MLIR memref descriptors after checking every tensor the caller passes.
#include "CpuModule.h"

#include "Status.h"

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstring>
#include <sstream>

#include <dlfcn.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

ssm_module_s::~ssm_module_s() {
  // libomp, which generated code links, is NODELETE, so its idle worker
  // threads survive the library going away.
  if (library)
    ::dlclose(library);
}

namespace ssm::runtime {

namespace {

// Larger manifests are not something ssmc writes; refuse before reading.
constexpr off_t kMaxManifestBytes = 64 << 20;

ssm_status_t readTextFile(const std::string &path, const char *what,
                          std::string &out) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int error = errno;
    return makeStatusf(
        error == ENOENT ? SSM_STATUS_NOT_FOUND : SSM_STATUS_IO_ERROR,
        "%s: cannot open %s: %s", path.c_str(), what, std::strerror(error));
  }
  struct stat info;
  if (::fstat(fd, &info) != 0 || !S_ISREG(info.st_mode)) {
    ::close(fd);
    return makeStatusf(SSM_STATUS_IO_ERROR, "%s: %s is not a regular file",
                       path.c_str(), what);
  }
  if (info.st_size > kMaxManifestBytes) {
    ::close(fd);
    return makeStatusf(SSM_STATUS_DATA_LOSS,
                       "%s: %s is %lld bytes, more than the limit of %lld",
                       path.c_str(), what, static_cast<long long>(info.st_size),
                       static_cast<long long>(kMaxManifestBytes));
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
      return makeStatusf(SSM_STATUS_IO_ERROR, "%s: cannot read %s: %s",
                         path.c_str(), what, std::strerror(error));
    }
    done += static_cast<size_t>(count);
  }
  ::close(fd);
  out = std::move(text);
  return nullptr;
}

std::string joinNames(const std::vector<std::string> &names) {
  std::string result;
  for (size_t i = 0; i < names.size(); ++i)
    result += (i ? ", '" : "'") + names[i] + "'";
  return result.empty() ? "none" : result;
}

// Matches the library's entry points to the manifest's functions, one to one.
ssm_status_t bindEntryPoints(ssm_module_s &module,
                             const std::string &libraryPath,
                             const ssm_cpu_library_v1_t &table) {
  auto incompatible = [&](const std::string &message) {
    return makeStatus(SSM_STATUS_INCOMPATIBLE, libraryPath + ": " + message);
  };
  if (table.num_entry_points > 0 && !table.entry_points)
    return incompatible("the entry point table lists " +
                        std::to_string(table.num_entry_points) +
                        " entries but its array is NULL");
  std::vector<std::string> libraryNames;
  for (uint32_t i = 0; i < table.num_entry_points; ++i) {
    const ssm_cpu_entry_point_v1_t &entry = table.entry_points[i];
    if (!entry.name || !entry.function)
      return incompatible("entry point " + std::to_string(i) + " has a NULL " +
                          (!entry.name ? "name" : "function"));
    if (std::find(libraryNames.begin(), libraryNames.end(), entry.name) !=
        libraryNames.end())
      return incompatible("entry point '" + std::string(entry.name) +
                          "' appears twice");
    libraryNames.push_back(entry.name);
  }

  module.functions.resize(module.manifest.functions.size());
  std::vector<bool> used(table.num_entry_points, false);
  for (size_t f = 0; f < module.manifest.functions.size(); ++f) {
    const FunctionSpec &spec = module.manifest.functions[f];
    size_t found = libraryNames.size();
    for (size_t i = 0; i < libraryNames.size(); ++i)
      if (libraryNames[i] == spec.name)
        found = i;
    if (found == libraryNames.size())
      return incompatible("has no entry point for manifest function '" +
                          spec.name + "' (it has " + joinNames(libraryNames) +
                          ")");
    const ssm_cpu_entry_point_v1_t &entry = table.entry_points[found];
    if (entry.num_inputs != spec.inputs.size() ||
        entry.num_outputs != spec.outputs.size())
      return incompatible("entry point '" + spec.name + "' takes " +
                          std::to_string(entry.num_inputs) + " inputs and " +
                          std::to_string(entry.num_outputs) +
                          " outputs, but the manifest " + "describes " +
                          std::to_string(spec.inputs.size()) + " and " +
                          std::to_string(spec.outputs.size()));
    used[found] = true;
    module.functions[f].module = &module;
    module.functions[f].spec = &spec;
    module.functions[f].entry = entry.function;
  }
  for (size_t i = 0; i < libraryNames.size(); ++i)
    if (!used[i])
      return incompatible("exports entry point '" + libraryNames[i] +
                          "', which the manifest does not describe");
  return nullptr;
}

//===----------------------------------------------------------------------===//
// Call checks
//===----------------------------------------------------------------------===//

std::string describeDtype(DLDataType dtype) {
  if (const char *name = ssm_dtype_name(dtype))
    return name;
  return "(code " + std::to_string(dtype.code) + ", " +
         std::to_string(dtype.bits) + " bits, " + std::to_string(dtype.lanes) +
         " lanes)";
}

std::string formatShape(const int64_t *shape, int ndim) {
  std::ostringstream out;
  out << '[';
  for (int i = 0; i < ndim; ++i)
    out << (i ? ", " : "") << shape[i];
  out << ']';
  return out.str();
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
    return std::string(isOutput ? "output " : "input ") +
           std::to_string(index) + " ('" + spec.name + "')";
  }

  ssm_status_t fail(const std::string &message) const {
    return makeStatus(SSM_STATUS_INVALID_ARGUMENT,
                      "function '" + function.spec->name + "': " + message);
  }

  ssm_status_t failTensor(bool isOutput, size_t index,
                          const std::string &message) const {
    return fail(tensor(isOutput, index) + ": " + message);
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
  auto fail = [&](const std::string &message) {
    return context.failTensor(isOutput, index, message);
  };
  const int rank = static_cast<int>(spec.shape.size());
  if (tensor.ndim != rank)
    return fail("expected rank " + std::to_string(rank) + " (shape " +
                formatSignatureShape(spec.shape) + "), got rank " +
                std::to_string(tensor.ndim));
  if (rank > 0 && !tensor.shape)
    return fail("shape is NULL for rank " + std::to_string(rank));
  if (!sameDtype(tensor.dtype, spec.dtype))
    return fail("expected dtype " + spec.dtypeName + ", got " +
                describeDtype(tensor.dtype));
  for (int d = 0; d < rank; ++d) {
    int64_t size = tensor.shape[d];
    if (size < 0)
      return fail("dim " + std::to_string(d) + " is " + std::to_string(size) +
                  ", expected a size >= 0 (shape " +
                  formatShape(tensor.shape, rank) + ")");
    if (expected[d] >= 0 && size != expected[d]) {
      std::string where = derivedFrom[d].empty()
                              ? "shape " + formatSignatureShape(spec.shape)
                              : derivedFrom[d];
      return fail("dim " + std::to_string(d) + " is " + std::to_string(size) +
                  ", expected " + std::to_string(expected[d]) + " (" + where +
                  "); got shape " + formatShape(tensor.shape, rank));
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
ssm_status_t checkMemory(const CallContext &context, bool isOutput,
                         size_t index, const DLTensor &tensor) {
  auto fail = [&](const std::string &message) {
    return context.failTensor(isOutput, index, message);
  };
  if (tensor.device.device_type != kDLCPU)
    return fail("expected a kDLCPU tensor, got device type " +
                std::to_string(tensor.device.device_type));
  uint64_t bytes = 0;
  if (!byteSize(tensor, bytes))
    return fail("shape " + formatShape(tensor.shape, tensor.ndim) +
                " holds more than 2^63 bytes");
  // Empty tensors are often exported with NULL data; nothing reads it.
  if (!tensor.data && bytes > 0)
    return fail("data is NULL");
  uint64_t itemBytes = (tensor.dtype.bits + 7u) / 8u;
  uintptr_t address =
      reinterpret_cast<uintptr_t>(tensor.data) + tensor.byte_offset;
  if (itemBytes > 1 && address % itemBytes != 0)
    return fail("data + byte_offset is not aligned to " +
                std::to_string(itemBytes) + " bytes (the element size)");
  if (tensor.strides) {
    int64_t expected = 1;
    for (int d = tensor.ndim - 1; d >= 0; --d) {
      if (tensor.shape[d] != 1 && tensor.strides[d] != expected)
        return fail("strides " + formatShape(tensor.strides, tensor.ndim) +
                    " are not compact row-major for shape " +
                    formatShape(tensor.shape, tensor.ndim) + " (dim " +
                    std::to_string(d) + " needs stride " +
                    std::to_string(expected) +
                    "); pass a contiguous copy or NULL strides");
      expected *= tensor.shape[d];
    }
  }
  return nullptr;
}

ssm_status_t checkCounts(const CallContext &context, const char *what,
                         size_t expected, const void *array, size_t given) {
  if (given != expected)
    return context.fail("takes " + std::to_string(expected) + " " + what +
                        (expected == 1 ? "" : "s") + ", got " +
                        std::to_string(given));
  if (given > 0 && !array)
    return context.fail(std::string(what) + "s is NULL");
  return nullptr;
}

// Row-major strides of a compact tensor of `shape`.
void compactStrides(const int64_t *shape, int ndim, int64_t *strides) {
  int64_t stride = 1;
  for (int d = ndim - 1; d >= 0; --d) {
    strides[d] = stride;
    stride *= shape[d];
  }
}

} // namespace

//===----------------------------------------------------------------------===//
// Loading
//===----------------------------------------------------------------------===//

ssm_status_t loadCpuModule(const std::string &directory,
                           std::unique_ptr<ssm_module_s> &out) {
  struct stat info;
  if (::stat(directory.c_str(), &info) != 0) {
    int error = errno;
    return makeStatusf(error == ENOENT ? SSM_STATUS_NOT_FOUND
                                       : SSM_STATUS_IO_ERROR,
                       "%s: cannot open the artifact directory: %s",
                       directory.c_str(), std::strerror(error));
  }
  if (!S_ISDIR(info.st_mode))
    return makeStatusf(SSM_STATUS_INVALID_ARGUMENT,
                       "%s: not a directory; expected an artifact directory "
                       "(ssmc -o DIR)",
                       directory.c_str());

  auto module = std::make_unique<ssm_module_s>();
  module->directory = directory;
  std::string manifestPath = directory + "/manifest.json";
  std::string text;
  if (ssm_status_t status = readTextFile(manifestPath, "the manifest", text))
    return status;
  if (ssm_status_t status = parseManifest(text, manifestPath, module->manifest))
    return status;

  std::string libraryPath = directory + "/" + module->manifest.library;
  if (::stat(libraryPath.c_str(), &info) != 0) {
    int error = errno;
    return makeStatusf(error == ENOENT ? SSM_STATUS_NOT_FOUND
                                       : SSM_STATUS_IO_ERROR,
                       "%s: cannot open the library the manifest names: %s",
                       libraryPath.c_str(), std::strerror(error));
  }
  if (!S_ISREG(info.st_mode))
    return makeStatusf(SSM_STATUS_IO_ERROR, "%s: not a regular file",
                       libraryPath.c_str());
  // dlopen's message for a file that is not a library is obscure; say so.
  {
    int fd = ::open(libraryPath.c_str(), O_RDONLY | O_CLOEXEC);
    char magic[4] = {0, 0, 0, 0};
    ssize_t count = fd >= 0 ? ::read(fd, magic, sizeof(magic)) : -1;
    if (fd >= 0)
      ::close(fd);
    if (count != 4 || std::memcmp(magic,
                                  "\x7f"
                                  "ELF",
                                  4) != 0)
      return makeStatusf(SSM_STATUS_DATA_LOSS,
                         "%s: not an ELF shared library (corrupt artifact?)",
                         libraryPath.c_str());
  }

  // RTLD_LOCAL: two artifacts' symbols never interpose on each other.
  module->library = ::dlopen(libraryPath.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!module->library) {
    const char *error = ::dlerror();
    return makeStatusf(SSM_STATUS_IO_ERROR, "%s: cannot load: %s",
                       libraryPath.c_str(), error ? error : "unknown error");
  }
  ::dlerror();
  void *symbol = ::dlsym(module->library, SSM_CPU_LIBRARY_QUERY_SYMBOL);
  if (!symbol)
    return makeStatusf(SSM_STATUS_INCOMPATIBLE,
                       "%s: does not export %s; not an ssmc CPU library",
                       libraryPath.c_str(), SSM_CPU_LIBRARY_QUERY_SYMBOL);
  auto query = reinterpret_cast<ssm_cpu_library_query_fn_t>(symbol);
  const ssm_cpu_library_v1_t *table = query(SSM_CPU_LIBRARY_ABI_VERSION);
  if (!table)
    return makeStatusf(SSM_STATUS_INCOMPATIBLE,
                       "%s: offers no entry point table of ABI version <= %u "
                       "(this runtime's); recompile it with a matching ssmc",
                       libraryPath.c_str(), SSM_CPU_LIBRARY_ABI_VERSION);
  if (table->abi_version != SSM_CPU_LIBRARY_ABI_VERSION)
    return makeStatusf(SSM_STATUS_INCOMPATIBLE,
                       "%s: returned an entry point table of ABI version %u; "
                       "this runtime knows version %u",
                       libraryPath.c_str(), table->abi_version,
                       SSM_CPU_LIBRARY_ABI_VERSION);
  if (ssm_status_t status = bindEntryPoints(*module, libraryPath, *table))
    return status;
  out = std::move(module);
  return nullptr;
}

//===----------------------------------------------------------------------===//
// Calls
//===----------------------------------------------------------------------===//

ssm_status_t checkInputs(const ssm_function_s &function, const DLTensor *inputs,
                         size_t numInputs, bool checkMemoryToo) {
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
    if (checkMemoryToo)
      if (ssm_status_t status = checkMemory(context, false, i, inputs[i]))
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
            context.tensor(false, member.input) + " dim " +
            std::to_string(member.dim) + " is " + std::to_string(other) +
            ", but " + context.tensor(false, first.input) + " dim " +
            std::to_string(first.dim) + " is " + std::to_string(size) +
            "; the function needs them equal");
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

ssm_status_t invokeFunction(const ssm_function_s &function,
                            const DLTensor *inputs, size_t numInputs,
                            DLTensor *outputs, size_t numOutputs) {
  if (ssm_status_t status = checkInputs(function, inputs, numInputs, true))
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
        derivedFrom[d] = "the size of " +
                         context.tensor(false, tensorSpec.dimsFrom[d]->input) +
                         " dim " + std::to_string(tensorSpec.dimsFrom[d]->dim);
    if (ssm_status_t status = checkSignature(context, true, o, tensorSpec,
                                             outputs[o], expected, derivedFrom))
      return status;
    if (ssm_status_t status = checkMemory(context, true, o, outputs[o]))
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
    for (const Range &other : ranges) {
      if (&other == &output || (other.isOutput && other.index >= output.index))
        continue;
      if (output.begin < other.end && other.begin < output.end)
        return context.fail(
            context.tensor(true, output.index) + " overlaps " +
            context.tensor(other.isOutput, other.index) +
            "; outputs must not share memory with inputs or other outputs");
    }
  }

  // One descriptor per tensor: {allocated, aligned, offset, sizes[r],
  // strides[r]}, all 8-byte words on the 64-bit hosts we support.
  static_assert(sizeof(void *) == sizeof(int64_t),
                "memref descriptors are built from 64-bit words");
  size_t numWords = 0;
  for (size_t i = 0; i < numInputs; ++i)
    numWords += 3 + 2 * static_cast<size_t>(inputs[i].ndim);
  for (size_t o = 0; o < numOutputs; ++o)
    numWords += 3 + 2 * static_cast<size_t>(outputs[o].ndim);
  std::vector<int64_t> words(numWords, 0);
  std::vector<void *> descriptors;
  descriptors.reserve(numInputs + numOutputs);
  size_t next = 0;
  auto addDescriptor = [&](const DLTensor &tensor) {
    int64_t *descriptor = words.data() + next;
    void *data = static_cast<uint8_t *>(tensor.data) + tensor.byte_offset;
    std::memcpy(&descriptor[0], &data, sizeof(data));
    std::memcpy(&descriptor[1], &data, sizeof(data));
    descriptor[2] = 0;
    for (int d = 0; d < tensor.ndim; ++d)
      descriptor[3 + d] = tensor.shape[d];
    compactStrides(tensor.shape, tensor.ndim, descriptor + 3 + tensor.ndim);
    descriptors.push_back(descriptor);
    next += 3 + 2 * static_cast<size_t>(tensor.ndim);
  };
  for (size_t i = 0; i < numInputs; ++i)
    addDescriptor(inputs[i]);
  for (size_t o = 0; o < numOutputs; ++o)
    addDescriptor(outputs[o]);
  function.entry(descriptors.data());
  return nullptr;
}

} // namespace ssm::runtime

//===----------------------------------------------------------------------===//
// C API
//===----------------------------------------------------------------------===//

using namespace ssm::runtime;

namespace {
// Runs `body` so that no exception crosses the C boundary.
template <typename Body>
ssm_status_t guarded(const char *where, Body &&body) noexcept {
  try {
    return body();
  } catch (const std::bad_alloc &) {
    return outOfMemoryStatus();
  } catch (const std::exception &error) {
    return makeStatusf(SSM_STATUS_INTERNAL, "%s: %s", where, error.what());
  } catch (...) {
    return makeStatusf(SSM_STATUS_INTERNAL, "%s: unknown exception", where);
  }
}

ssm_status_t nullArgument(const char *function, const char *argument) {
  return makeStatusf(SSM_STATUS_INVALID_ARGUMENT, "%s: %s is NULL", function,
                     argument);
}

void fillSignature(const TensorSpec &spec, ssm_tensor_signature_t *out) {
  out->name = spec.name.c_str();
  out->dtype = spec.dtype;
  out->ndim = static_cast<int32_t>(spec.shape.size());
  out->shape = spec.shape.data();
}
} // namespace

extern "C" {

ssm_status_t ssm_module_load(const char *artifact_dir,
                             ssm_module_t **out_module) {
  if (!out_module)
    return nullArgument("ssm_module_load", "out_module");
  *out_module = nullptr;
  if (!artifact_dir)
    return nullArgument("ssm_module_load", "artifact_dir");
  return guarded(artifact_dir, [&]() -> ssm_status_t {
    std::unique_ptr<ssm_module_s> module;
    if (ssm_status_t status = loadCpuModule(artifact_dir, module))
      return status;
    *out_module = module.release();
    return nullptr;
  });
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
    return makeStatusf(SSM_STATUS_INVALID_ARGUMENT,
                       "%s: function index %zu is out of range (the module "
                       "has %zu functions)",
                       module->directory.c_str(), index,
                       module->functions.size());
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
                      module->directory + ": no function named '" + name +
                          "' (the artifact has " + joinNames(names) + ")");
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
    return makeStatusf(SSM_STATUS_INVALID_ARGUMENT,
                       "function '%s': %s index %zu is out of range (it has "
                       "%zu)",
                       function->spec->name.c_str(),
                       isOutput ? "output" : "input", index, list.size());
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
    return makeStatusf(SSM_STATUS_INVALID_ARGUMENT,
                       "function '%s': algorithm index %zu is out of range "
                       "(it has %zu)",
                       function->spec->name.c_str(), index, notes.size());
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
      return makeStatusf(SSM_STATUS_INVALID_ARGUMENT,
                         "function '%s': output index %zu is out of range (it "
                         "has %zu)",
                         spec.name.c_str(), output_index, spec.outputs.size());
    size_t rank = spec.outputs[output_index].shape.size();
    if (out_shape_capacity < rank)
      return makeStatusf(SSM_STATUS_INVALID_ARGUMENT,
                         "function '%s': output %zu ('%s') has rank %zu, but "
                         "out_shape has room for %zu",
                         spec.name.c_str(), output_index,
                         spec.outputs[output_index].name.c_str(), rank,
                         out_shape_capacity);
    if (rank > 0 && !out_shape)
      return nullArgument("ssm_function_resolve_output_shape", "out_shape");
    if (ssm_status_t status = checkInputs(*function, inputs, num_inputs, false))
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
    return invokeFunction(*function, inputs, num_inputs, outputs, num_outputs);
  });
}

} // extern "C"
