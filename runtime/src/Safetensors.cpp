// Memory mapping and strict header validation of safetensors files.
#include "Safetensors.h"

#include "Json.h"
#include "Status.h"

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

// Tensor bytes are handed out as they are stored, and safetensors stores
// little-endian.
#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the ssm runtime assumes a little-endian host"
#endif

namespace ssm::runtime {

//===----------------------------------------------------------------------===//
// MappedFile
//===----------------------------------------------------------------------===//

MappedFile::~MappedFile() {
  if (length != 0)
    ::munmap(const_cast<uint8_t *>(bytes), length);
}

ssm_status_t MappedFile::open(const std::string &path,
                              std::unique_ptr<MappedFile> &out) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int error = errno;
    return makeStatus(error == ENOENT ? SSM_STATUS_NOT_FOUND
                                      : SSM_STATUS_IO_ERROR,
                      "{}: cannot open: {}", path, std::strerror(error));
  }
  struct stat info;
  if (::fstat(fd, &info) != 0) {
    int error = errno;
    ::close(fd);
    return makeStatus(SSM_STATUS_IO_ERROR, "{}: cannot stat: {}", path,
                      std::strerror(error));
  }
  if (!S_ISREG(info.st_mode)) {
    ::close(fd);
    return makeStatus(SSM_STATUS_IO_ERROR, "{}: not a regular file", path);
  }
  if (static_cast<unsigned long long>(info.st_size) > SIZE_MAX) {
    ::close(fd);
    return makeStatus(SSM_STATUS_IO_ERROR,
                      "{}: file too large to map in this address space", path);
  }
  auto result = std::make_unique<MappedFile>();
  result->length = static_cast<size_t>(info.st_size);
  if (result->length != 0) {
    void *address =
        ::mmap(nullptr, result->length, PROT_READ, MAP_PRIVATE, fd, 0);
    if (address == MAP_FAILED) {
      int error = errno;
      result->length = 0;
      ::close(fd);
      return makeStatus(SSM_STATUS_IO_ERROR, "{}: cannot map: {}", path,
                        std::strerror(error));
    }
    result->bytes = static_cast<const uint8_t *>(address);
  }
  // The mapping keeps the file alive; the descriptor is no longer needed.
  ::close(fd);
  out = std::move(result);
  return nullptr;
}

//===----------------------------------------------------------------------===//
// Header validation
//===----------------------------------------------------------------------===//

