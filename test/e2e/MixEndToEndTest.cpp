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

#include "ssm/Driver/Driver.h"
#include "ssm/Reference/Mix.h"
#include "ssm/runtime.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "llvm/ADT/APFloat.h"
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

enum class Decay { None, Scalar, Diagonal };

/// The storage type of every operand and result (kernels compute in f32).
enum class Storage { F32, BF16, F16 };

struct MixCase {
  const char *name;
  int64_t batch, length, queryHeads, keyHeads, valueHeads, stateSize,
      valueDim;
  ::ssm::reference::Score score = ::ssm::reference::Score::Linear;
  ::ssm::reference::Mask mask = ::ssm::reference::Mask::Causal;
  int64_t window = 0;
  Decay decay = Decay::None;
  bool initialState = false;
  bool finalState = false;
  /// Batch and length are `?` in the function's types.
  bool dynamic = false;
  Storage storage = Storage::F32;
};

const char *mlirName(Storage storage) {
  switch (storage) {
  case Storage::F32:
    return "f32";
  case Storage::BF16:
    return "bf16";
  case Storage::F16:
    return "f16";
  }
  return "f32";
}

/// Max |error| / max |reference| allowed: the 1e-4 of the shared vectors
/// for f32; for 16-bit storage, twice what rounding the result alone may
/// cost (half an ulp: 2^-8 for bf16's 8 significant bits, 2^-11 for f16's
/// 11). The inputs are drawn representable, so they add nothing.
double toleranceOf(Storage storage) {
  switch (storage) {
  case Storage::F32:
    return 1e-4;
  case Storage::BF16:
    return 8e-3;
  case Storage::F16:
    return 1e-3;
  }
  return 1e-4;
}

const llvm::fltSemantics &semanticsOf(Storage storage) {
  switch (storage) {
  case Storage::F32:
    return llvm::APFloat::IEEEsingle();
  case Storage::BF16:
    return llvm::APFloat::BFloat();
  case Storage::F16:
    return llvm::APFloat::IEEEhalf();
  }
  return llvm::APFloat::IEEEsingle();
}

/// `value` rounded to the storage type (nearest, ties to even).
llvm::APFloat toStorage(double value, Storage storage) {
  llvm::APFloat result(value);
  bool losesInfo = false;
  result.convert(semanticsOf(storage), llvm::APFloat::rmNearestTiesToEven,
                 &losesInfo);
  return result;
}

double fromStorage(const llvm::APFloat &value) {
  llvm::APFloat wide = value;
  bool losesInfo = false;
  wide.convert(llvm::APFloat::IEEEdouble(), llvm::APFloat::rmNearestTiesToEven,
               &losesInfo);
  return wide.convertToDouble();
}

std::ostream &operator<<(std::ostream &os, const MixCase &c) {
  return os << c.name;
}

std::string typeOf(const std::vector<int64_t> &shape, int dynamicDims,
                   Storage storage) {
  std::string text = "tensor<";
  for (size_t i = 0; i < shape.size(); ++i)
    text += (static_cast<int>(i) < dynamicDims ? std::string("?")
                                               : std::to_string(shape[i])) +
            "x";
  return text + mlirName(storage) + ">";
}

/// The shapes of a case's operands and results.
struct Shapes {
  std::vector<int64_t> q, k, v, dt, a, state, y;
};

Shapes shapesOf(const MixCase &c) {
  int64_t heads = std::max({c.queryHeads, c.keyHeads, c.valueHeads});
  Shapes s;
  s.q = {c.batch, c.length, c.queryHeads, c.stateSize};
  s.k = {c.batch, c.length, c.keyHeads, c.stateSize};
  s.v = {c.batch, c.length, c.valueHeads, c.valueDim};
  s.dt = {c.batch, c.length, heads};
  s.a = c.decay == Decay::Diagonal ? std::vector<int64_t>{heads, c.stateSize}
                                   : std::vector<int64_t>{heads};
  s.state = {c.batch, heads, c.valueDim, c.stateSize};
  s.y = {c.batch, c.length, heads, c.valueDim};
  return s;
}

