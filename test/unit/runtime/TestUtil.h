// Helpers shared by the runtime unit tests: a scratch directory, safetensors
// byte builders, a status taken apart.
#ifndef SSM_TEST_UNIT_RUNTIME_TESTUTIL_H
#define SSM_TEST_UNIT_RUNTIME_TESTUTIL_H

#include "ssm/runtime.h"

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>

namespace ssm::test {

/// A status's code and message (code OK for NULL).
struct Failure {
  ssm_status_code_t code = SSM_STATUS_OK;
  std::string message;
};

/// Takes over `status` and returns its code and message.
inline Failure consume(ssm_status_t status) {
  Failure failure{ssm_status_code(status), ssm_status_message(status)};
  ssm_status_free(status);
  return failure;
}

/// The shared reference vectors (see CMake's SSM_TESTDATA_DIR).
inline std::filesystem::path testdataDir() { return SSM_TESTDATA_DIR; }

/// A fresh directory under the system temp dir, removed on destruction.
class TempDir {
public:
  TempDir() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "ssm-rt-test-XXXXXX")
            .string();
    if (!mkdtemp(pattern.data()))
      throw std::runtime_error("mkdtemp failed");
    dir = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
  }
  TempDir(const TempDir &) = delete;
  TempDir &operator=(const TempDir &) = delete;

  const std::filesystem::path &path() const { return dir; }

  /// Writes `bytes` to `name` in this directory and returns the full path.
  std::string write(const std::string &name, const std::string &bytes) const {
    std::filesystem::path file = dir / name;
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out)
      throw std::runtime_error("cannot write " + file.string());
    return file.string();
  }

private:
  std::filesystem::path dir;
};

/// The 8-byte little-endian encoding of `value`.
inline std::string u64le(uint64_t value) {
  std::string bytes(8, '\0');
  for (int i = 0; i < 8; ++i)
    bytes[i] = static_cast<char>((value >> (8 * i)) & 0xFF);
  return bytes;
}

/// A safetensors file: header length, `header` verbatim, then `data`.
inline std::string safetensorsBytes(const std::string &header,
                                    const std::string &data) {
  return u64le(header.size()) + header + data;
}

/// The whole content of a file.
inline std::string readFile(const std::filesystem::path &path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw std::runtime_error("cannot read " + path.string());
  return std::string(std::istreambuf_iterator<char>(in), {});
}

} // namespace ssm::test

#endif // SSM_TEST_UNIT_RUNTIME_TESTUTIL_H