namespace {

// The reference implementation's limit; guards against absurd allocations.
constexpr uint64_t kMaxHeaderBytes = 100000000;

struct DtypeInfo {
  const char *name;
  DLDataType dtype;
  uint64_t itemBytes;
};

const DtypeInfo kSupportedDtypes[] = {
    {"F64", {kDLFloat, 64, 1}, 8}, {"F32", {kDLFloat, 32, 1}, 4},
    {"F16", {kDLFloat, 16, 1}, 2}, {"BF16", {kDLBfloat, 16, 1}, 2},
    {"I64", {kDLInt, 64, 1}, 8},   {"I32", {kDLInt, 32, 1}, 4},
    {"I16", {kDLInt, 16, 1}, 2},   {"I8", {kDLInt, 8, 1}, 1},
    {"U64", {kDLUInt, 64, 1}, 8},  {"U32", {kDLUInt, 32, 1}, 4},
    {"U16", {kDLUInt, 16, 1}, 2},  {"U8", {kDLUInt, 8, 1}, 1},
};

// Valid safetensors dtypes without a DLPack code in the DLPack we build
// against (kDLBool and the float8 codes arrived in later DLPack versions).
const char *const kUnsupportedDtypes[] = {
    "BOOL", "F8_E4M3", "F8_E5M2", "F8_E8M0", "F6_E2M3", "F6_E3M2", "F4", "C64"};

const DtypeInfo *findDtype(const std::string &name) {
  for (const DtypeInfo &info : kSupportedDtypes)
    if (name == info.name)
      return &info;
  return nullptr;
}

bool isKnownUnsupportedDtype(const std::string &name) {
  for (const char *known : kUnsupportedDtypes)
    if (name == known)
      return true;
  return false;
}

using json::describe;

/// DATA_LOSS: `prefix` (the file, perhaps the tensor) and the message.
template <typename... Args>
ssm_status_t corrupt(const std::string &prefix,
                     fmt::format_string<Args...> format, Args &&...args) {
  return makeStatus(SSM_STATUS_DATA_LOSS, "{}{}", prefix,
                    fmt::format(format, std::forward<Args>(args)...));
}

std::string formatRange(uint64_t begin, uint64_t end) {
  return fmt::format("[{}, {}]", begin, end);
}

// Validates one tensor entry of the header. `prefix` is "<path>: tensor
// '<name>': " and starts every message.
ssm_status_t parseTensorEntry(const std::string &prefix,
                              const std::string &name, const json::Value &entry,
                              uint64_t dataSize, SafetensorsTensor &out) {
  if (!entry.isObject())
    return corrupt(
        prefix,
        "entry is {}, expected an object with dtype, shape and data_offsets",
        describe(entry));
  for (const json::Member &member : entry.getObject())
    if (member.key != "dtype" && member.key != "shape" &&
        member.key != "data_offsets")
      return corrupt(prefix, "unexpected key '{}'", member.key);
  const json::Value *dtype = entry.find("dtype");
  const json::Value *shape = entry.find("shape");
  const json::Value *offsets = entry.find("data_offsets");
  if (!dtype)
    return corrupt(prefix, "missing 'dtype'");
  if (!shape)
    return corrupt(prefix, "missing 'shape'");
  if (!offsets)
    return corrupt(prefix, "missing 'data_offsets'");

  if (!dtype->isString())
    return corrupt(prefix, "dtype is {}, expected a string", describe(*dtype));
  const std::string &dtypeName = dtype->getString();
  const DtypeInfo *dtypeInfo = findDtype(dtypeName);
  if (!dtypeInfo) {
    if (isKnownUnsupportedDtype(dtypeName))
      return makeStatus(SSM_STATUS_UNIMPLEMENTED, "{}dtype {} is not supported",
                        prefix, dtypeName);
    return corrupt(prefix, "unknown dtype \"{}\"", dtypeName);
  }

  if (!shape->isArray())
    return corrupt(prefix, "shape is {}, expected an array", describe(*shape));
  const json::Array &dims = shape->getArray();
  if (dims.size() > static_cast<size_t>(INT_MAX))
    return corrupt(prefix, "shape has too many dimensions");
  std::vector<int64_t> shapeValues;
  shapeValues.reserve(dims.size());
  for (size_t i = 0; i < dims.size(); ++i) {
    std::optional<int64_t> dim;
    if (dims[i].isNumber())
      dim = dims[i].getInt64();
    if (!dim || *dim < 0)
      return corrupt(prefix, "shape[{}] is {}, expected a non-negative integer",
                     i, describe(dims[i]));
    shapeValues.push_back(*dim);
  }
  // numel * itemBytes must fit in 64 bits (and numel in int64 for DLPack).
  uint64_t numBytes = dtypeInfo->itemBytes;
  uint64_t numElements = 1;
  for (int64_t dim : shapeValues) {
    uint64_t extent = static_cast<uint64_t>(dim);
    if (extent != 0 && numBytes > UINT64_MAX / extent)
      return corrupt(prefix, "shape {} x {} overflows 64 bits",
                     formatShape(shapeValues), dtypeName);
    numBytes *= extent;
    numElements *= extent;
  }
  if (numElements > static_cast<uint64_t>(INT64_MAX))
    return corrupt(prefix, "shape {} has more than 2^63 elements",
                   formatShape(shapeValues));

  if (!offsets->isArray() || offsets->getArray().size() != 2)
    return corrupt(prefix, "data_offsets is {}, expected an array [begin, end]",
                   describe(*offsets));
  std::optional<uint64_t> bounds[2];
  for (int i = 0; i < 2; ++i) {
    const json::Value &bound = offsets->getArray()[i];
    if (bound.isNumber())
      bounds[i] = bound.getUInt64();
    if (!bounds[i])
      return corrupt(prefix,
                     "data_offsets[{}] is {}, expected a non-negative integer",
                     i, describe(bound));
  }
  uint64_t begin = *bounds[0], end = *bounds[1];
  if (begin > end)
    return corrupt(prefix, "data_offsets {} begin after they end",
                   formatRange(begin, end));
  if (end > dataSize)
    return corrupt(prefix,
                   "data_offsets {} run past the end of the data section ({} "
                   "bytes)",
                   formatRange(begin, end), dataSize);
  if (end - begin != numBytes)
    return corrupt(prefix,
                   "data_offsets {} hold {} bytes but shape {} x {} "
                   "needs {}",
                   formatRange(begin, end), end - begin,
                   formatShape(shapeValues), dtypeName, numBytes);

  out.name = name;
  out.dtypeName = dtypeName;
  out.dtype = dtypeInfo->dtype;
  out.shape = std::move(shapeValues);
  out.begin = begin;
  out.end = end;
  return nullptr;
}

} // namespace

