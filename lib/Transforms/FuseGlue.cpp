//===- FuseGlue.cpp - ssm-fuse-glue ---------------------------------------===//
//
// Elementwise fusion that never makes a consumer recompute its producer.
//
//===----------------------------------------------------------------------===//

#include "ssm/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::ssm {
#define GEN_PASS_DEF_SSMFUSEGLUE
#include "ssm/Passes.h.inc"
} // namespace mlir::ssm

using namespace mlir;

namespace {
struct SsmFuseGluePass : mlir::ssm::impl::SsmFuseGlueBase<SsmFuseGluePass> {
  void runOnOperation() override {
    linalg::ControlFusionFn readOnce = [](OpOperand *fused) {
      Operation *producer = fused->get().getDefiningOp();
      auto consumer = dyn_cast<linalg::GenericOp>(fused->getOwner());
      if (!producer || !producer->hasOneUse() || !consumer)
        return false;
      AffineMap map = consumer.getMatchingIndexingMap(fused);
      return map.isPermutation();
    };
    RewritePatternSet patterns(&getContext());
    linalg::populateElementwiseOpsFusionPatterns(patterns, readOnce);
    linalg::populateEraseUnusedOperandsAndResultsPatterns(patterns);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace
