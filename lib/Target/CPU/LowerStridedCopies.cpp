//===- LowerStridedCopies.cpp - ssm-lower-strided-copies ------------------===//
//
// memref.copy between views that are not both contiguous becomes
// linalg.copy (and so loops); contiguous copies stay memcpys.
//
//===----------------------------------------------------------------------===//

#include "ssm/Target/CPU/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/PatternMatch.h"

namespace mlir::ssm {
#define GEN_PASS_DEF_SSMLOWERSTRIDEDCOPIES
#include "ssm/Target/CPU/Passes.h.inc"
} // namespace mlir::ssm

using namespace mlir;

namespace {
struct SsmLowerStridedCopiesPass
    : mlir::ssm::impl::SsmLowerStridedCopiesBase<SsmLowerStridedCopiesPass> {
  void runOnOperation() override {
    IRRewriter rewriter(&getContext());
    getOperation().walk([&](memref::CopyOp copy) {
      // An unranked copy has no linalg.copy form; it is left as it is.
      auto source = dyn_cast<MemRefType>(copy.getSource().getType());
      auto target = dyn_cast<MemRefType>(copy.getTarget().getType());
      if (!source || !target ||
          (source.getLayout().isIdentity() && target.getLayout().isIdentity()))
        return;
      rewriter.setInsertionPoint(copy);
      rewriter.replaceOpWithNewOp<linalg::CopyOp>(copy, copy.getSource(),
                                                  copy.getTarget());
    });
  }
};
} // namespace
