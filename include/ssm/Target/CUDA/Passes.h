//===- Passes.h - Passes of the CUDA backend --------------------*- C++ -*-===//
//
// Declares and registers ssm-export-cuda (Passes.td).
//
//===----------------------------------------------------------------------===//

#ifndef SSM_TARGET_CUDA_PASSES_H
#define SSM_TARGET_CUDA_PASSES_H

#include "mlir/Pass/Pass.h"

namespace mlir::ssm {

#define GEN_PASS_DECL
#include "ssm/Target/CUDA/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "ssm/Target/CUDA/Passes.h.inc"

} // namespace mlir::ssm

#endif // SSM_TARGET_CUDA_PASSES_H
