// The CPU loader: an artifact's library opened with dlopen and checked
// against its manifest, and calls into it with MLIR memref descriptors.
#include "CpuModule.h"

#include "CpuFeatures.h"
#include "Status.h"

#include "ssm/cpu_library_abi.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include <dlfcn.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace ssm::runtime {

namespace {

// Matches the library's entry points to the manifest's functions, one to one.
ssm_status_t bindEntryPoints(const Manifest &manifest,
                             const std::string &libraryPath,
                             const ssm_cpu_library_v1_t &table,
                             std::vector<ssm_cpu_function_t> &entries) {
  if (table.num_entry_points > 0 && !table.entry_points)
    return makeStatus(SSM_STATUS_INCOMPATIBLE,
                      "{}: the entry point table lists {} entries but its "
                      "array is NULL",
                      libraryPath, table.num_entry_points);
  std::vector<std::string> libraryNames;
  for (uint32_t i = 0; i < table.num_entry_points; ++i) {
    const ssm_cpu_entry_point_v1_t &entry = table.entry_points[i];
    if (!entry.name || !entry.function)
      return makeStatus(SSM_STATUS_INCOMPATIBLE,
                        "{}: entry point {} has a NULL {}", libraryPath, i,
                        !entry.name ? "name" : "function");
    if (std::find(libraryNames.begin(), libraryNames.end(), entry.name) !=
        libraryNames.end())
      return makeStatus(SSM_STATUS_INCOMPATIBLE,
                        "{}: entry point '{}' appears twice", libraryPath,
                        entry.name);
    libraryNames.push_back(entry.name);
  }

  entries.resize(manifest.functions.size());
  std::vector<bool> used(table.num_entry_points, false);
  for (size_t f = 0; f < manifest.functions.size(); ++f) {
    const FunctionSpec &spec = manifest.functions[f];
    size_t found = libraryNames.size();
    for (size_t i = 0; i < libraryNames.size(); ++i)
      if (libraryNames[i] == spec.name)
        found = i;
    if (found == libraryNames.size())
      return makeStatus(SSM_STATUS_INCOMPATIBLE,
                        "{}: has no entry point for manifest function '{}' "
                        "(it has {})",
                        libraryPath, spec.name, formatNames(libraryNames));
    const ssm_cpu_entry_point_v1_t &entry = table.entry_points[found];
    if (entry.num_inputs != spec.inputs.size() ||
        entry.num_outputs != spec.outputs.size())
      return makeStatus(SSM_STATUS_INCOMPATIBLE,
                        "{}: entry point '{}' takes {} inputs and {} outputs, "
                        "but the manifest describes {} and {}",
                        libraryPath, spec.name, entry.num_inputs,
                        entry.num_outputs, spec.inputs.size(),
                        spec.outputs.size());
    used[found] = true;
    entries[f] = entry.function;
  }
  for (size_t i = 0; i < libraryNames.size(); ++i)
    if (!used[i])
      return makeStatus(SSM_STATUS_INCOMPATIBLE,
                        "{}: exports entry point '{}', which the manifest "
                        "does not describe",
                        libraryPath, libraryNames[i]);
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

class CpuCode final : public DeviceCode {
public:
  ~CpuCode() override {
    // libomp, which generated code links, is NODELETE, so its idle worker
    // threads survive the library going away.
    if (library)
      ::dlclose(library);
  }
  DLDevice device() const override { return {kDLCPU, 0}; }
  ssm_status_t invoke(const ssm_function_s &function, const DLTensor *inputs,
                      DLTensor *outputs) override;
  ssm_status_t allocate(size_t bytes, void **out) override {
    // 64-byte alignment: what generated vector code prefers.
    *out = std::aligned_alloc(64, (std::max<size_t>(bytes, 1) + 63) / 64 * 64);
    if (!*out)
      return outOfMemoryStatus();
    return nullptr;
  }
  void release(void *data) override { std::free(data); }
  ssm_status_t copyToDevice(void *device, const void *host,
                            size_t bytes) override {
    if (bytes)
      std::memcpy(device, host, bytes);
    return nullptr;
  }
  ssm_status_t copyToHost(void *host, const void *device,
                          size_t bytes) override {
    if (bytes)
      std::memcpy(host, device, bytes);
    return nullptr;
  }
  ssm_status_t synchronize() override { return nullptr; }
  std::string whyNotOnDevice(const void *, size_t) const override { return ""; }

  void *library = nullptr;
  /// One per manifest function.
  std::vector<ssm_cpu_function_t> entries;
};

ssm_status_t CpuCode::invoke(const ssm_function_s &function,
                             const DLTensor *inputs, DLTensor *outputs) {
  const size_t numInputs = function.spec->inputs.size(),
               numOutputs = function.spec->outputs.size();
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
  entries[function.index](descriptors.data());
  return nullptr;
}

} // namespace

ssm_status_t loadCpuCode(const std::string &directory, const Manifest &manifest,
                         std::unique_ptr<DeviceCode> &out) {
  // Before dlopen: code for another processor must be refused, not run into
  // an illegal instruction.
  if (ssm_status_t status = checkCpuRequirement(manifest.cpu, directory))
    return status;
  struct stat info;
  std::string libraryPath = directory + "/" + manifest.library;
  if (::stat(libraryPath.c_str(), &info) != 0) {
    int error = errno;
    return makeStatus(error == ENOENT ? SSM_STATUS_NOT_FOUND
                                      : SSM_STATUS_IO_ERROR,
                      "{}: cannot open the library the manifest names: {}",
                      libraryPath, std::strerror(error));
  }
  if (!S_ISREG(info.st_mode))
    return makeStatus(SSM_STATUS_IO_ERROR, "{}: not a regular file",
                      libraryPath);
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
      return makeStatus(SSM_STATUS_DATA_LOSS,
                        "{}: not an ELF shared library (corrupt artifact?)",
                        libraryPath);
  }

