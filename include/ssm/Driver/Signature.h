//===- Signature.h - Entry-point signatures for the manifest ----*- C++ -*-===//
//
// What a runtime must know to call a compiled function: tensors by name,
// dtype and shape, where each dynamic output size comes from, and which
// dynamic input sizes must agree.
//
//===----------------------------------------------------------------------===//

#ifndef SSM_DRIVER_SIGNATURE_H
#define SSM_DRIVER_SIGNATURE_H

#include "ssm/Analysis/DynamicSizes.h"
#include "ssm/Target/CUDA/CudaEmitter.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"

#include <optional>
#include <string>
#include <vector>

namespace mlir::ssm {


struct TensorSignature {
  std::string name;
  /// "f32", "f64", "f16", "bf16", "i32", "i64".
  std::string dtype;
  /// -1 marks a dynamic size.
  std::vector<int64_t> shape;
  /// For outputs: per dim, the input dim a dynamic size equals.
  std::vector<std::optional<InputDim>> dimsFrom;
  /// For outputs: the input the code may write this output over (see
  /// ssm::runtime::TensorSpec::aliases).
  std::optional<unsigned> aliases;
};

struct AlgorithmNote {
  std::string location;
  std::string algorithm;
  int64_t chunkSize = 0;
};

struct FunctionSignature {
  std::string name;
  std::vector<TensorSignature> inputs;
  std::vector<TensorSignature> outputs;
  /// Groups of dynamic input dims that must be equal.
  std::vector<std::vector<InputDim>> equalDims;
  std::vector<AlgorithmNote> algorithms;
};

/// Analyzes a public function on tensors (before lowering). Names come from
/// `ssm.name` argument/result attributes (default `arg<i>` / `result<i>`).
/// Fails, with an error on the function, on argument types the runtime
/// cannot pass or output sizes that cannot be derived from the inputs.
/// Outputs that may be written over an input (after selection): the final
/// state of an ssm.mix planned for the CPU's recurrent loops, whose initial
/// state is that input, read by nothing else (LowerRecurrent.cpp reads a
/// work item's state before it writes it, at one position element by
/// element; work items own disjoint heads).
FailureOr<FunctionSignature> analyzeSignature(func::FuncOp func);

/// What a CUDA artifact adds to its manifest: the architecture its cubin is
/// for, the source it was built from, and each function's kernels.
struct CudaArtifact {
  std::string arch;
  std::string sourceFile;
  /// The library for the host emulator; "" when not built.
  std::string emulationLibrary = "";
  /// In the order of the functions.
  std::vector<CudaFunctionPlan> plans = {};
};

/// What a CPU artifact adds to its manifest: the processor its library was
/// compiled for, which the runtime checks before loading it.
struct CpuArtifact {
  /// LLVM's architecture name ("x86_64").
  std::string arch;
  /// The CPU name (ssmc --cpu, "native" resolved).
  std::string cpu;
  /// The ISA features the code may use (ssm/cpu_features.h names).
  std::vector<std::string> features;
};

/// The manifest.json text of an artifact holding `functions`: a CPU artifact
/// when `cpu` is given, a CUDA one when `cuda` is (exactly one of them),
/// written by the runtime's formatManifest: the schema has one definition,
/// ssm/manifest.h.
std::string buildManifest(llvm::ArrayRef<FunctionSignature> functions,
                          llvm::StringRef libraryFile, llvm::StringRef source,
                          const CpuArtifact *cpu, const CudaArtifact *cuda);

} // namespace mlir::ssm

#endif // SSM_DRIVER_SIGNATURE_H
