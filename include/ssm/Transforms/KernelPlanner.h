//===- KernelPlanner.h - Backends complete the plan of an ssm.mix -*- C++ -*-===//
//
// ssm-select-algorithm chooses the algorithm (and chunk) with the cost model;
// the backend it plans for then chooses how that algorithm runs there (the
// kernel and its tiles), and both go into the op's #ssm.algorithm. Backends
// register their planner under their name ("cpu", "cuda"), so the generic
// pass knows none of their constants.
//
//===----------------------------------------------------------------------===//

#ifndef SSM_TRANSFORMS_KERNELPLANNER_H
#define SSM_TRANSFORMS_KERNELPLANNER_H

#include "ssm/SsmOps.h"

#include "llvm/ADT/StringRef.h"

#include <functional>

namespace mlir::ssm {

/// What the user asked of the lowering configuration.
struct PlanRequest {
  /// CPU: f32 lanes per vector; 0 for the host's.
  int64_t vectorWidth = 0;
  /// GPU: the target's SMs (0: unknown), which grids are sized against.
  int64_t multiprocessors = 0;
  /// GPU: the architecture the kernels are built for (sm_90a, sm_90).
  std::string arch = "sm_90a";
};

/// Completes `algorithm` (the cost model's or the user's choice for `op`)
/// with the backend's lowering configuration, or emits an error on `op`
/// (e.g. a chunk the backend's kernels cannot take).
using KernelPlanner = std::function<FailureOr<AlgorithmAttr>(
    MixOp op, AlgorithmAttr algorithm, const PlanRequest &request)>;

/// Registers (or replaces) the planner of `backend`. Thread-safe.
void registerKernelPlanner(llvm::StringRef backend, KernelPlanner planner);

/// The planner registered for `backend`, or null.
KernelPlanner lookupKernelPlanner(llvm::StringRef backend);

} // namespace mlir::ssm

#endif // SSM_TRANSFORMS_KERNELPLANNER_H
