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
#include "llvm/Target/TargetMachine.h"

#include <memory>
#include <string>
#include <vector>

namespace llvm {
class LLVMContext;
class Module;
} // namespace llvm

namespace mlir::ssm {

/// What the ABI wrapper of one entry point needs: the lowered function's
/// name and the rank of each memref argument (inputs, then outputs).
struct CpuEntryPoint {
  std::string name;
  llvm::SmallVector<unsigned> inputRanks;
  llvm::SmallVector<unsigned> outputRanks;
};

/// The processor a CPU library is compiled for.
struct CpuTarget {
  /// -O3, position-independent.
  std::unique_ptr<llvm::TargetMachine> machine;
  /// LLVM's architecture name ("x86_64").
  std::string arch;
  /// The CPU ("native" resolved to the host's name, e.g. "znver4").
  std::string name;
  /// The features of ssm/cpu_features.h the code may use (those the CPU
  /// implies included), in that list's order: the manifest's `cpu.features`.
  std::vector<std::string> features;

  /// f32 lanes of its widest vectors: 16 with AVX-512, 8 with AVX, else 4.
  int64_t vectorWidth() const;
};

/// Success when `cpu` is "native" or a processor LLVM knows for the host's
/// architecture (x86-64, x86-64-v3, skylake-avx512, znver4, ...); otherwise
/// an error naming it and saying what is expected.
llvm::Error checkCpuName(llvm::StringRef cpu);

/// The processor names LLVM knows for the host's architecture.
std::vector<std::string> knownCpuNames();

/// A target machine for `cpu` (see checkCpuName): "native" is the host's CPU
/// with exactly the features the host has; a name is that processor's
/// features.
llvm::Expected<CpuTarget> createCpuTarget(llvm::StringRef cpu);

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
