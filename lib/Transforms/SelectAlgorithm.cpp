//===- SelectAlgorithm.cpp - ssm-select-algorithm -------------------------===//
//
// Records on every ssm.mix the algorithm (and chunk size) the cost model
// estimates fastest on the target, or the one forced, and explains why.
//
//===----------------------------------------------------------------------===//

#include "ssm/Transforms/SelectAlgorithm.h"

#include "ssm/CostModel/Measurements.h"
#include "ssm/Transforms/KernelPlanner.h"
#include "ssm/Transforms/Passes.h"

#include "mlir/IR/BuiltinOps.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/Debug.h"
#include "llvm/Support/FormatVariadic.h"

#define DEBUG_TYPE "ssm-select-algorithm"

namespace mlir::ssm {
#define GEN_PASS_DEF_SSMSELECTALGORITHM
#include "ssm/Passes.h.inc"
} // namespace mlir::ssm

using namespace mlir;
using namespace mlir::ssm;
namespace cost = ::ssm::cost;

cost::Algorithm mlir::ssm::toCostAlgorithm(AlgorithmKind kind) {
  switch (kind) {
  case AlgorithmKind::Quadratic:
    return cost::Algorithm::Quadratic;
  case AlgorithmKind::Recurrent:
    return cost::Algorithm::Recurrent;
  case AlgorithmKind::Chunked:
    return cost::Algorithm::Chunked;
  }
  llvm_unreachable("unknown algorithm kind");
}

AlgorithmKind mlir::ssm::fromCostAlgorithm(cost::Algorithm algorithm) {
  switch (algorithm) {
  case cost::Algorithm::Quadratic:
    return AlgorithmKind::Quadratic;
  case cost::Algorithm::Recurrent:
    return AlgorithmKind::Recurrent;
  case cost::Algorithm::Chunked:
    return AlgorithmKind::Chunked;
  }
  llvm_unreachable("unknown algorithm");
}

/// The first static extent of dimension `dim` among q, k, v and y.
static std::optional<int64_t> staticExtent(MixOp op, unsigned dim) {
  for (Value value : {op.getQ(), op.getK(), op.getV(), op.getY()}) {
    auto type = cast<RankedTensorType>(value.getType());
    if (!type.isDynamicDim(dim))
      return type.getDimSize(dim);
  }
  return std::nullopt;
}

static cost::ElementType toCostElementType(Type type) {
  if (type.isBF16())
    return cost::ElementType::BF16;
  if (type.isF16())
    return cost::ElementType::F16;
  if (type.isF64())
    return cost::ElementType::F64;
  // f32, and narrower or exotic floats priced as f32.
  return cost::ElementType::F32;
}

cost::MixShape
mlir::ssm::getMixShape(MixOp op, int64_t assumedLength,
                       llvm::SmallVectorImpl<std::string> *assumptions) {
  cost::MixShape shape;
  if (std::optional<int64_t> batch = staticExtent(op, 0)) {
    shape.batch = *batch;
  } else {
    shape.batch = 1;
    if (assumptions)
      assumptions->push_back("B dynamic: 1");
  }
  // A dynamic Lq or Lk is taken to be the other (as MixOp::isAgainstCache
  // does), or assumed-length when both are.
  int64_t queryLength = op.getQueryLength(), keyLength = op.getKeyLength();
  if (ShapedType::isDynamic(queryLength) && ShapedType::isDynamic(keyLength)) {
    queryLength = keyLength = assumedLength;
    if (assumptions)
      assumptions->push_back(
          llvm::formatv("L dynamic: {0} (assumed-length)", assumedLength)
              .str());
  }
  shape.length = ShapedType::isDynamic(queryLength) ? keyLength : queryLength;
  shape.keyLength = ShapedType::isDynamic(keyLength) ? queryLength : keyLength;
  shape.numHeads = op.getNumHeads();
  shape.numQueryHeads = op.getNumQueryHeads();
  shape.numKeyHeads = op.getNumKeyHeads();
  shape.numValueHeads = op.getNumValueHeads();
  shape.stateSize = op.getStateSize();
  shape.valueHeadDim = op.getValueHeadDim();
  shape.score = op.isSoftmax() ? cost::Score::Softmax : cost::Score::Linear;
  MaskAttr mask = op.getMask();
  switch (mask.getKind()) {
  case MaskKind::Causal:
    shape.mask = cost::Mask::Causal;
    break;
  case MaskKind::Full:
    shape.mask = cost::Mask::Full;
    break;
  case MaskKind::Window:
    shape.mask = cost::Mask::Window;
    shape.window = mask.getWindow();
    break;
  }
  shape.decay = !op.hasDecay()          ? cost::Decay::None
                : op.hasDiagonalDecay() ? cost::Decay::Diagonal
                                        : cost::Decay::Scalar;
  shape.hasInitialState = op.getInitialState() != nullptr;
  shape.hasFinalState = op.getFinalState() != nullptr;
  shape.elementType = toCostElementType(op.getQ().getType().getElementType());
  return shape;
}

