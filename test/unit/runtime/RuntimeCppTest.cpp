// Tests of the header-only C++ wrapper (runtime.hpp): errors, SafetensorsFile,
// and tensor copies.
#include "TestUtil.h"

#include "ssm/runtime.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

using ssm::test::safetensorsBytes;
using ssm::test::TempDir;
using ssm::test::testdataDir;

namespace {
std::string ssd00Path() {
  return (testdataDir() / "ops/ssd_00.safetensors").string();
}
} // namespace

TEST(RuntimeCppTest, CheckThrowsErrorWithCode) {
  EXPECT_NO_THROW(ssm::check(nullptr));
  ssm_status_t status = nullptr;
  ssm_safetensors_t *file = nullptr;
  status = ssm_safetensors_open(nullptr, &file);
  try {
    ssm::check(status); // frees the status (leak checkers would see it)
    FAIL() << "check did not throw";
  } catch (const ssm::Error &error) {
    EXPECT_EQ(error.code(), SSM_STATUS_INVALID_ARGUMENT);
    EXPECT_NE(std::string(error.what()).find("path is NULL"),
              std::string::npos);
  }
}

TEST(RuntimeCppTest, OpenMissingFileThrowsNotFound) {
  TempDir dir;
  std::string path = (dir.path() / "nothing.safetensors").string();
  try {
    ssm::SafetensorsFile::open(path);
    FAIL() << "open did not throw";
  } catch (const ssm::Error &error) {
    EXPECT_EQ(error.code(), SSM_STATUS_NOT_FOUND);
    EXPECT_NE(std::string(error.what()).find(path), std::string::npos);
  }
}

TEST(RuntimeCppTest, NamesHasTensorAndMetadata) {
  ssm::SafetensorsFile file = ssm::SafetensorsFile::open(ssd00Path());
  ASSERT_TRUE(file);
  EXPECT_EQ(file.size(), 9u);
  std::vector<std::string> names = file.names();
  ASSERT_EQ(names.size(), 9u);
  EXPECT_EQ(names.front(), "A");
  EXPECT_EQ(names.back(), "y");
  EXPECT_TRUE(file.has("x"));
  EXPECT_FALSE(file.has("lm_head.weight"));
  DLTensor x = file.tensor("x");
  EXPECT_EQ(x.ndim, 4);
  EXPECT_EQ(ssm::numElements(x), 2 * 96 * 4 * 16);
  std::optional<std::string> meta = file.metadata("meta");
  ASSERT_TRUE(meta.has_value());
  EXPECT_NE(meta->find("\"kind\": \"ssd\""), std::string::npos);
  EXPECT_FALSE(file.metadata("nope").has_value());
  try {
    file.tensor("nope");
    FAIL() << "tensor did not throw";
  } catch (const ssm::Error &error) {
    EXPECT_EQ(error.code(), SSM_STATUS_NOT_FOUND);
    EXPECT_NE(std::string(error.what()).find("'nope'"), std::string::npos);
  }
}

TEST(RuntimeCppTest, CopiesShareMovesTransfer) {
  ssm::SafetensorsFile copy;
  EXPECT_FALSE(copy);
  EXPECT_EQ(copy.size(), 0u);
  {
    ssm::SafetensorsFile original = ssm::SafetensorsFile::open(ssd00Path());
    copy = original; // retains
    EXPECT_EQ(copy.get(), original.get());
  } // original released; copy keeps the file open
  ASSERT_TRUE(copy);
  std::vector<float> a = ssm::toFloatVector(copy.tensor("A"));
  ASSERT_EQ(a.size(), 4u);
  EXPECT_LT(a[0], 0.0f);

  ssm_safetensors_t *raw = copy.get();
  ssm::SafetensorsFile moved = std::move(copy);
  EXPECT_FALSE(copy); // NOLINT(bugprone-use-after-move): documented state
  EXPECT_EQ(moved.get(), raw);
  ssm::SafetensorsFile &alias = moved;
  moved = alias; // self-assignment keeps the handle
  EXPECT_EQ(moved.get(), raw);
  EXPECT_TRUE(moved.has("A"));
}

TEST(RuntimeCppTest, EmptyHandleThrowsInvalidArgument) {
  ssm::SafetensorsFile empty;
  EXPECT_TRUE(empty.names().empty());
  EXPECT_FALSE(empty.metadata("meta").has_value());
  try {
    empty.tensor("x");
    FAIL() << "tensor did not throw";
  } catch (const ssm::Error &error) {
    EXPECT_EQ(error.code(), SSM_STATUS_INVALID_ARGUMENT);
  }
}

