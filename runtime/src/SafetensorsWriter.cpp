// Writing safetensors files (ssm_safetensors_write): every argument checked,
// and the file replaced atomically so that readers never see half of it.
#include "Json.h"
#include "Safetensors.h"
#include "Status.h"

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <set>
#include <string>
#include <vector>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace ssm::runtime;

namespace {

// The header must parse with our own strict reader, which validates UTF-8.
bool isValidJsonString(const std::string &text) {
  json::ParseError error;
  return json::parse(json::quote(text), error).has_value();
}

/// INVALID_ARGUMENT: `where` (the file, perhaps the tensor), then the message.
template <typename... Args>
ssm_status_t invalid(const std::string &where,
                     fmt::format_string<Args...> format, Args &&...args) {
  return makeStatus(SSM_STATUS_INVALID_ARGUMENT, "{}: {}", where,
                    fmt::format(format, std::forward<Args>(args)...));
}

struct Entry {
  std::string name;
  const char *dtypeName = nullptr;
  std::vector<int64_t> shape;
  const uint8_t *data = nullptr;
  uint64_t bytes = 0;
};

ssm_status_t checkTensor(const std::string &path, size_t index,
                         const char *name, const DLTensor &tensor, Entry &out) {
  std::string where = fmt::format("{}: tensor {}", path, index);
  if (!name)
    return invalid(where, "name is NULL");
  where += fmt::format(" ('{}')", name);
  out.name = name;
  if (out.name.empty())
    return invalid(where, "the name is empty");
  if (out.name == "__metadata__")
    return invalid(where, "the name is reserved for the metadata");
  if (!isValidJsonString(out.name))
    return invalid(where, "the name is not valid UTF-8");
  if (tensor.device.device_type != kDLCPU)
    return invalid(where, "expected a kDLCPU tensor, got device type {}",
                   static_cast<int>(tensor.device.device_type));
  uint64_t itemBytes = 0;
  out.dtypeName = safetensorsDtypeName(tensor.dtype, &itemBytes);
  if (!out.dtypeName)
    return makeStatus(SSM_STATUS_UNIMPLEMENTED,
                      "{}: dtype (code {}, {} bits, {} lanes) has no "
                      "safetensors spelling",
                      where, tensor.dtype.code, tensor.dtype.bits,
                      tensor.dtype.lanes);
  if (tensor.ndim < 0)
    return invalid(where, "ndim is {}", tensor.ndim);
  if (tensor.ndim > 0 && !tensor.shape)
    return invalid(where, "shape is NULL");
  uint64_t bytes = itemBytes;
  for (int d = 0; d < tensor.ndim; ++d) {
    int64_t size = tensor.shape[d];
    if (size < 0)
      return invalid(where, "dim {} is {}", d, size);
    uint64_t extent = static_cast<uint64_t>(size);
    if (extent != 0 && bytes > static_cast<uint64_t>(INT64_MAX) / extent)
      return invalid(where, "the shape holds more than 2^63 bytes");
    bytes *= extent;
    out.shape.push_back(size);
  }
  if (tensor.strides) {
    int64_t expected = 1;
    for (int d = tensor.ndim - 1; d >= 0; --d) {
      if (tensor.shape[d] != 1 && tensor.strides[d] != expected)
        return invalid(where,
                       "strides are not compact row-major (dim {} has stride "
                       "{}, expected {})",
                       d, tensor.strides[d], expected);
      expected *= tensor.shape[d];
    }
  }
  if (bytes > 0 && !tensor.data)
    return invalid(where, "data is NULL");
  out.data =
      bytes > 0 ? static_cast<const uint8_t *>(tensor.data) + tensor.byte_offset
                : nullptr;
  out.bytes = bytes;
  return nullptr;
}

bool writeAll(int fd, const void *data, uint64_t size) {
  const uint8_t *bytes = static_cast<const uint8_t *>(data);
  while (size > 0) {
    // Some kernels cap one write at about 2 GiB.
    size_t chunk = static_cast<size_t>(std::min<uint64_t>(size, 1u << 30));
    ssize_t written = ::write(fd, bytes, chunk);
    if (written < 0 && errno == EINTR)
      continue;
    if (written <= 0)
      return false;
    bytes += written;
    size -= static_cast<uint64_t>(written);
  }
  return true;
}

ssm_status_t writeFile(const std::string &path, const std::string &header,
                       const std::vector<Entry> &entries) {
  std::string temporary = path + ".tmp-XXXXXX";
  int fd = ::mkstemp(temporary.data());
  if (fd < 0) {
    int error = errno;
    return makeStatus(SSM_STATUS_IO_ERROR, "{}: cannot create: {}", path,
                      std::strerror(error));
  }
  // mkstemp creates the file private (0600); a data file is readable.
  ::fchmod(fd, 0644);
  std::string prefix(8, '\0');
  uint64_t headerSize = header.size();
  for (int i = 0; i < 8; ++i)
    prefix[i] = static_cast<char>((headerSize >> (8 * i)) & 0xFF);
  bool ok = writeAll(fd, prefix.data(), prefix.size()) &&
            writeAll(fd, header.data(), header.size());
  for (const Entry &entry : entries)
    ok = ok && writeAll(fd, entry.data, entry.bytes);
  int error = ok ? 0 : errno;
  if (::close(fd) != 0 && ok) {
    ok = false;
    error = errno;
  }
  if (ok && ::rename(temporary.c_str(), path.c_str()) != 0) {
    ok = false;
    error = errno;
  }
  if (!ok) {
    ::unlink(temporary.c_str());
    return makeStatus(SSM_STATUS_IO_ERROR, "{}: cannot write: {}", path,
                      std::strerror(error ? error : EIO));
  }
  return nullptr;
}

} // namespace

