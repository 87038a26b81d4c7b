//===- SsmOps.cpp - Operations of the ssm dialect -------------------------===//
//
// Assembly, verification and canonicalization of `ssm.mix`.
//
//===----------------------------------------------------------------------===//

#include "ssm/SsmOps.h"

#include "ssm/contract/mix.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/IR/TypeUtilities.h"
#include "llvm/ADT/STLExtras.h"

#include <cmath>
#include <string>

using namespace mlir;
using namespace mlir::ssm;

//===----------------------------------------------------------------------===//
// Custom assembly: score and mask
//===----------------------------------------------------------------------===//

// Syntax: `linear` or `softmax(scale = S)`. A softmax without a scale parses,
// so that the verifier can say what is missing.
static ParseResult parseScore(OpAsmParser &parser, ScoreKindAttr &score,
                              FloatAttr &scale) {
  StringRef keyword;
  SMLoc loc = parser.getCurrentLocation();
  if (parser.parseKeyword(&keyword))
    return failure();
  std::optional<ScoreKind> kind = symbolizeScoreKind(keyword);
  if (!kind)
    return parser.emitError(loc)
           << "unknown score '" << keyword
           << "', expected 'linear' or 'softmax(scale = S)'";
  score = ScoreKindAttr::get(parser.getContext(), *kind);
  if (failed(parser.parseOptionalLParen()))
    return success();
  double value;
  if (parser.parseKeyword("scale") || parser.parseEqual() ||
      parser.parseFloat(value) || parser.parseRParen())
    return failure();
  scale = parser.getBuilder().getF64FloatAttr(value);
  return success();
}

static void printScore(OpAsmPrinter &printer, MixOp, ScoreKindAttr score,
                       FloatAttr scale) {
  printer << stringifyScoreKind(score.getValue());
  if (scale) {
    printer << "(scale = ";
    printer.printAttributeWithoutType(scale);
    printer << ")";
  }
}

// Syntax: `causal`, `full` or `window(W)`.
static ParseResult parseMask(OpAsmParser &parser, MaskAttr &mask) {
  StringRef keyword;
  SMLoc loc = parser.getCurrentLocation();
  if (parser.parseKeyword(&keyword))
    return failure();
  std::optional<MaskKind> kind = symbolizeMaskKind(keyword);
  if (!kind)
    return parser.emitError(loc)
           << "unknown mask '" << keyword
           << "', expected 'causal', 'full' or 'window(W)'";
  int64_t window = 0;
  if (*kind == MaskKind::Window &&
      (parser.parseLParen() || parser.parseInteger(window) ||
       parser.parseRParen()))
    return failure();
  mask = MaskAttr::getChecked([&] { return parser.emitError(loc); },
                              parser.getContext(), *kind, window);
  return success(mask != nullptr);
}

static void printMask(OpAsmPrinter &printer, MixOp, MaskAttr mask) {
  printer << stringifyMaskKind(mask.getKind());
  if (mask.getKind() == MaskKind::Window)
    printer << "(" << mask.getWindow() << ")";
}

#define GET_OP_CLASSES
#include "ssm/SsmOps.cpp.inc"

//===----------------------------------------------------------------------===//
// Verifier
//===----------------------------------------------------------------------===//

/// The contract's decay kind of `op` (before the verifier has checked that
/// a decay has both 'dt' and 'A' as well).
static ::ssm::contract::Decay decayOf(MixOp op) {
  using ::ssm::contract::Decay;
  if (!op.hasDecay())
    return Decay::None;
  return op.getA() && op.hasDiagonalDecay() ? Decay::Diagonal : Decay::Scalar;
}

namespace {
/// One expected dimension of an operand: its symbol from the op's
/// definition and its size, when another operand already fixed it.
struct ExpectedDim {
  StringRef symbol;
  int64_t size = ShapedType::kDynamic;
};

/// Verifies the shapes of one `ssm.mix`, naming operands and expected shapes.
class MixVerifier {
public:
  explicit MixVerifier(MixOp op) : op(op) {}
  LogicalResult verify();

private:
  LogicalResult checkRank(StringRef name, bool isResult, RankedTensorType type,
                          ArrayRef<StringRef> symbols);
  LogicalResult checkShape(StringRef name, bool isResult,
                           RankedTensorType type, ArrayRef<ExpectedDim> dims,
                           StringRef note = {});
  LogicalResult checkStaticDim(StringRef name, bool isResult,
                               RankedTensorType type, unsigned dim,
                               StringRef symbol);
  LogicalResult checkSameElementType(StringRef name, Type type,
                                     StringRef refName, Type refType);
  LogicalResult verifyHeads();
  LogicalResult verifyLengths();
  LogicalResult verifyScore();
  LogicalResult verifyDecay();
  LogicalResult verifyState();
  LogicalResult verifyAlgorithm();

