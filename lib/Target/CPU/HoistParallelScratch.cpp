//===- HoistParallelScratch.cpp - ssm-hoist-parallel-scratch --------------===//
//
// Moves the static scratch allocas of OpenMP worksharing-loop bodies to the
// enclosing parallel region (once per thread) and inlines the alloca scopes
// that wrapped them.
//
//===----------------------------------------------------------------------===//

#include "ssm/Target/CPU/Passes.h"

#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/OpenMP/OpenMPDialect.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Interfaces/LoopLikeInterface.h"

#define DEBUG_TYPE "ssm-hoist-parallel-scratch"

namespace mlir::ssm {
#define GEN_PASS_DEF_SSMHOISTPARALLELSCRATCH
#include "ssm/Target/CPU/Passes.h.inc"
} // namespace mlir::ssm

using namespace mlir;

/// Moves the allocas of `scope` (and of scopes nested directly in it) with
/// static shapes before `destination`; inlines scopes left without allocas.
static void inlineScope(memref::AllocaScopeOp scope, RewriterBase &rewriter) {
  Block &body = scope.getBodyRegion().front();
  rewriter.eraseOp(body.getTerminator());
  rewriter.inlineBlockBefore(&body, scope);
  rewriter.eraseOp(scope);
}

static void hoistFromScope(memref::AllocaScopeOp scope, Operation *destination,
                           RewriterBase &rewriter) {
  Block &body = scope.getBodyRegion().front();
  for (Operation &op : llvm::make_early_inc_range(body)) {
    if (auto nested = dyn_cast<memref::AllocaScopeOp>(op))
      hoistFromScope(nested, destination, rewriter);
    auto alloca = dyn_cast<memref::AllocaOp>(op);
    if (alloca && alloca->getNumOperands() == 0)
      rewriter.moveOpBefore(alloca, destination);
  }
  bool hasAllocas = !body.getOps<memref::AllocaOp>().empty();
  if (!hasAllocas && scope.getNumResults() == 0)
    inlineScope(scope, rewriter);
}

namespace {
struct SsmHoistParallelScratchPass
    : ssm::impl::SsmHoistParallelScratchBase<SsmHoistParallelScratchPass> {
  using Base::Base;
  void runOnOperation() override {
    IRRewriter rewriter(&getContext());
    getOperation()->walk([&](omp::WsloopOp wsloop) {
      if (!wsloop->getParentOfType<omp::ParallelOp>())
        return;
      auto loopNest = dyn_cast<omp::LoopNestOp>(wsloop.getWrappedLoop());
      if (!loopNest)
        return;
      for (Block &block : loopNest.getRegion())
        for (auto scope : llvm::make_early_inc_range(
                 block.getOps<memref::AllocaScopeOp>()))
          hoistFromScope(scope, wsloop, rewriter);
    });
    // A scope outside any loop (e.g. a parallel loop of one work item that
    // canonicalization unrolled) releases nothing early: inline it.
    SmallVector<memref::AllocaScopeOp> scopes;
    getOperation()->walk([&](memref::AllocaScopeOp scope) {
      if (scope.getNumResults() == 0 &&
          !scope->getParentOfType<LoopLikeOpInterface>() &&
          !scope->getParentOfType<omp::LoopNestOp>())
        scopes.push_back(scope);
    });
    for (memref::AllocaScopeOp scope : scopes)
      inlineScope(scope, rewriter);
  }
};
} // namespace
