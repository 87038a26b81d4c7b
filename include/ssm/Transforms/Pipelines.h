//===- Pipelines.h - The target-neutral start of every pipeline -*- C++ -*-===//
//
// What every target runs first: the elementwise glue normalized into fused
// linalg.generic ops (the form both backends fuse into their kernels), then
// ssm-select-algorithm, which records each op's plan for the target.
//
//===----------------------------------------------------------------------===//

#ifndef SSM_TRANSFORMS_PIPELINES_H
#define SSM_TRANSFORMS_PIPELINES_H

#include "mlir/Pass/PassManager.h"

#include <string>

namespace mlir::ssm {

struct SelectionOptions {
  /// The backend that completes the plan: cpu or cuda.
  std::string backend = "cpu";
  /// CPU: f32 lanes per vector in the plan; 0 for the host's.
  int64_t vectorWidth = 0;
  /// Cost-model target: host, h100, h200 or a JSON file.
  std::string target = "host";
  /// auto (the cost model), quadratic, recurrent or chunked.
  std::string algorithm = "auto";
  /// Chunk size for chunked; 0 lets the cost model choose.
  int64_t chunkSize = 0;
  bool explain = false;
  /// With explain: a measurements file to print next to the estimates.
  std::string measured;
  /// GPU: the architecture the kernels are built for.
  std::string arch = "sm_90a";
};

/// Glue normalization and algorithm selection.
void buildSelectionPipeline(OpPassManager &pm, const SelectionOptions &options);

} // namespace mlir::ssm

#endif // SSM_TRANSFORMS_PIPELINES_H
