// Tests of the safetensors C API: the shared reference files, and every kind of
// corrupt file it must reject.
#include "Json.h"
#include "TestUtil.h"

#include "ssm/runtime.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <initializer_list>
#include <string>
#include <vector>

#include <fcntl.h>
#include <unistd.h>

namespace fs = std::filesystem;
using ssm::test::readFile;
using ssm::test::safetensorsBytes;
using ssm::test::TempDir;
using ssm::test::testdataDir;
using ssm::test::u64le;

namespace {

// Owns an ssm_safetensors_t for the duration of a test.
struct FileHandle {
  ssm_safetensors_t *file = nullptr;
  ~FileHandle() { ssm_safetensors_release(file); }
};

// Opens `path`, failing the test on error.
ssm_safetensors_t *openOrFail(const std::string &path) {
  ssm_safetensors_t *file = nullptr;
  ssm_status_t status = ssm_safetensors_open(path.c_str(), &file);
  EXPECT_EQ(status, nullptr) << ssm_status_message(status);
  ssm_status_free(status);
  return file;
}

std::vector<std::string> filesMatching(const fs::path &dir, int depth) {
  std::vector<std::string> result;
  if (!fs::is_directory(dir))
    return result;
  for (const fs::directory_entry &entry : fs::directory_iterator(dir)) {
    if (depth > 0 && entry.is_directory()) {
      std::vector<std::string> nested = filesMatching(entry.path(), depth - 1);
      result.insert(result.end(), nested.begin(), nested.end());
    } else if (depth == 0 && entry.path().extension() == ".safetensors") {
      result.push_back(entry.path().string());
    }
  }
  std::sort(result.begin(), result.end());
  return result;
}

// Opens every file and checks that each tensor is a coherent DLTensor.
void checkOpensCleanly(const std::vector<std::string> &paths) {
  for (const std::string &path : paths) {
    SCOPED_TRACE(path);
    FileHandle handle;
    handle.file = openOrFail(path);
    ASSERT_NE(handle.file, nullptr);
    size_t count = ssm_safetensors_tensor_count(handle.file);
    EXPECT_GT(count, 0u);
    for (size_t i = 0; i < count; ++i) {
      const char *name = ssm_safetensors_tensor_name(handle.file, i);
      ASSERT_NE(name, nullptr);
      DLTensor tensor;
      ssm_status_t status = ssm_safetensors_tensor(handle.file, name, &tensor);
      ASSERT_EQ(status, nullptr) << ssm_status_message(status);
      EXPECT_EQ(tensor.device.device_type, kDLCPU);
      EXPECT_EQ(tensor.dtype.lanes, 1);
      EXPECT_TRUE(tensor.dtype.code == kDLFloat || tensor.dtype.code == kDLInt)
          << name;
    }
  }
}

} // namespace

//===----------------------------------------------------------------------===//
// The shared reference files
//===----------------------------------------------------------------------===//

TEST(SafetensorsSharedTest, OpensEveryOpsFile) {
  std::vector<std::string> paths = filesMatching(testdataDir() / "ops", 0);
  ASSERT_GE(paths.size(), 8u) << "no test data under " << testdataDir();
  checkOpensCleanly(paths);
}

TEST(SafetensorsSharedTest, OpensEveryModelFile) {
  std::vector<std::string> paths = filesMatching(testdataDir() / "models", 1);
  ASSERT_GE(paths.size(), 4u) << "no test data under " << testdataDir();
  checkOpensCleanly(paths);
}

TEST(SafetensorsSharedTest, Ssd00ShapesAndMetadata) {
  FileHandle handle;
  handle.file = openOrFail(testdataDir() / "ops/ssd_00.safetensors");
  ASSERT_NE(handle.file, nullptr);
  DLTensor x;
  ssm_status_t status = ssm_safetensors_tensor(handle.file, "x", &x);
  ASSERT_EQ(status, nullptr) << ssm_status_message(status);
  EXPECT_EQ(x.dtype.code, kDLFloat);
  EXPECT_EQ(x.dtype.bits, 32);
  ASSERT_EQ(x.ndim, 4);
  EXPECT_EQ(std::vector<int64_t>(x.shape, x.shape + 4),
            (std::vector<int64_t>{2, 96, 4, 16}));
  EXPECT_EQ(x.strides, nullptr);
  EXPECT_EQ(x.byte_offset, 0u);

  const char *meta = ssm_safetensors_metadata(handle.file, "meta");
  ASSERT_NE(meta, nullptr);
  ssm::runtime::json::ParseError error;
  auto parsed = ssm::runtime::json::parse(meta, error);
  ASSERT_TRUE(parsed) << error.toString();
  const ssm::runtime::json::Value *kind = parsed->find("kind");
  ASSERT_NE(kind, nullptr);
  ASSERT_TRUE(kind->isString());
  EXPECT_EQ(kind->getString(), "ssd");
  EXPECT_EQ(ssm_safetensors_metadata(handle.file, "absent"), nullptr);
}

