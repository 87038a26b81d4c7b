// Tests of ssm_safetensors_write: files it writes read back exactly (through
// the strict reader), and every bad argument is refused without touching the
// destination.
#include "TestUtil.h"

#include "ssm/runtime.h"
#include "ssm/runtime.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using ssm::test::consume;
using ssm::test::Failure;
using ssm::test::readFile;
using ssm::test::TempDir;

namespace {

template <typename T>
DLTensor tensorOf(std::vector<T> &data, std::vector<int64_t> &shape,
                  DLDataType dtype) {
  DLTensor tensor;
  tensor.data = data.data();
  tensor.device = DLDevice{kDLCPU, 0};
  tensor.ndim = static_cast<int32_t>(shape.size());
  tensor.dtype = dtype;
  tensor.shape = shape.data();
  tensor.strides = nullptr;
  tensor.byte_offset = 0;
  return tensor;
}

// The bytes a DLTensor from the reader points at.
std::string bytesOf(const DLTensor &tensor) {
  size_t count = static_cast<size_t>(ssm::numElements(tensor)) *
                 ssm::elementBytes(tensor.dtype);
  return std::string(static_cast<const char *>(tensor.data), count);
}

std::string bytesOf(const void *data, size_t count) {
  return std::string(static_cast<const char *>(data), count);
}

} // namespace

TEST(SafetensorsWriteTest, RoundTripsThroughTheReader) {
  TempDir dir;
  std::string path = (dir.path() / "out.safetensors").string();
  std::vector<float> weights{1.5f, -2.0f, 3.25f, 0.0f, 1e-30f, -7.0f};
  std::vector<int64_t> ids{1, -2, 3000000000000LL, 4};
  std::vector<uint16_t> half{0x3C00};
  std::vector<uint16_t> empty;
  std::vector<uint8_t> bytes{1, 2, 3};
  std::vector<int64_t> weightsShape{2, 3}, idsShape{4}, halfShape{},
      emptyShape{0, 2}, bytesShape{3};
  const char *names[] = {"weights", "ids", "scalar.half", "empty", "a/bytes"};
  DLTensor tensors[] = {
      tensorOf(weights, weightsShape, DLDataType{kDLFloat, 32, 1}),
      tensorOf(ids, idsShape, DLDataType{kDLInt, 64, 1}),
      tensorOf(half, halfShape, DLDataType{kDLFloat, 16, 1}),
      tensorOf(empty, emptyShape, DLDataType{kDLBfloat, 16, 1}),
      tensorOf(bytes, bytesShape, DLDataType{kDLUInt, 8, 1}),
  };
  tensors[3].data = nullptr; // no elements: no data needed
  const char *keys[] = {"meta", "format"};
  const char *values[] = {"{\"kind\": \"ssd\"}", "pt"};
  ssm_status_t status =
      ssm_safetensors_write(path.c_str(), names, tensors, 5, keys, values, 2);
  ASSERT_EQ(status, nullptr) << ssm_status_message(status);

  std::string file = readFile(path);
  uint64_t headerSize = 0;
  for (int i = 7; i >= 0; --i)
    headerSize = (headerSize << 8) | static_cast<uint8_t>(file[i]);
  EXPECT_EQ(headerSize % 8, 0u) << "the data section starts 8-byte aligned";
  EXPECT_EQ(file.size(), 8 + headerSize + 24 + 32 + 2 + 0 + 3);

  ssm::SafetensorsFile reader = ssm::SafetensorsFile::open(path);
  EXPECT_EQ(reader.names(),
            (std::vector<std::string>{"a/bytes", "empty", "ids", "scalar.half",
                                      "weights"}));
  DLTensor w = reader.tensor("weights");
  EXPECT_EQ(w.dtype.code, kDLFloat);
  EXPECT_EQ(w.dtype.bits, 32);
  ASSERT_EQ(w.ndim, 2);
  EXPECT_EQ(w.shape[0], 2);
  EXPECT_EQ(w.shape[1], 3);
  EXPECT_EQ(bytesOf(w), bytesOf(weights.data(), 24));
  EXPECT_EQ(bytesOf(reader.tensor("ids")), bytesOf(ids.data(), 32));
  DLTensor h = reader.tensor("scalar.half");
  EXPECT_EQ(h.ndim, 0);
  EXPECT_EQ(bytesOf(h), bytesOf(half.data(), 2));
  DLTensor e = reader.tensor("empty");
  EXPECT_EQ(e.dtype.code, kDLBfloat);
  EXPECT_EQ(ssm::numElements(e), 0);
  EXPECT_EQ(bytesOf(reader.tensor("a/bytes")), "\x01\x02\x03");
  EXPECT_EQ(reader.metadata("meta"), std::string("{\"kind\": \"ssd\"}"));
  EXPECT_EQ(reader.metadata("format"), std::string("pt"));
}

