//===- MixCases.h - ssm.mix test cases with inputs and references -*- C++ -*-===//
//
// One ssm.mix configuration (shapes, score, mask, decay, states, dynamic
// sizes, storage type), the MLIR function computing it, random inputs
// representable in its storage type, and the float64 reference's outputs.
// Shared by the end-to-end tests and the generator of the GPU cases.
//
//===----------------------------------------------------------------------===//

#ifndef SSM_TEST_E2E_MIXCASES_H
#define SSM_TEST_E2E_MIXCASES_H

#include "ssm/Reference/Mix.h"
#include "ssm/runtime.h"

#include "llvm/ADT/APFloat.h"
#include "llvm/Support/FormatVariadic.h"

#include <cstdint>
#include <ostream>
#include <random>
#include <string>
#include <vector>

namespace ssm::testing {

using ::ssm::reference::Tensor;

enum class Decay { None, Scalar, Diagonal };

/// The storage type of every operand and result (kernels compute in f32).
enum class Storage { F32, BF16, F16 };

struct MixCase {
  const char *name;
  /// `length` is Lq (and Lk unless `keyLength` says otherwise).
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
  /// Elementwise glue around the mixer, which the kernels fuse: q' = q/2,
  /// v' = v · dt (broadcast over P; with a decay) and y' = y + v (needs
  /// Hv = H), each rounded to the storage type as its op is; static shapes.
  bool glue = false;
  /// Lk of queries against a cache (Lk > Lq, see isAgainstCache); 0: Lq.
  int64_t keyLength = 0;