TEST(SafetensorsSharedTest, Ssd00DataPointsAtTheFileBytes) {
  std::string path = testdataDir() / "ops/ssd_00.safetensors";
  std::string bytes = readFile(path);
  // Read independently: header length, then the offsets of 'A' via the parser.
  uint64_t headerSize = 0;
  std::memcpy(&headerSize, bytes.data(), 8);
  ssm::runtime::json::ParseError error;
  auto header = ssm::runtime::json::parse(
      std::string_view(bytes).substr(8, headerSize), error);
  ASSERT_TRUE(header) << error.toString();
  const auto &offsets = header->find("A")->find("data_offsets")->getArray();
  uint64_t begin = *offsets[0].getUInt64(), end = *offsets[1].getUInt64();

  FileHandle handle;
  handle.file = openOrFail(path);
  ASSERT_NE(handle.file, nullptr);
  DLTensor a;
  ASSERT_EQ(ssm_safetensors_tensor(handle.file, "A", &a), nullptr);
  ASSERT_EQ(end - begin, 16u);
  EXPECT_EQ(std::memcmp(a.data, bytes.data() + 8 + headerSize + begin, 16), 0);
  // The README promises a negative decay per head.
  for (int i = 0; i < 4; ++i) {
    float value;
    std::memcpy(&value, static_cast<const char *>(a.data) + 4 * i, 4);
    EXPECT_LT(value, 0.0f);
  }
}

TEST(SafetensorsSharedTest, MambaTinyHasNoLmHead) {
  FileHandle handle;
  handle.file =
      openOrFail(testdataDir() / "models/mamba-tiny/model.safetensors");
  ASSERT_NE(handle.file, nullptr);
  DLTensor tensor;
  ssm_status_t status =
      ssm_safetensors_tensor(handle.file, "lm_head.weight", &tensor);
  ASSERT_NE(status, nullptr);
  EXPECT_EQ(ssm_status_code(status), SSM_STATUS_NOT_FOUND);
  std::string message = ssm_status_message(status);
  EXPECT_NE(message.find("lm_head.weight"), std::string::npos) << message;
  EXPECT_NE(message.find("model.safetensors"), std::string::npos) << message;
  ssm_status_free(status);

  status = ssm_safetensors_tensor(handle.file, "backbone.embeddings.weight",
                                  &tensor);
  ASSERT_EQ(status, nullptr) << ssm_status_message(status);
  ASSERT_EQ(tensor.ndim, 2);
  EXPECT_EQ(tensor.shape[0], 512);
  EXPECT_EQ(tensor.shape[1], 128);
  EXPECT_STREQ(ssm_safetensors_metadata(handle.file, "format"), "pt");
}

TEST(SafetensorsSharedTest, ExpectedIdsAreInt64) {
  FileHandle handle;
  handle.file =
      openOrFail(testdataDir() / "models/mamba-tiny/expected.safetensors");
  ASSERT_NE(handle.file, nullptr);
  DLTensor ids;
  ASSERT_EQ(ssm_safetensors_tensor(handle.file, "input_ids", &ids), nullptr);
  EXPECT_EQ(ids.dtype.code, kDLInt);
  EXPECT_EQ(ids.dtype.bits, 64);
  EXPECT_EQ(ids.ndim, 2);
}

TEST(SafetensorsSharedTest, NamesAreSortedAndComplete) {
  FileHandle handle;
  handle.file = openOrFail(testdataDir() / "ops/ssd_00.safetensors");
  ASSERT_NE(handle.file, nullptr);
  std::vector<std::string> names;
  for (size_t i = 0; i < ssm_safetensors_tensor_count(handle.file); ++i)
    names.push_back(ssm_safetensors_tensor_name(handle.file, i));
  EXPECT_EQ(names,
            (std::vector<std::string>{"A", "B", "C", "D", "dt", "dt_bias",
                                      "final_state", "x", "y"}));
  EXPECT_EQ(ssm_safetensors_tensor_name(handle.file, names.size()), nullptr);
  EXPECT_EQ(ssm_safetensors_tensor_name(handle.file, SIZE_MAX), nullptr);
}