TEST(SafetensorsWriteTest, NamesNeedingEscapesAndNoMetadata) {
  TempDir dir;
  std::string path = (dir.path() / "names.safetensors").string();
  std::vector<float> value{4.0f};
  std::vector<int64_t> shape{1};
  std::string tricky = "quote\" back\\slash\ttab\x01 \xc3\xa9";
  const char *names[] = {tricky.c_str()};
  DLTensor tensor = tensorOf(value, shape, DLDataType{kDLFloat, 32, 1});
  ASSERT_EQ(ssm_safetensors_write(path.c_str(), names, &tensor, 1, nullptr,
                                  nullptr, 0),
            nullptr);
  ssm::SafetensorsFile reader = ssm::SafetensorsFile::open(path);
  EXPECT_EQ(reader.names(), std::vector<std::string>{tricky});
  EXPECT_FALSE(reader.metadata("meta").has_value());
}

TEST(SafetensorsWriteTest, StridesOffsetsAndNoTensors) {
  TempDir dir;
  std::string path = (dir.path() / "t.safetensors").string();
  std::vector<float> storage{9.0f, 1.0f, 2.0f, 3.0f};
  std::vector<int64_t> shape{1, 3}, strides{77, 1};
  DLTensor tensor = tensorOf(storage, shape, DLDataType{kDLFloat, 32, 1});
  tensor.byte_offset = sizeof(float);
  tensor.strides = strides.data();
  const char *names[] = {"t"};
  ASSERT_EQ(ssm_safetensors_write(path.c_str(), names, &tensor, 1, nullptr,
                                  nullptr, 0),
            nullptr);
  ssm::SafetensorsFile reader = ssm::SafetensorsFile::open(path);
  EXPECT_EQ(ssm::toFloatVector(reader.tensor("t")),
            (std::vector<float>{1.0f, 2.0f, 3.0f}));

  // A file of metadata alone is valid.
  const char *keys[] = {"k"};
  const char *values[] = {"v"};
  ASSERT_EQ(
      ssm_safetensors_write(path.c_str(), nullptr, nullptr, 0, keys, values, 1),
      nullptr);
  ssm::SafetensorsFile metadataOnly = ssm::SafetensorsFile::open(path);
  EXPECT_EQ(metadataOnly.size(), 0u);
  EXPECT_EQ(metadataOnly.metadata("k"), std::string("v"));
}

TEST(SafetensorsWriteTest, ReplacesAnExistingFileAndLeavesNoTemporary) {
  TempDir dir;
  std::string path = dir.write("x.safetensors", "old contents");
  std::vector<int32_t> value{42};
  std::vector<int64_t> shape{1};
  DLTensor tensor = tensorOf(value, shape, DLDataType{kDLInt, 32, 1});
  const char *names[] = {"answer"};
  ASSERT_EQ(ssm_safetensors_write(path.c_str(), names, &tensor, 1, nullptr,
                                  nullptr, 0),
            nullptr);
  EXPECT_TRUE(ssm::SafetensorsFile::open(path).has("answer"));
  size_t files = 0;
  for (const fs::directory_entry &entry : fs::directory_iterator(dir.path())) {
    (void)entry;
    ++files;
  }
  EXPECT_EQ(files, 1u);
}

