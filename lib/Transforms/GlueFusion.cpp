//===- GlueFusion.cpp - Which elementwise glue fuses into a mixer ---------===//
//
// The producer trees and the consumer a kernel fuses, for every backend.
//
//===----------------------------------------------------------------------===//

#include "ssm/Transforms/GlueFusion.h"

#include "mlir/IR/Dominance.h"

using namespace mlir;
using namespace mlir::ssm;

/// A projected permutation whose results keep the order of the dims: the
/// input is the output broadcast along the dims it lacks.
static bool isOrderedBroadcast(AffineMap map) {
  if (!map.isProjectedPermutation(/*allowZeroInResults=*/false))
    return false;
  int64_t previous = -1;
  for (AffineExpr result : map.getResults()) {
    int64_t position = cast<AffineDimExpr>(result).getPosition();
    if (position <= previous)
      return false;
    previous = position;
  }
  return true;
}

/// Results that are distinct dims or constant 0 (a unit dim the loops do not
/// index); AffineMap::isProjectedPermutation also wants no more results than
/// dims, which rules out the unit dims.
static bool isPermutationOfSomeDims(AffineMap map) {
  if (map.getNumSymbols() > 0)
    return false;
  llvm::SmallBitVector seen(map.getNumDims());
  for (AffineExpr result : map.getResults()) {
    if (auto dim = dyn_cast<AffineDimExpr>(result)) {
      if (seen.test(dim.getPosition()))
        return false;
      seen.set(dim.getPosition());
      continue;
    }
    auto constant = dyn_cast<AffineConstantExpr>(result);
    if (!constant || constant.getValue() != 0)
      return false;
  }
  return true;
}

static bool isAllowedInputMap(AffineMap map, const FusionPolicy &policy) {
  if (policy.allowPermutations)
    return isPermutationOfSomeDims(map);
  return isOrderedBroadcast(map);
}

bool mlir::ssm::isInvertiblePermutation(AffineMap map) {
  if (!isPermutationOfSomeDims(map))
    return false;
  llvm::SmallBitVector seen(map.getNumDims());
  for (AffineExpr result : map.getResults())
    if (auto dim = dyn_cast<AffineDimExpr>(result))
      seen.set(dim.getPosition());
  return seen.all();
}

bool mlir::ssm::isFusableElementwise(linalg::GenericOp generic,
                                     const FusionPolicy &policy) {
  if (!generic.hasPureTensorSemantics() || generic.getNumDpsInits() != 1 ||
      generic.getNumLoops() != generic.getNumParallelLoops())
    return false;
  OpOperand *init = generic.getDpsInitOperand(0);
  if (!generic.getMatchingIndexingMap(init).isIdentity() ||
      !generic.getMatchingBlockArgument(init).use_empty())
    return false;
  for (OpOperand *input : generic.getDpsInputOperands()) {
    if (!isa<RankedTensorType>(input->get().getType()) ||
        !isAllowedInputMap(generic.getMatchingIndexingMap(input), policy))
      return false;
  }
  for (Operation &op : generic.getBody()->without_terminator()) {
    if (op.getNumRegions() != 0 || op.getNumResults() != 1)
      return false;
    if (!op.hasTrait<OpTrait::Elementwise>() && !isa<arith::ConstantOp>(op))
      return false;
  }
  return true;
}

static FusedRead analyze(Value tensor, const FusionPolicy &policy,
                         unsigned depth) {
  FusedRead read;
  read.tensor = tensor;
  auto generic = tensor.getDefiningOp<linalg::GenericOp>();
  if (depth == 0 || !generic || !isFusableElementwise(generic, policy) ||
      (policy.readFromMemory && policy.readFromMemory(tensor)))
    return read;
  read.producer = generic;
  for (OpOperand *input : generic.getDpsInputOperands()) {
    read.inputs.push_back(analyze(input->get(), policy, depth - 1));
    read.inputMaps.push_back(generic.getMatchingIndexingMap(input));
  }
  return read;
}

FusedRead mlir::ssm::analyzeFusedRead(Value tensor,
                                      const FusionPolicy &policy) {
  return analyze(tensor, policy, policy.maxDepth);
}

std::optional<FusedWrite>
mlir::ssm::analyzeFusedWrite(Value result, Operation *producer,
                             const FusionPolicy &policy) {
  if (!result.hasOneUse())
    return std::nullopt;
  auto consumer = dyn_cast<linalg::GenericOp>(*result.getUsers().begin());
  if (!consumer || !isFusableElementwise(consumer, policy))
    return std::nullopt;
  DominanceInfo dominance(producer->getParentOp());
  std::optional<unsigned> resultOperand;
  for (OpOperand *input : consumer.getDpsInputOperands()) {
    if (input->get() == result) {
      AffineMap map = consumer.getMatchingIndexingMap(input);
      bool allowed = policy.allowPermutedResult ? isInvertiblePermutation(map)
                                                : map.isIdentity();
      if (resultOperand || !allowed)
        return std::nullopt;
      resultOperand = input->getOperandNumber();
    } else if (!dominance.properlyDominates(input->get(), producer)) {
      return std::nullopt;
    }
  }
  if (!resultOperand)
    return std::nullopt;
  FusedWrite write;
  write.consumer = consumer;
  write.resultOperand = *resultOperand;
  for (OpOperand *input : consumer.getDpsInputOperands())
    write.otherInputs.push_back(input->get() == result
                                    ? FusedRead()
                                    : analyzeFusedRead(input->get(), policy));
  return write;
}
