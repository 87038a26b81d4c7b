//===- CudaPipeline.h - From ssm.mix on tensors to CUDA kernels -*- C++ -*-===//
//
// The pass pipeline that `ssmc --target=cuda` runs and that `ssm-opt
// --ssm-cuda-pipeline` shows: glue normalization, algorithm selection for the
// GPU, and ssm-export-cuda, which prints the kernels; and the step after it,
// the CUDA toolkit turning the source into a cubin for the artifact.
//
//===----------------------------------------------------------------------===//

#ifndef SSM_TARGET_CUDA_CUDAPIPELINE_H
#define SSM_TARGET_CUDA_CUDAPIPELINE_H

#include "ssm/Target/CUDA/CudaEmitter.h"

#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassOptions.h"
#include "llvm/Support/Error.h"

#include <memory>

namespace mlir::ssm {

struct CudaPipelineOptions : public PassPipelineOptions<CudaPipelineOptions> {
  PassOptions::Option<std::string> target{
      *this, "target",
      llvm::cl::desc("Cost-model target: h200, h100 or a JSON file"),
      llvm::cl::init("h200")};
  PassOptions::Option<std::string> algorithm{
      *this, "algorithm",
      llvm::cl::desc("auto (cost model), quadratic, recurrent or chunked"),
      llvm::cl::init("auto")};
  PassOptions::Option<int64_t> chunkSize{
      *this, "chunk-size",
      llvm::cl::desc("Chunk size for chunked (0: the cost model's choice)"),
      llvm::cl::init(0)};
  PassOptions::Option<std::string> arch{
      *this, "arch",
      llvm::cl::desc("The GPU architecture: sm_90a (wgmma kernels) or sm_90"),
      llvm::cl::init("sm_90a")};
  PassOptions::Option<bool> explain{
      *this, "explain",
      llvm::cl::desc("Remark each op's algorithm candidates and estimates"),
      llvm::cl::init(false)};
  PassOptions::Option<std::string> measured{
      *this, "measured",
      llvm::cl::desc("With explain: a measurements file whose times are "
                     "printed next to the estimates"),
      llvm::cl::init("")};
  PassOptions::Option<std::string> output{
      *this, "output",
      llvm::cl::desc("Where ssm-export-cuda writes the CUDA C++ ('-': stdout)"),
      llvm::cl::init("-")};
};

/// What ssm-export-cuda produced, when the driver runs it.
struct CudaExport {
  std::string source;
  std::vector<CudaFunctionPlan> plans;
};

/// ssm-export-cuda writing into `result` rather than to a file.
std::unique_ptr<Pass> createSsmExportCudaPass(CudaExport &result,
                                              std::string sourceName);

/// Selection for the GPU, then ssm-export-cuda (into `result` when given,
/// else to options.output).
void buildCudaPipeline(OpPassManager &pm, const CudaPipelineOptions &options,
                       CudaExport *result = nullptr,
                       std::string sourceName = "");

/// Registers `ssm-cuda-pipeline` for ssm-opt.
void registerCudaPipelines();

/// The CUDA toolkit's nvcc: $SSM_NVCC, else the toolkit found at configure
/// time, else nvcc on PATH; an error naming the places looked in otherwise.
llvm::Expected<std::string> findNvcc();

/// Compiles `sourcePath` with the CUDA toolkit's nvcc into a cubin for
/// `arch` at `cubinPath` with the nvcc findNvcc() finds; its messages come
/// back in the error.
llvm::Error compileCudaSource(llvm::StringRef sourcePath,
                              llvm::StringRef cubinPath, llvm::StringRef arch);

/// Compiles `sourcePath` with the host C++ compiler, -DSSM_DEVICE_EMULATION,
/// into a shared library the runtime's host emulator runs (tests without a
/// GPU).
llvm::Error compileCudaForEmulation(llvm::StringRef sourcePath,
                                    llvm::StringRef libraryPath);

} // namespace mlir::ssm

#endif // SSM_TARGET_CUDA_CUDAPIPELINE_H
