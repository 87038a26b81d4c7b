//===- ModelImport.cpp - A Hugging Face checkpoint as model IR ------------===//
//
// Writes the model function as MLIR text, one sublayer at a time, and parses
// it: the ops are ordinary linalg, tensor, arith and math on tensors around
// ssm.mix, so the text reads like the definition it follows
// (transformers' modeling_<type>.py, cited where a detail matters).
//
//===----------------------------------------------------------------------===//

#include "ssm/Frontend/ModelImport.h"

#include "ssm/SsmDialect.h"
#include "ssm/contract/model.h"
#include "ssm/runtime.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/Parser/Parser.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

#include <cmath>
#include <functional>
#include <map>
#include <set>
#include <sstream>

using namespace mlir;
using namespace mlir::ssm;
namespace contract = ::ssm::contract;

//===----------------------------------------------------------------------===//
// Weights
//===----------------------------------------------------------------------===//

namespace {

/// The weights of one sublayer, under its prefix.
void addSublayerWeights(const ModelConfig &config, const Sublayer &s,
                        std::vector<ModelWeight> &weights) {
  const int64_t d = config.hiddenSize;
  auto add = [&](const std::string &suffix, std::vector<int64_t> shape) {
    weights.push_back({s.prefix + suffix, std::move(shape)});
  };
  weights.push_back({s.norm, {d}});
  switch (s.kind) {
  case Sublayer::Kind::Mamba2: {
    const Mamba2Mixer &m = s.mamba2;
    int64_t inner = m.intermediateSize();
    int64_t convDim = inner + 2 * m.numGroups * m.stateSize;
    add("in_proj.weight", {inner + convDim + m.numHeads, d});
    if (m.projBias)
      add("in_proj.bias", {inner + convDim + m.numHeads});
    add("conv1d.weight", {convDim, 1, m.convKernel});
    if (m.convBias)
      add("conv1d.bias", {convDim});
    add("dt_bias", {m.numHeads});
    add("A_log", {m.numHeads});
    add("D", {m.numHeads});
    add("norm.weight", {inner});
    add("out_proj.weight", {d, inner});
    if (m.projBias)
      add("out_proj.bias", {d});
    return;
  }
  case Sublayer::Kind::Mamba1: {
    const Mamba1Mixer &m = s.mamba1;
    int64_t inner = m.intermediateSize;
    add("in_proj.weight", {2 * inner, d});
    if (m.projBias)
      add("in_proj.bias", {2 * inner});
    add("conv1d.weight", {inner, 1, m.convKernel});
    if (m.convBias)
      add("conv1d.bias", {inner});
    add("x_proj.weight", {m.timeStepRank + 2 * m.stateSize, inner});
    add("dt_proj.weight", {inner, m.timeStepRank});
    add("dt_proj.bias", {inner});
    add("A_log", {inner, m.stateSize});
    add("D", {inner});
    add("out_proj.weight", {d, inner});
    if (m.projBias)
      add("out_proj.bias", {d});
    return;
  }
  case Sublayer::Kind::Attention: {
    const Attention &a = s.attention;
    int64_t q = a.numHeads * a.headDim, kv = a.numKeyValueHeads * a.headDim;
    add("q_proj.weight", {q, d});
    if (a.bias)
      add("q_proj.bias", {q});
    add("k_proj.weight", {kv, d});
    if (a.bias)
      add("k_proj.bias", {kv});
    add("v_proj.weight", {kv, d});
    if (a.bias)
      add("v_proj.bias", {kv});
    add("o_proj.weight", {d, q});
    if (a.bias)
      add("o_proj.bias", {d});
    return;
  }
  case Sublayer::Kind::Mlp: {
    const Mlp &m = s.mlp;
    int64_t inner = m.intermediateSize;
    if (m.fusedGateUp) {
      add("input_linear.weight", {2 * inner, d});
      add("output_linear.weight", {d, inner});
      return;
    }
    if (m.kind == Mlp::Kind::SwiGlu) {
      add("gate_proj.weight", {inner, d});
      if (m.bias)
        add("gate_proj.bias", {inner});
    }
    add("up_proj.weight", {inner, d});
    if (m.bias)
      add("up_proj.bias", {inner});
    add("down_proj.weight", {d, inner});
    if (m.bias)
      add("down_proj.bias", {d});
    return;
  }
  }
}

} // namespace

std::vector<ModelWeight> mlir::ssm::modelWeights(const ModelConfig &config) {
  std::vector<ModelWeight> weights;
  weights.push_back({config.embeddings, {config.vocabSize, config.hiddenSize}});
  for (const Sublayer &s : config.sublayers)
    addSublayerWeights(config, s, weights);
  weights.push_back({config.finalNorm, {config.hiddenSize}});
  if (!config.tiedHead)
    weights.push_back({config.lmHead, {config.vocabSize, config.hiddenSize}});
  return weights;
}

std::vector<ModelState> mlir::ssm::modelStates(const ModelConfig &config) {
  std::vector<ModelState> states;
  for (const Sublayer &s : config.sublayers) {
    switch (s.kind) {
    case Sublayer::Kind::Mamba2: {
      const Mamba2Mixer &m = s.mamba2;
      int64_t convDim = m.intermediateSize() + 2 * m.numGroups * m.stateSize;
      states.push_back({s.prefix + contract::kConvState, {-1, m.convKernel - 1, convDim}});
      states.push_back(
          {s.prefix + contract::kSsmState, {-1, m.numHeads, m.headDim, m.stateSize}});
      break;
    }
    case Sublayer::Kind::Mamba1: {
      const Mamba1Mixer &m = s.mamba1;
      states.push_back({s.prefix + contract::kConvState,
                        {-1, m.convKernel - 1, m.intermediateSize}});
      states.push_back(
          {s.prefix + contract::kSsmState, {-1, m.intermediateSize, 1, m.stateSize}});
      break;
    }
    case Sublayer::Kind::Attention: {
      const Attention &a = s.attention;
      states.push_back({s.prefix + contract::kKeyCache,
                        {-1, -1, a.numKeyValueHeads, a.headDim}});
      states.push_back({s.prefix + contract::kValueCache,
                        {-1, -1, a.numKeyValueHeads, a.headDim}});
      break;
    }
    case Sublayer::Kind::Mlp:
      break;
    }
  }
  return states;
}

//===----------------------------------------------------------------------===//
// The model as MLIR text
//===----------------------------------------------------------------------===//