//===----------------------------------------------------------------------===//
// API misuse and OS errors
//===----------------------------------------------------------------------===//

TEST(SafetensorsApiTest, NullArgumentsAreInvalid) {
  ssm_safetensors_t *file = nullptr;
  ssm_status_t status = ssm_safetensors_open(nullptr, &file);
  EXPECT_EQ(ssm_status_code(status), SSM_STATUS_INVALID_ARGUMENT);
  EXPECT_EQ(file, nullptr);
  ssm_status_free(status);
  status = ssm_safetensors_open("x.safetensors", nullptr);
  EXPECT_EQ(ssm_status_code(status), SSM_STATUS_INVALID_ARGUMENT);
  ssm_status_free(status);

  DLTensor tensor;
  status = ssm_safetensors_tensor(nullptr, "x", &tensor);
  EXPECT_EQ(ssm_status_code(status), SSM_STATUS_INVALID_ARGUMENT);
  ssm_status_free(status);

  FileHandle handle;
  handle.file = openOrFail(testdataDir() / "ops/ssd_00.safetensors");
  ASSERT_NE(handle.file, nullptr);
  status = ssm_safetensors_tensor(handle.file, nullptr, &tensor);
  EXPECT_EQ(ssm_status_code(status), SSM_STATUS_INVALID_ARGUMENT);
  ssm_status_free(status);
  status = ssm_safetensors_tensor(handle.file, "x", nullptr);
  EXPECT_EQ(ssm_status_code(status), SSM_STATUS_INVALID_ARGUMENT);
  ssm_status_free(status);

  EXPECT_EQ(ssm_safetensors_metadata(nullptr, "meta"), nullptr);
  EXPECT_EQ(ssm_safetensors_metadata(handle.file, nullptr), nullptr);
  EXPECT_EQ(ssm_safetensors_tensor_count(nullptr), 0u);
  EXPECT_EQ(ssm_safetensors_tensor_name(nullptr, 0), nullptr);
  ssm_safetensors_retain(nullptr);
  ssm_safetensors_release(nullptr);
}

TEST(SafetensorsApiTest, MissingFileIsNotFound) {
  TempDir dir;
  std::string path = (dir.path() / "absent.safetensors").string();
  ssm_safetensors_t *file = nullptr;
  ssm_status_t status = ssm_safetensors_open(path.c_str(), &file);
  ASSERT_NE(status, nullptr);
  EXPECT_EQ(ssm_status_code(status), SSM_STATUS_NOT_FOUND);
  EXPECT_NE(std::string(ssm_status_message(status)).find(path),
            std::string::npos);
  EXPECT_EQ(file, nullptr);
  ssm_status_free(status);
}

TEST(SafetensorsApiTest, DirectoryIsIoError) {
  TempDir dir;
  ssm_safetensors_t *file = nullptr;
  ssm_status_t status = ssm_safetensors_open(dir.path().c_str(), &file);
  ASSERT_NE(status, nullptr);
  EXPECT_EQ(ssm_status_code(status), SSM_STATUS_IO_ERROR);
  EXPECT_NE(std::string(ssm_status_message(status)).find("regular file"),
            std::string::npos);
  EXPECT_EQ(file, nullptr);
  ssm_status_free(status);
}

TEST(SafetensorsApiTest, RetainKeepsDataAlive) {
  ssm_safetensors_t *file =
      openOrFail(testdataDir() / "ops/ssd_00.safetensors");
  ASSERT_NE(file, nullptr);
  ssm_safetensors_retain(file);
  DLTensor a;
  ASSERT_EQ(ssm_safetensors_tensor(file, "A", &a), nullptr);
  ssm_safetensors_release(file);
  // One reference left: the mapping and the shape array must still be valid
  // (a sanitizer build catches a premature unmap or free here).
  float first;
  std::memcpy(&first, a.data, sizeof(first));
  EXPECT_LT(first, 0.0f);
  EXPECT_EQ(a.shape[0], 4);
  ssm_safetensors_release(file);
}

//===----------------------------------------------------------------------===//
// Files the test writes: valid edge cases and corruptions
//===----------------------------------------------------------------------===//

namespace {

class SafetensorsFileTest : public ::testing::Test {
protected:
  TempDir dir;