TEST(SafetensorsWriteTest, RejectsBadArgumentsWithoutWriting) {
  TempDir dir;
  std::string path = (dir.path() / "bad.safetensors").string();
  static std::vector<float> data{1.0f, 2.0f, 3.0f, 4.0f};
  static std::vector<int64_t> shape{2, 2}, negative{-1, 2}, strides{1, 2};
  struct Case {
    const char *what;
    ssm_status_code_t code;
    const char *expected;
    void (*mutate)(std::vector<const char *> &names,
                   std::vector<DLTensor> &tensors,
                   std::vector<const char *> &keys,
                   std::vector<const char *> &values);
  };
  using Names = std::vector<const char *>;
  using Tensors = std::vector<DLTensor>;
  Case cases[] = {
      {"duplicate name", SSM_STATUS_INVALID_ARGUMENT,
       "tensor 1 ('a'): the name is used twice",
       [](Names &n, Tensors &, Names &, Names &) { n[1] = "a"; }},
      {"empty name", SSM_STATUS_INVALID_ARGUMENT,
       "tensor 0 (''): the name is empty",
       [](Names &n, Tensors &, Names &, Names &) { n[0] = ""; }},
      {"NULL name", SSM_STATUS_INVALID_ARGUMENT, "tensor 1: name is NULL",
       [](Names &n, Tensors &, Names &, Names &) { n[1] = nullptr; }},
      {"reserved name", SSM_STATUS_INVALID_ARGUMENT,
       "tensor 0 ('__metadata__'): the name is reserved",
       [](Names &n, Tensors &, Names &, Names &) { n[0] = "__metadata__"; }},
      {"invalid UTF-8", SSM_STATUS_INVALID_ARGUMENT,
       "the name is not valid UTF-8",
       [](Names &n, Tensors &, Names &, Names &) { n[0] = "bad\xff"; }},
      {"device", SSM_STATUS_INVALID_ARGUMENT,
       "tensor 1 ('b'): expected a kDLCPU tensor",
       [](Names &, Tensors &t, Names &, Names &) {
         t[1].device = DLDevice{kDLCUDA, 0};
       }},
      {"dtype without a name", SSM_STATUS_UNIMPLEMENTED,
       "tensor 0 ('a'): dtype (code 2, 32 bits, 2 lanes) has no safetensors "
       "spelling",
       [](Names &, Tensors &t, Names &, Names &) { t[0].dtype.lanes = 2; }},
      {"complex", SSM_STATUS_UNIMPLEMENTED, "(code 5, 64 bits, 1 lanes)",
       [](Names &, Tensors &t, Names &, Names &) {
         t[0].dtype = DLDataType{kDLComplex, 64, 1};
       }},
      {"negative dim", SSM_STATUS_INVALID_ARGUMENT,
       "tensor 0 ('a'): dim 0 is -1",
       [](Names &, Tensors &t, Names &, Names &) {
         t[0].shape = negative.data();
       }},
      {"NULL shape", SSM_STATUS_INVALID_ARGUMENT, "shape is NULL",
       [](Names &, Tensors &t, Names &, Names &) { t[0].shape = nullptr; }},
      {"strided", SSM_STATUS_INVALID_ARGUMENT,
       "tensor 0 ('a'): strides are not compact row-major (dim 1 has stride "
       "2, expected 1)",
       [](Names &, Tensors &t, Names &, Names &) {
         t[0].strides = strides.data();
       }},
      {"NULL data", SSM_STATUS_INVALID_ARGUMENT, "tensor 1 ('b'): data is NULL",
       [](Names &, Tensors &t, Names &, Names &) { t[1].data = nullptr; }},
      {"NULL metadata key", SSM_STATUS_INVALID_ARGUMENT,
       "metadata entry 1: key is NULL",
       [](Names &, Tensors &, Names &k, Names &) { k[1] = nullptr; }},
      {"duplicate metadata key", SSM_STATUS_INVALID_ARGUMENT,
       "the key 'meta' is used twice",
       [](Names &, Tensors &, Names &k, Names &) { k[1] = "meta"; }},
      {"invalid UTF-8 metadata", SSM_STATUS_INVALID_ARGUMENT,
       "metadata entry 0 ('meta'): not valid UTF-8",
       [](Names &, Tensors &, Names &, Names &v) { v[0] = "\xc3"; }},
  };
  for (const Case &c : cases) {
    SCOPED_TRACE(c.what);
    Names names{"a", "b"};
    Tensors tensors{tensorOf(data, shape, DLDataType{kDLFloat, 32, 1}),
                    tensorOf(data, shape, DLDataType{kDLFloat, 32, 1})};
    Names keys{"meta", "other"}, values{"{}", "x"};
    c.mutate(names, tensors, keys, values);
    Failure failure = consume(ssm_safetensors_write(
        path.c_str(), names.data(), tensors.data(), names.size(), keys.data(),
        values.data(), keys.size()));
    EXPECT_EQ(failure.code, c.code) << failure.message;
    EXPECT_NE(failure.message.find(c.expected), std::string::npos)
        << "missing \"" << c.expected << "\" in: " << failure.message;
    EXPECT_EQ(failure.message.rfind(path, 0), 0u) << failure.message;
    EXPECT_FALSE(fs::exists(path));
  }
  EXPECT_TRUE(fs::is_empty(dir.path()));
}

