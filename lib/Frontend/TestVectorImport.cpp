//===- TestVectorImport.cpp - Test vectors as ssm.mix programs ------------===//
//
// One builder per vector kind. Layout changes the files need (heads before
// length in attention, [b, D, L] in Mamba-1) are explicit transposes; the
// math glue is elementwise linalg.generic that the lowerings fuse.
//
//===----------------------------------------------------------------------===//

#include "ssm/Frontend/TestVectorImport.h"

#include "ssm/SsmOps.h"
#include "ssm/runtime.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/Verifier.h"
#include "llvm/Support/JSON.h"

#include <cmath>
#include <map>
#include <memory>

using namespace mlir;
using namespace mlir::ssm;

namespace {

/// The header of a vector file: tensor types by name and the description.
struct VectorHeader {
  std::map<std::string, RankedTensorType> tensors;
  llvm::json::Object meta;
};

FailureOr<VectorHeader> readHeader(StringRef path, MLIRContext *context,
                                   Location loc) {
  ssm_safetensors_t *file = nullptr;
  if (ssm_status_t status = ssm_safetensors_open(path.str().c_str(), &file)) {
    emitError(loc) << ssm_status_message(status);
    ssm_status_free(status);
    return failure();
  }
  std::unique_ptr<ssm_safetensors_t, void (*)(ssm_safetensors_t *)> owner(
      file, ssm_safetensors_release);
  VectorHeader header;
  for (size_t i = 0, e = ssm_safetensors_tensor_count(file); i < e; ++i) {
    const char *name = ssm_safetensors_tensor_name(file, i);
    DLTensor tensor;
    if (ssm_status_t status = ssm_safetensors_tensor(file, name, &tensor)) {
      emitError(loc) << ssm_status_message(status);
      ssm_status_free(status);
      return failure();
    }
    Type element;
    if (tensor.dtype.code == kDLFloat && tensor.dtype.bits == 32)
      element = Float32Type::get(context);
    else if (tensor.dtype.code == kDLFloat && tensor.dtype.bits == 64)
      element = Float64Type::get(context);
    else if (tensor.dtype.code == kDLFloat && tensor.dtype.bits == 16)
      element = Float16Type::get(context);
    else if (tensor.dtype.code == kDLBfloat && tensor.dtype.bits == 16)
      element = BFloat16Type::get(context);
    else
      continue; // ids and other integer tensors are not mixer operands
    header.tensors[name] = RankedTensorType::get(
        ArrayRef<int64_t>(tensor.shape, tensor.ndim), element);
  }
  const char *meta = ssm_safetensors_metadata(file, "meta");
  if (!meta)
    return emitError(loc) << "no '__metadata__.meta' case description";
  llvm::Expected<llvm::json::Value> json = llvm::json::parse(meta);
  if (!json)
    return emitError(loc) << "case description is not JSON: "
                          << llvm::toString(json.takeError());
  if (!json->getAsObject())
    return emitError(loc) << "case description is not a JSON object";
  header.meta = std::move(*json->getAsObject());
  return header;
}

/// Builds one function: arguments named after file tensors, glue ops,
/// ssm.mix, named results.
class ProgramBuilder {
public:
  ProgramBuilder(ModuleOp module, Location loc, const VectorHeader &header)
      : builder(module.getContext()), loc(loc), header(header),
        module(module) {}

  /// Declares the function's inputs: required names, then optional ones
  /// present in the file. Fails naming a missing required tensor.
  LogicalResult declareInputs(ArrayRef<StringRef> required,
                              ArrayRef<StringRef> optional) {
    for (StringRef name : required) {
      if (!header.tensors.count(name.str()))
        return emitError(loc) << "missing tensor '" << name << "'";
      inputNames.push_back(name.str());
    }
    for (StringRef name : optional)
      if (header.tensors.count(name.str()))
        inputNames.push_back(name.str());
    return success();
  }