namespace {

std::string f32(double value) {
  if (std::isinf(value))
    return value > 0 ? "0x7F800000" : "0xFF800000";
  return llvm::formatv("{0:e8}", value).str();
}

std::string dims(const std::vector<int64_t> &shape) {
  std::string text;
  for (int64_t size : shape)
    text += (size < 0 ? std::string("?") : std::to_string(size)) + "x";
  return text;
}

/// A [B, L, trailing...] f32 activation's type.
std::string activation(std::vector<int64_t> trailing) {
  trailing.insert(trailing.begin(), {-1, -1});
  return "tensor<" + dims(trailing) + "f32>";
}

std::string weightType(const std::vector<int64_t> &shape,
                       const std::string &element = "f32") {
  return "tensor<" + dims(shape) + element + ">";
}

std::string identityMap(unsigned rank) {
  std::string ds;
  for (unsigned i = 0; i < rank; ++i)
    ds += (i ? ", d" : "d") + std::to_string(i);
  return "affine_map<(" + ds + ") -> (" + ds + ")>";
}

/// affine_map<(d0, ..., d{rank-1}) -> (results)>.
std::string map(unsigned rank, const std::string &results) {
  std::string ds;
  for (unsigned i = 0; i < rank; ++i)
    ds += (i ? ", d" : "d") + std::to_string(i);
  return "affine_map<(" + ds + ") -> (" + results + ")>";
}

/// A value of the model function: its SSA name and type.
struct Tensor {
  std::string name, type;
  /// The sizes after [B, L] (activations) or all of them (weights).
  std::vector<int64_t> shape;
};

/// One operand of a linalg.generic and how its loops index it.
struct Operand {
  Tensor tensor;
  std::string indexing;
};

/// The entry points: the whole prompt from empty states, a chunk of it from
/// given states, one token from given states, and the whole prompt with the
/// last position's logits only (what generation reads; the LM head over
/// every position is a third of a small model's prefill).
enum class Entry { Prefill, PrefillChunk, Decode, PrefillLast };

/// A state's type: -1 sizes dynamic.
std::string stateType(const std::vector<int64_t> &shape) {
  std::string text = "tensor<";
  for (int64_t d : shape)
    text += (d < 0 ? std::string("?") : std::to_string(d)) + "x";
  return text + "f32>";
}

class ModelWriter {
public:
  ModelWriter(const ModelConfig &config, Entry entry)
      : config(config), entry(entry) {}

  /// Whether the entry starts from empty states (takes none).
  bool fromEmpty() const {
    return entry == Entry::Prefill || entry == Entry::PrefillLast;
  }

  std::string write() {
    std::vector<ModelWeight> weights = modelWeights(config);
    // decode's L is dynamic too (one token per call is what it is for; any
    // L gives the recurrence's answer).
    std::string signature = "%input_ids: tensor<?x?xi64> {ssm.name = "
                            "\"input_ids\"}";
    for (const ModelWeight &weight : weights) {
      std::string name = "%w" + std::to_string(weightValues.size());
      weightValues[weight.name] = {
          name, weightType(weight.shape, config.weightType), weight.shape};
      signature += ",\n    " + name + ": " +
                   weightType(weight.shape, config.weightType) +
                   " {ssm.name = \"" + weight.name + "\"}";
    }
    std::vector<ModelState> states = modelStates(config);
    if (!fromEmpty()) {
      for (const ModelState &state : states) {
        Tensor t{"%state" + std::to_string(stateValues.size()),
                 stateType(state.shape), state.shape};
        stateValues[state.name] = t;
        signature += ",\n    " + t.name + ": " + t.type + " {ssm.name = \"" +
                     state.name + "\"}";
      }
    }
    line("%c0 = arith.constant 0 : index");
    line("%c1 = arith.constant 1 : index");
    line("%B = tensor.dim %input_ids, %c0 : tensor<?x?xi64>");
    line("%L = tensor.dim %input_ids, %c1 : tensor<?x?xi64>");
    line("%zero = arith.constant 0.0 : f32");

    Tensor h = embed();
    for (const Sublayer &s : config.sublayers) {
      Tensor normed = rmsNorm(h, weight(s.norm));
      Tensor out;
      switch (s.kind) {
      case Sublayer::Kind::Mamba2:
        out = mamba2(normed, s);
        break;
      case Sublayer::Kind::Mamba1:
        out = mamba1(normed, s);
        break;
      case Sublayer::Kind::Attention:
        out = attention(normed, s);
        break;
      case Sublayer::Kind::Mlp:
        out = mlp(normed, s);
        break;
      }
      h = residual(h, out, config.residualMultiplier);
    }
    if (entry == Entry::PrefillLast) {
      // Position L - 1 of every sequence; what follows runs on one position.
      Tensor last{fresh("last"), h.type, h.shape};
      line("%position = arith.subi %L, %c1 : index");
      line(last.name + " = tensor.extract_slice " + h.name +
           "[0, %position, 0] [%B, %c1, " + std::to_string(h.shape.back()) +
           "] [1, 1, 1] : " + h.type + " to " + h.type);
      h = last;
      length = "%c1";
    }
    Tensor normed = rmsNorm(h, weight(config.finalNorm));
    Tensor logits = linear(normed, weight(config.lmHead), nullptr);
    if (config.logitsScaling != 1.0)
      logits = scale(logits, 1.0 / config.logitsScaling);
    if (entry == Entry::PrefillLast) {
      // The one position, static in the result so that its shape follows
      // from the inputs'.
      Tensor one{fresh("logits"),
                 "tensor<?x1x" + std::to_string(config.vocabSize) + "xf32>",
                 logits.shape};
      line(one.name + " = tensor.cast " + logits.name + " : " + logits.type +
           " to " + one.type);
      logits = one;
    }

    static const char *const kWhat[] = {
        "The forward pass from empty states",
        "The forward pass from the states of an earlier call",
        "One token per sequence from the states of an earlier call",
        "The forward pass from empty states, logits of the last position"};
    static const char *const kNames[] = {
        contract::kPrefillFunction, contract::kPrefillChunkFunction,
        contract::kDecodeFunction, contract::kPrefillLastFunction};
    std::string text = std::string("// ") + kWhat[static_cast<int>(entry)] +
                       " of a " + config.modelType +
                       " checkpoint (ssmc's model importer).\n";
    std::string resultTypes = logits.type + " {ssm.name = \"logits\"}";
    std::string returned = logits.name, returnedTypes = logits.type;
    for (const ModelState &state : states) {
      const Tensor &t = nextStates.at(state.name);
      resultTypes += ",\n        " + t.type + " {ssm.name = \"" + state.name +
                     "\"}";
      returned += ", " + t.name;
      returnedTypes += ", " + t.type;
    }
    text += std::string("func.func @") + kNames[static_cast<int>(entry)] + "(" +
            signature + ")\n    -> (" + resultTypes + ") {\n";
    text += body.str();
    text += "  return " + returned + " : " + returnedTypes + "\n}\n";
    return text;
  }

private:
  const ModelConfig &config;
  Entry entry;
  std::map<std::string, Tensor> weightValues;
  /// bf16 and f16 weights widened to f32, by name.
  std::map<std::string, Tensor> widenedWeights;
  /// The states taken (prefill_chunk, decode) and returned, by name.
  std::map<std::string, Tensor> stateValues, nextStates;
  std::ostringstream body;
  unsigned counter = 0;
  /// The positions an activation has: the call's length, one after
  /// prefill_last keeps the last.
  std::string length = "%L";

  std::string fresh(const char *stem) {
    return "%" + std::string(stem) + std::to_string(counter++);
  }
  void line(const std::string &text) { body << "  " << text << "\n"; }

