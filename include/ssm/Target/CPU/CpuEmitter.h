//===- CpuEmitter.h - LLVM IR, objects and shared libraries -----*- C++ -*-===//
//
// Turns a module lowered by the CPU pipeline into a shared library that
// exports the versioned entry-point table of runtime/include/ssm/
// cpu_library_abi.h.
//
//===----------------------------------------------------------------------===//

#ifndef SSM_TARGET_CPU_CPUEMITTER_H
#define SSM_TARGET_CPU_CPUEMITTER_H

#include "mlir/IR/BuiltinOps.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/Support/Error.h"

#include <memory>
#include <string>

namespace llvm {
class LLVMContext;
class Module;
class TargetMachine;
} // namespace llvm

namespace mlir::ssm {

/// What the ABI wrapper of one entry point needs: the lowered function's
/// name and the rank of each memref argument (inputs, then outputs).
struct CpuEntryPoint {
  std::string name;
  llvm::SmallVector<unsigned> inputRanks;
  llvm::SmallVector<unsigned> outputRanks;
};

/// A target machine for the host CPU with all its features, -O3.
llvm::Expected<std::unique_ptr<llvm::TargetMachine>> createHostTargetMachine();

/// Translates `module` (LLVM + OpenMP dialects) to LLVM IR, adds one
/// `void(void *const *)` wrapper per entry point, the entry-point table and
/// `ssm_cpu_library_query`, internalizes everything else and optimizes.
llvm::Expected<std::unique_ptr<llvm::Module>>
translateToCpuLibrary(ModuleOp module, llvm::LLVMContext &context,
                      llvm::ArrayRef<CpuEntryPoint> entryPoints,
                      llvm::TargetMachine &targetMachine);

/// Writes `module` as a native object file.
llvm::Error emitObjectFile(llvm::Module &module,
                           llvm::TargetMachine &targetMachine,
                           llvm::StringRef path);

/// Links an object file into a shared library (with the OpenMP runtime).
llvm::Error linkSharedLibrary(llvm::StringRef objectPath,
                              llvm::StringRef libraryPath);

} // namespace mlir::ssm

#endif // SSM_TARGET_CPU_CPUEMITTER_H
