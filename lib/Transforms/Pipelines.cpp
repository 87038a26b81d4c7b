//===- Pipelines.cpp - The target-neutral start of every pipeline ---------===//

#include "ssm/Transforms/Pipelines.h"

#include "ssm/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;

void ssm::buildSelectionPipeline(OpPassManager &pm,
                                 const SelectionOptions &options) {
  // Elementwise glue becomes fused linalg.generic ops, the form the
  // backends fold into their loads and stores; matmuls stay named.
  pm.addPass(createCanonicalizerPass());
  OpPassManager &glue = pm.nest<func::FuncOp>();
  glue.addPass(createConvertElementwiseToLinalgPass());
  glue.addPass(createSsmGeneralizeGlue());
  glue.addPass(createSsmFuseGlue());
  glue.addPass(createCanonicalizerPass());
  glue.addPass(createCSEPass());

  SsmSelectAlgorithmOptions select;
  select.backend = options.backend;
  select.vectorWidth = options.vectorWidth;
  select.target = options.target;
  select.force = options.algorithm == "auto" ? "" : options.algorithm;
  select.forceChunkSize = options.chunkSize;
  select.explain = options.explain;
  select.measured = options.measured;
  select.arch = options.arch;
  pm.addPass(createSsmSelectAlgorithm(select));
}