const char *safetensorsDtypeName(DLDataType dtype, uint64_t *itemBytes) {
  for (const DtypeInfo &info : kSupportedDtypes)
    if (info.dtype.code == dtype.code && info.dtype.bits == dtype.bits &&
        info.dtype.lanes == dtype.lanes) {
      if (itemBytes)
        *itemBytes = info.itemBytes;
      return info.name;
    }
  return nullptr;
}

//===----------------------------------------------------------------------===//
// MappedSafetensors
//===----------------------------------------------------------------------===//

ssm_status_t MappedSafetensors::open(const std::string &path,
                                     std::unique_ptr<MappedSafetensors> &out) {
  std::unique_ptr<MappedFile> mapping;
  if (ssm_status_t status = MappedFile::open(path, mapping))
    return status;
  const std::string prefix = path + ": ";

  const uint64_t fileSize = mapping->size();
  if (fileSize == 0)
    return corrupt(prefix, "file is empty, expected an 8-byte header length");
  if (fileSize < 8)
    return corrupt(prefix,
                   "file is {} bytes, too short for the 8-byte header length",
                   fileSize);
  uint64_t headerSize = 0;
  for (int i = 7; i >= 0; --i)
    headerSize = (headerSize << 8) | mapping->data()[i];
  if (headerSize > fileSize - 8)
    return corrupt(prefix,
                   "header length {} runs past the end of the file ({} bytes)",
                   headerSize, fileSize);
  if (headerSize > kMaxHeaderBytes)
    return corrupt(prefix, "header length {} exceeds the limit of {} bytes",
                   headerSize, kMaxHeaderBytes);
  const uint64_t dataSize = fileSize - 8 - headerSize;

  std::string_view headerText(
      reinterpret_cast<const char *>(mapping->data() + 8),
      static_cast<size_t>(headerSize));
  json::ParseError parseError;
  std::optional<json::Value> header = json::parse(headerText, parseError);
  if (!header)
    return corrupt(prefix, "header is not valid JSON: {} of the header",
                   parseError.toString());
  if (!header->isObject())
    return corrupt(prefix, "header is {}, expected an object",
                   describe(*header));

  auto result = std::make_unique<MappedSafetensors>();
  for (const json::Member &member : header->getObject()) {
    // Names and values reach C callers as NUL-terminated strings.
    if (member.key.find('\0') != std::string::npos)
      return makeStatus(SSM_STATUS_UNIMPLEMENTED,
                        "{}: a header key contains a NUL character", path);
    if (member.key == "__metadata__") {
      if (!member.value.isObject())
        return corrupt(prefix, "__metadata__ is {}, expected an object",
                       describe(member.value));
      for (const json::Member &item : member.value.getObject()) {
        if (!item.value.isString())
          return corrupt(prefix, "__metadata__['{}'] is {}, expected a string",
                         item.key, describe(item.value));
        if (item.key.find('\0') != std::string::npos ||
            item.value.getString().find('\0') != std::string::npos)
          return makeStatus(SSM_STATUS_UNIMPLEMENTED,
                            "{}: __metadata__ contains a NUL character", path);
        result->metadataEntries.emplace_back(item.key, item.value.getString());
      }
      continue;
    }
    SafetensorsTensor tensor;
    if (ssm_status_t status =
            parseTensorEntry(fmt::format("{}: tensor '{}': ", path, member.key),
                             member.key, member.value, dataSize, tensor))
      return status;
    result->entries.push_back(std::move(tensor));
  }

  // Sorted by begin, a range overlaps an earlier one exactly when it starts
  // before the furthest end seen so far. Empty ranges hold no bytes.
  std::vector<const SafetensorsTensor *> byOffset;
  for (const SafetensorsTensor &tensor : result->entries)
    if (tensor.begin != tensor.end)
      byOffset.push_back(&tensor);
  std::sort(byOffset.begin(), byOffset.end(),
            [](const SafetensorsTensor *a, const SafetensorsTensor *b) {
              return a->begin != b->begin ? a->begin < b->begin
                                          : a->name < b->name;
            });
  const SafetensorsTensor *furthest = nullptr;
  for (const SafetensorsTensor *tensor : byOffset) {
    if (furthest && tensor->begin < furthest->end)
      return corrupt(prefix,
                     "tensors '{}' (data_offsets {}) and '{}' (data_offsets "
                     "{}) overlap",
                     furthest->name,
                     formatRange(furthest->begin, furthest->end), tensor->name,
                     formatRange(tensor->begin, tensor->end));
    if (!furthest || tensor->end > furthest->end)
      furthest = tensor;
  }

  std::sort(result->entries.begin(), result->entries.end(),
            [](const SafetensorsTensor &a, const SafetensorsTensor &b) {
              return a.name < b.name;
            });
  std::sort(result->metadataEntries.begin(), result->metadataEntries.end());
  result->filePath = path;
  result->dataSection = mapping->data() + 8 + headerSize;
  result->mapping = std::move(mapping);
  out = std::move(result);
  return nullptr;
}

