//===- SerializeSmallParallel.cpp - ssm-serialize-small-parallel ----------===//
//
// An `if` clause on each omp.parallel around a worksharing loop: fork the
// team only when the loop's estimated work pays for the fork and join.
//
//===----------------------------------------------------------------------===//

#include "ssm/Target/CPU/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/OpenMP/OpenMPDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/Matchers.h"

namespace mlir::ssm {
#define GEN_PASS_DEF_SSMSERIALIZESMALLPARALLEL
#include "ssm/Target/CPU/Passes.h.inc"
} // namespace mlir::ssm

using namespace mlir;

namespace {

/// Operations one execution of `region` runs: each op counts one; an
/// scf.for counts its body times its trip count (`dynamicTripCount` when
/// its bounds are not constants).
int64_t workOf(Region &region, int64_t dynamicTripCount) {
  int64_t work = 0;
  for (Block &block : region)
    for (Operation &op : block) {
      if (auto loop = dyn_cast<scf::ForOp>(op)) {
        int64_t trips = dynamicTripCount;
        APInt lower, upper, step;
        if (matchPattern(loop.getLowerBound(), m_ConstantInt(&lower)) &&
            matchPattern(loop.getUpperBound(), m_ConstantInt(&upper)) &&
            matchPattern(loop.getStep(), m_ConstantInt(&step)) &&
            step.getSExtValue() > 0)
          trips = std::max<int64_t>(
              0, (upper.getSExtValue() - lower.getSExtValue() +
                  step.getSExtValue() - 1) /
                     step.getSExtValue());
        work += 1 + trips * workOf(loop.getRegion(), dynamicTripCount);
        continue;
      }
      work += 1;
      for (Region &nested : op.getRegions())
        work += workOf(nested, dynamicTripCount);
    }
  return work;
}

struct SsmSerializeSmallParallelPass
    : mlir::ssm::impl::SsmSerializeSmallParallelBase<
          SsmSerializeSmallParallelPass> {
  using Base::Base;

  void runOnOperation() override {
    getOperation()->walk([&](omp::ParallelOp parallel) {
      if (parallel.getIfExpr())
        return;
      omp::LoopNestOp nest;
      parallel.walk([&](omp::LoopNestOp found) {
        if (!nest)
          nest = found;
      });
      if (!nest)
        return;
      // The bounds must be defined before the region to be read there.
      auto definedInside = [&](Value value) {
        Operation *owner = isa<BlockArgument>(value)
                               ? cast<BlockArgument>(value).getOwner()->getParentOp()
                               : value.getDefiningOp();
        return owner && (owner == parallel.getOperation() ||
                         parallel->isProperAncestor(owner));
      };
      for (Value bound : llvm::concat<Value>(nest.getLoopLowerBounds(),
                                             nest.getLoopUpperBounds(),
                                             nest.getLoopSteps()))
        if (definedInside(bound))
          return;
      int64_t perIteration = std::max<int64_t>(
          1, workOf(nest.getRegion(), dynamicTripCount));
      OpBuilder builder(parallel);
      Location loc = parallel.getLoc();
      Type indexType = builder.getIndexType();
      auto asIndex = [&](Value v) -> Value {
        if (v.getType().isIndex())
          return v;
        return arith::IndexCastOp::create(builder, loc, indexType, v);
      };
      Value trips = arith::ConstantIndexOp::create(builder, loc, 1);
      Value one = arith::ConstantIndexOp::create(builder, loc, 1);
      for (auto [lower, upper, step] :
           llvm::zip(nest.getLoopLowerBounds(), nest.getLoopUpperBounds(),
                     nest.getLoopSteps())) {
        Value l = asIndex(lower), u = asIndex(upper), s = asIndex(step);
        Value span = arith::SubIOp::create(builder, loc, u, l);
        Value rounded = arith::AddIOp::create(
            builder, loc, span, arith::SubIOp::create(builder, loc, s, one));
        Value count = arith::DivSIOp::create(builder, loc, rounded, s);
        trips = arith::MulIOp::create(builder, loc, trips, count);
      }
      Value work = arith::MulIOp::create(
          builder, loc, trips,
          arith::ConstantIndexOp::create(builder, loc, perIteration));
      Value worthIt = arith::CmpIOp::create(
          builder, loc, arith::CmpIPredicate::sge, work,
          arith::ConstantIndexOp::create(builder, loc, minWork));
      parallel.getIfExprMutable().assign(worthIt);
    });
  }
};

} // namespace