  /// The first static size among the given (type, dim) pairs.
  static int64_t
  firstStatic(ArrayRef<std::pair<RankedTensorType, unsigned>> candidates);

  MixOp op;
  int64_t batch = ShapedType::kDynamic;
  int64_t queryLength = ShapedType::kDynamic, keyLength = ShapedType::kDynamic;
  int64_t numHeads = 0, stateSize = 0, valueHeadDim = 0;
};
} // namespace

static std::string formatShape(ArrayRef<ExpectedDim> dims) {
  std::string text = "[";
  for (auto [i, dim] : llvm::enumerate(dims)) {
    if (i)
      text += ", ";
    text += dim.symbol.str();
    if (!ShapedType::isDynamic(dim.size))
      text += "=" + std::to_string(dim.size);
  }
  return text + "]";
}

static StringRef role(bool isResult) {
  return isResult ? "result" : "operand";
}

LogicalResult MixVerifier::checkRank(StringRef name, bool isResult,
                                     RankedTensorType type,
                                     ArrayRef<StringRef> symbols) {
  if (type.getRank() == static_cast<int64_t>(symbols.size()))
    return success();
  SmallVector<ExpectedDim> dims;
  for (StringRef symbol : symbols)
    dims.push_back({symbol});
  return op.emitOpError() << role(isResult) << " '" << name
                          << "' expected rank " << symbols.size() << " "
                          << formatShape(dims) << ", got " << type;
}

LogicalResult MixVerifier::checkShape(StringRef name, bool isResult,
                                      RankedTensorType type,
                                      ArrayRef<ExpectedDim> dims,
                                      StringRef note) {
  bool matches = type.getRank() == static_cast<int64_t>(dims.size());
  for (auto [i, dim] : llvm::enumerate(dims)) {
    if (!matches)
      break;
    if (!ShapedType::isDynamic(dim.size) && !type.isDynamicDim(i) &&
        type.getDimSize(i) != dim.size)
      matches = false;
  }
  if (matches)
    return success();
  InFlightDiagnostic diag = op.emitOpError()
                            << role(isResult) << " '" << name
                            << "' expected shape " << formatShape(dims);
  if (!note.empty())
    diag << " " << note;
  return diag << ", got " << type;
}

LogicalResult MixVerifier::checkStaticDim(StringRef name, bool isResult,
                                          RankedTensorType type, unsigned dim,
                                          StringRef symbol) {
  if (!type.isDynamicDim(dim))
    return success();
  return op.emitOpError() << role(isResult) << " '" << name
                          << "' must have a static "
                          << symbol << " (dimension " << dim << "), got "
                          << type;
}

LogicalResult MixVerifier::checkSameElementType(StringRef name, Type type,
                                                StringRef refName,
                                                Type refType) {
  Type element = getElementTypeOrSelf(type);
  Type refElement = getElementTypeOrSelf(refType);
  if (element == refElement)
    return success();
  return op.emitOpError() << "'" << name << "' expected element type "
                          << refElement << " (as '" << refName << "'), got "
                          << element;
}

int64_t MixVerifier::firstStatic(
    ArrayRef<std::pair<RankedTensorType, unsigned>> candidates) {
  for (auto [type, dim] : candidates)
    if (!type.isDynamicDim(dim))
      return type.getDimSize(dim);
  return ShapedType::kDynamic;
}

