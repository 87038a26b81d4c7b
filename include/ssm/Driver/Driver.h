//===- Driver.h - The ssmc compilation driver -------------------*- C++ -*-===//
//
// Compiles a module of ssm.mix programs on tensors to MLIR loops, LLVM IR or
// an artifact directory (manifest.json + model_cpu.so, or model_cuda.cu +
// model_cuda.cubin for the GPU), the library behind
// the `ssmc` tool.
//
//===----------------------------------------------------------------------===//

#ifndef SSM_DRIVER_DRIVER_H
#define SSM_DRIVER_DRIVER_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/PassManager.h"

#include <functional>
#include <string>

namespace mlir::ssm {

/// mlir: the IR after the lowerings (CPU) or after selection (CUDA); llvm:
/// LLVM IR (CPU); cuda: the CUDA C++ (CUDA); artifact: the artifact directory.
enum class EmitKind { Mlir, LLVMIR, Cuda, Artifact };

struct CompileOptions {
  /// Code generation target: "cpu", or "cuda" / "cuda:<arch>" (sm_90a by
  /// default).
  std::string target = "cpu";
  /// Cost-model target description: host, h100, h200 or a JSON file; empty
  /// for the target's own (host for cpu, h200 for cuda).
  std::string costModelTarget;
  /// auto, quadratic, recurrent or chunked.
  std::string algorithm = "auto";
  /// Chunk size for chunked; 0 lets the cost model choose.
  int64_t chunkSize = 0;
  /// The processor CPU code is compiled for: "native" (the host's, with
  /// exactly its features) or a name LLVM knows, e.g. "x86-64-v3" for an
  /// artifact that runs on every processor of that level. The manifest
  /// records the features the code may use; the runtime refuses the artifact
  /// on a processor without them.
  std::string cpu = "native";
  /// f32 lanes per vector; 0 takes the CPU's widest.
  int64_t vectorWidth = 0;
  /// Remark every op's candidates and estimates.
  bool explain = false;
  /// With explain: a device sweep's measurements file
  /// (ssm/CostModel/Measurements.h) printed next to the estimates.
  std::string measured;
  /// CUDA artifacts: also build the kernels for the runtime's host emulator
  /// (model_cuda_emulated.so, run with SSM_CUDA_EMULATOR=1), for testing on
  /// machines without a GPU.
  bool cudaEmulation = false;
  EmitKind emit = EmitKind::Artifact;
  /// Artifact directory, or file for mlir/llvm ("-" is stdout).
  std::string output = "-";
  /// Where the module came from (recorded in the manifest).
  std::string sourceName;
  /// Lets a tool apply its command-line pass-manager options (IR printing,
  /// timing) to every pass manager the driver runs.
  std::function<LogicalResult(PassManager &)> configurePassManager;
};

enum class CompileResult {
  Success,
  /// The input or the options are wrong: malformed or unsupported input, an
  /// algorithm illegal for an op, an unknown target or CPU.
  BadInput,
  /// The compiler failed on valid input.
  Failure,
};

/// Compiles `module` in place; diagnostics go to the context's handler.
CompileResult compileModule(ModuleOp module, const CompileOptions &options);

/// Every dialect, extension and LLVM IR translation a module given to
/// compileModule may use (the ssm dialect, upstream dialects for the glue).
void registerCompilerDialects(DialectRegistry &registry);

} // namespace mlir::ssm

#endif // SSM_DRIVER_DRIVER_H
