// Tests of the CPU target machine behind ssmc --cpu: the names it accepts,
// the features it records for the manifest, and their agreement with what
// the runtime detects on this processor (so that --cpu=native artifacts load
// where they were compiled).
#include "ssm/Target/CPU/CpuEmitter.h"

#include "CpuFeatures.h"
#include "ssm/cpu_features.h"

#include "llvm/MC/MCSubtargetInfo.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/TargetParser/Host.h"
#include "llvm/TargetParser/Triple.h"

#include <gtest/gtest.h>

#include <algorithm>

using namespace mlir::ssm;

namespace {

CpuTarget targetOrDie(llvm::StringRef cpu) {
  llvm::Expected<CpuTarget> target = createCpuTarget(cpu);
  if (!target) {
    ADD_FAILURE() << llvm::toString(target.takeError());
    return CpuTarget();
  }
  return std::move(*target);
}

bool has(const CpuTarget &target, llvm::StringRef feature) {
  return llvm::is_contained(target.features, feature);
}

bool isX86Host() {
  return llvm::Triple(llvm::sys::getProcessTriple()).getArch() ==
         llvm::Triple::x86_64;
}

TEST(CpuTargetTest, NamesAreChecked) {
  EXPECT_FALSE(bool(checkCpuName("native")));
  llvm::Error unknown = checkCpuName("pentium9");
  ASSERT_TRUE(bool(unknown));
  std::string message = llvm::toString(std::move(unknown));
  EXPECT_NE(message.find("unknown CPU 'pentium9'"), std::string::npos)
      << message;
  llvm::Error empty = checkCpuName("");
  EXPECT_TRUE(bool(empty));
  llvm::consumeError(std::move(empty));
  llvm::Expected<CpuTarget> none = createCpuTarget("pentium9");
  EXPECT_FALSE(bool(none));
  if (!none)
    llvm::consumeError(none.takeError());
  std::vector<std::string> names = knownCpuNames();
  EXPECT_FALSE(names.empty());
  for (const std::string &name : names)
    EXPECT_FALSE(bool(checkCpuName(name))) << name;
}

TEST(CpuTargetTest, EveryListedFeatureIsOneLLVMKnows) {
  if (!isX86Host())
    GTEST_SKIP() << "x86-64 features";
  CpuTarget target = targetOrDie("x86-64");
  ASSERT_TRUE(target.machine);
  llvm::ArrayRef<llvm::SubtargetFeatureKV> table =
      target.machine->getMCSubtargetInfo()->getAllProcessorFeatures();
  for (std::string_view name : ::ssm::runtime::kX86CpuFeatures)
    EXPECT_TRUE(llvm::any_of(table, [&](const llvm::SubtargetFeatureKV &kv) {
      return std::string_view(kv.Key) == name;
    })) << name;
}

TEST(CpuTargetTest, LevelsRecordWhatTheyImply) {
  if (!isX86Host())
    GTEST_SKIP() << "x86-64 levels";
  CpuTarget base = targetOrDie("x86-64");
  EXPECT_EQ(base.arch, "x86_64");
  EXPECT_EQ(base.name, "x86-64");
  EXPECT_EQ(base.features, (std::vector<std::string>{"sse", "sse2"}));
  EXPECT_EQ(base.vectorWidth(), 4);

  CpuTarget v3 = targetOrDie("x86-64-v3");
  for (const char *feature : {"sse4.2", "popcnt", "avx", "avx2", "fma", "bmi2",
                              "f16c", "lzcnt", "movbe"})
    EXPECT_TRUE(has(v3, feature)) << feature;
  EXPECT_FALSE(has(v3, "avx512f"));
  EXPECT_EQ(v3.vectorWidth(), 8);

  CpuTarget v4 = targetOrDie("x86-64-v4");
  for (const char *feature :
       {"avx2", "avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl"})
    EXPECT_TRUE(has(v4, feature)) << feature;
  EXPECT_FALSE(has(v4, "avx512fp16"));
  EXPECT_EQ(v4.vectorWidth(), 16);

  // A processor's own features, those its model implies included.
  CpuTarget sapphire = targetOrDie("sapphirerapids");
  EXPECT_TRUE(has(sapphire, "avx512fp16"));
  EXPECT_TRUE(has(sapphire, "avx512bf16"));
  EXPECT_TRUE(has(sapphire, "sse4.1"));
}

// What ssmc records for --cpu=native is exactly what the runtime finds here
// (both mirror LLVM's host detection): native artifacts load where they were
// built, and the check refuses no more than the code needs.
TEST(CpuTargetTest, NativeMatchesWhatTheRuntimeDetects) {
  CpuTarget native = targetOrDie("native");
  EXPECT_EQ(native.arch, std::string(::ssm::runtime::hostCpuArch()));
  EXPECT_NE(native.name, "native");
  EXPECT_EQ(native.features, ::ssm::runtime::hostCpuFeatures());
}

} // namespace