/// "B=1 L=4096 H=80 (Hq=1 Hk=1 Hv=80) N=128 P=64 linear causal, scalar decay,
/// f32".
static std::string describeShape(const cost::MixShape &s) {
  std::string lengths =
      s.isAgainstCache()
          ? llvm::formatv("Lq={0} Lk={1}", s.length, s.numKeys()).str()
          : llvm::formatv("L={0}", s.length).str();
  std::string text =
      llvm::formatv("B={0} {1} H={2} (Hq={3} Hk={4} Hv={5}) N={6} P={7} {8} ",
                    s.batch, lengths, s.numHeads, s.numQueryHeads,
                    s.numKeyHeads, s.numValueHeads, s.stateSize, s.valueHeadDim,
                    s.score == cost::Score::Softmax ? "softmax" : "linear");
  if (s.mask == cost::Mask::Window)
    text += llvm::formatv("window({0})", s.window).str();
  else
    text += s.mask == cost::Mask::Causal ? "causal" : "full";
  if (s.decay != cost::Decay::None)
    text +=
        s.decay == cost::Decay::Scalar ? ", scalar decay" : ", diagonal decay";
  if (s.hasInitialState)
    text += ", initial state";
  if (s.hasFinalState)
    text += ", final state";
  return text + ", " + cost::toString(s.elementType).str();
}

namespace {
struct SsmSelectAlgorithmPass
    : mlir::ssm::impl::SsmSelectAlgorithmBase<SsmSelectAlgorithmPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    llvm::Expected<cost::TargetDescription> description =
        cost::getTarget(target);
    if (!description) {
      module.emitError() << "ssm-select-algorithm: "
                         << llvm::toString(description.takeError());
      return signalPassFailure();
    }
    if (!measured.empty()) {
      if (!explain) {
        module.emitError() << "ssm-select-algorithm: 'measured' prints "
                              "measurements next to the estimates of "
                              "'explain', which is not set";
        return signalPassFailure();
      }
      llvm::Expected<cost::Measurements> read =
          cost::readMeasurements(measured);
      if (!read) {
        module.emitError() << "ssm-select-algorithm: "
                           << llvm::toString(read.takeError());
        return signalPassFailure();
      }
      measurements = std::move(*read);
    }
    planner = lookupKernelPlanner(backend);
    if (!planner) {
      module.emitError() << "ssm-select-algorithm: no backend '" << backend
                         << "' (expected 'cpu' or 'cuda')";
      return signalPassFailure();
    }
    request.vectorWidth = vectorWidth;
    request.arch = arch;
    request.multiprocessors =
        description->kind == cost::TargetKind::Gpu ? description->cores : 0;
    std::optional<AlgorithmKind> forced;
    if (!force.empty()) {
      forced = symbolizeAlgorithmKind(force);
      if (!forced) {
        module.emitError() << "ssm-select-algorithm: unknown algorithm '"
                           << force
                           << "' for 'force', expected 'quadratic', "
                              "'recurrent' or 'chunked'";
        return signalPassFailure();
      }
    }
    if (forceChunkSize < 0 || forceChunkSize > kMaxChunkSize ||
        assumedLength <= 0) {
      module.emitError() << "ssm-select-algorithm: 'chunk-size' must be in "
                            "[0, "
                         << kMaxChunkSize << "] and 'assumed-length' > 0, got "
                         << forceChunkSize.getValue() << " and "
                         << assumedLength.getValue();
      return signalPassFailure();
    }

