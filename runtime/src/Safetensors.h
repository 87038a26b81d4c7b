// A read-only, memory-mapped, strictly validated safetensors file (the C++ core
// behind ssm_safetensors_*).
#ifndef SSM_RUNTIME_SRC_SAFETENSORS_H
#define SSM_RUNTIME_SRC_SAFETENSORS_H

#include "ssm/runtime.h"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ssm::runtime {

/// One tensor entry of a safetensors header, already validated.
struct SafetensorsTensor {
  std::string name;
  /// The safetensors spelling, e.g. "BF16".
  std::string dtypeName;
  DLDataType dtype;
  std::vector<int64_t> shape;
  /// Byte range relative to the start of the data section.
  uint64_t begin = 0;
  uint64_t end = 0;
};

/// The safetensors spelling of `dtype` ("F32", "BF16", ...) and, through
/// `itemBytes` when not null, its size; nullptr for a dtype the format (or
/// this runtime) has no name for.
const char *safetensorsDtypeName(DLDataType dtype, uint64_t *itemBytes);

/// A file mapped with PROT_READ; unmapped on destruction.
class MappedFile {
public:
  MappedFile() = default;
  ~MappedFile();
  MappedFile(const MappedFile &) = delete;
  MappedFile &operator=(const MappedFile &) = delete;

  /// Maps all of `path`. An empty file yields an empty mapping (mmap rejects
  /// length 0). NOT_FOUND when the file does not exist, IO_ERROR when the OS
  /// refuses to open or map it.
  static ssm_status_t open(const std::string &path,
                           std::unique_ptr<MappedFile> &out);

  const uint8_t *data() const { return bytes; }
  size_t size() const { return length; }

private:
  const uint8_t *bytes = nullptr;
  size_t length = 0;
};

/// A safetensors file whose header has been fully checked, so that every
/// tensor it describes lies inside the mapping.
class MappedSafetensors {
public:
  /// Maps and validates `path`; every error message starts with the path.
  static ssm_status_t open(const std::string &path,
                           std::unique_ptr<MappedSafetensors> &out);

  const std::string &path() const { return filePath; }
  /// Sorted by name (byte-wise).
  const std::vector<SafetensorsTensor> &tensors() const { return entries; }
  /// nullptr when there is no tensor `name`.
  const SafetensorsTensor *find(std::string_view name) const;
  /// The value of `__metadata__[key]`, or nullptr when absent.
  const std::string *metadata(std::string_view key) const;
  /// The first byte of `tensor`'s data inside the mapping. Not necessarily
  /// aligned: the format does not align the data section or the tensors.
  const uint8_t *data(const SafetensorsTensor &tensor) const;
  /// Describes `tensor` as a DLTensor pointing into the mapping.
  DLTensor toDLTensor(const SafetensorsTensor &tensor) const;

private:
  std::string filePath;
  std::unique_ptr<MappedFile> mapping;
  const uint8_t *dataSection = nullptr;
  std::vector<SafetensorsTensor> entries;
  /// Sorted by key.
  std::vector<std::pair<std::string, std::string>> metadataEntries;
};

} // namespace ssm::runtime

#endif // SSM_RUNTIME_SRC_SAFETENSORS_H