LogicalResult MixVerifier::verifyHeads() {
  RankedTensorType q = op.getQ().getType(), k = op.getK().getType(),
                   v = op.getV().getType(), y = op.getY().getType();
  if (failed(checkRank("q", false, q, {"B", "Lq", "Hq", "N"})) ||
      failed(checkRank("k", false, k, {"B", "Lk", "Hk", "N"})) ||
      failed(checkRank("v", false, v, {"B", "Lk", "Hv", "P"})) ||
      failed(checkRank("y", true, y, {"B", "Lq", "H", "P"})))
    return failure();
  // Kernels specialise on heads and head dims; batch and length may vary.
  if (failed(checkStaticDim("q", false, q, 2, "head count Hq")) ||
      failed(checkStaticDim("k", false, k, 2, "head count Hk")) ||
      failed(checkStaticDim("v", false, v, 2, "head count Hv")) ||
      failed(checkStaticDim("y", true, y, 2, "head count H")) ||
      failed(checkStaticDim("q", false, q, 3, "state size N")) ||
      failed(checkStaticDim("k", false, k, 3, "state size N")) ||
      failed(checkStaticDim("v", false, v, 3, "value head dim P")) ||
      failed(checkStaticDim("y", true, y, 3, "value head dim P")))
    return failure();

  batch = firstStatic({{q, 0}, {k, 0}, {v, 0}, {y, 0}});
  queryLength = firstStatic({{q, 1}, {y, 1}});
  keyLength = firstStatic({{k, 1}, {v, 1}});
  stateSize = q.getDimSize(3);
  valueHeadDim = v.getDimSize(3);
  int64_t numQueryHeads = q.getDimSize(2), numKeyHeads = k.getDimSize(2),
          numValueHeads = v.getDimSize(2);
  numHeads = std::max({numQueryHeads, numKeyHeads, numValueHeads});
  for (auto [name, heads] :
       {std::pair<StringRef, int64_t>{"q", numQueryHeads},
        {"k", numKeyHeads},
        {"v", numValueHeads}}) {
    if (heads <= 0 || numHeads % heads != 0)
      return op.emitOpError()
             << "operand '" << name << "' has " << heads
             << " heads, which does not divide the " << numHeads
             << " output heads H = max(Hq, Hk, Hv)";
  }

  if (failed(checkShape(
          "k", false, k,
          {{"B", batch}, {"Lk", keyLength}, {"Hk"}, {"N", stateSize}},
          "(N as in 'q')")) ||
      failed(checkShape("v", false, v,
                        {{"B", batch}, {"Lk", keyLength}, {"Hv"}, {"P"}},
                        "(Lk as in 'k')")) ||
      failed(checkShape("q", false, q,
                        {{"B", batch}, {"Lq", queryLength}, {"Hq"}, {"N"}})) ||
      failed(checkShape("y", true, y,
                        {{"B", batch},
                         {"Lq", queryLength},
                         {"H", numHeads},
                         {"P", valueHeadDim}},
                        "(Lq as in 'q', H = max(Hq, Hk, Hv), P as in 'v')")))
    return failure();

  if (failed(checkSameElementType("k", k, "q", q)) ||
      failed(checkSameElementType("v", v, "q", q)) ||
      failed(checkSameElementType("y", y, "v", v)))
    return failure();
  return success();
}

// Queries against a cache are the last Lq of the Lk positions; they take no
// decay and no state (the contract's rule).
LogicalResult MixVerifier::verifyLengths() {
  if (ShapedType::isDynamic(queryLength) || ShapedType::isDynamic(keyLength) ||
      queryLength == keyLength)
    return success();
  if (queryLength > keyLength) {
    // Name the operand whose static size says Lq.
    bool inQ = !op.getQ().getType().isDynamicDim(1);
    return op.emitOpError()
           << (inQ ? "operand 'q' expected shape [B, Lq, Hq, N]"
                   : "result 'y' expected shape [B, Lq, H, P]")
           << " with Lq <= Lk=" << keyLength
           << " (queries against a cache are the last Lq of the Lk key "
              "positions), got "
           << (inQ ? op.getQ().getType() : op.getY().getType());
  }
  if (std::optional<std::string> why = ::ssm::contract::whyNotAgainstCache(
          decayOf(op), op.getInitialState() != nullptr,
          op.getFinalState() != nullptr))
    return op.emitOpError() << *why << ", got Lq = " << queryLength
                            << " and Lk = " << keyLength;
  return success();
}

LogicalResult MixVerifier::verifyScore() {
  FloatAttr scale = op.getScaleAttr();
  if (!op.isSoftmax()) {
    if (scale)
      return op.emitOpError() << "score 'linear' takes no scale";
    return success();
  }
  if (!scale)
    return op.emitOpError()
           << "score 'softmax' requires a scale, e.g. softmax(scale = "
           << 1.0 / std::sqrt(static_cast<double>(stateSize)) << ")";
  if (!std::isfinite(scale.getValueAsDouble()))
    return op.emitOpError() << "softmax scale must be finite, got "
                            << scale.getValueAsDouble();
  if (op.hasDecay())
    return op.emitOpError() << "score 'softmax' cannot be combined with a "
                               "decay (no finite-state form)";
  if (op.getInitialState())
    return op.emitOpError() << "score 'softmax' cannot take an "
                               "'initial_state' (no finite-state form)";
  if (op.getFinalState())
    return op.emitOpError() << "score 'softmax' cannot produce a "
                               "'final_state' (no finite-state form)";
  return success();
}

LogicalResult MixVerifier::verifyDecay() {
  Value dt = op.getDt(), decayRate = op.getA();
  if (!dt && !decayRate)
    return success();
  if (!dt || !decayRate)
    return op.emitOpError() << "a decay needs both 'dt' and 'A'";
  if (op.getMask().getKind() == MaskKind::Full)
    return op.emitOpError() << "a decay needs a causal or window mask, got "
                               "'full'";
  auto dtType = cast<RankedTensorType>(dt.getType());
  auto aType = cast<RankedTensorType>(decayRate.getType());
  // L = Lq = Lk (verifyLengths), either of which may be dynamic.
  int64_t length =
      ShapedType::isDynamic(keyLength) ? queryLength : keyLength;
  if (failed(checkShape("dt", false, dtType,
                        {{"B", batch}, {"L", length}, {"H", numHeads}})))
    return failure();
  bool isScalar = aType.getRank() == 1 && aType.getDimSize(0) == numHeads;
  bool isDiagonal = aType.getRank() == 2 && aType.getDimSize(0) == numHeads &&
                    aType.getDimSize(1) == stateSize;
  if (!isScalar && !isDiagonal)
    return op.emitOpError()
           << "operand 'A' expected shape [H=" << numHeads
           << "] (scalar decay) or [H=" << numHeads << ", N=" << stateSize
           << "] (diagonal decay), got " << aType;
  return checkSameElementType("A", aType, "dt", dtType);
}

LogicalResult MixVerifier::verifyState() {
  Value initialState = op.getInitialState();
  Value finalState = op.getFinalState();
  if (!initialState && !finalState)
    return success();
  if (!op.getMask().isCausal())
    return op.emitOpError() << "a state ('initial_state' or 'final_state') "
                               "needs a causal mask";
  SmallVector<ExpectedDim> dims = {{"B", batch},
                                   {"H", numHeads},
                                   {"P", valueHeadDim},
                                   {"N", stateSize}};
  if (initialState &&
      failed(checkShape("initial_state", false,
                        cast<RankedTensorType>(initialState.getType()), dims)))
    return failure();
  if (finalState &&
      failed(checkShape("final_state", true,
                        cast<RankedTensorType>(finalState.getType()), dims)))
    return failure();
  if (initialState && finalState)
    return checkSameElementType("final_state", finalState.getType(),
                                "initial_state", initialState.getType());
  return success();
}

LogicalResult MixVerifier::verifyAlgorithm() {
  AlgorithmAttr algorithm = op.getAlgorithmAttr();
  if (!algorithm)
    return success();
  if (std::optional<std::string> why = op.whyIllegal(algorithm.getKind()))
    return op.emitOpError() << *why;
  return success();
}

LogicalResult MixVerifier::verify() {
  if (failed(verifyHeads()) || failed(verifyLengths()) ||
      failed(verifyScore()) ||
      failed(verifyDecay()) || failed(verifyState()) ||
      failed(verifyAlgorithm()))
    return failure();
  return success();
}

LogicalResult MixOp::verify() { return MixVerifier(*this).verify(); }