  /// Starts the function body; `arg(name)` is then available.
  void begin(StringRef functionName, ArrayRef<RankedTensorType> resultTypes,
             ArrayRef<StringRef> resultNames) {
    SmallVector<Type> inputTypes;
    for (const std::string &name : inputNames)
      inputTypes.push_back(header.tensors.at(name));
    SmallVector<Type> results(resultTypes.begin(), resultTypes.end());
    builder.setInsertionPointToEnd(module.getBody());
    func = func::FuncOp::create(builder, loc, functionName,
                                builder.getFunctionType(inputTypes, results));
    for (auto [i, name] : llvm::enumerate(inputNames))
      func.setArgAttr(i, "ssm.name", builder.getStringAttr(name));
    for (auto [i, name] : llvm::enumerate(resultNames))
      func.setResultAttr(i, "ssm.name", builder.getStringAttr(name));
    builder.setInsertionPointToStart(func.addEntryBlock());
  }

  bool has(StringRef name) const {
    return llvm::is_contained(inputNames, name.str());
  }
  Value arg(StringRef name) {
    auto it = llvm::find(inputNames, name.str());
    assert(it != inputNames.end() && "undeclared input");
    return func.getArgument(it - inputNames.begin());
  }
  RankedTensorType type(StringRef name) const {
    return header.tensors.at(name.str());
  }

  /// `value` in float type `type` (extended or rounded).
  static Value convertFloat(OpBuilder &b, Location loc, Value value,
                            Type type) {
    Type from = value.getType();
    if (from == type || !isa<FloatType>(from) || !isa<FloatType>(type))
      return value;
    if (from.getIntOrFloatBitWidth() < type.getIntOrFloatBitWidth())
      return arith::ExtFOp::create(b, loc, type, value);
    return arith::TruncFOp::create(b, loc, type, value);
  }

  /// An elementwise linalg.generic over the iteration space of
  /// `resultType`; `maps` give each input's indexing.
  Value generic(RankedTensorType resultType, ArrayRef<Value> inputs,
                ArrayRef<AffineMap> maps,
                function_ref<Value(OpBuilder &, Location, ValueRange)> body) {
    Value init = tensor::EmptyOp::create(builder, loc, resultType.getShape(),
                                         resultType.getElementType());
    SmallVector<AffineMap> allMaps(maps.begin(), maps.end());
    allMaps.push_back(builder.getMultiDimIdentityMap(resultType.getRank()));
    SmallVector<utils::IteratorType> iterators(resultType.getRank(),
                                               utils::IteratorType::parallel);
    auto op = linalg::GenericOp::create(
        builder, loc, TypeRange{resultType}, inputs, ValueRange{init}, allMaps,
        iterators, [&](OpBuilder &b, Location l, ValueRange args) {
          // The body sees the inputs only, not the output's block argument,
          // and computes in f32 (f64 if any input is): 16-bit activations
          // are extended on the way in and the result rounded on the way out.
          bool wide = llvm::any_of(args.drop_back(), [](Value arg) {
            return arg.getType().isF64();
          });
          Type compute = wide ? Type(b.getF64Type()) : Type(b.getF32Type());
          SmallVector<Value> inputs;
          for (Value arg : args.drop_back())
            inputs.push_back(convertFloat(b, l, arg, compute));
          Value result = body(b, l, inputs);
          linalg::YieldOp::create(
              b, l, convertFloat(b, l, result, resultType.getElementType()));
        });
    return op.getResult(0);
  }

  /// `source` with its dims permuted: result dim i is source dim perm[i].
  Value transpose(Value source, ArrayRef<int64_t> perm) {
    auto type = cast<RankedTensorType>(source.getType());
    SmallVector<int64_t> shape;
    for (int64_t p : perm)
      shape.push_back(type.getDimSize(p));
    // Input map: source dim p is result (loop) dim i where perm[i] = p.
    SmallVector<AffineExpr> exprs(perm.size());
    for (auto [i, p] : llvm::enumerate(perm))
      exprs[p] = builder.getAffineDimExpr(i);
    AffineMap map = AffineMap::get(perm.size(), 0, exprs, builder.getContext());
    return generic(type.clone(shape), {source}, {map},
                   [](OpBuilder &, Location, ValueRange args) {
                     return args[0];
                   });
  }