  /// Weight `name` as f32: the parameter itself, or (bf16, f16 weights) its
  /// widening, written before the first use and shared by the later ones.
  /// The backends fuse the widening into the kernels that read it.
  Tensor weight(const std::string &name) {
    const Tensor &stored = weightValues.at(name);
    if (config.weightType == "f32")
      return stored;
    auto [it, inserted] = widenedWeights.try_emplace(name);
    if (!inserted)
      return it->second;
    Tensor wide{fresh("widened"), weightType(stored.shape), stored.shape};
    std::string init = fresh("empty"), in = fresh("a"), out = fresh("acc"),
                value = fresh("v");
    line(init + " = tensor.empty() : " + wide.type);
    unsigned rank = static_cast<unsigned>(stored.shape.size());
    line(wide.name + " = linalg.generic {indexing_maps = [" +
         identityMap(rank) + ", " + identityMap(rank) +
         "], iterator_types = [" + iteratorList(rank) + "]} ins(" +
         stored.name + " : " + stored.type + ") outs(" + init + " : " +
         wide.type + ") {");
    line("^bb0(" + in + ": " + config.weightType + ", " + out + ": f32):");
    line("  " + value + " = arith.extf " + in + " : " + config.weightType +
         " to f32");
    line("  linalg.yield " + value + " : f32");
    line("} -> " + wide.type);
    it->second = wide;
    return wide;
  }

  static std::string iteratorList(unsigned rank) {
    std::string list;
    for (unsigned i = 0; i < rank; ++i)
      list += std::string(i ? ", " : "") + "\"parallel\"";
    return list;
  }

  /// tensor.empty for a [B, L, trailing...] activation.
  Tensor empty(const std::vector<int64_t> &trailing) {
    Tensor t{fresh("empty"), activation(trailing), trailing};
    line(t.name + " = tensor.empty(%B, " + length + ") : " + t.type);
    return t;
  }

  Tensor zeros(const std::vector<int64_t> &trailing) {
    Tensor e = empty(trailing);
    Tensor t{fresh("zeros"), e.type, trailing};
    line(t.name + " = linalg.fill ins(%zero : f32) outs(" + e.name + " : " +
         e.type + ") -> " + e.type);
    return t;
  }

  /// A linalg.generic with f32 block arguments %a0.. for `ins` and %acc for
  /// the output; `body` writes the scalar code and returns the value
  /// yielded.
  Tensor generic(const std::vector<Operand> &ins, const Tensor &init,
                 const std::string &outMap,
                 const std::vector<const char *> &iterators,
                 const std::function<std::string(
                     const std::vector<std::string> &, const std::string &)>
                     &scalar,
                 const std::vector<const char *> &argTypes = {}) {
    Tensor result{fresh("t"), init.type, init.shape};
    std::string maps, names, types, its;
    for (const Operand &in : ins) {
      maps += in.indexing + ", ";
      names += (names.empty() ? "" : ", ") + in.tensor.name;
      types += (types.empty() ? "" : ", ") + in.tensor.type;
    }
    maps += outMap;
    for (const char *it : iterators)
      its += std::string(its.empty() ? "" : ", ") + "\"" + it + "\"";
    std::string head = result.name + " = linalg.generic {indexing_maps = [" +
                       maps + "], iterator_types = [" + its + "]}";
    if (!ins.empty())
      head += " ins(" + names + " : " + types + ")";
    head += " outs(" + init.name + " : " + init.type + ") {";
    line(head);
    std::vector<std::string> args;
    std::string block = "^bb0(";
    for (size_t i = 0; i < ins.size(); ++i) {
      std::string arg = fresh("a");
      args.push_back(arg);
      const char *type = i < argTypes.size() && argTypes[i] ? argTypes[i]
                                                             : "f32";
      block += arg + ": " + type + ", ";
    }
    std::string acc = fresh("acc");
    block += acc + ": f32):";
    line(block);
    std::string yielded = scalar(args, acc);
    line("  linalg.yield " + yielded + " : f32");
    line("} -> " + init.type);
    return result;
  }

  /// Scalar helpers for generic bodies.
  std::string op(const char *name, const std::string &a, const std::string &b) {
    std::string r = fresh("s");
    line("  " + r + " = arith." + name + " " + a + ", " + b + " : f32");
    return r;
  }
  std::string unary(const char *name, const std::string &a) {
    std::string r = fresh("s");
    line("  " + r + " = " + name + " " + a + " : f32");
    return r;
  }
  std::string constant(double value) {
    std::string r = fresh("k");
    line("  " + r + " = arith.constant " + f32(value) + " : f32");
    return r;
  }
  /// x · sigmoid(x), as torch's silu.
  std::string silu(const std::string &x) {
    std::string negated = unary("arith.negf", x);
    std::string e = unary("math.exp", negated);
    std::string denominator = op("addf", constant(1.0), e);
    return op("divf", x, denominator);
  }
  /// torch.nn.functional.softplus (beta 1, threshold 20): x above 20.
  std::string softplus(const std::string &x) {
    std::string e = unary("math.exp", x);
    std::string smooth = unary("math.log1p", e);
    std::string above = fresh("s");
    line("  " + above + " = arith.cmpf ogt, " + x + ", " + constant(20.0) +
         " : f32");
    std::string r = fresh("s");
    line("  " + r + " = arith.select " + above + ", " + x + ", " + smooth +
         " : f32");
    return r;
  }

  /// An elementwise op over [B, L, shape...] activations of equal shape.
  Tensor elementwise(const std::vector<Tensor> &ins,
                     const std::function<std::string(
                         const std::vector<std::string> &)> &scalar) {
    unsigned rank = ins[0].shape.size() + 2;
    std::vector<Operand> operands;
    for (const Tensor &t : ins)
      operands.push_back({t, identityMap(rank)});
    std::vector<const char *> its(rank, "parallel");
    return generic(operands, empty(ins[0].shape), identityMap(rank), its,
                   [&](const std::vector<std::string> &a, const std::string &) {
                     return scalar(a);
                   });
  }

  Tensor scale(const Tensor &x, double factor) {
    return elementwise({x}, [&](const std::vector<std::string> &a) {
      return op("mulf", a[0], constant(factor));
    });
  }

  Tensor residual(const Tensor &h, const Tensor &f, double multiplier) {
    return elementwise({h, f}, [&](const std::vector<std::string> &a) {
      std::string scaled =
          multiplier == 1.0 ? a[1] : op("mulf", a[1], constant(multiplier));
      return op("addf", a[0], scaled);
    });
  }

  /// The embeddings of the ids (clamped into the vocabulary: the runtime
  /// refuses other ids before a call; this keeps every read in bounds).
  Tensor embed() {
    Tensor table = weight(config.embeddings);
    int64_t d = config.hiddenSize;
    Tensor ids{"%input_ids", "tensor<?x?xi64>", {}};
    line("%idLow = arith.constant 0 : i64");
    line("%idHigh = arith.constant " + std::to_string(config.vocabSize - 1) +
         " : i64");
    Tensor h = generic(
        {{ids, map(3, "d0, d1")}}, empty({d}), identityMap(3),
        {"parallel", "parallel", "parallel"},
        [&](const std::vector<std::string> &a, const std::string &) {
          std::string low = fresh("s"), high = fresh("s"), index = fresh("s"),
                      column = fresh("s"), value = fresh("s");
          line("  " + low + " = arith.maxsi " + a[0] + ", %idLow : i64");
          line("  " + high + " = arith.minsi " + low + ", %idHigh : i64");
          line("  " + index + " = arith.index_cast " + high + " : i64 to index");
          line("  " + column + " = linalg.index 2 : index");
          line("  " + value + " = tensor.extract " + table.name + "[" + index +
               ", " + column + "] : " + table.type);
          return value;
        },
        {"i64"});
    if (config.embeddingMultiplier != 1.0)
      h = scale(h, config.embeddingMultiplier);
    return h;
  }

