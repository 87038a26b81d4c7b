//===- ApproximateMath.cpp - ssm-approximate-math -------------------------===//
//
// Replaces f32 transcendental math ops by polynomial approximations so that
// vector exp/log stay vectorized down to machine code.
//
//===----------------------------------------------------------------------===//

#include "ssm/Target/CPU/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Math/Transforms/Passes.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#define DEBUG_TYPE "ssm-approximate-math"

namespace mlir::ssm {
#define GEN_PASS_DEF_SSMAPPROXIMATEMATH
#include "ssm/Target/CPU/Passes.h.inc"
} // namespace mlir::ssm

using namespace mlir;

namespace {
struct SsmApproximateMathPass
    : ssm::impl::SsmApproximateMathBase<SsmApproximateMathPass> {
  using Base::Base;
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    populateMathPolynomialApproximationPatterns(
        patterns, [](StringRef name) {
          // Called with operation names ("math.exp").
          name.consume_front("math.");
          return llvm::is_contained({"exp", "expm1", "log", "log1p", "log2",
                                     "tanh", "erf"},
                                    name);
        });
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace
