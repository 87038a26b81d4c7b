//===- ExportCuda.cpp - ssm-export-cuda -----------------------------------===//
//
// The CUDA emitter as a pass: prints the module's kernels to a file, or hands
// the source and launch plans to the driver.
//
//===----------------------------------------------------------------------===//

#include "ssm/Target/CUDA/CudaPipeline.h"

#include "ssm/Target/CUDA/Passes.h"

#include "mlir/Support/FileUtilities.h"
#include "llvm/Support/ToolOutputFile.h"

#define DEBUG_TYPE "ssm-export-cuda"

namespace mlir::ssm {
#define GEN_PASS_DEF_SSMEXPORTCUDA
#include "ssm/Target/CUDA/Passes.h.inc"
} // namespace mlir::ssm

using namespace mlir;
using namespace mlir::ssm;

namespace {
struct SsmExportCudaPass
    : mlir::ssm::impl::SsmExportCudaBase<SsmExportCudaPass> {
  using Base::Base;
  SsmExportCudaPass(CudaExport *result, std::string sourceName)
      : result(result), sourceName(std::move(sourceName)) {}

  void runOnOperation() override {
    std::string source;
    llvm::raw_string_ostream stream(source);
    std::vector<CudaFunctionPlan> plans;
    if (failed(translateToCUDA(getOperation(), stream, plans, sourceName)))
      return signalPassFailure();
    if (result) {
      result->source = std::move(source);
      result->plans = std::move(plans);
      return;
    }
    std::string error;
    std::unique_ptr<llvm::ToolOutputFile> file = openOutputFile(output, &error);
    if (!file) {
      getOperation().emitError() << error;
      return signalPassFailure();
    }
    file->os() << source;
    file->keep();
  }

  CudaExport *result = nullptr;
  std::string sourceName;
};
} // namespace

std::unique_ptr<Pass> mlir::ssm::createSsmExportCudaPass(CudaExport &result,
                                                         std::string sourceName) {
  return std::make_unique<SsmExportCudaPass>(&result, std::move(sourceName));
}
