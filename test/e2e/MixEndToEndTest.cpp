//===- MixEndToEndTest.cpp - ssm.mix through the whole stack --------------===//
//
// Each case is an ssm.mix (shapes, score, mask, decay, states, dynamic
// sizes) compiled with every legal algorithm by the real pipeline, loaded
// with the runtime, run on random inputs and compared with the float64
// reference. The shapes deliberately differ from the shared vectors: lengths
// of 1 and not multiples of any tile, odd head dims, grouped heads both
// ways, windows, full masks; bf16 and f16 storage as well as f32.
//
//===----------------------------------------------------------------------===//

#include "MixCases.h"

#include "ssm/Driver/Driver.h"
#include "ssm/Reference/Mix.h"
#include "ssm/runtime.h"

// The emulator's count of graph launches.
#include "CudaDriver.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "llvm/ADT/APFloat.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"

#include "gtest/gtest.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

using namespace mlir;
using ::ssm::reference::Tensor;

namespace {

std::string take(ssm_status_t status) {
  std::string message = ssm_status_message(status);
  ssm_status_free(status);
  return message;
}

using ::ssm::testing::CaseData;
using ::ssm::testing::Decay;
using ::ssm::testing::MixCase;
using ::ssm::testing::Storage;
using ::ssm::testing::StoredTensor;

class MixEndToEnd : public ::testing::TestWithParam<MixCase> {
protected:
  static void SetUpTestSuite() {
    registry = new DialectRegistry();
    mlir::ssm::registerCompilerDialects(*registry);
    // CUDA artifacts run on the runtime's host emulator here (no GPU).
    setenv("SSM_CUDA_EMULATOR", "1", 1);
  }
  static void TearDownTestSuite() { delete registry; }
  static DialectRegistry *registry;

  /// Compiles for `target` (cpu, or cuda run on the emulator), runs and
  /// compares one algorithm.
  void check(const MixCase &c, const std::string &algorithm,
             int64_t chunkSize, const std::string &target = "cpu") {
    SCOPED_TRACE(target + " " + algorithm +
                 (chunkSize ? "/" + std::to_string(chunkSize) : std::string()));
    MLIRContext context(*registry);
    std::string diagnostics;
    ScopedDiagnosticHandler handler(&context, [&](Diagnostic &diagnostic) {
      diagnostics += diagnostic.str() + "\n";
      return success();
    });
    std::string text = ::ssm::testing::mlirOf(c);
    OwningOpRef<ModuleOp> module = parseSourceString<ModuleOp>(text, &context);
    ASSERT_TRUE(module) << diagnostics << text;

    llvm::SmallString<128> dir;
    ASSERT_FALSE(llvm::sys::fs::createUniqueDirectory("ssm-e2e", dir));
    mlir::ssm::CompileOptions options;
    options.target = target;
    options.algorithm = algorithm;
    options.chunkSize = chunkSize;
    options.output = dir.str().str();
    options.cudaEmulation = target == "cuda";
    ASSERT_EQ(mlir::ssm::compileModule(*module, options),
              mlir::ssm::CompileResult::Success)
        << diagnostics << text;

    ssm_module_t *loaded = nullptr;
    ssm_status_t status = ssm_module_load(dir.c_str(), &loaded);
    ASSERT_EQ(status, nullptr) << take(status);
    const ssm_function_t *function = nullptr;
    status = ssm_module_function_at(loaded, 0, &function);
    ASSERT_EQ(status, nullptr) << take(status);

    std::string referenceError;
    CaseData data = ::ssm::testing::makeCaseData(c, referenceError);
    ASSERT_TRUE(referenceError.empty()) << referenceError;
    ::ssm::testing::Shapes s = ::ssm::testing::shapesOf(c);
    std::vector<StoredTensor> outputs = {StoredTensor(s.y, c.storage)};
    if (c.finalState)
      outputs.emplace_back(s.state, c.storage);
    std::vector<DLTensor> inputViews, outputViews;
    for (StoredTensor &t : data.inputs)
      inputViews.push_back(t.view());
    for (StoredTensor &t : outputs)
      outputViews.push_back(t.view());
    // On the device: copies of every tensor in its memory.
    std::vector<void *> deviceMemory;
    auto toDevice = [&](DLTensor &view, StoredTensor &host) {
      void *memory = nullptr;
      ASSERT_EQ(ssm_module_allocate(loaded, host.bytes.size(), &memory),
                nullptr);
      ASSERT_EQ(ssm_module_copy_to_device(loaded, memory, host.bytes.data(),
                                          host.bytes.size()),
                nullptr);
      deviceMemory.push_back(memory);
      view.data = memory;
      view.device = ssm_module_device(loaded);
    };
    if (target == "cuda") {
      for (size_t i = 0; i < inputViews.size(); ++i)
        toDevice(inputViews[i], data.inputs[i]);
      for (size_t o = 0; o < outputViews.size(); ++o)
        toDevice(outputViews[o], outputs[o]);
    }
    status = ssm_function_invoke(function, inputViews.data(),
                                 inputViews.size(), outputViews.data(),
                                 outputViews.size());
    if (!status)
      status = ssm_module_synchronize(loaded);
    if (!status && target == "cuda")
      for (size_t o = 0; o < outputs.size() && !status; ++o)
        status = ssm_module_copy_to_host(loaded, outputs[o].bytes.data(),
                                         outputViews[o].data,
                                         outputs[o].bytes.size());
    for (void *memory : deviceMemory)
      ssm_module_free(loaded, memory);
    ssm_module_release(loaded);
    llvm::sys::fs::remove_directories(dir);
    ASSERT_EQ(status, nullptr) << take(status);

    double tolerance = target == "cuda" ? ::ssm::testing::cudaToleranceOf(c.storage)
                                        : ::ssm::testing::toleranceOf(c.storage);
    EXPECT_LE(::ssm::testing::relativeError(outputs[0].toReference(),
                                          data.expected[0]),
              tolerance)
        << "y of " << c.name;
    if (c.finalState)
      EXPECT_LE(::ssm::testing::relativeError(outputs[1].toReference(),
                                            data.expected[1]),
                tolerance)
          << "final_state of " << c.name;
  }