std::string mlirOf(const MixCase &c) {
  Shapes s = shapesOf(c);
  int d = c.dynamic ? 2 : 0, ds = c.dynamic ? 1 : 0;
  auto typeOf = [&](const std::vector<int64_t> &shape, int dynamicDims) {
    return ::typeOf(shape, dynamicDims, c.storage);
  };
  std::string args = "%q: " + typeOf(s.q, d) + ", %k: " + typeOf(s.k, d) +
                     ", %v: " + typeOf(s.v, d);
  std::string operands = "%q, %k, %v";
  std::string types = typeOf(s.q, d) + ", " + typeOf(s.k, d) + ", " +
                      typeOf(s.v, d);
  std::string suffix;
  if (c.decay != Decay::None) {
    args += ", %dt: " + typeOf(s.dt, d) + ", %A: " + typeOf(s.a, 0);
    suffix += " decay(%dt, %A)";
    types += ", " + typeOf(s.dt, d) + ", " + typeOf(s.a, 0);
  }
  if (c.initialState) {
    args += ", %s0: " + typeOf(s.state, ds);
    suffix += " initial_state(%s0)";
    types += ", " + typeOf(s.state, ds);
  }
  std::string results = typeOf(s.y, d);
  std::string names = "%y";
  if (c.finalState) {
    results += ", " + typeOf(s.state, ds);
    names += ", %s";
  }
  std::string score = "linear";
  if (c.score == ::ssm::reference::Score::Softmax)
    score = llvm::formatv("softmax(scale = {0:e16})",
                          1.0 / std::sqrt(double(c.stateSize)))
                .str();
  std::string mask = c.mask == ::ssm::reference::Mask::Causal ? "causal"
                     : c.mask == ::ssm::reference::Mask::Full
                         ? "full"
                         : "window(" + std::to_string(c.window) + ")";
  return llvm::formatv("func.func @mix({0}) -> ({1}) {{\n"
                       "  {2} = ssm.mix {3} {4} {5}{6} : ({7}) -> ({1})\n"
                       "  return {2} : {1}\n}\n",
                       args, results, names, score, mask, operands, suffix,
                       types)
      .str();
}

/// Uniform values, each representable in `storage` (so that the reference
/// sees exactly what the kernel reads).
Tensor randomTensor(const std::vector<int64_t> &shape, std::mt19937 &rng,
                    double low, double high, Storage storage) {
  std::uniform_real_distribution<double> dist(low, high);
  Tensor t(shape);
  for (int64_t i = 0; i < t.numElements(); ++i)
    t.data()[i] = fromStorage(toStorage(dist(rng), storage));
  return t;
}

/// A host buffer in the storage type + its DLTensor view.
struct HostTensor {
  HostTensor(const Tensor &t, Storage storage)
      : shape(t.shape()), storage(storage) {
    for (double value : t.values())
      append(toStorage(value, storage));
  }
  /// An output: NaN until the code writes it, so an element it skips fails.
  HostTensor(std::vector<int64_t> s, Storage storage)
      : shape(std::move(s)), storage(storage) {
    llvm::APFloat nan = llvm::APFloat::getQNaN(semanticsOf(storage));
    for (int64_t i = 0; i < ::ssm::reference::numElements(shape); ++i)
      append(nan);
  }
  DLTensor view() {
    DLTensor tensor{};
    tensor.data = bytes.data();
    tensor.device = {kDLCPU, 0};
    tensor.ndim = static_cast<int32_t>(shape.size());
    tensor.dtype = storage == Storage::F32   ? DLDataType{kDLFloat, 32, 1}
                   : storage == Storage::F16 ? DLDataType{kDLFloat, 16, 1}
                                             : DLDataType{kDLBfloat, 16, 1};
    tensor.shape = shape.data();
    return tensor;
  }
  Tensor toReference() const {
    size_t width = elementBytes();
    std::vector<double> values;
    for (size_t offset = 0; offset < bytes.size(); offset += width) {
      uint64_t bits = 0;
      std::memcpy(&bits, bytes.data() + offset, width); // little endian
      values.push_back(fromStorage(
          llvm::APFloat(semanticsOf(storage), llvm::APInt(width * 8, bits))));
    }
    return Tensor(shape, std::move(values));
  }

  std::vector<int64_t> shape;
  Storage storage;
  std::vector<uint8_t> bytes;

private:
  size_t elementBytes() const { return storage == Storage::F32 ? 4 : 2; }
  void append(const llvm::APFloat &value) {
    uint64_t bits = value.bitcastToAPInt().getZExtValue();
    const auto *raw = reinterpret_cast<const uint8_t *>(&bits);
    bytes.insert(bytes.end(), raw, raw + elementBytes()); // little endian
  }
};

std::string take(ssm_status_t status) {
  std::string message = ssm_status_message(status);
  ssm_status_free(status);
  return message;
}

/// Max |a - b| / max |b|.
double relativeError(const Tensor &actual, const Tensor &expected) {
  double scale = ::ssm::reference::maxAbs(expected);
  double error = ::ssm::reference::maxAbsDifference(actual, expected);
  return scale > 0 ? error / scale : error;
}

class MixEndToEnd : public ::testing::TestWithParam<MixCase> {
protected:
  static void SetUpTestSuite() {
    registry = new DialectRegistry();
    mlir::ssm::registerCompilerDialects(*registry);
  }
  static void TearDownTestSuite() { delete registry; }
  static DialectRegistry *registry;