  // Writes `bytes` as `name`, opens it and expects an error with `code`
  // whose message names the file and contains every fragment.
  void expectRejected(const std::string &bytes, ssm_status_code_t code,
                      std::initializer_list<std::string> fragments,
                      const std::string &name = "bad.safetensors") {
    std::string path = dir.write(name, bytes);
    ssm_safetensors_t *file = nullptr;
    ssm_status_t status = ssm_safetensors_open(path.c_str(), &file);
    std::string shown = bytes.substr(0, 200);
    ASSERT_NE(status, nullptr) << "accepted: " << shown;
    EXPECT_EQ(file, nullptr);
    std::string message = ssm_status_message(status);
    EXPECT_EQ(ssm_status_code(status), code)
        << ssm_status_code_name(ssm_status_code(status)) << ": " << message;
    EXPECT_EQ(message.rfind(path + ": ", 0), 0u)
        << "message does not start with the path: " << message;
    for (const std::string &fragment : fragments)
      EXPECT_NE(message.find(fragment), std::string::npos)
          << "missing '" << fragment << "' in: " << message;
    ssm_status_free(status);
    ssm_safetensors_release(file);
  }

  // A header with one tensor entry `x` followed by `dataSize` zero bytes.
  void expectEntryRejected(const std::string &entry, size_t dataSize,
                           ssm_status_code_t code,
                           std::initializer_list<std::string> fragments) {
    expectRejected(
        safetensorsBytes("{\"x\":" + entry + "}", std::string(dataSize, '\0')),
        code, fragments);
  }

  ssm_safetensors_t *writeAndOpen(const std::string &bytes) {
    return openOrFail(dir.write("ok.safetensors", bytes));
  }

  std::string ssd00() {
    return readFile(testdataDir() / "ops/ssd_00.safetensors");
  }
};

} // namespace

TEST_F(SafetensorsFileTest, EmptyFile) {
  expectRejected("", SSM_STATUS_DATA_LOSS, {"empty"});
}

TEST_F(SafetensorsFileTest, ShorterThanHeaderLength) {
  expectRejected(std::string("\x10\0\0\0\0", 5), SSM_STATUS_DATA_LOSS,
                 {"5 bytes"});
  expectRejected(std::string(7, '\0'), SSM_STATUS_DATA_LOSS, {"7 bytes"});
}

TEST_F(SafetensorsFileTest, TruncatedInDataSection) {
  std::string bytes = ssd00();
  bytes.resize(bytes.size() - 100);
  // 'y' is the last tensor of the data section.
  expectRejected(bytes, SSM_STATUS_DATA_LOSS,
                 {"tensor 'y'", "run past the end of the data section"});
}

TEST_F(SafetensorsFileTest, TruncatedInHeader) {
  std::string bytes = ssd00();
  bytes.resize(8 + 100);
  expectRejected(bytes, SSM_STATUS_DATA_LOSS,
                 {"header length 864 runs past the end"});
}

TEST_F(SafetensorsFileTest, HeaderLengthPastEnd) {
  expectRejected(u64le(1000) + "{}", SSM_STATUS_DATA_LOSS,
                 {"header length 1000", "10 bytes"});
  // Exactly one byte too long.
  expectRejected(u64le(3) + "{}", SSM_STATUS_DATA_LOSS, {"header length 3"});
}

TEST_F(SafetensorsFileTest, HeaderLengthHuge) {
  expectRejected(u64le(uint64_t(1) << 63) + "{}", SSM_STATUS_DATA_LOSS,
                 {"header length 9223372036854775808"});
  expectRejected(u64le(UINT64_MAX) + "{}", SSM_STATUS_DATA_LOSS,
                 {"header length 18446744073709551615"});
}

TEST_F(SafetensorsFileTest, HeaderLengthAboveLimit) {
  // A sparse file large enough to hold the claimed header.
  const uint64_t headerSize = 100000001;
  std::string path = dir.write("bad.safetensors", u64le(headerSize));
  ASSERT_EQ(::truncate(path.c_str(), static_cast<off_t>(8 + headerSize)), 0);
  ssm_safetensors_t *file = nullptr;
  ssm_status_t status = ssm_safetensors_open(path.c_str(), &file);
  ASSERT_NE(status, nullptr);
  EXPECT_EQ(ssm_status_code(status), SSM_STATUS_DATA_LOSS);
  std::string message = ssm_status_message(status);
  EXPECT_NE(message.find("exceeds the limit"), std::string::npos) << message;
  EXPECT_NE(message.find(path), std::string::npos) << message;
  ssm_status_free(status);
}