  int64_t numKeys() const { return keyLength > 0 ? keyLength : length; }
  /// Queries against a cache: the `length` queries are the last positions of
  /// numKeys() keys. Quadratic only, and not on CUDA yet.
  bool isAgainstCache() const { return numKeys() != length; }
};

/// `c` with its queries against a cache of `keys` keys.
inline MixCase againstCache(MixCase c, int64_t keys) {
  c.keyLength = keys;
  return c;
}

inline const char *mlirName(Storage storage) {
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
inline double toleranceOf(Storage storage) {
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

inline const llvm::fltSemantics &semanticsOf(Storage storage) {
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
inline llvm::APFloat toStorage(double value, Storage storage) {
  llvm::APFloat result(value);
  bool losesInfo = false;
  result.convert(semanticsOf(storage), llvm::APFloat::rmNearestTiesToEven,
                 &losesInfo);
  return result;
}

inline double fromStorage(const llvm::APFloat &value) {
  llvm::APFloat wide = value;
  bool losesInfo = false;
  wide.convert(llvm::APFloat::IEEEdouble(), llvm::APFloat::rmNearestTiesToEven,
               &losesInfo);
  return wide.convertToDouble();
}

inline std::ostream &operator<<(std::ostream &os, const MixCase &c) {
  return os << c.name;
}

inline std::string typeOf(const std::vector<int64_t> &shape, int dynamicDims,
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

inline Shapes shapesOf(const MixCase &c) {
  int64_t heads = std::max({c.queryHeads, c.keyHeads, c.valueHeads});
  Shapes s;
  s.q = {c.batch, c.length, c.queryHeads, c.stateSize};
  s.k = {c.batch, c.numKeys(), c.keyHeads, c.stateSize};
  s.v = {c.batch, c.numKeys(), c.valueHeads, c.valueDim};
  s.dt = {c.batch, c.numKeys(), heads};
  s.a = c.decay == Decay::Diagonal ? std::vector<int64_t>{heads, c.stateSize}
                                   : std::vector<int64_t>{heads};
  s.state = {c.batch, heads, c.valueDim, c.stateSize};
  s.y = {c.batch, c.length, heads, c.valueDim};
  return s;
}

inline std::string mlirOf(const MixCase &c) {
  Shapes s = shapesOf(c);
  int d = c.dynamic ? 2 : 0, ds = c.dynamic ? 1 : 0;
  auto typeOf = [&](const std::vector<int64_t> &shape, int dynamicDims) {
    return ssm::testing::typeOf(shape, dynamicDims, c.storage);
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
  if (!c.glue)
    return llvm::formatv("func.func @mix({0}) -> ({1}) {{\n"
                         "  {2} = ssm.mix {3} {4} {5}{6} : ({7}) -> ({1})\n"
                         "  return {2} : {1}\n}\n",
                         args, results, names, score, mask, operands, suffix,
                         types)
        .str();
  // Static shapes only: the glue's constants and broadcasts have them.
  std::string q = typeOf(s.q, 0), v = typeOf(s.v, 0), y = typeOf(s.y, 0);
  std::string glue =
      "  %half = arith.constant dense<0.5> : " + q + "\n" +
      "  %qs = arith.mulf %q, %half : " + q + "\n";
  std::string valueOperand = "%v";
  if (c.decay != Decay::None) {
    glue += "  %e = tensor.empty() : " + v + "\n" +
            "  %dtv = linalg.broadcast ins(%dt : " + typeOf(s.dt, 0) +
            ") outs(%e : " + v + ") dimensions = [3]\n" +
            "  %vs = arith.mulf %v, %dtv : " + v + "\n";
    valueOperand = "%vs";
  }
  std::string mixNames = c.finalState ? "%y0, %s" : "%y0";
  std::string body = llvm::formatv(
      "  {0} = ssm.mix {1} {2} %qs, %k, {3}{4} : ({5}) -> ({6})\n"
      "  %y = arith.addf %y0, %v : {7}\n",
      mixNames, score, mask, valueOperand, suffix, types, results, y);
  return llvm::formatv("func.func @mix({0}) -> ({1}) {{\n{2}{3}"
                       "  return {4} : {1}\n}\n",
                       args, results, glue, body, names)
      .str();
}

/// Uniform values, each representable in `storage` (so that the reference
/// sees exactly what the kernel reads).
inline Tensor randomTensor(const std::vector<int64_t> &shape, std::mt19937 &rng,
                    double low, double high, Storage storage) {
  std::uniform_real_distribution<double> dist(low, high);
  Tensor t(shape);
  for (int64_t i = 0; i < t.numElements(); ++i)
    t.data()[i] = fromStorage(toStorage(dist(rng), storage));
  return t;
}

/// A host buffer in the storage type + its DLTensor view.
struct StoredTensor {
  StoredTensor(const Tensor &t, Storage storage)
      : shape(t.shape()), storage(storage) {
    for (double value : t.values())
      append(toStorage(value, storage));
  }
  /// An output: NaN until the code writes it, so an element it skips fails.
  StoredTensor(std::vector<int64_t> s, Storage storage)
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

/// Max |a - b| / max |b|.
inline double relativeError(const Tensor &actual, const Tensor &expected) {
  double scale = ::ssm::reference::maxAbs(expected);
  double error = ::ssm::reference::maxAbsDifference(actual, expected);
  return scale > 0 ? error / scale : error;
}


/// The GPU kernels round what they feed the tensor cores (scores, states,
/// probabilities) to the 16-bit type; f32 stays within the vectors' 1e-4.
inline double cudaToleranceOf(Storage storage) {
  switch (storage) {
  case Storage::F32:
    return 1e-4;
  case Storage::BF16:
    return 2e-2;
  case Storage::F16:
    return 5e-3;
  }
  return 1e-4;
}

/// A case's inputs (in the function's argument order), stored, and the
/// reference's outputs (y, then the final state when the case returns it).
struct CaseData {
  std::vector<Tensor> inputValues;
  std::vector<StoredTensor> inputs;
  std::vector<Tensor> expected;
};

/// Random inputs for `c` (seeded, representable in its storage type) and
/// what the float64 reference computes from them; the reference's error
/// (a case it rejects) in `error`.
CaseData makeCaseData(const MixCase &c, std::string &error,
                      uint32_t seed = 42);

/// The cases every backend is checked on: shapes unlike the shared
/// vectors' (lengths of 1, 0 and not multiples of any tile, odd head dims,
/// grouped heads both ways, windows, full masks, long decays), 16-bit
/// storage, the shapes the GPU's tensor-core kernels take, and queries
/// against a cache (which CUDA skips).
std::vector<MixCase> standardCases();

} // namespace ssm::testing

#endif // SSM_TEST_E2E_MIXCASES_H