  /// Compiles, runs and compares one algorithm.
  void check(const MixCase &c, const std::string &algorithm,
             int64_t chunkSize) {
    SCOPED_TRACE(algorithm + (chunkSize ? "/" + std::to_string(chunkSize)
                                        : std::string()));
    MLIRContext context(*registry);
    std::string diagnostics;
    ScopedDiagnosticHandler handler(&context, [&](Diagnostic &diagnostic) {
      diagnostics += diagnostic.str() + "\n";
      return success();
    });
    std::string text = mlirOf(c);
    OwningOpRef<ModuleOp> module = parseSourceString<ModuleOp>(text, &context);
    ASSERT_TRUE(module) << diagnostics << text;

    llvm::SmallString<128> dir;
    ASSERT_FALSE(llvm::sys::fs::createUniqueDirectory("ssm-e2e", dir));
    mlir::ssm::CompileOptions options;
    options.algorithm = algorithm;
    options.chunkSize = chunkSize;
    options.output = dir.str().str();
    ASSERT_EQ(mlir::ssm::compileModule(*module, options),
              mlir::ssm::CompileResult::Success)
        << diagnostics << text;

    ssm_module_t *loaded = nullptr;
    ssm_status_t status = ssm_module_load(dir.c_str(), &loaded);
    ASSERT_EQ(status, nullptr) << take(status);
    const ssm_function_t *function = nullptr;
    status = ssm_module_function_at(loaded, 0, &function);
    ASSERT_EQ(status, nullptr) << take(status);

    // Inputs, in the function's argument order.
    Shapes s = shapesOf(c);
    std::mt19937 rng(42);
    Storage st = c.storage;
    Tensor q = randomTensor(s.q, rng, -1, 1, st),
           k = randomTensor(s.k, rng, -1, 1, st),
           v = randomTensor(s.v, rng, -1, 1, st);
    std::vector<HostTensor> inputs = {HostTensor(q, st), HostTensor(k, st),
                                      HostTensor(v, st)};
    ::ssm::reference::MixInputs reference{&q, &k, &v};
    Tensor dt, a, s0;
    if (c.decay != Decay::None) {
      dt = randomTensor(s.dt, rng, 0.01, 0.3, st);
      a = randomTensor(s.a, rng, -2.0, -0.2, st);
      inputs.emplace_back(dt, st);
      inputs.emplace_back(a, st);
      reference.dt = &dt;
      reference.decayRate = &a;
    }
    if (c.initialState) {
      s0 = randomTensor(s.state, rng, -1, 1, st);
      inputs.emplace_back(s0, st);
      reference.initialState = &s0;
    }
    std::vector<HostTensor> outputs = {HostTensor(s.y, st)};
    if (c.finalState)
      outputs.emplace_back(s.state, st);
    std::vector<DLTensor> inputViews, outputViews;
    for (HostTensor &t : inputs)
      inputViews.push_back(t.view());
    for (HostTensor &t : outputs)
      outputViews.push_back(t.view());
    status = ssm_function_invoke(function, inputViews.data(),
                                 inputViews.size(), outputViews.data(),
                                 outputViews.size());
    ssm_module_release(loaded);
    llvm::sys::fs::remove_directories(dir);
    ASSERT_EQ(status, nullptr) << take(status);

    ::ssm::reference::MixConfig config;
    config.score = c.score;
    config.scale = 1.0 / std::sqrt(double(c.stateSize));
    config.mask = c.mask;
    config.window = c.window;
    llvm::Expected<::ssm::reference::MixOutputs> expected =
        ::ssm::reference::evaluateMix(config, reference);
    ASSERT_TRUE(bool(expected)) << llvm::toString(expected.takeError());
    EXPECT_LE(relativeError(outputs[0].toReference(), expected->y),
              toleranceOf(c.storage))
        << "y of " << c.name;
    if (c.finalState) {
      ASSERT_TRUE(expected->finalState.has_value());
      EXPECT_LE(relativeError(outputs[1].toReference(), *expected->finalState),
                toleranceOf(c.storage))
          << "final_state of " << c.name;
    }
  }
};

DialectRegistry *MixEndToEnd::registry = nullptr;

TEST_P(MixEndToEnd, EveryLegalAlgorithmMatchesTheReference) {
  const MixCase &c = GetParam();
  check(c, "quadratic", 0);
  bool finiteState = c.score == ::ssm::reference::Score::Linear &&
                     c.mask == ::ssm::reference::Mask::Causal;
  if (!finiteState)
    return;
  check(c, "recurrent", 0);
  if (c.decay == Decay::Diagonal)
    return;
  check(c, "chunked", 32);
  check(c, "chunked", 16);
}

using ::ssm::reference::Mask;
using ::ssm::reference::Score;

INSTANTIATE_TEST_SUITE_P(
    Shapes, MixEndToEnd,
    ::testing::Values(
        // name, B, L, Hq, Hk, Hv, N, P, score, mask, window, decay, s0, sT, dyn
        MixCase{"ssd_groups_state", 2, 45, 2, 2, 6, 12, 24, Score::Linear,
                Mask::Causal, 0, Decay::Scalar, true, true},
        MixCase{"length_one_decode", 3, 1, 1, 1, 4, 16, 8, Score::Linear,
                Mask::Causal, 0, Decay::Scalar, true, true},
        MixCase{"mamba1_diagonal", 2, 37, 1, 1, 40, 8, 1, Score::Linear,
                Mask::Causal, 0, Decay::Diagonal, false, true},
        MixCase{"diagonal_value_dim", 1, 19, 2, 2, 4, 4, 3, Score::Linear,
                Mask::Causal, 0, Decay::Diagonal, true, true},
        MixCase{"linear_no_decay_odd", 1, 70, 3, 3, 3, 5, 7, Score::Linear,
                Mask::Causal, 0, Decay::None, false, true},
        MixCase{"linear_window", 1, 50, 2, 2, 2, 8, 8, Score::Linear,
                Mask::Window, 7, Decay::None, false, false},
        MixCase{"linear_window_decay", 1, 50, 2, 2, 2, 8, 8, Score::Linear,
                Mask::Window, 9, Decay::Scalar, false, false},
        MixCase{"linear_full", 2, 33, 1, 1, 2, 8, 16, Score::Linear, Mask::Full,
                0, Decay::None, false, false},
        MixCase{"softmax_gqa", 2, 65, 8, 2, 2, 16, 16, Score::Softmax,
                Mask::Causal, 0, Decay::None, false, false},
        MixCase{"softmax_window", 1, 130, 4, 4, 4, 8, 24, Score::Softmax,
                Mask::Window, 20, Decay::None, false, false},
        MixCase{"softmax_full", 1, 47, 2, 1, 1, 32, 32, Score::Softmax,
                Mask::Full, 0, Decay::None, false, false},
        MixCase{"softmax_length_one", 2, 1, 2, 2, 2, 16, 16, Score::Softmax,
                Mask::Causal, 0, Decay::None, false, false},
        MixCase{"dynamic_sizes", 2, 29, 1, 1, 2, 16, 16, Score::Linear,
                Mask::Causal, 0, Decay::Scalar, true, true, true},
        MixCase{"more_key_heads", 1, 21, 1, 4, 4, 8, 8, Score::Linear,
                Mask::Causal, 0, Decay::Scalar, false, true},
        // Thousands of tokens of decay: the quadratic form's cumulative
        // log-decays must not lose precision far from the sequence start.
        MixCase{"long_decay", 1, 3000, 1, 1, 8, 8, 8, Score::Linear,
                Mask::Causal, 0, Decay::Scalar, true, true},
        MixCase{"long_diagonal_decay", 1, 1500, 1, 1, 3, 4, 1, Score::Linear,
                Mask::Causal, 0, Decay::Diagonal, false, true},
        // 16-bit storage, computed in f32: GQA softmax, SSD with a state.
        MixCase{"bf16_softmax_gqa", 2, 70, 4, 2, 2, 32, 16, Score::Softmax,
                Mask::Causal, 0, Decay::None, false, false, false,
                Storage::BF16},
        MixCase{"bf16_ssd_state", 1, 77, 1, 1, 4, 16, 8, Score::Linear,
                Mask::Causal, 0, Decay::Scalar, true, true, true,
                Storage::BF16},
        MixCase{"f16_mamba1", 1, 40, 1, 1, 12, 4, 1, Score::Linear,
                Mask::Causal, 0, Decay::Diagonal, false, true, false,
                Storage::F16},
        MixCase{"f16_linear_window", 1, 45, 2, 2, 2, 8, 8, Score::Linear,
                Mask::Window, 6, Decay::None, false, false, false,
                Storage::F16},
        // No tokens: y is empty and the final state is the initial one.
        MixCase{"empty_sequence_state", 2, 0, 1, 1, 2, 8, 4, Score::Linear,
                Mask::Causal, 0, Decay::Scalar, true, true, true},
        MixCase{"empty_sequence_zero_state", 1, 0, 2, 2, 2, 4, 8, Score::Linear,
                Mask::Causal, 0, Decay::None, false, true, true}),
    [](const ::testing::TestParamInfo<MixCase> &info) {
      return std::string(info.param.name);
    });

} // namespace
