//===- CudaEmitter.h - CUDA C++ from planned ssm.mix programs ---*- C++ -*-===//
//
// Prints the CUDA C++ of a module whose ssm.mix ops carry their plan: one
// fused kernel per mixer (its elementwise glue recomputed in its loads and
// stores), one kernel per elementwise op the mixers do not absorb, each an
// instantiation of a template of runtime/include/ssm/device/ with the
// operands and glue written out for it. It also describes how the runtime
// launches them: the manifest's `launches` and `buffers`.
//
//===----------------------------------------------------------------------===//

#ifndef SSM_TARGET_CUDA_CUDAEMITTER_H
#define SSM_TARGET_CUDA_CUDAEMITTER_H

#include "ssm/Analysis/DynamicSizes.h"
#include "ssm/SsmOps.h"

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/raw_ostream.h"

#include <optional>
#include <string>
#include <vector>

namespace mlir::ssm {

/// One grid extent: min(limit, ceil(factor · Π dims / divisor)), the dims
/// being dynamic input sizes known at the call.
struct CudaGridExtent {
  int64_t factor = 1;
  std::vector<InputDim> dims;
  int64_t divisor = 1;
  int64_t limit = 0; // 0: none
};

/// A kernel argument: a tensor's device pointer or a dynamic size.
struct CudaKernelArgument {
  enum class Kind { Input, Output, Buffer, Dim };
  Kind kind;
  /// Input, output or buffer index.
  unsigned index = 0;
  /// For Dim.
  InputDim dim{0, 0};
};

/// The sizes a launch runs for: factor · Π dims within [atLeast, atMost]
/// (0: unbounded above); the manifest's `runs_when`.
struct CudaLaunchRange {
  int64_t factor = 1;
  std::vector<InputDim> dims;
  int64_t atLeast = 0;
  int64_t atMost = 0;
};

struct CudaLaunch {
  std::string kernel;
  /// Absent: always.
  std::optional<CudaLaunchRange> runsWhen;
  CudaGridExtent grid[3];
  unsigned block[3] = {1, 1, 1};
  int64_t sharedBytes = 0;
  std::vector<CudaKernelArgument> arguments;
};

/// A device buffer a function needs between its kernels.
struct CudaBuffer {
  std::string dtype;
  /// -1 for a dynamic size, given by `dimsFrom`.
  std::vector<int64_t> shape;
  std::vector<std::optional<InputDim>> dimsFrom;
};

struct CudaFunctionPlan {
  std::string name;
  std::vector<CudaBuffer> buffers;
  std::vector<CudaLaunch> launches;
};

/// The kernel template an ssm.mix's plan names and the parameters that
/// follow from the plan and the op.
struct CudaMixMapping {
  KernelKind kernel = KernelKind::QuadraticSimt;
  int64_t chunkSize = 0;
  /// recurrentRowSliced: lanes per state row, elements per lane access,
  /// rows per lane group; recurrentRowPerThread: whether q/k are staged.
  int64_t lanes = 1, vector = 1, rows = 1;
  bool stageKeys = false;
  /// Tensor-core operand type ("bf16" or "f16") of the mma kernels.
  std::string mmaType;
  /// quadraticMma: 16-row tiles of queries per warp.
  int64_t mTiles = 1;
  /// chunkedMma: blocks an SM (the plan's blocks_per_sm), and the segments
  /// of the sequence (0: whole sequences; else a state launch first).
  int64_t blocksPerSM = 0, segments = 0;
  /// chunkedMma: products on wgmma in sm_90a builds (the state size's rule,
  /// geometry::chunkedMmaTakesWgmma), on mma.sync otherwise.
  bool wgmmaOnSm90a = false;
  int64_t sharedBytes = 0;
  /// A quadratic op that returns its final state also runs the scan that
  /// produces it (a second launch).
  bool stateScan = false;
  /// One line saying what was chosen, for the generated source.
  std::string describe() const;
};

/// The CUDA backend's lowering configuration of `algorithm` for `op`: tensor
/// cores where the operands are 16-bit and the head dims fit the tiles, the
/// SIMT forms otherwise (ssm-select-algorithm's planner for "cuda"), sized
/// against `multiprocessors` SMs where known (0: not); `warpgroupMma` (an
/// sm_90a build) admits the wgmma kernels.
FailureOr<AlgorithmAttr> planCudaKernel(MixOp op, AlgorithmAttr algorithm,
                                        int64_t multiprocessors,
                                        bool warpgroupMma);

/// Registers planCudaKernel as backend "cuda" for ssm-select-algorithm (once).
void registerCudaKernelPlanner();

/// Maps a planned op onto the kernel template its plan names; an error on
/// the op when it has no CUDA plan or that template cannot run it (operand
/// types, head dims, shared memory beyond the device's).
FailureOr<CudaMixMapping> mapMixToCuda(MixOp op);

/// Prints the CUDA C++ for every public function of `module` and fills one
/// plan per function, in the module's order. `sourceName` names the input in
/// the file's header comment.
LogicalResult translateToCUDA(ModuleOp module, llvm::raw_ostream &os,
                              std::vector<CudaFunctionPlan> &plans,
                              llvm::StringRef sourceName = "");

} // namespace mlir::ssm

#endif // SSM_TARGET_CUDA_CUDAEMITTER_H