  /// Every algorithm the case can take, on `target`.
  void checkEveryAlgorithm(const MixCase &c, const std::string &target,
                           std::initializer_list<int64_t> chunkSizes) {
    check(c, "quadratic", 0, target);
    bool finiteState = c.score == ::ssm::reference::Score::Linear &&
                       c.mask == ::ssm::reference::Mask::Causal &&
                       !c.isAgainstCache();
    if (!finiteState)
      return;
    check(c, "recurrent", 0, target);
    if (c.decay == Decay::Diagonal)
      return;
    for (int64_t chunk : chunkSizes)
      check(c, "chunked", chunk, target);
  }
};

DialectRegistry *MixEndToEnd::registry = nullptr;

TEST_P(MixEndToEnd, EveryLegalAlgorithmMatchesTheReference) {
  checkEveryAlgorithm(GetParam(), "cpu", {32, 16});
}

// The generated CUDA kernels, run by the runtime's CUDA loader on the host
// emulator: chunk 64 takes the tensor-core kernel where the shapes allow.
// Queries against a cache run on the SIMT quadratic kernel.
TEST_P(MixEndToEnd, EveryLegalAlgorithmOnTheCudaEmulatorMatchesTheReference) {
  checkEveryAlgorithm(GetParam(), "cuda", {32, 64});
}

/// Compiles `c` for the CUDA backend with its host emulation into a new
/// directory `dir` and loads it on the emulator.
void loadOnTheEmulator(const MixCase &c, llvm::SmallString<128> &dir,
                       ssm_module_t **loaded,
                       const ssm_function_t **function) {
  setenv("SSM_CUDA_EMULATOR", "1", 1);
  DialectRegistry registry;
  mlir::ssm::registerCompilerDialects(registry);
  MLIRContext context(registry);
  OwningOpRef<ModuleOp> module =
      parseSourceString<ModuleOp>(::ssm::testing::mlirOf(c), &context);
  ASSERT_TRUE(module);
  ASSERT_FALSE(llvm::sys::fs::createUniqueDirectory("ssm-e2e", dir));
  mlir::ssm::CompileOptions options;
  options.target = "cuda";
  options.output = dir.str().str();
  options.cudaEmulation = true;
  ASSERT_EQ(mlir::ssm::compileModule(*module, options),
            mlir::ssm::CompileResult::Success);
  ASSERT_EQ(ssm_module_load(dir.c_str(), loaded), nullptr);
  ASSERT_EQ(ssm_module_function_at(*loaded, 0, function), nullptr);
}

// A kDLCUDA tensor must hold the driver's memory: a host pointer is refused
// before any kernel runs, naming the tensor (the loader asks the driver about
// every tensor of every call).
TEST(MixOnTheCudaEmulator, RefusesHostMemoryInACudaTensor) {
  // A case with elements in every tensor (bytes = 0 is not checked).
  std::vector<MixCase> cases = ::ssm::testing::standardCases();
  const MixCase &c = *llvm::find_if(cases, [](const MixCase &m) {
    return m.length >= 2 && !m.isAgainstCache() && !m.finalState;
  });
  llvm::SmallString<128> dir;
  ssm_module_t *loaded = nullptr;
  const ssm_function_t *function = nullptr;
  ASSERT_NO_FATAL_FAILURE(loadOnTheEmulator(c, dir, &loaded, &function));

  std::string referenceError;
  CaseData data = ::ssm::testing::makeCaseData(c, referenceError);
  ASSERT_TRUE(referenceError.empty()) << referenceError;
  StoredTensor output(::ssm::testing::shapesOf(c).y, c.storage);
  ASSERT_FALSE(c.finalState) << c.name << " has a second output";
  std::vector<DLTensor> inputs;
  std::vector<void *> deviceMemory;
  for (StoredTensor &t : data.inputs) {
    inputs.push_back(t.view());
    void *memory = nullptr;
    ASSERT_EQ(ssm_module_allocate(loaded, t.bytes.size(), &memory), nullptr);
    deviceMemory.push_back(memory);
    inputs.back().data = memory;
    inputs.back().device = ssm_module_device(loaded);
  }
  DLTensor outputView = output.view();
  outputView.device = ssm_module_device(loaded);
  void *outputMemory = nullptr;
  ASSERT_EQ(ssm_module_allocate(loaded, output.bytes.size(), &outputMemory),
            nullptr);
  deviceMemory.push_back(outputMemory);
  outputView.data = outputMemory;
  ssm_status_t status = ssm_function_invoke(function, inputs.data(),
                                            inputs.size(), &outputView, 1);
  ASSERT_EQ(status, nullptr) << take(status);

  // Input 1 and then the output point at host memory.
  inputs[1].data = data.inputs[1].bytes.data();
  status = ssm_function_invoke(function, inputs.data(), inputs.size(),
                               &outputView, 1);
  ASSERT_NE(status, nullptr);
  std::string message = take(status);
  EXPECT_NE(message.find("input 1 ("), std::string::npos) << message;
  EXPECT_NE(message.find("data is not memory the CUDA driver knows"),
            std::string::npos)
      << message;
  inputs[1].data = deviceMemory[1];
  outputView.data = output.bytes.data();
  status = ssm_function_invoke(function, inputs.data(), inputs.size(),
                               &outputView, 1);
  ASSERT_NE(status, nullptr);
  message = take(status);
  EXPECT_NE(message.find("output 0 ("), std::string::npos) << message;
  for (void *memory : deviceMemory)
    ssm_module_free(loaded, memory);
  ssm_module_release(loaded);
  llvm::sys::fs::remove_directories(dir);
}

// A call seen again with the same tensors replays a graph of its launches
// (captured the third time); a call with any other tensor launches its own
// kernels, and becomes a graph of its own when it repeats. Two sets of
// inputs (other values) and two sets of outputs alternate: every output is
// poisoned before its call and checked against the reference of the inputs
// it was given, so a graph replayed for tensors other than its own fails.
TEST(MixOnTheCudaEmulator, RepeatedCallsReplayAGraphOfTheirOwnTensors) {
  std::vector<MixCase> cases = ::ssm::testing::standardCases();
  const MixCase &c = *llvm::find_if(cases, [](const MixCase &m) {
    return m.length >= 2 && !m.isAgainstCache() && m.finalState;
  });
  llvm::SmallString<128> dir;
  ssm_module_t *loaded = nullptr;
  const ssm_function_t *function = nullptr;
  ASSERT_NO_FATAL_FAILURE(loadOnTheEmulator(c, dir, &loaded, &function));

  std::vector<void *> deviceMemory;
  auto onDevice = [&](StoredTensor &host, DLTensor &view) {
    void *memory = nullptr;
    ASSERT_EQ(ssm_module_allocate(loaded, host.bytes.size(), &memory), nullptr);
    ASSERT_EQ(ssm_module_copy_to_device(loaded, memory, host.bytes.data(),
                                        host.bytes.size()),
              nullptr);
    deviceMemory.push_back(memory);
    view = host.view();
    view.data = memory;
    view.device = ssm_module_device(loaded);
  };
  std::string referenceError;
  CaseData data[2] = {::ssm::testing::makeCaseData(c, referenceError, 42),
                      ::ssm::testing::makeCaseData(c, referenceError, 7)};
  ASSERT_TRUE(referenceError.empty()) << referenceError;
  std::vector<DLTensor> inputs[2];
  for (int set = 0; set < 2; ++set)
    for (StoredTensor &t : data[set].inputs) {
      inputs[set].emplace_back();
      onDevice(t, inputs[set].back());
    }
  ::ssm::testing::Shapes s = ::ssm::testing::shapesOf(c);
  std::vector<StoredTensor> host = {StoredTensor(s.y, c.storage),
                                    StoredTensor(s.state, c.storage)};
  std::vector<DLTensor> outputs[2];
  for (int set = 0; set < 2; ++set)
    for (StoredTensor &t : host) {
      outputs[set].emplace_back();
      onDevice(t, outputs[set].back());
    }

  // (inputs, outputs) of each call, and whether a graph runs it.
  const struct {
    int inputs, outputs;
    bool replayed;
  } calls[] = {{0, 0, false}, {0, 0, false}, {0, 0, true},  {1, 0, false},
               {1, 0, false}, {1, 0, true},  {0, 1, false}, {0, 1, false},
               {0, 1, true},  {1, 1, false}, {0, 0, true},  {1, 0, true},
               {1, 1, false}, {1, 1, true}};
  for (const auto &call : calls) {
    SCOPED_TRACE(::testing::Message()
                 << "inputs " << call.inputs << ", outputs " << call.outputs);
    for (size_t o = 0; o < host.size(); ++o) {
      std::vector<uint8_t> poison(host[o].bytes.size(), 0xFF);
      ASSERT_EQ(ssm_module_copy_to_device(loaded, outputs[call.outputs][o].data,
                                          poison.data(), poison.size()),
                nullptr);
    }
    unsigned long graphsBefore = ::ssm::runtime::cuda::emulatorGraphLaunches();
    ssm_status_t status = ssm_function_invoke(
        function, inputs[call.inputs].data(), inputs[call.inputs].size(),
        outputs[call.outputs].data(), outputs[call.outputs].size());
    ASSERT_EQ(status, nullptr) << take(status);
    ASSERT_EQ(ssm_module_synchronize(loaded), nullptr);
    EXPECT_EQ(::ssm::runtime::cuda::emulatorGraphLaunches() - graphsBefore,
              call.replayed ? 1u : 0u);
    for (size_t o = 0; o < host.size(); ++o) {
      ASSERT_EQ(ssm_module_copy_to_host(loaded, host[o].bytes.data(),
                                        outputs[call.outputs][o].data,
                                        host[o].bytes.size()),
                nullptr);
      EXPECT_LE(::ssm::testing::relativeError(host[o].toReference(),
                                              data[call.inputs].expected[o]),
                ::ssm::testing::cudaToleranceOf(c.storage))
          << "output " << o << " of " << c.name;
    }
  }
  for (void *memory : deviceMemory)
    ssm_module_free(loaded, memory);
  ssm_module_release(loaded);
  llvm::sys::fs::remove_directories(dir);
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, MixEndToEnd, ::testing::ValuesIn(::ssm::testing::standardCases()),
    [](const ::testing::TestParamInfo<MixCase> &info) {
      return std::string(info.param.name);
    });

} // namespace
