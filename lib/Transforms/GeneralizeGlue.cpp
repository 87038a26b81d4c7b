//===- GeneralizeGlue.cpp - ssm-generalize-glue ---------------------------===//
//
// Generalizes every named linalg op that is not a contraction.
//
//===----------------------------------------------------------------------===//

#include "ssm/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/IR/PatternMatch.h"

namespace mlir::ssm {
#define GEN_PASS_DEF_SSMGENERALIZEGLUE
#include "ssm/Passes.h.inc"
} // namespace mlir::ssm

using namespace mlir;

namespace {
struct SsmGeneralizeGluePass
    : mlir::ssm::impl::SsmGeneralizeGlueBase<SsmGeneralizeGluePass> {
  void runOnOperation() override {
    SmallVector<linalg::LinalgOp> named;
    getOperation().walk([&](linalg::LinalgOp op) {
      if (!isa<linalg::GenericOp>(op) && !linalg::isaContractionOpInterface(op))
        named.push_back(op);
    });
    IRRewriter rewriter(&getContext());
    for (linalg::LinalgOp op : named) {
      rewriter.setInsertionPoint(op);
      if (failed(linalg::generalizeNamedOp(rewriter, op)))
        continue; // ops without a generic form stay as they are
    }
  }
};
} // namespace
