// Writing safetensors files (ssm_safetensors_write): every argument checked,
// and the file replaced atomically so that readers never see half of it.
#include "Json.h"
#include "Safetensors.h"
#include "Status.h"

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
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

struct Entry {
  std::string name;
  const char *dtypeName = nullptr;
  std::vector<int64_t> shape;
  const uint8_t *data = nullptr;
  uint64_t bytes = 0;
};

ssm_status_t checkTensor(const std::string &path, size_t index,
                         const char *name, const DLTensor &tensor, Entry &out) {
  std::string where = path + ": tensor " + std::to_string(index);
  if (!name)
    return makeStatus(SSM_STATUS_INVALID_ARGUMENT, where + ": name is NULL");
  where += " ('" + std::string(name) + "')";
  auto invalid = [&](const std::string &message) {
    return makeStatus(SSM_STATUS_INVALID_ARGUMENT, where + ": " + message);
  };
  out.name = name;
  if (out.name.empty())
    return invalid("the name is empty");
  if (out.name == "__metadata__")
    return invalid("the name is reserved for the metadata");
  if (!isValidJsonString(out.name))
    return invalid("the name is not valid UTF-8");
  if (tensor.device.device_type != kDLCPU)
    return invalid("expected a kDLCPU tensor, got device type " +
                   std::to_string(tensor.device.device_type));
  uint64_t itemBytes = 0;
  out.dtypeName = safetensorsDtypeName(tensor.dtype, &itemBytes);
  if (!out.dtypeName)
    return makeStatus(SSM_STATUS_UNIMPLEMENTED,
                      where + ": dtype (code " +
                          std::to_string(tensor.dtype.code) + ", " +
                          std::to_string(tensor.dtype.bits) + " bits, " +
                          std::to_string(tensor.dtype.lanes) +
                          " lanes) has no safetensors spelling");
  if (tensor.ndim < 0)
    return invalid("ndim is " + std::to_string(tensor.ndim));
  if (tensor.ndim > 0 && !tensor.shape)
    return invalid("shape is NULL");
  uint64_t bytes = itemBytes;
  for (int d = 0; d < tensor.ndim; ++d) {
    int64_t size = tensor.shape[d];
    if (size < 0)
      return invalid("dim " + std::to_string(d) + " is " +
                     std::to_string(size));
    uint64_t extent = static_cast<uint64_t>(size);
    if (extent != 0 && bytes > static_cast<uint64_t>(INT64_MAX) / extent)
      return invalid("the shape holds more than 2^63 bytes");
    bytes *= extent;
    out.shape.push_back(size);
  }
  if (tensor.strides) {
    int64_t expected = 1;
    for (int d = tensor.ndim - 1; d >= 0; --d) {
      if (tensor.shape[d] != 1 && tensor.strides[d] != expected)
        return invalid("strides are not compact row-major (dim " +
                       std::to_string(d) + " has stride " +
                       std::to_string(tensor.strides[d]) + ", expected " +
                       std::to_string(expected) + ")");
      expected *= tensor.shape[d];
    }
  }
  if (bytes > 0 && !tensor.data)
    return invalid("data is NULL");
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
    return makeStatusf(SSM_STATUS_IO_ERROR, "%s: cannot create: %s",
                       path.c_str(), std::strerror(error));
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
    return makeStatusf(SSM_STATUS_IO_ERROR, "%s: cannot write: %s",
                       path.c_str(), std::strerror(error ? error : EIO));
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
    return makeStatus(SSM_STATUS_INVALID_ARGUMENT,
                      "ssm_safetensors_write: path is NULL");
  try {
    std::string file = path;
    auto invalid = [&](const std::string &message) {
      return makeStatus(SSM_STATUS_INVALID_ARGUMENT, file + ": " + message);
    };
    if (count > 0 && (!names || !tensors))
      return invalid(std::string(!names ? "names" : "tensors") +
                     " is NULL but count is " + std::to_string(count));
    if (metadata_count > 0 && (!metadata_keys || !metadata_values))
      return invalid(
          std::string(!metadata_keys ? "metadata_keys" : "metadata_values") +
          " is NULL but metadata_count is " + std::to_string(metadata_count));

    std::vector<Entry> entries(count);
    std::set<std::string> seen;
    for (size_t i = 0; i < count; ++i) {
      if (ssm_status_t status =
              checkTensor(file, i, names[i], tensors[i], entries[i]))
        return status;
      if (!seen.insert(entries[i].name).second)
        return invalid("tensor " + std::to_string(i) + " ('" + entries[i].name +
                       "'): the name is used twice");
    }
    std::vector<std::pair<std::string, std::string>> metadata;
    std::set<std::string> seenKeys;
    for (size_t i = 0; i < metadata_count; ++i) {
      std::string where = "metadata entry " + std::to_string(i);
      if (!metadata_keys[i] || !metadata_values[i])
        return invalid(where + ": " + (!metadata_keys[i] ? "key" : "value") +
                       " is NULL");
      std::string key = metadata_keys[i], value = metadata_values[i];
      if (!isValidJsonString(key) || !isValidJsonString(value))
        return invalid(where + " ('" + key + "'): not valid UTF-8");
      if (!seenKeys.insert(key).second)
        return invalid(where + ": the key '" + key + "' is used twice");
      metadata.emplace_back(std::move(key), std::move(value));
    }

    // Readers find tensors by name; storing them in name order keeps files
    // reproducible whatever order the caller passed.
    std::sort(entries.begin(), entries.end(),
              [](const Entry &a, const Entry &b) { return a.name < b.name; });
    std::sort(metadata.begin(), metadata.end());
    std::string header = "{";
    if (!metadata.empty()) {
      header += "\"__metadata__\":{";
      for (size_t i = 0; i < metadata.size(); ++i)
        header += (i ? "," : "") + json::quote(metadata[i].first) + ":" +
                  json::quote(metadata[i].second);
      header += "}";
    }
    uint64_t offset = 0;
    for (size_t i = 0; i < entries.size(); ++i) {
      const Entry &entry = entries[i];
      if (entry.bytes > static_cast<uint64_t>(INT64_MAX) - offset)
        return invalid("the tensors hold more than 2^63 bytes in all");
      header += (i || !metadata.empty()) ? "," : "";
      header += json::quote(entry.name) + ":{\"dtype\":\"" + entry.dtypeName +
                "\",\"shape\":[";
      for (size_t d = 0; d < entry.shape.size(); ++d)
        header += (d ? "," : "") + std::to_string(entry.shape[d]);
      header += "],\"data_offsets\":[" + std::to_string(offset) + "," +
                std::to_string(offset + entry.bytes) + "]}";
      offset += entry.bytes;
    }
    header += "}";
    // As the reference writer does: pad with spaces so the data section
    // starts 8-byte aligned in the file.
    header.append((8 - header.size() % 8) % 8, ' ');
    return writeFile(file, header, entries);
  } catch (const std::bad_alloc &) {
    return outOfMemoryStatus();
  } catch (const std::exception &error) {
    return makeStatusf(SSM_STATUS_INTERNAL, "%s: %s", path, error.what());
  } catch (...) {
    return makeStatusf(SSM_STATUS_INTERNAL, "%s: unknown exception", path);
  }
}

} // extern "C"