TEST(SafetensorsWriteTest, NullArraysAndUnwritablePaths) {
  TempDir dir;
  std::string path = (dir.path() / "x.safetensors").string();
  EXPECT_EQ(consume(ssm_safetensors_write(nullptr, nullptr, nullptr, 0, nullptr,
                                          nullptr, 0))
                .code,
            SSM_STATUS_INVALID_ARGUMENT);
  Failure failure = consume(ssm_safetensors_write(
      path.c_str(), nullptr, nullptr, 2, nullptr, nullptr, 0));
  EXPECT_EQ(failure.code, SSM_STATUS_INVALID_ARGUMENT);
  EXPECT_NE(failure.message.find("names is NULL but count is 2"),
            std::string::npos)
      << failure.message;
  failure = consume(ssm_safetensors_write(path.c_str(), nullptr, nullptr, 0,
                                          nullptr, nullptr, 1));
  EXPECT_NE(failure.message.find("metadata_keys is NULL"), std::string::npos)
      << failure.message;

  std::string inMissingDir =
      (dir.path() / "no/such/dir/x.safetensors").string();
  failure = consume(ssm_safetensors_write(inMissingDir.c_str(), nullptr,
                                          nullptr, 0, nullptr, nullptr, 0));
  EXPECT_EQ(failure.code, SSM_STATUS_IO_ERROR) << failure.message;
  EXPECT_NE(failure.message.find("cannot create"), std::string::npos)
      << failure.message;
}

TEST(SafetensorsWriteTest, CppWrapperWithHostTensors) {
  TempDir dir;
  std::string path = (dir.path() / "cpp.safetensors").string();
  ssm::HostTensor y(DLDataType{kDLFloat, 64, 1}, {2, 2});
  double *values = static_cast<double *>(y.data());
  for (int i = 0; i < 4; ++i)
    values[i] = 0.5 * i;
  ssm::writeSafetensors(path, {{"y", y.view()}}, {{"producer", "test"}});
  ssm::SafetensorsFile file = ssm::SafetensorsFile::open(path);
  EXPECT_EQ(ssm::toDoubleVector(file.tensor("y")),
            (std::vector<double>{0.0, 0.5, 1.0, 1.5}));
  EXPECT_EQ(file.metadata("producer"), std::string("test"));
  ssm::HostTensor copy = ssm::HostTensor::copyOf(file.tensor("y"));
  EXPECT_EQ(std::memcmp(copy.data(), y.data(), y.bytes()), 0);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(copy.data()) % 64, 0u);
  EXPECT_THROW(ssm::writeSafetensors(path, {{"y", y.view()}, {"y", y.view()}}),
               ssm::Error);
}
