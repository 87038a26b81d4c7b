//===- CpuPipeline.cpp - From ssm.mix on tensors to LLVM for CPUs ---------===//
//
// Builds the CPU pass pipeline shared by ssmc and ssm-opt.
//
//===----------------------------------------------------------------------===//

#include "ssm/Target/CPU/CpuPipeline.h"

#include "ssm/Transforms/Passes.h"
#include "ssm/Transforms/Pipelines.h"

#include "mlir/Conversion/Passes.h"
#include "mlir/Dialect/Bufferization/Pipelines/Passes.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"
#include "llvm/TargetParser/Host.h"

using namespace mlir;

int64_t ssm::getHostVectorWidth() {
  llvm::StringMap<bool> features = llvm::sys::getHostCPUFeatures();
  if (features.lookup("avx512f"))
    return 16;
  if (features.lookup("avx2") || features.lookup("avx"))
    return 8;
  return 4;
}

void ssm::buildCpuSelectionPipeline(OpPassManager &pm,
                                    const CpuPipelineOptions &options) {
  SelectionOptions selection;
  selection.target = options.target;
  selection.algorithm = options.algorithm;
  selection.chunkSize = options.chunkSize;
  selection.explain = options.explain;
  buildSelectionPipeline(pm, selection);
}

void ssm::buildCpuLoweringPipeline(OpPassManager &pm,
                                   const CpuPipelineOptions &options) {
  int64_t width =
      options.vectorWidth > 0 ? options.vectorWidth.getValue()
                              : getHostVectorWidth();
  OpPassManager &lower = pm.nest<func::FuncOp>();
  lower.addPass(createSsmLowerQuadratic({width}));
  lower.addPass(createSsmLowerRecurrent({width}));
  SsmLowerChunkedOptions chunked;
  chunked.vectorWidth = width;
  if (options.chunkSize > 0)
    chunked.chunkSize = options.chunkSize;
  lower.addPass(createSsmLowerChunked(chunked));
  lower.addPass(createCanonicalizerPass());
  lower.addPass(createCSEPass());

  bufferization::OneShotBufferizePassOptions bufferize;
  bufferize.bufferizeFunctionBoundaries = true;
  bufferize.functionBoundaryTypeConversion =
      bufferization::LayoutMapOption::IdentityLayoutMap;
  pm.addPass(bufferization::createOneShotBufferizePass(bufferize));
  // Results become caller-provided buffers (the runtime's ABI); the
  // lowerings' output allocations are replaced by them rather than copied.
  bufferization::BufferResultsToOutParamsPassOptions outParams;
  outParams.hoistStaticAllocs = true;
  outParams.hoistDynamicAllocs = true;
  outParams.modifyPublicFunctions = true;
  pm.addPass(bufferization::createBufferResultsToOutParamsPass(outParams));
  bufferization::buildBufferDeallocationPipeline(pm);
  pm.addPass(createConvertBufferizationToMemRefPass());

  OpPassManager &loops = pm.nest<func::FuncOp>();
  loops.addPass(createConvertLinalgToLoopsPass());
  loops.addPass(createSsmApproximateMath());
  loops.addPass(createCanonicalizerPass());
  loops.addPass(createCSEPass());
  loops.addPass(createLoopInvariantCodeMotionPass());
}

void ssm::buildCpuToLLVMPipeline(OpPassManager &pm) {
  pm.addPass(createConvertSCFToOpenMPPass());
  pm.addPass(createSsmHoistParallelScratch());
  pm.addPass(createLowerAffinePass());
  pm.addPass(createConvertVectorToSCFPass());
  pm.addPass(createSCFToControlFlowPass());
  pm.addPass(memref::createExpandStridedMetadataPass());
  pm.addPass(createLowerAffinePass());
  pm.addPass(createConvertVectorToLLVMPass());
  pm.addPass(createFinalizeMemRefToLLVMConversionPass());
  pm.addPass(createConvertMathToLLVMPass());
  pm.addPass(createConvertMathToLibmPass());
  pm.addPass(createArithToLLVMConversionPass());
  pm.addPass(createConvertIndexToLLVMPass());
  pm.addPass(createConvertOpenMPToLLVMPass());
  pm.addPass(createConvertFuncToLLVMPass());
  pm.addPass(createConvertControlFlowToLLVMPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
  pm.addPass(createCanonicalizerPass());
}

void ssm::buildCpuPipeline(OpPassManager &pm,
                           const CpuPipelineOptions &options) {
  buildCpuSelectionPipeline(pm, options);
  buildCpuLoweringPipeline(pm, options);
  buildCpuToLLVMPipeline(pm);
}

void ssm::registerCpuPipelines() {
  PassPipelineRegistration<CpuPipelineOptions>(
      "ssm-cpu-pipeline",
      "What ssmc --target=cpu runs: ssm.mix on tensors to LLVM + OpenMP",
      buildCpuPipeline);
  PassPipelineRegistration<CpuPipelineOptions>(
      "ssm-cpu-selection-pipeline",
      "Part 1 of ssm-cpu-pipeline: glue to fused linalg, algorithm choice",
      buildCpuSelectionPipeline);
  PassPipelineRegistration<CpuPipelineOptions>(
      "ssm-cpu-lowering-pipeline",
      "Part 2 of ssm-cpu-pipeline: lowerings and bufferization to loops",
      buildCpuLoweringPipeline);
  PassPipelineRegistration<>(
      "ssm-cpu-to-llvm-pipeline",
      "Part 3 of ssm-cpu-pipeline: loops to LLVM + OpenMP",
      buildCpuToLLVMPipeline);
}