  /// RMSNorm over the last dim, in f32: w · x · rsqrt(mean(x²) + eps).
  Tensor rmsNorm(const Tensor &x, const Tensor &w) {
    int64_t d = x.shape.back();
    Tensor sums = squareSums(x, 3);
    return generic({{x, identityMap(3)},
                    {sums, map(3, "d0, d1")},
                    {w, map(3, "d2")}},
                   empty(x.shape), identityMap(3),
                   {"parallel", "parallel", "parallel"},
                   [&](const std::vector<std::string> &a, const std::string &) {
                     return normalize(a[0], a[1], a[2], d);
                   });
  }

  /// Σ x² over the last of `rank` dims of x ([B, L, ...]).
  Tensor squareSums(const Tensor &x, unsigned rank) {
    std::vector<int64_t> kept(x.shape.begin(), x.shape.end() - 1);
    std::string keptDims;
    for (unsigned i = 0; i + 1 < rank; ++i)
      keptDims += (i ? ", d" : "d") + std::to_string(i);
    std::vector<const char *> its(rank, "parallel");
    its.back() = "reduction";
    return generic({{x, identityMap(rank)}}, zeros(kept), map(rank, keptDims),
                   its,
                   [&](const std::vector<std::string> &a,
                       const std::string &acc) {
                     return op("addf", acc, op("mulf", a[0], a[0]));
                   });
  }

  /// w · (x · rsqrt(Σx²/n + eps)), torch's order.
  std::string normalize(const std::string &x, const std::string &sum,
                        const std::string &w, int64_t n) {
    std::string mean = op("divf", sum, constant(static_cast<double>(n)));
    std::string shifted = op("addf", mean, constant(config.normEpsilon));
    std::string inverse = unary("math.rsqrt", shifted);
    return op("mulf", w, op("mulf", x, inverse));
  }

  /// x [B, L, K] · Wᵀ (W [N, K]) + bias: a linalg.matmul on [B·L, K] that
  /// reads W transposed (the backends' projection kernels).
  Tensor linear(const Tensor &x, const Tensor &w, const Tensor *bias) {
    int64_t n = w.shape[0], kDim = w.shape[1];
    std::string rowsType = "tensor<?x" + std::to_string(kDim) + "xf32>";
    std::string outType = "tensor<?x" + std::to_string(n) + "xf32>";
    std::string rows = fresh("rows"), count = fresh("tokens"),
                init = fresh("empty"), zeroed = fresh("zeros"),
                product = fresh("matmul");
    line(rows + " = tensor.collapse_shape " + x.name + " [[0, 1], [2]] : " +
         x.type + " into " + rowsType);
    line(count + " = arith.muli %B, " + length + " : index");
    line(init + " = tensor.empty(" + count + ") : " + outType);
    line(zeroed + " = linalg.fill ins(%zero : f32) outs(" + init + " : " +
         outType + ") -> " + outType);
    line(product + " = linalg.matmul indexing_maps = [" + map(3, "d0, d2") +
         ", " + map(3, "d1, d2") + ", " + map(3, "d0, d1") + "] ins(" + rows +
         ", " + w.name + " : " + rowsType + ", " + w.type + ") outs(" +
         zeroed + " : " + outType + ") -> " + outType);
    Tensor y{fresh("projected"), activation({n}), {n}};
    line(y.name + " = tensor.expand_shape " + product +
         " [[0, 1], [2]] output_shape [%B, " + length + ", " +
         std::to_string(n) +
         "] : " + outType + " into " + y.type);
    if (!bias)
      return y;
    return generic({{y, identityMap(3)}, {*bias, map(3, "d2")}}, empty({n}),
                   identityMap(3), {"parallel", "parallel", "parallel"},
                   [&](const std::vector<std::string> &a, const std::string &) {
                     return op("addf", a[0], a[1]);
                   });
  }

  std::optional<Tensor> optionalWeight(const std::string &name) {
    if (!weightValues.count(name))
      return std::nullopt;
    return weight(name);
  }

  Tensor project(const Tensor &x, const std::string &prefix,
                 const std::string &name) {
    std::optional<Tensor> bias = optionalWeight(prefix + name + ".bias");
    return linear(x, weight(prefix + name + ".weight"),
                  bias ? &*bias : nullptr);
  }

  /// Channels [offset, offset + size) of the last dim.
  Tensor slice(const Tensor &x, int64_t offset, int64_t size) {
    std::vector<int64_t> shape = x.shape;
    std::string offsetText = "0, 0", sizeText = "%B, " + length,
                strides = "1, 1";
    for (size_t i = 0; i + 1 < shape.size(); ++i) {
      offsetText += ", 0";
      sizeText += ", " + std::to_string(shape[i]);
      strides += ", 1";
    }
    offsetText += ", " + std::to_string(offset);
    sizeText += ", " + std::to_string(size);
    strides += ", 1";
    shape.back() = size;
    Tensor r{fresh("slice"), activation(shape), shape};
    line(r.name + " = tensor.extract_slice " + x.name + "[" + offsetText +
         "] [" + sizeText + "] [" + strides + "] : " + x.type + " to " +
         r.type);
    return r;
  }

  /// [B, L, a·b] as [B, L, a, b].
  Tensor split(const Tensor &x, int64_t a, int64_t b) {
    Tensor r{fresh("heads"), activation({a, b}), {a, b}};
    line(r.name + " = tensor.expand_shape " + x.name +
         " [[0], [1], [2, 3]] output_shape [%B, " + length + ", " +
         std::to_string(a) +
         ", " + std::to_string(b) + "] : " + x.type + " into " + r.type);
    return r;
  }

  /// [B, L, a, b] as [B, L, a·b].
  Tensor merge(const Tensor &x) {
    int64_t size = x.shape[0] * x.shape[1];
    Tensor r{fresh("merged"), activation({size}), {size}};
    line(r.name + " = tensor.collapse_shape " + x.name +
         " [[0], [1], [2, 3]] : " + x.type + " into " + r.type);
    return r;
  }

  /// [B, La, shape...] then [B, L, shape...] along the time dim; `length`
  /// is `first`'s La when static (-1: read at run time).
  Tensor concatTime(const Tensor &first, int64_t length, const Tensor &second) {
    std::string firstLength = fresh("length"), total = fresh("length");
    if (length < 0)
      line(firstLength + " = tensor.dim " + first.name + ", %c1 : " +
           first.type);
    else
      line(firstLength + " = arith.constant " + std::to_string(length) +
           " : index");
    line(total + " = arith.addi " + firstLength + ", %L : index");
    Tensor joined{fresh("joined"), activation(second.shape), second.shape};
    std::string init = fresh("empty");
    line(init + " = tensor.empty(%B, " + total + ") : " + joined.type);
    std::string zeros, ones, trailing;
    for (int64_t d : second.shape) {
      zeros += ", 0";
      ones += ", 1";
      trailing += ", " + std::to_string(d);
    }
    std::string head = fresh("joined");
    line(head + " = tensor.insert_slice " + first.name + " into " + init +
         "[0, 0" + zeros + "] [%B, " +
         (length < 0 ? firstLength : std::to_string(length)) + trailing +
         "] [1, 1" + ones + "] : " + first.type + " into " + joined.type);
    line(joined.name + " = tensor.insert_slice " + second.name + " into " +
         head + "[0, " + firstLength + zeros + "] [%B, %L" + trailing +
         "] [1, 1" + ones + "] : " + second.type + " into " + joined.type);
    return joined;
  }