extern "C" {

ssm_status_t ssm_safetensors_write(const char *path, const char *const *names,
                                   const DLTensor *tensors, size_t count,
                                   const char *const *metadata_keys,
                                   const char *const *metadata_values,
                                   size_t metadata_count) {
  if (!path)
    return nullArgument("ssm_safetensors_write", "path");
  return guarded(path, [&]() -> ssm_status_t {
    std::string file = path;
    if (count > 0 && (!names || !tensors))
      return invalid(file, "{} is NULL but count is {}",
                     !names ? "names" : "tensors", count);
    if (metadata_count > 0 && (!metadata_keys || !metadata_values))
      return invalid(file, "{} is NULL but metadata_count is {}",
                     !metadata_keys ? "metadata_keys" : "metadata_values",
                     metadata_count);

    std::vector<Entry> entries(count);
    std::set<std::string> seen;
    for (size_t i = 0; i < count; ++i) {
      if (ssm_status_t status =
              checkTensor(file, i, names[i], tensors[i], entries[i]))
        return status;
      if (!seen.insert(entries[i].name).second)
        return invalid(file, "tensor {} ('{}'): the name is used twice", i,
                       entries[i].name);
    }
    std::vector<std::pair<std::string, std::string>> metadata;
    std::set<std::string> seenKeys;
    for (size_t i = 0; i < metadata_count; ++i) {
      if (!metadata_keys[i] || !metadata_values[i])
        return invalid(file, "metadata entry {}: {} is NULL", i,
                       !metadata_keys[i] ? "key" : "value");
      std::string key = metadata_keys[i], value = metadata_values[i];
      if (!isValidJsonString(key) || !isValidJsonString(value))
        return invalid(file, "metadata entry {} ('{}'): not valid UTF-8", i,
                       key);
      if (!seenKeys.insert(key).second)
        return invalid(file, "metadata entry {}: the key '{}' is used twice", i,
                       key);
      metadata.emplace_back(std::move(key), std::move(value));
    }

    // Readers find tensors by name; storing them in name order keeps files
    // reproducible whatever order the caller passed.
    std::sort(entries.begin(), entries.end(),
              [](const Entry &a, const Entry &b) { return a.name < b.name; });
    std::sort(metadata.begin(), metadata.end());
    std::string header = "{";
    auto out = std::back_inserter(header);
    if (!metadata.empty()) {
      header += "\"__metadata__\":{";
      for (size_t i = 0; i < metadata.size(); ++i)
        fmt::format_to(out, "{}{}:{}", i ? "," : "",
                       json::quote(metadata[i].first),
                       json::quote(metadata[i].second));
      header += "}";
    }
    uint64_t offset = 0;
    for (size_t i = 0; i < entries.size(); ++i) {
      const Entry &entry = entries[i];
      if (entry.bytes > static_cast<uint64_t>(INT64_MAX) - offset)
        return invalid(file, "the tensors hold more than 2^63 bytes in all");
      fmt::format_to(
          out, R"({}{}:{{"dtype":"{}","shape":[{}],"data_offsets":[{},{}]}})",
          (i || !metadata.empty()) ? "," : "", json::quote(entry.name),
          entry.dtypeName, fmt::join(entry.shape, ","), offset,
          offset + entry.bytes);
      offset += entry.bytes;
    }
    header += "}";
    // As the reference writer does: pad with spaces so the data section
    // starts 8-byte aligned in the file.
    header.append((8 - header.size() % 8) % 8, ' ');
    return writeFile(file, header, entries);
  });
}

} // extern "C"