  AffineMap identity(unsigned rank) {
    return builder.getMultiDimIdentityMap(rank);
  }
  /// A map from `rank` loops to the listed loop dims.
  AffineMap dims(unsigned rank, ArrayRef<unsigned> positions) {
    SmallVector<AffineExpr> exprs;
    for (unsigned p : positions)
      exprs.push_back(builder.getAffineDimExpr(p));
    return AffineMap::get(rank, 0, exprs, builder.getContext());
  }

  OpBuilder &getBuilder() { return builder; }
  Location getLoc() const { return loc; }
  void finish(ValueRange results) { func::ReturnOp::create(builder, loc, results); }

private:
  OpBuilder builder;
  Location loc;
  const VectorHeader &header;
  ModuleOp module;
  func::FuncOp func;
  std::vector<std::string> inputNames;
};

// Stable softplus: max(x, 0) + log1p(exp(-|x|)).
Value softplus(OpBuilder &b, Location loc, Value x) {
  Value zero = arith::ConstantOp::create(b, loc, b.getFloatAttr(x.getType(), 0.0));
  Value positive = arith::MaximumFOp::create(b, loc, x, zero);
  Value negAbs = arith::NegFOp::create(b, loc, math::AbsFOp::create(b, loc, x));
  Value tail = math::Log1pOp::create(b, loc, math::ExpOp::create(b, loc, negAbs));
  return arith::AddFOp::create(b, loc, positive, tail);
}

// silu(z) = z / (1 + exp(-z)).
Value silu(OpBuilder &b, Location loc, Value z) {
  Value one = arith::ConstantOp::create(b, loc, b.getFloatAttr(z.getType(), 1.0));
  Value expNeg = math::ExpOp::create(b, loc, arith::NegFOp::create(b, loc, z));
  return arith::DivFOp::create(b, loc, z,
                               arith::AddFOp::create(b, loc, one, expNeg));
}

bool flag(const llvm::json::Object &meta, StringRef key, bool otherwise) {
  return meta.getBoolean(key).value_or(otherwise);
}

RankedTensorType withShape(RankedTensorType type, ArrayRef<int64_t> shape) {
  return type.clone(shape);
}

// Mamba-2 SSD: Δ = softplus(dt + dt_bias); ssm.mix(q = C, k = B, v = Δ·x,
// decay(Δ, A)); y = (y + D·x) · silu(z).
LogicalResult buildSsd(ProgramBuilder &p, const llvm::json::Object &meta) {
  if (failed(p.declareInputs({"x", "dt", "dt_bias", "A", "B", "C", "D"},
                             {"z", "initial_state"})))
    return failure();
  RankedTensorType x = p.type("x"), dt = p.type("dt");
  if (x.getRank() != 4 || dt.getRank() != 3 || p.type("B").getRank() != 4)
    return emitError(p.getLoc()) << "expected x [b, L, H, P], dt [b, L, H], "
                                    "B and C [b, L, G, N]";
  int64_t batch = x.getDimSize(0), heads = x.getDimSize(2),
          headDim = x.getDimSize(3), stateSize = p.type("B").getDimSize(3);
  // The state is f32 whatever the activations are stored in.
  auto stateType = RankedTensorType::get({batch, heads, headDim, stateSize},
                                         p.type("dt").getElementType());
  p.begin("ssd", {x, stateType}, {"y", "final_state"});

  bool applySoftplus = flag(meta, "dt_softplus", true);
  Value delta = p.generic(
      dt, {p.arg("dt"), p.arg("dt_bias")}, {p.identity(3), p.dims(3, {2})},
      [&](OpBuilder &b, Location loc, ValueRange args) {
        Value shifted = arith::AddFOp::create(b, loc, args[0], args[1]);
        return applySoftplus ? softplus(b, loc, shifted) : shifted;
      });
  Value v = p.generic(x, {p.arg("x"), delta},
                      {p.identity(4), p.dims(4, {0, 1, 2})},
                      [](OpBuilder &b, Location loc, ValueRange args) {
                        return arith::MulFOp::create(b, loc, args[0], args[1]);
                      });
  OpBuilder &b = p.getBuilder();
  Value initialState = p.has("initial_state") ? p.arg("initial_state") : Value();
  auto mix = MixOp::create(
      b, p.getLoc(), x, stateType, p.arg("C"), p.arg("B"), v, delta, p.arg("A"),
      initialState, ScoreKindAttr::get(b.getContext(), ScoreKind::Linear),
      FloatAttr(), MaskAttr::get(b.getContext(), MaskKind::Causal),
      AlgorithmAttr());
  SmallVector<Value> inputs = {mix.getY(), p.arg("x"), p.arg("D")};
  SmallVector<AffineMap> maps = {p.identity(4), p.identity(4), p.dims(4, {2})};
  if (p.has("z")) {
    inputs.push_back(p.arg("z"));
    maps.push_back(p.identity(4));
  }
  Value y = p.generic(x, inputs, maps,
                      [&](OpBuilder &b, Location loc, ValueRange args) {
                        Value skip = arith::MulFOp::create(b, loc, args[2], args[1]);
                        Value sum = arith::AddFOp::create(b, loc, args[0], skip);
                        if (args.size() == 3)
                          return sum;
                        return Value(arith::MulFOp::create(
                            b, loc, sum, silu(b, loc, args[3])));
                      });
  p.finish({y, mix.getFinalState()});
  return success();
}

// Mamba-1: channels are heads with P = 1 and A [D, N] is a diagonal decay.
// The file's [b, D, L] / [b, G, N, L] layouts are transposed to ssm.mix's.
LogicalResult buildSelectiveScan(ProgramBuilder &p,
                                 const llvm::json::Object &meta) {
  if (failed(p.declareInputs({"u", "delta", "delta_bias", "A", "B", "C", "D"},
                             {"z"})))
    return failure();
  RankedTensorType u = p.type("u"), bType = p.type("B");
  if (u.getRank() != 3 || bType.getRank() != 4)
    return emitError(p.getLoc())
           << "expected u [b, D, L] and B, C [b, G, N, L]";
  int64_t batch = u.getDimSize(0), channels = u.getDimSize(1),
          length = u.getDimSize(2), stateSize = bType.getDimSize(2);
  Type stateElement = p.type("delta").getElementType();
  auto finalType =
      RankedTensorType::get({batch, channels, stateSize}, stateElement);
  p.begin("selective_scan", {u, finalType}, {"y", "final_state"});

  bool applySoftplus = flag(meta, "delta_softplus", true);
  auto steps =
      RankedTensorType::get({batch, length, channels}, stateElement);
  // Δ [b, L, D] = softplus(delta[b, D, L] + delta_bias[D]).
  Value delta = p.generic(
      steps, {p.arg("delta"), p.arg("delta_bias")},
      {p.dims(3, {0, 2, 1}), p.dims(3, {2})},
      [&](OpBuilder &b, Location loc, ValueRange args) {
        Value shifted = arith::AddFOp::create(b, loc, args[0], args[1]);
        return applySoftplus ? softplus(b, loc, shifted) : shifted;
      });
  // v [b, L, D, 1] = Δ · u.
  auto valuesType = withShape(u, {batch, length, channels, 1});
  Value v = p.generic(valuesType, {p.arg("u"), delta},
                      {p.dims(4, {0, 2, 1}), p.dims(4, {0, 1, 2})},
                      [](OpBuilder &b, Location loc, ValueRange args) {
                        return arith::MulFOp::create(b, loc, args[0], args[1]);
                      });
  Value bMixed = p.transpose(p.arg("B"), {0, 3, 1, 2});
  Value cMixed = p.transpose(p.arg("C"), {0, 3, 1, 2});
  OpBuilder &b = p.getBuilder();
  auto stateType =
      RankedTensorType::get({batch, channels, 1, stateSize}, stateElement);
  auto mix = MixOp::create(
      b, p.getLoc(), valuesType, stateType, cMixed, bMixed, v, delta,
      p.arg("A"), Value(), ScoreKindAttr::get(b.getContext(), ScoreKind::Linear),
      FloatAttr(), MaskAttr::get(b.getContext(), MaskKind::Causal),
      AlgorithmAttr());
  // y [b, D, L] = (y + D · u) · silu(z), reading y [b, L, D, 1].
  AffineExpr d0 = b.getAffineDimExpr(0), d1 = b.getAffineDimExpr(1),
             d2 = b.getAffineDimExpr(2);
  AffineMap yMap = AffineMap::get(3, 0, {d0, d2, d1, b.getAffineConstantExpr(0)},
                                  b.getContext());
  SmallVector<Value> inputs = {mix.getY(), p.arg("u"), p.arg("D")};
  SmallVector<AffineMap> maps = {yMap, p.identity(3), p.dims(3, {1})};
  if (p.has("z")) {
    inputs.push_back(p.arg("z"));
    maps.push_back(p.identity(3));
  }
  Value y = p.generic(u, inputs, maps,
                      [&](OpBuilder &b, Location loc, ValueRange args) {
                        Value skip = arith::MulFOp::create(b, loc, args[2], args[1]);
                        Value sum = arith::AddFOp::create(b, loc, args[0], skip);
                        if (args.size() == 3)
                          return sum;
                        return Value(arith::MulFOp::create(
                            b, loc, sum, silu(b, loc, args[3])));
                      });
  Value finalState = tensor::CollapseShapeOp::create(
      b, p.getLoc(), finalType, mix.getFinalState(),
      ArrayRef<ReassociationIndices>{{0}, {1, 2}, {3}});
  p.finish({y, finalState});
  return success();
}

// Softmax attention over [b, H, L, E] tensors; GQA through head counts.
LogicalResult buildSoftmaxAttention(ProgramBuilder &p,
                                    const llvm::json::Object &meta) {
  if (failed(p.declareInputs({"q", "k", "v"}, {})))
    return failure();
  RankedTensorType q = p.type("q"), v = p.type("v");
  if (q.getRank() != 4 || p.type("k").getRank() != 4 || v.getRank() != 4)
    return emitError(p.getLoc()) << "expected q, k, v [b, H, L, E]";
  bool causal = flag(meta, "causal", false);
  std::optional<int64_t> window = meta.getInteger("window");
  if (window && !causal)
    return emitError(p.getLoc())
           << "a window without causal masking is not defined";
  if (window && *window <= 0)
    return emitError(p.getLoc()) << "window must be positive, got " << *window;
  double scale = meta.getNumber("scale").value_or(
      1.0 / std::sqrt(static_cast<double>(q.getDimSize(3))));
  auto outType = withShape(q, {q.getDimSize(0), q.getDimSize(1),
                               q.getDimSize(2), v.getDimSize(3)});
  p.begin("softmax_attention", {outType}, {"out"});

  OpBuilder &b = p.getBuilder();
  Value qm = p.transpose(p.arg("q"), {0, 2, 1, 3});
  Value km = p.transpose(p.arg("k"), {0, 2, 1, 3});
  Value vm = p.transpose(p.arg("v"), {0, 2, 1, 3});
  auto yType = withShape(q, {q.getDimSize(0), q.getDimSize(2), q.getDimSize(1),
                             v.getDimSize(3)});
  MaskAttr mask =
      window ? MaskAttr::get(b.getContext(), MaskKind::Window, *window)
      : causal ? MaskAttr::get(b.getContext(), MaskKind::Causal)
               : MaskAttr::get(b.getContext(), MaskKind::Full);
  auto mix = MixOp::create(
      b, p.getLoc(), yType, Type(), qm, km, vm, Value(), Value(), Value(),
      ScoreKindAttr::get(b.getContext(), ScoreKind::Softmax),
      b.getF64FloatAttr(scale), mask, AlgorithmAttr());
  p.finish({p.transpose(mix.getY(), {0, 2, 1, 3})});
  return success();
}

// Linear attention: log_decay [b, H, L] is dt with A = 1 per head.
LogicalResult buildLinearAttention(ProgramBuilder &p,
                                   const llvm::json::Object &meta) {
  if (failed(p.declareInputs({"q", "k", "v"}, {"log_decay"})))
    return failure();
  RankedTensorType q = p.type("q"), v = p.type("v");
  if (q.getRank() != 4 || p.type("k").getRank() != 4 || v.getRank() != 4)
    return emitError(p.getLoc()) << "expected q, k, v [b, H, L, E]";
  auto outType = withShape(q, {q.getDimSize(0), q.getDimSize(1),
                               q.getDimSize(2), v.getDimSize(3)});
  p.begin("linear_attention", {outType}, {"out"});

  OpBuilder &b = p.getBuilder();
  Value qm = p.transpose(p.arg("q"), {0, 2, 1, 3});
  Value km = p.transpose(p.arg("k"), {0, 2, 1, 3});
  Value vm = p.transpose(p.arg("v"), {0, 2, 1, 3});
  Value dt, ones;
  if (p.has("log_decay")) {
    dt = p.transpose(p.arg("log_decay"), {0, 2, 1});
    Type decayElement = p.type("log_decay").getElementType();
    auto onesType = RankedTensorType::get({q.getDimSize(1)}, decayElement);
    ones = arith::ConstantOp::create(
        b, p.getLoc(), onesType,
        DenseElementsAttr::get(onesType, b.getFloatAttr(decayElement, 1.0)));
  }
  auto yType = withShape(q, {q.getDimSize(0), q.getDimSize(2), q.getDimSize(1),
                             v.getDimSize(3)});
  auto mix = MixOp::create(
      b, p.getLoc(), yType, Type(), qm, km, vm, dt, ones, Value(),
      ScoreKindAttr::get(b.getContext(), ScoreKind::Linear), FloatAttr(),
      MaskAttr::get(b.getContext(), MaskKind::Causal), AlgorithmAttr());
  p.finish({p.transpose(mix.getY(), {0, 2, 1, 3})});
  return success();
}

/// Each kind's tensors as the testdata README lays them out: one letter per
/// dim, the same letter the same size across the file's tensors.
const std::map<std::string, std::map<std::string, StringRef>> &tensorLayouts() {
  static const std::map<std::string, std::map<std::string, StringRef>> layouts =
      {
          {"ssd",
           {{"x", "bLHP"},
            {"dt", "bLH"},
            {"dt_bias", "H"},
            {"A", "H"},
            {"B", "bLGN"},
            {"C", "bLGN"},
            {"D", "H"},
            {"z", "bLHP"},
            {"initial_state", "bHPN"},
            {"y", "bLHP"},
            {"final_state", "bHPN"}}},
          {"selective_scan",
           {{"u", "bDL"},
            {"delta", "bDL"},
            {"delta_bias", "D"},
            {"A", "DN"},
            {"B", "bGNL"},
            {"C", "bGNL"},
            {"D", "D"},
            {"z", "bDL"},
            {"y", "bDL"},
            {"final_state", "bDN"}}},
          // v may have its own head dim (F); the README's files use F = E.
          {"softmax_attention",
           {{"q", "bHLE"}, {"k", "bKLE"}, {"v", "bKLF"}, {"out", "bHLF"}}},
          {"linear_attention",
           {{"q", "bHLE"},
            {"k", "bHLE"},
            {"v", "bHLF"},
            {"log_decay", "bHL"},
            {"out", "bHLF"}}},
      };
  return layouts;
}

std::string shapeString(RankedTensorType type) {
  std::string text = "[";
  for (auto [i, size] : llvm::enumerate(type.getShape()))
    text += (i ? ", " : "") + std::to_string(size);
  return text + "]";
}

/// Rejects tensors this kind does not define, tensors that are not float32,
/// and sizes that disagree across tensors (naming both tensors).
LogicalResult checkTensors(StringRef kind, const VectorHeader &header,
                           Location loc) {
  auto layouts = tensorLayouts().find(kind.str());
  if (layouts == tensorLayouts().end())
    return success(); // Unknown kinds are reported by the caller.
  std::map<char, std::pair<int64_t, std::string>> sizes;
  for (const auto &[name, type] : header.tensors) {
    auto layout = layouts->second.find(name);
    if (layout == layouts->second.end())
      return emitError(loc)
             << "unknown tensor '" << name << "' in a '" << kind << "' case";
    StringRef dims = layout->second;
    if (!type.getElementType().isF32())
      return emitError(loc)
             << "tensor '" << name << "' is " << type.getElementType()
             << "; the vectors store float32";
    if (type.getRank() != static_cast<int64_t>(dims.size()))
      return emitError(loc)
             << "tensor '" << name << "' must have rank " << dims.size() << " ["
             << dims << "], got " << shapeString(type);
    for (auto [i, letter] : llvm::enumerate(dims)) {
      int64_t size = type.getDimSize(i);
      auto [it, inserted] = sizes.try_emplace(letter, size, name);
      if (!inserted && it->second.first != size)
        return emitError(loc)
               << "tensor '" << name << "' " << shapeString(type) << " has "
               << size << " at dim " << i << " (" << letter << " in [" << dims
               << "]), but tensor '" << it->second.second << "' has " << letter
               << " = " << it->second.first;
    }
  }
  return success();
}

/// A field of a case description: its type and, for a size, the tensor
/// dimension it must equal; for a flag, the optional tensor it announces.
struct FieldRule {
  enum Kind { Integer, Flag, Number, IntegerOrNull } kind;
  /// Integer: the tensor and dim it describes; Flag: the optional tensor
  /// it announces (empty: none).
  StringRef tensor = {};
  unsigned dim = 0;
  /// Flag: the only value this importer defines, if it defines one only.
  std::optional<bool> onlyValue = std::nullopt;
};

/// The fields each kind's description may carry (testdata/README.md).
const std::map<std::string, std::map<std::string, FieldRule>> &fieldRules() {
  using R = FieldRule;
  static const std::map<std::string, std::map<std::string, FieldRule>> rules = {
      {"ssd",
       {{"batch", {R::Integer, "x", 0}},
        {"seqlen", {R::Integer, "x", 1}},
        {"nheads", {R::Integer, "x", 2}},
        {"headdim", {R::Integer, "x", 3}},
        {"ngroups", {R::Integer, "B", 2}},
        {"dstate", {R::Integer, "B", 3}},
        {"dt_softplus", {R::Flag}},
        {"chunk_size_hint", {R::Integer}},
        {"has_z", {R::Flag, "z"}},
        {"has_initial_state", {R::Flag, "initial_state"}}}},
      {"selective_scan",
       {{"batch", {R::Integer, "u", 0}},
        {"dim", {R::Integer, "u", 1}},
        {"seqlen", {R::Integer, "u", 2}},
        {"ngroups", {R::Integer, "B", 1}},
        {"dstate", {R::Integer, "B", 2}},
        {"delta_softplus", {R::Flag}},
        {"has_z", {R::Flag, "z"}},
        // The README's selective scan starts from a zero state.
        {"has_initial_state", {R::Flag, "initial_state", 0, false}}}},
      {"softmax_attention",
       {{"batch", {R::Integer, "q", 0}},
        {"nheads", {R::Integer, "q", 1}},
        {"seqlen", {R::Integer, "q", 2}},
        {"headdim", {R::Integer, "q", 3}},
        {"nheads_kv", {R::Integer, "k", 1}},
        {"causal", {R::Flag}},
        {"window", {R::IntegerOrNull}},
        {"scale", {R::Number}}}},
      {"linear_attention",
       {{"batch", {R::Integer, "q", 0}},
        {"nheads", {R::Integer, "q", 1}},
        {"seqlen", {R::Integer, "q", 2}},
        {"headdim_qk", {R::Integer, "q", 3}},
        {"headdim_v", {R::Integer, "v", 3}},
        {"decay", {R::Flag, "log_decay"}},
        // The README defines causal, unnormalised linear attention only.
        {"causal", {R::Flag, {}, 0, true}},
        {"normalize", {R::Flag, {}, 0, false}}}},
  };
  return rules;
}

/// Rejects a description that this importer would misread: an unknown field
/// (it may carry semantics nobody implements), a field of the wrong type, a
/// size that disagrees with its tensor, a flag that disagrees with the
/// presence of the tensor it announces.
LogicalResult checkDescription(StringRef kind, const VectorHeader &header,
                               Location loc) {
  auto rules = fieldRules().find(kind.str());
  if (rules == fieldRules().end())
    return success(); // Unknown kinds are reported by the caller.
  for (const auto &[key, value] : header.meta) {
    StringRef name = key;
    if (name == "kind" || name == "seed")
      continue;
    auto rule = rules->second.find(name.str());
    if (rule == rules->second.end())
      return emitError(loc)
             << "unknown field '" << name << "' in the description of a '"
             << kind << "' case";
    const FieldRule &r = rule->second;
    auto wrongType = [&](StringRef expected) {
      return emitError(loc) << "field '" << name << "' must be " << expected;
    };
    switch (r.kind) {
    case FieldRule::Flag: {
      std::optional<bool> flagValue = value.getAsBoolean();
      if (!flagValue)
        return wrongType("true or false");
      if (r.onlyValue && *flagValue != *r.onlyValue)
        return emitError(loc) << "field '" << name << "' is "
                              << (*flagValue ? "true" : "false") << ", but a '"
                              << kind << "' case is defined only with "
                              << (*r.onlyValue ? "true" : "false");
      if (!r.tensor.empty() &&
          *flagValue != static_cast<bool>(header.tensors.count(r.tensor.str())))
        return emitError(loc)
               << "field '" << name << "' is "
               << (*flagValue ? "true" : "false") << " but the file "
               << (*flagValue ? "has no" : "has a") << " tensor '" << r.tensor
               << "'";
      break;
    }
    case FieldRule::Number:
      if (!value.getAsNumber())
        return wrongType("a number");
      break;
    case FieldRule::IntegerOrNull:
      if (value.getAsNull())
        break;
      [[fallthrough]];
    case FieldRule::Integer: {
      std::optional<int64_t> size = value.getAsInteger();
      if (!size)
        return wrongType(r.kind == FieldRule::Integer ? "an integer"
                                                      : "an integer or null");
      if (r.tensor.empty())
        break;
      auto tensor = header.tensors.find(r.tensor.str());
      if (tensor == header.tensors.end() ||
          tensor->second.getRank() <= static_cast<int64_t>(r.dim))
        break; // The builder reports the missing or malformed tensor.
      int64_t actual = tensor->second.getDimSize(r.dim);
      if (actual != *size)
        return emitError(loc)
               << "field '" << name << "' is " << *size << " but tensor '"
               << r.tensor << "' has " << actual << " at dim " << r.dim;
      break;
    }
    }
  }
  return success();
}

} // namespace

