//===- ExpandShapesAsCasts.cpp - ssm-expand-shapes-as-casts ---------------===//
//
// memref.expand_shape of an identity-layout buffer is a reinterpret_cast
// with the expanded sizes and their row-major strides.
//
//===----------------------------------------------------------------------===//

#include "ssm/Target/CPU/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"
#include "mlir/IR/PatternMatch.h"

namespace mlir::ssm {
#define GEN_PASS_DEF_SSMEXPANDSHAPESASCASTS
#include "ssm/Target/CPU/Passes.h.inc"
} // namespace mlir::ssm

using namespace mlir;

namespace {
struct SsmExpandShapesAsCastsPass
    : mlir::ssm::impl::SsmExpandShapesAsCastsBase<SsmExpandShapesAsCastsPass> {
  void runOnOperation() override {
    IRRewriter rewriter(&getContext());
    getOperation().walk([&](memref::ExpandShapeOp expand) {
      auto source = cast<MemRefType>(expand.getSrc().getType());
      auto result = cast<MemRefType>(expand.getResult().getType());
      if (!source.getLayout().isIdentity() ||
          !result.getLayout().isIdentity())
        return;
      rewriter.setInsertionPoint(expand);
      ImplicitLocOpBuilder b(expand.getLoc(), rewriter);
      SmallVector<OpFoldResult> sizes = expand.getMixedOutputShape();
      // Row-major strides, innermost 1, each the product of the sizes after.
      SmallVector<OpFoldResult> strides(sizes.size());
      OpFoldResult stride = b.getIndexAttr(1);
      for (int64_t d = static_cast<int64_t>(sizes.size()) - 1; d >= 0; --d) {
        strides[d] = stride;
        std::optional<int64_t> s = getConstantIntValue(stride),
                               n = getConstantIntValue(sizes[d]);
        if (s && n) {
          stride = b.getIndexAttr(*s * *n);
          continue;
        }
        Value sv = getValueOrCreateConstantIndexOp(b, b.getLoc(), stride);
        Value nv = getValueOrCreateConstantIndexOp(b, b.getLoc(), sizes[d]);
        stride = arith::MulIOp::create(b, sv, nv).getResult();
      }
      rewriter.replaceOpWithNewOp<memref::ReinterpretCastOp>(
          expand, result, expand.getSrc(), b.getIndexAttr(0), sizes, strides);
    });
  }
};
} // namespace
