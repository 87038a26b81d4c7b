//===- DynamicSizes.cpp - Which tensor sizes a program forces equal -------===//
//
// Walks the program once and unites the sizes each op forces equal.
//
//===----------------------------------------------------------------------===//

#include "ssm/Analysis/DynamicSizes.h"

#include "ssm/SsmOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

#include <map>

using namespace mlir;
using namespace mlir::ssm;

static unsigned rankOf(Value value) {
  return cast<RankedTensorType>(value.getType()).getRank();
}

DynamicSizes::DynamicSizes(func::FuncOp func, bool requiredEqualities)
    : func(func), requiredEqualities(requiredEqualities) {
  collect(func);
}

void DynamicSizes::unite(Value a, unsigned da, Value b, unsigned db) {
  classes.unionSets(key(a, da), key(b, db));
}

bool DynamicSizes::same(Value a, unsigned da, Value b, unsigned db) const {
  return classes.isEquivalent(key(a, da), key(b, db));
}

std::optional<InputDim> DynamicSizes::inputDimOf(Value value,
                                                 unsigned dim) const {
  for (auto [i, argument] :
       llvm::enumerate(func.getArguments())) {
    auto type = dyn_cast<RankedTensorType>(argument.getType());
    if (!type)
      continue;
    for (unsigned d = 0; d < type.getRank(); ++d)
      if (type.isDynamicDim(d) && same(value, dim, argument, d))
        return InputDim{static_cast<unsigned>(i), d};
  }
  return std::nullopt;
}

std::optional<SizeProduct> DynamicSizes::productOf(Value value,
                                                   unsigned dim) const {
  return productOf(value, dim, 0);
}

std::optional<SizeProduct> DynamicSizes::productOf(Value value, unsigned dim,
                                                   unsigned depth) const {
  auto type = cast<RankedTensorType>(value.getType());
  if (!type.isDynamicDim(dim))
    return SizeProduct{type.getDimSize(dim), {}};
  if (std::optional<InputDim> input = inputDimOf(value, dim))
    return SizeProduct{1, {*input}};
  if (depth > 8)
    return std::nullopt;
  for (const ProductFact &fact : products) {
    if (!same(value, dim, fact.value, fact.dim))
      continue;
    std::optional<SizeProduct> product;
    if (fact.index) {
      product = productOfIndex(fact.index, depth + 1);
    } else {
      product = SizeProduct{};
      for (auto [factor, factorDim] : fact.factors) {
        std::optional<SizeProduct> part =
            productOf(factor, static_cast<unsigned>(factorDim), depth + 1);
        if (!part) {
          product.reset();
          break;
        }
        product->factor *= part->factor;
        product->dims.append(part->dims);
      }
    }
    if (product)
      return product;
  }
  return std::nullopt;
}

std::optional<SizeProduct> DynamicSizes::productOfIndex(Value size,
                                                        unsigned depth) const {
  if (depth > 8)
    return std::nullopt;
  if (auto constant = size.getDefiningOp<arith::ConstantIndexOp>())
    return SizeProduct{constant.value(), {}};
  if (auto dimOp = size.getDefiningOp<tensor::DimOp>())
    if (std::optional<int64_t> index = dimOp.getConstantIndex())
      return productOf(dimOp.getSource(), static_cast<unsigned>(*index),
                       depth + 1);
  if (auto multiply = size.getDefiningOp<arith::MulIOp>()) {
    std::optional<SizeProduct> lhs =
                                   productOfIndex(multiply.getLhs(), depth + 1),
                               rhs =
                                   productOfIndex(multiply.getRhs(), depth + 1);
    if (!lhs || !rhs)
      return std::nullopt;
    lhs->factor *= rhs->factor;
    lhs->dims.append(rhs->dims);
    return lhs;
  }
  return std::nullopt;
}

/// Unites dim `dim` of `value` with the tensor dim `size` reads, when it
/// is a tensor.dim with a constant index.
void DynamicSizes::uniteWithDimOf(Value value, unsigned dim, Value size) {
  if (auto dimOp = size.getDefiningOp<tensor::DimOp>())
    if (std::optional<int64_t> index = dimOp.getConstantIndex())
      unite(value, dim, dimOp.getSource(), *index);
}