  /// The depthwise causal conv1d of the mixers over the window of the last
  /// K − 1 inputs (zeros before the first) and the L new ones, the first L
  /// outputs, then its bias and silu; the window's last K − 1 rows are the
  /// next conv state.
  Tensor causalConvSilu(const Tensor &x, const std::string &prefix) {
    int64_t channels = x.shape[0];
    Tensor w = weight(prefix + "conv1d.weight");
    int64_t k = w.shape[2];
    Tensor taps{fresh("taps"), weightType({channels, k}), {channels, k}};
    line(taps.name + " = tensor.collapse_shape " + w.name +
         " [[0, 1], [2]] : " + w.type + " into " + taps.type);
    Tensor padded{fresh("padded"), x.type, x.shape};
    if (fromEmpty()) {
      line(padded.name + " = tensor.pad " + x.name + " low[0, " +
           std::to_string(k - 1) + ", 0] high[0, 0, 0] {");
      line("^bb0(%pi: index, %pj: index, %pk: index):");
      line("  tensor.yield %zero : f32");
      line("} : " + x.type + " to " + padded.type);
    } else {
      padded = concatTime(stateValues.at(prefix + contract::kConvState), k - 1, x);
    }
    Tensor next{fresh("convState"), stateType({-1, k - 1, channels}),
                {k - 1, channels}};
    line(next.name + " = tensor.extract_slice " + padded.name +
         "[0, %L, 0] [%B, " + std::to_string(k - 1) + ", " +
         std::to_string(channels) + "] [1, 1, 1] : " + padded.type + " to " +
         next.type);
    nextStates[prefix + contract::kConvState] = next;
    Tensor conv = generic(
        {{padded, map(4, "d0, d1 + d3, d2")}, {taps, map(4, "d2, d3")}},
        zeros({channels}), map(4, "d0, d1, d2"),
        {"parallel", "parallel", "parallel", "reduction"},
        [&](const std::vector<std::string> &a, const std::string &acc) {
          return op("addf", acc, op("mulf", a[0], a[1]));
        });
    std::optional<Tensor> bias = optionalWeight(prefix + "conv1d.bias");
    std::vector<Operand> ins = {{conv, identityMap(3)}};
    if (bias)
      ins.push_back({*bias, map(3, "d2")});
    return generic(ins, empty({channels}), identityMap(3),
                   {"parallel", "parallel", "parallel"},
                   [&](const std::vector<std::string> &a, const std::string &) {
                     std::string v = bias ? op("addf", a[0], a[1]) : a[0];
                     return silu(v);
                   });
  }

  /// A [n] weight as -exp(w) (A from A_log).
  Tensor negativeExp(const Tensor &w) {
    unsigned rank = w.shape.size();
    Tensor e{fresh("empty"), w.type, w.shape};
    line(e.name + " = tensor.empty() : " + w.type);
    std::vector<const char *> its(rank, "parallel");
    Tensor r{fresh("t"), w.type, w.shape};
    line(r.name + " = linalg.generic {indexing_maps = [" + identityMap(rank) +
         ", " + identityMap(rank) + "], iterator_types = [" +
         std::string(rank == 1 ? "\"parallel\"" : "\"parallel\", \"parallel\"") +
         "]} ins(" + w.name + " : " + w.type + ") outs(" + e.name + " : " +
         w.type + ") {");
    std::string in = fresh("a"), out = fresh("acc");
    line("^bb0(" + in + ": f32, " + out + ": f32):");
    std::string v = unary("arith.negf", unary("math.exp", in));
    line("  linalg.yield " + v + " : f32");
    line("} -> " + w.type);
    return r;
  }

  /// Mamba-2's mixer (Mamba2Mixer.torch_forward): in_proj → gate, xBC, dt;
  /// silu(conv(xBC)) → x, B, C; dt = clamp(softplus(dt + dt_bias));
  /// y = SSD(C, B, x·dt, decay dt·A) + D·x; out_proj(gatedRmsNorm(y, gate)).
  Tensor mamba2(const Tensor &u, const Sublayer &s) {
    const Mamba2Mixer &m = s.mamba2;
    const std::string &p = s.prefix;
    int64_t inner = m.intermediateSize(), groupState = m.numGroups * m.stateSize;
    int64_t convDim = inner + 2 * groupState;
    Tensor projected = project(u, p, "in_proj");
    Tensor gate = slice(projected, 0, inner);
    Tensor xbc = causalConvSilu(slice(projected, inner, convDim), p);
    Tensor rawDt = slice(projected, inner + convDim, m.numHeads);
    Tensor x = split(slice(xbc, 0, inner), m.numHeads, m.headDim);
    Tensor keys = split(slice(xbc, inner, groupState), m.numGroups, m.stateSize);
    Tensor queries =
        split(slice(xbc, inner + groupState, groupState), m.numGroups,
              m.stateSize);
    Tensor dt = generic(
        {{rawDt, identityMap(3)}, {weight(p + "dt_bias"), map(3, "d2")}},
        empty({m.numHeads}), identityMap(3),
        {"parallel", "parallel", "parallel"},
        [&](const std::vector<std::string> &a, const std::string &) {
          std::string v = softplus(op("addf", a[0], a[1]));
          if (entry == Entry::Decode && !m.clampInDecode)
            return v;
          v = op("maximumf", v, constant(m.timeStepLow));
          if (!std::isinf(m.timeStepHigh))
            v = op("minimumf", v, constant(m.timeStepHigh));
          return v;
        });
    Tensor a = negativeExp(weight(p + "A_log"));
    Tensor values = generic({{x, identityMap(4)}, {dt, map(4, "d0, d1, d2")}},
                            empty({m.numHeads, m.headDim}), identityMap(4),
                            {"parallel", "parallel", "parallel", "parallel"},
                            [&](const std::vector<std::string> &v,
                                const std::string &) {
                              return op("mulf", v[0], v[1]);
                            });
    Tensor y = scan(queries, keys, values, dt, a, p,
                    {m.numHeads, m.headDim, m.stateSize});
    Tensor skipped = generic(
        {{y, identityMap(4)}, {x, identityMap(4)}, {weight(p + "D"), map(4, "d2")}},
        empty(values.shape), identityMap(4),
        {"parallel", "parallel", "parallel", "parallel"},
        [&](const std::vector<std::string> &v, const std::string &) {
          return op("addf", v[0], op("mulf", v[1], v[2]));
        });
    Tensor normed = gatedRmsNorm(merge(skipped), gate, weight(p + "norm.weight"),
                                 m.normGroupSize);
    return project(normed, p, "out_proj");
  }

