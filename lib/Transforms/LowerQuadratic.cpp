//===- LowerQuadratic.cpp - ssm-lower-quadratic -----------------------------------------===//
//
// Placeholder while the pass is written.
//
//===----------------------------------------------------------------------===//

#include "ssm/Transforms/Passes.h"

#include "MixLowering.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

namespace mlir::ssm {
#define GEN_PASS_DEF_SSMLOWERQUADRATIC
#include "ssm/Passes.h.inc"
} // namespace mlir::ssm

using namespace mlir;

namespace {
struct SsmLowerQuadraticPass : ssm::impl::SsmLowerQuadraticBase<SsmLowerQuadraticPass> {
  using Base::Base;
  void runOnOperation() override {
    auto emit = [](ImplicitLocOpBuilder &, ssm::lowering::MixContext &ctx) {
      return LogicalResult(ctx.op.emitOpError("ssm-lower-quadratic is not written yet"));
    };
    if (failed(ssm::lowering::lowerMixes(getOperation(),
                                         ssm::AlgorithmKind::Quadratic, emit)))
      signalPassFailure();
  }
};
} // namespace
