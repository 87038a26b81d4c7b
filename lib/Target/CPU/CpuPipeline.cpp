//===- CpuPipeline.cpp - From ssm.mix on tensors to LLVM for CPUs ---------===//
//
// Builds the CPU pass pipeline shared by ssmc and ssm-opt.
//
//===----------------------------------------------------------------------===//

#include "ssm/Target/CPU/CpuPipeline.h"

#include "ssm/Transforms/KernelPlanner.h"
#include "ssm/Target/CPU/Passes.h"
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

#include <mutex>

using namespace mlir;

int64_t ssm::getHostVectorWidth() {
  llvm::StringMap<bool> features = llvm::sys::getHostCPUFeatures();
  if (features.lookup("avx512f"))
    return 16;
  if (features.lookup("avx2") || features.lookup("avx"))
    return 8;
  return 4;
}

FailureOr<ssm::AlgorithmAttr>
ssm::planCpuLoops(MixOp op, AlgorithmAttr algorithm,
                  const PlanRequest &request) {
  int64_t width =
      request.vectorWidth > 0 ? request.vectorWidth : getHostVectorWidth();
  AlgorithmAttr plan = AlgorithmAttr::getChecked(
      [&] { return op.emitOpError(); }, op.getContext(), algorithm.getKind(),
      algorithm.getChunkSize(), std::optional<KernelKind>(KernelKind::Loops),
      width, /*warpRowTiles=*/int64_t(0), /*blocksPerSM=*/int64_t(0),
      /*segments=*/int64_t(0));
  if (!plan)
    return failure();
  return plan;
}

void ssm::registerCpuKernelPlanner() {
  static std::once_flag once;
  std::call_once(once, [] { registerKernelPlanner("cpu", planCpuLoops); });
}

void ssm::buildCpuSelectionPipeline(OpPassManager &pm,
                                    const CpuPipelineOptions &options) {
  registerCpuKernelPlanner();
  SelectionOptions selection;
  selection.backend = "cpu";
  selection.vectorWidth = options.vectorWidth;
  selection.target = options.target;
  selection.algorithm = options.algorithm;
  selection.chunkSize = options.chunkSize;
  selection.explain = options.explain;
  selection.measured = options.measured;
  buildSelectionPipeline(pm, selection);
}

void ssm::buildCpuLoweringPipeline(OpPassManager &pm,
                                   const CpuPipelineOptions &options) {
  // Each lowering takes the ops planned for it, with the plan's chunk and
  // vector width.
  OpPassManager &lower = pm.nest<func::FuncOp>();
  lower.addPass(createSsmLowerQuadratic());
  lower.addPass(createSsmLowerRecurrent());
  lower.addPass(createSsmLowerChunked());
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
  SsmLowerMatmulOptions matmul;
  matmul.vectorWidth = options.vectorWidth;
  loops.addPass(createSsmLowerMatmul(matmul));
  loops.addPass(createSsmLowerStridedCopies());
  loops.addPass(createConvertLinalgToLoopsPass());
  loops.addPass(createSsmApproximateMath());
  loops.addPass(createCanonicalizerPass());
  loops.addPass(createCSEPass());
  loops.addPass(createLoopInvariantCodeMotionPass());
}

void ssm::buildCpuToLLVMPipeline(OpPassManager &pm) {
  pm.addPass(createConvertSCFToOpenMPPass());
  pm.addPass(createSsmSerializeSmallParallel());
  pm.addPass(createSsmHoistParallelScratch());
  pm.addPass(createLowerAffinePass());
  pm.addPass(createConvertVectorToSCFPass());
  pm.addPass(createSCFToControlFlowPass());
  pm.addNestedPass<func::FuncOp>(createSsmExpandShapesAsCasts());
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
  registerCpuKernelPlanner();
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