  /// The mixers' ssm.mix (decay dt·A) from the state `prefix`ssm_state
  /// (zero for prefill), its final state the next one; decode takes the
  /// recurrent step.
  /// `x` (an f32 activation, the type ends in "xf32>") converted to
  /// `element` by arith.`conversion` (truncf, extf).
  Tensor convert(const Tensor &x, const std::string &from,
                 const std::string &to, const char *conversion) {
    std::string fromSuffix = "x" + from + ">", toSuffix = "x" + to + ">";
    std::string type = x.type.substr(0, x.type.size() - fromSuffix.size()) +
                       toSuffix;
    Tensor result{fresh("converted"), type, x.shape};
    std::string init = fresh("empty");
    line(init + " = tensor.empty(%B, " + length + ") : " + type);
    unsigned rank = static_cast<unsigned>(x.shape.size()) + 2;
    std::string in = fresh("a"), out = fresh("acc"), value = fresh("v");
    line(result.name + " = linalg.generic {indexing_maps = [" +
         identityMap(rank) + ", " + identityMap(rank) +
         "], iterator_types = [" + iteratorList(rank) + "]} ins(" + x.name +
         " : " + x.type + ") outs(" + init + " : " + type + ") {");
    line("^bb0(" + in + ": " + from + ", " + out + ": " + to + "):");
    line("  " + value + " = arith." + conversion + " " + in + " : " + from +
         " to " + to);
    line("  linalg.yield " + value + " : " + to);
    line("} -> " + type);
    return result;
  }

  /// scan with q, k and v in the weights' type where they are 16-bit (as
  /// transformers runs such a model: its activations in bf16), so that the
  /// mixer takes its tensor-core kernels; y comes back as f32, the state
  /// and the sums stay f32.
  Tensor scan(const Tensor &queries, const Tensor &keys, const Tensor &values,
              const Tensor &dt, const Tensor &a, const std::string &prefix,
              const std::vector<int64_t> &stateShape) {
    if (config.weightType == "f32")
      return scanOf(queries, keys, values, dt, a, prefix, stateShape);
    const std::string &narrow = config.weightType;
    Tensor y = scanOf(convert(queries, "f32", narrow, "truncf"),
                      convert(keys, "f32", narrow, "truncf"),
                      convert(values, "f32", narrow, "truncf"), dt, a, prefix,
                      stateShape);
    return convert(y, narrow, "f32", "extf");
  }

  Tensor scanOf(const Tensor &queries, const Tensor &keys,
                const Tensor &values, const Tensor &dt, const Tensor &a,
                const std::string &prefix,
                const std::vector<int64_t> &stateShape) {
    std::string name = prefix + contract::kSsmState;
    Tensor y{fresh("mix"), values.type, values.shape};
    Tensor next{fresh("ssmState"),
                stateType({-1, stateShape[0], stateShape[1], stateShape[2]}),
                stateShape};
    std::string operands = queries.type + ", " + keys.type + ", " +
                           values.type + ", " + dt.type + ", " + a.type;
    std::string text = y.name + ", " + next.name + " = ssm.mix linear causal " +
                       queries.name + ", " + keys.name + ", " + values.name +
                       " decay(" + dt.name + ", " + a.name + ")";
    if (!fromEmpty()) {
      text += " initial_state(" + stateValues.at(name).name + ")";
      operands += ", " + next.type;
    }
    if (entry == Entry::Decode)
      text += " algorithm<recurrent>";
    line(text + " : (" + operands + ") -> (" + values.type + ", " + next.type +
         ")");
    nextStates[name] = next;
    return y;
  }

  /// MambaRMSNormGated: g = y · silu(gate), normalised over groups of
  /// `groupSize` channels, times the weight.
  Tensor gatedRmsNorm(const Tensor &y, const Tensor &gate, const Tensor &w,
                      int64_t groupSize) {
    int64_t channels = y.shape[0], groups = channels / groupSize;
    Tensor gated = elementwise({y, gate}, [&](const std::vector<std::string> &a) {
      return op("mulf", a[0], silu(a[1]));
    });
    Tensor grouped = split(gated, groups, groupSize);
    Tensor sums = squareSums(grouped, 4);
    Tensor normed = generic(
        {{grouped, identityMap(4)},
         {sums, map(4, "d0, d1, d2")},
         {w, map(4, "d2 * " + std::to_string(groupSize) + " + d3")}},
        empty(grouped.shape), identityMap(4),
        {"parallel", "parallel", "parallel", "parallel"},
        [&](const std::vector<std::string> &a, const std::string &) {
          return normalize(a[0], a[1], a[2], groupSize);
        });
    return merge(normed);
  }

  /// Mamba-1's mixer (MambaMixer.slow_forward): in_proj → x, z;
  /// x = silu(conv(x)); x_proj → dt, B, C; dt = softplus(dt_proj(dt));
  /// y = scan(C, B, x·dt, decay dt·A per channel and state) + D·x;
  /// out_proj(y · silu(z)).
  Tensor mamba1(const Tensor &u, const Sublayer &s) {
    const Mamba1Mixer &m = s.mamba1;
    const std::string &p = s.prefix;
    int64_t inner = m.intermediateSize;
    Tensor projected = project(u, p, "in_proj");
    Tensor x = causalConvSilu(slice(projected, 0, inner), p);
    Tensor z = slice(projected, inner, inner);
    Tensor params = linear(x, weight(p + "x_proj.weight"), nullptr);
    Tensor rank = slice(params, 0, m.timeStepRank);
    Tensor keys = split(slice(params, m.timeStepRank, m.stateSize), 1,
                        m.stateSize);
    Tensor queries = split(
        slice(params, m.timeStepRank + m.stateSize, m.stateSize), 1,
        m.stateSize);
    Tensor dtLinear = project(rank, p, "dt_proj");
    Tensor dt = elementwise({dtLinear}, [&](const std::vector<std::string> &a) {
      return softplus(a[0]);
    });
    Tensor a = negativeExp(weight(p + "A_log"));
    Tensor scaled = elementwise({x, dt}, [&](const std::vector<std::string> &v) {
      return op("mulf", v[0], v[1]);
    });
    Tensor values = split(scaled, inner, 1);
    Tensor y = scan(queries, keys, values, dt, a, p, {inner, 1, m.stateSize});
    Tensor flat = merge(y);
    Tensor gated = generic(
        {{flat, identityMap(3)},
         {x, identityMap(3)},
         {weight(p + "D"), map(3, "d2")},
         {z, identityMap(3)}},
        empty({inner}), identityMap(3), {"parallel", "parallel", "parallel"},
        [&](const std::vector<std::string> &v, const std::string &) {
          std::string skipped = op("addf", v[0], op("mulf", v[1], v[2]));
          return op("mulf", skipped, silu(v[3]));
        });
    return project(gated, p, "out_proj");
  }

