//===- TestVectorsTest.cpp - The reference against the shared vectors ----===//
//
// The float64 reference must reproduce every shared op vector (computed by
// mamba_ssm's and PyTorch's own reference code) within the README's
// tolerance, and must reject files it cannot interpret.
//
//===----------------------------------------------------------------------===//

#include "ssm/Reference/TestVectors.h"

#include "gtest/gtest.h"

#include <cstdio>
#include <cstring>
#include <fstream>

using namespace ssm::reference;

namespace {

const std::string kOpsDir = std::string(SSM_TESTDATA_DIR) + "/ops/";

// Tolerance from ../shared/testdata/README.md: max abs error / max |reference|.
constexpr double kTolerance = 1e-4;

class SharedOpVector : public ::testing::TestWithParam<const char *> {};

TEST_P(SharedOpVector, ReferenceMatchesWithinTolerance) {
  llvm::Expected<TestVectorResult> result =
      checkTestVector(kOpsDir + GetParam());
  ASSERT_TRUE(bool(result)) << llvm::toString(result.takeError());
  ASSERT_FALSE(result->outputs.empty());
  for (const OutputComparison &output : result->outputs) {
    EXPECT_GT(output.maxAbsReference, 0.0) << output.name;
    EXPECT_LE(output.relativeError(), kTolerance)
        << GetParam() << " output '" << output.name << "'";
  }
}

INSTANTIATE_TEST_SUITE_P(
    Ops, SharedOpVector,
    ::testing::Values("ssd_00.safetensors", "ssd_01.safetensors",
                      "selective_scan_02.safetensors",
                      "selective_scan_03.safetensors",
                      "softmax_attention_04.safetensors",
                      "softmax_attention_05.safetensors",
                      "linear_attention_06.safetensors",
                      "linear_attention_07.safetensors"),
    [](const ::testing::TestParamInfo<const char *> &info) {
      std::string name = info.param;
      return name.substr(0, name.find('.'));
    });

TEST(SharedOpVectorOutputs, StatefulKindsCompareTheFinalState) {
  for (const char *file :
       {"ssd_01.safetensors", "selective_scan_02.safetensors"}) {
    llvm::Expected<TestVectorResult> result = checkTestVector(kOpsDir + file);
    ASSERT_TRUE(bool(result)) << llvm::toString(result.takeError());
    ASSERT_EQ(result->outputs.size(), 2u) << file;
    EXPECT_EQ(result->outputs[1].name, "final_state");
  }
}

/// Writes a minimal safetensors file holding one F32 tensor `x` [1] and the
/// given case description.
std::string writeVector(const std::string &name, const std::string &meta) {
  std::string escaped;
  for (char c : meta) {
    if (c == '"' || c == '\\')
      escaped += '\\';
    escaped += c;
  }
  std::string header = "{\"__metadata__\":{\"meta\":\"" + escaped +
                       "\"},\"x\":{\"dtype\":\"F32\",\"shape\":[1],"
                       "\"data_offsets\":[0,4]}}";
  std::string path = ::testing::TempDir() + name;
  std::ofstream out(path, std::ios::binary);
  uint64_t length = header.size();
  out.write(reinterpret_cast<const char *>(&length), 8);
  out << header;
  float value = 1.0f;
  out.write(reinterpret_cast<const char *>(&value), 4);
  return path;
}

std::string errorOf(const std::string &path) {
  llvm::Expected<TestVectorResult> result = checkTestVector(path);
  if (result)
    return "";
  return llvm::toString(result.takeError());
}

TEST(SharedOpVectorErrors, MissingFileIsAnError) {
  std::string error = errorOf(kOpsDir + "no_such_vector.safetensors");
  EXPECT_NE(error.find("no_such_vector.safetensors"), std::string::npos)
      << error;
}

TEST(SharedOpVectorErrors, UnknownKindIsAnError) {
  std::string error = errorOf(writeVector("unknown_kind.safetensors",
                                          R"({"kind": "convolution"})"));
  EXPECT_NE(error.find("unknown kind 'convolution'"), std::string::npos)
      << error;
}

TEST(SharedOpVectorErrors, MissingTensorIsNamed) {
  std::string error =
      errorOf(writeVector("missing_tensor.safetensors", R"({"kind": "ssd"})"));
  EXPECT_FALSE(error.empty());
  EXPECT_NE(error.find("'dt'"), std::string::npos) << error;
}

TEST(SharedOpVectorErrors, DescriptionMustBeJson) {
  std::string error =
      errorOf(writeVector("bad_meta.safetensors", "{not json"));
  EXPECT_NE(error.find("not JSON"), std::string::npos) << error;
}

} // namespace
