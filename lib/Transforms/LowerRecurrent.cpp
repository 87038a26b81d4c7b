//===- LowerRecurrent.cpp - ssm-lower-recurrent -----------------------------------------===//
//
// Placeholder while the pass is written.
//
//===----------------------------------------------------------------------===//

#include "ssm/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

namespace mlir::ssm {
#define GEN_PASS_DEF_SSMLOWERRECURRENT
#include "ssm/Passes.h.inc"
} // namespace mlir::ssm

using namespace mlir;

namespace {
struct SsmLowerRecurrentPass : ssm::impl::SsmLowerRecurrentBase<SsmLowerRecurrentPass> {
  using Base::Base;
  void runOnOperation() override {
    getOperation()->emitError("ssm-lower-recurrent is not written yet");
    signalPassFailure();
  }
};
} // namespace