std::optional<std::string> MixOp::whyIllegal(AlgorithmKind kind) {
  namespace contract = ::ssm::contract;
  contract::Algorithm algorithm =
      kind == AlgorithmKind::Quadratic   ? contract::Algorithm::Quadratic
      : kind == AlgorithmKind::Recurrent ? contract::Algorithm::Recurrent
                                         : contract::Algorithm::Chunked;
  contract::Mask mask = getMask().isCausal() ? contract::Mask::Causal
                        : getMask().getKind() == MaskKind::Full
                            ? contract::Mask::Full
                            : contract::Mask::Window;
  return contract::whyIllegal(algorithm,
                              isSoftmax() ? contract::Score::Softmax
                                          : contract::Score::Linear,
                              mask, decayOf(*this), isAgainstCache());
}

bool MixOp::needsEqualLengths() {
  if (hasDecay() || getInitialState() || getFinalState())
    return true;
  AlgorithmAttr plan = getAlgorithmAttr();
  if (!plan)
    return false;
  if (plan.getKind() != AlgorithmKind::Quadratic)
    return true;
  // Of the CUDA kernels, only quadratic_simt takes a cache (Lq < Lk).
  return plan.getKernel() && *plan.getKernel() != KernelKind::Loops &&
         *plan.getKernel() != KernelKind::QuadraticSimt;
}

//===----------------------------------------------------------------------===//
// Canonicalization
//===----------------------------------------------------------------------===//

/// Rebuilds `op` with the given optional operands and, if asked, without its
/// final_state; all attributes are kept.
static MixOp rebuildMix(PatternRewriter &rewriter, MixOp op, Value dt,
                        Value decayRate, Value initialState,
                        bool keepFinalState) {
  Type finalStateType =
      keepFinalState && op.getFinalState() ? op.getFinalState().getType()
                                           : Type();
  return MixOp::create(rewriter, op.getLoc(), op.getY().getType(),
                       finalStateType, op.getQ(), op.getK(), op.getV(), dt,
                       decayRate, initialState, op.getScoreAttr(),
                       op.getScaleAttr(), op.getMaskAttr(),
                       op.getAlgorithmAttr());
}

static void replaceMix(PatternRewriter &rewriter, MixOp op, MixOp newOp) {
  SmallVector<Value> replacements = {newOp.getY()};
  if (op.getFinalState())
    replacements.push_back(newOp.getFinalState() ? newOp.getFinalState()
                                                 : Value());
  rewriter.replaceOp(op, replacements);
}

namespace {
/// An unused final_state need not be computed (a recurrence that stores it
/// costs a write of [B, H, P, N]).
struct DropUnusedFinalState : OpRewritePattern<MixOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(MixOp op,
                                PatternRewriter &rewriter) const override {
    if (!op.getFinalState() || !op.getFinalState().use_empty())
      return failure();
    MixOp newOp = rebuildMix(rewriter, op, op.getDt(), op.getA(),
                             op.getInitialState(), /*keepFinalState=*/false);
    rewriter.replaceAllUsesWith(op.getY(), newOp.getY());
    rewriter.eraseOp(op);
    return success();
  }
};

/// A zero initial_state is the same as none.
struct DropZeroInitialState : OpRewritePattern<MixOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(MixOp op,
                                PatternRewriter &rewriter) const override {
    Value initialState = op.getInitialState();
    if (!initialState || !matchPattern(initialState, m_AnyZeroFloat()))
      return failure();
    replaceMix(rewriter, op,
               rebuildMix(rewriter, op, op.getDt(), op.getA(), Value(),
                          /*keepFinalState=*/true));
    return success();
  }
};

/// A decay with A = 0 multiplies every entry by exp(0) = 1: no decay.
struct DropZeroDecay : OpRewritePattern<MixOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(MixOp op,
                                PatternRewriter &rewriter) const override {
    if (!op.hasDecay() || !matchPattern(op.getA(), m_AnyZeroFloat()))
      return failure();
    replaceMix(rewriter, op,
               rebuildMix(rewriter, op, Value(), Value(), op.getInitialState(),
                          /*keepFinalState=*/true));
    return success();
  }
};
} // namespace

void MixOp::getCanonicalizationPatterns(RewritePatternSet &results,
                                        MLIRContext *context) {
  results.add<DropUnusedFinalState, DropZeroInitialState, DropZeroDecay>(
      context);
}