TEST_F(SafetensorsFileTest, GarbageJson) {
  expectRejected(safetensorsBytes("{\"x\": nope}", ""), SSM_STATUS_DATA_LOSS,
                 {"not valid JSON", "invalid literal"});
  expectRejected(safetensorsBytes(std::string(16, '\xFF'), ""),
                 SSM_STATUS_DATA_LOSS, {"not valid JSON"});
  expectRejected(safetensorsBytes("", ""), SSM_STATUS_DATA_LOSS,
                 {"not valid JSON"});
  // Duplicate tensor names are a JSON error.
  expectRejected(safetensorsBytes(
                     R"({"x":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},)"
                     R"("x":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}})",
                     "ab"),
                 SSM_STATUS_DATA_LOSS, {"duplicate key \"x\""});
}

TEST_F(SafetensorsFileTest, HeaderNotAnObject) {
  expectRejected(safetensorsBytes("[1, 2]", ""), SSM_STATUS_DATA_LOSS,
                 {"header is an array, expected an object"});
  expectRejected(safetensorsBytes("\"x\"", ""), SSM_STATUS_DATA_LOSS,
                 {"expected an object"});
}

TEST_F(SafetensorsFileTest, EntryNotAnObject) {
  expectEntryRejected("[0, 1]", 0, SSM_STATUS_DATA_LOSS,
                      {"tensor 'x'", "expected an object"});
}

TEST_F(SafetensorsFileTest, MissingDtype) {
  expectEntryRejected(R"({"shape":[1],"data_offsets":[0,4]})", 4,
                      SSM_STATUS_DATA_LOSS, {"tensor 'x'", "missing 'dtype'"});
}

TEST_F(SafetensorsFileTest, MissingShape) {
  expectEntryRejected(R"({"dtype":"F32","data_offsets":[0,4]})", 4,
                      SSM_STATUS_DATA_LOSS, {"tensor 'x'", "missing 'shape'"});
}

TEST_F(SafetensorsFileTest, MissingDataOffsets) {
  expectEntryRejected(R"({"dtype":"F32","shape":[1]})", 4, SSM_STATUS_DATA_LOSS,
                      {"tensor 'x'", "missing 'data_offsets'"});
}

TEST_F(SafetensorsFileTest, UnexpectedKeyInEntry) {
  expectEntryRejected(
      R"({"dtype":"F32","shape":[1],"data_offsets":[0,4],"align":64})", 4,
      SSM_STATUS_DATA_LOSS, {"tensor 'x'", "unexpected key 'align'"});
}

TEST_F(SafetensorsFileTest, UnknownDtype) {
  expectEntryRejected(R"({"dtype":"F31","shape":[1],"data_offsets":[0,4]})", 4,
                      SSM_STATUS_DATA_LOSS,
                      {"tensor 'x'", "unknown dtype \"F31\""});
  expectEntryRejected(R"({"dtype":"f32","shape":[1],"data_offsets":[0,4]})", 4,
                      SSM_STATUS_DATA_LOSS, {"unknown dtype \"f32\""});
}

TEST_F(SafetensorsFileTest, UnsupportedDtypeIsUnimplemented) {
  expectEntryRejected(R"({"dtype":"F8_E4M3","shape":[4],"data_offsets":[0,4]})",
                      4, SSM_STATUS_UNIMPLEMENTED, {"tensor 'x'", "F8_E4M3"});
  expectEntryRejected(R"({"dtype":"BOOL","shape":[1],"data_offsets":[0,1]})", 1,
                      SSM_STATUS_UNIMPLEMENTED, {"BOOL"});
}

TEST_F(SafetensorsFileTest, DtypeNotAString) {
  expectEntryRejected(R"({"dtype":32,"shape":[1],"data_offsets":[0,4]})", 4,
                      SSM_STATUS_DATA_LOSS,
                      {"tensor 'x'", "dtype is 32, expected a string"});
}

TEST_F(SafetensorsFileTest, NegativeShapeEntry) {
  expectEntryRejected(
      R"({"dtype":"F32","shape":[2,-3],"data_offsets":[0,4]})", 4,
      SSM_STATUS_DATA_LOSS,
      {"tensor 'x'", "shape[1] is -3", "expected a non-negative integer"});
}

TEST_F(SafetensorsFileTest, NonIntegerShapeEntries) {
  for (const char *dim : {"2.5", "1e1", "1.0", "\"3\"", "null", "true", "[1]",
                          "18446744073709551615"}) {
    SCOPED_TRACE(dim);
    expectEntryRejected(
        std::string(R"({"dtype":"U8","shape":[)") + dim +
            R"(],"data_offsets":[0,1]})",
        1, SSM_STATUS_DATA_LOSS,
        {"tensor 'x'", "shape[0]", "expected a non-negative integer"});
  }
}

