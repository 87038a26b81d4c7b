//===- CpuPipeline.h - From ssm.mix on tensors to LLVM for CPUs -*- C++ -*-===//
//
// The pass pipeline that `ssmc --target=cpu` runs and that `ssm-opt
// --ssm-cpu-pipeline` shows: glue normalization, algorithm selection, the
// lowerings, bufferization, parallel loops to OpenMP, and LLVM dialect.
//
//===----------------------------------------------------------------------===//

#ifndef SSM_TARGET_CPU_CPUPIPELINE_H
#define SSM_TARGET_CPU_CPUPIPELINE_H

#include "ssm/Transforms/KernelPlanner.h"

#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassOptions.h"

namespace mlir::ssm {

struct CpuPipelineOptions : public PassPipelineOptions<CpuPipelineOptions> {
  PassOptions::Option<std::string> target{
      *this, "target",
      llvm::cl::desc("Cost-model target: host, h100, h200 or a JSON file"),
      llvm::cl::init("host")};
  PassOptions::Option<std::string> algorithm{
      *this, "algorithm",
      llvm::cl::desc("auto (cost model), quadratic, recurrent or chunked"),
      llvm::cl::init("auto")};
  PassOptions::Option<int64_t> chunkSize{
      *this, "chunk-size",
      llvm::cl::desc("Chunk size for chunked (0: the cost model's choice)"),
      llvm::cl::init(0)};
  PassOptions::Option<int64_t> vectorWidth{
      *this, "vector-width",
      llvm::cl::desc("f32 lanes per vector (0: detected from the host)"),
      llvm::cl::init(0)};
  PassOptions::Option<bool> explain{
      *this, "explain",
      llvm::cl::desc("Remark each op's algorithm candidates and estimates"),
      llvm::cl::init(false)};
  PassOptions::Option<std::string> measured{
      *this, "measured",
      llvm::cl::desc("With explain: a measurements file whose times are "
                     "printed next to the estimates"),
      llvm::cl::init("")};
};

/// f32 lanes of the host's widest vector unit (16 with AVX-512).
int64_t getHostVectorWidth();

/// The CPU's lowering configuration of a planned op: the parallel, vectorised
/// loops of lib/Transforms' lowerings, with the requested vector width (the
/// host's when 0).
FailureOr<AlgorithmAttr> planCpuLoops(MixOp op, AlgorithmAttr algorithm,
                                      const PlanRequest &request);

/// Registers planCpuLoops as backend "cpu" for ssm-select-algorithm (once).
void registerCpuKernelPlanner();

/// Glue normalization (elementwise ops to fused linalg.generic) and
/// algorithm selection: every ssm.mix gets its #ssm.algorithm.
void buildCpuSelectionPipeline(OpPassManager &pm,
                               const CpuPipelineOptions &options);
/// The lowerings, bufferization and cleanup: loops on buffers (scf, vector,
/// memref, math), results as out-parameters.
void buildCpuLoweringPipeline(OpPassManager &pm,
                              const CpuPipelineOptions &options);
/// From loops on buffers to the LLVM and OpenMP dialects.
void buildCpuToLLVMPipeline(OpPassManager &pm);
/// All three.
void buildCpuPipeline(OpPassManager &pm, const CpuPipelineOptions &options);

/// Registers `ssm-cpu-pipeline` (and its two halves) for ssm-opt.
void registerCpuPipelines();

} // namespace mlir::ssm

#endif // SSM_TARGET_CPU_CPUPIPELINE_H