/// The tensors that hold activations (stored in 16 bits by bf16/f16 models);
/// parameters, step sizes and states stay f32.
const std::map<std::string, std::vector<std::string>> &activationTensors() {
  static const std::map<std::string, std::vector<std::string>> tensors = {
      {"ssd", {"x", "B", "C", "z"}},
      {"selective_scan", {"u", "B", "C", "z"}},
      {"softmax_attention", {"q", "k", "v"}},
      {"linear_attention", {"q", "k", "v"}},
  };
  return tensors;
}

FailureOr<OwningOpRef<ModuleOp>>
ssm::importTestVector(StringRef path, MLIRContext *context,
                      FloatType activationType) {
  context->loadDialect<arith::ArithDialect, func::FuncDialect,
                       linalg::LinalgDialect, math::MathDialect, SsmDialect,
                       tensor::TensorDialect>();
  Location loc = FileLineColLoc::get(context, path, 0, 0);
  FailureOr<VectorHeader> header = readHeader(path, context, loc);
  if (failed(header))
    return failure();
  std::optional<StringRef> kind = header->meta.getString("kind");
  if (!kind)
    return emitError(loc) << "case description has no 'kind'";

  if (failed(checkTensors(*kind, *header, loc)) ||
      failed(checkDescription(*kind, *header, loc)))
    return failure();
  if (activationType) {
    auto activations = activationTensors().find(kind->str());
    if (activations != activationTensors().end())
      for (const std::string &name : activations->second)
        if (auto it = header->tensors.find(name); it != header->tensors.end())
          it->second = it->second.clone(activationType);
  }

  OwningOpRef<ModuleOp> module = ModuleOp::create(loc);
  ProgramBuilder program(*module, loc, *header);
  LogicalResult built = failure();
  if (*kind == "ssd")
    built = buildSsd(program, header->meta);
  else if (*kind == "selective_scan")
    built = buildSelectiveScan(program, header->meta);
  else if (*kind == "softmax_attention")
    built = buildSoftmaxAttention(program, header->meta);
  else if (*kind == "linear_attention")
    built = buildLinearAttention(program, header->meta);
  else
    return emitError(loc) << "unknown kind '" << *kind
                          << "', expected ssd, selective_scan, "
                             "softmax_attention or linear_attention";
  if (failed(built) || failed(verify(*module)))
    return failure();
  return module;
}