const SafetensorsTensor *MappedSafetensors::find(std::string_view name) const {
  auto it =
      std::lower_bound(entries.begin(), entries.end(), name,
                       [](const SafetensorsTensor &tensor,
                          std::string_view key) { return tensor.name < key; });
  if (it == entries.end() || it->name != name)
    return nullptr;
  return &*it;
}

const std::string *MappedSafetensors::metadata(std::string_view key) const {
  auto it = std::lower_bound(
      metadataEntries.begin(), metadataEntries.end(), key,
      [](const std::pair<std::string, std::string> &entry,
         std::string_view wanted) { return entry.first < wanted; });
  if (it == metadataEntries.end() || it->first != key)
    return nullptr;
  return &it->second;
}

const uint8_t *MappedSafetensors::data(const SafetensorsTensor &tensor) const {
  return dataSection + tensor.begin;
}

DLTensor MappedSafetensors::toDLTensor(const SafetensorsTensor &tensor) const {
  DLTensor result;
  // DLTensor has no const; the mapping is read-only and writes fault.
  result.data = const_cast<uint8_t *>(data(tensor));
  result.device = DLDevice{kDLCPU, 0};
  result.ndim = static_cast<int>(tensor.shape.size());
  result.dtype = tensor.dtype;
  result.shape = const_cast<int64_t *>(tensor.shape.data());
  result.strides = nullptr;
  result.byte_offset = 0;
  return result;
}

} // namespace ssm::runtime