  auto code = std::make_unique<CpuCode>();
  // RTLD_LOCAL: two artifacts' symbols never interpose on each other.
  code->library = ::dlopen(libraryPath.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!code->library) {
    const char *error = ::dlerror();
    return makeStatus(SSM_STATUS_IO_ERROR, "{}: cannot load: {}", libraryPath,
                      error ? error : "unknown error");
  }
  ::dlerror();
  void *symbol = ::dlsym(code->library, SSM_CPU_LIBRARY_QUERY_SYMBOL);
  if (!symbol)
    return makeStatus(SSM_STATUS_INCOMPATIBLE,
                      "{}: does not export {}; not an ssmc CPU library",
                      libraryPath, SSM_CPU_LIBRARY_QUERY_SYMBOL);
  auto query = reinterpret_cast<ssm_cpu_library_query_fn_t>(symbol);
  const ssm_cpu_library_v1_t *table = query(SSM_CPU_LIBRARY_ABI_VERSION);
  if (!table)
    return makeStatus(SSM_STATUS_INCOMPATIBLE,
                      "{}: offers no entry point table of ABI version <= {} "
                      "(this runtime's); recompile it with a matching ssmc",
                      libraryPath, SSM_CPU_LIBRARY_ABI_VERSION);
  if (table->abi_version != SSM_CPU_LIBRARY_ABI_VERSION)
    return makeStatus(SSM_STATUS_INCOMPATIBLE,
                      "{}: returned an entry point table of ABI version {}; "
                      "this runtime knows version {}",
                      libraryPath, table->abi_version,
                      SSM_CPU_LIBRARY_ABI_VERSION);
  if (ssm_status_t status =
          bindEntryPoints(manifest, libraryPath, *table, code->entries))
    return status;
  out = std::move(code);
  return nullptr;
}


} // namespace ssm::runtime