/// Unites the sizes that ops of the program force to be equal.
void DynamicSizes::collect(func::FuncOp func) {
  func.walk([&](Operation *op) {
    if (auto mix = dyn_cast<MixOp>(op)) {
      // One batch; Lq for q and y, Lk for k, v (and dt); Lq = Lk where the
      // op or its plan needs them equal.
      SmallVector<Value> batchAndLength = {mix.getK(), mix.getV(), mix.getY()};
      if (mix.getDt())
        batchAndLength.push_back(mix.getDt());
      for (Value value : batchAndLength)
        unite(mix.getQ(), 0, value, 0);
      unite(mix.getQ(), 1, mix.getY(), 1);
      unite(mix.getK(), 1, mix.getV(), 1);
      if (mix.getDt())
        unite(mix.getK(), 1, mix.getDt(), 1);
      if (requiredEqualities && mix.needsEqualLengths())
        unite(mix.getQ(), 1, mix.getK(), 1);
      for (Value state : {mix.getInitialState(), mix.getFinalState()})
        if (state)
          unite(mix.getQ(), 0, state, 0);
      return;
    }
    if (auto linalgOp = dyn_cast<linalg::LinalgOp>(op)) {
      // Operand dims indexed by the same loop are equal.
      std::map<unsigned, std::pair<Value, unsigned>> loopSize;
      for (OpOperand &operand : op->getOpOperands()) {
        if (!isa<RankedTensorType>(operand.get().getType()))
          continue;
        AffineMap map = linalgOp.getMatchingIndexingMap(&operand);
        for (auto [dim, expr] : llvm::enumerate(map.getResults())) {
          auto loop = dyn_cast<AffineDimExpr>(expr);
          if (!loop)
            continue;
          auto [it, inserted] = loopSize.try_emplace(
              loop.getPosition(), operand.get(), static_cast<unsigned>(dim));
          if (!inserted)
            unite(it->second.first, it->second.second, operand.get(),
                        dim);
        }
      }
      for (auto [result, init] :
           llvm::zip(op->getResults(), linalgOp.getDpsInits()))
        for (unsigned d = 0; d < rankOf(result); ++d)
          unite(result, d, init, d);
      return;
    }
    if (auto empty = dyn_cast<tensor::EmptyOp>(op)) {
      for (unsigned d = 0; d < rankOf(empty); ++d) {
        if (!empty.getType().isDynamicDim(d))
          continue;
        if (auto dimOp =
                empty.getDynamicSize(d).getDefiningOp<tensor::DimOp>())
          if (std::optional<int64_t> index = dimOp.getConstantIndex())
            unite(empty, d, dimOp.getSource(), *index);
        if (empty.getDynamicSize(d).getDefiningOp<arith::MulIOp>())
          products.push_back({empty, d, {}, empty.getDynamicSize(d)});
      }
      return;
    }
    // A reshape keeps the dims it does not merge or split.
    if (auto collapse = dyn_cast<tensor::CollapseShapeOp>(op)) {
      for (auto [d, group] :
           llvm::enumerate(collapse.getReassociationIndices())) {
        if (group.size() == 1) {
          unite(collapse.getResult(), d, collapse.getSrc(), group[0]);
          continue;
        }
        ProductFact fact{
            collapse.getResult(), static_cast<unsigned>(d), {}, {}};
        for (int64_t source : group)
          fact.factors.push_back({collapse.getSrc(), source});
        products.push_back(std::move(fact));
      }
      return;
    }
    if (auto expand = dyn_cast<tensor::ExpandShapeOp>(op)) {
      for (auto [d, group] : llvm::enumerate(expand.getReassociationIndices()))
        if (group.size() == 1)
          unite(expand.getSrc(), d, expand.getResult(), group[0]);
      // A split dim whose size is read off a tensor (tensor.dim).
      for (auto [d, size] : llvm::enumerate(expand.getMixedOutputShape()))
        if (auto value = dyn_cast<Value>(size))
          uniteWithDimOf(expand.getResult(), d, value);
      return;
    }
    // A cast keeps every size (it only makes some static or dynamic).
    if (auto cast = dyn_cast<tensor::CastOp>(op)) {
      if (isa<RankedTensorType>(cast.getSource().getType()) &&
          isa<RankedTensorType>(cast.getType()))
        for (unsigned d = 0; d < rankOf(cast.getResult()); ++d)
          unite(cast.getSource(), d, cast.getResult(), d);
      return;
    }
    // An insertion has its destination's sizes.
    if (auto insert = dyn_cast<tensor::InsertSliceOp>(op)) {
      for (unsigned d = 0; d < rankOf(insert.getResult()); ++d)
        unite(insert.getResult(), d, insert.getDest(), d);
      return;
    }
    if (auto slice = dyn_cast<tensor::ExtractSliceOp>(op)) {
      // A slice keeps the sizes it is given; a dim of the source given in
      // full (offset 0, size tensor.dim) keeps the source's.
      unsigned d = 0;
      for (auto [i, size] : llvm::enumerate(slice.getMixedSizes())) {
        if (slice.getDroppedDims().test(i))
          continue;
        if (auto value = dyn_cast<Value>(size))
          uniteWithDimOf(slice.getResult(), d, value);
        ++d;
      }
      return;
    }
    // Elementwise ops on tensors keep every size.
    if (op->hasTrait<OpTrait::Elementwise>() ||
        op->hasTrait<OpTrait::SameOperandsAndResultShape>()) {
      Value first;
      for (Value value : llvm::concat<Value>(op->getOperands(),
                                              op->getResults())) {
        if (!isa<RankedTensorType>(value.getType()))
          continue;
        if (!first) {
          first = value;
          continue;
        }
        for (unsigned d = 0; d < rankOf(value); ++d)
          unite(first, d, value, d);
      }
    }
  });
}