TEST_F(SafetensorsFileTest, ShapeNotAnArray) {
  expectEntryRejected(R"({"dtype":"F32","shape":4,"data_offsets":[0,16]})", 16,
                      SSM_STATUS_DATA_LOSS,
                      {"tensor 'x'", "shape is 4, expected an array"});
}

TEST_F(SafetensorsFileTest, ShapeProductOverflows) {
  expectEntryRejected(
      R"({"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,4]})",
      4, SSM_STATUS_DATA_LOSS, {"tensor 'x'", "overflows 64 bits"});
  // numel fits in uint64 only after the multiplication by the item size.
  expectEntryRejected(
      R"({"dtype":"F64","shape":[2305843009213693952],"data_offsets":[0,8]})",
      8, SSM_STATUS_DATA_LOSS, {"overflows 64 bits"});
}

TEST_F(SafetensorsFileTest, OffsetsOutOfRange) {
  expectEntryRejected(R"({"dtype":"F32","shape":[2],"data_offsets":[0,8]})", 4,
                      SSM_STATUS_DATA_LOSS,
                      {"tensor 'x'", "data_offsets [0, 8]",
                       "run past the end of the data section (4 bytes)"});
  expectEntryRejected(
      R"({"dtype":"U8","shape":[0],"data_offsets":[18446744073709551615,18446744073709551615]})",
      4, SSM_STATUS_DATA_LOSS, {"tensor 'x'", "run past the end"});
}

TEST_F(SafetensorsFileTest, BeginAfterEnd) {
  expectEntryRejected(R"({"dtype":"U8","shape":[0],"data_offsets":[4,0]})", 8,
                      SSM_STATUS_DATA_LOSS,
                      {"tensor 'x'", "data_offsets [4, 0] begin after"});
}

TEST_F(SafetensorsFileTest, MalformedDataOffsets) {
  for (const char *offsets :
       {"[0]", "[0,1,2]", "[-1,0]", "[0,1.5]", "[\"0\",\"1\"]", "{}", "0"}) {
    SCOPED_TRACE(offsets);
    expectEntryRejected(
        std::string(R"({"dtype":"U8","shape":[1],"data_offsets":)") + offsets +
            "}",
        4, SSM_STATUS_DATA_LOSS, {"tensor 'x'", "data_offsets"});
  }
}

TEST_F(SafetensorsFileTest, ByteLengthMustMatchShapeTimesDtype) {
  // The example of an error message the runtime promises.
  expectRejected(
      safetensorsBytes(
          R"({"x":{"dtype":"F32","shape":[5,6],"data_offsets":[0,100]}})",
          std::string(100, '\0')),
      SSM_STATUS_DATA_LOSS,
      {"model.safetensors: tensor 'x': data_offsets [0, 100] hold 100 bytes "
       "but shape [5, 6] x F32 needs 120"},
      "model.safetensors");
  // Too many bytes is as wrong as too few.
  expectEntryRejected(R"({"dtype":"BF16","shape":[3],"data_offsets":[0,8]})", 8,
                      SSM_STATUS_DATA_LOSS,
                      {"hold 8 bytes but shape [3] x BF16 needs 6"});
}

TEST_F(SafetensorsFileTest, OverlappingTensors) {
  expectRejected(
      safetensorsBytes(
          R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},)"
          R"("b":{"dtype":"F32","shape":[2],"data_offsets":[12,20]}})",
          std::string(20, '\0')),
      SSM_STATUS_DATA_LOSS,
      {"tensors 'a' (data_offsets [0, 16]) and 'b' (data_offsets [12, 20]) "
       "overlap"});
  // Listed out of order, and one inside the other.
  expectRejected(
      safetensorsBytes(
          R"({"c":{"dtype":"F32","shape":[1],"data_offsets":[32,36]},)"
          R"("inner":{"dtype":"F32","shape":[1],"data_offsets":[8,12]},)"
          R"("outer":{"dtype":"F32","shape":[8],"data_offsets":[0,32]}})",
          std::string(36, '\0')),
      SSM_STATUS_DATA_LOSS, {"'outer'", "'inner'", "overlap"});
  // Identical ranges.
  expectRejected(safetensorsBytes(
                     R"({"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},)"
                     R"("b":{"dtype":"I32","shape":[1],"data_offsets":[0,4]}})",
                     std::string(4, '\0')),
                 SSM_STATUS_DATA_LOSS, {"overlap"});
}