TEST(RuntimeCppTest, ToFloatAndDoubleVectorsReadF32) {
  ssm::SafetensorsFile file = ssm::SafetensorsFile::open(ssd00Path());
  DLTensor y = file.tensor("y");
  std::vector<float> floats = ssm::toFloatVector(y);
  std::vector<double> doubles = ssm::toDoubleVector(y);
  ASSERT_EQ(floats.size(), static_cast<size_t>(ssm::numElements(y)));
  ASSERT_EQ(doubles.size(), floats.size());
  const auto *raw = static_cast<const unsigned char *>(y.data);
  for (size_t i = 0; i < floats.size(); i += 97) {
    float expected;
    std::memcpy(&expected, raw + 4 * i, 4);
    EXPECT_EQ(floats[i], expected);
    EXPECT_EQ(doubles[i], static_cast<double>(expected));
  }
}

TEST(RuntimeCppTest, ToFloatVectorConvertsHalfAndBfloat16) {
  // Unaligned on purpose: a 1-byte tensor first.
  std::string header =
      R"({"pad":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},)"
      R"("h":{"dtype":"F16","shape":[2,3],"data_offsets":[1,13]},)"
      R"("b":{"dtype":"BF16","shape":[6],"data_offsets":[13,25]},)"
      R"("d":{"dtype":"F64","shape":[1],"data_offsets":[25,33]}})";
  const uint16_t halves[6] = {0x3C00, 0xC000, 0x0001, 0x7BFF, 0xFC00, 0x7E00};
  const uint16_t bfloats[6] = {0x3F80, 0xC049, 0x0001, 0x7F7F, 0xFF80, 0x7FC0};
  const double third = 1.0 / 3.0;
  std::string data(33, '\0');
  std::memcpy(&data[1], halves, 12);
  std::memcpy(&data[13], bfloats, 12);
  std::memcpy(&data[25], &third, 8);
  TempDir dir;
  ssm::SafetensorsFile file = ssm::SafetensorsFile::open(
      dir.write("mixed.safetensors", safetensorsBytes(header, data)));

  std::vector<float> h = ssm::toFloatVector(file.tensor("h"));
  ASSERT_EQ(h.size(), 6u);
  EXPECT_EQ(h[0], 1.0f);
  EXPECT_EQ(h[1], -2.0f);
  EXPECT_EQ(h[2], std::ldexp(1.0f, -24)); // smallest subnormal
  EXPECT_EQ(h[3], 65504.0f);
  EXPECT_EQ(h[4], -std::numeric_limits<float>::infinity());
  EXPECT_TRUE(std::isnan(h[5]));

  std::vector<double> b = ssm::toDoubleVector(file.tensor("b"));
  ASSERT_EQ(b.size(), 6u);
  EXPECT_EQ(b[0], 1.0);
  EXPECT_EQ(b[1], -3.140625);
  EXPECT_EQ(b[2], std::ldexp(1.0, -133)); // smallest bfloat16 subnormal
  EXPECT_EQ(b[3], 0x1.FEp127);
  EXPECT_EQ(b[4], -std::numeric_limits<double>::infinity());
  EXPECT_TRUE(std::isnan(b[5]));

  EXPECT_EQ(ssm::toDoubleVector(file.tensor("d")), std::vector<double>{third});
  EXPECT_EQ(ssm::toFloatVector(file.tensor("d")),
            std::vector<float>{static_cast<float>(third)});
}

TEST(RuntimeCppTest, ToFloatVectorRejectsWhatItCannotConvert) {
  ssm::SafetensorsFile expected = ssm::SafetensorsFile::open(
      (testdataDir() / "models/mamba-tiny/expected.safetensors").string());
  DLTensor ids = expected.tensor("input_ids");
  try {
    ssm::toFloatVector(ids);
    FAIL() << "converted an I64 tensor";
  } catch (const ssm::Error &error) {
    EXPECT_EQ(error.code(), SSM_STATUS_UNIMPLEMENTED);
  }

  float values[4] = {1, 2, 3, 4};
  int64_t shape[2] = {2, 2};
  int64_t transposed[2] = {1, 2};
  DLTensor tensor{values, {kDLCPU, 0}, 2, {kDLFloat, 32, 1}, shape, nullptr, 0};
  EXPECT_EQ(ssm::toFloatVector(tensor), (std::vector<float>{1, 2, 3, 4}));
  tensor.strides = transposed;
  EXPECT_THROW(ssm::toFloatVector(tensor), ssm::Error);
  tensor.strides = nullptr;
  tensor.byte_offset = 8;
  shape[0] = 1;
  EXPECT_EQ(ssm::toFloatVector(tensor), (std::vector<float>{3, 4}));
  tensor.device.device_type = kDLCUDA;
  EXPECT_THROW(ssm::toFloatVector(tensor), ssm::Error);
  tensor.device.device_type = kDLCPU;
  tensor.dtype.lanes = 2;
  EXPECT_THROW(ssm::toFloatVector(tensor), ssm::Error);
}