  /// RoPE on the first `rotaryDim` channels of each head
  /// (q·cos + rotate_half(q)·sin, positions 0..L-1, inv_freq in f32).
  Tensor rope(const Tensor &x, const Attention &a, const std::string &offset) {
    if (a.rotaryDim == 0)
      return x;
    int64_t half = a.rotaryDim / 2;
    std::string table = fresh("invFreq");
    std::string values;
    for (int64_t j = 0; j < half; ++j) {
      float inv = static_cast<float>(
          1.0 / std::pow(a.ropeTheta, static_cast<double>(2 * j) /
                                          static_cast<double>(a.rotaryDim)));
      values += (j ? ", " : "") + f32(inv);
    }
    std::string tableType = "tensor<" + std::to_string(half) + "xf32>";
    line(table + " = arith.constant dense<[" + values + "]> : " + tableType);
    return generic(
        {{x, identityMap(4)}}, empty(x.shape), identityMap(4),
        {"parallel", "parallel", "parallel", "parallel"},
        [&](const std::vector<std::string> &v, const std::string &) {
          std::string t = fresh("s"), e = fresh("s"), b = fresh("s"),
                      h = fresh("s");
          line("  " + b + " = linalg.index 0 : index");
          line("  " + t + " = linalg.index 1 : index");
          line("  " + h + " = linalg.index 2 : index");
          line("  " + e + " = linalg.index 3 : index");
          std::string cHalf = fresh("s"), cRot = fresh("s");
          line("  " + cHalf + " = arith.constant " + std::to_string(half) +
               " : index");
          line("  " + cRot + " = arith.constant " +
               std::to_string(a.rotaryDim) + " : index");
          // Channel e rotates with its partner e ± half; the sign is − for
          // the first half (rotate_half).
          std::string inFirst = fresh("s"), inRotary = fresh("s"),
                      partner = fresh("s"), up = fresh("s"), down = fresh("s"),
                      slot = fresh("s"), slotDown = fresh("s");
          line("  " + inFirst + " = arith.cmpi ult, " + e + ", " + cHalf +
               " : index");
          line("  " + inRotary + " = arith.cmpi ult, " + e + ", " + cRot +
               " : index");
          line("  " + up + " = arith.addi " + e + ", " + cHalf + " : index");
          line("  " + down + " = arith.subi " + e + ", " + cHalf + " : index");
          line("  " + partner + " = arith.select " + inFirst + ", " + up +
               ", " + down + " : index");
          line("  " + slotDown + " = arith.select " + inFirst + ", " + e +
               ", " + down + " : index");
          // Channels beyond the rotary ones read themselves (unused).
          std::string safePartner = fresh("s"), safeSlot = fresh("s");
          line("  " + safePartner + " = arith.select " + inRotary + ", " +
               partner + ", " + e + " : index");
          line("  " + safeSlot + " = arith.select " + inRotary + ", " +
               slotDown + ", %c0 : index");
          (void)slot;
          std::string other = fresh("s"), inv = fresh("s"), pos = fresh("s"),
                      posI = fresh("s");
          line("  " + other + " = tensor.extract " + x.name + "[" + b + ", " +
               t + ", " + h + ", " + safePartner + "] : " + x.type);
          line("  " + inv + " = tensor.extract " + table + "[" + safeSlot +
               "] : " + tableType);
          std::string absolute = fresh("s");
          line("  " + absolute + " = arith.addi " + t + ", " + offset +
               " : index");
          line("  " + posI + " = arith.index_cast " + absolute +
               " : index to i64");
          line("  " + pos + " = arith.sitofp " + posI + " : i64 to f32");
          std::string angle = op("mulf", pos, inv);
          std::string c = unary("math.cos", angle), sn = unary("math.sin", angle);
          std::string negOther = unary("arith.negf", other);
          std::string signed_ = fresh("s");
          line("  " + signed_ + " = arith.select " + inFirst + ", " + negOther +
               ", " + other + " : f32");
          std::string rotated =
              op("addf", op("mulf", v[0], c), op("mulf", signed_, sn));
          std::string r = fresh("s");
          line("  " + r + " = arith.select " + inRotary + ", " + rotated +
               ", " + v[0] + " : f32");
          return r;
        });
  }

  /// Causal softmax attention with grouped keys and values (eager
  /// attention: softmax(scale · q kᵀ) v), then o_proj.
  Tensor attention(const Tensor &u, const Sublayer &s) {
    const Attention &a = s.attention;
    const std::string &p = s.prefix;
    // Positions go on after the cached keys.
    std::string offset = "%c0";
    if (!fromEmpty()) {
      const Tensor &cache = stateValues.at(p + contract::kKeyCache);
      offset = fresh("cached");
      line(offset + " = tensor.dim " + cache.name + ", %c1 : " + cache.type);
    }
    Tensor q = rope(split(project(u, p, "q_proj"), a.numHeads, a.headDim), a,
                    offset);
    Tensor k = rope(
        split(project(u, p, "k_proj"), a.numKeyValueHeads, a.headDim), a,
        offset);
    Tensor v = split(project(u, p, "v_proj"), a.numKeyValueHeads, a.headDim);
    // The caches come back as the rows this call adds
    // (contract::isAppendedState).
    nextStates[p + contract::kKeyCache] = k;
    nextStates[p + contract::kValueCache] = v;
    if (!fromEmpty()) {
      k = concatTime(stateValues.at(p + contract::kKeyCache), -1, k);
      v = concatTime(stateValues.at(p + contract::kValueCache), -1, v);
    }
    Tensor y{fresh("attn"), activation({a.numHeads, a.headDim}),
             {a.numHeads, a.headDim}};
    line(y.name + " = ssm.mix softmax(scale = " +
         llvm::formatv("{0:e16}", a.scale).str() + ") causal " + q.name + ", " +
         k.name + ", " + v.name + " : (" + q.type + ", " + k.type + ", " +
         v.type + ") -> " + y.type);
    return project(merge(y), p, "o_proj");
  }

  /// SwiGLU (down(silu(gate(x)) · up(x))) or relu² (down(relu(up(x))²)).
  Tensor mlp(const Tensor &u, const Sublayer &s) {
    const Mlp &m = s.mlp;
    const std::string &p = s.prefix;
    Tensor hidden;
    if (m.fusedGateUp) {
      Tensor both = project(u, p, "input_linear");
      Tensor gate = slice(both, 0, m.intermediateSize);
      Tensor up = slice(both, m.intermediateSize, m.intermediateSize);
      hidden = elementwise({gate, up}, [&](const std::vector<std::string> &a) {
        return op("mulf", silu(a[0]), a[1]);
      });
      return project(hidden, p, "output_linear");
    }
    if (m.kind == Mlp::Kind::SwiGlu) {
      Tensor gate = project(u, p, "gate_proj");
      Tensor up = project(u, p, "up_proj");
      hidden = elementwise({gate, up}, [&](const std::vector<std::string> &a) {
        return op("mulf", silu(a[0]), a[1]);
      });
    } else {
      Tensor up = project(u, p, "up_proj");
      hidden = elementwise({up}, [&](const std::vector<std::string> &a) {
        std::string relu = op("maximumf", a[0], constant(0.0));
        return op("mulf", relu, relu);
      });
    }
    return project(hidden, p, "down_proj");
  }
};

} // namespace