TEST_F(SafetensorsFileTest, MetadataValueNotAString) {
  expectRejected(safetensorsBytes(R"({"__metadata__":{"ok":"1","n":1}})", ""),
                 SSM_STATUS_DATA_LOSS,
                 {"__metadata__['n'] is 1, expected a string"});
  expectRejected(safetensorsBytes(R"({"__metadata__":{"o":{"a":"b"}}})", ""),
                 SSM_STATUS_DATA_LOSS, {"__metadata__['o']"});
}

TEST_F(SafetensorsFileTest, MetadataNotAnObject) {
  expectRejected(safetensorsBytes(R"({"__metadata__":["a","b"]})", ""),
                 SSM_STATUS_DATA_LOSS, {"__metadata__ is an array"});
}

TEST_F(SafetensorsFileTest, NulInNamesIsUnimplemented) {
  expectRejected(
      safetensorsBytes(
          R"({"a\u0000b":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}})",
          "z"),
      SSM_STATUS_UNIMPLEMENTED, {"NUL"});
  expectRejected(safetensorsBytes(R"({"__metadata__":{"k":"a\u0000b"}})", ""),
                 SSM_STATUS_UNIMPLEMENTED, {"NUL"});
}

TEST_F(SafetensorsFileTest, AcceptsValidEdgeCases) {
  // No tensors at all, a header padded with spaces, a scalar, empty tensors
  // sharing an offset (also inside another tensor's range), and a hole.
  FileHandle empty;
  empty.file = writeAndOpen(safetensorsBytes("{}      ", ""));
  ASSERT_NE(empty.file, nullptr);
  EXPECT_EQ(ssm_safetensors_tensor_count(empty.file), 0u);

  FileHandle handle;
  handle.file = writeAndOpen(safetensorsBytes(
      R"({"scalar":{"dtype":"F32","shape":[],"data_offsets":[0,4]},)"
      R"("e1":{"dtype":"F32","shape":[0,3],"data_offsets":[6,6]},)"
      R"("e2":{"dtype":"I64","shape":[3,0],"data_offsets":[6,6]},)"
      R"("after_hole":{"dtype":"U8","shape":[2],"data_offsets":[8,10]},)"
      R"("__metadata__":{}})"
      "   ",
      std::string("\x00\x00\x80\x3F"
                  "--"
                  "\x00\x00"
                  "\x07\x09",
                  10)));
  ASSERT_NE(handle.file, nullptr);
  EXPECT_EQ(ssm_safetensors_tensor_count(handle.file), 4u);
  DLTensor scalar;
  ASSERT_EQ(ssm_safetensors_tensor(handle.file, "scalar", &scalar), nullptr);
  EXPECT_EQ(scalar.ndim, 0);
  float value;
  std::memcpy(&value, scalar.data, 4);
  EXPECT_EQ(value, 1.0f);
  DLTensor e1, hole;
  ASSERT_EQ(ssm_safetensors_tensor(handle.file, "e1", &e1), nullptr);
  EXPECT_EQ(e1.ndim, 2);
  EXPECT_EQ(e1.shape[0], 0);
  ASSERT_EQ(ssm_safetensors_tensor(handle.file, "after_hole", &hole), nullptr);
  EXPECT_EQ(static_cast<const uint8_t *>(hole.data)[1], 9);
  EXPECT_EQ(static_cast<const uint8_t *>(hole.data) -
                static_cast<const uint8_t *>(scalar.data),
            8);
}

TEST_F(SafetensorsFileTest, DtypesMapToDLPack) {
  struct Case {
    const char *name;
    uint8_t code;
    uint8_t bits;
  } cases[] = {
      {"F64", kDLFloat, 64},   {"F32", kDLFloat, 32}, {"F16", kDLFloat, 16},
      {"BF16", kDLBfloat, 16}, {"I64", kDLInt, 64},   {"I32", kDLInt, 32},
      {"I16", kDLInt, 16},     {"I8", kDLInt, 8},     {"U64", kDLUInt, 64},
      {"U32", kDLUInt, 32},    {"U16", kDLUInt, 16},  {"U8", kDLUInt, 8}};
  for (const Case &c : cases) {
    SCOPED_TRACE(c.name);
    std::string header = std::string(R"({"t":{"dtype":")") + c.name +
                         R"(","shape":[3],"data_offsets":[0,)" +
                         std::to_string(3 * c.bits / 8) + "]}}";
    FileHandle handle;
    handle.file = writeAndOpen(
        safetensorsBytes(header, std::string(3 * c.bits / 8, 'x')));
    ASSERT_NE(handle.file, nullptr);
    DLTensor tensor;
    ASSERT_EQ(ssm_safetensors_tensor(handle.file, "t", &tensor), nullptr);
    EXPECT_EQ(tensor.dtype.code, c.code);
    EXPECT_EQ(tensor.dtype.bits, c.bits);
    EXPECT_EQ(tensor.dtype.lanes, 1);
  }
}