    // chunk-size restricts chunked candidates; it means nothing to the
    // other algorithms, so a forced recurrent or quadratic ignores it.
    cost::CandidateFilter filter;
    if (forced)
      filter.algorithm = toCostAlgorithm(*forced);
    filter.chunkSize = forceChunkSize;

    bool anyFailed = false;
    module.walk([&](MixOp op) {
      if (failed(select(op, *description, forced, filter)))
        anyFailed = true;
    });
    if (anyFailed)
      signalPassFailure();
  }

  KernelPlanner planner;
  PlanRequest request;
  std::optional<cost::Measurements> measurements;

  LogicalResult select(MixOp op, const cost::TargetDescription &description,
                       std::optional<AlgorithmKind> forced,
                       const cost::CandidateFilter &filter) {
    AlgorithmAttr recorded = op.getAlgorithmAttr();
    if (recorded && !forced && !recorded.getKernel()) {
      // The user's algorithm, without a lowering configuration: the
      // backend's completes it.
      FailureOr<AlgorithmAttr> planned = planner(op, recorded, request);
      if (failed(planned))
        return failure();
      op.setAlgorithmAttr(*planned);
      recorded = *planned;
    }
    if (recorded && !forced && !explain)
      return success();
    if (forced) {
      if (std::optional<std::string> why = op.whyIllegal(*forced))
        return op.emitError() << *why;
    }

    SmallVector<std::string> assumptions;
    cost::MixShape shape = getMixShape(op, assumedLength, &assumptions);
    // A recorded op is only explained: estimate every candidate.
    cost::CandidateFilter candidates =
        recorded && !forced ? cost::CandidateFilter() : filter;
    std::vector<cost::Estimate> estimates =
        cost::estimateAll(shape, description, candidates);
    // The cost model's legality rules mirror the op's.
    assert(llvm::all_of(estimates,
                        [&](const cost::Estimate &e) {
                          return !op.whyIllegal(fromCostAlgorithm(e.algorithm));
                        }) &&
           "cost model and MixOp::whyIllegal disagree");
    const cost::Estimate *chosen = cost::choose(estimates);
    if (!chosen)
      return op.emitError() << "ssm-select-algorithm: no legal candidate";
    LLVM_DEBUG({
      llvm::dbgs() << "ssm-select-algorithm: " << describeShape(shape) << "\n";
      cost::printEstimates(llvm::dbgs(), estimates, chosen);
    });

    bool keep = recorded && !forced;
    FailureOr<AlgorithmAttr> selected = planner(
        op,
        AlgorithmAttr::get(op.getContext(),
                           fromCostAlgorithm(chosen->algorithm),
                           chosen->chunkSize),
        request);
    if (failed(selected))
      return failure();
    if (!keep)
      op.setAlgorithmAttr(*selected);
    if (!explain)
      return success();

    std::string text;
    llvm::raw_string_ostream os(text);
    if (keep)
      os << "ssm-select-algorithm: keeps the recorded " << recorded
         << " (the cost model would pick " << *selected << ")";
    else
      os << "ssm-select-algorithm: chose " << *selected
         << (forced ? " (forced)" : "");
    os << "\n  target " << cost::describe(description);
    os << "\n  shape " << describeShape(shape);
    if (!assumptions.empty())
      os << "; assumed " << llvm::join(assumptions, ", ");
    // Times of another device, or of a shape only assumed, are not this
    // op's: they are named, not shown.
    const cost::Measurement *measurement =
        measurements && measurements->target == description.name
            ? measurements->find(shape)
            : nullptr;
    if (measurements && measurements->target != description.name)
      os << "\n  measured in " << measured << " on "
         << measurements->target << ", not the target " << description.name
         << ": not shown";
    else if (measurements)
      os << "\n  measured "
         << (measurement ? "on " + measurements->target + " as '" +
                               measurement->name + "' in " + measured +
                               (assumptions.empty()
                                    ? std::string()
                                    : " (for the shape assumed above)")
                         : "in " + measured + ": no shape there matches");
    os << "\n";
    cost::printEstimates(os, estimates, chosen, measurement);
    // The table ends with a newline; the diagnostic adds its own.
    op.emitRemark() << StringRef(text).rtrim();
    return success();
  }
};
} // namespace