/// next_ids (ssm/contract/model.h): each position's argmax over the
/// vocabulary, the first of equal largest logits (`ogt` keeps the earlier;
/// NaN compares false, so it is never taken).
static std::string nextIdsSource(const ModelConfig &config) {
  const std::string vocab = std::to_string(config.vocabSize);
  const std::string logits = "tensor<?x?x" + vocab + "xf32>";
  std::string text = "// Greedy decoding's pick from each position's logits "
                     "(ssmc's model importer).\n";
  text += "func.func @" + std::string(contract::kNextIdsFunction) +
          "(%logits: " + logits + " {ssm.name = \"" + contract::kLogits +
          "\"})\n    -> (tensor<?x?xi64> {ssm.name = \"" + contract::kNextIds +
          "\"}) {\n";
  text += "  %c0 = arith.constant 0 : index\n"
          "  %c1 = arith.constant 1 : index\n"
          "  %B = tensor.dim %logits, %c0 : " + logits + "\n"
          "  %L = tensor.dim %logits, %c1 : " + logits + "\n"
          "  %lowest = arith.constant 0xFF800000 : f32\n"
          "  %first = arith.constant 0 : i64\n"
          "  %values = tensor.empty(%B, %L) : tensor<?x?xf32>\n"
          "  %indices = tensor.empty(%B, %L) : tensor<?x?xi64>\n"
          "  %best0 = linalg.fill ins(%lowest : f32) outs(%values : "
          "tensor<?x?xf32>) -> tensor<?x?xf32>\n"
          "  %at0 = linalg.fill ins(%first : i64) outs(%indices : "
          "tensor<?x?xi64>) -> tensor<?x?xi64>\n"
          "  %argmax:2 = linalg.generic {indexing_maps = [affine_map<(b, l, v) "
          "-> (b, l, v)>, affine_map<(b, l, v) -> (b, l)>, affine_map<(b, l, "
          "v) -> (b, l)>], iterator_types = [\"parallel\", \"parallel\", "
          "\"reduction\"]} ins(%logits : " + logits + ") outs(%best0, %at0 : "
          "tensor<?x?xf32>, tensor<?x?xi64>) {\n"
          "  ^bb0(%x: f32, %best: f32, %at: i64):\n"
          "    %v = linalg.index 2 : index\n"
          "    %vi = arith.index_cast %v : index to i64\n"
          "    %greater = arith.cmpf ogt, %x, %best : f32\n"
          "    %kept = arith.select %greater, %x, %best : f32\n"
          "    %keptAt = arith.select %greater, %vi, %at : i64\n"
          "    linalg.yield %kept, %keptAt : f32, i64\n"
          "  } -> (tensor<?x?xf32>, tensor<?x?xi64>)\n"
          "  return %argmax#1 : tensor<?x?xi64>\n}\n";
  return text;
}

std::string mlir::ssm::modelSource(const ModelConfig &config) {
  std::string text;
  for (Entry entry : {Entry::Prefill, Entry::PrefillChunk, Entry::Decode,
                      Entry::PrefillLast})
    text += ModelWriter(config, entry).write() + "\n";
  return text + nextIdsSource(config);
}

//===----------------------------------------------------------------------===//
// Import
//===----------------------------------------------------------------------===//

bool mlir::ssm::isCheckpointDirectory(llvm::StringRef path) {
  llvm::SmallString<256> config(path);
  llvm::sys::path::append(config, "config.json");
  return llvm::sys::fs::is_directory(path) && llvm::sys::fs::exists(config);
}

static std::string shapeText(const std::vector<int64_t> &shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + "]";
}

/// Every weight present, of its shape and of the config's dtype; every tensor
/// accounted for.
static LogicalResult checkWeights(const ModelConfig &config,
                                  llvm::StringRef path, Location loc) {
  ssm_safetensors_t *file = nullptr;
  if (ssm_status_t status = ssm_safetensors_open(path.str().c_str(), &file)) {
    emitError(loc) << ssm_status_message(status);
    ssm_status_free(status);
    return failure();
  }
  std::set<std::string> expected;
  LogicalResult result = success();
  for (const ModelWeight &weight : modelWeights(config)) {
    expected.insert(weight.name);
    DLTensor tensor;
    if (ssm_status_t status =
            ssm_safetensors_tensor(file, weight.name.c_str(), &tensor)) {
      ssm_status_free(status);
      emitError(loc) << path << ": the config needs tensor '" << weight.name
                     << "' " << shapeText(weight.shape)
                     << ", which the file does not hold";
      result = failure();
      break;
    }
    std::vector<int64_t> shape(tensor.shape, tensor.shape + tensor.ndim);
    if (shape != weight.shape) {
      emitError(loc) << path << ": tensor '" << weight.name << "' is "
                     << shapeText(shape) << "; the config makes it "
                     << shapeText(weight.shape);
      result = failure();
      break;
    }
    DLDataType wanted = config.weightType == "bf16" ? DLDataType{kDLBfloat, 16, 1}
                        : config.weightType == "f16" ? DLDataType{kDLFloat, 16, 1}
                                                     : DLDataType{kDLFloat, 32, 1};
    // f32 parameters take 16-bit tensors too: the runtime widens them.
    bool widened = wanted.bits == 32 && tensor.dtype.bits == 16 &&
                   (tensor.dtype.code == kDLBfloat ||
                    tensor.dtype.code == kDLFloat);
    if ((tensor.dtype.code != wanted.code || tensor.dtype.bits != wanted.bits ||
         tensor.dtype.lanes != 1) &&
        !widened) {
      emitError(loc) << path << ": tensor '" << weight.name << "' is "
                     << ssm_dtype_name(tensor.dtype)
                     << "; the weights' dtype (the config's, or "
                        "--weight-dtype) makes every weight "
                     << ssm_dtype_name(wanted)
                     << " (the runtime widens 16-bit files, never rounds)";
      result = failure();
      break;
    }
  }
  if (succeeded(result)) {
    for (size_t i = 0, e = ssm_safetensors_tensor_count(file); i < e; ++i) {
      std::string name = ssm_safetensors_tensor_name(file, i);
      // A tied head may still be saved; the embeddings serve as the head.
      if (expected.count(name) || (config.tiedHead && name == "lm_head.weight"))
        continue;
      emitError(loc) << path << ": tensor '" << name
                     << "' is not part of the model the config describes "
                        "(a config that disagrees with its weights?)";
      result = failure();
      break;
    }
  }
  ssm_safetensors_release(file);
  return result;
}

FailureOr<OwningOpRef<ModuleOp>>
mlir::ssm::importModel(llvm::StringRef directory, MLIRContext *context,
                       std::optional<std::string> weightType) {
  llvm::SmallString<256> configPath(directory), weightsPath(directory);
  llvm::sys::path::append(configPath, "config.json");
  llvm::sys::path::append(weightsPath, "model.safetensors");
  Location loc = FileLineColLoc::get(context, configPath, 0, 0);
  llvm::ErrorOr<std::unique_ptr<llvm::MemoryBuffer>> text =
      llvm::MemoryBuffer::getFile(configPath);
  if (!text)
    return emitError(loc) << "cannot read " << configPath << ": "
                          << text.getError().message();
  llvm::Expected<ModelConfig> config = parseModelConfig((*text)->getBuffer());
  if (!config)
    return emitError(loc) << llvm::toString(config.takeError());
  if (weightType)
    config->weightType = *weightType;
  // Weights are parameters: a config alone compiles, and the runtime checks
  // the checkpoint it is given at load.
  if (llvm::sys::fs::exists(weightsPath) &&
      failed(checkWeights(*config, weightsPath, loc)))
    return failure();
  context->loadDialect<SsmDialect, arith::ArithDialect, func::FuncDialect,
                       linalg::LinalgDialect, math::MathDialect,
                       tensor::TensorDialect>();
  std::string source = modelSource(*config);
  OwningOpRef<ModuleOp> module = parseSourceString<ModuleOp>(
      source, ParserConfig(context),
      llvm::sys::path::filename(directory));
  if (!module)
    return emitError(loc) << "internal error: the model IR for "
                          << config->modelType << " does not parse";
  return module;
}
