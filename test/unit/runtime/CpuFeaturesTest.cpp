// Tests of the processor check of CPU artifacts: this processor's features by
// CPUID, and the refusals (missing features named, unknown names, another
// architecture) that keep code for another processor from being loaded.
#include "CpuFeatures.h"
#include "TestUtil.h"

#include "ssm/cpu_features.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <string>

using namespace ssm::runtime;
using ssm::test::consume;
using ssm::test::Failure;

namespace {

bool contains(const std::string &text, const std::string &part) {
  return text.find(part) != std::string::npos;
}

CpuRequirement requirementOf(std::vector<std::string> features) {
  CpuRequirement requirement;
  requirement.arch = std::string(hostCpuArch());
  requirement.name = "test-cpu";
  requirement.features = std::move(features);
  return requirement;
}

TEST(CpuFeaturesTest, TheListHasNoDuplicates) {
  std::set<std::string_view> names(std::begin(kX86CpuFeatures),
                                   std::end(kX86CpuFeatures));
  EXPECT_EQ(names.size(), std::size(kX86CpuFeatures));
  EXPECT_TRUE(isKnownCpuFeature("x86_64", "avx512f"));
  EXPECT_FALSE(isKnownCpuFeature("x86_64", "avx1024"));
  EXPECT_FALSE(isKnownCpuFeature("aarch64", "avx2"));
}

TEST(CpuFeaturesTest, HostFeaturesAreKnownAndInListOrder) {
  const std::vector<std::string> &features = hostCpuFeatures();
#if defined(__x86_64__)
  EXPECT_EQ(hostCpuArch(), "x86_64");
  // Every x86-64 processor has SSE2.
  EXPECT_NE(std::find(features.begin(), features.end(), "sse2"),
            features.end());
#endif
  size_t previous = 0;
  for (const std::string &feature : features) {
    EXPECT_TRUE(isKnownCpuFeature(hostCpuArch(), feature)) << feature;
    size_t index = std::find(std::begin(kX86CpuFeatures),
                             std::end(kX86CpuFeatures), feature) -
                   std::begin(kX86CpuFeatures);
    EXPECT_GE(index, previous) << feature;
    previous = index;
  }
}

TEST(CpuFeaturesTest, NothingOrTheHostsOwnFeaturesAreAccepted) {
  EXPECT_EQ(checkCpuRequirement(requirementOf({}), "artifact"), nullptr);
  EXPECT_EQ(checkCpuRequirement(requirementOf(hostCpuFeatures()), "artifact"),
            nullptr);
}

#if defined(__x86_64__)
TEST(CpuFeaturesTest, MissingFeaturesAreNamed) {
  // No processor has them all: XOP and FMA4 were AMD's before AVX-512.
  std::vector<std::string> all(std::begin(kX86CpuFeatures),
                               std::end(kX86CpuFeatures));
  Failure failure = consume(checkCpuRequirement(requirementOf(all), "dir"));
  ASSERT_EQ(failure.code, SSM_STATUS_INCOMPATIBLE) << failure.message;
  EXPECT_TRUE(contains(failure.message, "dir: the artifact needs "))
      << failure.message;
  EXPECT_TRUE(contains(failure.message, "compiled for CPU 'test-cpu'"))
      << failure.message;
  EXPECT_TRUE(contains(failure.message, "Recompile it with ssmc --cpu=native"))
      << failure.message;
  const std::vector<std::string> &present = hostCpuFeatures();
  std::string needed =
      failure.message.substr(0, failure.message.find(" (compiled for"));
  for (const std::string &feature : all) {
    bool has =
        std::find(present.begin(), present.end(), feature) != present.end();
    // Names are separated by ", "; check whole names.
    bool named = contains(needed + ",", " " + feature + ",");
    EXPECT_NE(has, named) << feature << " in: " << failure.message;
  }
  EXPECT_TRUE(contains(failure.message, "this processor has none of them"))
      << failure.message;
}

TEST(CpuFeaturesTest, OneMissingFeatureIsLacked) {
  const std::vector<std::string> &present = hostCpuFeatures();
  for (std::string_view name : kX86CpuFeatures) {
    std::string feature(name);
    if (std::find(present.begin(), present.end(), feature) != present.end())
      continue;
    Failure failure =
        consume(checkCpuRequirement(requirementOf({"sse2", feature}), "dir"));
    EXPECT_EQ(failure.code, SSM_STATUS_INCOMPATIBLE);
    EXPECT_TRUE(contains(failure.message, "dir: the artifact needs " + feature +
                                              " (compiled for"))
        << failure.message;
    EXPECT_TRUE(contains(failure.message, "this processor lacks it"))
        << failure.message;
    EXPECT_TRUE(contains(failure.message, "--cpu=x86-64")) << failure.message;
    return;
  }
  GTEST_SKIP() << "this processor has every feature of the list";
}
#endif

TEST(CpuFeaturesTest, UnknownFeatureNamesAreRefused) {
  Failure failure = consume(checkCpuRequirement(
      requirementOf({"sse2", "avx1024", "warp-drive"}), "dir"));
  EXPECT_EQ(failure.code, SSM_STATUS_INCOMPATIBLE);
  EXPECT_TRUE(contains(failure.message,
                       "dir: the artifact needs CPU features avx1024, "
                       "warp-drive, which this runtime does not know how to "
                       "check"))
      << failure.message;
}

TEST(CpuFeaturesTest, AnotherArchitectureIsRefused) {
  CpuRequirement requirement = requirementOf({});
  requirement.arch = "sparc64";
  Failure failure = consume(checkCpuRequirement(requirement, "dir"));
  EXPECT_EQ(failure.code, SSM_STATUS_INCOMPATIBLE);
  EXPECT_TRUE(contains(failure.message,
                       "dir: the artifact was compiled for sparc64 (CPU "
                       "'test-cpu'); this processor is " +
                           std::string(hostCpuArch())))
      << failure.message;
}

} // namespace