TEST_F(SafetensorsFileTest, DataMayBeUnaligned) {
  // Header length 8 + 56 keeps the data section 8-aligned; 'f' starts at 1.
  std::string header =
      R"({"p":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},)"
      R"("f":{"dtype":"F32","shape":[1],"data_offsets":[1,5]}})";
  header.resize((header.size() + 7) / 8 * 8, ' ');
  FileHandle handle;
  handle.file = writeAndOpen(
      safetensorsBytes(header, std::string("\x01\x00\x00\x40\x40", 5)));
  ASSERT_NE(handle.file, nullptr);
  DLTensor f;
  ASSERT_EQ(ssm_safetensors_tensor(handle.file, "f", &f), nullptr);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(f.data) % 4, 1u);
  float value;
  std::memcpy(&value, f.data, 4);
  EXPECT_EQ(value, 3.0f);
}

TEST_F(SafetensorsFileTest, EveryTruncationIsRejected) {
  std::string bytes = safetensorsBytes(
      R"({"__metadata__":{"k":"v"},)"
      R"("a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
      R"("b":{"dtype":"I64","shape":[1],"data_offsets":[8,16]}})",
      std::string(16, '\x5A'));
  for (size_t length = 0; length < bytes.size(); ++length) {
    std::string path = dir.write("cut.safetensors", bytes.substr(0, length));
    ssm_safetensors_t *file = nullptr;
    ssm_status_t status = ssm_safetensors_open(path.c_str(), &file);
    EXPECT_EQ(ssm_status_code(status), SSM_STATUS_DATA_LOSS)
        << "length " << length;
    EXPECT_EQ(file, nullptr);
    ssm_status_free(status);
    ssm_safetensors_release(file);
  }
  FileHandle whole;
  whole.file = writeAndOpen(bytes);
  EXPECT_NE(whole.file, nullptr);
}

TEST_F(SafetensorsFileTest, CorruptedHeaderBytesNeverEscapeTheFile) {
  // Overwrite each header byte with bytes that matter to the grammar; any
  // file that still opens must describe tensors inside the file.
  const std::string header =
      R"({"__metadata__":{"k":"v"},)"
      R"("a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
      R"("b":{"dtype":"I16","shape":[1,4],"data_offsets":[8,16]}})";
  const std::string bytes = safetensorsBytes(header, std::string(16, '\x5A'));
  int opened = 0;
  for (size_t i = 0; i < 8 + header.size(); ++i) {
    for (char replacement : {'\0', '\xFF', '"', '}', ']', '9', '-', ','}) {
      std::string corrupted = bytes;
      corrupted[i] = replacement;
      std::string path = dir.write("fuzz.safetensors", corrupted);
      ssm_safetensors_t *file = nullptr;
      ssm_status_t status = ssm_safetensors_open(path.c_str(), &file);
      if (status) {
        EXPECT_EQ(file, nullptr);
        EXPECT_NE(std::string(ssm_status_message(status)).find(path),
                  std::string::npos);
        ssm_status_free(status);
        continue;
      }
      ++opened;
      for (size_t t = 0; t < ssm_safetensors_tensor_count(file); ++t) {
        DLTensor tensor;
        ASSERT_EQ(ssm_safetensors_tensor(
                      file, ssm_safetensors_tensor_name(file, t), &tensor),
                  nullptr);
        // Touch every byte so that a sanitizer sees any read past the end.
        int64_t numel = 1;
        for (int d = 0; d < tensor.ndim; ++d)
          numel *= tensor.shape[d];
        const auto *data = static_cast<const uint8_t *>(tensor.data);
        unsigned sum = 0;
        for (int64_t k = 0; k < numel * tensor.dtype.bits / 8; ++k)
          sum += data[k];
        EXPECT_LE(sum, 0x5Au * 16);
      }
      ssm_safetensors_release(file);
    }
  }
  // Some replacements are harmless (e.g. the digit '9' in the metadata value).
  EXPECT_GT(opened, 0);
}
