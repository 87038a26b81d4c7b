//===- ssm-opt.cpp - mlir-opt with the ssm dialect and passes -------------===//
//
// Parses, verifies and transforms IR with the ssm dialect, every ssm pass and
// every upstream dialect and pass registered, so each lowering can be run and
// inspected on its own.
//
//===----------------------------------------------------------------------===//

#include "mlir/IR/DialectRegistry.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"
#include "ssm/SsmDialect.h"
#include "ssm/Target/CPU/CpuPipeline.h"
#include "ssm/Target/CPU/Passes.h"
#include "ssm/Target/CUDA/CudaPipeline.h"
#include "ssm/Target/CUDA/Passes.h"
#include "ssm/Transforms/Passes.h"

int main(int argc, char **argv) {
  mlir::registerAllPasses();
  mlir::ssm::registerSsmPasses();
  mlir::ssm::registerSsmCpuPasses();
  mlir::ssm::registerSsmCudaPasses();
  mlir::ssm::registerCpuPipelines();
  mlir::ssm::registerCudaPipelines();
  mlir::DialectRegistry registry;
  mlir::registerAllDialects(registry);
  mlir::registerAllExtensions(registry);
  registry.insert<mlir::ssm::SsmDialect>();
  return mlir::asMainReturnCode(mlir::MlirOptMain(
      argc, argv, "ssm optimizer: the ssm dialect and its passes\n", registry));
}
